/* What the cross-field rules of the provider files read: the fields of
 * the object whose rules run, as the walk kept them (validate.c), else the
 * table itself, raw. */
#include "walk.h"

/* v_find_named in the rules' object, remembered in the walk's cache of
 * names (validate.h) by the name's address: the rules ask for the same few
 * names, written as literals, in every walk. An entry is trusted only when
 * its field has that very name (the literal the schema holds), so it holds
 * from walk to walk; a name found otherwise is looked up each time. */
static const vfield *named_field(vctx *ctx, const vobject *obj, const char *name) {
  vfound *c = v_found_slot(ctx->found, name, obj);
  const vfield *f;
  if (c->key == name && c->obj == obj && c->f && c->f->name == name) {
    return c->f;
  }
  f = v_find_named(obj, name);
  if (f && f->name == name) {
    c->key = name;
    c->obj = obj;
    c->f = f;
  }
  return f;
}

/* The place in the schema of name when the rules of the object at idx run
 * and the walk kept its fields: i, or -2 when the field is absent; -1 when
 * the walk did not keep it (read the table then). */
static long kept_field(vctx *ctx, int idx, const char *name) {
  if (ctx->obj && idx == ctx->obj_idx) {
    const vfield *f = named_field(ctx, ctx->obj, name);
    long i = f ? f - ctx->obj->fields : V_KEPT;
    if (i < V_KEPT) {
      return ((ctx->seen >> i) & 1u) ? i : -2;
    }
  }
  return -1;
}

void v_get(vctx *ctx, int idx, const char *name) {
  long i = kept_field(ctx, idx, name);
  if (i >= 0) {
    lua_pushvalue(ctx->L, ctx->fields->vals[i]);
  } else if (i == -2) {
    lua_pushnil(ctx->L);
  } else {
    lua_pushstring(ctx->L, name);
    lua_rawget(ctx->L, idx);
  }
}

const char *v_get_string(vctx *ctx, int idx, const char *name, size_t *len) {
  lua_State *L = ctx->L;
  long i = kept_field(ctx, idx, name);
  const char *s = NULL;
  if (i >= 0) {
    const fields_seen *fs = ctx->fields;
    if (fs->strs[i]) {
      *len = fs->slens[i];
      return fs->strs[i];
    }
    return fs->types[i] == LUA_TSTRING ? lua_tolstring(L, fs->vals[i], len) : NULL;
  }
  if (i == -2) {
    return NULL;
  }
  v_get(ctx, idx, name);
  if (lua_type(L, -1) == LUA_TSTRING) {
    s = lua_tolstring(L, -1, len);
  }
  lua_pop(L, 1);
  return s;
}

int v_get_boolean(vctx *ctx, int idx, const char *name) {
  lua_State *L = ctx->L;
  long i = kept_field(ctx, idx, name);
  int b = -1;
  if (i >= 0) {
    const fields_seen *fs = ctx->fields;
    return fs->types[i] == LUA_TBOOLEAN ? lua_toboolean(L, fs->vals[i]) : -1;
  }
  if (i == -2) {
    return -1;
  }
  v_get(ctx, idx, name);
  if (lua_type(L, -1) == LUA_TBOOLEAN) {
    b = lua_toboolean(L, -1);
  }
  lua_pop(L, 1);
  return b;
}

int v_has(vctx *ctx, int idx, const char *name) {
  int present;
  /* Inside an object's rules, its known fields were seen already. */
  if (ctx->obj && idx == ctx->obj_idx) {
    const vfield *f = named_field(ctx, ctx->obj, name);
    if (f && f - ctx->obj->fields < 64) {
      return (int)((ctx->seen >> (f - ctx->obj->fields)) & 1u);
    }
  }
  lua_pushstring(ctx->L, name);
  lua_rawget(ctx->L, idx);
  present = !lua_isnil(ctx->L, -1);
  lua_pop(ctx->L, 1);
  return present;
}

int v_is(vctx *ctx, int idx, const char *name, int luatype) {
  int t;
  lua_pushstring(ctx->L, name);
  lua_rawget(ctx->L, idx);
  t = lua_type(ctx->L, -1);
  lua_pop(ctx->L, 1);
  return t == luatype;
}
