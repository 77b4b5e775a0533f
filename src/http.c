/* The libcurl transport: one easy handle per client, reused across calls so
 * that connections and TLS sessions are kept. Everything curl needs to free
 * lives in the userdata, so a Lua error at any point leaks nothing: __gc
 * (and close, which is the same and safe twice) releases it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "core.h"

#define HTTP_MT "campaign.http"
#define DEFAULT_MAX_BODY (8u * 1024u * 1024u)
#define KEEP_CAPACITY (1u * 1024u * 1024u)

typedef struct buffer {
  char *data;
  size_t len, cap;
} buffer;

/* One request in flight on one easy handle, with everything it owns. */
typedef struct transfer {
  CURL *curl;
  struct curl_slist *headers;   /* the request headers of the call under way */
  buffer body, head;
  size_t max_body;
  int overflow;
  /* The request body, read by curl through on_read. The string stays alive
   * in the caller's request table until the transfer ends. */
  const char *send;
  size_t send_len, send_pos;
  int no_resend;                /* the request must not be sent twice */
  lua_Integer id;               /* batches: the caller's id; 0 when idle */
  char errbuf[CURL_ERROR_SIZE];
} transfer;

/* A client's transport: one handle for calls one at a time, and a pool of
 * handles on a multi handle for batches (created on first use, copied from
 * the first handle's settings). */
typedef struct http {
  transfer main;
  CURLM *multi;
  transfer **pool;
  int npool, cap, active;
} http;

/* A connection idle for a while may be closed by the server at any moment
 * (Node's default keep-alive timeout is 5 s): a request that must not be
 * repeated does not go over one idle for 2 s or more. curl compares whole
 * seconds with ">", so 1 means 2 s. */
#define STALE_AFTER 1L
#define DEFAULT_MAXAGE 118L

static int buffer_add(buffer *b, const char *data, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 16384;
    char *p;
    while (cap < b->len + n + 1) {
      cap *= 2;
    }
    p = realloc(b->data, cap);
    if (!p) {
      return 0;
    }
    b->data = p;
    b->cap = cap;
  }
  memcpy(b->data + b->len, data, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 1;
}

static void buffer_reset(buffer *b) {
  if (b->cap > KEEP_CAPACITY) {
    free(b->data);
    b->data = NULL;
    b->cap = 0;
  }
  b->len = 0;
}

static void buffer_free(buffer *b) {
  free(b->data);
  b->data = NULL;
  b->cap = b->len = 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud) {
  transfer *h = ud;
  size_t n = size * nmemb;
  if (h->body.len + n > h->max_body) {
    h->overflow = 1;
    return 0;
  }
  return buffer_add(&h->body, data, n) ? n : 0;
}

static size_t on_read(char *dest, size_t size, size_t nmemb, void *ud) {
  transfer *h = ud;
  size_t n = size * nmemb, left = h->send_len - h->send_pos;
  if (n > left) {
    n = left;
  }
  memcpy(dest, h->send + h->send_pos, n);
  h->send_pos += n;
  return n;
}

/* curl rewinds the body to send it again when a reused connection died
 * before any answer came back. That is right for requests that are safe to
 * repeat; for the others (a create) the first copy may have been acted on,
 * so the transfer fails instead and the caller learns the outcome is
 * unknown. */
static int on_seek(void *ud, curl_off_t offset, int origin) {
  transfer *h = ud;
  if (h->no_resend || origin != SEEK_SET || offset < 0 || (size_t)offset > h->send_len) {
    return CURL_SEEKFUNC_CANTSEEK;
  }
  h->send_pos = (size_t)offset;
  return CURL_SEEKFUNC_OK;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud) {
  transfer *h = ud;
  size_t n = size * nmemb;
  /* A new status line starts a new response (after 100 Continue, say). */
  if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
    h->head.len = 0;
  }
  if (h->head.len + n > 256u * 1024u) {
    return 0;
  }
  return buffer_add(&h->head, data, n) ? n : 0;
}

