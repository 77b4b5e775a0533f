/* The libcurl transport: one easy handle per client, reused across calls so
 * that connections and TLS sessions are kept. Everything curl needs to free
 * lives in the userdata, so a Lua error at any point leaks nothing: __gc
 * (and close, which is the same and safe twice) releases it.
 *
 * Any Lua allocation may run a finalizer, and a finalizer may run any Lua
 * code, handle:close() or another call on the same handle included. So a
 * call does its Lua work (reading the request, pushing results) apart from
 * its curl work: what it reads is kept alive on the stack, what it builds
 * belongs to a box (a userdata on the stack, freed by __gc on an error),
 * and the handle is checked to be open again before curl is touched.
 * The curl work itself is in transfer.c; reading a request from Lua and
 * pushing an answer back, in message.c. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core.h"
#include "http.h"

#define HTTP_MT "campaign.http"
#define BOX_MT "campaign.http.box"
#define DEFAULT_MAX_BODY (8u * 1024u * 1024u)

/* What a call owns while Lua code may run: the header list being built and
 * the outcomes being pushed. A userdata on the stack: a Lua error frees it
 * through __gc, a normal return at once (box_clear). */
typedef struct box {
  struct curl_slist *headers;
  outcome *done;
  int n, cap;
} box;

/* A client's transport: one handle for calls one at a time, and a pool of
 * handles on a multi handle for batches (created on first use, copied from
 * the first handle's settings). */
typedef struct http {
  transfer main;
  CURLM *multi;
  transfer **pool;
  int npool, cap, active;
  /* Header lists set once (handle:headers) and sent by every request that
   * names their slot: built once per client, not per attempt. */
  struct curl_slist *header_sets[HTTP_HEADER_SETS];
} http;

static http *check_http(lua_State *L) {
  http *h = luaL_checkudata(L, 1, HTTP_MT);
  if (!h->main.curl) {
    luaL_error(L, "campaign: the HTTP handle is closed");
  }
  return h;
}

/* After Lua code may have run (any allocation can run a finalizer): the
 * handle must still be open before curl is touched. */
static void check_open(lua_State *L, const http *h) {
  if (!h->main.curl) {
    luaL_error(L, "campaign: the HTTP handle was closed during the call");
  }
}

static void cancel_all(lua_State *L, http *h) {
  for (int i = 0; i < h->npool; i++) {
    transfer *t = h->pool[i];
    if (t->id != 0) {
      curl_multi_remove_handle(h->multi, t->curl);
      transfer_finish(L, t);
    }
  }
  h->active = 0;
}

/* Runs no Lua code, so it is safe from any point of another call. */
static int http_close(lua_State *L) {
  http *h = luaL_checkudata(L, 1, HTTP_MT);
  if (h->multi) {
    cancel_all(L, h);
  }
  for (int i = 0; i < h->npool; i++) {
    transfer_free(L, h->pool[i]);
    free(h->pool[i]);
  }
  free(h->pool);
  h->pool = NULL;
  h->npool = h->cap = 0;
  if (h->multi) {
    curl_multi_cleanup(h->multi);
    h->multi = NULL;
  }
  transfer_free(L, &h->main);
  for (int i = 0; i < HTTP_HEADER_SETS; i++) {
    curl_slist_free_all(h->header_sets[i]);
    h->header_sets[i] = NULL;
  }
  return 0;
}

/* ---- boxes ---------------------------------------------------------------- */

static void box_clear(box *b) {
  if (b->headers) {
    curl_slist_free_all(b->headers);
    b->headers = NULL;
  }
  for (int i = 0; i < b->n; i++) {
    buffer_free(&b->done[i].body);
    buffer_free(&b->done[i].head);
  }
  free(b->done);
  b->done = NULL;
  b->n = b->cap = 0;
}

static int box_gc(lua_State *L) {
  box_clear(luaL_checkudata(L, 1, BOX_MT));
  return 0;
}

static box *box_new(lua_State *L) {
  box *b = lua_newuserdata(L, sizeof *b);
  memset(b, 0, sizeof *b);
  luaL_getmetatable(L, BOX_MT);
  lua_setmetatable(L, -2);
  return b;
}

