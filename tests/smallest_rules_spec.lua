-- Every rule of Smallest AI Atoms' "Create a campaign" (seed 004, the Atoms
-- OpenAPI spec in tests/schemas/smallest-atoms.json and the provider notes)
-- and of its list query: a good value is accepted, a bad one is rejected
-- with the field named and the expected message. No network: prepare only.
local campaign = require "campaign"
local check = require "helpers.check"

local with, NIL = check.with, check.NIL

local c = campaign.client { provider = "smallest", api_key = "smallest-test-key" }

-- The request of the docs page's example.
local EXAMPLE = {
  name = "My Campaign",
  audienceId = "60d0fe4f5311236168a109ca",
  agentId = "60d0fe4f5311236168a109ca",
}

local function ok(changes) return check.accepts(c, "create", with(EXAMPLE, changes)) end
local function bad(changes, field, text) return check.rejects(c, "create", with(EXAMPLE, changes), field, text) end

-- Times relative to the clock, far enough from it that the tests hold.
local function utc(offset) return os.date("!%Y-%m-%dT%H:%M:%SZ", os.time() + offset) end
local HOUR = 3600

describe("smallest create", function()
  it("accepts the documented example and sends it unchanged", function()
    local req, body = ok()
    assert.are.equal("POST", req.method)
    assert.are.equal("https://api.smallest.ai/atoms/v1/campaign", req.url)
    assert.are.same(EXAMPLE, body)
    assert.are.equal("application/json", req.headers["Content-Type"])
    assert.are.equal("Bearer smallest-test-key", req.headers.Authorization)
    assert.is_nil(tostring(req):find("smallest-test-key", 1, true))
  end)

  it("accepts every field of the spec", function()
    local fields = with(EXAMPLE, {
      description = "This is a campaign to test the API",
      phoneNumberIds = { "60d0fe4f5311236168a109cb", "60D0FE4F5311236168A109CC" },
      scheduledAt = utc(24 * HOUR),
      maxRetries = 3,
      retryDelay = 15,
    })
    local _, body = check.accepts(c, "create", fields)
    assert.are.same(fields, body)
  end)

  describe("name", function()
    it("is required", function() bad({ name = NIL }, "name", "is required") end)
    it("must be a string", function() bad({ name = 1 }, "name", "must be a string (got number)") end)
    it("must not be empty", function() bad({ name = "" }, "name", "must not be empty") end)
  end)

  describe("description", function()
    it("is an optional string", function()
      ok({ description = "" })
      ok({ description = string.rep("d", 5000) })
      bad({ description = { "x" } }, "description", "must be a string (got table)")
    end)
  end)

  for _, name in ipairs({ "audienceId", "agentId" }) do
    describe(name, function()
      it("is required", function() bad({ [name] = NIL }, name, "is required") end)
      it("is a 24-hex ObjectId, in either case", function()
        ok({ [name] = "000000000000000000000000" })
        ok({ [name] = "ABCDEFabcdef012345678901" })
      end)
      for _, id in ipairs({ "", "60d0fe4f5311236168a109c", "60d0fe4f5311236168a109cab",
        "60d0fe4f5311236168a109cg", "a1b2c3d4-0000-4000-8000-000000000001", "My Agent",
        " 60d0fe4f5311236168a109ca" }) do
        it("rejects " .. string.format("%q", id), function()
          bad({ [name] = id }, name, "must be a 24-character hex ObjectId, e.g. 60d0fe4f5311236168a109ca")
        end)
      end
      it("must be a string", function()
        bad({ [name] = 12345 }, name, "must be a string (got number)")
      end)
    end)
  end

  describe("phoneNumberIds", function()
    it("takes a list of ObjectId strings", function()
      ok({ phoneNumberIds = { "60d0fe4f5311236168a109cb" } })
    end)
    it("rejects other items", function()
      bad({ phoneNumberIds = { "60d0fe4f5311236168a109cb", 42 } }, "phoneNumberIds[2]",
        "must be a string (got number)")
      bad({ phoneNumberIds = { "+14155551234" } }, "phoneNumberIds[1]", "must be a 24-character hex ObjectId")
    end)
    it("must be a non-empty list", function()
      bad({ phoneNumberIds = {} }, "phoneNumberIds", "is empty: leave the field out instead")
      bad({ phoneNumberIds = "60d0fe4f5311236168a109cb" }, "phoneNumberIds",
        "must be a list (a Lua array) (got string)")
    end)
  end)

  describe("scheduledAt", function()
    it("takes an ISO 8601 date-time in the future", function()
      ok({ scheduledAt = utc(HOUR) })
      ok({ scheduledAt = "2099-04-24T10:00:00.000Z" })
      ok({ scheduledAt = "2099-04-24T12:00:00+02:00" })
    end)
    it("rejects a time in the past", function()
      bad({ scheduledAt = utc(-HOUR) }, "scheduledAt", "must be in the future (it is now ")
      bad({ scheduledAt = "2024-01-15T09:30:00Z" }, "scheduledAt",
        "leave it out to create a draft and start it yourself")
    end)
    it("applies the zone offset before comparing", function()
      -- Two hours ahead as wall-clock time, but -03:00 ... +05:00 moves it.
      local wall = os.date("!%Y-%m-%dT%H:%M:%S", os.time() + 2 * HOUR)
      ok({ scheduledAt = wall .. "-03:00" })
      bad({ scheduledAt = wall .. "+05:00" }, "scheduledAt", "must be in the future")
    end)
    for _, at in ipairs({ "2099-04-24", "2099-04-24 10:00:00Z", "2099-04-24T10:00:00",
      "2099-02-30T10:00:00Z", "tomorrow", "" }) do
      it("rejects " .. string.format("%q", at), function()
        bad({ scheduledAt = at }, "scheduledAt", "must be an ISO 8601 date-time with a time zone")
      end)
    end
    it("must be a string", function()
      bad({ scheduledAt = os.time() + HOUR }, "scheduledAt", "must be a string (got number)")
    end)
  end)

  describe("maxRetries", function()
    it("is 0 to 10 (0 disables retries)", function()
      ok({ maxRetries = 0 })
      ok({ maxRetries = 10 })
      bad({ maxRetries = -1 }, "maxRetries", "must be between 0 and 10 (got -1)")
      bad({ maxRetries = 11 }, "maxRetries", "must be between 0 and 10 (got 11)")
    end)
    it("is an integer", function()
      bad({ maxRetries = 2.5 }, "maxRetries", "must be an integer (got 2.5)")
      bad({ maxRetries = "3" }, "maxRetries", "must be an integer (got string)")
    end)
  end)

  describe("retryDelay", function()
    it("is 1 to 1440 minutes", function()
      ok({ retryDelay = 1 })
      ok({ retryDelay = 1440 })
      bad({ retryDelay = 0 }, "retryDelay", "must be between 1 and 1440 (got 0)")
      bad({ retryDelay = 1441 }, "retryDelay", "must be between 1 and 1440 (got 1441)")
    end)
    it("is an integer", function()
      bad({ retryDelay = 15.5 }, "retryDelay", "must be an integer (got 15.5)")
    end)
  end)

  describe("unknown fields", function()
    it("are rejected with the nearest known name", function()
      bad({ agent_id = "60d0fe4f5311236168a109ca" }, "agent_id", 'did you mean "agentId"?')
      bad({ audienceID = "x" }, "audienceID", 'did you mean "audienceId"?')
      bad({ max_retries = 3 }, "max_retries", 'did you mean "maxRetries"?')
      bad({ status = "draft" }, "status", 'unknown field "status"')
    end)
  end)
end)

