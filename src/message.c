/* What goes between Lua and a transfer: a request read from Lua (a request
 * table, or the values of a call, which makes no table) and an answer pushed
 * back (its headers made of the head text only when they are asked for).
 * Lua code may run here (any allocation can run a finalizer): nothing here
 * touches curl. */
#include <string.h>

#include "http.h"

#define RESPONSE_MT "campaign.http.response"

/* ---- requests ------------------------------------------------------------- */

/* Pushes the field name of the table at idx (an absolute index), read raw:
 * no metamethod runs. Returns its type. */
static int raw_field(lua_State *L, int idx, const char *name) {
  lua_pushstring(L, name);
  lua_rawget(L, idx);
  return lua_type(L, -1);
}

/* The number field name of the table at idx (read raw), or dflt when it is
 * nil; raises for another type. */
static double raw_number(lua_State *L, int idx, const char *name, double dflt) {
  double v = dflt;
  if (raw_field(L, idx, name) != LUA_TNIL) {
    if (lua_type(L, -1) != LUA_TNUMBER) {
      luaL_error(L, "campaign: option %s must be a number", name);
    }
    v = lua_tonumber(L, -1);
  }
  lua_pop(L, 1);
  return v;
}

/* Appends "name: value" for every pair of the table on top of the stack to
 * *list (which starts with "Expect:"). Raises on wrong use; *list belongs to
 * the caller's box, so an error leaks nothing. */
void headers_read(lua_State *L, struct curl_slist **list) {
  /* curl would otherwise add "Expect: 100-continue" for large bodies. */
  *list = curl_slist_append(NULL, "Expect:");
  if (!*list) {
    luaL_error(L, "campaign: out of memory");
    return;
  }
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    struct curl_slist *next;
    if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING) {
      luaL_error(L, "campaign: header names and values must be strings");
      return;
    }
    lua_pushfstring(L, "%s: %s", lua_tostring(L, -2), lua_tostring(L, -1));
    next = curl_slist_append(*list, lua_tostring(L, -1));
    if (!next) {
      luaL_error(L, "campaign: out of memory");
      return;
    }
    *list = next;
    lua_pop(L, 2);
  }
}

static void headers_read_empty(lua_State *L, struct curl_slist **list) {
  *list = curl_slist_append(NULL, "Expect:");
  if (!*list) {
    luaL_error(L, "campaign: out of memory");
  }
}

/* The request's body, the value at idx (absolute): nil, or a string that
 * stays there until the call returns. */
static void request_body(lua_State *L, int idx, request *rq) {
  rq->body = NULL;
  rq->body_len = 0;
  if (!lua_isnil(L, idx)) {
    if (!lua_isstring(L, idx)) {
      luaL_error(L, "campaign: request body must be a string");
      return;
    }
    rq->body = lua_tolstring(L, idx, &rq->body_len);
  }
  rq->body_idx = idx;
}

/* The request's headers, the value at idx (absolute): the slot of a header
 * set (handle:headers), {name = value} (a list into *list), or nil. */
static void request_headers(lua_State *L, int idx, request *rq, struct curl_slist **list) {
  rq->header_set = 0;
  switch (lua_type(L, idx)) {
  case LUA_TNUMBER: {
    lua_Number slot = lua_tonumber(L, idx);
    if (!(slot >= 1 && slot <= HTTP_HEADER_SETS) || slot != (lua_Number)(int)slot) {
      luaL_error(L, "campaign: request headers: no header set %s", lua_tostring(L, idx));
      return;
    }
    rq->header_set = (int)slot;
    break;
  }
  case LUA_TTABLE:
    lua_pushvalue(L, idx);
    headers_read(L, list);
    lua_pop(L, 1);
    break;
  default:
    headers_read_empty(L, list);
    break;
  }
}

/* Reads the request table at idx (absolute): method, url, headers, body,
 * timeout, connect_timeout, no_resend. Raw access, so no metamethod of the
 * table runs; the strings stay on the stack and a header list goes into
 * *list (which the caller frees, even after an error). Raises on wrong use. */
void request_read(lua_State *L, int idx, request *rq, struct curl_slist **list) {
  luaL_checktype(L, idx, LUA_TTABLE);
  rq->method = raw_field(L, idx, "method") == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
  rq->url = raw_field(L, idx, "url") == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
  if (!rq->method || !rq->url) {
    luaL_error(L, "campaign: request needs method and url (strings)");
    return;
  }
  raw_field(L, idx, "body");
  request_body(L, lua_gettop(L), rq);
  rq->timeout = raw_number(L, idx, "timeout", 30);
  rq->connect_timeout = raw_number(L, idx, "connect_timeout", 10);
  raw_field(L, idx, "no_resend");
  rq->no_resend = lua_toboolean(L, -1);
  lua_pop(L, 1);
  raw_field(L, idx, "headers");
  request_headers(L, lua_gettop(L), rq, list);
  lua_pop(L, 1);
}

