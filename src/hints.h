/* What to suggest for a value a rule refused: the nearest of the values a
 * field allows, a time zone name as the database writes it, a phone number
 * without its separators; and the messages that show the value (quoted as
 * text_shown_name shows it: cut short, control bytes escaped). */
#ifndef CAMPAIGN_HINTS_H
#define CAMPAIGN_HINTS_H

#include "validate.h"

#pragma GCC visibility push(hidden)

/* The allowed value (of a NULL-terminated list) that s, len bytes, most
 * likely means, or NULL: the same in another case ("ASC" for "asc"), a
 * close misspelling (text.h's distance, within max(2, len / 3) edits and
 * fewer than half the characters of the shorter of the two, so that "3" is
 * never taken for "1"), or else the only value s begins, when s has at
 * least 3 characters ("mon" for "monday"). */
const char *hint_nearest(const char *const *allowed, const char *s, size_t len);

/* s (len bytes) without its spaces, dashes, dots and parentheses, into out
 * (size bytes, NUL-terminated): its length, or 0 when nothing is left or
 * it does not fit. */
size_t hint_without_separators(const char *s, size_t len, char *out, size_t size);

/* Reports s, a phone number that is not E.164, at the current path: s
 * quoted, "must be E.164, e.g. +14155551234", then advice; or (advice NULL)
 * what E.164 is, and the number s is without its separators when that one
 * is E.164 ("did you mean ...?"). */
void hint_e164_error(vctx *ctx, const char *s, size_t len, const char *advice);

/* Reports s, which the format refused, at the current path: in the
 * format's own words, with s quoted and a suggestion for the formats that
 * have one (E.164, IANA time zones); else the format's message alone. */
void hint_format_error(vctx *ctx, const vformat *format, const char *s, size_t len);

#pragma GCC visibility pop

#endif
