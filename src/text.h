/* Text helpers with no Lua in them: UTF-8, names as messages show them,
 * and the "did you mean" rule, which the validator uses for misspelt field
 * names and core.suggest offers to Lua. */
#ifndef CAMPAIGN_TEXT_H
#define CAMPAIGN_TEXT_H

#include <stddef.h>

#pragma GCC visibility push(hidden)

/* Names longer than this are cut short in messages and paths, and get no
 * suggestion (nor are they suggested). */
#define NAME_SHOWN 48

/* Counts code points and checks UTF-8 in one pass (JSON Schema lengths are
 * in characters). Returns -1 for invalid UTF-8, -2 for a NUL byte. */
long text_utf8_length(const unsigned char *s, size_t len);

/* The length (2 to 4) of the well-formed UTF-8 sequence of a code point
 * above 0x7f that starts s (left bytes there), or 0: no overlong forms, no
 * surrogates, nothing above U+10FFFF. Inline: the writer copies strings
 * with it (write.c) as text_utf8_length counts them. */
static inline size_t text_utf8_sequence(const unsigned char *s, size_t left) {
  unsigned char c = s[0];
  size_t n;
  unsigned long cp;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 1;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 2;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 3;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (n >= left) {
    return 0;
  }
  for (size_t k = 1; k <= n; k++) {
    if ((s[k] & 0xC0) != 0x80) {
      return 0;
    }
    cp = (cp << 6) | (s[k] & 0x3F);
  }
  if ((n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
      (n == 3 && (cp < 0x10000 || cp > 0x10FFFF))) {
    return 0;
  }
  return n + 1;
}

/* s (len bytes) for a message: at most NAME_SHOWN bytes, control bytes as
 * \xNN, "..." when cut short. size: TEXT_SHOWN_SIZE holds any. */
#define TEXT_SHOWN_SIZE (NAME_SHOWN * 4 + 8)
void text_shown_name(char *buf, size_t size, const char *s, size_t len);

/* "Did you mean": among candidates tried one by one, the nearest to name by
 * optimal string alignment distance (case-insensitive; the first of equals
 * wins), if it is within max(2, len / 3) edits. Names and candidates longer
 * than NAME_SHOWN bytes are never near. */
typedef struct suggestion {
  const char *name;
  size_t len;
  size_t best;                  /* the distance of the nearest so far */
} suggestion;

void suggest_init(suggestion *sg, const char *name, size_t len);
/* Whether candidate (clen bytes) is the nearest so far. */
int suggest_try(suggestion *sg, const char *candidate, size_t clen);
/* Whether the nearest is near enough to be suggested. */
int suggest_near(const suggestion *sg);

#pragma GCC visibility pop

#endif
