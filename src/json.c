/* Any JSON value, checked and written: the free-form parts of a body (open
 * objects, passed-through names, fields of any JSON), and the shape of every
 * table the walk enters. Also the bounds of one walk (depth, cycles, values
 * and bytes) and the list of names waiting to be written in byte order. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "walk.h"

static int is_null(lua_State *L, int idx) {
  return lua_type(L, idx) == LUA_TLIGHTUSERDATA && lua_touserdata(L, idx) == NULL;
}

const char *v_type_name(lua_State *L, int idx) {
  if (is_null(L, idx)) {
    return "null";
  }
  if (lua_type(L, idx) == LUA_TNUMBER) {
    double d = lua_tonumber(L, idx);
    if (d != d) {
      return "NaN";
    }
    if (isinf(d)) {
      return "infinity";
    }
  }
  return luaL_typename(L, idx);
}

/* ---- table shapes ----------------------------------------------------- */

int v_enter_table(vctx *ctx, int idx) {
  const void *p = lua_topointer(ctx->L, idx);
  for (int i = 0; i < ctx->depth; i++) {
    if (ctx->open_tables[i] == p) {
      v_error(ctx, "refers to a table that contains it (a cycle): JSON cannot carry it");
      return 0;
    }
  }
  if (ctx->depth >= V_MAX_DEPTH) {
    v_error(ctx, "is nested too deeply (more than %d levels)", V_MAX_DEPTH);
    return 0;
  }
  luaL_checkstack(ctx->L, V_STACK_ROOM, "validator");
  ctx->open_tables[ctx->depth++] = p;
  return 1;
}

void v_charge_error(vctx *ctx) {
  v_error(ctx, "makes the request too large to send (more than %ld values or %lu MiB "
               "of text; a table used in several places counts each time)",
          V_MAX_VALUES, V_MAX_BYTES >> 20);
}

/* An integer-valued key >= 1, as a sequence index. */
static long seq_key(lua_State *L, int idx) {
  double d;
  if (lua_type(L, idx) != LUA_TNUMBER) {
    return 0;
  }
#if LUA_VERSION_NUM >= 503
  {
    int is_integer;
    lua_Integer k = lua_tointegerx(L, idx, &is_integer);
    if (is_integer) {
      return k >= 1 && k <= 1000000000000000LL ? (long)k : 0;   /* 10^15, as below */
    }
  }
#endif
  d = lua_tonumber(L, idx);
  if (d >= 1 && d <= 1e15 && d == floor(d)) {
    return (long)d;
  }
  return 0;
}

/* Checks that the table at idx is a proper sequence 1..n and returns n,
 * or -1 after reporting what is wrong with it. */
long v_sequence_length(vctx *ctx, int idx) {
  lua_State *L = ctx->L;
  long count = 0, max = 0, named = 0, odd = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    long k = seq_key(L, -2);
    lua_pop(L, 1);
    count++;
    if (k > 0) {
      if (k > max) max = k;
    } else if (lua_type(L, -1) == LUA_TSTRING) {
      named++;
    } else {
      odd++;
    }
  }
  if (named > 0 && named == count) {
    v_error(ctx, "must be a list (a Lua array), got a table of named fields");
    return -1;
  }
  if (named > 0 || odd > 0) {
    v_error(ctx, "must be a list (a Lua array), got a table that mixes list items "
                 "and other keys");
    return -1;
  }
  if (max != count) {
    v_error(ctx, "is a list with holes (%ld items, highest index %ld): "
                 "nil cannot be inside a list", count, max);
    return -1;
  }
  return count;
}

/* ---- names in order -------------------------------------------------- */

void v_keys_grow(vkeys *keys) {
  void *ud;
  lua_Alloc alloc = lua_getallocf(keys->L, &ud);
  size_t cap = keys->cap ? keys->cap * 2 : 64;
  vkey *k = alloc(ud, keys->k, keys->cap * sizeof *k, cap * sizeof *k);
  if (!k) {
    luaL_error(keys->L, "campaign: out of memory");
  }
  keys->k = k;
  keys->cap = cap;
}

void v_keys_free(vkeys *keys) {
  if (keys->k) {
    void *ud;
    lua_Alloc alloc = lua_getallocf(keys->L, &ud);
    alloc(ud, keys->k, keys->cap * sizeof *keys->k, 0);
  }
  keys->k = NULL;
  keys->n = keys->cap = 0;
}

static int byte_order(const void *a, const void *b) {
  const vkey *x = a, *y = b;
  int c = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len);
  if (c != 0) {
    return c;
  }
  return (x->len > y->len) - (x->len < y->len);
}

