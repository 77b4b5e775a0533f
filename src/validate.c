/* The generic validator, which writes the JSON of what it checks in the
 * same pass. Everything it reads goes through raw table access (lua_next,
 * lua_rawget): what is checked is exactly what is sent, and no metamethod
 * runs. It never raises on bad input; it only appends {field = ...,
 * message = ...} entries, and the text it wrote is then dropped.
 * An object's known fields are written in the schema's order, then its
 * other names in byte order; a list field is always [...].
 * This file walks a table against a schema's fields; walk.h names the
 * helpers in the other files of the validator. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hints.h"
#include "text.h"
#include "walk.h"

int v_name_is(const char *field, const char *name, size_t len) {
  for (size_t i = 0; i < len; i++) {
    /* The end of field stops it even when name has a NUL byte there. */
    if (field[i] == '\0' || field[i] != name[i]) {
      return 0;
    }
  }
  return field[len] == '\0';
}

const vfield *v_find_field(const vobject *obj, const char *name, size_t len) {
  for (const vfield *f = obj->fields; f->name; f++) {
    if (f->name[0] == name[0] && v_name_is(f->name, name, len)) {
      return f;
    }
  }
  return NULL;
}

/* ---- values ----------------------------------------------------------- */

/* The known name nearest a misspelt one, or NULL (text.h says how near). */
static const char *suggest(const vobject *obj, const char *name, size_t len) {
  const char *best = NULL;
  suggestion sg;
  suggest_init(&sg, name, len);
  for (const vfield *f = obj->fields; f->name; f++) {
    if (suggest_try(&sg, f->name, strlen(f->name))) {
      best = f->name;
    }
  }
  return suggest_near(&sg) ? best : NULL;
}

static int in_enum(const char *const *enums, const char *s) {
  for (; *enums; enums++) {
    if (strcmp(*enums, s) == 0) {
      return 1;
    }
  }
  return 0;
}

static void enum_error(vctx *ctx, const char *const *enums, const char *s, size_t len) {
  lua_State *L = ctx->L;
  char shown[TEXT_SHOWN_SIZE];
  const char *hint;
  luaL_Buffer list;
  if (v_errors_full(ctx)) {
    ctx->nerr++;
    return;
  }
  hint = hint_nearest(enums, s, len);
  /* The whole list, however long: a Lua buffer, not a fixed one. */
  luaL_checkstack(L, LUA_MINSTACK, "validator");
  luaL_buffinit(L, &list);
  for (const char *const *e = enums; *e; e++) {
    if (e != enums) {
      luaL_addstring(&list, ", ");
    }
    luaL_addchar(&list, '"');
    luaL_addstring(&list, *e);
    luaL_addchar(&list, '"');
  }
  luaL_pushresult(&list);
  text_shown_name(shown, sizeof shown, s, len);
  if (hint) {
    v_error(ctx, "must be one of %s (got \"%s\"); did you mean \"%s\"?", lua_tostring(L, -1),
            shown, hint);
  } else {
    v_error(ctx, "must be one of %s (got \"%s\")", lua_tostring(L, -1), shown);
  }
  lua_pop(L, 1);
}

/* A string field, written: its bytes, then its rules. */
static void check_string(vctx *ctx, const vfield *f, const char *s, size_t len) {
  long chars = v_write_string(ctx, s, len);
  if (chars < 0) {
    return;
  }
  if (f->enums) {
    if (!in_enum(f->enums, s) || strlen(s) != len) {
      enum_error(ctx, f->enums, s, len);
    }
    return;
  }
  if ((f->flags & VF_MIN) && chars < f->min) {
    if (f->min == 1) {
      v_error(ctx, "must not be empty");
    } else {
      v_error(ctx, "must be at least %.0f characters (got %ld)", f->min, chars);
    }
    return;
  }
  if ((f->flags & VF_MAX) && chars > f->max) {
    v_error(ctx, "must be at most %.0f characters (got %ld)", f->max, chars);
    return;
  }
  if (f->format && !f->format->check(s, len)) {
    hint_format_error(ctx, f->format, s, len);
  }
}

