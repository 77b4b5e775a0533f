/* The generic validator: walks a Lua table against a provider's field table
 * and collects every problem with its field path. Provider files describe
 * their fields with the types below; the walker is written once (validate.c,
 * with report.c for paths and problems and numbers.c for numbers). The
 * formats several providers share are in formats.h. */
#ifndef CAMPAIGN_VALIDATE_H
#define CAMPAIGN_VALIDATE_H

#include <stddef.h>
#include "compat.h"

#pragma GCC visibility push(hidden)

typedef enum {
  VT_STRING = 1,
  VT_INTEGER,   /* a number with no fraction that JSON carries exactly */
  VT_NUMBER,    /* any finite number */
  VT_BOOLEAN,
  VT_OBJECT,    /* named fields, described by .object */
  VT_ARRAY,     /* a sequence; items described by .items */
  VT_MAP,       /* free string keys; values described by .items, or any JSON */
  VT_JSON,      /* any JSON value (opaque to this module) */
  VT_FORBIDDEN  /* a known name that this operation does not take: .note says why */
} vtype;

#define VF_REQUIRED 0x01u
#define VF_UNIQUE   0x02u   /* array items must be distinct */
#define VF_MIN      0x04u   /* .min applies (value, characters or items) */
#define VF_MAX      0x08u   /* .max applies */

typedef struct vctx vctx;
typedef struct vobject vobject;
struct wbuf;
struct vkeys;
struct fields_seen;

typedef struct vformat {
  int (*check)(const char *s, size_t len);
  const char *message;      /* e.g. "must be E.164, e.g. +14155551234" */
} vformat;

typedef struct vfield {
  const char *name;
  unsigned char type;
  unsigned char flags;
  double min, max;
  const char *const *enums;      /* NULL-terminated list of allowed strings */
  const vformat *format;
  const vobject *object;         /* VT_OBJECT */
  const struct vfield *items;    /* VT_ARRAY / VT_MAP values */
  const char *note;              /* VT_FORBIDDEN: the reason shown */
  unsigned char lua;             /* VL_* below: what the provider's Lua step may rewrite */
} vfield;

/* A field's .lua: values the provider's Lua step (its normalize, e.g.
 * campaign.atlas) rewrites or checks before the walk. A walk given the texts
 * that step found good (core.encode's known table, text -> VL_* bits) hands
 * the body back, unwritten, when it meets one of these, or a name the object
 * does not know (a shorthand): then the step runs and the walk again. */
#define VL_NOT_TEXT 0x01u   /* a value that is not a string (a Lua shorthand) */
#define VL_WINDOWS  0x02u   /* a string not known as good time windows */
#define VL_JSON     0x04u   /* a string not known as good JSON text */
#define VL_DROP     0x08u   /* any value: a field of the provider's answers the step drops */

struct vobject {
  const vfield *fields;          /* ends with a {NULL} entry */
  void (*rules)(vctx *ctx, int idx);  /* cross-field rules, run after the fields */
  int open;                      /* unknown names allowed (checked as JSON) */
};

/* A named schema, as the provider files export them. */
typedef struct vschema {
  const char *name;              /* "vapi.create" */
  const vobject *root;
  int nonempty;                  /* an empty table is an error ("nothing to update") */
} vschema;

#define V_MAX_DEPTH 32
#define V_PATH_MAX 256
/* What one walk may visit: a table can be used in several places, and a few
 * shared tables can stand for more JSON than memory holds. */
#define V_MAX_VALUES 1000000L
#define V_MAX_BYTES (16UL << 20)

/* One step of the current field path: a key (pointing into a string that
 * is on the Lua stack while the step is live) or a list position. The path
 * text is only made when a problem is reported. */
typedef struct vstep {
  const char *key;
  size_t len;
  long index;
} vstep;

#define V_MAX_STEPS (2 * V_MAX_DEPTH + 8)

