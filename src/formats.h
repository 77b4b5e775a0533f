/* Formats shared by providers, and the date helpers behind them. */
#ifndef CAMPAIGN_FORMATS_H
#define CAMPAIGN_FORMATS_H

#include "validate.h"

#pragma GCC visibility push(hidden)

extern const vformat V_E164;
extern const vformat V_DATETIME;
extern const vformat V_HTTP_URL;
/* RFC 3339 date-time; *epoch (when not NULL) gets its seconds since 1970. */
int v_parse_datetime(const char *s, size_t len, double *epoch);
/* Days in month m (1..12) of year y, proleptic Gregorian. */
int v_days_in_month(int y, int m);
/* Whether s[0..n) are all hex digits, either case (ids of Smallest and
 * Atlas). */
int v_all_hex(const char *s, size_t n);

/* IANA time zone name, checked against the system zoneinfo database
 * (Autocalls timezone, Atlas Timezone). */
extern const vformat V_IANA_TZ;
/* The directory of that database ($TZDIR, else /usr/share/zoneinfo), or
 * NULL when there is none. */
const char *v_tz_dir(void);
/* The longest zone name taken, and room for a path to a zone's file. */
#define TZ_NAME_MAX 64
#define TZ_PATH_MAX 512

#pragma GCC visibility pop

#endif
