-- Representative field tables, good and bad, for every provider and
-- operation: the seed corpus is made from them (gen_seeds.lua) and the
-- fuzzer's template tag starts from a copy of one (driver.lua).
-- Each entry: {provider, call, fields, id}; call is one of driver.CALLS.
local samples = {}

local NULL = "\0null" -- gen_seeds.lua writes cjson.null for this string

local function add(provider, call, fields, id)
  samples[#samples + 1] = { provider = provider, call = call, fields = fields, id = id }
end

-- Vapi ---------------------------------------------------------------------
local VAPI = {
  name = "Spring renewals",
  assistantId = "3f1c2a9e-8d4b-4c6f-9a7e-1b2c3d4e5f60",
  phoneNumberId = "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d",
  customers = { { number = "+14155550101", name = "Ada Lovelace" } },
}
add("vapi", "create", VAPI)
add("vapi", "create", {
  name = "Full", workflowId = "w-1",
  dialPlan = { { phoneNumberId = "p-1", customers = { { number = "+14155550101" },
    { sipUri = "sip:alice@example.com", extension = "12" } } } },
  schedulePlan = { earliestAt = "2026-05-14T09:00:00Z", latestAt = "2026-05-14T11:00:00+02:00" },
  maxConcurrency = 5,
  predialPlan = { server = { url = "https://example.com/hook", timeoutSeconds = 20,
    backoffPlan = { type = "exponential", maxRetries = 3, baseDelaySeconds = 1,
      excludedStatusCodes = { 400, 401 } }, headers = { ["X-A"] = "b" } },
    serverMessages = { "campaign.started", "contact.completed" } },
})
add("vapi", "create", {
  name = "Loose", squadId = "s", phoneNumberId = "p",
  customers = { { number = "alice42", numberE164CheckEnabled = false, email = "a@b.c",
    externalId = "x", assistantOverrides = { firstMessage = "hi", variableValues = { a = 1 } } } },
})
add("vapi", "create", { name = "Dup", duplicateFromCampaignId = "c-1" })
add("vapi", "create", {
  name = "", assistantId = 1, workflowId = "w", phoneNumberId = "p",
  dialPlan = {}, customers = { { number = "0123" }, nil, { number = "+1" } },
  schedulePlan = { earliestAt = "2026-13-40T25:61:61Z", latestAt = "yesterday" },
  maxConcurrency = 0.5, status = "ended", assistantID = "typo",
})
add("vapi", "create", {
  name = "NaN", assistantId = "a", phoneNumberId = "p",
  customers = { { number = "+14155550101", name = "Ada\0Lovelace" } },
  maxConcurrency = 0 / 0,
})
add("vapi", "update", { name = "Renamed", status = "cancelled" }, "3f1c2a9e-8d4b")
add("vapi", "update", { customers = { { number = "+14155550101" } }, maxConcurrency = 2 },
  "../../admin")
add("vapi", "update", {}, "c-1?x=1")
add("vapi", "prepare_update", { schedulePlan = { earliestAt = "2026-05-14T09:00:00.123Z" } },
  "abc")
add("vapi", "list", { status = "in-progress", limit = 50, page = 2, sortOrder = "DESC",
  createdAtGt = "2026-01-01T00:00:00Z", includeCounters = true })
add("vapi", "list", { limit = 1001, page = 0, sortBy = "name", bogus = 1 })
add("vapi", "get", nil, "c-1")
add("vapi", "get", nil, "a/b")
add("vapi", "delete", nil, 12345)
add("vapi", "stop", nil, "c-1")
add("vapi", "start", nil, "c-1")
add("vapi", "prepare_create", VAPI)

-- Smallest AI Atoms ---------------------------------------------------------
local SMALLEST = {
  name = "My Campaign",
  audienceId = "60d0fe4f5311236168a109ca",
  agentId = "60d0fe4f5311236168a109ca",
}
add("smallest", "create", SMALLEST)
add("smallest", "create", {
  name = "All", audienceId = "60d0fe4f5311236168a109ca", agentId = "60d0fe4f5311236168a109ca",
  description = "d", phoneNumberIds = { "60d0fe4f5311236168a109cb", "60D0FE4F5311236168A109CC" },
  scheduledAt = "2030-01-01T00:00:00Z", maxRetries = 3, retryDelay = 15,
})
add("smallest", "create", { name = 7, audienceId = "nothex", agentId = {},
  phoneNumberIds = { "x", "x" }, maxRetries = -1, retryDelay = 1e300 })
add("smallest", "list", { page = 1, offset = 10, status = "running", search = "a",
  sortField = "createdAt", sortOrder = "asc" })
add("smallest", "start", nil, "60d0fe4f5311236168a109ca")
add("smallest", "stop", nil, "60d0fe4f5311236168a109ca")
add("smallest", "update", { name = "x" }, "c")
add("smallest", "get", nil, "60d0fe4f5311236168a109ca")

-- Autocalls.ai ---------------------------------------------------------------
add("autocalls", "create", { name = "Product Demo Campaign", assistant_id = 42 })
add("autocalls", "create", {
  name = "Product Demo Campaign", assistant_id = 1, timezone = "America/New_York",
  max_calls_in_parallel = 3, allowed_hours_start_time = "09:00",
  allowed_hours_end_time = "17:00",
  allowed_days = { "monday", "tuesday", "wednesday", "thursday", "friday" },
  max_retries = 3, retry_interval = 60, retry_on_voicemail = true,
  retry_on_goal_incomplete = true, goal_completion_variable = "appointment_booked",
  mark_complete_when_no_leads = true, phone_number_ids = { 11, 12 },
})
add("autocalls", "create", { name = "Bad", assistant_id = 2 ^ 53, timezone = "../etc/passwd",
  allowed_hours_start_time = "25:00", allowed_days = { "funday" }, phone_number_ids = { 1.5 } })
add("autocalls", "create", { name = "Zone", assistant_id = "42", timezone = "Europe/London\0" })
add("autocalls", "list", {})
add("autocalls", "start", nil, 42)
add("autocalls", "stop", nil, "42")
add("autocalls", "delete", nil, "4 2")

-- Atlas ----------------------------------------------------------------------
local ATLAS = {
  name = "Spring Outreach", campaignType = "1", CallType = "2",
  TemplateId = "6be44833-9133-4639-b6c9-425aee057c1c",
}
add("atlas", "create", ATLAS)
add("atlas", "create", {
  name = "My Outbound Campaign", campaignType = "1", CallType = "2",
  CompanyName = "Acme Inc", BusinessName = "Acme",
  TemplateId = "6be44833-9133-4639-b6c9-425aee057c1c",
  FirstMessage = "Hi, this is...", ScriptBase = "...", ScriptNotes = "...",
  Timezone = "America/New_York", TimezoneFriendlyName = "Eastern Time",
  StartDate = "2026-05-14",
  TimeWindows = "[{\"startHour\":8,\"startMinute\":0,\"endHour\":20,\"endMinute\":0}]",
  FeatureRescheduleCallEnabled = false, FeatureEnrichmentInfoEnabled = false,
  FeatureAppendPreviousSummaryEnabled = false,
})
add("atlas", "create", { name = "Web", channel = "web", Position = "bottom-right",
  language = "en-US" })
add("atlas", "create", { name = "Msg", channel = "messages", language = "en-US",
  template = "Sales Qualifications" })
add("atlas", "create", { name = "Windows", channel = "outbound", language = "en-US",
  TimeWindows = { { start = "09:00", stop = "17:00" }, { start = "18:00", stop = "20:00" } },
  ToolIds = { "tool-1", "tool-2" }, RedialSettings = "{\"attempts\":2}" })
add("atlas", "create", { name = "Bad", channel = "fax", campaignType = 3, CallType = 1.5,
  TimeWindows = "9-5", ToolIds = { "a,b", nil, 3 }, IdleMessages = "{not json",
  EnrichmentInfoSettings = { a = 1 } })
add("atlas", "update", ATLAS, "6be44833-9133-4639-b6c9-425aee057c1c")
add("atlas", "attach_agent", { anything = { nested = { 1, 2, 3 } } }, "camp-1")
add("atlas", "attach_agent", { [1] = "list", x = NULL }, "camp-1")
add("atlas", "list", { page = 1 })
add("atlas", "start", nil, "camp-1")
add("atlas", "stop", nil, "camp-1")
add("atlas", "delete", nil, "camp-1")

-- What the writer must get exactly right: numbers at the edges (the sign of
-- zero, integers past 2^53, doubles that need 17 digits), every kind of
-- escape, names that sort by byte value, empty tables.
add("atlas", "attach_agent", {
  n = { -0.0, 9007199254740993, 1 / 3, 0.1 + 0.2, 9223372036854775807, 5e-324, 1e300, -2 ^ 63 },
  s = "tab\tnl\ncr\rq\"b\\c\1d\31 del\127 /slash \226\130\172",
  ["k\31"] = {}, K = { b = 1, B = 2, ["\195\169"] = 3, a = { {} } },
}, "camp-1")

samples.NULL = NULL
return samples