/* Room for n more outcomes, so that taking them cannot fail. */
static void box_reserve(lua_State *L, box *b, int n) {
  if (b->n + n > b->cap) {
    int cap = b->n + n;
    outcome *p = realloc(b->done, (size_t)cap * sizeof *p);
    if (!p) {
      luaL_error(L, "campaign: out of memory");
      return;
    }
    b->done = p;
    b->cap = cap;
  }
}

/* ---- options and requests ------------------------------------------------- */

/* The string option name of the table at idx, or NULL. The value is left on
 * the stack, which keeps it alive while the caller uses it. */
static const char *opt_string(lua_State *L, int idx, const char *name) {
  lua_getfield(L, idx, name);
  if (lua_isnil(L, -1)) {
    return NULL;
  }
  if (lua_type(L, -1) != LUA_TSTRING) {
    luaL_error(L, "campaign: option %s must be a string", name);
  }
  return lua_tostring(L, -1);
}

static double opt_number(lua_State *L, int idx, const char *name, double dflt) {
  double v = dflt;
  lua_getfield(L, idx, name);
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TNUMBER) {
      luaL_error(L, "campaign: option %s must be a number", name);
    }
    v = lua_tonumber(L, -1);
  }
  lua_pop(L, 1);
  return v;
}

static int opt_bool(lua_State *L, int idx, const char *name, int dflt) {
  int v = dflt;
  lua_getfield(L, idx, name);
  if (!lua_isnil(L, -1)) {
    v = lua_toboolean(L, -1);
  }
  lua_pop(L, 1);
  return v;
}

/* core.http{ssl_verify, ca_file, ca_path, proxy, no_proxy, user_agent,
 *           max_body} -> handle */
static int http_new(lua_State *L) {
  http *h;
  http_options o;
  double max_body;
  CURL *c;
  luaL_checktype(L, 1, LUA_TTABLE);
  o.ca_file = opt_string(L, 1, "ca_file");
  o.ca_path = opt_string(L, 1, "ca_path");
  o.proxy = opt_string(L, 1, "proxy");
  o.no_proxy = opt_string(L, 1, "no_proxy");
  o.user_agent = opt_string(L, 1, "user_agent");
  o.verify = opt_bool(L, 1, "ssl_verify", 1);
  max_body = opt_number(L, 1, "max_body", DEFAULT_MAX_BODY);
  if (!(max_body >= 1 && max_body <= 1e9)) {
    return luaL_error(L, "campaign: max_body must be between 1 and 10^9 bytes");
  }
  o.max_body = (size_t)max_body;

  h = lua_newuserdata(L, sizeof *h);
  memset(h, 0, sizeof *h);
  h->main.send_ref = LUA_NOREF;
  luaL_getmetatable(L, HTTP_MT);
  lua_setmetatable(L, -2);
  c = curl_easy_init();
  if (!c) {
    return luaL_error(L, "campaign: curl_easy_init failed");
  }
  transfer_bind(&h->main, c, o.max_body);
  transfer_configure(c, &o);
  return 1;
}

/* ---- results and calls ---------------------------------------------------- */

/* The header set a request names, or NULL when it has its own list.
 * Raises for a slot never set. */
static struct curl_slist *header_set(lua_State *L, const http *h, const request *rq) {
  struct curl_slist *set;
  if (rq->header_set == 0) {
    return NULL;
  }
  set = h->header_sets[rq->header_set - 1];
  if (!set) {
    luaL_error(L, "campaign: request headers: header set %d was never set", rq->header_set);
  }
  return set;
}

/* handle:headers(slot, {name = value}): a header list built once, sent by
 * every request whose headers field is slot (1 to HTTP_HEADER_SETS). A
 * slot is set once: requests under way may be using it. */
