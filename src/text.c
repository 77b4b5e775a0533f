/* Text helpers: UTF-8, names as messages show them, suggestions. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "text.h"

long text_utf8_length(const unsigned char *s, size_t len) {
  long count = 0;
  size_t i = 0;
  while (i < len) {
    unsigned char c;
    /* Eight ASCII bytes at a time, none of them NUL. */
    while (i + 8 <= len) {
      uint64_t w;
      memcpy(&w, s + i, 8);
      if ((w & 0x8080808080808080ull) ||
          ((w - 0x0101010101010101ull) & ~w & 0x8080808080808080ull)) {
        break;
      }
      i += 8;
      count += 8;
    }
    if (i >= len) {
      break;
    }
    c = s[i];
    if (c < 0x80) {
      if (c == 0) {
        return -2;
      }
      i++;
    } else {
      size_t n = text_utf8_sequence(s + i, len - i);
      if (n == 0) {
        return -1;
      }
      i += n;
    }
    count++;
  }
  return count;
}

/* Optimal string alignment distance, case-insensitive, for "did you mean". */
static size_t edit_distance(const char *a, size_t la, const char *b, size_t lb) {
  size_t d[NAME_SHOWN + 2][NAME_SHOWN + 2];
  if (la > NAME_SHOWN || lb > NAME_SHOWN) {
    return (size_t)-1;
  }
  for (size_t i = 0; i <= la; i++) d[i][0] = i;
  for (size_t j = 0; j <= lb; j++) d[0][j] = j;
  for (size_t i = 1; i <= la; i++) {
    for (size_t j = 1; j <= lb; j++) {
      char ca = (char)(a[i - 1] | 0x20), cb = (char)(b[j - 1] | 0x20);
      size_t cost = (ca == cb) ? 0 : 1;
      size_t best = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
      if (d[i - 1][j - 1] + cost < best) best = d[i - 1][j - 1] + cost;
      if (i > 1 && j > 1 && (a[i - 1] | 0x20) == (b[j - 2] | 0x20) &&
          (a[i - 2] | 0x20) == (b[j - 1] | 0x20) && d[i - 2][j - 2] + 1 < best) {
        best = d[i - 2][j - 2] + 1;
      }
      d[i][j] = best;
    }
  }
  return d[la][lb];
}

void suggest_init(suggestion *sg, const char *name, size_t len) {
  sg->name = name;
  sg->len = len;
  sg->best = (size_t)-1;
}

int suggest_try(suggestion *sg, const char *candidate, size_t clen) {
  size_t d = edit_distance(sg->name, sg->len, candidate, clen);
  if (d < sg->best) {
    sg->best = d;
    return 1;
  }
  return 0;
}

int suggest_near(const suggestion *sg) {
  size_t limit = sg->len / 3;
  if (limit < 2) limit = 2;
  return sg->best <= limit;
}

void text_shown_name(char *buf, size_t size, const char *s, size_t len) {
  const unsigned char *u = (const unsigned char *)s;
  size_t n = len < NAME_SHOWN ? len : NAME_SHOWN;
  size_t i = 0, j = 0;
  while (i < n && j + 5 < size) {
    unsigned char c = u[i];
    size_t seq = c < 0x80 ? 1 : text_utf8_sequence(u + i, len - i);
    if (c < 0x20 || c == 0x7f || seq == 0) {
      /* A control byte, or one that is not part of a UTF-8 character:
       * the message stays readable text, valid UTF-8. */
      j += (size_t)snprintf(buf + j, size - j, "\\x%02x", c);
      i++;
    } else if (i + seq > n || j + seq + 4 >= size) {
      n = i;                  /* a character is never cut in two */
    } else {
      memcpy(buf + j, s + i, seq);
      i += seq;
      j += seq;
    }
  }
  if (len > i && j + 4 <= size) {
    memcpy(buf + j, "...", 3);
    j += 3;
  }
  buf[j] = '\0';
}
