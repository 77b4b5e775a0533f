/* How the validator reports a problem: the field path it is at, and the
 * {field = ..., message = ...} entry appended to the list of problems. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "text.h"
#include "walk.h"

/* ---- paths ------------------------------------------------------------ */

int v_path_push(vctx *ctx, const char *name) {
  return v_path_push_lstr(ctx, name, strlen(name));
}


static void path_append(char *buf, size_t size, size_t *len, const char *s, size_t n) {
  size_t room = size - 1 - *len;
  if (n > room) {
    n = room;
  }
  memcpy(buf + *len, s, n);
  *len += n;
}

/* "dialPlan[2].customers[1].number"; long names are cut short. */
static size_t render_path(const vctx *ctx, char *buf, size_t size) {
  size_t len = 0;
  for (int i = 0; i < ctx->nsteps; i++) {
    const vstep *st = &ctx->steps[i];
    if (st->key) {
      if (len > 0) {
        path_append(buf, size, &len, ".", 1);
      }
      if (st->len > NAME_SHOWN) {
        path_append(buf, size, &len, st->key, NAME_SHOWN);
        path_append(buf, size, &len, "...", 3);
      } else {
        path_append(buf, size, &len, st->key, st->len);
      }
    } else {
      char num[32];
      int n = snprintf(num, sizeof num, "[%ld]", st->index);
      path_append(buf, size, &len, num, (size_t)n);
    }
  }
  buf[len] = '\0';
  return len;
}

/* ---- errors ----------------------------------------------------------- */

static void add_error(vctx *ctx, const char *fmt, va_list ap) {
  lua_State *L = ctx->L;
  char msg[MSG_MAX];
  va_list first;
  int n;
  ctx->nerr++;
  if (ctx->nerr > ctx->max_errors) {
    return;
  }
  luaL_checkstack(L, 5, "validator");
  va_copy(first, ap);
  n = vsnprintf(msg, sizeof msg, fmt, first);
  va_end(first);
  if (n < 0) {
    n = 0;
    msg[0] = '\0';
  } else if ((size_t)n >= sizeof msg) {
    /* A message longer than msg (a long list of values, a quoted value),
     * written whole into memory that Lua owns. */
    char *whole = lua_newuserdata(L, (size_t)n + 1);
    vsnprintf(whole, (size_t)n + 1, fmt, ap);
    lua_pushlstring(L, whole, (size_t)n);
    lua_remove(L, -2);
  }
  if (n < (int)sizeof msg) {
    lua_pushlstring(L, msg, (size_t)n);
  }
  if (ctx->nerr == 1) {
    /* The list is made on the first problem, in the slot kept for it. */
    lua_newtable(L);
    lua_replace(L, ctx->errors);
  }
  lua_createtable(L, 0, 2);
  {
    char path[V_PATH_MAX];
    size_t len = render_path(ctx, path, sizeof path);
    lua_pushlstring(L, path, len);
  }
  lua_setfield(L, -2, "field");
  lua_pushvalue(L, -2);
  lua_setfield(L, -2, "message");
  lua_rawseti(L, ctx->errors, ctx->nerr);
  lua_pop(L, 1);
}

void v_error(vctx *ctx, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  add_error(ctx, fmt, ap);
  va_end(ap);
}

void v_error_at(vctx *ctx, const char *name, const char *fmt, ...) {
  va_list ap;
  int old = v_path_push(ctx, name);
  va_start(ap, fmt);
  add_error(ctx, fmt, ap);
  va_end(ap);
  v_path_pop(ctx, old);
}

void v_error_at_index(vctx *ctx, const char *name, long index, const char *child,
                      const char *fmt, ...) {
  va_list ap;
  int old = v_path_push(ctx, name);
  v_path_push_index(ctx, index);
  if (child) {
    v_path_push(ctx, child);
  }
  va_start(ap, fmt);
  add_error(ctx, fmt, ap);
  va_end(ap);
  v_path_pop(ctx, old);
}
