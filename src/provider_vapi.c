/* Vapi: the fields of CreateCampaignDTO / UpdateCampaignDTO (Vapi's OpenAPI
 * spec) and the rules its field descriptions state in prose. */
#include <string.h>
#include <strings.h>

#include "hints.h"
#include "providers.h"
#include "text.h"

/* ---- customers -------------------------------------------------------- */

static int check_sip_uri(const char *s, size_t len) {
  return (len > 4 && strncmp(s, "sip:", 4) == 0) || (len > 5 && strncmp(s, "sips:", 5) == 0);
}
static const vformat SIP_URI = {check_sip_uri, "must be a SIP URI, e.g. sip:alice@example.com"};

/* With numberE164CheckEnabled = false Vapi still requires /^\+?[a-zA-Z0-9]+$/. */
static int check_loose_number(const char *s, size_t len) {
  size_t i = (len > 0 && s[0] == '+') ? 1 : 0;
  if (i == len) {
    return 0;
  }
  for (; i < len; i++) {
    char c = s[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
      return 0;
    }
  }
  return 1;
}

/* What a number that fails its check is, for the advice that goes with it
 * (numberE164CheckEnabled is offered only where it is what would let the
 * value through):
 * - a SIP address: "sip:" or "sips:" in any case, or an "@" anywhere. No
 *   setting makes number take it; it belongs in sipUri.
 * - a dial string of a SIP trunk: letters and digits, at least one letter,
 *   with an optional leading + ("alice42"). numberE164CheckEnabled = false
 *   is what lets number take it.
 * - anything else is a phone number written wrongly ("+1-415-555-0101",
 *   "4155550101"): what E.164 is, and the number without its separators
 *   when that one is E.164. Digits alone are read this way too: a national
 *   number without its country code is a commoner mistake than a trunk's
 *   short extension. */
static int sip_address(const char *s, size_t len) {
  return (len > 4 && strncasecmp(s, "sip:", 4) == 0) ||
         (len > 5 && strncasecmp(s, "sips:", 5) == 0) || memchr(s, '@', len) != NULL;
}

static int has_letter(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++) {
    if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')) {
      return 1;
    }
  }
  return 0;
}

#define SIP_ADVICE ": a SIP address goes in sipUri, not number"
#define TRUNK_ADVICE " (or set numberE164CheckEnabled = false for non-E.164 SIP numbers)"
#define LOOSE_MESSAGE \
  "must be letters and digits with an optional leading + (even with numberE164CheckEnabled = false)"

/* Reports number (len bytes), which its check refused, at the current path. */
static void number_error(vctx *ctx, const char *number, size_t len, int e164) {
  char shown[TEXT_SHOWN_SIZE], plain[48];
  size_t n;
  if (e164) {
    const char *advice = NULL;
    if (sip_address(number, len)) {
      advice = SIP_ADVICE;
    } else if (has_letter(number, len) && check_loose_number(number, len)) {
      advice = TRUNK_ADVICE;
    }
    hint_e164_error(ctx, number, len, advice);
    return;
  }
  text_shown_name(shown, sizeof shown, number, len);
  n = hint_without_separators(number, len, plain, sizeof plain);
  if (sip_address(number, len)) {
    v_error(ctx, "\"%s\" " LOOSE_MESSAGE SIP_ADVICE, shown);
  } else if (n >= 3 && check_loose_number(plain, n)) {
    v_error(ctx, "\"%s\" " LOOSE_MESSAGE "; did you mean \"%s\"?", shown, plain);
  } else {
    v_error(ctx, "\"%s\" " LOOSE_MESSAGE, shown);
  }
}

static void customer_rules(vctx *ctx, int idx) {
  size_t len;
  const char *number = v_get_string(ctx, idx, "number", &len);
  int e164;
  if (!number && !v_has(ctx, idx, "number") && !v_has(ctx, idx, "sipUri")) {
    v_error_at(ctx, "number", "is required (or sipUri): a customer needs something to call");
    return;
  }
  e164 = v_get_boolean(ctx, idx, "numberE164CheckEnabled") != 0;
  /* Lengths (3..40) were checked with the field, and text that is not
   * UTF-8 or has a NUL byte was reported there; only the shape is left
   * (a number of the right shape is ASCII: the UTF-8 check is for the
   * others only). */
  if (number && len >= 3 && len <= 40 &&
      !(e164 ? V_E164.check(number, len) : check_loose_number(number, len)) &&
      text_utf8_length((const unsigned char *)number, len) >= 0) {
    int old = v_path_push(ctx, "number");
    number_error(ctx, number, len, e164);
    v_path_pop(ctx, old);
  }
}

