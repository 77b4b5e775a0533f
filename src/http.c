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
 * and the handle is checked to be open again before curl is touched. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "core.h"

#define HTTP_MT "campaign.http"
#define BOX_MT "campaign.http.box"
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
  /* The request body, read by curl through on_read: a Lua string that the
   * registry holds (send_ref) until the transfer ends, whatever the caller
   * does with its request table meanwhile. */
  const char *send;
  size_t send_len, send_pos;
  int send_ref;                 /* LUA_NOREF when there is no body */
  int no_resend;                /* the request must not be sent twice */
  int sends;                    /* times the request was about to go out */
  int resend_blocked;           /* a second sending was refused */
  lua_Integer id;               /* batches: the caller's id; 0 when idle */
  char errbuf[CURL_ERROR_SIZE];
} transfer;

/* A request table as read, before any curl work: the strings stay on the
 * stack (body_idx: the body's slot) until the call returns. */
typedef struct request {
  const char *method, *url, *body;
  size_t body_len;
  int body_idx;
  double timeout, connect_timeout;
  int no_resend;
} request;

/* One ended transfer, detached from its easy handle: what the caller gets. */
typedef struct outcome {
  lua_Integer id;
  int failed, timed_out, sent;
  long status;
  buffer body, head;            /* moved from the transfer on success */
  char message[CURL_ERROR_SIZE + 64];
} outcome;

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
} http;

/* A connection idle for a while may be closed by the server at any moment
 * (Node's default keep-alive timeout is 5 s): a request that must not be
 * repeated does not go over one idle for 2 s or more. curl compares whole
 * seconds with ">", so 1 means 2 s. */
#define STALE_AFTER 1L
#define DEFAULT_MAXAGE 118L

#define RESEND_REFUSED "the connection closed before any answer came; the request may have " \
  "been received, and it must not be sent twice"

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
 * unknown. A request without a body needs no rewind: on_prereq covers it. */
static int on_seek(void *ud, curl_off_t offset, int origin) {
  transfer *h = ud;
  if (h->no_resend || origin != SEEK_SET || offset < 0 || (size_t)offset > h->send_len) {
    return CURL_SEEKFUNC_CANTSEEK;
  }
  h->send_pos = (size_t)offset;
  return CURL_SEEKFUNC_OK;
}

#if LIBCURL_VERSION_NUM >= 0x075000
/* Runs each time curl is about to send the request on a connection. A
 * second time means curl is sending it again (a reused connection died
 * before any answer): refused for a request that must not be repeated, with
 * or without a body, since the first copy may have been acted on. */
static int on_prereq(void *ud, char *remote_ip, char *local_ip, int remote_port,
                     int local_port) {
  transfer *t = ud;
  (void)remote_ip;
  (void)local_ip;
  (void)remote_port;
  (void)local_port;
  t->sends++;
  if (t->no_resend && t->sends > 1) {
    t->resend_blocked = 1;
    return CURL_PREREQFUNC_ABORT;
  }
  return CURL_PREREQFUNC_OK;
}
#endif

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

/* After Lua code may have run (any allocation can run a finalizer): the
 * handle must still be open before curl is touched. */
static void check_open(lua_State *L, const http *h) {
  if (!h->main.curl) {
    luaL_error(L, "campaign: the HTTP handle was closed during the call");
  }
}

/* Ends the transfer's request: frees its headers and lets go of its body.
 * Runs no Lua code. */
static void transfer_finish(lua_State *L, transfer *t) {
  if (t->headers) {
    curl_slist_free_all(t->headers);
    t->headers = NULL;
  }
  if (t->curl) {
    curl_easy_setopt(t->curl, CURLOPT_HTTPHEADER, NULL);
  }
  if (t->send_ref != LUA_NOREF) {
    luaL_unref(L, LUA_REGISTRYINDEX, t->send_ref);
    t->send_ref = LUA_NOREF;
  }
  t->send = NULL;
  t->send_len = t->send_pos = 0;
  t->id = 0;
  buffer_reset(&t->body);
  buffer_reset(&t->head);
}

static void transfer_free(lua_State *L, transfer *t) {
  transfer_finish(L, t);
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
  t->send_ref = LUA_NOREF;
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, t->errbuf);
  curl_easy_setopt(c, CURLOPT_READDATA, t);
  curl_easy_setopt(c, CURLOPT_SEEKDATA, t);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
#if LIBCURL_VERSION_NUM >= 0x075000
  curl_easy_setopt(c, CURLOPT_PREREQDATA, t);