static void check_object(vctx *ctx, const vobject *obj, int idx);
static void check_value_t(vctx *ctx, const vfield *f, int idx, int t);

/* Lists this short are checked for duplicates by comparing items pairwise:
 * no table is made. */
#define V_UNIQUE_PAIRWISE 16

/* Whether item i (at stack index item) equals an earlier one. Strings and
 * numbers only: NaN was reported as not finite already. */
static int duplicate_item(lua_State *L, int idx, long i, int item, int set) {
  int t = lua_type(L, item);
  int dup = 0;
  if (t != LUA_TSTRING && !(t == LUA_TNUMBER && lua_tonumber(L, item) == lua_tonumber(L, item))) {
    return 0;
  }
  if (!set) {
    for (long k = 1; k < i && !dup; k++) {
      lua_rawgeti(L, idx, (int)k);
      dup = lua_rawequal(L, -1, item);
      lua_pop(L, 1);
    }
    return dup;
  }
  lua_pushvalue(L, item);
  lua_rawget(L, set);
  dup = !lua_isnil(L, -1);
  lua_pop(L, 1);
  lua_pushvalue(L, item);
  lua_pushboolean(L, 1);
  lua_rawset(L, set);
  return dup;
}

static void check_array(vctx *ctx, const vfield *f, int idx) {
  lua_State *L = ctx->L;
  long n;
  int set = 0, item;
  if (!v_enter_table(ctx, idx)) {
    return;
  }
  n = v_sequence_length(ctx, idx);
  if (n < 0) {
    v_leave_table(ctx);
    return;
  }
  if (n == 0) {
    v_error(ctx, "is empty: leave the field out instead");
    v_leave_table(ctx);
    return;
  }
  if ((f->flags & VF_MIN) && n < f->min) {
    v_error(ctx, "must have at least %.0f items (got %ld)", f->min, n);
  }
  if ((f->flags & VF_MAX) && n > f->max) {
    v_error(ctx, "must have at most %.0f items (got %ld)", f->max, n);
  }
  if ((f->flags & VF_UNIQUE) && n > V_UNIQUE_PAIRWISE) {
    lua_newtable(L);
    set = lua_gettop(L);
  }
  item = lua_gettop(L) + 1;
  w_char(ctx->out, '[');
  for (long i = 1; i <= n; i++) {
    int old = v_path_push_index(ctx, i);
    int t = lua_rawgeti_compat(L, idx, (int)i);
    if (f->items) {
      check_value_t(ctx, f->items, item, t);
    } else {
      v_check_json(ctx, item);
    }
    w_char(ctx->out, ',');
    if ((f->flags & VF_UNIQUE) && duplicate_item(L, idx, i, item, set)) {
      v_error(ctx, "is a duplicate: items must be distinct");
    }
    lua_pop(L, 1);
    v_path_pop(ctx, old);
  }
  w_close(ctx->out, ']');
  if (set) {
    lua_pop(L, 1);
  }
  v_leave_table(ctx);
}

/* A table of free names, written in byte order; its values are described
 * by f->items, or are any JSON. */
static void check_map(vctx *ctx, const vfield *f, int idx) {
  lua_State *L = ctx->L;
  size_t from = ctx->keys->n;
  if (!v_enter_table(ctx, idx)) {
    return;
  }
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    size_t len;
    const char *key;
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING) {
      v_error(ctx, "must have only string keys (got a %s key)", luaL_typename(L, -1));
      lua_pop(L, 1);
      ctx->keys->n = from;
      v_leave_table(ctx);
      return;
    }
    key = lua_tolstring(L, -1, &len);
    v_keys_push(ctx->keys, key, len, NULL);
  }
  v_write_names(ctx, idx, from, f->items);
  v_leave_table(ctx);
}