void v_keys_sort(vkeys *keys, size_t from) {
  size_t n = keys->n - from;
  if (n < 2) {
    return;
  }
  if (n <= 8) {
    /* Insertion sort: most objects have a handful of names. */
    for (size_t i = from + 1; i < keys->n; i++) {
      vkey k = keys->k[i];
      size_t j = i;
      while (j > from && byte_order(&keys->k[j - 1], &k) > 0) {
        keys->k[j] = keys->k[j - 1];
        j--;
      }
      keys->k[j] = k;
    }
    return;
  }
  qsort(keys->k + from, n, sizeof *keys->k, byte_order);
}

/* ---- values ----------------------------------------------------------- */

/* Whether the table at idx carries campaign.array's mark: a metatable whose
 * __jsontype is "array" (read raw), as dkjson marks the lists it decodes. */
int v_marked_array(lua_State *L, int idx) {
  int marked = 0;
  if (lua_getmetatable(L, idx)) {
    lua_pushliteral(L, "__jsontype");
    lua_rawget(L, -2);
    marked = lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "array") == 0;
    lua_pop(L, 2);
  }
  return marked;
}

static void write_json_list(vctx *ctx, int idx) {
  lua_State *L = ctx->L;
  long n = v_sequence_length(ctx, idx);
  if (n < 0) {
    return;
  }
  w_char(ctx->out, '[');
  for (long i = 1; i <= n; i++) {
    int old = v_path_push_index(ctx, i);
    lua_rawgeti(L, idx, (int)i);
    v_check_json(ctx, lua_gettop(L));
    w_char(ctx->out, ',');
    lua_pop(L, 1);
    v_path_pop(ctx, old);
  }
  w_close(ctx->out, ']');
}

void v_write_names(vctx *ctx, int idx, size_t from, const vfield *items) {
  lua_State *L = ctx->L;
  size_t n = ctx->keys->n;
  v_keys_sort(ctx->keys, from);
  w_char(ctx->out, '{');
  for (size_t i = from; i < n; i++) {
    vkey key = ctx->keys->k[i];   /* a copy: the list may move as it grows */
    int old = v_path_push_lstr(ctx, key.s, key.len);
    v_write_key(ctx, key.s, key.len);
    lua_pushlstring(L, key.s, key.len);
    lua_rawget(L, idx);
    if (items) {
      v_check_value(ctx, items, lua_gettop(L));
    } else {
      v_check_json(ctx, lua_gettop(L));
    }
    w_char(ctx->out, ',');
    lua_pop(L, 1);
    v_path_pop(ctx, old);
  }
  w_close(ctx->out, '}');
  ctx->keys->n = from;
}

/* A table as any JSON: a list when its keys are 1..n, an object (names in
 * byte order) when they are strings; an empty one is {} unless marked. */
static void check_json_table(vctx *ctx, int idx) {
  lua_State *L = ctx->L;
  int has_named = 0, has_seq = 0;
  size_t from = ctx->keys->n;
  if (!v_enter_table(ctx, idx)) {
    return;
  }
  /* Decide list or object first; keep the names for their order. */
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING) {
      size_t len;
      const char *key = lua_tolstring(L, -1, &len);
      has_named = 1;
      v_keys_push(ctx->keys, key, len, NULL);
    } else {
      has_seq = 1;
    }
  }
  if (has_seq && !has_named) {
    write_json_list(ctx, idx);
  } else if (has_seq) {
    v_error(ctx, "mixes list items and named keys: JSON needs one or the other");
  } else if (has_named) {
    v_write_names(ctx, idx, from, NULL);
  } else {
    w_mem(ctx->out, v_marked_array(L, idx) ? "[]" : "{}", 2);
  }
  ctx->keys->n = from;
  v_leave_table(ctx);
}

void v_string_error(vctx *ctx, long chars) {
  if (chars == -1) {
    v_error(ctx, "is not valid UTF-8");
  } else if (chars == -2) {
    v_error(ctx, "contains a NUL byte");
  }
}

void v_check_json(vctx *ctx, int idx) {
  lua_State *L = ctx->L;
  if (!v_charge(ctx, idx)) {
    return;
  }
  switch (lua_type(L, idx)) {
    case LUA_TSTRING: {
      size_t len;
      const char *str = lua_tolstring(L, idx, &len);
      v_write_string(ctx, str, len);
      break;
    }
    case LUA_TNUMBER:
      v_check_json_number(ctx, idx);
      w_number(ctx->out, L, idx);
      break;
    case LUA_TBOOLEAN:
      if (lua_toboolean(L, idx)) {
        w_mem(ctx->out, "true", 4);
      } else {
        w_mem(ctx->out, "false", 5);
      }
      break;
    case LUA_TTABLE:
      check_json_table(ctx, idx);
      break;
    default:
      if (is_null(L, idx)) {
        w_mem(ctx->out, "null", 4);
      } else {
        v_error(ctx, "cannot be sent as JSON (got %s)", v_type_name(L, idx));
      }
  }
}
