/* The walks of campaign.core: core.validate, core.encode and core.json,
 * with the buffers they write into, and the schemas they walk against
 * (core.schema, core.schemas, core.fields). */
#include <stdint.h>
#include <string.h>

#include "core.h"
#include "providers.h"
#include "walk.h"

/* Every provider's schemas, in the order of CAMPAIGN_PROVIDERS. */
#define SCHEMAS_OF(name) name##_schemas,
static const vschema *const all_schemas[] = {CAMPAIGN_PROVIDERS(SCHEMAS_OF) NULL};
#undef SCHEMAS_OF

static const vschema *find_schema(const char *name) {
  for (int i = 0; all_schemas[i]; i++) {
    for (const vschema *s = all_schemas[i]; s->name; s++) {
      if (strcmp(s->name, name) == 0) {
        return s;
      }
    }
  }
  return NULL;
}

/* A schema handle from core.schema, checked to be one of ours. */
static const vschema *schema_handle(const void *p) {
  for (int i = 0; all_schemas[i]; i++) {
    for (const vschema *s = all_schemas[i]; s->name; s++) {
      if (s == p) {
        return s;
      }
    }
  }
  return NULL;
}

/* core.schema(name) -> handle | nil: saves the look-up by name per call. */
static int core_schema(lua_State *L) {
  const vschema *schema = find_schema(luaL_checkstring(L, 1));
  if (!schema) {
    return 0;
  }
  lua_pushlightuserdata(L, (void *)(uintptr_t)schema);
  return 1;
}

/* The schema of argument 1: a handle from core.schema, or a name. */
static const vschema *schema_arg(lua_State *L) {
  const vschema *schema;
  if (lua_type(L, 1) == LUA_TLIGHTUSERDATA) {
    schema = schema_handle(lua_touserdata(L, 1));
    luaL_argcheck(L, schema != NULL, 1, "not a schema handle");
  } else {
    const char *name = luaL_checkstring(L, 1);
    schema = find_schema(name);
    if (!schema) {
      luaL_argerror(L, 1, lua_pushfstring(L, "no schema named '%s'", name));
    }
  }
  return schema;
}

/* ---- the walk's buffers ----------------------------------------------- */

/* The text being written and the names waiting for their order, kept from
 * one walk to the next (as lua-cjson keeps its buffer): a userdata, an
 * upvalue of the functions below, frees them when collected, so that a Lua
 * error in the middle of a walk loses nothing. */
typedef struct work {
  wbuf out;
  vkeys keys;
  vfound found[V_FOUND];
  unsigned walks;
  int busy;
} work;

#define WORK_MT "campaign.core.work"
/* Kept for the next walk up to this size; a larger body's memory is given
 * back at the end of its walk. */
#define WORK_KEEP (2u << 20)

static int work_gc(lua_State *L) {
  work *w = lua_touserdata(L, 1);
  w_free(&w->out);
  v_keys_free(&w->keys);
  return 0;
}

static work *work_new(lua_State *L) {
  work *w = lua_newuserdata(L, sizeof *w);
  memset(w, 0, sizeof *w);
  w->out.L = w->keys.L = L;
  luaL_getmetatable(L, WORK_MT);
  lua_setmetatable(L, -2);
  return w;
}

/* The buffers for one walk, empty. A walk can start inside another when a
 * finalizer that runs during an allocation of the first calls the module:
 * that one gets buffers of its own, left on the stack. (So does every walk
 * after a memory error ended one, which left the shared ones marked busy.) */
static work *work_take(lua_State *L) {
  work *w = lua_touserdata(L, lua_upvalueindex(1));
  if (w->busy) {
    w = work_new(L);
  }
  w->busy = 1;
  w->out.L = w->keys.L = L;
  w->out.len = 0;
  w->keys.n = 0;
  return w;
}

static void work_give_back(work *w) {
  if (w->out.cap > WORK_KEEP) {
    w_free(&w->out);
  }
  if (w->keys.cap * sizeof *w->keys.k > WORK_KEEP) {
    v_keys_free(&w->keys);
  }
  w->busy = 0;
}

/* ---- walks ------------------------------------------------------------ */

/* The answer of a walk whose problems are in the slot errors: true (or the
 * text written), else false and the problems. */
