/* Lua 5.1 / LuaJIT / 5.2 / 5.3 / 5.4 differences the core relies on. */
#ifndef CAMPAIGN_COMPAT_H
#define CAMPAIGN_COMPAT_H

#include <lua.h>
#include <lauxlib.h>

/* The module exports luaopen_campaign_core alone. What its files share is
 * declared, in each header of src/, after the header's own includes and
 * between "#pragma GCC visibility push(hidden)" and "pop": it stays hidden
 * in builds without -fvisibility=hidden too (LuaRocks' builtin type). */

#if LUA_VERSION_NUM < 502
#define lua_rawlen(L, i) lua_objlen((L), (i))
/* LuaJIT 2.1 (OpenResty's too) already has luaL_newlib and luaL_setfuncs. */
#ifndef luaL_newlib
#define luaL_newlib(L, l) (lua_newtable(L), luaL_register((L), NULL, (l)))
#endif
#define luaL_setfuncs_compat(L, l) luaL_register((L), NULL, (l))
#else
#define luaL_setfuncs_compat(L, l) luaL_setfuncs((L), (l), 0)
#endif

#if LUA_VERSION_NUM < 503
#define lua_isinteger_compat(L, i) 0
#else
#define lua_isinteger_compat(L, i) lua_isinteger((L), (i))
#endif

/* lua_rawgeti returns the type from 5.3 on. */
#if LUA_VERSION_NUM < 503
static inline int lua_rawgeti_compat(lua_State *L, int idx, int n) {
  lua_rawgeti(L, idx, n);
  return lua_type(L, -1);
}
#else
#define lua_rawgeti_compat(L, idx, n) lua_rawgeti((L), (idx), (n))
#endif

#endif
