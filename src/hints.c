/* What to suggest for a value a rule refused, and the messages that quote
 * it (hints.h). */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "formats.h"
#include "hints.h"
#include "text.h"
#include "walk.h"

/* ---- the nearest allowed value ------------------------------------------ */

static unsigned char ascii_lower(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* Whether a and b (n bytes each) differ only in the case of ASCII letters. */
static int same_but_case(const char *a, const char *b, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (ascii_lower((unsigned char)a[i]) != ascii_lower((unsigned char)b[i])) {
      return 0;
    }
  }
  return 1;
}

/* Whether the nearest tried (clen bytes) is near enough for a value: the
 * rule for names (text.h), and fewer edits than half the characters of the
 * shorter of the two, for lists of short values such as "0", "1". */
static int near_enough(const suggestion *sg, size_t clen) {
  size_t shorter = sg->len < clen ? sg->len : clen;
  return sg->best == 0 || (suggest_near(sg) && 2 * sg->best < shorter);
}

const char *hint_nearest(const char *const *allowed, const char *s, size_t len) {
  const char *best = NULL, *prefix_of = NULL;
  int prefixes = 0;
  suggestion sg;
  suggest_init(&sg, s, len);
  for (const char *const *a = allowed; *a; a++) {
    size_t alen = strlen(*a);
    if (suggest_try(&sg, *a, alen)) {
      best = *a;
    }
    if (len >= 3 && len < alen && same_but_case(*a, s, len)) {
      prefix_of = *a;
      prefixes++;
    }
  }
  if (best && near_enough(&sg, strlen(best))) {
    return best;
  }
  return prefixes == 1 ? prefix_of : NULL;
}

/* ---- time zone names ----------------------------------------------------- */

/* Whether name in the directory at dir is a directory (want_dir) or a
 * regular file. */
static int entry_is(const char *dir, const char *name, int want_dir) {
  char path[TZ_PATH_MAX];
  struct stat st;
  int n = snprintf(path, sizeof path, "%s/%s", dir, name);
  if (n < 0 || n >= (int)sizeof path || stat(path, &st) != 0) {
    return 0;
  }
  return want_dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode);
}

/* The entry of the directory at dir that part (n bytes) most likely names,
 * of the kind wanted, into out (size bytes): the same bytes, else the same
 * in another case, else the nearest misspelling by near_enough's rule; of
 * equals, the first in byte order (whatever order the directory lists
 * them in). Hidden entries are never taken. */
static int nearest_entry(const char *dir, const char *part, size_t n, int want_dir, char *out,
                         size_t size) {
  DIR *d = opendir(dir);
  struct dirent *e;
  size_t best = (size_t)-1;
  if (!d) {
    return 0;
  }
  while ((e = readdir(d)) != NULL) {
    const char *name = e->d_name;
    size_t len = strlen(name), rank;
    if (name[0] == '.' || len >= size) {
      continue;
    }
    if (len == n && memcmp(name, part, n) == 0) {
      rank = 0;
    } else if (len == n && same_but_case(name, part, n)) {
      rank = 1;
    } else {
      suggestion sg;
      suggest_init(&sg, part, n);
      suggest_try(&sg, name, len);
      if (!near_enough(&sg, len)) {
        continue;
      }
      rank = 2 + sg.best;
    }
    if (rank > best || (rank == best && strcmp(name, out) > 0) || !entry_is(dir, name, want_dir)) {
      continue;
    }
    best = rank;
    memcpy(out, name, len + 1);
  }
  closedir(d);
  return best != (size_t)-1;
}

/* The name in the time zone database that s (len bytes) most likely means,
 * into out (size bytes): s with "_" for its spaces, and each of its parts
 * the database's entry that is the same in another case or else the
 * nearest misspelling of it ("america/new_york" is "America/New_York").
 * Returns 0 when there is none that is a zone, or no database. */