static const vfield customer_fields[] = {
    {.name = "number", .type = VT_STRING, .flags = VF_MIN | VF_MAX, .min = 3, .max = 40},
    {.name = "numberE164CheckEnabled", .type = VT_BOOLEAN},
    {.name = "sipUri", .type = VT_STRING, .format = &SIP_URI},
    {.name = "extension", .type = VT_STRING, .flags = VF_MIN | VF_MAX, .min = 1, .max = 10},
    {.name = "name", .type = VT_STRING, .flags = VF_MAX, .max = 40},
    {.name = "email", .type = VT_STRING, .flags = VF_MAX, .max = 40},
    {.name = "externalId", .type = VT_STRING, .flags = VF_MAX, .max = 40},
    {.name = "assistantOverrides", .type = VT_MAP},
    {.name = "squadOverrides", .type = VT_MAP},
    V_END,
};
static const vobject customer = {customer_fields, customer_rules, 0};
static const vfield customer_item = {.name = "customer", .type = VT_OBJECT, .object = &customer};

#define MAX_CUSTOMERS 10000

/* ---- dial plan, schedule, server --------------------------------------- */

static const vfield dial_plan_entry_fields[] = {
    {.name = "phoneNumberId", .type = VT_STRING, .flags = VF_REQUIRED | VF_MIN, .min = 1},
    {.name = "customers", .type = VT_ARRAY, .flags = VF_REQUIRED | VF_MAX, .max = MAX_CUSTOMERS,
     .items = &customer_item},
    V_END,
};
static const vobject dial_plan_entry = {dial_plan_entry_fields, NULL, 0};
static const vfield dial_plan_item = {.name = "entry", .type = VT_OBJECT, .object = &dial_plan_entry};

static double field_time(vctx *ctx, int idx, const char *name, int *ok) {
  size_t len;
  double t = 0;
  const char *s;
  v_get(ctx, idx, name);
  *ok = 0;
  if (lua_type(ctx->L, -1) == LUA_TSTRING) {
    s = lua_tolstring(ctx->L, -1, &len);
    *ok = v_parse_datetime(s, len, &t);
  }
  lua_pop(ctx->L, 1);
  return t;
}

static void schedule_rules(vctx *ctx, int idx) {
  int ok1, ok2;
  double earliest = field_time(ctx, idx, "earliestAt", &ok1);
  double latest = field_time(ctx, idx, "latestAt", &ok2);
  if (ok1 && ok2 && latest <= earliest) {
    v_error_at(ctx, "latestAt", "must be after earliestAt");
  }
}

static const vfield schedule_fields[] = {
    {.name = "earliestAt", .type = VT_STRING, .flags = VF_REQUIRED, .format = &V_DATETIME},
    {.name = "latestAt", .type = VT_STRING, .format = &V_DATETIME},
    V_END,
};
static const vobject schedule_plan = {schedule_fields, schedule_rules, 0};

static const char *const backoff_types[] = {"fixed", "exponential", NULL};
static const vfield status_code = {.name = "code", .type = VT_INTEGER, .flags = VF_MIN | VF_MAX,
                                   .min = 100, .max = 599};
static const vfield backoff_fields[] = {
    {.name = "type", .type = VT_STRING, .flags = VF_REQUIRED, .enums = backoff_types},
    {.name = "maxRetries", .type = VT_INTEGER, .flags = VF_REQUIRED | VF_MIN | VF_MAX, .min = 0,
     .max = 10},
    {.name = "baseDelaySeconds", .type = VT_NUMBER, .flags = VF_REQUIRED | VF_MIN | VF_MAX,
     .min = 0, .max = 10},
    {.name = "excludedStatusCodes", .type = VT_ARRAY, .items = &status_code},
    V_END,
};
static const vobject backoff_plan = {backoff_fields, NULL, 0};

static const vfield header_value = {.name = "header", .type = VT_STRING};
static const vfield path_item = {.name = "path", .type = VT_STRING, .flags = VF_MIN, .min = 1};
static const vfield server_fields[] = {
    {.name = "url", .type = VT_STRING, .format = &V_HTTP_URL},
    {.name = "timeoutSeconds", .type = VT_NUMBER, .flags = VF_MIN | VF_MAX, .min = 1, .max = 300},
    {.name = "credentialId", .type = VT_STRING, .flags = VF_MIN, .min = 1},
    {.name = "staticIpAddressesEnabled", .type = VT_BOOLEAN},
    {.name = "encryptedPaths", .type = VT_ARRAY, .items = &path_item},
    {.name = "headers", .type = VT_MAP, .items = &header_value},
    {.name = "backoffPlan", .type = VT_OBJECT, .object = &backoff_plan},
    V_END,
};
static const vobject server = {server_fields, NULL, 0};

