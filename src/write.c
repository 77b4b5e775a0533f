/* The JSON writer's primitives (write.h): the buffer, strings, numbers. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "text.h"
#include "write.h"

/* ---- the buffer ------------------------------------------------------- */

/* Through the state's allocator, as Lua's own memory. */
void w_grow(wbuf *b, size_t n) {
  void *ud;
  lua_Alloc alloc = lua_getallocf(b->L, &ud);
  size_t cap = b->cap ? b->cap : 256;
  char *p;
  while (cap - b->len < n) {
    if (cap > ((size_t)-1) / 2) {
      luaL_error(b->L, "campaign: out of memory");
    }
    cap *= 2;
  }
  p = alloc(ud, b->p, b->cap, cap);
  if (!p) {
    luaL_error(b->L, "campaign: out of memory");
  }
  b->p = p;
  b->cap = cap;
}

void w_free(wbuf *b) {
  if (b->p) {
    void *ud;
    lua_Alloc alloc = lua_getallocf(b->L, &ud);
    alloc(ud, b->p, b->cap, 0);
  }
  b->p = NULL;
  b->len = b->cap = 0;
}

/* ---- strings ---------------------------------------------------------- */

static inline int needs_escape(unsigned char c) {
  return c < 0x20 || c == '"' || c == '\\';
}

/* A control byte's escape, at p; returns the bytes written (special_byte
 * writes '"' and '\\' itself). */
static size_t escape_byte(char *p, unsigned char c) {
  static const char hex[] = "0123456789abcdef";
  p[0] = '\\';
  switch (c) {
    case '\b': p[1] = 'b'; return 2;
    case '\t': p[1] = 't'; return 2;
    case '\n': p[1] = 'n'; return 2;
    case '\f': p[1] = 'f'; return 2;
    case '\r': p[1] = 'r'; return 2;
    default:
      memcpy(p + 1, "u00", 3);
      p[4] = hex[c >> 4];
      p[5] = hex[c & 15];
      return 6;
  }
}

/* Bit 7 set in the bytes of w that need more than a copy: an escape, or
 * the start of a UTF-8 sequence to check. Borrows can set it in bytes above
 * one that needs it, never below: the lowest one set is exact. */
static inline uint64_t attention8(uint64_t w) {
  const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
  uint64_t quote = w ^ (ones * '"'), backslash = w ^ (ones * '\\');
  uint64_t control = (w - ones * 0x20) & ~w;
  return (control | ((quote - ones) & ~quote) | ((backslash - ones) & ~backslash) | w) & highs;
}

/* The byte at s (left bytes from there) that needs more than a copy, at p:
 * sets *in and *out to the bytes read and written, and returns 0, or -1 for
 * invalid UTF-8, -2 for a NUL byte. */
static int special_byte(char *p, const unsigned char *s, size_t left, size_t *in, size_t *out) {
  unsigned char c = s[0];
  if (c == '"' || c == '\\') {   /* the common ones (JSON text in a string): no table */
    p[0] = '\\';
    p[1] = (char)c;
    *in = 1;
    *out = 2;
  } else if (c >= 0x80) {
    size_t n = text_utf8_sequence(s, left);
    if (n == 0) {
      return -1;
    }
    memcpy(p, s, n);
    *in = *out = n;
  } else if (needs_escape(c)) {
    if (c == 0) {
      return -2;
    }
    *in = 1;
    *out = escape_byte(p, c);
  } else {
    *p = (char)c;
    *in = *out = 1;
  }
  return 0;
}

/* Copies s (len bytes) escaped to p, which has room for the worst case;
 * *chars gets its length in characters, or -1 for invalid UTF-8, -2 for a
 * NUL byte (where the copy stops). Returns the bytes written. Eight bytes
 * are looked at, and stored, at a time; p advances by those that needed no
 * more, up to the first that does. */
