/* Atlas (youratlas.com): the body of "Create campaign" and "Update full
 * campaign" (the same body on both pages), with the channel matrix that the
 * Create campaign page tabulates. The fields that carry JSON inside a string
 * (TimeWindows, EnrichmentInfoSettings, RedialSettings, IdleMessages) are
 * decoded and checked with lua-cjson in lua/campaign/atlas.lua, which runs
 * before this validator (when the walk meets what it must see first: the
 * .lua marks, VL_* in validate.h); here they are strings. */
#include <string.h>

#include "providers.h"
#include "text.h"

/* ---- formats ---------------------------------------------------------- */

/* 8-4-4-4-12 hex digits: every id in the template catalog has this shape. */
static int check_uuid(const char *s, size_t len) {
  if (len != 36) {
    return 0;
  }
  return s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-' && v_all_hex(s, 8) &&
         v_all_hex(s + 9, 4) && v_all_hex(s + 14, 4) && v_all_hex(s + 19, 4) &&
         v_all_hex(s + 24, 12);
}

static const vformat TEMPLATE_ID = {
    check_uuid, "must be a template id, a UUID such as 6be44833-9133-4639-b6c9-425aee057c1c "
                "(see campaign.templates, or give language and template instead)"};

static int two_digits(const char *s, int *out) {
  if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9') {
    return 0;
  }
  *out = (s[0] - '0') * 10 + (s[1] - '0');
  return 1;
}

/* YYYY-MM-DD, a real day of the Gregorian calendar. */
static int check_date(const char *s, size_t len) {
  int c, y, m, d;
  if (len != 10 || s[4] != '-' || s[7] != '-' || !two_digits(s, &c) || !two_digits(s + 2, &y) ||
      !two_digits(s + 5, &m) || !two_digits(s + 8, &d)) {
    return 0;
  }
  y += c * 100;
  if (m < 1 || m > 12 || d < 1) {
    return 0;
  }
  return d <= v_days_in_month(y, m);
}

/* The docs type StartDate as a datetime; their example sends a plain date. */
static int check_start_date(const char *s, size_t len) {
  return check_date(s, len) || v_parse_datetime(s, len, NULL);
}

static const vformat START_DATE = {
    check_start_date, "must be a date, YYYY-MM-DD (e.g. 2026-05-14), or a date-time with a "
                      "time zone (e.g. 2026-05-14T09:00:00Z)"};

/* ---- the channel matrix ------------------------------------------------ */

enum { OUTBOUND = 1, INBOUND = 2, WEB = 4, MESSAGES = 8, PHONE = OUTBOUND | INBOUND };

/* What names each channel in messages. */
static const struct {
  unsigned channel;
  const char *name;
} channel_names[] = {
    {OUTBOUND, "an outbound phone campaign (campaignType \"1\", CallType \"2\")"},
    {INBOUND, "an inbound phone campaign (campaignType \"1\", CallType \"1\")"},
    {PHONE, "a phone campaign (campaignType \"1\")"},
    {WEB, "a voice bubble (campaignType \"0\" without MessagesCampaign)"},
    {MESSAGES, "a Messages campaign (campaignType \"0\", MessagesCampaign true)"},
    {0, NULL},
};

static const char *channel_name(unsigned channel) {
  for (int i = 0; channel_names[i].name; i++) {
    if (channel_names[i].channel == channel) return channel_names[i].name;
  }
  return "this campaign";
}

/* Fields that belong to some channels only. A feature flag of another
 * channel may still be false (off, the same as leaving it out): the
 * official outbound example sends FeatureAppendPreviousSummaryEnabled false. */
static const struct {
  const char *field;
  unsigned on;
  const char *only;     /* "is %s" */
  int flag;             /* a boolean whose false is harmless anywhere */
} channel_fields[] = {
    {"CallType", PHONE, "only for phone campaigns (campaignType \"1\")", 0},
    {"Position", WEB, "only for a voice bubble", 0},
    {"MessagesCampaign", MESSAGES, "only for a Messages campaign", 0},
    {"StartDate", OUTBOUND, "outbound-only", 0},
    {"TimeWindows", OUTBOUND, "outbound-only", 0},
    {"FeatureRescheduleCallEnabled", OUTBOUND, "outbound-only", 1},
    {"FeatureAppendPreviousSummaryEnabled", INBOUND, "inbound-only", 1},
    {NULL, 0, NULL, 0},
};

/* The string value of a field when it is one of `allowed`, else NULL. */
static const char *enum_value(vctx *ctx, int idx, const char *name, const char *const *allowed) {
  const char *found = NULL;
  size_t len;
  const char *s = v_get_string(ctx, idx, name, &len);
  if (s) {
    for (; *allowed; allowed++) {
      if (strcmp(s, *allowed) == 0) found = *allowed;
    }
  }
  return found;
}

