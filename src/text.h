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

/* s (len bytes) for a message: at most NAME_SHOWN bytes, control bytes as
 * \xNN, "..." when cut short. size: NAME_SHOWN * 4 + 8 holds any. */
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