static int walk_answer(lua_State *L, const vctx *ctx, work *w, int errors, int text) {
  if (ctx->to_lua) {
    work_give_back(w);
    lua_pushnil(L);
    return 1;
  }
  if (ctx->nerr > 0) {
    work_give_back(w);
    lua_pushboolean(L, 0);
    lua_pushvalue(L, errors);
    return 2;
  }
  if (text) {
    lua_pushlstring(L, w->out.p, w->out.len);
  } else {
    lua_pushboolean(L, 1);
  }
  work_give_back(w);
  return 1;
}

/* The walk of the fields at index 2 against schema; the stack holds 4
 * values (known at 4, or not a table), and gets the errors slot at 5. */
static work *walk_fields(lua_State *L, vctx *ctx, const vschema *schema, int passthrough) {
  work *w;
  lua_pushnil(L);   /* 5: the slot of the errors list, made on the first one */
  w = work_take(L);
  v_init(ctx, L, 5, passthrough, lua_istable(L, 4) ? 4 : 0, &w->out, &w->keys, w->found,
         ++w->walks);
  v_check_root(ctx, schema, 2);
  return w;
}

/* The walk of core.validate and core.encode: the rules, and the text when
 * `write` is set. */
static int walk_schema(lua_State *L, int write) {
  const vschema *schema = schema_arg(L);
  int passthrough = lua_toboolean(L, 3);
  vctx ctx;
  work *w;
  lua_settop(L, 4);
  w = walk_fields(L, &ctx, schema, passthrough);
  return walk_answer(L, &ctx, w, 5, write);
}

/* core.validate(schema, fields [, passthrough]) -> true | false, errors
 * schema is a name or a handle from core.schema. The rules alone: for query
 * strings, which the client writes itself, and for checks of part of a
 * body. */
static int core_validate(lua_State *L) {
  return walk_schema(L, 0);
}

/* core.encode(schema, fields [, passthrough [, known]]) -> body | false, errors
 * The JSON text of a valid table, written by the walk that checks it:
 * known fields in the schema's order, other names in byte order, numbers
 * exactly (write.h). With known (the texts the provider's Lua step found
 * good, validate.h's VL_*), nil alone when the fields need that step first:
 * a shorthand, or a text it has not checked. */
static int core_encode(lua_State *L) {
  return walk_schema(L, 1);
}

/* ---- requests --------------------------------------------------------- */

/* The upvalues of a request writer (core.writer). */
enum {
  RW_WORK = 1, RW_SCHEMA, RW_METHOD, RW_URL, RW_MT, RW_KNOWN,
  RW_KEY_METHOD, RW_KEY_URL, RW_KEY_BODY,   /* the names, made once */
  RW_N = RW_KEY_BODY
};

/* t[upvalue key] = the value on top (raw: the table is new). */
static void rw_set(lua_State *L, int key) {
  lua_pushvalue(L, lua_upvalueindex(key));
  lua_insert(L, -2);
  lua_rawset(L, -3);
}

/* write(fields [, passthrough]) -> req | nil | false, errors
 * core.encode's walk, and on success the request itself: a new table
 * {method, url, body} with the writer's metatable. nil when the fields need
 * the provider's Lua step first (core.encode's known). */
static int write_request(lua_State *L) {
  const vschema *schema = lua_touserdata(L, lua_upvalueindex(RW_SCHEMA));
  int passthrough = lua_toboolean(L, 2);
  vctx ctx;
  work *w;
  /* The stack of core.encode: 2 the fields, 4 the known texts. */
  lua_settop(L, 1);
  lua_pushnil(L);
  lua_insert(L, 1);
  lua_pushnil(L);
  lua_pushvalue(L, lua_upvalueindex(RW_KNOWN));
  w = walk_fields(L, &ctx, schema, passthrough);
  if (ctx.to_lua || ctx.nerr > 0) {
    return walk_answer(L, &ctx, w, 5, 1);
  }
  lua_createtable(L, 0, 4);
  lua_pushvalue(L, lua_upvalueindex(RW_METHOD));
  rw_set(L, RW_KEY_METHOD);
  lua_pushvalue(L, lua_upvalueindex(RW_URL));
  rw_set(L, RW_KEY_URL);
  lua_pushlstring(L, w->out.p, w->out.len);
  work_give_back(w);
  rw_set(L, RW_KEY_BODY);
  lua_pushvalue(L, lua_upvalueindex(RW_MT));
  lua_setmetatable(L, -2);
  return 1;
}