static const char *const campaign_types[] = {"0", "1", NULL};
static const char *const call_types[] = {"1", "2", NULL};
static const char *const positions[] = {"bottom-right", "bottom-left", "bottom-center",
                                        "not-positioned", NULL};

/* The channel that campaignType, CallType and MessagesCampaign select: one
 * of the bits, PHONE when only the family is known, 0 when not even that. */
static unsigned find_channel(vctx *ctx, int idx) {
  lua_State *L = ctx->L;
  const char *type = enum_value(ctx, idx, "campaignType", campaign_types);
  unsigned channel = 0;
  if (!type) {
    return 0;
  }
  if (type[0] == '1') {
    const char *call = enum_value(ctx, idx, "CallType", call_types);
    if (call) return call[0] == '2' ? OUTBOUND : INBOUND;
    if (!v_has(ctx, idx, "CallType")) {
      v_error_at(ctx, "CallType", "is required for a phone campaign (campaignType \"1\"): "
                                  "\"2\" outbound or \"1\" inbound");
    }
    return PHONE;
  }
  v_get(ctx, idx, "MessagesCampaign");
  if (lua_isnil(L, -1)) {
    channel = WEB;
  } else if (lua_type(L, -1) == LUA_TBOOLEAN) {
    if (lua_toboolean(L, -1)) {
      channel = MESSAGES;
    } else {
      v_error_at(ctx, "MessagesCampaign", "must be true or left out: false selects no "
                                          "channel (leave it out for a voice bubble)");
    }
  }
  lua_pop(L, 1);
  return channel;
}

static void channel_rules(vctx *ctx, int idx) {
  unsigned channel = find_channel(ctx, idx);
  if (channel == 0) {
    return;
  }
  for (int i = 0; channel_fields[i].field; i++) {
    const char *field = channel_fields[i].field;
    if ((channel_fields[i].on & channel) || !v_has(ctx, idx, field)) {
      continue;
    }
    if (channel_fields[i].flag && v_get_boolean(ctx, idx, field) == 0) {
      continue;
    }
    v_error_at(ctx, field, "is %s: %s does not take %s (leave it out)", channel_fields[i].only,
               channel_name(channel), field);
  }
  if (channel == WEB && !v_has(ctx, idx, "Position")) {
    v_error_at(ctx, "Position", "is required for %s: one of \"bottom-right\", "
                                "\"bottom-left\", \"bottom-center\", \"not-positioned\"",
               channel_name(WEB));
  }
}

/* ---- ToolIds ------------------------------------------------------------ */

/* "id1,id2": no empty items, no spaces, no id twice. An empty string is no
 * tools at all (a full update replaces the list). */
static void tool_ids_rule(vctx *ctx, int idx) {
  size_t len, start = 0;
  long item = 0;
  const char *s = v_get_string(ctx, idx, "ToolIds", &len);
  if (!s) {
    return;
  }
  while (len > 0 && start <= len) {
    const char *comma = memchr(s + start, ',', len - start);
    size_t end = comma ? (size_t)(comma - s) : len;
    item++;
    if (end == start) {
      v_error_at(ctx, "ToolIds", "has an empty item (number %ld): separate tool ids with "
                                 "single commas, e.g. \"tool-1,tool-2\"", item);
      break;
    }
    for (size_t i = start; i < end; i++) {
      unsigned char c = (unsigned char)s[i];
      if (c <= 0x20 || c == 0x7f) {
        v_error_at(ctx, "ToolIds", "item %ld contains a space or control character: "
                                   "separate tool ids with commas only, e.g. "
                                   "\"tool-1,tool-2\"", item);
        return;
      }
    }
    /* The same id earlier in the list? */
    for (size_t p = 0; p < start;) {
      const char *c2 = memchr(s + p, ',', start - p);
      size_t e2 = (size_t)(c2 - s);
      if (e2 - p == end - start && memcmp(s + p, s + start, end - start) == 0) {
        char shown[TEXT_SHOWN_SIZE];
        text_shown_name(shown, sizeof shown, s + start, end - start);
        v_error_at(ctx, "ToolIds", "lists \"%s\" twice", shown);
        return;
      }
      p = e2 + 1;
    }
    start = end + 1;
  }
}

static void campaign_rules(vctx *ctx, int idx) {
  channel_rules(ctx, idx);
  tool_ids_rule(ctx, idx);
}

/* ---- the body ----------------------------------------------------------- */

#define TEXT(n) {.name = n, .type = VT_STRING}
#define FLAG(n) {.name = n, .type = VT_BOOLEAN}
/* Text that campaign.atlas may rewrite (a Lua value) or checks (JSON in a
 * string): see VL_* in validate.h. */
