-- Every body the module accepts for Smallest AI Atoms must also satisfy the
-- official Atoms OpenAPI spec (tests/schemas/smallest-atoms.json, checked by
-- python3-jsonschema): the inline request body of POST /campaign and the
-- query parameters of GET /campaign.
local campaign = require "campaign"
local cjson = require "cjson"
local check = require "helpers.check"

local schema = require "helpers.schema"

local function run_checker(args, bodies)
  return schema.check("smallest-atoms.json", args, bodies)
end

local CREATE = "--path /campaign --method post"
local LIST = "--path /campaign --method get --query"

local c = campaign.client { provider = "smallest", api_key = "smallest-test-key" }

local AGENT, AUDIENCE = "60d0fe4f5311236168a109ca", "60d0fe4f5311236168a109cb"
local function future(hours) return os.date("!%Y-%m-%dT%H:%M:%SZ", os.time() + hours * 3600) end

local creates = {
  { name = "My Campaign", audienceId = AGENT, agentId = AGENT },
  { name = "Everything", description = "This is a campaign to test the API",
    audienceId = AUDIENCE, agentId = AGENT,
    phoneNumberIds = { "60d0fe4f5311236168a109cc", "60d0fe4f5311236168a109cd" },
    scheduledAt = future(24), maxRetries = 3, retryDelay = 15 },
  { name = "Bounds low", audienceId = AUDIENCE, agentId = AGENT, maxRetries = 0, retryDelay = 1 },
  { name = "Bounds high", audienceId = AUDIENCE, agentId = AGENT, maxRetries = 10, retryDelay = 1440,
    scheduledAt = "2099-04-24T10:00:00.000+05:30" },
  { name = "Integral floats", audienceId = AUDIENCE, agentId = AGENT, maxRetries = 2.0, retryDelay = 30.0 },
  { name = "Unicode ✓名前", description = "", audienceId = AUDIENCE, agentId = AGENT },
}

local queries = {
  {},
  { page = 1 },
  { page = 3, offset = 50, status = "paused", search = "spring", sortField = "updatedAt", sortOrder = "asc" },
  { status = "draft", sortField = "createdAt", sortOrder = "desc" },
}

describe("smallest bodies against the official spec", function()
  it("every accepted create body is a valid POST /campaign request body", function()
    local bodies = {}
    for _, fields in ipairs(creates) do
      bodies[#bodies + 1] = check.accepts(c, "create", fields).body
    end
    local ok, out = run_checker(CREATE, bodies)
    assert.is_true(ok, out)
    assert.truthy(out:find(#creates .. " bodies checked against POST /campaign, 0 problems", 1, true), out)
  end)

  it("every accepted list query uses GET /campaign's parameters as declared", function()
    local lines = {}
    for _, query in ipairs(queries) do
      check.accepts(c, "list", query)
      -- An empty Lua table encodes as {}: the empty query is an object too.
      lines[#lines + 1] = cjson.encode(query)
    end
    local ok, out = run_checker(LIST, lines)
    assert.is_true(ok, out)
    assert.truthy(out:find(#queries .. " bodies checked against GET /campaign query, 0 problems", 1, true), out)
  end)

  it("what the spec forbids, the module rejects too", function()
    local base = { name = "x", audienceId = AUDIENCE, agentId = AGENT }
    local cases = {
      { name = check.NIL },
      { agentId = check.NIL },
      { audienceId = check.NIL },
      { name = 5 },
      { maxRetries = 11 },
      { maxRetries = -1 },
      { maxRetries = 1.5 },
      { retryDelay = 0 },
      { retryDelay = 1441 },
      { phoneNumberIds = { 5 } },
      { description = false },
    }
    local bodies = {}
    for _, changes in ipairs(cases) do
      local fields = check.with(base, changes)
      local req = c:prepare("create", fields)
      assert.is_nil(req, cjson.encode(fields))
      bodies[#bodies + 1] = cjson.encode(fields)
    end
    local ok, out = run_checker(CREATE, bodies)
    assert.is_false(ok == true)
    -- One problem per case; a missing field and a wrong type are one each.
    assert.truthy(out:find(#cases .. " bodies checked against POST /campaign, " .. #cases
      .. " problems", 1, true), out)
  end)

  it("the checker itself rejects query parameters the spec does not declare", function()
    local ok, out = run_checker(LIST, { '{"status":"active"}', '{"limit":10}', '{"page":"x"}' })
    assert.is_false(ok == true)
    assert.truthy(out:find("3 bodies checked against GET /campaign query, 3 problems", 1, true), out)
  end)
end)