static const vfield predial_fields[] = {
    {.name = "enabled", .type = VT_BOOLEAN},
    V_END,
};
static const vobject predial_plan = {predial_fields, NULL, 0};

static const char *const server_messages[] = {
    "campaign.started",   "campaign.cancelled",    "campaign.ended",
    "campaign.archived",  "campaign.unarchived",   "contact.dispatched",
    "contact.completed",  "contact.failed",        "contact.skipped",
    "contact.predial-failed", "campaign.job.continued", NULL};
static const vfield server_message = {.name = "message", .type = VT_STRING,
                                      .enums = server_messages};

/* ---- cross-field rules ------------------------------------------------ */

static const char *const targets[] = {"assistantId", "workflowId", "squadId"};

/* Only one of assistantId / workflowId / squadId; returns how many are set. */
static int one_target(vctx *ctx, int idx) {
  const char *first = NULL;
  int count = 0;
  for (int i = 0; i < 3; i++) {
    if (v_has(ctx, idx, targets[i])) {
      if (first) {
        v_error_at(ctx, targets[i], "cannot be combined with %s: only one of assistantId, "
                                    "workflowId and squadId can be used", first);
      } else {
        first = targets[i];
      }
      count++;
    }
  }
  return count;
}

static void phone_exclusive(vctx *ctx, int idx) {
  if (v_has(ctx, idx, "phoneNumberId") && v_has(ctx, idx, "dialPlan")) {
    v_error_at(ctx, "dialPlan", "cannot be combined with phoneNumberId: they are "
                                "mutually exclusive");
  }
}

static long list_length(vctx *ctx, int idx, const char *name) {
  long n = 0;
  v_get(ctx, idx, name);
  if (lua_istable(ctx->L, -1)) {
    n = (long)lua_rawlen(ctx->L, -1);
  }
  lua_pop(ctx->L, 1);
  return n;
}

