-- Rate-aware jobs: one pace per client for single calls and batch items, a
-- 429 that pauses the whole client and sends the item back in line (not
-- counted against max_retries), max_wait, a learned pace without a
-- configured one, and batches that always return what happened, cancelled
-- or not. Against the emulator's rate-limit mode (real HTTP), and through
-- custom transports where the order of events is what is checked.
local campaign = require "campaign"
local pace = require "campaign.pace"
local emulator = require "helpers.emulator"

local FIELDS = {
  name = "Paced", assistantId = "a", phoneNumberId = "p",
  customers = { { number = "+14155550101" } },
}

local function list_of(n)
  local list = {}
  for i = 1, n do
    local f = {}
    for k, v in pairs(FIELDS) do f[k] = v end
    f.name = "Paced " .. i
    list[i] = f
  end
  return list
end

describe("campaign.pace", function()
  it("spaces requests evenly at a configured rate, from the first", function()
    local p = pace.new(4)
    assert.are.equal(0, p:delay(10))
    p:take(10)
    assert.are.equal(0.25, p:delay(10))
    p:take(10.25)
    assert.are.equal(0.25, p:delay(10.25))
    -- Idle time is no credit: no burst after a quiet minute.
    assert.are.equal(0, p:delay(70))
    p:take(70)
    assert.are.equal(0.25, p:delay(70))
  end)

  it("pauses every request until the provider's time on a 429", function()
    local p = pace.new(100)
    p:take(0)
    assert.are.equal(2, p:limited(0.5, 0, 2, 0.5))
    assert.are.equal(2, p:delay(0.5))
    -- Without a time: the backoff, doubled for each such 429 in a row.
    local q = pace.new(nil, false)
    assert.are.equal(0.5, q:limited(0, 0, nil, 0.5))
    assert.are.equal(1, q:limited(1, 0.6, nil, 0.5))
    q:ok(2.1)
    assert.are.equal(0.5, q:limited(3, 2.5, nil, 0.5))
  end)

  it("learns a pace from the 429s when none is configured", function()
    local p = pace.new()
    assert.is_nil(p:current_rate(0))
    -- 30 answers in the last second, then a 429: a little under 30 per second.
    for i = 1, 30 do p:take(i / 30); p:ok(i / 30) end
    p:limited(1.01, 1.0, 1, 0.5)
    local rate = p:current_rate(2.01)
    assert.is_true(rate > 20 and rate < 30, tostring(rate))
    -- The requests sent before the change do not halve it again.
    p:limited(1.02, 0.99, 1, 0.5)
    assert.are.equal(rate, p:current_rate(2.01))
    -- It grows again while no 429 comes.
    assert.is_true(p:current_rate(12) > rate)
  end)

  it("counts the last second's answers in a ring of buckets, whatever the rate", function()
    local p = pace.new()
    for i = 0, 99999 do p:ok(i / 10000) end   -- 10,000 a second for 10 seconds
    local kept = 0
    for _ in pairs(p.buckets) do kept = kept + 1 end
    assert.is_true(kept <= 11, tostring(kept))
    local accepted = p:_accepted(10)
    assert.is_true(accepted >= 8500 and accepted <= 10000, tostring(accepted))
    -- Two seconds later none of them is in the window.
    assert.are.equal(0, p:_accepted(12))
  end)

  it("without learning (rate_limit = false) only the pauses hold requests", function()
    local p = pace.new(nil, false)
    p:limited(0, 0, 1, 0.5)
    assert.is_nil(p:current_rate(5))
    assert.are.equal(0, p:delay(1))
  end)
end)