const char *v_kind_name(int type) {
  switch (type) {
    case VT_STRING: return "string";
    case VT_INTEGER: return "integer";
    case VT_NUMBER: return "number";
    case VT_BOOLEAN: return "boolean";
    case VT_OBJECT: return "object";
    case VT_ARRAY: return "array";
    case VT_MAP: return "map";
    case VT_FORBIDDEN: return "forbidden";
    default: return "json";
  }
}

/* What a field type takes, for messages. */
static const char *expect_name(int type) {
  switch (type) {
    case VT_STRING: return "a string";
    case VT_INTEGER: return "an integer";
    case VT_NUMBER: return "a number";
    case VT_BOOLEAN: return "a boolean";
    case VT_OBJECT: return "a table of named fields";
    case VT_ARRAY: return "a list (a Lua array)";
    case VT_MAP: return "a table of named values";
    default: return "a JSON value";
  }
}

/* The Lua type each field type takes (LUA_TNONE: any). */
static int lua_type_of(int type) {
  switch (type) {
    case VT_STRING: return LUA_TSTRING;
    case VT_INTEGER:
    case VT_NUMBER: return LUA_TNUMBER;
    case VT_BOOLEAN: return LUA_TBOOLEAN;
    case VT_OBJECT:
    case VT_ARRAY:
    case VT_MAP: return LUA_TTABLE;
    default: return LUA_TNONE;
  }
}

/* v_check_value for a value whose Lua type t the caller has read. */
static void check_value_t(vctx *ctx, const vfield *f, int idx, int t) {
  lua_State *L = ctx->L;
  int want = lua_type_of(f->type);
  if (f->type == VT_FORBIDDEN) {
    if (v_charge(ctx, idx)) {
      v_error(ctx, "%s", f->note ? f->note : "is not accepted here");
    }
    return;
  }
  if (want != LUA_TNONE && t != want) {
    if (v_charge(ctx, idx)) {
      v_error(ctx, "must be %s (got %s)", expect_name(f->type), v_type_name(L, idx));
    }
    return;
  }
  switch (f->type) {
    case VT_STRING: {
      size_t len;
      const char *str = lua_tolstring(L, idx, &len);
      if (v_charge_len(ctx, len)) {
        check_string(ctx, f, str, len);
      }
      break;
    }
    case VT_INTEGER:
    case VT_NUMBER:
      if (v_charge_len(ctx, 0)) {
        v_check_number(ctx, f, idx);
        w_number(ctx->out, L, idx);
      }
      break;
    case VT_BOOLEAN:
      if (v_charge_len(ctx, 0)) {
        if (lua_toboolean(L, idx)) {
          w_mem(ctx->out, "true", 4);
        } else {
          w_mem(ctx->out, "false", 5);
        }
      }
      break;
    case VT_OBJECT:
      if (v_charge_len(ctx, 0) && v_enter_table(ctx, idx)) {
        check_object(ctx, f->object, idx);
        v_leave_table(ctx);
      }
      break;
    case VT_ARRAY:
      if (v_charge_len(ctx, 0)) {
        check_array(ctx, f, idx);
      }
      break;
    case VT_MAP:
      if (v_charge_len(ctx, 0)) {
        check_map(ctx, f, idx);
      }
      break;
    default:
      v_check_json(ctx, idx);   /* VT_JSON: charges itself */
      break;
  }
}

void v_check_value(vctx *ctx, const vfield *f, int idx) {
  check_value_t(ctx, f, idx, lua_type(ctx->L, idx));
}

/* ---- objects ---------------------------------------------------------- */

