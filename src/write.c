/* The JSON writer's primitives (write.h): the buffer, strings, numbers. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

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

/* Whether any of the 8 bytes in w needs an escape: below 0x20, '"' or '\'.
 * Bytes of 0x80 and above (UTF-8) never do. */
static inline int needs_escape8(uint64_t w) {
  const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
  uint64_t quote = w ^ (ones * '"'), backslash = w ^ (ones * '\\');
  uint64_t control = (w - ones * 0x20) & ~w;
  uint64_t zero_q = (quote - ones) & ~quote;
  uint64_t zero_b = (backslash - ones) & ~backslash;
  return ((control | zero_q | zero_b) & highs) != 0;
}

static inline int needs_escape(unsigned char c) {
  return c < 0x20 || c == '"' || c == '\\';
}

/* The length of the prefix of s that needs no escape. */
static size_t plain_prefix(const char *s, size_t len) {
  size_t i = 0;
  while (i + 8 <= len) {
    uint64_t w;
    memcpy(&w, s + i, 8);
    if (needs_escape8(w)) {
      break;
    }
    i += 8;
  }
  while (i < len && !needs_escape((unsigned char)s[i])) {
    i++;
  }
  return i;
}

/* The rest of a string from its first byte that needs an escape; room for
 * the worst case (6 bytes a byte) is made first. */
static void escaped_tail(wbuf *b, const unsigned char *s, size_t len) {
  static const char hex[] = "0123456789abcdef";
  char *p = w_reserve(b, len * 6 + 1), *start = p;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = s[i];
    if (!needs_escape(c)) {
      *p++ = (char)c;
      continue;
    }
    *p++ = '\\';
    switch (c) {
      case '"': *p++ = '"'; break;
      case '\\': *p++ = '\\'; break;
      case '\b': *p++ = 'b'; break;
      case '\t': *p++ = 't'; break;
      case '\n': *p++ = 'n'; break;
      case '\f': *p++ = 'f'; break;
      case '\r': *p++ = 'r'; break;
      default:
        memcpy(p, "u00", 3);
        p[3] = hex[c >> 4];
        p[4] = hex[c & 15];
        p += 5;
    }
  }
  *p++ = '"';
  b->len += (size_t)(p - start);
}

void w_string(wbuf *b, const char *s, size_t len) {
  size_t plain = plain_prefix(s, len);
  char *p = w_reserve(b, plain + 2);
  p[0] = '"';
  memcpy(p + 1, s, plain);
  if (plain == len) {
    p[plain + 1] = '"';
    b->len += plain + 2;
    return;
  }
  b->len += plain + 1;
  escaped_tail(b, (const unsigned char *)s + plain, len - plain);
}

void w_key(wbuf *b, const char *s, size_t len) {
  w_string(b, s, len);
  w_char(b, ':');
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
