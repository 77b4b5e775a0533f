-- Campaigns as code against the emulator, for every provider: every page of
-- the list (small and capped page sizes), the id of each answer, ensure
-- (created, unchanged, updated, drift, conflict; exactly once across a
-- dropped connection and a 500 after the provider stored the campaign),
-- plan and apply (a second apply writes nothing).
local campaign = require "campaign"
local emulator = require "helpers.emulator"
local fixtures = require "helpers.fixtures"

local PROVIDERS = fixtures.PROVIDERS

-- A valid create body of `provider` named `name`.
local function body(provider, name, changes)
  local t = fixtures.body(provider, changes)
  t.name = name
  return t
end

describe("campaigns as code", function()
  local emu

  setup(function() emu = emulator.start() end)
  teardown(function() if emu then emu:stop() end end)
  before_each(function() emu:reset() end)

  local function client(provider, extra)
    local opts = { provider = provider, api_key = emu.keys[provider], base_url = emu:url(provider),
      retry_delay = 0.01, rate_limit = false }
    for k, v in pairs(extra or {}) do opts[k] = v end
    return campaign.client(opts)
  end

  -- Requests that may change something (anything but GET).
  local function writes(provider)
    local n = 0
    for _, r in ipairs(emu:requests()) do
      if r.provider == provider and r.method ~= "GET" then n = n + 1 end
    end
    return n
  end

  local function stored(provider) return #emu:campaigns(provider) end

  local function seed(c, provider, n, prefix)
    local list = {}
    for i = 1, n do list[i] = body(provider, (prefix or "C") .. i) end
    for i, r in ipairs(c:create_many(list, { concurrency = 16 })) do
      assert(not campaign.is_error(r), "seed " .. i .. ": " .. tostring(r))
    end
  end

  local function names_of(list)
    local set, n = {}, 0
    for _, camp in ipairs(list) do
      if not set[camp.name] then n = n + 1 end
      set[camp.name] = true
    end
    return set, n
  end

  describe("every page", function()
    for _, provider in ipairs(PROVIDERS) do
      it(provider .. ": list_all and each give every one of hundreds of campaigns", function()
        local c = client(provider)
        seed(c, provider, 230)
        local all = assert(c:list_all())
        local set, n = names_of(all)
        assert.are.equal(230, #all)
        assert.are.equal(230, n)
        for i = 1, 230 do assert.is_true(set["C" .. i], "C" .. i) end
        local seen = 0
        for camp, err in c:each() do
          assert.is_nil(err)
          assert.is_string(camp.name)
          seen = seen + 1
        end
        assert.are.equal(230, seen)
      end)
    end

    it("vapi: follows page/limit and metadata.hasNextPage over small pages", function()
      local c = client("vapi")
      seed(c, "vapi", 230)
      local since = emu:last().seq
      local all = assert(c:list_all { limit = 10 })
      assert.are.equal(230, #all)
      local pages = emu:requests(since)
      assert.are.equal(23, #pages)
      assert.are.equal("limit=10&page=1&sortOrder=ASC", pages[1].query)
      assert.are.equal("limit=10&page=23&sortOrder=ASC", pages[23].query)
      -- Oldest first: the order they were created in (their seq).
      local _, n = names_of(all)
      assert.are.equal(230, n)
    end)

    it("smallest: follows page/offset and pagination.hasMore over the default pages of 5", function()
      local c = client("smallest")
      seed(c, "smallest", 23)
      local since = emu:last().seq
      local all = assert(c:list_all { offset = 5 })
      assert.are.equal(23, #all)
      local pages = emu:requests(since)
      assert.are.equal(5, #pages)
      assert.are.equal("offset=5&page=5&sortField=createdAt&sortOrder=asc", pages[5].query)
    end)

    for _, provider in ipairs { "vapi", "smallest" } do
      it(provider .. ": a server that caps the page size below what was asked is followed", function()
        local c = client(provider)
        seed(c, provider, 230)
        emu:paging { [provider] = { max = 7 } }
        local since = emu:last().seq
        local all = assert(c:list_all())
        local _, n = names_of(all)
        assert.are.equal(230, #all)
        assert.are.equal(230, n)
        local pages = emu:requests(since)
        -- 100 asked, 7 given: 33 pages of 7 (the last of 6), counted in 7s.
        assert.are.equal(33, #pages)
        local size = provider == "vapi" and "limit" or "offset"
        assert.truthy(pages[1].query:find(size .. "=100", 1, true))
        assert.truthy(pages[2].query:find(size .. "=7&page=2", 1, true))
      end)
    end

    for _, provider in ipairs { "autocalls", "atlas" } do
      it(provider .. ": everything comes in one request", function()
        local c = client(provider)
        seed(c, provider, 30)
        local since = emu:last().seq
        assert.are.equal(30, #assert(c:list_all()))
        assert.are.equal(1, #emu:requests(since))
      end)
    end

    it("a page that fails ends each with false, err; list_all returns the error", function()
      local c = client("vapi")
      seed(c, "vapi", 25)
      emu:fault { provider = "vapi", method = "GET", path = "^/v2/campaign$", status = 401 }
      local got = {}
      for camp, err in c:each { limit = 10 } do
        got[#got + 1] = camp == false and err or camp
      end
      assert.are.equal(1, #got)
      assert.is_true(campaign.is_error(got[1]))
      assert.are.equal(401, got[1].status)
      -- list_all: the first failure is the answer.
      emu:fault { provider = "vapi", method = "GET", path = "^/v2/campaign$", status = 403,
        times = 1 }
      local all, err = c:list_all { limit = 10 }
      assert.is_nil(all)
      assert.are.equal(403, err.status)
    end)

    it("raises on a query that is not a table", function()
      local c = client("vapi")
      assert.has_error(function() c:list_all("x") end)
      assert.has_error(function() c.list_all({}) end)
    end)
  end)

  describe("id_of", function()
    it("vapi: id of create, get and list answers", function()
      local c = client("vapi")
      local created = assert(c:create(body("vapi", "A")))
      assert.is_string(created.id)
      assert.are.equal(created.id, c:id_of(created))
      assert.are.equal(created.id, c:id_of(assert(c:get(created.id))))
      assert.are.equal(created.id, c:id_of(assert(c:list()).results[1]))
    end)

    it("smallest: _id of create and list, campaign._id of get, campaignId of start", function()
      local c = client("smallest")
      local created = assert(c:create(body("smallest", "A")))
      local id = created._id
      assert.are.equal(24, #id)
      assert.are.equal(id, c:id_of(created))
      local got = assert(c:get(id))
      assert.is_nil(got._id)
      assert.are.equal(id, c:id_of(got))
      assert.are.equal(id, c:id_of(assert(c:list()).campaigns[1]))
      assert.are.equal(id, c:id_of(assert(c:start(id))))
      -- A wrapped answer, as a transport of one's own may give it.
      assert.are.equal(id, c:id_of { status = true, data = { _id = id } })
    end)

    it("autocalls: data.id of create, id of list entries and get", function()
      local c = client("autocalls")
      local created = assert(c:create(body("autocalls", "A")))
      local id = created.data.id
      assert.are.equal(1, id)
      assert.are.equal(id, c:id_of(created))
      assert.are.equal(id, c:id_of(assert(c:get(id))))
      assert.are.equal(id, c:id_of(assert(c:list_all())[1]))
    end)

    it("atlas: RowKey of create, get, list and update", function()
      local c = client("atlas")
      local created = assert(c:create(body("atlas", "A")))
      local id = created.RowKey
      assert.is_string(id)
      assert.are.equal(id, c:id_of(created))
      assert.are.equal(id, c:id_of(assert(c:get(id))))
      assert.are.equal(id, c:id_of(assert(c:list())[1]))
      assert.are.equal(id, c:id_of(assert(c:update(id, body("atlas", "B")))))
      assert.is_nil(c:id_of { id = "not atlas's" })
    end)

    it("nil for an answer without an id; raises for one that is not a table", function()
      local c = client("vapi")
      assert.is_nil(c:id_of {})
      assert.is_nil(c:id_of { data = {} })
      assert.has_error(function() c:id_of("abc") end,
        "campaign vapi id_of: body must be a table (an answer; got string)")
    end)
  end)

  describe("ensure", function()
    for _, provider in ipairs(PROVIDERS) do
      it(provider .. ": created, then unchanged with no second write", function()
        local c = client(provider)
        local fields = body(provider, "Spring")
        local r = assert(c:ensure(fields))
        assert.are.equal("created", r.action)
        assert.are.equal(c:id_of(emu:campaigns(provider)[1]), r.id)
        assert.are.equal("Spring", r.campaign.name)
        assert.are.equal(1, writes(provider))
        r = assert(c:ensure(fields))
        assert.are.equal("unchanged", r.action)
        assert.are.equal(c:id_of(emu:campaigns(provider)[1]), r.id)
        assert.is_nil(r.changes)
        assert.are.equal(1, writes(provider))
        assert.are.equal(1, stored(provider))
      end)
    end

    it("vapi: a scheduled campaign is updated (PATCH with what differs)", function()
      local c = client("vapi")
      local plan = { earliestAt = "2030-01-01T09:00:00Z" }
      assert.are.equal("created", assert(c:ensure(body("vapi", "S", { schedulePlan = plan }))).action)
      local r = assert(c:ensure(body("vapi", "S", { schedulePlan = plan, assistantId = "b" })))
      assert.are.equal("updated", r.action)
      assert.are.same({ { field = "assistantId", from = "a", to = "b", updatable = true } },
        r.changes)
      local last = emu:last()
      assert.are.equal("PATCH", last.method)
      assert.are.equal("/v2/campaign/" .. r.id, last.path)
      assert.are.same({ assistantId = "b" }, last.json)
      assert.are.equal("b", emu:campaigns("vapi")[1].assistantId)
      assert.are.equal("unchanged",
        assert(c:ensure(body("vapi", "S", { schedulePlan = plan, assistantId = "b" }))).action)
    end)

    it("vapi: in progress, a difference is drift and nothing is sent", function()
      local c = client("vapi")
      assert(c:ensure(body("vapi", "R")))
      local before = writes("vapi")
      local r = assert(c:ensure(body("vapi", "R", { assistantId = "b" })))
      assert.are.equal("drift", r.action)
      assert.are.equal("assistantId", r.changes[1].field)
      assert.is_false(r.changes[1].updatable)
      assert.are.equal(before, writes("vapi"))
      assert.are.equal("a", emu:campaigns("vapi")[1].assistantId)
    end)

    it("atlas: a difference is a full update (PUT with every field)", function()
      local c = client("atlas")
      assert.are.equal("created", assert(c:ensure(body("atlas", "In"))).action)
      local changed = body("atlas", "In", { CallType = "1" })
      local r = assert(c:ensure(changed))
      assert.are.equal("updated", r.action)
      assert.are.same({ { field = "CallType", from = "2", to = "1", updatable = true } }, r.changes)
      local last = emu:last()
      assert.are.equal("PUT", last.method)
      assert.are.equal("/campaign/" .. r.id, last.path)
      assert.are.same(changed, last.json)
      assert.are.equal("1", emu:campaigns("atlas")[1].CallType)
    end)

    for provider, change in pairs { smallest = { maxRetries = 5 }, autocalls = { max_retries = 5 } } do
      it(provider .. ": no update call, so a difference is drift and nothing is sent", function()
        local c = client(provider)
        assert(c:ensure(body(provider, "D")))
        local r = assert(c:ensure(body(provider, "D", change)))
        local field = next(change)
        assert.are.equal("drift", r.action)
        assert.are.equal(1, #r.changes)
        assert.are.equal(field, r.changes[1].field)
        assert.are.equal(5, r.changes[1].to)
        assert.are.equal(1, writes(provider))
      end)
    end

    it("autocalls: times echoed as H:i:s are the same as H:i", function()
      local c = client("autocalls")
      local fields = body("autocalls", "T", { allowed_hours_start_time = "09:00" })
      assert(c:ensure(fields))
      assert.are.equal("09:00:00", emu:campaigns("autocalls")[1].allowed_hours_start_time)
      assert.are.equal("unchanged", assert(c:ensure(fields)).action)
    end)

    for _, provider in ipairs(PROVIDERS) do
      it(provider .. ": two campaigns with the name: conflict with their ids, nothing created", function()
        local c = client(provider)
        local a = assert(c:create(body(provider, "Twin")))
        local b = assert(c:create(body(provider, "Twin")))
        assert(c:create(body(provider, "Twin2")))
        local before = writes(provider)
        local r, err = c:ensure(body(provider, "Twin"))
        assert.is_nil(r)
        assert.are.equal("conflict", err.kind)
        assert.are.equal("ensure", err.op)
        table.sort(err.ids, function(x, y) return tostring(x) < tostring(y) end)
        local ids = { c:id_of(a), c:id_of(b) }
        table.sort(ids, function(x, y) return tostring(x) < tostring(y) end)
        assert.are.same(ids, err.ids)
        assert.are.equal(before, writes(provider))
      end)
    end

    for _, provider in ipairs(PROVIDERS) do
      for _, case in ipairs {
        { "a dropped connection", { action = "drop", after = true } },
        { "a 500", { status = 500, after = true } },
      } do
        it(provider .. ": exactly once across " .. case[1] .. " after the provider stored it", function()
          local c = client(provider)
          local f = { provider = provider, method = "POST" }
          for k, v in pairs(case[2]) do f[k] = v end
          emu:fault(f)
          local r = assert(c:ensure(body(provider, "Once"), { settle_wait = 0.05 }))
          assert.are.equal("created", r.action)
          assert.is_true(r.settled)
          assert.are.equal(1, stored(provider))
          assert.are.equal(c:id_of(emu:campaigns(provider)[1]), r.id)
          assert.are.equal(1, writes(provider))
          assert.are.equal("unchanged", assert(c:ensure(body(provider, "Once"))).action)
          assert.are.equal(1, stored(provider))
        end)
      end
    end

    it("a create lost before the provider stored it is sent again after a second look", function()
      local c = client("vapi")
      emu:fault { provider = "vapi", method = "POST", action = "drop" }
      local t0 = require("socket").gettime()
      local r = assert(c:ensure(body("vapi", "Lost"), { settle_wait = 0.3 }))
      assert.is_true(require("socket").gettime() - t0 >= 0.3)
      assert.are.equal("created", r.action)
      assert.are.equal(1, stored("vapi"))
      assert.are.equal(2, writes("vapi"))
      -- Two looks before the second create.
      assert.are.equal(3, emu:count { provider = "vapi", method = "GET" })
    end)

    it("a timeout after sending is settled by listing", function()
      local c = client("atlas", { timeout = 0.3 })
      emu:fault { provider = "atlas", method = "POST", delay = 1 }
      local r = assert(c:ensure(body("atlas", "Slow"), { settle_wait = 1.5 }))
      assert.are.equal("created", r.action)
      assert.are.equal(1, stored("atlas"))
      assert.are.equal(1, writes("atlas"))
    end)

    it("a refused create returns the error; a later ensure creates it once", function()
      local c = client("smallest")
      emu:fault { provider = "smallest", method = "POST", status = 400 }
      local r, err = c:ensure(body("smallest", "Refused"))
      assert.is_nil(r)
      assert.are.equal(400, err.status)
      assert.is_nil(err.outcome_unknown)
      assert.are.equal(0, stored("smallest"))
      assert.are.equal("created", assert(c:ensure(body("smallest", "Refused"))).action)
      assert.are.equal(1, stored("smallest"))
    end)

    it("invalid fields are a validation error before anything is sent", function()
      local c = client("vapi")
      local r, err = c:ensure { name = "X" }
      assert.is_nil(r)
      assert.are.equal("validation", err.kind)
      assert.are.equal("ensure", err.op)
      assert.are.equal(0, #emu:requests())
      assert.has_error(function() c:ensure("x") end)
      assert.has_error(function() c:ensure(body("vapi", "X"), { settle_wiat = 1 }) end)
    end)
  end)

  describe("plan and apply", function()
    for _, provider in ipairs(PROVIDERS) do
      it(provider .. ": applied twice, the second writes nothing", function()
        local c = client(provider)
        local list = {}
        for i = 1, 12 do list[i] = body(provider, "P" .. i) end
        local plan = assert(c:plan(list))
        assert.are.equal(12, #plan)
        for i, step in ipairs(plan) do
          assert.are.equal("create", step.action)
          assert.are.equal("P" .. i, step.name)
        end
        assert.are.equal(0, writes(provider))
        local done = 0
        local results = c:apply(plan, { concurrency = 4, on_progress = function(d) done = d end })
        assert.are.equal(12, done)
        for i, r in ipairs(results) do
          assert(not campaign.is_error(r), tostring(r))
          assert.are.equal("created", r.action)
          assert.are.equal("P" .. i, r.campaign.name)
        end
        assert.are.equal(12, writes(provider))
        assert.are.equal(12, stored(provider))
        -- The same plan again: its steps are done.
        for _, r in ipairs(c:apply(plan)) do assert.are.equal("unchanged", r.action) end
        assert.are.equal(12, writes(provider))
        -- A new plan of the same list: unchanged, nothing sent.
        local again = assert(c:plan(list))
        for _, step in ipairs(again) do assert.are.equal("unchanged", step.action) end
        for _, r in ipairs(c:apply(again)) do assert.are.equal("unchanged", r.action) end
        assert.are.equal(12, writes(provider))
        assert.are.equal(12, stored(provider))
      end)
    end

    it("a plan of every action; apply updates, leaves drift, reports the conflict", function()
      local c = client("vapi")
      local sched = { earliestAt = "2030-01-01T09:00:00Z" }
      assert(c:create(body("vapi", "Same", { schedulePlan = sched })))
      assert(c:create(body("vapi", "Upd", { schedulePlan = sched })))
      assert(c:create(body("vapi", "Drift")))
      assert(c:create(body("vapi", "Twin")))
      assert(c:create(body("vapi", "Twin")))
      local list = {
        body("vapi", "Same", { schedulePlan = sched }),
        body("vapi", "Upd", { schedulePlan = sched, assistantId = "z" }),
        body("vapi", "Drift", { assistantId = "z" }),
        body("vapi", "Twin"),
        body("vapi", "New"),
      }
      local before = writes("vapi")
      local plan = assert(c:plan(list))
      assert.are.same({ "unchanged", "update", "drift", "conflict", "create" },
        { plan[1].action, plan[2].action, plan[3].action, plan[4].action, plan[5].action })
      assert.are.equal(2, #plan[4].ids)
      assert.are.equal("assistantId", plan[2].changes[1].field)
      assert.are.equal(before, writes("vapi"))
      local results = c:apply(plan)
      assert.are.equal("unchanged", results[1].action)
      assert.are.equal("updated", results[2].action)
      assert.are.equal("drift", results[3].action)
      assert.are.equal("conflict", results[4].kind)
      assert.are.equal("created", results[5].action)
      assert.are.equal(before + 2, writes("vapi"))
      local byname = {}
      for _, camp in ipairs(emu:campaigns("vapi")) do byname[camp.name] = camp end
      assert.are.equal("z", byname.Upd.assistantId)
      assert.are.equal("a", byname.Drift.assistantId)
    end)

    for _, provider in ipairs(PROVIDERS) do
      it(provider .. ": apply creates exactly once across a dropped connection", function()
        local c = client(provider)
        emu:fault { provider = provider, method = "POST", action = "drop", after = true }
        emu:fault { provider = provider, method = "POST", action = "drop" }
        local list = {}
        for i = 1, 6 do list[i] = body(provider, "A" .. i) end
        local results = c:apply(assert(c:plan(list)), { concurrency = 1, settle_wait = 0.05 })
        for _, r in ipairs(results) do
          assert(not campaign.is_error(r), tostring(r))
          assert.are.equal("created", r.action)
        end
        assert.are.equal(6, stored(provider))
        local _, n = names_of(emu:campaigns(provider))
        assert.are.equal(6, n)
        -- Six creates and the one lost before it was stored, sent again.
        assert.are.equal(7, writes(provider))
      end)
    end

    it("plan: a duplicate name, invalid fields and wrong use", function()
      local c = client("vapi")
      local plan, err = c:plan { body("vapi", "X"), body("vapi", "X") }
      assert.is_nil(plan)
      assert.are.equal(2, err.index)
      assert.truthy(err.message:find('item 2: the name "X" is also item 1', 1, true))
      plan, err = c:plan { body("vapi", "X"), { name = "Y" } }
      assert.is_nil(plan)
      assert.are.equal("validation", err.kind)
      assert.are.equal(2, err.index)
      assert.are.equal(0, #emu:requests())
      assert.has_error(function() c:plan("x") end)
      assert.has_error(function() c:plan { a = 1 } end)
      assert.has_error(function() c:apply { { action = "create" } } end)
    end)
  end)

  describe("done when", function()
    for _, provider in ipairs(PROVIDERS) do
      it(provider .. ": a script ensuring 20 campaigns, run twice with a dropped connection "
        .. "in the first run, leaves exactly 20", function()
        local function script()
          local c = client(provider)
          local out = {}
          for i = 1, 20 do
            out[i] = assert(c:ensure(body(provider, "Campaign " .. i), { settle_wait = 0.05 }))
          end
          return out
        end
        emu:fault { provider = provider, method = "POST", action = "drop", after = true }
        emu:fault { provider = provider, method = "POST", action = "drop" }
        local first = script()
        assert.are.equal(2, emu:count { provider = provider, fault = true })
        for _, r in ipairs(first) do assert.are.equal("created", r.action) end
        local second = script()
        for _, r in ipairs(second) do assert.are.equal("unchanged", r.action) end
        assert.are.equal(20, stored(provider))
        local _, n = names_of(emu:campaigns(provider))
        assert.are.equal(20, n)
      end)
    end
  end)
end)