static http *check_http(lua_State *L) {
  http *h = luaL_checkudata(L, 1, HTTP_MT);
  if (!h->main.curl) {
    luaL_error(L, "campaign: the HTTP handle is closed");
  }
  return h;
}

static void transfer_finish(transfer *t) {
  if (t->headers) {
    curl_slist_free_all(t->headers);
    t->headers = NULL;
  }
  if (t->curl) {
    curl_easy_setopt(t->curl, CURLOPT_HTTPHEADER, NULL);
  }
  t->send = NULL;
  t->id = 0;
  buffer_reset(&t->body);
  buffer_reset(&t->head);
}

static void transfer_free(transfer *t) {
  transfer_finish(t);
  if (t->curl) {
    curl_easy_cleanup(t->curl);
    t->curl = NULL;
  }
  buffer_free(&t->body);
  buffer_free(&t->head);
}

/* The callbacks and buffers of a handle point at its own transfer. */
static void transfer_bind(transfer *t, CURL *c, size_t max_body) {
  t->curl = c;
  t->max_body = max_body;
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, t->errbuf);
  curl_easy_setopt(c, CURLOPT_READDATA, t);
  curl_easy_setopt(c, CURLOPT_SEEKDATA, t);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
  curl_easy_setopt(c, CURLOPT_PRIVATE, (void *)t);
}

static void cancel_all(http *h) {
  for (int i = 0; i < h->npool; i++) {
    transfer *t = h->pool[i];
    if (t->id != 0) {
      curl_multi_remove_handle(h->multi, t->curl);
      transfer_finish(t);
    }
  }
  h->active = 0;
}

static int http_close(lua_State *L) {
  http *h = luaL_checkudata(L, 1, HTTP_MT);
  if (h->multi) {
    cancel_all(h);
  }
  for (int i = 0; i < h->npool; i++) {
    transfer_free(h->pool[i]);
    free(h->pool[i]);
  }
  free(h->pool);
  h->pool = NULL;
  h->npool = h->cap = 0;
  if (h->multi) {
    curl_multi_cleanup(h->multi);
    h->multi = NULL;
  }
  transfer_free(&h->main);
  return 0;
}

static const char *opt_string(lua_State *L, int idx, const char *name) {
  const char *s = NULL;
  lua_getfield(L, idx, name);
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TSTRING) {
      luaL_error(L, "campaign: option %s must be a string", name);
    }
    s = lua_tostring(L, -1);
  }
  lua_pop(L, 1); /* the string stays alive: the options table holds it */
  return s;
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

static long to_ms(double seconds) {
  if (!(seconds > 0)) {
    return 0;                 /* NaN too: converting it to long is undefined */
  }
  if (seconds > 86400.0) {
    seconds = 86400.0;
  }
  return (long)(seconds * 1000.0 + 0.5);
}

/* core.http{ssl_verify, ca_file, ca_path, proxy, no_proxy, user_agent,
 *           max_body} -> handle */
static int http_new(lua_State *L) {
  http *h;
  const char *ca_file, *ca_path, *proxy, *no_proxy, *agent;
  int verify;
  double max_body;
  CURL *c;
  luaL_checktype(L, 1, LUA_TTABLE);
  ca_file = opt_string(L, 1, "ca_file");
  ca_path = opt_string(L, 1, "ca_path");
  proxy = opt_string(L, 1, "proxy");
  no_proxy = opt_string(L, 1, "no_proxy");
  agent = opt_string(L, 1, "user_agent");
  verify = opt_bool(L, 1, "ssl_verify", 1);
  max_body = opt_number(L, 1, "max_body", DEFAULT_MAX_BODY);
  if (!(max_body >= 1 && max_body <= 1e9)) {
    return luaL_error(L, "campaign: max_body must be between 1 and 10^9 bytes");
  }

  h = lua_newuserdata(L, sizeof *h);
  memset(h, 0, sizeof *h);
  luaL_getmetatable(L, HTTP_MT);
  lua_setmetatable(L, -2);
  c = curl_easy_init();
  if (!c) {
    return luaL_error(L, "campaign: curl_easy_init failed");
  }
  transfer_bind(&h->main, c, (size_t)max_body);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  /* Redirects are never followed: the key would travel with them. */
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
  curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
  if (ca_file) curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
  if (ca_path) curl_easy_setopt(c, CURLOPT_CAPATH, ca_path);
  if (proxy) curl_easy_setopt(c, CURLOPT_PROXY, proxy);
  if (no_proxy) curl_easy_setopt(c, CURLOPT_NOPROXY, no_proxy);
  if (agent) curl_easy_setopt(c, CURLOPT_USERAGENT, agent);
  return 1;
}

