/* The libcurl transport: one easy handle per client, reused across calls so
 * that connections and TLS sessions are kept. Everything curl needs to free
 * lives in the userdata, so a Lua error at any point leaks nothing: __gc
 * (and close, which is the same and safe twice) releases it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "core.h"

#define HTTP_MT "campaign.http"
#define DEFAULT_MAX_BODY (8u * 1024u * 1024u)
#define KEEP_CAPACITY (1u * 1024u * 1024u)

typedef struct buffer {
  char *data;
  size_t len, cap;
} buffer;

typedef struct http {
  CURL *curl;
  struct curl_slist *headers;   /* the request headers of the call under way */
  buffer body, head;
  size_t max_body;
  int overflow;
  /* The request body, read by curl through on_read. */
  const char *send;
  size_t send_len, send_pos;
  int no_resend;                /* the request must not be sent twice */
  char errbuf[CURL_ERROR_SIZE];
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
  http *h = ud;
  size_t n = size * nmemb;
  if (h->body.len + n > h->max_body) {
    h->overflow = 1;
    return 0;
  }
  return buffer_add(&h->body, data, n) ? n : 0;
}

static size_t on_read(char *dest, size_t size, size_t nmemb, void *ud) {
  http *h = ud;
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
  http *h = ud;
  if (h->no_resend || origin != SEEK_SET || offset < 0 || (size_t)offset > h->send_len) {
    return CURL_SEEKFUNC_CANTSEEK;
  }
  h->send_pos = (size_t)offset;
  return CURL_SEEKFUNC_OK;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud) {
  http *h = ud;
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
  if (!h->curl) {
    luaL_error(L, "campaign: the HTTP handle is closed");
  }
  return h;
}

static int http_close(lua_State *L) {
  http *h = luaL_checkudata(L, 1, HTTP_MT);
  if (h->headers) {
    curl_slist_free_all(h->headers);
    h->headers = NULL;
  }
  if (h->curl) {
    curl_easy_cleanup(h->curl);
    h->curl = NULL;
  }
  buffer_free(&h->body);
  buffer_free(&h->head);
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
  if (seconds <= 0) {
    return 0;
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
  h->max_body = (size_t)max_body;
  h->curl = c = curl_easy_init();
  if (!c) {
    return luaL_error(L, "campaign: curl_easy_init failed");
  }
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
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
  curl_easy_setopt(c, CURLOPT_READDATA, h);
  curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
  curl_easy_setopt(c, CURLOPT_SEEKDATA, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
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
  const char *p = head->data, *end = head->data + head->len;
  lua_newtable(L);
  if (!p) {
    return;
  }
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

/* handle:perform{method, url, headers = {name = value}, body, timeout,
 *                connect_timeout}
 *   -> {status, headers, body}
 *   |  nil, kind ("timeout" | "transport"), message, sent, status */
static int http_perform(lua_State *L) {
  http *h = check_http(L);
  CURL *c = h->curl;
  const char *method, *url, *body;
  size_t body_len = 0;
  double timeout, connect_timeout;
  CURLcode rc;
  long status = 0, request_size = 0;

  luaL_checktype(L, 2, LUA_TTABLE);
  method = opt_string(L, 2, "method");
  url = opt_string(L, 2, "url");
  if (!method || !url) {
    return luaL_error(L, "campaign: request needs method and url");
  }
  lua_getfield(L, 2, "body");
  body = lua_isnil(L, -1) ? NULL : luaL_checklstring(L, -1, &body_len);
  lua_pop(L, 1);
  timeout = opt_number(L, 2, "timeout", 30);
  connect_timeout = opt_number(L, 2, "connect_timeout", 10);
  h->no_resend = opt_bool(L, 2, "no_resend", 0);

  if (h->headers) {
    curl_slist_free_all(h->headers);
    h->headers = NULL;
  }
  /* curl would otherwise add "Expect: 100-continue" for large bodies. */
  h->headers = curl_slist_append(NULL, "Expect:");
  lua_getfield(L, 2, "headers");
  if (lua_istable(L, -1)) {
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      struct curl_slist *next;
      if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING) {
        return luaL_error(L, "campaign: header names and values must be strings");
      }
      lua_pushfstring(L, "%s: %s", lua_tostring(L, -2), lua_tostring(L, -1));
      next = curl_slist_append(h->headers, lua_tostring(L, -1));
      if (!next) {
        return luaL_error(L, "campaign: out of memory");
      }
      h->headers = next;
      lua_pop(L, 2);
    }
  }
  lua_pop(L, 1);

  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->headers);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, to_ms(timeout));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, to_ms(connect_timeout));
  h->send = body ? body : "";
  h->send_len = body_len;
  h->send_pos = 0;
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
  curl_easy_setopt(c, CURLOPT_MAXAGE_CONN, h->no_resend ? STALE_AFTER : DEFAULT_MAXAGE);

  buffer_reset(&h->body);
  buffer_reset(&h->head);
  h->overflow = 0;
  h->errbuf[0] = '\0';
  rc = curl_easy_perform(c);
  h->send = NULL;
  curl_slist_free_all(h->headers);
  h->headers = NULL;
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);

  if (rc != CURLE_OK) {
    curl_easy_getinfo(c, CURLINFO_REQUEST_SIZE, &request_size);
    lua_pushnil(L);
    lua_pushstring(L, rc == CURLE_OPERATION_TIMEDOUT ? "timeout" : "transport");
    if (h->overflow) {
      lua_pushfstring(L, "the response body is larger than the limit of %d bytes",
                      (int)h->max_body);
    } else if (h->errbuf[0]) {
      lua_pushstring(L, h->errbuf);
    } else {
      lua_pushstring(L, curl_easy_strerror(rc));
    }
    /* Nothing reached the provider when no request bytes were written. */
    lua_pushboolean(L, request_size > 0 || status > 0);
    lua_pushinteger(L, (lua_Integer)status);
    buffer_reset(&h->body);
    return 5;
  }
  lua_createtable(L, 0, 3);
  lua_pushinteger(L, (lua_Integer)status);
  lua_setfield(L, -2, "status");
  push_headers(L, &h->head);
  lua_setfield(L, -2, "headers");
  lua_pushlstring(L, h->body.data ? h->body.data : "", h->body.len);
  lua_setfield(L, -2, "body");
  buffer_reset(&h->body);
  buffer_reset(&h->head);
  return 1;
}

static const luaL_Reg http_methods[] = {
    {"perform", http_perform},
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
