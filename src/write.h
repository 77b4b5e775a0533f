/* The JSON writer's primitives: a growable buffer and the text of strings
 * and numbers. The walk (validate.c, json.c) decides what to write and in
 * which order; this file only knows how JSON spells a value. The buffer is
 * owned by a Lua userdata (encode.c), so that a Lua error raised while it
 * is filled loses nothing. */
#ifndef CAMPAIGN_WRITE_H
#define CAMPAIGN_WRITE_H

#include <stddef.h>
#include <string.h>

#include "compat.h"

#pragma GCC visibility push(hidden)

typedef struct wbuf {
  char *p;
  size_t len, cap;
  lua_State *L;                  /* whose allocator it uses, and who is told of failure */
} wbuf;

/* Makes room for n more bytes (raises a memory error when there is none). */
void w_grow(wbuf *b, size_t n);
/* Gives the memory back. */
void w_free(wbuf *b);

/* memcpy for the short names and values most bodies are made of: two
 * overlapping words, in line, instead of a call. */
static inline void w_copy(char *p, const char *s, size_t n) {
  if (n >= 8 && n <= 16) {
    memcpy(p, s, 8);
    memcpy(p + n - 8, s + n - 8, 8);
  } else if (n >= 4 && n < 8) {
    memcpy(p, s, 4);
    memcpy(p + n - 4, s + n - 4, 4);
  } else if (n < 4) {
    for (size_t i = 0; i < n; i++) {
      p[i] = s[i];
    }
  } else {
    memcpy(p, s, n);
  }
}

/* Where n more bytes go; the caller adds them to len. */
static inline char *w_reserve(wbuf *b, size_t n) {
  if (b->cap - b->len < n) {
    w_grow(b, n);
  }
  return b->p + b->len;
}

static inline void w_char(wbuf *b, char c) {
  if (b->len == b->cap) {
    w_grow(b, 1);
  }
  b->p[b->len++] = c;
}

static inline void w_mem(wbuf *b, const char *s, size_t n) {
  memcpy(w_reserve(b, n), s, n);
  b->len += n;
}

/* Closes a list or an object: every item is followed by a comma, which the
 * closing bracket replaces ("[" alone becomes "[]"). */
static inline void w_close(wbuf *b, char bracket) {
  if (b->p[b->len - 1] == ',') {
    b->p[b->len - 1] = bracket;
  } else {
    w_char(b, bracket);
  }
}

/* "name": for a name that needs no escapes (the schema's own). */
static inline void w_plain_key(wbuf *b, const char *s, size_t len) {
  char *p = w_reserve(b, len + 3);
  p[0] = '"';
  w_copy(p + 1, s, len);
  p[len + 1] = '"';
  p[len + 2] = ':';
  b->len += len + 3;
}

/* A string, quoted and escaped per RFC 8259: '"', '\' and the control
 * characters below 0x20 (\b \t \n \f \r, else \u00xx); nothing else, not
 * '/' nor DEL nor any byte of UTF-8. It is checked in the same pass, as the
 * walk must: returns its length in characters, or -1 when it is not UTF-8,
 * -2 when it has a NUL byte (then the text written is of no use). */
long w_text(wbuf *b, const char *s, size_t len);

/* Numbers, exactly: an integer in full; a double that is an integer of at
 * most 2^53 as one (-0.0 as -0); any other finite double as the shortest
 * of %.15g, %.16g and %.17g that reads back to the same double. A NaN or
 * an infinity (which the walk refuses first) is written null. */
void w_integer(wbuf *b, long long v);
void w_double(wbuf *b, double d);
/* The number at idx: a Lua integer (5.3+) with w_integer, else w_double. */
void w_number(wbuf *b, lua_State *L, int idx);

#pragma GCC visibility pop

#endif