/* find_field, remembered by the key string's address (validate.h). */
static const vfield *known_field(vctx *ctx, const vobject *obj, const char *key, size_t len) {
  vfound *c = v_found_slot(ctx->found, key, obj);
  /* In a later walk the address may be another string: a field found is
   * the key when the lengths agree and so do the bytes (the field's name
   * has no NUL before its end, so a key with one never matches). */
  if (c->key == key && c->obj == obj &&
      (c->walk == ctx->walk || (c->f && c->len == len && memcmp(c->f->name, key, len) == 0))) {
    return c->f;
  }
  c->key = key;
  c->obj = obj;
  c->f = v_find_field(obj, key, len);
  c->len = len;
  c->walk = ctx->walk;
  return c->f;
}

/* Sorts the entry lua_next left on top (the key below the value); leaves
 * the key on top for the next lua_next. */
static void sort_entry(vctx *ctx, const vobject *obj, fields_seen *fs) {
  lua_State *L = ctx->L;
  size_t len;
  const char *key;
  const vfield *f;
  if (lua_type(L, -2) != LUA_TSTRING) {
    fs->bad_keys++;
    lua_pop(L, 1);
    return;
  }
  key = lua_tolstring(L, -2, &len);
  f = known_field(ctx, obj, key, len);
  if (f && f - obj->fields < V_KEPT) {
    long i = f - obj->fields;
    fs->vals[i] = fs->top + 1;
    fs->top += 2;
    fs->names[i] = key;
    fs->lens[i] = len;
    fs->seen |= 1ull << i;
    lua_pushvalue(L, -2);
    return;
  }
  if (!f && ctx->known && ctx->depth == 1 && !obj->open) {
    ctx->to_lua = 1;   /* a name of the root the schema does not know: a shorthand? */
  }
  v_keys_push(ctx->keys, key, len, f);
  lua_pop(L, 1);
}

/* Whether the provider's Lua step must see the value at idx (type t) of
 * field f first (f->lua, validate.h): another type than a string, or a
 * text it has not found good yet. */
static int for_lua(vctx *ctx, const vfield *f, int idx, int t) {
  lua_State *L = ctx->L;
  unsigned texts = f->lua & (VL_WINDOWS | VL_JSON);
  lua_Number bits;
  if (f->lua & VL_DROP) {
    return 1;
  }
  if (t != LUA_TSTRING) {
    return (f->lua & VL_NOT_TEXT) != 0;
  }
  if (!texts) {
    return 0;
  }
  lua_pushvalue(L, idx);
  lua_rawget(L, ctx->known);
  bits = lua_tonumber(L, -1);
  lua_pop(L, 1);
  return bits < 0 || bits > 255 || ((unsigned)bits & texts) != texts;
}

/* The known fields that were kept, in the schema's order. */
static void write_known(vctx *ctx, const vobject *obj, fields_seen *fs) {
  lua_State *L = ctx->L;
  for (unsigned long long bits = fs->seen; bits; bits &= bits - 1) {
    int i = __builtin_ctzll(bits), at = fs->vals[i], t = lua_type(L, at);
    const vfield *f = &obj->fields[i];
    if (ctx->to_lua || (f->lua && ctx->known && for_lua(ctx, f, at, t))) {
      ctx->to_lua = 1;
      return;
    }
    int old = v_path_push_lstr(ctx, fs->names[i], fs->lens[i]);
    w_plain_key(ctx->out, fs->names[i], fs->lens[i]);
    fs->types[i] = t;
    fs->strs[i] = NULL;
    if (t == LUA_TSTRING && f->type == VT_STRING) {
      /* check_value_t's string case, keeping the text for the rules */
      const char *str = lua_tolstring(L, at, &fs->slens[i]);
      if (v_charge_len(ctx, fs->slens[i])) {
        check_string(ctx, f, str, fs->slens[i]);
        fs->strs[i] = str;
      }
    } else {
      check_value_t(ctx, f, at, t);
    }
    w_char(ctx->out, ',');
    v_path_pop(ctx, old);
  }
}