static void push_headers(lua_State *L, const buffer *head) {
  const char *p = head->data, *end;
  lua_newtable(L);
  if (!p) {
    return;
  }
  end = p + head->len;
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

/* Sets a handle up for the request table at idx: method, url, headers =
 * {name = value}, body, timeout, connect_timeout, no_resend. Raises on wrong
 * use; what it allocates belongs to the transfer. */
static void request_setup(lua_State *L, transfer *t, int idx) {
  CURL *c = t->curl;
  const char *method, *url, *body;
  size_t body_len = 0;
  double timeout, connect_timeout;

  luaL_checktype(L, idx, LUA_TTABLE);
  method = opt_string(L, idx, "method");
  url = opt_string(L, idx, "url");
  if (!method || !url) {
    luaL_error(L, "campaign: request needs method and url");
    return;
  }
  lua_getfield(L, idx, "body");
  body = lua_isnil(L, -1) ? NULL : luaL_checklstring(L, -1, &body_len);
  lua_pop(L, 1);
  timeout = opt_number(L, idx, "timeout", 30);
  connect_timeout = opt_number(L, idx, "connect_timeout", 10);
  t->no_resend = opt_bool(L, idx, "no_resend", 0);

  transfer_finish(t);
  /* curl would otherwise add "Expect: 100-continue" for large bodies. */
  t->headers = curl_slist_append(NULL, "Expect:");
  lua_getfield(L, idx, "headers");
  if (lua_istable(L, -1)) {
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      struct curl_slist *next;
      if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING) {
        luaL_error(L, "campaign: header names and values must be strings");
        return;
      }
      lua_pushfstring(L, "%s: %s", lua_tostring(L, -2), lua_tostring(L, -1));
      next = curl_slist_append(t->headers, lua_tostring(L, -1));
      if (!next) {
        luaL_error(L, "campaign: out of memory");
        return;
      }
      t->headers = next;
      lua_pop(L, 2);
    }
  }
  lua_pop(L, 1);

  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, t->headers);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, to_ms(timeout));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, to_ms(connect_timeout));
  t->send = body ? body : "";
  t->send_len = body_len;
  t->send_pos = 0;
  if (strcmp(method, "GET") == 0) {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
  } else {
    if (body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
        strcmp(method, "PATCH") == 0) {
      /* The body goes through on_read so that a resend needs on_seek. */
      curl_easy_setopt(c, CURLOPT_POST, 1L);
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    } else {
      curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, strcmp(method, "POST") == 0 ? NULL : method);
  }
  curl_easy_setopt(c, CURLOPT_MAXAGE_CONN, t->no_resend ? STALE_AFTER : DEFAULT_MAXAGE);
  t->overflow = 0;
  t->errbuf[0] = '\0';
}

/* Pushes {status, headers, body}, or nil, kind ("timeout" | "transport"),
 * message, sent (whether the provider may have got the request), status. */