static int http_headers(lua_State *L) {
  http *h = check_http(L);
  lua_Integer slot = luaL_checkinteger(L, 2);
  box *b;
  luaL_argcheck(L, slot >= 1 && slot <= HTTP_HEADER_SETS, 2, "slot must be 1 to 4");
  luaL_checktype(L, 3, LUA_TTABLE);
  b = box_new(L);
  lua_pushvalue(L, 3);
  headers_read(L, &b->headers);
  lua_pop(L, 1);
  /* Reading may have run Lua code (a finalizer): look again. */
  check_open(L, h);
  if (h->header_sets[slot - 1]) {
    return luaL_error(L, "campaign: header set %d is set already", (int)slot);
  }
  h->header_sets[slot - 1] = b->headers;
  b->headers = NULL;
  return 0;
}

/* handle:perform(req), or handle:perform(method, url, headers, body,
 * timeout, connect_timeout, no_resend) -> the result of outcome_push. */
static int http_perform(lua_State *L) {
  http *h = check_http(L);
  box *b;
  request rq;
  transfer *t = &h->main;
  CURLcode rc;
  int n;
  lua_settop(L, 8);
  b = box_new(L);
  if (lua_type(L, 2) == LUA_TTABLE) {
    request_read(L, 2, &rq, &b->headers);
  } else {
    request_args(L, 2, &rq, &b->headers);
  }
  box_reserve(L, b, 1);
  check_open(L, h);
  request_attach(L, t, &rq, &b->headers, header_set(L, h, &rq));
  rc = curl_easy_perform(t->curl);
  outcome_take(t, rc, &b->done[b->n++]);
  transfer_finish(L, t);
  n = outcome_push(L, &b->done[0]);
  if (h->main.curl) {
    outcome_recycle(&h->main, &b->done[0]);
  }
  box_clear(b);
  return n;
}

static transfer *idle_transfer(lua_State *L, http *h) {
  transfer *t;
  CURL *c;
  for (int i = 0; i < h->npool; i++) {
    if (h->pool[i]->id == 0) {
      return h->pool[i];
    }
  }
  if (h->npool == h->cap) {
    int cap = h->cap ? h->cap * 2 : 8;
    transfer **pool = realloc(h->pool, (size_t)cap * sizeof *pool);
    if (!pool) {
      luaL_error(L, "campaign: out of memory");
      return NULL;
    }
    h->pool = pool;
    h->cap = cap;
  }
  t = calloc(1, sizeof *t);
  if (!t) {
    luaL_error(L, "campaign: out of memory");
    return NULL;
  }
  c = curl_easy_duphandle(h->main.curl);
  if (!c) {
    free(t);
    luaL_error(L, "campaign: curl_easy_duphandle failed");
    return NULL;
  }
  transfer_bind(t, c, h->main.max_body);
  h->pool[h->npool++] = t;
  return t;
}

/* handle:add(id, req): starts req in the background (batches); id is a
 * positive integer the caller gets back from wait. */
static int http_add(lua_State *L) {
  http *h = check_http(L);
  lua_Integer id = luaL_checkinteger(L, 2);
  request rq;
  transfer *t;
  box *b;
  luaL_argcheck(L, id > 0, 2, "id must be positive");
  b = box_new(L);
  request_read(L, 3, &rq, &b->headers);
  /* From here on no Lua code runs until the transfer is in the multi. */
  check_open(L, h);
  if (!h->multi) {
    h->multi = curl_multi_init();
    if (!h->multi) {
      return luaL_error(L, "campaign: curl_multi_init failed");
    }
  }
  t = idle_transfer(L, h);
  request_attach(L, t, &rq, &b->headers, header_set(L, h, &rq));
  if (curl_multi_add_handle(h->multi, t->curl) != CURLM_OK) {
    transfer_finish(L, t);
    return luaL_error(L, "campaign: curl_multi_add_handle failed");
  }
  t->id = id;
  h->active++;
  return 0;
}

/* Takes the transfers that ended into the box (room for all of them was
 * reserved). Runs no Lua code. */