static int hint_time_zone(const char *s, size_t len, char *out, size_t size) {
  const char *db = v_tz_dir();
  char name[TZ_NAME_MAX + 1], dir[TZ_PATH_MAX], entry[256];
  size_t dlen, olen = 0, i = 0;
  if (!db || len == 0 || len > TZ_NAME_MAX || size == 0) {
    return 0;
  }
  /* The database writes "New_York" where people write "New York". */
  for (size_t k = 0; k < len; k++) {
    name[k] = s[k] == ' ' ? '_' : s[k];
  }
  dlen = strlen(db);
  if (dlen >= sizeof dir) {
    return 0;
  }
  memcpy(dir, db, dlen + 1);
  out[0] = '\0';
  /* Part by part, down the directories: only names read from them make
   * the path, never the text given. Empty parts ("Europe//London") and a
   * leading or trailing "/" are passed over. */
  while (i < len) {
    size_t start, n, elen, next;
    while (i < len && name[i] == '/') {
      i++;
    }
    if (i == len) {
      break;
    }
    start = i;
    while (i < len && name[i] != '/') {
      i++;
    }
    n = i - start;
    next = i;
    while (next < len && name[next] == '/') {
      next++;
    }
    /* A part with more after it is a directory; the last, a zone file. */
    if (!nearest_entry(dir, name + start, n, next < len, entry, sizeof entry)) {
      return 0;
    }
    elen = strlen(entry);
    if (olen + 1 + elen >= size || dlen + 1 + elen >= sizeof dir) {
      return 0;
    }
    if (olen > 0) {
      out[olen++] = '/';
    }
    memcpy(out + olen, entry, elen + 1);
    olen += elen;
    dir[dlen++] = '/';
    memcpy(dir + dlen, entry, elen + 1);
    dlen += elen;
  }
  if (olen == 0 || (olen == len && memcmp(out, s, len) == 0)) {
    return 0;
  }
  /* What the field takes: a zone (not posix/..., localtime), a TZif file. */
  return V_IANA_TZ.check(out, olen);
}

/* ---- phone numbers ------------------------------------------------------- */

size_t hint_without_separators(const char *s, size_t len, char *out, size_t size) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')') {
      continue;
    }
    if (n + 1 >= size) {
      return 0;
    }
    out[n++] = c;
  }
  if (size > 0) {
    out[n] = '\0';
  }
  return n;
}

#define E164_EXPLAINED ": + then the country code and number, digits only, up to 15 digits"

void hint_e164_error(vctx *ctx, const char *s, size_t len, const char *advice) {
  char shown[TEXT_SHOWN_SIZE], plain[24];
  size_t n;
  if (v_errors_full(ctx)) {
    ctx->nerr++;
    return;
  }
  text_shown_name(shown, sizeof shown, s, len);
  if (advice) {
    v_error(ctx, "\"%s\" %s%s", shown, V_E164.message, advice);
    return;
  }
  n = hint_without_separators(s, len, plain, sizeof plain);
  if (n > 0 && V_E164.check(plain, n)) {
    v_error(ctx, "\"%s\" %s" E164_EXPLAINED "; did you mean \"%s\"?", shown, V_E164.message,
            plain);
  } else {
    v_error(ctx, "\"%s\" %s" E164_EXPLAINED, shown, V_E164.message);
  }
}

/* ---- formats ------------------------------------------------------------- */

void hint_format_error(vctx *ctx, const vformat *format, const char *s, size_t len) {
  char shown[TEXT_SHOWN_SIZE], zone[TZ_NAME_MAX + 1];
  if (format == &V_E164) {
    hint_e164_error(ctx, s, len, NULL);
    return;
  }
  if (format != &V_IANA_TZ) {
    v_error(ctx, "%s", format->message);
    return;
  }
  if (v_errors_full(ctx)) {
    ctx->nerr++;   /* a suggestion reads directories */
    return;
  }
  text_shown_name(shown, sizeof shown, s, len);
  if (hint_time_zone(s, len, zone, sizeof zone)) {
    v_error(ctx, "\"%s\" %s; did you mean \"%s\"?", shown, format->message, zone);
  } else {
    v_error(ctx, "\"%s\" %s", shown, format->message);
  }
}