describe("pacing", function()
  -- A transport that answers from a script and keeps the order of events,
  -- and a sleep that only moves the client's clock.
  local function scripted(answers, opts)
    local events = {}
    local n = 0
    local o = { provider = "vapi", api_key = "pace-test-key-123", max_retries = 2,
      retry_delay = 0.5,
      transport = function(req)
        n = n + 1
        events[#events + 1] = "send " .. req.method
        local a = answers[math.min(n, #answers)]
        return { status = a.status, headers = a.headers or {}, body = a.body or '{"id":"c' .. n .. '"}' }
      end,
      sleep = function(s) events[#events + 1] = ("sleep %.1f"):format(s) end }
    for k, v in pairs(opts or {}) do o[k] = v end
    return campaign.client(o), events
  end

  it("a 429 is pacing: the call waits the provider's time, max_retries untouched", function()
    local c, events = scripted({
      { status = 429, headers = { ["Retry-After"] = "2" } },
      { status = 429, headers = { ["Retry-After"] = "2" } },
      { status = 429, headers = { ["Retry-After"] = "2" } },
      { status = 201 } }, { max_retries = 0, rate_limit = false })
    local body = assert(c:create(FIELDS))
    assert.are.equal("c4", body.id)
    assert.are.same({ "send POST", "sleep 2.0", "send POST", "sleep 2.0", "send POST", "sleep 2.0",
      "send POST" }, events)
  end)

  it("fails on the rate limit only past max_wait, as http 429 with retry_after", function()
    local c = scripted({ { status = 429, headers = { ["Retry-After"] = "30" } } },
      { max_wait = 10, rate_limit = false })
    local _, err = c:create(FIELDS)
    assert.are.equal("http", err.kind)
    assert.are.equal(429, err.status)
    assert.are.equal(30, err.retry_after)
    assert.are.equal(1, err.attempts)
  end)

  it("never asks again at once: Retry-After: 0 for ever ends at max_wait (found by fuzzing)", function()
    for _, headers in ipairs { { ["Retry-After"] = "0" }, {} } do
      local c, events = scripted({ { status = 429, headers = headers } },
        { max_wait = 60, retry_delay = 0, rate_limit = false })
      local _, err = c:create(FIELDS)
      assert.are.equal(429, err.status)
      local sends = 0
      for _, e in ipairs(events) do if e == "send POST" then sends = sends + 1 end end
      -- Pauses from 0.05 s, doubled each time: about a dozen sends in 60 s.
      assert.is_true(sends > 5 and sends < 20, tostring(sends))
    end
  end)

  it("keeps old code working: max_retry_delay is max_wait", function()
    local c = scripted({ { status = 429, headers = { ["Retry-After"] = "30" } } },
      { max_retry_delay = 10, rate_limit = false })
    assert.are.equal(10, c.max_wait)
    local _, err = c:create(FIELDS)
    assert.are.equal(429, err.status)
  end)

  it("paces single calls at rate_limit: every call after the first waits its turn", function()
    local c, events = scripted({ { status = 200, body = '{"results":[]}' } }, { rate_limit = 2 })
    for _ = 1, 3 do assert(c:list()) end
    assert.are.same({ "send GET", "sleep 0.5", "send GET", "sleep 0.5", "send GET" },
      (function()
        -- The waits are the pace's (0.5 s at 2 per second), less the moment spent.
        local out = {}
        for i, e in ipairs(events) do out[i] = e:gsub("sleep 0%.[45]", "sleep 0.5") end
        return out
      end)())
  end)

  it("a single call held past max_wait by the pace itself is not sent", function()
    local c = scripted({ { status = 200, body = '{"results":[]}' } },
      { rate_limit = { requests = 1, per = 60 }, max_wait = 5 })
    assert(c:list())
    local _, err = c:list()
    assert.are.equal(429, err.status)
    assert.is_true(err.retry_after > 50)
    assert.are.equal(0, err.attempts)
  end)

  it("takes rate_limit as a number, {requests, per} or false; refuses the rest", function()
    for _, good in ipairs { 10, 0.5, { requests = 100, per = 60 }, false } do
      campaign.client { provider = "vapi", api_key = "pace-test-key-123", rate_limit = good }
    end
    for _, bad in ipairs { 0, -1, "10", { requests = 1 }, { per = 1 }, true, 0 / 0 } do
      assert.has_error(function()
        campaign.client { provider = "vapi", api_key = "pace-test-key-123", rate_limit = bad }
      end)
    end
    -- Smallest documents 10 requests per second (free plan): its default pace.
    local s = campaign.client { provider = "smallest", api_key = "pace-test-key-123" }
    assert.are.equal(10, s._pace:current_rate(0))
    local v = campaign.client { provider = "vapi", api_key = "pace-test-key-123" }
    assert.is_nil(v._pace:current_rate(0))
  end)

  it("shared_dict names a lua_shared_dict of nginx: refused elsewhere, and when not a name", function()
    assert.has_error(function()
      campaign.client { provider = "vapi", api_key = "pace-test-key-123", shared_dict = "pace" }
    end, "campaign.client: shared_dict needs nginx with its Lua module (use campaign.openresty): "
      .. "ngx.shared is not available here")
    assert.has_error(function()
      campaign.client { provider = "vapi", api_key = "pace-test-key-123", shared_dict = true }
    end, "campaign.client: shared_dict must be the name of a lua_shared_dict (a string)")
  end)
end)

describe("batches at the provider's limit", function()
  local emu

  setup(function() emu = emulator.start() end)
  teardown(function() if emu then emu:stop() end end)
  before_each(function()
    emu:reset()
    emu:limit { vapi = false }
  end)

  local function client(extra)
    local o = { provider = "vapi", api_key = emu.keys.vapi, base_url = emu:url("vapi") }
    for k, v in pairs(extra or {}) do o[k] = v end
    return campaign.client(o)
  end

  local function all_created(results, n)
    assert.are.equal(n, #results)
    for i = 1, n do
      assert.is_false(campaign.is_error(results[i]), tostring(results[i]))
      assert.are.equal("Paced " .. i, results[i].name)
    end
    assert.are.equal(n, #emu:campaigns("vapi"))
  end

  it("with rate_limit at the limit: every item created, next to no 429", function()
    emu:limit { vapi = { rate = 40, retry_after = 1 } }
    local results = client({ rate_limit = 40 }):create_many(list_of(40), { concurrency = 8 })
    all_created(results, 40)
    assert.is_true(emu:count { fault = "rate_limit" } <= 2, emu:count { fault = "rate_limit" })
  end)

  it("without rate_limit: the 429s pause the client, every item is created", function()
    emu:limit { vapi = { rate = 40, retry_after = 1 } }
    local results = client():create_many(list_of(40), { concurrency = 8 })
    all_created(results, 40)
    assert.is_true(emu:count { fault = "rate_limit" } > 0)
  end)

  it("an item fails on the limit only past max_wait", function()
    emu:limit { vapi = { rate = 0.2, retry_after = 5 } }
    local results = client({ rate_limit = false }):create_many(list_of(3),
      { concurrency = 3, max_wait = 1 })
    local created, limited = 0, 0
    for i = 1, 3 do
      local r = results[i]
      if campaign.is_error(r) then
        assert.are.equal(429, r.status)
        assert.are.equal(5, r.retry_after)
        limited = limited + 1
      else
        created = created + 1
      end
    end
    -- The emulator lets a burst of two through (nginx's burst=1), then one per 5 s.
    assert.are.equal(2, created)
    assert.are.equal(1, limited)
    assert.are.equal(2, #emu:campaigns("vapi"))
  end)

  it("on_progress gets done, total and what happened so far", function()
    local seen = {}
    client():create_many(list_of(5), { concurrency = 2, on_progress = function(done, total, info)
      seen[#seen + 1] = { done = done, total = total, info = info }
    end })
    assert.are.equal(5, #seen)
    local last = seen[5]
    assert.are.equal(5, last.done)
    assert.are.equal(5, last.total)
    assert.are.equal(5, last.info.ok)
    assert.are.equal(5, last.info.created)
    assert.are.equal(0, last.info.failed)
    assert.are.equal(0, last.info.waiting)
    assert.are.equal("number", type(last.info.rate))
    assert.are.equal(0, last.info.eta)
  end)

  it("on_progress returning false cancels: a result for every item, nothing created unseen", function()
    local results = client():create_many(list_of(20), { concurrency = 4,
      on_progress = function(done) if done >= 2 then return false end end })
    assert.are.equal(20, #results)
    local ok, cancelled = 0, 0
    for i = 1, 20 do
      local r = results[i]
      assert.is_not_nil(r)
      if campaign.is_error(r) then
        assert.are.equal("cancelled", r.kind)
        cancelled = cancelled + 1
      else
        ok = ok + 1
        assert.are.equal("Paced " .. i, r.name)
      end
    end
    assert.is_true(cancelled >= 12, tostring(cancelled))
    assert.are.equal(ok, #emu:campaigns("vapi"))
    assert.are.equal(ok, emu:count { method = "POST" })
  end)

  it("on_progress raising cancels the same way, then raises again", function()
    local c = client()
    local ok, err = pcall(c.create_many, c, list_of(20), { concurrency = 4,
      on_progress = function(done) if done == 2 then error("stop the job") end end })
    assert.is_false(ok)
    assert.is_truthy(tostring(err):find("stop the job", 1, true))
    -- What was sent completed (never abandoned): at least the 2 seen, at most those under way.
    local created = #emu:campaigns("vapi")
    assert.is_true(created >= 2 and created <= 6, tostring(created))
    assert.are.equal(created, emu:count { method = "POST" })
  end)

  it("a caught Ctrl-C (core.catch_interrupt) cancels a batch the same way", function()
    local core = require "campaign.core"
    local proc = require "helpers.proc"
    local me = assert(proc.capture("echo $PPID"))
    local sent = 0
    local c = campaign.client { provider = "vapi", api_key = "pace-test-key-123",
      transport = function()
        sent = sent + 1
        if sent == 2 then
          -- From another process (system() ignores SIGINT while it waits):
          -- the request under way ends once the signal has come.
          os.execute("(sleep 0.1; kill -INT " .. me .. ") &")
          for _ = 1, 500 do
            if core.interrupted() then break end
            core.sleep(0.01)
          end
        end
        return { status = 201, headers = {}, body = '{"id":"c' .. sent .. '"}' }
      end }
    assert.is_true(core.catch_interrupt(true))
    local ok, results = pcall(c.create_many, c, list_of(5))
    local was = core.interrupted()
    core.catch_interrupt(false)
    assert(ok, results)
    assert.is_true(was)
    assert.are.equal("c1", results[1].id)
    assert.are.equal("c2", results[2].id)
    for i = 3, 5 do assert.are.equal("cancelled", results[i].kind) end
    assert.are.equal(2, sent)
  end)

  it("a custom transport's batch is cancelled the same way", function()
    local sent = 0
    local c = campaign.client { provider = "vapi", api_key = "pace-test-key-123",
      transport = function()
        sent = sent + 1
        return { status = 201, headers = {}, body = '{"id":"c' .. sent .. '"}' }
      end }
    local results = c:create_many(list_of(5), { on_progress = function() return false end })
    assert.are.equal(5, #results)
    assert.are.equal("c1", results[1].id)
    for i = 2, 5 do assert.are.equal("cancelled", results[i].kind) end
    assert.are.equal(1, sent)
  end)
end)

describe("the command-line tool at a rate limit", function()
  local cli_helper = require "helpers.cli"
  local cli = cli_helper.new("lua-campaign-pace")
  local emu

  setup(function() emu = emulator.start() end)
  teardown(function()
    if emu then emu:stop() end
    cli:close()
  end)

  it("--rate paces a batch: every item created, no 429", function()
    emu:reset()
    emu:limit { vapi = { rate = 10, retry_after = 1 } }
    local path = cli:file("batch.json", list_of(12))
    local r = cli:run({ "create", "--provider", "vapi", "--base-url", emu:url("vapi"), "--rate", "10",
      "--concurrency", "4", path }, { env = { VAPI_API_KEY = emu.keys.vapi } })
    assert.are.equal(0, r.code, r.err)
    local out = cli_helper.json_of(r)
    assert.are.equal(12, #out)
    for i = 1, 12 do assert.are.equal("Paced " .. i, out[i].name) end
    assert.are.equal(0, emu:count { fault = "rate_limit" })
    assert.are.equal(12, #emu:campaigns("vapi"))
  end)

  it("Ctrl-C stops sending, completes what is under way, prints every item, exits 130", function()
    local proc = require "helpers.proc"
    local cjson = require "cjson"
    emu:reset()
    -- The creates are held at the emulator until released: the Ctrl-C comes
    -- while two are under way, however slow the machine.
    emu:fault { provider = "vapi", method = "POST", hold = 10, times = -1 }
    local path = cli:file("slow.json", list_of(10))
    local rc, text, err = proc.interrupted(emu, emu.keys.vapi, "create --provider vapi --base-url "
      .. emu:url("vapi") .. " --concurrency 2 " .. proc.shquote(path), cli.tmp, 2)
    assert.are.equal("130", rc)
    local out = cjson.decode(text)
    assert.are.equal(10, #out)
    local created = 0
    for i = 1, 10 do
      if out[i].error then
        assert.are.equal("cancelled", out[i].error.kind)
      else
        created = created + 1
        assert.are.equal("Paced " .. i, out[i].name)
      end
    end
    -- Every campaign that was sent was completed and is in the output.
    assert.is_true(created >= 1 and created < 10, tostring(created))
    assert.are.equal(created, #emu:campaigns("vapi"))
    assert.are.equal(created, emu:count { method = "POST" })
    assert.is_truthy(err:find(("interrupted: %d created, 0 failed, %d not sent"):format(created,
      10 - created), 1, true), err)
  end)

  it("--rate 0: no pace, every item created", function()
    emu:reset()
    local path = cli:file("unpaced.json", list_of(3))
    local r = cli:run({ "create", "--provider", "vapi", "--base-url", emu:url("vapi"), "--rate", "0",
      path }, { env = { VAPI_API_KEY = emu.keys.vapi } })
    assert.are.equal(0, r.code, r.err)
    assert.are.equal(3, #cli_helper.json_of(r))
    assert.are.equal(3, #emu:campaigns("vapi"))
  end)

  it("--rate and --max-wait take numbers, and never show a wrong one", function()
    for _, args in ipairs { { "--rate", "fast" }, { "--max-wait", "-1" }, { "--rate", "1e9" } } do
      local r = cli:run({ "list", "--provider", "vapi", args[1], args[2] },
        { env = { VAPI_API_KEY = "pace-test-key-123" } })
      assert.are.equal(64, r.code, r.err)
      assert.is_truthy(r.err:find(args[1] .. " must be", 1, true), r.err)
      assert.is_nil(r.err:find(args[2], 1, true), r.err)
    end
  end)
end)