static void take_ended(lua_State *L, http *h, box *b) {
  CURLMsg *msg;
  int left;
  while (b->n < b->cap && (msg = curl_multi_info_read(h->multi, &left)) != NULL) {
    transfer *t = NULL;
    CURLcode rc;
    if (msg->msg != CURLMSG_DONE) {
      continue;
    }
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
    rc = msg->data.result;
    curl_multi_remove_handle(h->multi, t->curl);
    h->active--;
    outcome_take(t, rc, &b->done[b->n++]);
    transfer_finish(L, t);
  }
}

/* Drives the batch until a transfer ends or limit seconds pass. */
static void wait_ended(lua_State *L, http *h, box *b, double limit) {
  struct timespec start, now;
  /* At most every transfer under way ends: taking them cannot fail. */
  box_reserve(L, b, h->active);
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    int running;
    double spent;
    curl_multi_perform(h->multi, &running);
    take_ended(L, h, b);
    if (b->n > 0 || h->active == 0) {
      break;
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    spent = (double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9;
    if (spent >= limit) {
      break;
    }
    curl_multi_poll(h->multi, NULL, 0, (int)((limit - spent) * 1000 + 1), NULL);
  }
}

/* Pushes the outcome as an item of wait's list: outcome_push's table with
 * its id, or a table of its failure. */
static void push_ended(lua_State *L, const outcome *o) {
  int top = lua_gettop(L);
  if (outcome_push(L, o) == 1) {
    lua_pushinteger(L, o->id);
    lua_setfield(L, -2, "id");
    return;
  }
  lua_createtable(L, 0, 5);
  lua_pushinteger(L, o->id);
  lua_setfield(L, -2, "id");
  lua_pushvalue(L, top + 2);
  lua_setfield(L, -2, "kind");
  lua_pushvalue(L, top + 3);
  lua_setfield(L, -2, "message");
  lua_pushvalue(L, top + 4);
  lua_setfield(L, -2, "sent");
  lua_pushvalue(L, top + 5);
  lua_setfield(L, -2, "status");
  lua_replace(L, top + 1);
  lua_settop(L, top + 1);
}

/* handle:wait([seconds]) -> list of {id = id, status, headers, body} or
 * {id = id, kind, message, sent, status}: the transfers that ended, waiting
 * at most seconds (default 1) for at least one. */
static int http_wait(lua_State *L) {
  http *h = check_http(L);
  double limit = luaL_optnumber(L, 2, 1.0);
  box *b = box_new(L);
  check_open(L, h);
  if (h->multi && h->active > 0) {
    wait_ended(L, h, b, limit);
  }
  /* Lua code may run from here on: only the box is read. */
  lua_createtable(L, b->n, 0);
  for (int i = 0; i < b->n; i++) {
    push_ended(L, &b->done[i]);
    lua_rawseti(L, -2, i + 1);
  }
  /* The pool may have changed meanwhile: only what is there now is used. */
  for (int i = 0, k = 0; i < h->npool && k < b->n; i++) {
    if (h->pool[i]->id == 0) {
      outcome_recycle(h->pool[i], &b->done[k++]);
    }
  }
  box_clear(b);
  return 1;
}

/* handle:cancel(): drops every transfer of a batch. */
static int http_cancel(lua_State *L) {
  http *h = check_http(L);
  if (h->multi) {
    cancel_all(L, h);
  }
  return 0;
}

static const luaL_Reg http_methods[] = {
    {"headers", http_headers},
    {"perform", http_perform},
    {"add", http_add},
    {"wait", http_wait},
    {"cancel", http_cancel},
    {"close", http_close},
    {NULL, NULL},
};

void campaign_http_open(lua_State *L) {
  luaL_newmetatable(L, BOX_MT);
  lua_pushcfunction(L, box_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  campaign_response_open(L);
  luaL_newmetatable(L, HTTP_MT);
  lua_pushcfunction(L, http_close);
  lua_setfield(L, -2, "__gc");
  lua_newtable(L);
  luaL_setfuncs_compat(L, http_methods);
  lua_setfield(L, -2, "__index");
  lua_pushliteral(L, "campaign.http");
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
  lua_pushcfunction(L, http_new);
  lua_setfield(L, -2, "http");
}
