-- Every rule of Vapi's create and update (seed 003, Vapi's OpenAPI DTOs and
-- the provider notes): a good value is accepted, a bad one is rejected with
-- the field named and the expected message. No network: prepare only.
local campaign = require "campaign"
local check = require "helpers.check"

local with, NIL = check.with, check.NIL

local c = campaign.client { provider = "vapi", api_key = "vapi-test-key" }

local BASE = {
  name = "Q2 Sales Campaign",
  assistantId = "a1b2c3d4-0000-4000-8000-000000000001",
  phoneNumberId = "a1b2c3d4-0000-4000-8000-000000000002",
  customers = { { number = "+14155551234" } },
}

local function ok(changes) return check.accepts(c, "create", with(BASE, changes)) end
local function bad(changes, field, text) return check.rejects(c, "create", with(BASE, changes), field, text) end

local function customers(n, number)
  local list = {}
  for i = 1, n do list[i] = { number = number or string.format("+1415%07d", i) } end
  return list
end

describe("vapi create", function()
  it("accepts the minimal campaign and sends it unchanged", function()
    local req, body = ok()
    assert.are.equal("POST", req.method)
    assert.are.equal("https://api.vapi.ai/v2/campaign", req.url)
    assert.are.same(BASE, body)
    assert.are.equal("application/json", req.headers["Content-Type"])
    assert.are.equal("Bearer vapi-test-key", req.headers.Authorization)
  end)

  describe("name", function()
    it("is required", function() bad({ name = NIL }, "name", "is required") end)
    it("must be a string", function() bad({ name = 42 }, "name", "must be a string (got number)") end)
    it("must not be empty", function() bad({ name = "" }, "name", "must not be empty") end)
  end)

  describe("assistantId / workflowId / squadId", function()
    it("takes exactly one of them", function()
      ok({})
      ok({ assistantId = NIL, workflowId = "wf-1" })
      ok({ assistantId = NIL, squadId = "sq-1" })
    end)
    it("rejects two of them", function()
      bad({ squadId = "sq-1" }, "squadId", "cannot be combined with assistantId")
      bad({ assistantId = NIL, workflowId = "wf-1", squadId = "sq-1" }, "squadId",
        "only one of assistantId, workflowId and squadId")
    end)
    it("requires one of them", function()
      bad({ assistantId = NIL }, "assistantId", "give one of assistantId, workflowId or squadId")
    end)
    it("does not require one when duplicating a campaign", function()
      ok({ assistantId = NIL, duplicateFromCampaignId = "c-1" })
    end)
    it("rejects an empty id", function()
      bad({ assistantId = "" }, "assistantId", "must not be empty")
    end)
  end)

  describe("phoneNumberId / dialPlan", function()
    local plan = { { phoneNumberId = "pn-2", customers = { { number = "+14155550000" } } } }
    it("accepts a dialPlan instead of phoneNumberId and customers", function()
      ok({ phoneNumberId = NIL, customers = NIL, dialPlan = plan })
    end)
    it("rejects both", function()
      bad({ customers = NIL, dialPlan = plan }, "dialPlan", "mutually exclusive")
    end)
    it("requires one of them", function()
      bad({ phoneNumberId = NIL }, "phoneNumberId", "is required when dialPlan is not given")
    end)
    it("does not require phoneNumberId or customers when duplicating", function()
      ok({ phoneNumberId = NIL, customers = NIL, duplicateFromCampaignId = "c-1" })
    end)
    it("requires phoneNumberId and customers in each entry", function()
      bad({ phoneNumberId = NIL, customers = NIL, dialPlan = { { customers = plan[1].customers } } },
        "dialPlan[1].phoneNumberId", "is required")
      bad({ phoneNumberId = NIL, customers = NIL, dialPlan = { { phoneNumberId = "pn-2" } } },
        "dialPlan[1].customers", "is required")
    end)
    it("checks the customers inside each entry", function()
      bad({ phoneNumberId = NIL, customers = NIL,
        dialPlan = { plan[1], { phoneNumberId = "pn-3", customers = { { number = "12" } } } } },
        "dialPlan[2].customers[1].number", "must be at least 3 characters")
    end)
    it("counts at most 10,000 customers across the whole dial plan", function()
      ok({ phoneNumberId = NIL, customers = NIL, dialPlan = {
        { phoneNumberId = "pn-2", customers = customers(5000) },
        { phoneNumberId = "pn-3", customers = customers(5000) } } })
      bad({ phoneNumberId = NIL, customers = NIL, dialPlan = {
        { phoneNumberId = "pn-2", customers = customers(5000) },
        { phoneNumberId = "pn-3", customers = customers(5001) } } },
        "dialPlan", "has 10001 customers in all: a campaign takes at most 10000")
    end)
  end)

  describe("customers", function()
    it("is required without a dialPlan", function()
      bad({ customers = NIL }, "customers", "is required when dialPlan is not given")
    end)
    it("cannot be combined with a dialPlan", function()
      bad({ phoneNumberId = NIL, dialPlan = { { phoneNumberId = "pn", customers = customers(1) } } },
        "customers", "put the customers in each dialPlan entry")
    end)
    it("takes at most 10,000", function()
      ok({ customers = customers(10000) })
      bad({ customers = customers(10001) }, "customers", "must have at most 10000 items (got 10001)")
    end)
    it("rejects an empty list, which JSON would carry as an object", function()
      bad({ customers = {} }, "customers", "is empty")
    end)
    it("rejects a list with holes", function()
      bad({ customers = { [1] = { number = "+14155551234" }, [3] = { number = "+14155551235" } } },
        "customers", "is a list with holes")
    end)
    it("rejects a table of named fields where a list is expected", function()
      bad({ customers = { number = "+14155551234" } }, "customers", "must be a list")
    end)
    it("needs a number or a sipUri", function()
      ok({ customers = { { sipUri = "sip:alice@example.com" } } })
      bad({ customers = { { name = "Alice" } } }, "customers[1].number", "is required (or sipUri)")
    end)
    it("takes a SIP URI only in sip: form", function()
      bad({ customers = { { sipUri = "alice@example.com" } } }, "customers[1].sipUri",
        "must be a SIP URI")
    end)
  end)

  describe("customer number", function()
    it("accepts E.164 numbers", function()
      ok({ customers = { { number = "+14155551234" }, { number = "+442071838750" },
        { number = "+123" }, { number = "+123456789012345" } } })
    end)
    for _, number in ipairs({ "4155551234", "+04155551234", "+1 415 555 1234", "+1415555123x",
      "+1234567890123456", "++14155551234" }) do
      it("rejects " .. number, function()
        bad({ customers = { { number = number } } }, "customers[1].number",
          "must be E.164, e.g. +14155551234")
      end)
    end
    it("names the customer by its position", function()
      bad({ customers = { { number = "+14155551234" }, { number = "+14155551235" },
        { number = "555" } } }, "customers[3].number", "must be E.164")
    end)
    it("is 3 to 40 characters", function()
      bad({ customers = { { number = "+1" } } }, "customers[1].number",
        "must be at least 3 characters (got 2)")
      ok({ customers = { { number = string.rep("a", 40), numberE164CheckEnabled = false } } })
      bad({ customers = { { number = string.rep("a", 41), numberE164CheckEnabled = false } } },
        "customers[1].number", "must be at most 40 characters (got 41)")
    end)
    it("takes non-E.164 numbers when numberE164CheckEnabled is false", function()
      ok({ customers = { { number = "+001234567890", numberE164CheckEnabled = false },
        { number = "1234", numberE164CheckEnabled = false },
        { number = "abc", numberE164CheckEnabled = false } } })
    end)
    it("still requires letters and digits with the check off", function()
      bad({ customers = { { number = "12-34", numberE164CheckEnabled = false } } },
        "customers[1].number", "must be letters and digits with an optional leading +")
    end)
    it("keeps the E.164 check when numberE164CheckEnabled is true", function()
      bad({ customers = { { number = "1234", numberE164CheckEnabled = true } } },
        "customers[1].number", "must be E.164")
    end)
    it("rejects a number given as a Lua number", function()
      bad({ customers = { { number = 14155551234 } } }, "customers[1].number",
        "must be a string (got number)")
    end)
  end)

  describe("customer name, email, externalId, extension", function()
    for _, field in ipairs({ "name", "email", "externalId" }) do
      it(field .. " is at most 40 characters", function()
        ok({ customers = { { number = "+14155551234", [field] = string.rep("x", 40) } } })
        bad({ customers = { { number = "+14155551234", [field] = string.rep("x", 41) } } },
          "customers[1]." .. field, "must be at most 40 characters (got 41)")
      end)
    end
    it("counts characters, not bytes", function()
      ok({ customers = { { number = "+14155551234", name = string.rep("é", 40) } } })
    end)
    it("extension is at most 10 characters", function()
      ok({ customers = { { number = "+14155551234", extension = "1234567890" } } })
      bad({ customers = { { number = "+14155551234", extension = "12345678901" } } },
        "customers[1].extension", "must be at most 10 characters (got 11)")
    end)
    it("takes per-customer assistantOverrides as a table", function()
      ok({ customers = { { number = "+14155551234",
        assistantOverrides = { variableValues = { first = "Ada" } } } } })
      bad({ customers = { { number = "+14155551234", assistantOverrides = "x" } } },
        "customers[1].assistantOverrides", "must be a table of named values")
    end)
  end)

  describe("schedulePlan", function()
    it("takes earliestAt and latestAt as ISO 8601 date-times", function()
      ok({ schedulePlan = { earliestAt = "2026-05-14T09:00:00Z" } })
      ok({ schedulePlan = { earliestAt = "2026-05-14T09:00:00.250+02:00",
        latestAt = "2026-05-14T17:00:00+02:00" } })
    end)
    it("requires earliestAt", function()
      bad({ schedulePlan = { latestAt = "2026-05-14T09:00:00Z" } }, "schedulePlan.earliestAt",
        "is required")
    end)
    for _, value in ipairs({ "2026-05-14", "2026-05-14 09:00:00Z", "2026-02-30T09:00:00Z",
      "2026-05-14T25:00:00Z", "2026-05-14T09:00:00", "tomorrow" }) do
      it("rejects " .. value, function()
        bad({ schedulePlan = { earliestAt = value } }, "schedulePlan.earliestAt",
          "must be an ISO 8601 date-time with a time zone")
      end)
    end
    it("requires latestAt after earliestAt, comparing instants across zones", function()
      bad({ schedulePlan = { earliestAt = "2026-05-14T09:00:00Z", latestAt = "2026-05-14T08:00:00Z" } },
        "schedulePlan.latestAt", "must be after earliestAt")
      bad({ schedulePlan = { earliestAt = "2026-05-14T09:00:00Z", latestAt = "2026-05-14T09:00:00Z" } },
        "schedulePlan.latestAt", "must be after earliestAt")
      -- 10:00+02:00 is 08:00Z: before 09:00Z.
      ok({ schedulePlan = { earliestAt = "2026-05-14T10:00:00+02:00", latestAt = "2026-05-14T09:00:00Z" } })
      bad({ schedulePlan = { earliestAt = "2026-05-14T09:00:00Z", latestAt = "2026-05-14T10:00:00+02:00" } },
        "schedulePlan.latestAt", "must be after earliestAt")
    end)
  end)

  describe("maxConcurrency", function()
    it("is an integer of at least 1", function()
      ok({ maxConcurrency = 1 })
      ok({ maxConcurrency = 50 })
      bad({ maxConcurrency = 0 }, "maxConcurrency", "must be at least 1 (got 0)")
      bad({ maxConcurrency = 2.5 }, "maxConcurrency", "must be an integer (got 2.5)")
      bad({ maxConcurrency = "10" }, "maxConcurrency", "must be an integer (got string)")
    end)
    it("rejects NaN and infinities", function()
      bad({ maxConcurrency = 0 / 0 }, "maxConcurrency", "must be a finite number (got NaN)")
      bad({ maxConcurrency = math.huge }, "maxConcurrency", "must be a finite number (got infinity)")
    end)
    it("rejects integers JSON would round", function()
      bad({ maxConcurrency = 2 ^ 53 }, "maxConcurrency", "is too large to send exactly")
    end)
  end)

  describe("predialPlan and server", function()
    it("predialPlan requires server", function()
      bad({ predialPlan = { enabled = true } }, "predialPlan", "requires server")
      ok({ predialPlan = { enabled = true }, server = { url = "https://hooks.example.com/vapi" } })
    end)
    it("server.url is an http(s) URL", function()
      bad({ server = { url = "hooks.example.com" } }, "server.url", "must be an http:// or https:// URL")
    end)
    it("server.timeoutSeconds is 1..300", function()
      ok({ server = { url = "https://h.example.com", timeoutSeconds = 300 } })
      bad({ server = { url = "https://h.example.com", timeoutSeconds = 301 } },
        "server.timeoutSeconds", "must be between 1 and 300 (got 301)")
    end)
    it("server.headers are strings", function()
      ok({ server = { url = "https://h.example.com", headers = { ["X-Token"] = "t" } } })
      bad({ server = { url = "https://h.example.com", headers = { ["X-Token"] = 1 } } },
        "server.headers.X-Token", "must be a string")
    end)
    it("server.backoffPlan follows BackoffPlan", function()
      ok({ server = { url = "https://h.example.com",
        backoffPlan = { type = "exponential", maxRetries = 3, baseDelaySeconds = 1 } } })
      bad({ server = { url = "https://h.example.com",
        backoffPlan = { type = "linear", maxRetries = 11, baseDelaySeconds = 1 } } },
        "server.backoffPlan.type", 'must be one of "fixed", "exponential" (got "linear")')
      bad({ server = { url = "https://h.example.com",
        backoffPlan = { type = "fixed", maxRetries = 11, baseDelaySeconds = 1 } } },
        "server.backoffPlan.maxRetries", "must be between 0 and 10 (got 11)")
    end)
    it("serverMessages are known and distinct", function()
      ok({ serverMessages = { "campaign.started", "contact.dispatched" } })
      bad({ serverMessages = { "campaign.started", "campaign.begun" } }, "serverMessages[2]",
        "must be one of")
      bad({ serverMessages = { "campaign.started", "campaign.started" } }, "serverMessages[2]",
        "is a duplicate")
      bad({ serverMessages = { 0 / 0, 0 / 0 } }, "serverMessages[2]", "must be a string (got NaN)")
    end)
  end)

  describe("unknown fields", function()
    it("are rejected with the nearest known name", function()
      bad({ assistantID = "x" }, "assistantID", 'unknown field "assistantID"; did you mean "assistantId"?')
      bad({ custmers = {} }, "custmers", 'did you mean "customers"?')
      bad({ customers = { { numbr = "+14155551234" } } }, "customers[1].numbr",
        'did you mean "number"?')
    end)
    it("are rejected without a suggestion when nothing is close", function()
      local problem = bad({ zzzzzzzz = 1 }, "zzzzzzzz", 'unknown field "zzzzzzzz"')
      assert.is_nil(problem.message:find("did you mean", 1, true))
    end)
    it("pass with the passthrough client option, still checked as JSON", function()
      local p = campaign.client { provider = "vapi", api_key = "k-test-key-1", passthrough = true }
      local _, body = check.accepts(p, "create", with(BASE, { newVapiField = { a = 1 } }))
      assert.are.same({ a = 1 }, body.newVapiField)
      check.rejects(p, "create", with(BASE, { newVapiField = { 1, nil, 3 } }), "newVapiField",
        "is a list with holes")
    end)
    it("status cannot be set on create", function()
      bad({ status = "cancelled" }, "status", "cannot be set on create")
    end)
  end)

  it("reports every problem, not only the first", function()
    local _, err = c:prepare("create", { name = 1, customers = { { number = "1" } }, maxConcurrency = 0 })
    local fields = {}
    for _, p in ipairs(err.errors) do fields[#fields + 1] = p.field end
    assert.are.same({ "assistantId", "customers[1].number", "maxConcurrency", "name",
      "phoneNumberId" }, fields)
  end)
end)

describe("vapi update", function()
  local ID = "a1b2c3d4-0000-4000-8000-00000000000a"
  local function uok(fields) return check.accepts(c, "update", fields, ID) end
  local function ubad(fields, field, text) return check.rejects(c, "update", fields, field, text, ID) end

  it("sends a PATCH with only the given fields", function()
    local req, body = uok({ name = "Renamed" })
    assert.are.equal("PATCH", req.method)
    assert.are.equal("https://api.vapi.ai/v2/campaign/" .. ID, req.url)
    assert.are.same({ name = "Renamed" }, body)
  end)
  it("takes every updatable field", function()
    uok({ name = "n", assistantId = "a", phoneNumberId = "p",
      schedulePlan = { earliestAt = "2026-05-14T09:00:00Z" }, status = "cancelled" })
    uok({ workflowId = "w", dialPlan = { { phoneNumberId = "p", customers = customers(2) } } })
    uok({ status = "ended" })
  end)
  it("takes status cancelled or ended only", function()
    ubad({ status = "paused" }, "status", 'must be one of "cancelled", "ended" (got "paused")')
  end)
  it("refuses customers and maxConcurrency", function()
    ubad({ customers = customers(1) }, "customers", "cannot be changed after the campaign is created")
    ubad({ maxConcurrency = 3 }, "maxConcurrency", "cannot be changed after the campaign is created")
  end)
  it("refuses create-only fields with what update takes", function()
    ubad({ server = { url = "https://h.example.com" } }, "server", "is not part of Vapi's update")
  end)
  it("keeps the create rules that apply", function()
    ubad({ assistantId = "a", squadId = "s" }, "squadId", "cannot be combined with assistantId")
    ubad({ phoneNumberId = "p", dialPlan = { { phoneNumberId = "p", customers = customers(1) } } },
      "dialPlan", "mutually exclusive")
    ubad({ schedulePlan = { earliestAt = "2026-05-14T09:00:00Z", latestAt = "2026-05-13T09:00:00Z" } },
      "schedulePlan.latestAt", "must be after earliestAt")
    ubad({ dialPlan = { { phoneNumberId = "p", customers = { { number = "0" } } } } },
      "dialPlan[1].customers[1].number", "must be at least 3 characters")
  end)
  it("rejects an empty update", function()
    ubad({}, "", "no fields given")
  end)
  it("stop cancels the campaign", function()
    local req = assert(c:prepare("stop", nil, ID))
    assert.are.equal("PATCH", req.method)
    assert.are.same({ status = "cancelled" }, require("cjson").decode(req.body))
  end)
end)

describe("vapi ids in paths", function()
  for _, id in ipairs({ "../campaign", "a/b", "a?b=1", "a#b", "a b", "a\r\nX-Injected: 1", "..", "a%2fb" }) do
    it("refuses " .. string.format("%q", id), function()
      check.rejects(c, "get", nil, "id", "would change the request path", id)
    end)
  end
  it("refuses an empty id", function()
    check.rejects(c, "delete", nil, "id", "must not be empty", "")
  end)
  it("raises when the id is not a string", function()
    assert.has_error(function() c:get(nil) end,
      "campaign vapi get: id must be a string (got nil)")
  end)
end)

describe("vapi list", function()
  it("encodes the query", function()
    local req = check.accepts(c, "list", { status = "in-progress", limit = 10, page = 2 })
    assert.are.equal("GET", req.method)
    assert.are.equal("https://api.vapi.ai/v2/campaign?limit=10&page=2&status=in-progress", req.url)
    assert.is_nil(req.body)
  end)
  it("checks the query against the documented parameters", function()
    check.rejects(c, "list", { status = "running" }, "status", "must be one of")
    check.rejects(c, "list", { limit = 1001 }, "limit", "must be between 0 and 1000 (got 1001)")
    check.rejects(c, "list", { page = 0 }, "page", "must be at least 1 (got 0)")
    check.rejects(c, "list", { createdAtGt = "yesterday" }, "createdAtGt", "ISO 8601")
    check.rejects(c, "list", { sort = "ASC" }, "sort", 'unknown field "sort"')
  end)
  it("percent-encodes values", function()
    local req = check.accepts(c, "list", { id = "a&b=c" })
    assert.are.equal("https://api.vapi.ai/v2/campaign?id=a%26b%3dc", req.url)
  end)
end)

describe("vapi legacy routes", function()
  it("use the unversioned paths with legacy = true", function()
    local l = campaign.client { provider = "vapi", api_key = "k-test-key-1", legacy = true }
    assert.are.equal("https://api.vapi.ai/campaign", check.accepts(l, "create", BASE).url)
    assert.are.equal("https://api.vapi.ai/campaign/abc", check.accepts(l, "update", { name = "x" }, "abc").url)
  end)
end)

describe("vapi start", function()
  it("is unsupported and says why", function()
    local req, err = c:prepare("start", nil, "abc")
    assert.is_nil(req)
    assert.are.equal("unsupported", err.kind)
    assert.truthy(err.message:find("a campaign starts when it is created", 1, true))
  end)
end)