/* A name the object does not know (key.f NULL), or a known one past
 * V_KEPT: where the object is open (or names pass through) an unknown
 * name's value is only checked as JSON; else it is reported, with the
 * nearest known name. */
static void other_field(vctx *ctx, const vobject *obj, int idx, const vkey *key) {
  lua_State *L = ctx->L;
  if (key->f || obj->open || ctx->passthrough) {
    int value = lua_gettop(L) + 1;
    lua_pushlstring(L, key->s, key->len);
    lua_rawget(L, idx);
    if (key->f) {
      w_plain_key(ctx->out, key->s, key->len);
      check_value_t(ctx, key->f, value, lua_type(L, value));
    } else {
      v_write_key(ctx, key->s, key->len);
      v_check_json(ctx, value);
    }
    w_char(ctx->out, ',');
    lua_pop(L, 1);
  } else if (v_errors_full(ctx)) {
    ctx->nerr++;   /* a suggestion costs an edit distance per known field */
  } else {
    char shown[TEXT_SHOWN_SIZE];
    const char *hint = suggest(obj, key->s, key->len);
    text_shown_name(shown, sizeof shown, key->s, key->len);
    if (hint) {
      v_error(ctx, "unknown field \"%s\"; did you mean \"%s\"?", shown, hint);
    } else {
      v_error(ctx, "unknown field \"%s\"", shown);
    }
  }
}

/* The names waiting in ctx->keys from index from up, in byte order. */
static void write_others(vctx *ctx, const vobject *obj, int idx, size_t from) {
  size_t n = ctx->keys->n;
  if (n == from) {
    return;
  }
  v_keys_sort(ctx->keys, from);
  for (size_t i = from; i < n; i++) {
    vkey key = ctx->keys->k[i];   /* a copy: the list may move as it grows */
    int old = v_path_push_lstr(ctx, key.s, key.len);
    other_field(ctx, obj, idx, &key);
    v_path_pop(ctx, old);
  }
  ctx->keys->n = from;
}

/* The bits of obj's required fields among the first 63, and bit 63 set
 * when one is further down (then check_required looks at each); remembered
 * for the walk as names are. */
static unsigned long long required_bits(vctx *ctx, const vobject *obj) {
  vfound *c = v_found_slot(ctx->found, NULL, obj);
  unsigned long long bits = 0;
  if (c->key == NULL && c->obj == obj) {
    return c->required;
  }
  for (const vfield *f = obj->fields; f->name; f++) {
    if (f->flags & VF_REQUIRED) {
      bits |= f - obj->fields < 63 ? 1ull << (f - obj->fields) : 1ull << 63;
    }
  }
  c->key = NULL;
  c->obj = obj;
  c->required = bits;
  return bits;
}

static void check_required(vctx *ctx, const vobject *obj, int idx, unsigned long long seen) {
  unsigned long long required = required_bits(ctx, obj);
  if (!(required >> 63) && (required & ~seen) == 0) {
    return;   /* all there */
  }
  for (const vfield *f = obj->fields; f->name; f++) {
    if ((f->flags & VF_REQUIRED) &&
        (f - obj->fields < V_KEPT ? !((seen >> (f - obj->fields)) & 1u)
                                  : !v_has(ctx, idx, f->name))) {
      v_error_at(ctx, f->name, "is required");
    }
  }
}

/* Runs the object's cross-field rules, with what was seen of it at hand for
 * v_has and v_get; an enclosing object's is put back after. */
static void run_rules(vctx *ctx, const vobject *obj, int idx, const fields_seen *fs) {
  const vobject *outer = ctx->obj;
  int outer_idx = ctx->obj_idx;
  unsigned long long outer_seen = ctx->seen;
  const fields_seen *outer_fields = ctx->fields;
  ctx->obj = obj;
  ctx->obj_idx = idx;
  ctx->seen = fs->seen;
  ctx->fields = fs;
  obj->rules(ctx, idx);
  ctx->obj = outer;
  ctx->obj_idx = outer_idx;
  ctx->seen = outer_seen;
  ctx->fields = outer_fields;
}

