-- Smallest AI Atoms and Autocalls.ai over real HTTP against the emulator:
-- every lifecycle call, each provider's error body as the caller sees it,
-- and operations a provider does not have never touching the network.
local campaign = require "campaign"
local emulator = require "helpers.emulator"
local fixtures = require "helpers.fixtures"

local SMALLEST = fixtures.smallest { name = "Spring renewals", maxRetries = 2, retryDelay = 30 }

local AUTOCALLS = { name = "Product Demo Campaign", assistant_id = 123,
  timezone = "America/New_York", allowed_days = { "monday", "friday" },
  allowed_hours_start_time = "09:00", allowed_hours_end_time = "17:00" }

describe("providers over HTTP", function()
  local emu

  setup(function() emu = emulator.start() end)
  teardown(function() if emu then emu:stop() end end)
  before_each(function() emu:reset() end)

  local function client(provider, extra)
    local opts = { provider = provider, api_key = emu.keys[provider], base_url = emu:url(provider),
      retry_delay = 0.01 }
    for k, v in pairs(extra or {}) do opts[k] = v end
    return campaign.client(opts)
  end

  describe("smallest", function()
    it("creates, gets, lists, starts, pauses and deletes; the {status, data} wrapper is removed", function()
      local c = client("smallest")
      local created = assert(c:create(SMALLEST))
      assert.are.equal("draft", created.status)
      assert.are.equal(24, #created._id)
      local sent = emu:last()
      assert.are.equal("POST", sent.method)
      assert.are.equal("/campaign", sent.path)
      assert.are.equal("Bearer smallest-test-key", sent.headers.authorization)
      assert.are.same(SMALLEST, sent.json)

      local got = assert(c:get(created._id))
      assert.is_table(got)
      assert.are.equal("/campaign/" .. created._id, emu:last().path)

      local started = assert(c:start(created._id))
      assert.are.equal(created._id, started.campaignId)
      assert.is_string(started.taskId)
      assert.are.equal("/campaign/" .. created._id .. "/start", emu:last().path)

      assert(c:stop(created._id))
      assert.are.equal("/campaign/" .. created._id .. "/pause", emu:last().path)

      local page = assert(c:list { page = 1, offset = 10, status = "paused" })
      assert.is_table(page)
      assert.are.equal("offset=10&page=1&status=paused", emu:last().query)

      assert(c:delete(created._id))
      assert.are.equal("DELETE", emu:last().method)
    end)

    it("reads Smallest's error body", function()
      local c = client("smallest")
      local _, err = c:get("60d0fe4f5311236168a1ffff")
      assert.are.equal(404, err.status)
      assert.are.equal("HTTP 404 Not Found: Campaign not found", err.message)
      assert.is_false(err.body.status)
    end)

    it("reads a 401 with a wrong key", function()
      local c = client("smallest", { api_key = "not-the-key" })
      local _, err = c:create(SMALLEST)
      assert.are.equal(401, err.status)
      assert.are.equal("HTTP 401 Unauthorized: Unauthorized", err.message)
    end)

    it("update is unsupported and never sent", function()
      local c = client("smallest")
      local _, err = c:update("60d0fe4f5311236168a109ca", { name = "x" })
      assert.are.equal("unsupported", err.kind)
      assert.truthy(err.message:find("cannot change after it is created", 1, true))
      assert.are.equal(0, emu:count())
    end)
  end)

  describe("autocalls", function()
    it("creates, lists, starts, stops and deletes", function()
      local c = client("autocalls")
      local created = assert(c:create(AUTOCALLS))
      assert.are.equal("Campaign created successfully", created.message)
      local id = created.data.id
      assert.are.equal("draft", created.data.status)
      assert.are.equal("09:00:00", created.data.allowed_hours_start_time)
      local sent = emu:last()
      assert.are.equal("/user/campaign", sent.path)
      assert.are.same(AUTOCALLS, sent.json)

      assert(c:start(id))
      sent = emu:last()
      assert.are.equal("/user/campaigns/update-status", sent.path)
      assert.are.same({ campaign_id = id, action = "start" }, sent.json)
      assert(c:stop(tostring(math.floor(id))))
      assert.are.same({ campaign_id = id, action = "stop" }, emu:last().json)

      local listed = assert(c:list())
      assert.are.equal(1, #listed.data)
      assert.are.equal("/user/campaigns", emu:last().path)

      assert(c:delete(id))
      assert.are.equal("/user/campaign/" .. math.floor(id), emu:last().path)
    end)

    it("reads Laravel's 422 with per-field errors", function()
      local c = client("autocalls", { passthrough = true })
      emu:fault { provider = "autocalls", method = "POST", status = 422,
        json = { message = "The assistant id field must be an outbound assistant. (and 1 more error)",
          errors = { assistant_id = { "The assistant id field must be an outbound assistant." },
            name = { "The name has already been taken." } } } }
      local _, err = c:create(AUTOCALLS)
      assert.are.equal("http", err.kind)
      assert.are.equal(422, err.status)
      assert.are.equal("HTTP 422 Unprocessable Entity: The assistant id field must be an outbound "
        .. "assistant. (and 1 more error)", err.message)
      assert.are.same({
        { field = "assistant_id", message = "The assistant id field must be an outbound assistant." },
        { field = "name", message = "The name has already been taken." },
      }, err.errors)
    end)

    it("reads a 403 plan limit", function()
      local c = client("autocalls")
      emu:fault { provider = "autocalls", method = "POST", status = 403,
        json = { message = "You have reached your plan's campaign limit." } }
      local _, err = c:create(AUTOCALLS)
      assert.are.equal(403, err.status)
      assert.are.equal("HTTP 403 Forbidden: You have reached your plan's campaign limit.", err.message)
    end)

    it("update is unsupported and never sent", function()
      local c = client("autocalls")
      local _, err = c:update(1, { name = "x" })
      assert.are.equal("unsupported", err.kind)
      assert.are.equal(0, emu:count())
    end)

    it("get finds the campaign in the list (Autocalls has no get); 404 when absent", function()
      local c = client("autocalls")
      assert(c:create(AUTOCALLS))
      local second = assert(c:create { name = "Other", assistant_id = 7 })
      local got = assert(c:get(second.data.id))
      assert.are.equal("Other", got.name)
      assert.are.equal(second.data.id, got.id)
      assert.are.equal("/user/campaigns", emu:last().path)
      assert.are.equal("GET", emu:last().method)
      local _, err = c:get(99)
      assert.are.equal("http", err.kind)
      assert.are.equal(404, err.status)
      assert.are.equal("get", err.op)
    end)
  end)

  describe("error bodies of the other two", function()
    it("Atlas {statusCode, error, message}", function()
      local c = client("atlas")
      local _, err = c:get("00000000-0000-4000-8000-000000000000")
      assert.are.equal(404, err.status)
      assert.are.equal(404, err.body.statusCode)
      assert.truthy(err.message:find("^HTTP 404 Not Found: "))
      assert.are.equal("HTTP 404 Not Found: " .. err.body.message, err.message)
    end)

    it("Vapi {message = [...], error, statusCode}", function()
      local c = client("vapi", { passthrough = true })
      emu:fault { provider = "vapi", method = "POST", status = 400,
        json = { message = { "customers.0.number must be a valid phone number", "name should not be empty" },
          error = "Bad Request", statusCode = 400 } }
      local _, err = c:create(fixtures.vapi { name = "x" })
      assert.are.equal("HTTP 400 Bad Request: customers.0.number must be a valid phone number; "
        .. "name should not be empty", err.message)
    end)

    it("Vapi start is unsupported and never sent", function()
      local c = client("vapi")
      local _, err = c:start("00000000-0000-4000-8000-000000000000")
      assert.are.equal("unsupported", err.kind)
      assert.are.equal(0, emu:count())
    end)
  end)
end)