/* core.writer(schema, method, url, mt [, known]) -> write
 * A request writer for an operation whose only input is its fields: what
 * does not change from call to call is kept in the function. */
static int core_writer(lua_State *L) {
  const vschema *schema = schema_arg(L);
  luaL_checktype(L, 2, LUA_TSTRING);
  luaL_checktype(L, 3, LUA_TSTRING);
  luaL_checktype(L, 4, LUA_TTABLE);
  if (!lua_isnoneornil(L, 5)) {
    luaL_checktype(L, 5, LUA_TTABLE);
  }
  lua_settop(L, 5);
  lua_pushvalue(L, lua_upvalueindex(1));   /* the walk's buffers, shared */
  lua_pushlightuserdata(L, (void *)(uintptr_t)schema);
  lua_pushvalue(L, 2);
  lua_pushvalue(L, 3);
  lua_pushvalue(L, 4);
  lua_pushvalue(L, 5);
  lua_pushliteral(L, "method");
  lua_pushliteral(L, "url");
  lua_pushliteral(L, "body");
  lua_pushcclosure(L, write_request, RW_N);
  return 1;
}

/* core.json(value) -> text | false, errors
 * Any JSON value (a free-form one: no schema), checked as the free-form
 * parts of a body are and written the same way; the problems' fields are
 * paths inside value ("" for value itself). */
static int core_json(lua_State *L) {
  vctx ctx;
  work *w;
  luaL_checkany(L, 1);
  lua_settop(L, 1);
  lua_pushnil(L);   /* 2: the slot of the errors list */
  w = work_take(L);
  v_init(&ctx, L, 2, 0, 0, &w->out, &w->keys, w->found, ++w->walks);
  v_check_any(&ctx, 1);
  return walk_answer(L, &ctx, w, 2, 1);
}

/* core.schemas() -> {"vapi.create", ...} */
static int core_schemas(lua_State *L) {
  int n = 0;
  lua_newtable(L);
  for (int i = 0; all_schemas[i]; i++) {
    for (const vschema *s = all_schemas[i]; s->name; s++) {
      lua_pushstring(L, s->name);
      lua_rawseti(L, -2, ++n);
    }
  }
  return 1;
}

/* core.fields(schema) -> {[name] = kind, ...}: the kinds of a schema's
 * top-level fields, for callers that have values as text (the command-line
 * tool's --query) and must know which to send as numbers or booleans.
 * schema is as for core.validate (a name or a handle); an unknown name
 * raises. The kinds are the schema's own, in plain words: "string",
 * "integer", "number", "boolean", "object", "array", "map" (a table of
 * free names), "json" (any JSON value), and "forbidden" for a name the
 * operation knows but does not take. A schema that is open to any names
 * lists only the ones it knows (maybe none). */
static int core_fields(lua_State *L) {
  const vschema *schema = schema_arg(L);
  lua_newtable(L);
  for (const vfield *f = schema->root->fields; f->name; f++) {
    lua_pushstring(L, f->name);
    lua_pushstring(L, v_kind_name(f->type));
    lua_rawset(L, -3);
  }
  return 1;
}


static const luaL_Reg walk_functions[] = {
    {"validate", core_validate},
    {"encode", core_encode},
    {"json", core_json},
    {NULL, NULL},
};

static const luaL_Reg schema_functions[] = {
    {"schema", core_schema},
    {"schemas", core_schemas},
    {"fields", core_fields},
    {NULL, NULL},
};

void campaign_encode_open(lua_State *L) {
  luaL_setfuncs_compat(L, schema_functions);
  if (luaL_newmetatable(L, WORK_MT)) {
    lua_pushcfunction(L, work_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  for (const luaL_Reg *r = walk_functions; r->name; r++) {
    work_new(L);
    lua_pushcclosure(L, r->func, 1);
    lua_setfield(L, -2, r->name);
  }
  /* The writers share core.encode's buffers. */
  lua_getfield(L, -1, "encode");
  lua_getupvalue(L, -1, 1);
  lua_pushcclosure(L, core_writer, 1);
  lua_setfield(L, -3, "writer");
  lua_pop(L, 1);
}