static void create_rules(vctx *ctx, int idx) {
  lua_State *L = ctx->L;
  int duplicate = v_has(ctx, idx, "duplicateFromCampaignId");
  int dial_plan = v_has(ctx, idx, "dialPlan");
  if (one_target(ctx, idx) == 0 && !duplicate) {
    v_error_at(ctx, "assistantId", "is required: give one of assistantId, workflowId or "
                                   "squadId (or duplicateFromCampaignId)");
  }
  phone_exclusive(ctx, idx);
  if (!dial_plan && !duplicate && !v_has(ctx, idx, "phoneNumberId")) {
    v_error_at(ctx, "phoneNumberId", "is required when dialPlan is not given");
  }
  if (!dial_plan && !duplicate && !v_has(ctx, idx, "customers")) {
    v_error_at(ctx, "customers", "is required when dialPlan is not given");
  }
  if (dial_plan && v_has(ctx, idx, "customers")) {
    v_error_at(ctx, "customers", "cannot be combined with dialPlan: put the customers in "
                                 "each dialPlan entry");
  }
  if (v_is(ctx, idx, "dialPlan", LUA_TTABLE)) {
    long total = 0, n;
    v_get(ctx, idx, "dialPlan");
    n = (long)lua_rawlen(L, -1);
    for (long i = 1; i <= n; i++) {
      lua_rawgeti(L, -1, (int)i);
      if (lua_istable(L, -1)) {
        total += list_length(ctx, lua_gettop(L), "customers");
      }
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
    if (total > MAX_CUSTOMERS) {
      v_error_at(ctx, "dialPlan", "has %ld customers in all: a campaign takes at most %d",
                 total, MAX_CUSTOMERS);
    }
  }
  if (v_has(ctx, idx, "predialPlan") && !v_has(ctx, idx, "server")) {
    v_error_at(ctx, "predialPlan", "requires server: the pre-dial webhook goes to server.url");
  }
}

static void update_rules(vctx *ctx, int idx) {
  one_target(ctx, idx);
  phone_exclusive(ctx, idx);
}

/* ---- the schemas ------------------------------------------------------ */

#define ID_FIELD(n) {.name = n, .type = VT_STRING, .flags = VF_MIN, .min = 1}

static const vfield create_fields[] = {
    {.name = "name", .type = VT_STRING, .flags = VF_REQUIRED | VF_MIN, .min = 1},
    ID_FIELD("assistantId"),
    ID_FIELD("workflowId"),
    ID_FIELD("squadId"),
    ID_FIELD("phoneNumberId"),
    {.name = "dialPlan", .type = VT_ARRAY, .items = &dial_plan_item},
    {.name = "schedulePlan", .type = VT_OBJECT, .object = &schedule_plan},
    {.name = "customers", .type = VT_ARRAY, .flags = VF_MAX, .max = MAX_CUSTOMERS,
     .items = &customer_item},
    {.name = "maxConcurrency", .type = VT_INTEGER, .flags = VF_MIN, .min = 1},
    {.name = "assistantOverrides", .type = VT_MAP},
    {.name = "squadOverrides", .type = VT_MAP},
    {.name = "server", .type = VT_OBJECT, .object = &server},
    {.name = "serverMessages", .type = VT_ARRAY, .flags = VF_UNIQUE, .items = &server_message},
    {.name = "predialPlan", .type = VT_OBJECT, .object = &predial_plan},
    ID_FIELD("duplicateFromCampaignId"),
    {.name = "status", .type = VT_FORBIDDEN,
     .note = "cannot be set on create: a campaign is scheduled by schedulePlan or starts "
             "at once; use update (or stop) to cancel it"},
    V_END,
};

#define NOT_UPDATABLE "cannot be changed after the campaign is created"
#define UPDATE_TAKES                                                                   \
  "is not part of Vapi's update: it takes name, assistantId, workflowId, squadId, " \
  "phoneNumberId, dialPlan, schedulePlan and status"

static const char *const update_status[] = {"cancelled", "ended", NULL};

static const vfield update_fields[] = {
    {.name = "name", .type = VT_STRING, .flags = VF_MIN, .min = 1},
    ID_FIELD("assistantId"),
    ID_FIELD("workflowId"),
    ID_FIELD("squadId"),
    ID_FIELD("phoneNumberId"),
    {.name = "dialPlan", .type = VT_ARRAY, .items = &dial_plan_item},
    {.name = "schedulePlan", .type = VT_OBJECT, .object = &schedule_plan},
    {.name = "status", .type = VT_STRING, .enums = update_status},
    {.name = "customers", .type = VT_FORBIDDEN, .note = NOT_UPDATABLE},
    {.name = "maxConcurrency", .type = VT_FORBIDDEN, .note = NOT_UPDATABLE},
    {.name = "duplicateFromCampaignId", .type = VT_FORBIDDEN, .note = NOT_UPDATABLE},
    {.name = "assistantOverrides", .type = VT_FORBIDDEN, .note = UPDATE_TAKES},
    {.name = "squadOverrides", .type = VT_FORBIDDEN, .note = UPDATE_TAKES},
    {.name = "server", .type = VT_FORBIDDEN, .note = UPDATE_TAKES},
    {.name = "serverMessages", .type = VT_FORBIDDEN, .note = UPDATE_TAKES},
    {.name = "predialPlan", .type = VT_FORBIDDEN, .note = UPDATE_TAKES},
    V_END,
};

static const char *const list_status[] = {"scheduled", "in-progress", "ended", "cancelled",
                                          "archived", NULL};
static const char *const sort_order[] = {"ASC", "DESC", NULL};
static const char *const sort_by[] = {"createdAt", "duration", "cost", NULL};
#define TIME_FILTER(n) {.name = n, .type = VT_STRING, .format = &V_DATETIME}

static const vfield list_fields[] = {
    ID_FIELD("id"),
    {.name = "status", .type = VT_STRING, .enums = list_status},
    {.name = "includeCounters", .type = VT_BOOLEAN},
    {.name = "page", .type = VT_INTEGER, .flags = VF_MIN, .min = 1},
    {.name = "sortOrder", .type = VT_STRING, .enums = sort_order},
    {.name = "sortBy", .type = VT_STRING, .enums = sort_by},
    {.name = "limit", .type = VT_INTEGER, .flags = VF_MIN | VF_MAX, .min = 0, .max = 1000},
    TIME_FILTER("createdAtGt"),
    TIME_FILTER("createdAtLt"),
    TIME_FILTER("createdAtGe"),
    TIME_FILTER("createdAtLe"),
    TIME_FILTER("updatedAtGt"),
    TIME_FILTER("updatedAtLt"),
    TIME_FILTER("updatedAtGe"),
    TIME_FILTER("updatedAtLe"),
    V_END,
};

static const vobject create_body = {create_fields, create_rules, 0};
static const vobject update_body = {update_fields, update_rules, 0};
static const vobject list_query = {list_fields, NULL, 0};

const vschema vapi_schemas[] = {
    {"vapi.create", &create_body, 0},
    {"vapi.update", &update_body, 1},
    {"vapi.list", &list_query, 0},
    {NULL, NULL, 0},
};
