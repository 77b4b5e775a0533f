/* bench/walk.c: the least a validator that looks at every value must do,
 * for make bench to print next to prepare's ratio. walk(t) reads every key
 * and value of t and of the tables in it through the Lua C API (lua_next,
 * lua_type, lua_tolstring), as lua-cjson does when it encodes, and checks
 * nothing. Not part of the module. */
#include <lua.h>
#include <lauxlib.h>

static long walk(lua_State *L, int idx, int depth) {
  long n = 0;
  if (depth > 64) {
    return 0;
  }
  luaL_checkstack(L, 4, "walk");
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    size_t len = 0;
    n++;
    if (lua_type(L, -2) == LUA_TSTRING) {
      lua_tolstring(L, -2, &len);
      n += (long)len;
    }
    switch (lua_type(L, -1)) {
      case LUA_TTABLE:
        n += walk(L, lua_gettop(L), depth + 1);
        break;
      case LUA_TSTRING:
        lua_tolstring(L, -1, &len);
        n += (long)len;
        break;
      case LUA_TNUMBER:
        n += (long)(lua_tonumber(L, -1) != 0);
        break;
      default:
        break;
    }
    lua_pop(L, 1);
  }
  return n;
}

static int l_walk(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lua_pushnumber(L, (lua_Number)walk(L, 1, 0));
  return 1;
}

__attribute__((visibility("default"))) int luaopen_bench_walk(lua_State *L);
int luaopen_bench_walk(lua_State *L) {
  lua_newtable(L);
  lua_pushcfunction(L, l_walk);
  lua_setfield(L, -2, "walk");
  return 1;
}