#define LUA_TEXT(n, what) {.name = n, .type = VT_STRING, .lua = (what)}
/* Enums whose values Atlas does not publish: any non-empty string. */
#define OPEN_ENUM(n) {.name = n, .type = VT_STRING, .flags = VF_MIN, .min = 1}
/* Dropped by campaign.atlas before the walk (a body that get returned may
 * be sent back whole); here, for core.validate, an error. */
#define READ_ONLY(n) {.name = n, .type = VT_FORBIDDEN, .note = READ_ONLY_NOTE, .lua = VL_DROP}
#define READ_ONLY_NOTE                                                                   \
  "is a read-only field of the campaign Atlas returns, not part of the request body: " \
  "leave it out (Client:create and Client:update drop it)"

static const vfield campaign_fields[] = {
    {.name = "name", .type = VT_STRING, .flags = VF_REQUIRED | VF_MIN, .min = 1},
    {.name = "campaignType", .type = VT_STRING, .flags = VF_REQUIRED, .enums = campaign_types,
     .lua = VL_NOT_TEXT},
    {.name = "TemplateId", .type = VT_STRING, .flags = VF_REQUIRED, .format = &TEMPLATE_ID},
    {.name = "CallType", .type = VT_STRING, .enums = call_types, .lua = VL_NOT_TEXT},
    FLAG("MessagesCampaign"),
    {.name = "Position", .type = VT_STRING, .enums = positions},
    TEXT("CompanyName"),
    TEXT("BusinessName"),
    FLAG("IsActive"),
    FLAG("Mode"),
    {.name = "StartDate", .type = VT_STRING, .format = &START_DATE},
    LUA_TEXT("TimeWindows", VL_NOT_TEXT | VL_WINDOWS),
    TEXT("FirstMessage"),
    TEXT("PreScript"),
    TEXT("PostScript"),
    TEXT("ScriptBase"),
    TEXT("ScriptNotes"),
    FLAG("FeatureRescheduleCallEnabled"),
    FLAG("FeatureEnrichmentInfoEnabled"),
    FLAG("FeatureAppendPreviousSummaryEnabled"),
    OPEN_ENUM("EnrichmentInfoProvider"),
    LUA_TEXT("EnrichmentInfoSettings", VL_NOT_TEXT | VL_JSON),
    {.name = "Timezone", .type = VT_STRING, .format = &V_IANA_TZ},
    TEXT("TimezoneFriendlyName"),
    OPEN_ENUM("Status"),
    TEXT("Collection"),
    LUA_TEXT("ToolIds", VL_NOT_TEXT),
    TEXT("SMSTrigger"),
    TEXT("SMSBody"),
    OPEN_ENUM("FirstMessageMode"),
    TEXT("EndCallMessage"),
    TEXT("VoicemailMessage"),
    TEXT("AnalysisPlanSummaryPrompt"),
    FLAG("FeatureEndCallWhenVoicemail"),
    FLAG("FeatureRedialOnNoResponse"),
    LUA_TEXT("RedialSettings", VL_NOT_TEXT | VL_JSON),
    FLAG("FeatureDoubleCall"),
    {.name = "DailyCallLimit", .type = VT_INTEGER, .flags = VF_MIN, .min = 0},
    LUA_TEXT("IdleMessages", VL_NOT_TEXT | VL_JSON),
    FLAG("IsOutboundChatActive"),
    /* In the response only. */
    READ_ONLY("PartitionKey"),
    READ_ONLY("RowKey"),
    READ_ONLY("Timestamp"),
    READ_ONLY("odata.etag"),
    READ_ONLY("SuccessRequest"),
    READ_ONLY("TotalRequest"),
    READ_ONLY("TotalTransfers"),
    READ_ONLY("PhoneNumberId"),
    READ_ONLY("PhoneNumberProvider"),
    READ_ONLY("KnowledgeBaseId"),
    READ_ONLY("KnowledgeBaseDataSetId"),
    READ_ONLY("ForwardingPhoneNumber"),
    READ_ONLY("ChatPhoneNumberId"),
    READ_ONLY("AIAssistantProvider"),
    V_END,
};

static const vfield no_fields[] = {V_END};

static const vobject campaign_body = {campaign_fields, campaign_rules, 0};
/* The agent bodies are not published: any JSON object. */
static const vobject agent_body = {no_fields, NULL, 1};
/* GET /campaign documents no query parameters: a filter given is reported
 * rather than dropped (passthrough sends it anyway). */
static const vobject list_query = {no_fields, NULL, 0};

const vschema atlas_schemas[] = {
    {"atlas.campaign", &campaign_body, 0},
    {"atlas.agent", &agent_body, 0},
    {"atlas.list", &list_query, 0},
    {NULL, NULL, 0},
};
