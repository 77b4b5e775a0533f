/* The curl side of the transport: one easy handle's options, callbacks and
 * buffers. Nothing here runs Lua code (the registry reference of a request
 * body is the only Lua state it touches), so it is safe from any point of
 * a call. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

#define KEEP_CAPACITY (1u * 1024u * 1024u)

/* A connection idle for a while may be closed by the server at any moment
 * (Node's default keep-alive timeout is 5 s): a request that must not be
 * repeated does not go over one idle for 2 s or more. curl compares whole
 * seconds with ">", so 1 means 2 s. */
#define STALE_AFTER 1L
#define DEFAULT_MAXAGE 118L

#define RESEND_REFUSED "the connection closed before any answer came; the request may have " \
  "been received, and it must not be sent twice"

/* ---- buffers -------------------------------------------------------------- */

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

void buffer_free(buffer *b) {
  free(b->data);
  b->data = NULL;
  b->cap = b->len = 0;
}

/* ---- callbacks ------------------------------------------------------------ */

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

/* ---- transfers ------------------------------------------------------------ */

/* Ends the transfer's request: frees its headers and lets go of its body.
 * Runs no Lua code. */
void transfer_finish(lua_State *L, transfer *t) {
  if (t->headers) {
    curl_slist_free_all(t->headers);
    t->headers = NULL;
  }
  if (t->curl) {
    /* Nothing of the request stays set: its body is let go of below. */
    curl_easy_setopt(t->curl, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(t->curl, CURLOPT_POSTFIELDS, NULL);
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

void transfer_free(lua_State *L, transfer *t) {
  transfer_finish(L, t);
  if (t->curl) {
    curl_easy_cleanup(t->curl);
    t->curl = NULL;
  }
  buffer_free(&t->body);
  buffer_free(&t->head);
}

/* The callbacks and buffers of a handle point at its own transfer. */
void transfer_bind(transfer *t, CURL *c, size_t max_body) {
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

void transfer_configure(CURL *c, const http_options *o) {
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
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, o->verify ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, o->verify ? 2L : 0L);
  /* curl copies these strings. */
  if (o->ca_file) curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
  if (o->ca_path) curl_easy_setopt(c, CURLOPT_CAPATH, o->ca_path);
  if (o->proxy) curl_easy_setopt(c, CURLOPT_PROXY, o->proxy);
  if (o->no_proxy) curl_easy_setopt(c, CURLOPT_NOPROXY, o->no_proxy);
  if (o->user_agent) curl_easy_setopt(c, CURLOPT_USERAGENT, o->user_agent);
}

/* ---- requests ------------------------------------------------------------- */

static long to_ms(double seconds) {
  if (!(seconds > 0)) {
    return 0;                 /* NaN too: converting it to long is undefined */
  }
  if (seconds > 86400.0) {
    seconds = 86400.0;
  }
  return (long)(seconds * 1000.0 + 0.5);
}

/* Sets the transfer up for a request read by request_read. Runs no Lua code
 * (the handle was checked open just before); what it takes belongs to the
 * transfer from then on, the body string included (held in the registry). */
void request_attach(lua_State *L, transfer *t, const request *rq,
                    struct curl_slist **headers, struct curl_slist *shared) {
  CURL *c = t->curl;
  const char *method = rq->method;
  transfer_finish(L, t);
  t->headers = *headers;
  *headers = NULL;
  if (rq->body) {
    lua_pushvalue(L, rq->body_idx);
    t->send_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  }

  /* curl copies the URL and the method. */
  curl_easy_setopt(c, CURLOPT_URL, rq->url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, t->headers ? t->headers : shared);
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
#if LIBCURL_VERSION_NUM >= 0x075000
      /* The body is sent from the string itself, with the headers when it
       * is small (one write, one packet). curl may send it again by itself
       * when a reused connection died before any answer: on_prereq refuses
       * that for a request that must not be repeated. */
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, t->send);
#else
      /* The body goes through on_read so that a resend needs on_seek. */
      curl_easy_setopt(c, CURLOPT_POST, 1L);
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
#endif
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
void outcome_take(transfer *t, CURLcode rc, outcome *o) {
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
void outcome_recycle(transfer *t, outcome *o) {
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