static int push_result(lua_State *L, transfer *t, CURLcode rc) {
  long status = 0, request_size = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  if (rc != CURLE_OK) {
    curl_easy_getinfo(t->curl, CURLINFO_REQUEST_SIZE, &request_size);
    lua_pushnil(L);
    lua_pushstring(L, rc == CURLE_OPERATION_TIMEDOUT ? "timeout" : "transport");
    if (t->overflow) {
      lua_pushfstring(L, "the response body is larger than the limit of %d bytes",
                      (int)t->max_body);
    } else if (t->errbuf[0]) {
      lua_pushstring(L, t->errbuf);
    } else {
      lua_pushstring(L, curl_easy_strerror(rc));
    }
    /* Nothing reached the provider when no request bytes were written. */
    lua_pushboolean(L, request_size > 0 || status > 0);
    lua_pushinteger(L, (lua_Integer)status);
    return 5;
  }
  lua_createtable(L, 0, 3);
  lua_pushinteger(L, (lua_Integer)status);
  lua_setfield(L, -2, "status");
  push_headers(L, &t->head);
  lua_setfield(L, -2, "headers");
  lua_pushlstring(L, t->body.data ? t->body.data : "", t->body.len);
  lua_setfield(L, -2, "body");
  return 1;
}

/* handle:perform(req) -> the result of push_result. */
static int http_perform(lua_State *L) {
  http *h = check_http(L);
  transfer *t = &h->main;
  CURLcode rc;
  int n;
  request_setup(L, t, 2);
  rc = curl_easy_perform(t->curl);
  t->send = NULL;
  n = push_result(L, t, rc);
  transfer_finish(t);
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
  transfer *t;
  luaL_argcheck(L, id > 0, 2, "id must be positive");
  if (!h->multi) {
    h->multi = curl_multi_init();
    if (!h->multi) {
      return luaL_error(L, "campaign: curl_multi_init failed");
    }
  }
  t = idle_transfer(L, h);
  request_setup(L, t, 3);
  if (curl_multi_add_handle(h->multi, t->curl) != CURLM_OK) {
    transfer_finish(t);
    return luaL_error(L, "campaign: curl_multi_add_handle failed");
  }
  t->id = id;
  h->active++;
  return 0;
}

/* handle:wait([seconds]) -> list of {id = id, status, headers, body} or
 * {id = id, kind, message, sent, status}: the transfers that ended, waiting
 * at most seconds (default 1) for at least one. */
static int http_wait(lua_State *L) {
  http *h = check_http(L);
  double limit = luaL_optnumber(L, 2, 1.0);
  struct timespec start, now;
  int n = 0;
  lua_newtable(L);
  if (!h->multi || h->active == 0) {
    return 1;
  }
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    int running, left;
    CURLMsg *msg;
    double spent;
    curl_multi_perform(h->multi, &running);
    while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
      transfer *t = NULL;
      int top;
      if (msg->msg != CURLMSG_DONE) {
        continue;
      }
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
      CURLcode rc = msg->data.result;
      curl_multi_remove_handle(h->multi, t->curl);
      h->active--;
      t->send = NULL;
      top = lua_gettop(L);
      if (push_result(L, t, rc) == 1) {
        lua_pushinteger(L, t->id);
        lua_setfield(L, -2, "id");
      } else {
        lua_createtable(L, 0, 5);
        lua_pushinteger(L, t->id);
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
      transfer_finish(t);
      lua_rawseti(L, top, ++n);
    }
    if (n > 0 || h->active == 0) {
      break;
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    spent = (double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9;
    if (spent >= limit) {
      break;
    }
    curl_multi_poll(h->multi, NULL, 0, (int)((limit - spent) * 1000 + 1), NULL);
  }
  return 1;
}

/* handle:cancel(): drops every transfer of a batch. */
static int http_cancel(lua_State *L) {
  http *h = check_http(L);
  if (h->multi) {
    cancel_all(h);
  }
  return 0;
}

static const luaL_Reg http_methods[] = {
    {"perform", http_perform},
    {"add", http_add},
    {"wait", http_wait},
    {"cancel", http_cancel},
    {"close", http_close},
    {NULL, NULL},
};

void campaign_http_open(lua_State *L) {
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