static size_t copy_escaped(char *p, const unsigned char *s, size_t len, long *chars) {
  char *start = p;
  size_t i = 0, in, out;
  long count = 0;
  while (i < len) {
    if (i + 8 <= len) {
      uint64_t w, m;
      size_t k;
      memcpy(&w, s + i, 8);
      memcpy(p, &w, 8);
      m = attention8(w);
      k = m ? (size_t)__builtin_ctzll(m) >> 3 : 8;
      p += k;
      i += k;
      count += (long)k;
      if (k == 8) {
        continue;
      }
    }
    {
      int bad = special_byte(p, s + i, len - i, &in, &out);
      if (bad) {
        *chars = bad;
        return (size_t)(p - start);
      }
    }
    p += out;
    i += in;
    count++;
  }
  *chars = count;
  return (size_t)(p - start);
}

/* A string of at most 16 bytes (most names and values) that needs nothing
 * done: read as two words that overlap (two 8-byte ones from 8 bytes up,
 * two 4-byte ones from 4), checked at once and copied as they are; below 4
 * bytes, byte by byte. Returns 0 when the string is not that. */
static int copy_short_plain(char *p, const char *s, size_t len) {
  if (len >= 8) {
    uint64_t first, last;
    if (len > 16) {
      return 0;
    }
    memcpy(&first, s, 8);
    memcpy(&last, s + len - 8, 8);
    if (attention8(first) | attention8(last)) {
      return 0;
    }
    memcpy(p, &first, 8);
    memcpy(p + len - 8, &last, 8);
  } else if (len >= 4) {
    uint32_t first, last;
    uint64_t both;
    memcpy(&first, s, 4);
    memcpy(&last, s + len - 4, 4);
    both = (uint64_t)first | ((uint64_t)last << 32);
    if (attention8(both)) {
      return 0;
    }
    memcpy(p, &first, 4);
    memcpy(p + len - 4, &last, 4);
  } else {
    for (size_t i = 0; i < len; i++) {
      unsigned char c = (unsigned char)s[i];
      if (c >= 0x80 || needs_escape(c)) {
        return 0;
      }
      p[i] = (char)c;
    }
  }
  return 1;
}

long w_text(wbuf *b, const char *s, size_t len) {
  long chars;
  char *p = w_reserve(b, len * 6 + 3);
  size_t n;
  p[0] = '"';
  if (copy_short_plain(p + 1, s, len)) {
    n = len;
    chars = (long)len;
  } else {
    n = copy_escaped(p + 1, (const unsigned char *)s, len, &chars);
  }
  p[n + 1] = '"';
  b->len += n + 2;
  return chars;
}

/* ---- numbers ---------------------------------------------------------- */

void w_integer(wbuf *b, long long v) {
  char text[24], *end = text + sizeof text, *p = end;
  unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
  do {
    *--p = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0) {
    *--p = '-';
  }
  w_mem(b, p, (size_t)(end - p));
}

/* text (n bytes, from %g) with the C locale's decimal point: a program may
 * have set a locale whose point is another character (or several bytes). */
static void w_c_locale_number(wbuf *b, const char *text, int n) {
  char *p = w_reserve(b, (size_t)n), *start = p;
  for (int i = 0; i < n; i++) {
    char c = text[i];
    if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == 'e') {
      *p++ = c;
    } else if (p == start || p[-1] != '.') {
      *p++ = '.';
    }
  }
  b->len += (size_t)(p - start);
}

#define W_EXACT_INT 9007199254740992.0   /* 2^53 */

void w_double(wbuf *b, double d) {
  char text[40];
  int n = 0;
  if (d != d || isinf(d)) {
    w_mem(b, "null", 4);
    return;
  }
  if (d >= -W_EXACT_INT && d <= W_EXACT_INT && d == (double)(long long)d) {
    if (d == 0 && signbit(d)) {
      w_mem(b, "-0", 2);
    } else {
      w_integer(b, (long long)d);
    }
    return;
  }
  for (int prec = 15; prec <= 17; prec++) {
    n = snprintf(text, sizeof text, "%.*g", prec, d);
    if (prec == 17 || strtod(text, NULL) == d) {
      break;
    }
  }
  w_c_locale_number(b, text, n);
}

void w_number(wbuf *b, lua_State *L, int idx) {
#if LUA_VERSION_NUM >= 503
  if (lua_isinteger(L, idx)) {
    w_integer(b, (long long)lua_tointeger(L, idx));
    return;
  }
#endif
  w_double(b, lua_tonumber(L, idx));
}