describe("smallest list query", function()
  local function ok_query(q) return assert(check.accepts(c, "list", q)) end
  local function bad_query(q, field, text) return check.rejects(c, "list", q, field, text) end

  it("sends GET /campaign, with no query string when none is given", function()
    local req = ok_query(nil)
    assert.are.equal("GET", req.method)
    assert.are.equal("https://api.smallest.ai/atoms/v1/campaign", req.url)
    assert.is_nil(req.body)
  end)

  it("encodes every parameter of the spec", function()
    local req = ok_query({ page = 2, offset = 20, status = "running", search = "spring sale & more",
      sortField = "updatedAt", sortOrder = "asc" })
    assert.are.equal("https://api.smallest.ai/atoms/v1/campaign?offset=20&page=2"
      .. "&search=spring+sale+%26+more&sortField=updatedAt&sortOrder=asc&status=running", req.url)
  end)

  it("takes page and offset as integers from 1", function()
    ok_query({ page = 1, offset = 1 })
    bad_query({ page = 0 }, "page", "must be at least 1 (got 0)")
    bad_query({ offset = 0 }, "offset", "must be at least 1 (got 0)")
    bad_query({ page = 1.5 }, "page", "must be an integer (got 1.5)")
    bad_query({ offset = "5" }, "offset", "must be an integer (got string)")
  end)

  it("takes the campaign statuses", function()
    for _, s in ipairs({ "draft", "scheduled", "processing", "running", "paused", "completed",
      "failed" }) do
      ok_query({ status = s })
    end
    bad_query({ status = "active" }, "status",
      'must be one of "draft", "scheduled", "processing", "running", "paused", "completed", '
      .. '"failed" (got "active")')
  end)

  it("sorts by createdAt or updatedAt, asc or desc", function()
    ok_query({ sortField = "createdAt", sortOrder = "desc" })
    bad_query({ sortField = "name" }, "sortField", 'must be one of "createdAt", "updatedAt"')
    bad_query({ sortOrder = "DESC" }, "sortOrder", 'must be one of "asc", "desc" (got "DESC")')
  end)

  it("searches by a string", function()
    bad_query({ search = true }, "search", "must be a string (got boolean)")
  end)

  it("rejects unknown parameters with the nearest known name", function()
    bad_query({ limit = 10 }, "limit", 'unknown field "limit"')
    bad_query({ sort_order = "asc" }, "sort_order", 'did you mean "sortOrder"?')
  end)
end)

describe("smallest lifecycle routes", function()
  local ID = "60d0fe4f5311236168a109ca"
  local base = "https://api.smallest.ai/atoms/v1/campaign/" .. ID

  it("gets and deletes /campaign/{id}", function()
    local req = assert(c:prepare("get", nil, ID))
    assert.are.equal("GET", req.method)
    assert.are.equal(base, req.url)
    req = assert(c:prepare("delete", nil, ID))
    assert.are.equal("DELETE", req.method)
    assert.are.equal(base, req.url)
  end)

  it("starts with POST /campaign/{id}/start and stops with /pause, without a body", function()
    local req = assert(c:prepare("start", nil, ID))
    assert.are.equal("POST", req.method)
    assert.are.equal(base .. "/start", req.url)
    assert.is_nil(req.body)
    req = assert(c:prepare("stop", nil, ID))
    assert.are.equal("POST", req.method)
    assert.are.equal(base .. "/pause", req.url)
  end)

  it("has no update", function()
    local req, err = c:prepare("update", { name = "x" }, ID)
    assert.is_nil(req)
    assert.are.equal("unsupported", err.kind)
    assert.truthy(err.message:find("no update call", 1, true))
  end)
end)
