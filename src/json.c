/* Any JSON value, as lua-cjson will write it: the free-form parts of a body
 * (open objects, passed-through names, fields of any JSON), and the shape of
 * every table the walk enters. Also the bounds of one walk: depth, cycles,
 * values and bytes. */
#include <math.h>

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
  luaL_checkstack(ctx->L, 8, "validator");
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

/* ---- values ----------------------------------------------------------- */

static void check_json_table(vctx *ctx, int idx) {
  lua_State *L = ctx->L;
  int has_named = 0, has_seq = 0;
  if (!v_enter_table(ctx, idx)) {
    return;
  }
  /* Decide array or object first, the way lua-cjson will. */
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING) {
      has_named = 1;
    } else {
      has_seq = 1;
    }
  }
  if (has_seq && !has_named) {
    long n = v_sequence_length(ctx, idx);
    for (long i = 1; i <= n; i++) {
      int old = v_path_push_index(ctx, i);
      lua_rawgeti(L, idx, (int)i);
      v_check_json(ctx, lua_gettop(L));
      lua_pop(L, 1);
      v_path_pop(ctx, old);
    }
  } else if (has_seq) {
    v_error(ctx, "mixes list items and named keys: JSON needs one or the other");
  } else {
    lua_pushnil(L);
    while (lua_next(L, idx)) {
      size_t len;
      const char *key = lua_tolstring(L, -2, &len);
      int old = v_path_push_lstr(ctx, key, len);
      v_check_string_bytes(ctx, key, len, NULL);
      ctx->bytes += len;
      v_check_json(ctx, lua_gettop(L));
      v_path_pop(ctx, old);
      lua_pop(L, 1);
    }
  }
  v_leave_table(ctx);
}

void v_check_string_bytes(vctx *ctx, const char *s, size_t len, long *chars) {
  long n = text_utf8_length((const unsigned char *)s, len);
  if (n == -1) {
    v_error(ctx, "is not valid UTF-8");
  } else if (n == -2) {
    v_error(ctx, "contains a NUL byte");
  }
  if (chars) {
    *chars = n;
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
      v_check_string_bytes(ctx, str, len, NULL);
      break;
    }
    case LUA_TNUMBER:
      v_check_json_number(ctx, idx);
      break;
    case LUA_TBOOLEAN:
      break;
    case LUA_TTABLE:
      check_json_table(ctx, idx);
      break;
    default:
      if (!is_null(L, idx)) {
        v_error(ctx, "cannot be sent as JSON (got %s)", v_type_name(L, idx));
      }
  }
}