#endif
  curl_easy_setopt(c, CURLOPT_PRIVATE, (void *)t);
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
  h->main.send_ref = LUA_NOREF;
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
#if LIBCURL_VERSION_NUM >= 0x075000
  curl_easy_setopt(c, CURLOPT_PREREQFUNCTION, on_prereq);
#endif
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
  /* curl copies these strings. */
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

/* Reads the request table at idx (absolute): method, url, headers =
 * {name = value}, body, timeout, connect_timeout, no_resend. Raw access, so
 * no metamethod of the table runs; the strings stay on the stack and the
 * header list goes into the box. Raises on wrong use. */
static void request_read(lua_State *L, int idx, request *rq, box *b) {
  luaL_checktype(L, idx, LUA_TTABLE);
  rq->method = raw_field(L, idx, "method") == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
  rq->url = raw_field(L, idx, "url") == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
  if (!rq->method || !rq->url) {
    luaL_error(L, "campaign: request needs method and url (strings)");
    return;
  }
  rq->body = NULL;
  rq->body_len = 0;
  if (raw_field(L, idx, "body") != LUA_TNIL) {
    if (!lua_isstring(L, -1)) {
      luaL_error(L, "campaign: request body must be a string");
      return;
    }
    rq->body = lua_tolstring(L, -1, &rq->body_len);
  }
  rq->body_idx = lua_gettop(L);

  rq->timeout = raw_number(L, idx, "timeout", 30);
  rq->connect_timeout = raw_number(L, idx, "connect_timeout", 10);
  raw_field(L, idx, "no_resend");
  rq->no_resend = lua_toboolean(L, -1);
  lua_pop(L, 1);

  /* curl would otherwise add "Expect: 100-continue" for large bodies. */
  b->headers = curl_slist_append(NULL, "Expect:");
  if (!b->headers) {
    luaL_error(L, "campaign: out of memory");
    return;
  }
  if (raw_field(L, idx, "headers") == LUA_TTABLE) {
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      struct curl_slist *next;
      if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING) {
        luaL_error(L, "campaign: header names and values must be strings");
        return;
      }
      lua_pushfstring(L, "%s: %s", lua_tostring(L, -2), lua_tostring(L, -1));
      next = curl_slist_append(b->headers, lua_tostring(L, -1));
      if (!next) {
        luaL_error(L, "campaign: out of memory");
        return;
      }
      b->headers = next;
      lua_pop(L, 2);
    }
  }
  lua_pop(L, 1);
}

/* Sets the transfer up for a request read by request_read. Runs no Lua code
 * (the handle was checked open just before); what it takes belongs to the
 * transfer from then on, the body string included (held in the registry). */
static void request_attach(lua_State *L, transfer *t, const request *rq, box *b) {
  CURL *c = t->curl;
  const char *method = rq->method;
  transfer_finish(L, t);
  t->headers = b->headers;
  b->headers = NULL;
  if (rq->body) {
    lua_pushvalue(L, rq->body_idx);
    t->send_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  }

  /* curl copies the URL and the method. */
  curl_easy_setopt(c, CURLOPT_URL, rq->url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, t->headers);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, to_ms(rq->timeout));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, to_ms(rq->connect_timeout));
  t->send = rq->body ? rq->body : "";
  t->send_len = rq->body_len;
  t->send_pos = 0;
  if (strcmp(method, "GET") == 0) {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
  } else {
    if (rq->body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
        strcmp(method, "PATCH") == 0) {
      /* The body goes through on_read so that a resend needs on_seek. */
      curl_easy_setopt(c, CURLOPT_POST, 1L);
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
    } else {
      curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, strcmp(method, "POST") == 0 ? NULL : method);
  }
  t->no_resend = rq->no_resend;
  t->sends = 0;
  t->resend_blocked = 0;
  curl_easy_setopt(c, CURLOPT_MAXAGE_CONN, t->no_resend ? STALE_AFTER : DEFAULT_MAXAGE);
#if LIBCURL_VERSION_NUM < 0x075000
  /* No CURLOPT_PREREQFUNCTION to refuse a second sending of a request
   * without a body: such a request goes over a new connection, where curl
   * never sends it again. */
  curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, (t->no_resend && !rq->body) ? 1L : 0L);
#endif
  t->overflow = 0;
  t->errbuf[0] = '\0';
}

/* ---- results -------------------------------------------------------------- */

