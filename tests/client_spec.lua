-- The public API: client construction, prepare, the error model, keys and
-- their redaction, and the custom-transport contract with its retry rules.
local campaign = require "campaign"
local cjson = require "cjson"
local fixtures = require "helpers.fixtures"

local KEY = "vapi-secret-0123456789abcdef"
local LUA = require("helpers.proc").LUA

local GOOD = fixtures.vapi()

-- A transport that answers from a script and records what it was given.
local function scripted(responses)
  local t = { calls = {} }
  t.fn = function(req)
    t.calls[#t.calls + 1] = req
    local r = responses[#t.calls] or responses[#responses]
    if type(r) == "function" then return r(req) end
    if r.err then return nil, r.err end
    return { status = r.status, headers = r.headers or {}, body = r.body }
  end
  return t
end

local function client_with(responses, extra)
  local t = scripted(responses)
  local sleeps = {}
  local opts = { provider = "vapi", api_key = KEY, transport = t.fn,
    sleep = function(s) sleeps[#sleeps + 1] = s end }
  for k, v in pairs(extra or {}) do opts[k] = v end
  return campaign.client(opts), t, sleeps
end

local function no_key_in(value, seen)
  seen = seen or {}
  if type(value) == "string" then
    assert.is_nil(value:find(KEY, 1, true), "the API key leaked into: " .. value)
  elseif type(value) == "table" and not seen[value] then
    seen[value] = true
    for k, v in pairs(value) do no_key_in(k, seen); no_key_in(v, seen) end
    no_key_in(tostring(value), seen)
  end
end

describe("module", function()
  it("has a version and the four providers", function()
    assert.are.equal("0.1.0", campaign._VERSION)
    assert.are.same({ "atlas", "autocalls", "smallest", "vapi" }, campaign.providers())
  end)
end)

describe("campaign.client", function()
  it("raises on wrong use", function()
    assert.has_error(function() campaign.client() end, "campaign.client: options must be a table")
    assert.has_error(function() campaign.client { provider = "bland" } end,
      "campaign.client: unknown provider bland (known: atlas, autocalls, smallest, vapi)")
    assert.has_error(function() campaign.client { provider = "vapi", timout = 3 } end,
      "campaign.client: unknown option timout (did you mean timeout?)")
    assert.has_error(function() campaign.client { provider = "vapi", timeout = -1 } end)
    assert.has_error(function() campaign.client { provider = "vapi", transport = "curl" } end,
      "campaign.client: transport must be a function")
  end)

  it("refuses a base_url that is not an http(s) URL", function()
    assert.has_error(function() campaign.client { provider = "vapi", base_url = "not a url" } end)
    assert.has_error(function() campaign.client { provider = "vapi", base_url = "ftp://x.example" } end,
      "campaign.client: base_url must be an http:// or https:// URL")
  end)

  it("requires https except on loopback or with allow_http", function()
    assert.has_error(function() campaign.client { provider = "vapi", base_url = "http://api.example.com" } end)
    assert.truthy(campaign.client { provider = "vapi", base_url = "http://127.0.0.1:9" })
    assert.truthy(campaign.client { provider = "vapi", base_url = "http://api.example.com", allow_http = true })
  end)

  it("keeps a base path and drops a trailing slash", function()
    local c = campaign.client { provider = "smallest", api_key = "k-test-key-1",
      base_url = "https://proxy.example.com/smallest/atoms/v1/" }
    assert.are.equal("https://proxy.example.com/smallest/atoms/v1/campaign/abc",
      assert(c:prepare("get", nil, "abc")).url)
  end)

  it("refuses header values with CR, LF or NUL, never showing the key", function()
    local ok, err = pcall(campaign.client, { provider = "vapi", api_key = KEY .. "\r\nX: y" })
    assert.is_false(ok)
    assert.truthy(err:find("api_key contains CR, LF or NUL", 1, true))
    no_key_in(err)
    assert.has_error(function()
      campaign.client { provider = "vapi", headers = { ["X-Trace"] = "a\nb" } }
    end, "campaign.client: header X-Trace contains CR, LF or NUL")
    assert.has_error(function()
      campaign.client { provider = "vapi", headers = { ["Bad Name"] = "v" } }
    end, "campaign.client: header names must be HTTP tokens")
  end)

  it("takes the key from the provider's environment variable", function()
    local cmd = [[VAPI_API_KEY=env-key-123 ]] .. LUA .. [[ -e 'local c = require("campaign").client{provider="vapi"}
      print(assert(c:prepare("get", nil, "x")).headers.Authorization)' 2>&1]]
    local p = io.popen(cmd)
    local out = p:read("*a")
    p:close()
    assert.are.equal("Bearer env-key-123\n", out)
  end)

  it("never shows the key in tostring or in the client's fields", function()
    local c = campaign.client { provider = "vapi", api_key = KEY }
    assert.are.equal("campaign.client(vapi, https://api.vapi.ai)", tostring(c))
    no_key_in(c)
  end)

  it("sends custom headers and a User-Agent naming the module", function()
    local c = campaign.client { provider = "vapi", api_key = KEY, headers = { ["X-Trace"] = "t1" } }
    local req = assert(c:prepare("get", nil, "x"))
    assert.are.equal("t1", req.headers["X-Trace"])
    assert.are.equal("lua-campaign/0.1.0", req.headers["User-Agent"])
  end)

  it("lets paths be overridden per operation", function()
    local c = campaign.client { provider = "vapi", api_key = KEY, paths = { create = "/v3/campaign" } }
    assert.are.equal("https://api.vapi.ai/v3/campaign", assert(c:prepare("create", GOOD)).url)
  end)
end)

describe("prepare", function()
  local c = campaign.client { provider = "vapi", api_key = KEY }

  it("returns exactly what would be sent, key included", function()
    local req = assert(c:prepare("create", GOOD))
    assert.are.equal("POST", req.method)
    assert.are.equal("Bearer " .. KEY, req.headers.Authorization)
    assert.are.same(GOOD, cjson.decode(req.body))
  end)

  it("prints without the key", function()
    local req = assert(c:prepare("create", GOOD))
    local text = tostring(req)
    assert.truthy(text:find("^POST https://api.vapi.ai/v2/campaign\n"))
    assert.truthy(text:find("Authorization: [REDACTED]", 1, true))
    no_key_in(text)
  end)

  it("raises on wrong use", function()
    assert.has_error(function() c:prepare("launch", GOOD) end,
      "campaign vapi: unknown operation launch (known: create, delete, get, list, start, stop, update)")
    assert.has_error(function() c:prepare("create", "name=x") end,
      "campaign vapi create: fields must be a table (got string)")
    assert.has_error(function() c:create(nil) end,
      "campaign vapi create: fields must be a table (got nil)")
  end)

  it("does not change the caller's table", function()
    local fields = fixtures.vapi { name = "x" }
    c:prepare("create", fields)
    assert.are.same(GOOD.customers, fields.customers)
  end)

  it("ignores metatables, as the JSON encoder does", function()
    local fields = setmetatable(fixtures.vapi { name = "x" },
      { __index = function() error("touched") end })
    assert.truthy(c:prepare("create", fields))
  end)
end)

describe("errors", function()
  it("validation errors list every problem and print one line", function()
    local c = campaign.client { provider = "vapi", api_key = KEY }
    local req, err = c:create({ name = "x", customers = { { number = "555" } } })
    assert.is_nil(req)
    assert.are.equal("validation", err.kind)
    assert.are.equal("vapi", err.provider)
    assert.are.equal("create", err.op)
    assert.are.equal(3, #err.errors)
    assert.are.equal("assistantId is required: give one of assistantId, workflowId or squadId "
      .. "(or duplicateFromCampaignId) (and 2 more problems in err.errors)", err.message)
    assert.are.equal("campaign vapi create: " .. err.message, tostring(err))
  end)

  it("caps a long list and says how many more there are", function()
    local c = campaign.client { provider = "vapi", api_key = KEY }
    local list = {}
    for i = 1, 150 do list[i] = { number = "bad" .. i } end
    local _, err = c:prepare("create", fixtures.vapi { name = "x", customers = list })
    assert.are.equal(100, #err.errors)
    assert.are.equal("customers[1].number", err.errors[1].field)
    assert.are.equal("customers[2].number", err.errors[2].field)
    assert.truthy(err.message:find("and 50 more problems", 1, true))
  end)

  it("a missing key is reported before anything is sent", function()
    local t = scripted({ { status = 201, body = "{}" } })
    local p = io.popen([[env -u VAPI_API_KEY ]] .. LUA .. [[ -e '
      local c = require("campaign").client{provider="vapi", transport=function() error("sent") end}
      local _, err = c:create{name="x", assistantId="a", phoneNumberId="p", customers={{number="+14155551234"}}}
      print(err.kind, err.errors, err.message)' 2>&1]])
    local out = p:read("*a")
    p:close()
    -- The client's configuration, not the caller's fields: its own kind.
    assert.are.equal("config\tnil\tapi_key is missing: pass api_key to campaign.client "
      .. "or set VAPI_API_KEY\n", out)
    assert.are.equal(0, #t.calls)
  end)
end)

describe("custom transport", function()
  it("receives method, url, headers, body and timeout, and its body is decoded", function()
    local c, t = client_with({ { status = 201, body = '{"id":"c-1","status":"scheduled"}' } },
      { timeout = 7 })
    local body = assert(c:create(GOOD))
    assert.are.same({ id = "c-1", status = "scheduled" }, body)
    local req = t.calls[1]
    assert.are.equal("POST", req.method)
    assert.are.equal("https://api.vapi.ai/v2/campaign", req.url)
    assert.are.equal("Bearer " .. KEY, req.headers.Authorization)
    assert.are.same(GOOD, cjson.decode(req.body))
    assert.are.equal(7, req.timeout)
  end)

  it("turns an HTTP error into kind http with the provider's words", function()
    local c = client_with({ { status = 400,
      body = '{"message":["name must be a string","customers must be an array"],'
        .. '"error":"Bad Request","statusCode":400}' } })
    local _, err = c:create(GOOD)
    assert.are.equal("http", err.kind)
    assert.are.equal(400, err.status)
    assert.are.equal("HTTP 400 Bad Request: name must be a string; customers must be an array",
      err.message)
    assert.are.equal("Bad Request", err.body.error)
    assert.are.equal(1, err.attempts)
  end)

  it("keeps a body that is not JSON as text", function()
    local c = client_with({ { status = 502, body = "<html>bad gateway</html>" } }, { max_retries = 0 })
    local _, err = c:get("abc")
    assert.are.equal(502, err.status)
    assert.are.equal("<html>bad gateway</html>", err.body)
  end)

  it("reports a 2xx body that is not JSON as a decode error", function()
    local c = client_with({ { status = 200, body = "OK" } })
    local _, err = c:get("abc")
    assert.are.equal("decode", err.kind)
    assert.are.equal(200, err.status)
    assert.are.equal("OK", err.body)
  end)

  it("retries 429 honouring Retry-After, for create too", function()
    local c, t, sleeps = client_with({
      { status = 429, headers = { ["retry-after"] = "3" }, body = '{"message":"slow down"}' },
      { status = 201, body = '{"id":"c-2"}' } })
    assert.are.same({ id = "c-2" }, assert(c:create(GOOD)))
    assert.are.equal(2, #t.calls)
    -- One wait, for the provider's 3 s (less the moment spent since the answer).
    assert.are.equal(1, #sleeps)
    assert.is_true(sleeps[1] > 2.9 and sleeps[1] <= 3, tostring(sleeps[1]))
  end)

  it("gives up on 429s once waiting longer would pass max_wait, with retry_after and attempts", function()
    -- 429s are the provider's pace, not failures: max_retries does not count them.
    local c, t = client_with({ { status = 429, headers = { ["Retry-After"] = "1" }, body = "{}" } },
      { max_retries = 0, max_wait = 2.5 })
    local _, err = c:create(GOOD)
    assert.are.equal(429, err.status)
    assert.are.equal(1, err.retry_after)
    assert.are.equal(3, err.attempts)
    assert.are.equal(3, #t.calls)
  end)

  it("never repeats a create that may have reached the provider", function()
    local c, t = client_with({ { status = 502, body = "" } })
    local _, err = c:create(GOOD)
    assert.is_true(err.outcome_unknown)
    assert.are.equal(1, #t.calls)
    c, t = client_with({ { err = { kind = "timeout", message = "timed out", sent = true } } })
    _, err = c:create(GOOD)
    assert.are.equal("timeout", err.kind)
    assert.is_true(err.outcome_unknown)
    assert.are.equal(1, #t.calls)
  end)

  it("retries a create that surely did not leave", function()
    local c, t, sleeps = client_with({
      { err = { kind = "transport", message = "connection refused", sent = false } },
      { status = 201, body = '{"id":"c-3"}' } })
    assert.are.same({ id = "c-3" }, assert(c:create(GOOD)))
    assert.are.equal(2, #t.calls)
    assert.are.equal(1, #sleeps)
    assert.truthy(sleeps[1] >= 0.25 and sleeps[1] <= 0.5)
  end)

  it("retries idempotent calls on 500/502/504", function()
    local c, t = client_with({ { status = 504, body = "" }, { status = 500, body = "" },
      { status = 200, body = '{"id":"c-4"}' } })
    assert.are.same({ id = "c-4" }, assert(c:get("c-4")))
    assert.are.equal(3, #t.calls)
  end)

  it("treats a transport that raises or returns nothing as a transport error", function()
    local c = client_with({ function() error("socket exploded") end })
    local _, err = c:get("x")
    assert.are.equal("transport", err.kind)
    assert.truthy(err.message:find("socket exploded", 1, true))
    c = client_with({ function() return nil, "no route" end }, { max_retries = 0 })
    _, err = c:get("x")
    assert.are.equal("no route", err.message)
  end)

  it("never returns the key, even when the provider echoes it", function()
    local c = client_with({ { status = 401,
      body = '{"message":"Invalid Key: Bearer ' .. KEY .. '","statusCode":401}' } })
    local _, err = c:create(GOOD)
    assert.are.equal(401, err.status)
    assert.truthy(err.message:find("[REDACTED]", 1, true))
    no_key_in(err)
  end)

  it("one-shot campaign.create and campaign.update", function()
    local t = scripted({ { status = 201, body = '{"id":"c-5"}' } })
    local body = assert(campaign.create({ provider = "vapi", api_key = KEY, transport = t.fn }, GOOD))
    assert.are.equal("c-5", body.id)
    t = scripted({ { status = 200, body = '{"id":"c-5","name":"n"}' } })
    body = assert(campaign.update({ provider = "vapi", api_key = KEY, transport = t.fn }, "c-5", { name = "n" }))
    assert.are.equal("n", body.name)
    assert.are.equal("PATCH", t.calls[1].method)
    assert.are.equal("https://api.vapi.ai/v2/campaign/c-5", t.calls[1].url)
  end)

  it("unsupported operations never call the transport", function()
    local c, t = client_with({ { status = 200, body = "{}" } })
    local _, err = c:start("abc")
    assert.are.equal("unsupported", err.kind)
    assert.are.equal(0, #t.calls)
  end)
end)
