-- Vapi end to end over real HTTP: the libcurl transport against the local
-- emulator (nginx on 127.0.0.1), including what arrived on the wire, errors
-- as the provider words them, and the retry rules under injected faults.
local campaign = require "campaign"
local emulator = require "helpers.emulator"
local fixtures = require "helpers.fixtures"

local FIELDS = {
  name = "Q2 Sales Campaign",
  assistantId = "3f1c2a9e-8d4b-4c6f-9a7e-1b2c3d4e5f60",
  phoneNumberId = "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d",
  customers = { { number = "+14155550101", name = "Ada" }, { number = "+442071838750" } },
}

describe("vapi over HTTP", function()
  local emu, c

  setup(function()
    emu = emulator.start()
  end)

  teardown(function()
    if emu then emu:stop() end
  end)

  before_each(function()
    emu:reset()
    c = campaign.client { provider = "vapi", api_key = emu.keys.vapi, base_url = emu:url("vapi"),
      retry_delay = 0.01, timeout = 5 }
  end)

  it("creates, updates, gets, lists, stops and deletes a campaign", function()
    local created = assert(c:create(FIELDS))
    assert.is_string(created.id)
    assert.are.equal("Q2 Sales Campaign", created.name)
    assert.are.equal("in-progress", created.status)

    local sent = emu:last()
    assert.are.equal("POST", sent.method)
    assert.are.equal("/v2/campaign", sent.path)
    assert.are.equal("Bearer vapi-test-key", sent.headers.authorization)
    assert.are.equal("application/json", sent.headers["content-type"])
    assert.are.equal("lua-campaign/0.1.0", sent.headers["user-agent"])
    assert.are.same(FIELDS, sent.json)

    local updated = assert(c:update(created.id, { name = "Renamed" }))
    assert.are.equal("Renamed", updated.name)
    sent = emu:last()
    assert.are.equal("PATCH", sent.method)
    assert.are.equal("/v2/campaign/" .. created.id, sent.path)
    assert.are.same({ name = "Renamed" }, sent.json)

    local got = assert(c:get(created.id))
    assert.are.equal("Renamed", got.name)

    local page = assert(c:list { limit = 10, page = 1 })
    assert.are.equal(1, #page.results)
    assert.are.equal(created.id, page.results[1].id)
    assert.are.equal("limit=10&page=1", emu:last().query)

    local stopped = assert(c:stop(created.id))
    assert.are.equal("cancelled", stopped.status)
    assert.are.same({ status = "cancelled" }, emu:last().json)

    assert(c:delete(created.id))
    assert.are.equal("DELETE", emu:last().method)
    local _, err = c:get(created.id)
    assert.are.equal("http", err.kind)
    assert.are.equal(404, err.status)
    assert.are.equal("HTTP 404 Not Found: Campaign not found", err.message)
  end)

  it("uses the legacy routes with legacy = true", function()
    local l = campaign.client { provider = "vapi", api_key = emu.keys.vapi, base_url = emu:url("vapi"),
      legacy = true }
    local created = assert(l:create(FIELDS))
    assert.are.equal("/campaign", emu:last().path)
    assert(l:update(created.id, { name = "x" }))
    assert.are.equal("/campaign/" .. created.id, emu:last().path)
  end)

  it("sends nothing when validation fails", function()
    local _, err = c:create({ name = "x" })
    assert.are.equal("validation", err.kind)
    assert.are.equal(0, emu:count())
  end)

  it("reports a wrong key with Vapi's words and does not retry it", function()
    local bad = campaign.client { provider = "vapi", api_key = "wrong-key", base_url = emu:url("vapi") }
    local _, err = bad:create(FIELDS)
    assert.are.equal(401, err.status)
    assert.truthy(err.message:find("^HTTP 401 Unauthorized: Invalid Key"))
    assert.is_nil(err.message:find("wrong-key", 1, true))
    assert.are.equal(1, emu:count())
  end)

  it("reuses one connection for sequential calls", function()
    for _ = 1, 5 do assert(c:create(FIELDS)) end
    assert(c:list())
    local stats = emu:stats()
    assert.are.equal(6, stats.requests)
    assert.are.equal(1, stats.connections)
  end)

  it("carries 10,000 customers", function()
    local list = {}
    for i = 1, 10000 do list[i] = { number = string.format("+1415%07d", i) } end
    local fields = fixtures.vapi { name = "Big", customers = list }
    local created = assert(c:create(fields))
    assert.are.equal(10000, #created.customers)
    assert.are.equal("+14150010000", emu:last().json.customers[10000].number)
  end)

  it("retries a 429 after Retry-After and creates once", function()
    emu:fault { provider = "vapi", method = "POST", status = 429, headers = { ["Retry-After"] = "0" } }
    local created = assert(c:create(FIELDS))
    assert.is_string(created.id)
    assert.are.equal(2, emu:count { method = "POST" })
    assert.are.equal(1, #emu:campaigns("vapi"))
  end)

  it("does not repeat a create answered 502 after it was made", function()
    emu:fault { provider = "vapi", method = "POST", status = 502, after = true }
    local _, err = c:create(FIELDS)
    assert.are.equal("http", err.kind)
    assert.are.equal(502, err.status)
    assert.is_true(err.outcome_unknown)
    assert.are.equal(1, err.attempts)
    assert.are.equal(1, emu:count { method = "POST" })
    assert.are.equal(1, #emu:campaigns("vapi"))
  end)

  it("does not repeat a create whose connection dropped", function()
    emu:fault { provider = "vapi", method = "POST", action = "drop", after = true }
    local _, err = c:create(FIELDS)
    assert.are.equal("transport", err.kind)
    assert.is_true(err.outcome_unknown)
    assert.are.equal(1, emu:count { method = "POST" })
  end)

  it("retries a get on 502 and 504", function()
    local created = assert(c:create(FIELDS))
    emu:fault { { provider = "vapi", method = "GET", status = 502 },
      { provider = "vapi", method = "GET", status = 504 } }
    assert(c:get(created.id))
    assert.are.equal(3, emu:count { method = "GET" })
  end)

  it("times out within the limit and says the outcome is unknown", function()
    -- The emulator holds the answer for 3 s at most: past the call's timeout
    -- (0.5 s), short of the client's (5 s).
    emu:fault { provider = "vapi", method = "POST", hold = 3 }
    local created, err = c:create(FIELDS, { timeout = 0.5 })
    assert.is_nil(created, "answered after the hold: the call's timeout was not applied")
    assert.are.equal("timeout", err.kind)
    assert.is_true(err.outcome_unknown)
    local sent = emu:requests()
    assert.are.equal(1, #sent)
    -- The client gave up while the emulator still held the create.
    assert.is_nil(sent[1].answered)
    assert.are.equal(1, emu:release())
  end)

  it("retries when the connection is refused, then reports it", function()
    local port = emu.port
    local closed = campaign.client { provider = "vapi", api_key = "k-test-key-1",
      base_url = "http://127.0.0.1:" .. (port == 65535 and port - 1 or port + 1) .. "/vapi",
      retry_delay = 0.01, max_retries = 2 }
    local _, err = closed:create(FIELDS)
    assert.are.equal("transport", err.kind)
    assert.is_nil(err.outcome_unknown)
    assert.are.equal(3, err.attempts)
  end)

  it("reports a 2xx body that is not JSON as a decode error", function()
    emu:fault { provider = "vapi", method = "GET", status = 200, body = "<html>ok</html>",
      headers = { ["Content-Type"] = "text/html" } }
    local _, err = c:list()
    assert.are.equal("decode", err.kind)
    assert.are.equal("<html>ok</html>", err.body)
  end)

  it("does not follow a redirect", function()
    emu:fault { provider = "vapi", method = "GET", action = "redirect",
      location = "http://127.0.0.2:1/steal" }
    local _, err = c:list()
    assert.are.equal(302, err.status)
    assert.truthy(err.message:find("redirect to http://127.0.0.2:1/steal not followed", 1, true))
    assert.are.equal(1, emu:count())
  end)

  it("caps the response body", function()
    local small = campaign.client { provider = "vapi", api_key = emu.keys.vapi,
      base_url = emu:url("vapi"), max_body = 4096, max_retries = 0 }
    emu:fault { provider = "vapi", method = "GET", status = 200, body_size = 100000 }
    local _, err = small:list()
    assert.are.equal("transport", err.kind)
    assert.truthy(err.message:find("larger than the limit of 4096 bytes", 1, true))
  end)
end)
