/* Smallest AI Atoms: the body of POST /campaign and the query of
 * GET /campaign, as Smallest's Atoms OpenAPI spec defines them (bounds
 * included), plus what its field descriptions say in prose. There is no
 * update call. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "providers.h"

/* Agents, audiences and phone numbers are MongoDB documents: their ids are
 * 24-hex ObjectIds (the spec's own example is 60d0fe4f5311236168a109ca).
 * Checking the shape catches a name, or a UUID (the ids of other
 * providers), given by mistake. */
static int check_object_id(const char *s, size_t len) {
  return len == 24 && v_all_hex(s, len);
}

static const vformat OBJECT_ID = {
    check_object_id, "must be a 24-character hex ObjectId, e.g. 60d0fe4f5311236168a109ca"};

/* ---- scheduledAt must be in the future ----------------------------------- */

/* The host clock, read once per check. The rule has no tolerance: a time
 * already past here is past for Smallest too (tests use times an hour or
 * more away from now, so they hold whatever the clock says). */
static double now_seconds(void) {
  return (double)time(NULL);
}

static void create_rules(vctx *ctx, int idx) {
  lua_State *L = ctx->L;
  v_get(ctx, idx, "scheduledAt");
  if (lua_type(L, -1) == LUA_TSTRING) {
    size_t len;
    double at;
    const char *s = lua_tolstring(L, -1, &len);
    double now = now_seconds();
    if (v_parse_datetime(s, len, &at) && at <= now) {
      char shown[32];
      time_t t = (time_t)now;
      struct tm tm;
      if (gmtime_r(&t, &tm) && strftime(shown, sizeof shown, "%Y-%m-%dT%H:%M:%SZ", &tm)) {
        v_error_at(ctx, "scheduledAt", "must be in the future (it is now %s); leave it out "
                                       "to create a draft and start it yourself", shown);
      } else {
        v_error_at(ctx, "scheduledAt", "must be in the future");
      }
    }
  }
  lua_pop(L, 1);
}

/* ---- the schemas -------------------------------------------------------- */

static const vfield phone_number_id = {.name = "id", .type = VT_STRING, .format = &OBJECT_ID};

static const vfield create_fields[] = {
    {.name = "name", .type = VT_STRING, .flags = VF_REQUIRED | VF_MIN, .min = 1},
    {.name = "description", .type = VT_STRING},
    {.name = "audienceId", .type = VT_STRING, .flags = VF_REQUIRED, .format = &OBJECT_ID},
    {.name = "agentId", .type = VT_STRING, .flags = VF_REQUIRED, .format = &OBJECT_ID},
    {.name = "phoneNumberIds", .type = VT_ARRAY, .items = &phone_number_id},
    {.name = "scheduledAt", .type = VT_STRING, .format = &V_DATETIME},
    {.name = "maxRetries", .type = VT_INTEGER, .flags = VF_MIN | VF_MAX, .min = 0, .max = 10},
    {.name = "retryDelay", .type = VT_INTEGER, .flags = VF_MIN | VF_MAX, .min = 1, .max = 1440},
    V_END,
};

static const char *const statuses[] = {"draft",   "scheduled", "processing", "running",
                                       "paused",  "completed", "failed",     NULL};
static const char *const sort_fields[] = {"createdAt", "updatedAt", NULL};
static const char *const sort_orders[] = {"asc", "desc", NULL};

/* The spec gives page and offset (campaigns per page) as plain integers;
 * neither means anything below 1. */
static const vfield list_fields[] = {
    {.name = "page", .type = VT_INTEGER, .flags = VF_MIN, .min = 1},
    {.name = "offset", .type = VT_INTEGER, .flags = VF_MIN, .min = 1},
    {.name = "status", .type = VT_STRING, .enums = statuses},
    {.name = "search", .type = VT_STRING},
    {.name = "sortField", .type = VT_STRING, .enums = sort_fields},
    {.name = "sortOrder", .type = VT_STRING, .enums = sort_orders},
    V_END,
};

static const vobject create_body = {create_fields, create_rules, 0};
static const vobject list_query = {list_fields, NULL, 0};

const vschema smallest_schemas[] = {
    {"smallest.create", &create_body, 0},
    {"smallest.list", &list_query, 0},
    {NULL, NULL, 0},
};
