/* Autocalls.ai: the body of POST /user/campaign ("Create campaign") as its
 * docs page describes it. The API is Laravel: times are validated with
 * date_format:H:i, which needs a two-digit hour ("09:00", not "9:00").
 * The same API is served by white-label brands (Famulor, Sondos, ...). */
#include <string.h>

#include "providers.h"

/* ---- allowed hours ------------------------------------------------------ */

/* "H:i": 00..23, ":", 00..59; exactly five characters. */
static int hm_minutes(const char *s, size_t len) {
  int h, m;
  if (len != 5 || s[2] != ':' || s[0] < '0' || s[0] > '2' || s[1] < '0' || s[1] > '9' ||
      s[3] < '0' || s[3] > '5' || s[4] < '0' || s[4] > '9') {
    return -1;
  }
  h = (s[0] - '0') * 10 + (s[1] - '0');
  m = (s[3] - '0') * 10 + (s[4] - '0');
  return h > 23 ? -1 : h * 60 + m;
}

static int check_hm(const char *s, size_t len) {
  return hm_minutes(s, len) >= 0;
}

static const vformat HOUR_MINUTE = {
    check_hm, "must be a time in H:i format, 00:00 to 23:59, with two-digit hours "
              "(e.g. 09:00)"};

/* Documented defaults when a bound is left out. */
#define DEFAULT_START "00:00"
#define DEFAULT_END "23:59"

/* The minutes of a valid time field, -1 when absent, -2 when not valid
 * (its own check has reported that). */
static int field_minutes(vctx *ctx, int idx, const char *name) {
  int m = -1;
  v_get(ctx, idx, name);
  if (lua_type(ctx->L, -1) == LUA_TSTRING) {
    size_t len;
    const char *s = lua_tolstring(ctx->L, -1, &len);
    m = hm_minutes(s, len);
    if (m < 0) {
      m = -2;
    }
  } else if (!lua_isnil(ctx->L, -1)) {
    m = -2;
  }
  lua_pop(ctx->L, 1);
  return m;
}

/* The window is one stretch of a day: the start comes before the end. A bound
 * that is left out takes its documented default, so a lone start of 23:59 or a
 * lone end of 00:00 leaves no time to call in. */
static void hours_rule(vctx *ctx, int idx) {
  int start = field_minutes(ctx, idx, "allowed_hours_start_time");
  int end = field_minutes(ctx, idx, "allowed_hours_end_time");
  if (start == -2 || end == -2 || (start == -1 && end == -1)) {
    return;
  }
  if (end == -1 && start >= hm_minutes(DEFAULT_END, 5)) {
    v_error_at(ctx, "allowed_hours_start_time",
               "must be before allowed_hours_end_time (" DEFAULT_END " when not given)");
  } else if (start == -1 && end <= hm_minutes(DEFAULT_START, 5)) {
    v_error_at(ctx, "allowed_hours_end_time",
               "must be after allowed_hours_start_time (" DEFAULT_START " when not given)");
  } else if (start >= 0 && end >= 0 && end <= start) {
    v_error_at(ctx, "allowed_hours_end_time",
               "must be after allowed_hours_start_time: the calling window is one "
               "stretch of a day (start before end)");
  }
}

static void create_rules(vctx *ctx, int idx) {
  hours_rule(ctx, idx);
}

/* ---- the schemas -------------------------------------------------------- */

static const char *const weekdays[] = {"monday", "tuesday", "wednesday", "thursday",
                                       "friday", "saturday", "sunday", NULL};
static const vfield weekday = {.name = "day", .type = VT_STRING, .enums = weekdays};

/* Ids are positive integers (the create response's id is one). */
static const vfield phone_number_id = {.name = "id", .type = VT_INTEGER, .flags = VF_MIN,
                                       .min = 1};

static const vfield create_fields[] = {
    {.name = "name", .type = VT_STRING, .flags = VF_REQUIRED | VF_MIN | VF_MAX, .min = 1,
     .max = 255},
    {.name = "assistant_id", .type = VT_INTEGER, .flags = VF_REQUIRED | VF_MIN, .min = 1},
    {.name = "timezone", .type = VT_STRING, .format = &V_IANA_TZ},
    {.name = "max_calls_in_parallel", .type = VT_INTEGER, .flags = VF_MIN | VF_MAX, .min = 1,
     .max = 10},
    {.name = "allowed_hours_start_time", .type = VT_STRING, .format = &HOUR_MINUTE},
    {.name = "allowed_hours_end_time", .type = VT_STRING, .format = &HOUR_MINUTE},
    {.name = "allowed_days", .type = VT_ARRAY, .flags = VF_UNIQUE, .items = &weekday},
    {.name = "max_retries", .type = VT_INTEGER, .flags = VF_MIN | VF_MAX, .min = 1, .max = 5},
    {.name = "retry_interval", .type = VT_INTEGER, .flags = VF_MIN | VF_MAX, .min = 10,
     .max = 4320},
    {.name = "retry_on_voicemail", .type = VT_BOOLEAN},
    {.name = "retry_on_goal_incomplete", .type = VT_BOOLEAN},
    {.name = "goal_completion_variable", .type = VT_STRING, .flags = VF_MIN | VF_MAX,
     .min = 1, .max = 255},
    {.name = "mark_complete_when_no_leads", .type = VT_BOOLEAN},
    {.name = "phone_number_ids", .type = VT_ARRAY, .flags = VF_UNIQUE,
     .items = &phone_number_id},
    V_END,
};

/* GET /user/campaigns documents no query parameters: an empty field table,
 * so that a filter is reported instead of silently dropped. */
static const vfield list_fields[] = {
    V_END,
};

static const vobject create_body = {create_fields, create_rules, 0};
static const vobject list_query = {list_fields, NULL, 0};

const vschema autocalls_schemas[] = {
    {"autocalls.create", &create_body, 0},
    {"autocalls.list", &list_query, 0},
    {NULL, NULL, 0},
};
