/* The formats that several providers use: E.164 numbers, RFC 3339
 * date-times, http(s) URLs and IANA time zone names. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "formats.h"

/* Whether s[0..n) are all ASCII digits; eight at a time (a customer list
 * checks one number per customer). */
static int all_digits(const char *s, size_t n) {
  const uint64_t highs = 0x8080808080808080ull;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, s + i, 8);
    /* A byte below '0' borrows into bit 7 of w - '0'; one above '9' reaches
     * bit 7 of w + 0x46; a byte of 0x80 or more has it set already. */
    if ((w | (w - 0x3030303030303030ull) | (w + 0x4646464646464646ull)) & highs) {
      return 0;
    }
  }
  for (; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') {
      return 0;
    }
  }
  return 1;
}

int v_all_hex(const char *s, size_t n) {
  /* A table: every body has an id or three to check. */
  static const unsigned char hex[256] = {
      ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
      ['8'] = 1, ['9'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
      ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1};
  unsigned char all = 1;
  for (size_t i = 0; i < n; i++) {
    all &= hex[(unsigned char)s[i]];
  }
  return all;
}

static int check_e164(const char *s, size_t len) {
  if (len < 3 || len > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9') {
    return 0;
  }
  return all_digits(s + 2, len - 2);
}

const vformat V_E164 = {check_e164, "must be E.164, e.g. +14155551234"};

static int digits(const char *s, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') {
      return 0;
    }
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return 1;
}

int v_days_in_month(int y, int m) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) {
    return 29;
  }
  return days[m - 1];
}

/* Days since 1970-01-01 (proleptic Gregorian). */
static long days_from_civil(int y, int m, int d) {
  long era;
  unsigned yoe, doy, doe;
  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = (unsigned)(y - era * 400);
  doy = (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (long)doe - 719468;
}

/* RFC 3339 date-time (the JSON Schema "date-time" format): a date, "T",
 * a time with optional fraction, and a zone ("Z" or +hh:mm). */
int v_parse_datetime(const char *s, size_t len, double *epoch) {
  int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
  size_t i = 19;
  double frac = 0;
  if (len < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
      s[7] != '-' || !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
      !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
      !digits(s + 17, 2, &sec)) {
    return 0;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > v_days_in_month(y, mo) || h > 23 || mi > 59 ||
      sec > 60) {
    return 0;
  }
  if (s[i] == '.') {
    double scale = 0.1;
    size_t start = ++i;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
      frac += (s[i] - '0') * scale;
      scale /= 10;
      i++;
    }
    if (i == start) {
      return 0;
    }
  }
  if (i == len - 1 && (s[i] == 'Z' || s[i] == 'z')) {
    sign = 0;
  } else if (i + 6 == len && (s[i] == '+' || s[i] == '-') && digits(s + i + 1, 2, &oh) &&
             s[i + 3] == ':' && digits(s + i + 4, 2, &om) && oh <= 23 && om <= 59) {
    sign = s[i] == '+' ? 1 : -1;
  } else {
    return 0;
  }
  if (epoch) {
    *epoch = (double)days_from_civil(y, mo, d) * 86400.0 + h * 3600.0 + mi * 60.0 + sec +
             frac - sign * (oh * 3600.0 + om * 60.0);
  }
  return 1;
}

static int check_datetime(const char *s, size_t len) {
  return v_parse_datetime(s, len, NULL);
}

const vformat V_DATETIME = {
    check_datetime,
    "must be an ISO 8601 date-time with a time zone, e.g. 2026-05-14T09:00:00Z"};

static int check_http_url(const char *s, size_t len) {
  size_t skip;
  if (len > 7 && strncmp(s, "http://", 7) == 0) {
    skip = 7;
  } else if (len > 8 && strncmp(s, "https://", 8) == 0) {
    skip = 8;
  } else {
    return 0;
  }
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c <= 0x20 || c == 0x7f) {
      return 0;
    }
  }
  return s[skip] != '/' && s[skip] != '?' && s[skip] != '#';
}

const vformat V_HTTP_URL = {check_http_url, "must be an http:// or https:// URL"};

/* ---- IANA time zone names (shared: Autocalls timezone, Atlas Timezone) --
 * A name is accepted when it is a safe relative path (letters, digits and
 * _ + - in components that start with a letter, joined by single "/") and
 * names a TZif file in the system's zoneinfo database ($TZDIR, else
 * /usr/share/zoneinfo, Debian's tzdata). On a host without that database
 * only the shape is checked. */

static int tz_name_shape(const char *s, size_t len) {
  int start = 1;
  if (len == 0 || len > TZ_NAME_MAX) {
    return 0;
  }
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    int letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    if (start && !letter) {
      return 0;               /* empty component, leading "/", "..", "-x" */
    }
    if (c == '/') {
      start = 1;
      continue;
    }
    if (!letter && !(c >= '0' && c <= '9') && c != '_' && c != '+' && c != '-') {
      return 0;
    }
    start = 0;
  }
  return !start;              /* no trailing "/" */
}

/* Files in the database that are not zone names. */
static int tz_not_a_zone(const char *s, size_t len) {
  return (len == 9 && memcmp(s, "localtime", 9) == 0) ||
         (len == 10 && memcmp(s, "posixrules", 10) == 0) ||
         (len > 6 && memcmp(s, "posix/", 6) == 0) ||
         (len > 6 && memcmp(s, "right/", 6) == 0);
}

/* Names found in the database lately, so that a script creating many
 * campaigns does not read the disk for each. Per thread: hosts may run Lua
 * states in several threads. */
#define TZ_CACHE 8
static __thread char tz_cache[TZ_CACHE][TZ_NAME_MAX + 1];
static __thread unsigned tz_cache_next;

static int check_iana_tz_file(const char *s, size_t len);

static int check_iana_tz(const char *s, size_t len) {
  if (!tz_name_shape(s, len) || strlen(s) != len || tz_not_a_zone(s, len)) {
    return 0;
  }
  for (int i = 0; i < TZ_CACHE; i++) {
    if (memcmp(tz_cache[i], s, len) == 0 && tz_cache[i][len] == '\0') {
      return 1;
    }
  }
  if (!check_iana_tz_file(s, len)) {
    return 0;
  }
  memcpy(tz_cache[tz_cache_next], s, len);
  tz_cache[tz_cache_next][len] = '\0';
  tz_cache_next = (tz_cache_next + 1) % TZ_CACHE;
  return 1;
}

const char *v_tz_dir(void) {
  const char *dir = getenv("TZDIR");
  struct stat st;
  if (!dir || dir[0] != '/') {
    dir = "/usr/share/zoneinfo";
  }
  return stat(dir, &st) == 0 && S_ISDIR(st.st_mode) ? dir : NULL;
}

static int check_iana_tz_file(const char *s, size_t len) {
  const char *dir = v_tz_dir();
  char path[TZ_PATH_MAX];
  struct stat st;
  char magic[4];
  FILE *f;
  size_t got;
  (void)len;
  if (!dir) {
    return 1;                 /* no database here: the shape is all we can check */
  }
  if (snprintf(path, sizeof path, "%s/%s", dir, s) >= (int)sizeof path) {
    return 0;
  }
  if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
    return 0;
  }
  f = fopen(path, "rb");
  if (!f) {
    return 0;
  }
  got = fread(magic, 1, sizeof magic, f);
  fclose(f);
  return got == sizeof magic && memcmp(magic, "TZif", 4) == 0;
}

const vformat V_IANA_TZ = {check_iana_tz,
                           "must be an IANA time zone name, e.g. America/New_York or "
                           "Europe/London"};