/* Reads the table's names once, then checks and writes its fields: the
 * known ones in the schema's order, the others in byte order. */
static void check_object(vctx *ctx, const vobject *obj, int idx) {
  lua_State *L = ctx->L;
  int base = lua_gettop(L);
  size_t from = ctx->keys->n;
  fields_seen fs;
  fs.seen = 0;
  fs.bad_keys = 0;
  fs.top = base + 1;
  lua_pushnil(L);   /* v_enter_table made room for the kept pairs */
  while (lua_next(L, idx)) {
    sort_entry(ctx, obj, &fs);
  }
  if (fs.seen == 0 && fs.bad_keys == 0 && ctx->keys->n == from && v_marked_array(L, idx)) {
    /* An empty list where an object goes: written {}, it would change. */
    v_error(ctx, "must be a table of named fields (got an empty list, marked by "
                 "campaign.array)");
    lua_settop(L, base);
    return;
  }
  w_char(ctx->out, '{');
  write_known(ctx, obj, &fs);
  if (ctx->to_lua) {
    /* Handed back to the provider's Lua step: nothing more is needed. */
    ctx->keys->n = from;
    lua_settop(L, base);
    return;
  }
  write_others(ctx, obj, idx, from);
  w_close(ctx->out, '}');
  if (fs.bad_keys) {
    v_error(ctx, "must be a table of named fields (found %d key%s that %s not strings: "
                 "a list was given where an object was expected?)",
            fs.bad_keys, fs.bad_keys == 1 ? "" : "s", fs.bad_keys == 1 ? "is" : "are");
    lua_settop(L, base);
    return;
  }
  check_required(ctx, obj, idx, fs.seen);
  if (obj->rules) {
    run_rules(ctx, obj, idx, &fs);
  }
  lua_settop(L, base);
}

/* ---- entry points ----------------------------------------------------- */

void v_init(vctx *ctx, lua_State *L, int errors_idx, int passthrough, int known,
            struct wbuf *out, struct vkeys *keys, vfound *found, unsigned walk) {
  /* Everything but the stacks, which are large and filled as used. */
  memset(ctx, 0, offsetof(vctx, steps));
  ctx->L = L;
  ctx->errors = errors_idx;
  ctx->max_errors = 100;
  ctx->passthrough = passthrough;
  ctx->known = known;
  ctx->out = out;
  ctx->keys = keys;
  ctx->found = found;
  ctx->walk = walk;
}

/* Past the cap, the problems not listed are counted in a last entry. */
static void count_the_rest(vctx *ctx) {
  lua_State *L = ctx->L;
  if (ctx->nerr > ctx->max_errors) {
    lua_createtable(L, 0, 2);
    lua_pushliteral(L, "");
    lua_setfield(L, -2, "field");
    lua_pushfstring(L, "and %d more problems", ctx->nerr - ctx->max_errors);
    lua_setfield(L, -2, "message");
    lua_rawseti(L, ctx->errors, ctx->max_errors + 1);
  }
}

void v_check_any(vctx *ctx, int idx) {
  v_check_json(ctx, idx);
  count_the_rest(ctx);
}

void v_check_root(vctx *ctx, const vschema *schema, int idx) {
  lua_State *L = ctx->L;
  if (!lua_istable(L, idx)) {
    v_error(ctx, "fields must be a table (got %s)", v_type_name(L, idx));
    return;
  }
  if (schema->nonempty) {
    lua_pushnil(L);
    if (!lua_next(L, idx)) {
      v_error(ctx, "no fields given: there is nothing to send");
      return;
    }
    lua_pop(L, 2);
  }
  if (v_enter_table(ctx, idx)) {
    check_object(ctx, schema->root, idx);
    v_leave_table(ctx);
  }
  count_the_rest(ctx);
}
