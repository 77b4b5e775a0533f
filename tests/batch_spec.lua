-- Batches: create_many / update_many through curl's multi interface against
-- the emulator: order, progress, concurrency, and the retry rules per item.
local campaign = require "campaign"
local emulator = require "helpers.emulator"
local fixtures = require "helpers.fixtures"

local function fields(i)
  return fixtures.vapi { name = "Batch " .. i }
end

local function list(n)
  local out = {}
  for i = 1, n do out[i] = fields(i) end
  return out
end

describe("batches", function()
  local emu, c

  setup(function() emu = emulator.start() end)
  teardown(function() if emu then emu:stop() end end)

  before_each(function()
    emu:reset()
    c = campaign.client { provider = "vapi", api_key = emu.keys.vapi, base_url = emu:url("vapi"),
      retry_delay = 0.01, timeout = 5 }
  end)

  it("creates many campaigns, results in input order, with progress", function()
    local progress = {}
    local results = c:create_many(list(50), { concurrency = 8,
      on_progress = function(done, total) progress[#progress + 1] = { done, total } end })
    assert.are.equal(50, #results)
    for i = 1, 50 do
      assert.is_false(campaign.is_error(results[i]))
      assert.are.equal("Batch " .. i, results[i].name)
    end
    assert.are.equal(50, #progress)
    for i = 1, 50 do assert.are.same({ i, 50 }, progress[i]) end
    assert.are.equal(50, emu:count { method = "POST" })
    assert.are.equal(50, #emu:campaigns("vapi"))
  end)

  it("runs requests side by side", function()
    -- Each answer waits 0.5 s: the transfers the batch starts meanwhile are
    -- under way at the emulator together.
    emu:fault { provider = "vapi", method = "POST", delay = 0.5, times = -1 }
    local results = c:create_many(list(16), { concurrency = 8 })
    for i = 1, 16 do assert.is_false(campaign.is_error(results[i])) end
    local most = 0
    for _, r in ipairs(emu:requests()) do most = math.max(most, r.under_way) end
    -- One at a time would be 1; more than the concurrency, never.
    assert.are.equal(8, most)
    assert.are.equal(16, emu:count { method = "POST" })
    assert.is_true(emu:stats().connections <= 8)
  end)

  it("reports invalid items in place and never sends them", function()
    local items = list(5)
    items[2] = { name = "no target" }
    items[4].customers[1].number = "555"
    local results = c:create_many(items)
    assert.are.equal("validation", results[2].kind)
    assert.are.equal("validation", results[4].kind)
    assert.are.equal("customers[1].number", results[4].errors[1].field)
    assert.are.equal("Batch 5", results[5].name)
    assert.are.equal(3, emu:count { method = "POST" })
  end)

  it("retries a 429 for the item it hit", function()
    emu:fault { provider = "vapi", method = "POST", status = 429, headers = { ["Retry-After"] = "0" },
      times = 3 }
    local results = c:create_many(list(10), { concurrency = 4 })
    for i = 1, 10 do assert.are.equal("Batch " .. i, results[i].name) end
    assert.are.equal(13, emu:count { method = "POST" })
    assert.are.equal(10, #emu:campaigns("vapi"))
  end)

  it("never repeats a create that may have reached the provider", function()
    emu:fault { provider = "vapi", method = "POST", status = 502, after = true }
    local results = c:create_many(list(6), { concurrency = 3 })
    local unknown = 0
    for i = 1, 6 do
      if campaign.is_error(results[i]) then
        assert.is_true(results[i].outcome_unknown)
        assert.are.equal(1, results[i].attempts)
        unknown = unknown + 1
      end
    end
    assert.are.equal(1, unknown)
    assert.are.equal(6, emu:count { method = "POST" })
    assert.are.equal(6, #emu:campaigns("vapi"))
  end)

  it("does not repeat a PATCH update answered 503 without Retry-After", function()
    local ids = {}
    for i, r in ipairs(c:create_many(list(3))) do ids[i] = r.id end
    emu:fault { provider = "vapi", method = "PATCH", status = 503, after = true }
    local results = c:update_many({ { ids[1], { name = "one" } }, { id = ids[2], fields = { name = "two" } },
      { ids[3], { name = "three" } } })
    local ok = 0
    for _, r in ipairs(results) do
      if not campaign.is_error(r) then ok = ok + 1 else assert.is_true(r.outcome_unknown) end
    end
    assert.are.equal(2, ok)
    assert.are.equal(3, emu:count { method = "PATCH" })
  end)

  it("updates many campaigns", function()
    local ids = {}
    for i, r in ipairs(c:create_many(list(4))) do ids[i] = r.id end
    local results = c:update_many({ { ids[1], { name = "A" } }, { ids[2], { name = "B" } },
      { ids[3], { customers = {} } }, { "../x", { name = "D" } } })
    assert.are.equal("A", results[1].name)
    assert.are.equal("B", results[2].name)
    assert.are.equal("validation", results[3].kind)
    assert.are.equal("validation", results[4].kind)
    assert.are.equal("id", results[4].errors[1].field)
    assert.are.equal(2, emu:count { method = "PATCH" })
  end)

  it("gives the same results through a custom transport, one at a time", function()
    local n = 0
    local t = campaign.client { provider = "vapi", api_key = "k-test-key-1", transport = function(req)
      n = n + 1
      return { status = 201, headers = {}, body = '{"id":"c-' .. n .. '","name":' ..
        require("cjson").encode(require("cjson").decode(req.body).name) .. '}' }
    end }
    local results = t:create_many(list(3))
    assert.are.same({ id = "c-1", name = "Batch 1" }, results[1])
    assert.are.same({ id = "c-3", name = "Batch 3" }, results[3])
  end)

  it("stops and re-raises when on_progress raises", function()
    assert.has_error(function()
      c:create_many(list(5), { on_progress = function(done) if done == 2 then error("enough") end end })
    end, "enough")
    -- The client still works afterwards.
    assert.is_string(assert(c:create(fields(9))).id)
  end)

  it("raises on wrong use", function()
    assert.has_error(function() c:create_many("x") end,
      "campaign vapi create_many: the list must be a table")
    assert.has_error(function() c:create_many({}, { concurrency = 0 }) end,
      "campaign vapi create_many: concurrency must be a positive integer")
    assert.are.same({}, c:create_many({}))
  end)
end)