/* Detaches what the caller gets from an ended transfer, before any Lua code
 * runs: a finalizer could close the handle or reuse the transfer. The
 * transfer is finished after this. */
static void outcome_take(transfer *t, CURLcode rc, outcome *o) {
  long status = 0, request_size = 0;
  memset(o, 0, sizeof *o);
  o->id = t->id;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  o->status = status;
  if (rc != CURLE_OK) {
    curl_easy_getinfo(t->curl, CURLINFO_REQUEST_SIZE, &request_size);
    o->failed = 1;
    o->timed_out = rc == CURLE_OPERATION_TIMEDOUT;
    if (t->overflow) {
      snprintf(o->message, sizeof o->message,
               "the response body is larger than the limit of %lu bytes",
               (unsigned long)t->max_body);
    } else if (t->resend_blocked) {
      snprintf(o->message, sizeof o->message, "%s", RESEND_REFUSED);
    } else if (t->errbuf[0]) {
      snprintf(o->message, sizeof o->message, "%s", t->errbuf);
    } else {
      snprintf(o->message, sizeof o->message, "%s", curl_easy_strerror(rc));
    }
    /* Nothing reached the provider when no request bytes were written; a
     * refused second sending means the first went out. */
    o->sent = request_size > 0 || status > 0 || t->resend_blocked;
    return;
  }
  o->body = t->body;
  o->head = t->head;
  memset(&t->body, 0, sizeof t->body);
  memset(&t->head, 0, sizeof t->head);
}

/* Gives an idle transfer back the buffers of an outcome, when it has none:
 * they keep their capacity from call to call. */
static void outcome_recycle(transfer *t, outcome *o) {
  if (!t->body.data && o->body.data) {
    t->body = o->body;
    memset(&o->body, 0, sizeof o->body);
    buffer_reset(&t->body);
  }
  if (!t->head.data && o->head.data) {
    t->head = o->head;
    memset(&o->head, 0, sizeof o->head);
    buffer_reset(&t->head);
  }
}

/* Pushes {status, headers, body}, or nil, kind ("timeout" | "transport"),
 * message, sent (whether the provider may have got the request), status. */
static int outcome_push(lua_State *L, const outcome *o) {
  if (o->failed) {
    lua_pushnil(L);
    lua_pushstring(L, o->timed_out ? "timeout" : "transport");
    lua_pushstring(L, o->message);
    lua_pushboolean(L, o->sent);
    lua_pushinteger(L, (lua_Integer)o->status);
    return 5;
  }
  lua_createtable(L, 0, 3);
  lua_pushinteger(L, (lua_Integer)o->status);
  lua_setfield(L, -2, "status");
  push_headers(L, &o->head);
  lua_setfield(L, -2, "headers");
  lua_pushlstring(L, o->body.data ? o->body.data : "", o->body.len);
  lua_setfield(L, -2, "body");
  return 1;
}

/* handle:perform(req) -> the result of outcome_push. */
static int http_perform(lua_State *L) {
  http *h = check_http(L);
  box *b = box_new(L);
  request rq;
  transfer *t = &h->main;
  CURLcode rc;
  int n;
  request_read(L, 2, &rq, b);
  box_reserve(L, b, 1);
  check_open(L, h);
  request_attach(L, t, &rq, b);
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
  request_read(L, 3, &rq, b);
  /* From here on no Lua code runs until the transfer is in the multi. */
  check_open(L, h);
  if (!h->multi) {
    h->multi = curl_multi_init();
    if (!h->multi) {
      return luaL_error(L, "campaign: curl_multi_init failed");
    }
  }
  t = idle_transfer(L, h);
  request_attach(L, t, &rq, b);
  if (curl_multi_add_handle(h->multi, t->curl) != CURLM_OK) {
    transfer_finish(L, t);
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
  box *b = box_new(L);
  check_open(L, h);
  if (h->multi && h->active > 0) {
    /* At most every transfer under way ends: taking them cannot fail. */
    box_reserve(L, b, h->active);
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
      int running, left;
      CURLMsg *msg;
      double spent;
      curl_multi_perform(h->multi, &running);
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
  /* Lua code may run from here on: only the box is read. */
  lua_createtable(L, b->n, 0);
  for (int i = 0; i < b->n; i++) {
    const outcome *o = &b->done[i];
    int top = lua_gettop(L);
    if (outcome_push(L, o) == 1) {
      lua_pushinteger(L, o->id);
      lua_setfield(L, -2, "id");
    } else {
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
    lua_rawseti(L, top, i + 1);
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