/* The number at idx, or dflt when it is nil; raises for another type. */
static double arg_number(lua_State *L, int idx, const char *name, double dflt) {
  if (lua_isnil(L, idx)) {
    return dflt;
  }
  if (lua_type(L, idx) != LUA_TNUMBER) {
    luaL_error(L, "campaign: option %s must be a number", name);
  }
  return lua_tonumber(L, idx);
}

/* The request as the values from idx on: method, url, headers, body,
 * timeout, connect_timeout, no_resend (a call makes no table for them). */
void request_args(lua_State *L, int idx, request *rq, struct curl_slist **list) {
  rq->method = lua_type(L, idx) == LUA_TSTRING ? lua_tostring(L, idx) : NULL;
  rq->url = lua_type(L, idx + 1) == LUA_TSTRING ? lua_tostring(L, idx + 1) : NULL;
  if (!rq->method || !rq->url) {
    luaL_error(L, "campaign: request needs method and url (strings)");
    return;
  }
  request_body(L, idx + 3, rq);
  rq->timeout = arg_number(L, idx + 4, "timeout", 30);
  rq->connect_timeout = arg_number(L, idx + 5, "connect_timeout", 10);
  rq->no_resend = lua_toboolean(L, idx + 6);
  request_headers(L, idx + 2, rq, list);
}

/* ---- answers -------------------------------------------------------------- */

/* Pushes the headers of a response head (the text curl gave, status line
 * included) as {name = value}: names in lower case, repeated ones joined. */
static void push_headers(lua_State *L, const char *p, size_t len) {
  const char *end = p + len;
  lua_newtable(L);
  while (p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    const char *line_end = eol ? eol : end;
    const char *colon = memchr(p, ':', (size_t)(line_end - p));
    if (colon && colon > p && memcmp(p, "HTTP/", 5) != 0) {
      const char *v = colon + 1, *ve = line_end;
      luaL_Buffer name;
      while (v < ve && (*v == ' ' || *v == '\t')) v++;
      while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t')) ve--;
      luaL_buffinit(L, &name);
      for (const char *c = p; c < colon; c++) {
        luaL_addchar(&name, (*c >= 'A' && *c <= 'Z') ? (char)(*c + 32) : *c);
      }
      luaL_pushresult(&name);
      lua_pushvalue(L, -1);
      lua_rawget(L, -3);
      if (lua_isstring(L, -1)) {
        /* Repeated headers are joined, as HTTP allows. */
        lua_pushliteral(L, ", ");
        lua_pushlstring(L, v, (size_t)(ve - v));
        lua_concat(L, 3);
      } else {
        lua_pop(L, 1);
        lua_pushlstring(L, v, (size_t)(ve - v));
      }
      lua_rawset(L, -3);
    }
    p = line_end + 1;
  }
}

/* __index of a response: its headers table, made from the head text the
 * first time it is asked for (most answers are read for their status and
 * body alone). */
static int response_index(lua_State *L) {
  size_t len;
  const char *head;
  if (lua_type(L, 2) != LUA_TSTRING || strcmp(lua_tostring(L, 2), "headers") != 0) {
    return 0;
  }
  lua_pushliteral(L, "_head");
  lua_rawget(L, 1);
  head = lua_tolstring(L, -1, &len);
  push_headers(L, head ? head : "", head ? len : 0);
  lua_pushliteral(L, "headers");
  lua_pushvalue(L, -2);
  lua_rawset(L, 1);
  return 1;
}

/* Pushes {status, headers, body} (headers read from the head text when
 * first asked for), or nil, kind ("timeout" | "transport"),
 * message, sent (whether the provider may have got the request), status. */
int outcome_push(lua_State *L, const outcome *o) {
  if (o->failed) {
    lua_pushnil(L);
    lua_pushstring(L, o->timed_out ? "timeout" : "transport");
    lua_pushstring(L, o->message);
    lua_pushboolean(L, o->sent);
    lua_pushinteger(L, (lua_Integer)o->status);
    return 5;
  }
  lua_createtable(L, 0, 4);
  lua_pushinteger(L, (lua_Integer)o->status);
  lua_setfield(L, -2, "status");
  lua_pushlstring(L, o->body.data ? o->body.data : "", o->body.len);
  lua_setfield(L, -2, "body");
  /* The headers are made of it when asked for (response_index). */
  lua_pushlstring(L, o->head.data ? o->head.data : "", o->head.len);
  lua_setfield(L, -2, "_head");
  luaL_getmetatable(L, RESPONSE_MT);
  lua_setmetatable(L, -2);
  return 1;
}

void campaign_response_open(lua_State *L) {
  luaL_newmetatable(L, RESPONSE_MT);
  lua_pushcfunction(L, response_index);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
}
