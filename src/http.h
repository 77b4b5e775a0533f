/* The libcurl transport, in three files: http.c is its Lua side (core.http,
 * the handle's methods), message.c what goes between Lua and a transfer
 * (reading requests, pushing answers), transfer.c its curl side (one easy
 * handle's options, callbacks and buffers, which run no Lua code). */
#ifndef CAMPAIGN_HTTP_H
#define CAMPAIGN_HTTP_H

#include <curl/curl.h>

#include "compat.h"

#pragma GCC visibility push(hidden)

/* Header lists a handle keeps (handle:headers), sent by the requests that
 * name their slot. */
#define HTTP_HEADER_SETS 4

typedef struct buffer {
  char *data;
  size_t len, cap;
} buffer;

/* One request in flight on one easy handle, with everything it owns. */
typedef struct transfer {
  CURL *curl;
  struct curl_slist *headers;   /* the request's own headers (NULL: a header set) */
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
  int header_set;               /* the handle's header set to send; 0: its own */
} request;

/* One ended transfer, detached from its easy handle: what the caller gets. */
typedef struct outcome {
  lua_Integer id;
  int failed, timed_out, sent;
  long status;
  buffer body, head;            /* moved from the transfer on success */
  char message[CURL_ERROR_SIZE + 64];
} outcome;

/* What the options of core.http set on a client's first handle (the
 * handles of batches are copied from it). The strings are kept alive by
 * the caller until the call returns; curl copies them. */
typedef struct http_options {
  const char *ca_file, *ca_path, *proxy, *no_proxy, *user_agent;
  int verify;
  size_t max_body;
} http_options;

void buffer_free(buffer *b);

/* message.c. A request table at idx, or the values of a call from idx on
 * (method, url, headers, body, timeout, connect_timeout, no_resend); a
 * header list of its own goes into *list. Raise on wrong use. */
void request_read(lua_State *L, int idx, request *rq, struct curl_slist **list);
void request_args(lua_State *L, int idx, request *rq, struct curl_slist **list);
/* "name: value" for each pair of the table on top of the stack. */
void headers_read(lua_State *L, struct curl_slist **list);
/* Pushes the answer {status, headers, body}, or nil and the failure; returns
 * how many values. */
int outcome_push(lua_State *L, const outcome *o);
void campaign_response_open(lua_State *L);

/* The callbacks and buffers of handle c point at t. */
void transfer_bind(transfer *t, CURL *c, size_t max_body);
/* The options of a new client's handle. */
void transfer_configure(CURL *c, const http_options *o);
/* Ends the transfer's request: frees its headers and lets go of its body. */
void transfer_finish(lua_State *L, transfer *t);
void transfer_free(lua_State *L, transfer *t);
/* Sets the transfer up for a request; takes *headers (NULL after), or,
 * when there is none, sends `shared` (a header set the handle owns). */
void request_attach(lua_State *L, transfer *t, const request *rq,
                    struct curl_slist **headers, struct curl_slist *shared);
/* Detaches the caller's outcome from an ended transfer. */
void outcome_take(transfer *t, CURLcode rc, outcome *o);
/* Gives an idle transfer back the buffers of an outcome, when it has none. */
void outcome_recycle(transfer *t, outcome *o);

#pragma GCC visibility pop

#endif
