/* Internal to the validator's files: what they share beyond validate.h,
 * which is for provider files. validate.c walks a table against a schema;
 * rules.c is what the cross-field rules read; json.c checks free-form
 * JSON, keeps the walk's bounds and the order of names; numbers.c checks
 * numbers; report.c keeps the path and reports problems. Each value is
 * written (write.h) where it is checked. */
#ifndef CAMPAIGN_WALK_H
#define CAMPAIGN_WALK_H

#include <stdint.h>
#include <string.h>

#include "validate.h"
#include "write.h"

#pragma GCC visibility push(hidden)

#define MSG_MAX 480

/* ---- paths and problems (report.c) */

/* Pushes a step of len bytes (name need not end there). Inline: it runs
 * for every key the walk reads, as v_charge_len for every value. */
static inline int v_path_push_lstr(vctx *ctx, const char *name, size_t len) {
  int old = ctx->nsteps;
  if (old < V_MAX_STEPS) {
    ctx->steps[old].key = name;
    ctx->steps[old].len = len;
    ctx->steps[old].index = 0;
    ctx->nsteps = old + 1;
  }
  return old;
}

/* Whether the list of problems is full: the next ones are only counted,
 * so nothing is worth working out for their messages. */
static inline int v_errors_full(const vctx *ctx) {
  return ctx->nerr >= ctx->max_errors;
}

/* ---- objects (validate.c; rules.c reads what they keep) */

/* What check_object learns from the fields of one table. A known field's
 * key and value stay on the stack (a copy of the key above them goes on to
 * lua_next), so the kept pairs sit in a row from the object's first free
 * slot up. Other names wait in ctx->keys. The rules read the kept values
 * through v_get and the like; a string field's text is at hand for them. */
#define V_KEPT 64   /* V_STACK_ROOM (below) holds a pair for each */

struct fields_seen {
  unsigned long long seen;       /* bit i: obj->fields[i] is present (i < V_KEPT) */
  int top;                       /* where lua_next left the key */
  int vals[V_KEPT];              /* the stack positions of the kept values */
  const char *names[V_KEPT];     /* their keys, as the table has them */
  size_t lens[V_KEPT];
  int types[V_KEPT];             /* their Lua types */
  const char *strs[V_KEPT];      /* a string field's text, or NULL */
  size_t slens[V_KEPT];
  int bad_keys;                  /* keys that are not strings */
};
typedef struct fields_seen fields_seen;

/* The field of obj named name (len bytes; a NUL byte in it never matches),
 * or NULL; v_find_named for a NUL-terminated name, which the provider files
 * write (a pointer comparison finds most: the compiler merges equal string
 * literals). */
int v_name_is(const char *field, const char *name, size_t len);
const vfield *v_find_field(const vobject *obj, const char *name, size_t len);
static inline const vfield *v_find_named(const vobject *obj, const char *name) {
  for (const vfield *f = obj->fields; f->name; f++) {
    if (f->name == name) {
      return f;
    }
  }
  return v_find_field(obj, name, strlen(name));
}

/* The entry of the walk's name cache (vfound, validate.h) for key in obj. */
static inline vfound *v_found_slot(vfound *found, const void *key, const void *obj) {
  return &found[(((uintptr_t)key >> 4) ^ ((uintptr_t)obj >> 3)) & (V_FOUND - 1)];
}

/* ---- names in order (json.c) */

/* Names read from a table, waiting to be written in byte order: known
 * fields in the schema's order come first, then these. One list serves the
 * whole walk as a stack: a table's names sit above its parent's, and are
 * dropped (n put back) when the table is written. */
typedef struct vkey {
  const char *s;                 /* the key string, alive in its table */
  size_t len;
  const vfield *f;               /* the schema's field of that name, or NULL */
} vkey;

typedef struct vkeys {
  vkey *k;
  size_t n, cap;
  lua_State *L;                  /* whose allocator it uses */
} vkeys;

void v_keys_grow(vkeys *keys);
void v_keys_free(vkeys *keys);
static inline void v_keys_push(vkeys *keys, const char *s, size_t len, const vfield *f) {
  if (keys->n == keys->cap) {
    v_keys_grow(keys);
  }
  keys->k[keys->n].s = s;
  keys->k[keys->n].len = len;
  keys->k[keys->n].f = f;
  keys->n++;
}
/* Sorts the names from index from up by byte value. */
void v_keys_sort(vkeys *keys, size_t from);

/* ---- values and bounds (json.c) */

/* The type of the value at idx for a message ("null", "NaN", "infinity",
 * else Lua's name). */
const char *v_type_name(lua_State *L, int idx);

/* Enters the table at idx: 0 (reported) for a cycle or too deep a nesting.
 * Each 1 is matched by a v_leave_table. It makes room on the stack for
 * what the table's walk keeps there: V_STACK_ROOM slots. */
#define V_STACK_ROOM (2 * V_KEPT + 8)
int v_enter_table(vctx *ctx, int idx);
/* Whether the table at idx carries campaign.array's mark (a list). */
int v_marked_array(lua_State *L, int idx);
static inline void v_leave_table(vctx *ctx) {
  ctx->depth--;
}

/* Reports that the walk's bounds were passed. */
void v_charge_error(vctx *ctx);

/* Counts a value and len bytes of its text against the walk's bounds; 0
 * once they are passed, which is reported once. */
static inline int v_charge_len(vctx *ctx, size_t len) {
  if (ctx->values > V_MAX_VALUES || ctx->bytes > V_MAX_BYTES) {
    return 0;
  }
  ctx->values++;
  ctx->bytes += len;
  if (ctx->values > V_MAX_VALUES || ctx->bytes > V_MAX_BYTES) {
    v_charge_error(ctx);
    return 0;
  }
  return 1;
}

/* v_charge_len for the value at idx. */
static inline int v_charge(vctx *ctx, int idx) {
  return v_charge_len(ctx, lua_type(ctx->L, idx) == LUA_TSTRING ? lua_rawlen(ctx->L, idx) : 0);
}

/* The length n of the proper sequence 1..n at idx, or -1 (reported). */
long v_sequence_length(vctx *ctx, int idx);

/* Any JSON value at idx (charges itself), written. */
void v_check_json(vctx *ctx, int idx);

/* An object of free names: the table at idx, whose names are in ctx->keys
 * from index from up, written in byte order with their values, checked
 * against items or (items NULL) as any JSON; the names are dropped after. */
void v_write_names(vctx *ctx, int idx, size_t from, const vfield *items);

/* Reports a string's invalid UTF-8 (chars -1) or NUL byte (-2). */
void v_string_error(vctx *ctx, long chars);

/* Writes the string s, checked in the same pass: returns its length in
 * characters, or a negative number after reporting what is wrong. */
static inline long v_write_string(vctx *ctx, const char *s, size_t len) {
  long chars = w_text(ctx->out, s, len);
  if (chars < 0) {
    v_string_error(ctx, chars);
  }
  return chars;
}

/* Writes a name of a free-form object (and ':'), checked and counted. */
static inline void v_write_key(vctx *ctx, const char *s, size_t len) {
  v_write_string(ctx, s, len);
  w_char(ctx->out, ':');
  ctx->bytes += len;
}

/* ---- numbers (numbers.c) */

/* A number field (the value at idx is a number), and a number in
 * free-form JSON. */
void v_check_number(vctx *ctx, const vfield *f, int idx);
void v_check_json_number(vctx *ctx, int idx);

#pragma GCC visibility pop

#endif