/* What a walk found out about a name of an object, remembered by the key
 * string's address: a list of objects has the same few names in each, and
 * scripts send the same names in every body. Within a walk the address
 * is the string (it is alive in its table); in a later walk it may be
 * another string, so a field found is checked against its name, and an
 * unknown name is looked up again. */
typedef struct vfound {
  const char *key;               /* NULL: an entry about obj itself */
  const vobject *obj;
  const struct vfield *f;        /* the field of that name, or NULL */
  size_t len;                    /* the key's length */
  unsigned long long required;   /* for obj: required_bits (validate.c) */
  unsigned walk;                 /* the walk that found it */
} vfound;

#define V_FOUND 64

struct vctx {
  lua_State *L;
  int errors;                    /* stack index of the errors list */
  int nerr;
  int max_errors;
  int passthrough;               /* unknown names pass (checked as JSON only) */
  int known;                     /* stack index of the known texts (VL_*), or 0 */
  int to_lua;                    /* met what the provider's Lua step must see first */
  struct wbuf *out;              /* where the walk writes the JSON of what it checks */
  struct vkeys *keys;            /* names waiting to be written in order (walk.h) */
  int depth;
  long values;                   /* values visited, and bytes of their text */
  size_t bytes;
  int nsteps;
  /* The object whose rules are running: which of its fields are present. */
  const vobject *obj;
  int obj_idx;
  unsigned long long seen;
  const struct fields_seen *fields;   /* what the walk kept of them (validate.c) */
  /* The stacks last: v_init clears everything before them, and they are
   * filled as they are used. */
  vstep steps[V_MAX_STEPS];
  const void *open_tables[V_MAX_DEPTH + 1];
  vfound *found;                 /* V_FOUND entries, kept from walk to walk */
  unsigned walk;                 /* this walk's number, for found */
};

/* Field constructors, so that provider tables read like the docs. */
#define V_END {NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, 0}

/* Entry points. The walk writes as it checks: out gets the JSON text of
 * the value, whole when no problem was found (encode.c owns the buffers). */
void v_init(vctx *ctx, lua_State *L, int errors_idx, int passthrough, int known,
            struct wbuf *out, struct vkeys *keys, vfound *found, unsigned walk);
void v_check_root(vctx *ctx, const vschema *schema, int idx);
/* Any JSON value at idx, as the root of a walk (core.json). */
void v_check_any(vctx *ctx, int idx);
/* The kind of a field type in one plain word ("string", "integer", "number",
 * "boolean", "object", "array", "map", "json", "forbidden"), for
 * core.fields. */
const char *v_kind_name(int type);

/* For cross-field rules. */
int v_has(vctx *ctx, int idx, const char *name);
void v_get(vctx *ctx, int idx, const char *name); /* pushes t[name], raw */
int v_is(vctx *ctx, int idx, const char *name, int luatype);
/* t[name] (raw) when it is a string, else NULL; *len gets its length.
 * Nothing is pushed: the table holds the string. */
const char *v_get_string(vctx *ctx, int idx, const char *name, size_t *len);
/* t[name] (raw) when it is a boolean: 1 or 0; else -1. */
int v_get_boolean(vctx *ctx, int idx, const char *name);
void v_error(vctx *ctx, const char *fmt, ...);
void v_error_at(vctx *ctx, const char *name, const char *fmt, ...);
void v_error_at_index(vctx *ctx, const char *name, long index, const char *child,
                      const char *fmt, ...);
int v_path_push(vctx *ctx, const char *name);
/* Inline: the walk runs them for every list item and field. */
static inline int v_path_push_index(vctx *ctx, long index) {
  int old = ctx->nsteps;
  if (old < V_MAX_STEPS) {
    ctx->steps[old].key = NULL;
    ctx->steps[old].index = index;
    ctx->nsteps = old + 1;
  }
  return old;
}
static inline void v_path_pop(vctx *ctx, int old) {
  ctx->nsteps = old;
}
void v_check_value(vctx *ctx, const vfield *f, int idx);

#pragma GCC visibility pop

#endif
