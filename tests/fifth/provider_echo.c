/* Echo: a provider that exists only in tests/fifth_provider_spec.lua, which
 * adds it to a copy of the checkout to show what adding a provider takes:
 * this file, one line in src/providers.h, its Lua module and one line in
 * lua/campaign/providers.lua. Its create body has a name, a list of phone
 * numbers and a cross-field rule. */
#include "providers.h"

/* Rule across fields: at most as many callers at once as there are numbers. */
static void create_rules(vctx *ctx, int idx) {
  lua_State *L = ctx->L;
  v_get(ctx, idx, "numbers");
  size_t count = lua_istable(L, -1) ? (size_t)lua_rawlen(L, -1) : 0;
  lua_pop(L, 1);
  v_get(ctx, idx, "parallel");
  if (lua_type(L, -1) == LUA_TNUMBER && count > 0 && lua_tonumber(L, -1) > (double)count) {
    v_error_at(ctx, "parallel", "must not be above the number of numbers (%d)", (int)count);
  }
  lua_pop(L, 1);
}

static const vfield number = {.name = "number", .type = VT_STRING, .format = &V_E164};

static const vfield create_fields[] = {
    {.name = "name", .type = VT_STRING, .flags = VF_REQUIRED | VF_MIN, .min = 1},
    {.name = "numbers", .type = VT_ARRAY, .flags = VF_REQUIRED, .items = &number},
    {.name = "parallel", .type = VT_INTEGER, .flags = VF_MIN | VF_MAX, .min = 1, .max = 10},
    V_END,
};

static const vobject create_body = {create_fields, create_rules, 0};

const vschema echo_schemas[] = {
    {"echo.create", &create_body, 0},
    {NULL, NULL, 0},
};
