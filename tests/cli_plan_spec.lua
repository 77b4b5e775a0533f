-- campaign plan and campaign apply, run as child processes against the
-- provider emulator, for every provider: the plan's lines (create, update,
-- unchanged, drift, conflict) and exit codes, apply with --yes, a second
-- apply that writes nothing, the question on a terminal (a real one, from
-- script(1)) and without one, JSON and Lua files, several FILEs and
-- standard input, --json, and keys that never show.
local cjson = require "cjson"
local campaign = require "campaign"
local emulator = require "helpers.emulator"
local fixtures = require "helpers.fixtures"
local proc = require "helpers.proc"
local helper = require "helpers.cli"

local PROVIDERS = fixtures.PROVIDERS
local shquote = proc.shquote

-- Keys the emulator accepts here: long enough that a leak is unmistakable.
local KEYS, ENV = {}, {}
for _, provider in ipairs(PROVIDERS) do
  KEYS[provider] = provider .. "-plan-key-0123456789abcdef"
  ENV[provider] = require("campaign.providers")[provider].env
end

-- What each provider does with a difference: Vapi updates a scheduled
-- campaign (PATCH), Atlas any campaign (PUT); Smallest and Autocalls have
-- no update call, so a difference is drift. `seeded`: fields of the
-- campaigns created first; `change`: what the FILE then declares.
local CASES = {
  vapi = { seeded = { schedulePlan = { earliestAt = "2030-01-01T09:00:00Z" } },
    change = { assistantId = "b" }, line = '~ Changed: assistantId "a" -> "b"', updates = true },
  atlas = { seeded = {}, change = { CallType = "1" }, line = '~ Changed: CallType "2" -> "1"',
    updates = true },
  smallest = { seeded = {}, change = { maxRetries = 5 }, line = "! Changed: drift: maxRetries 3 -> 5",
    updates = false },
  autocalls = { seeded = {}, change = { max_retries = 5 }, line = "! Changed: drift: max_retries 3 -> 5",
    updates = false },
}

-- A valid create body of `provider` named `name`, with changes.
local function body(provider, name, ...)
  local t = fixtures.body(provider)
  for i = 1, select("#", ...) do
    for k, v in pairs((select(i, ...))) do t[k] = v end
  end
  t.name = name
  return t
end

-- The lines of a text, without the blank last one.
local function lines(text)
  local out = {}
  for line in text:gmatch("([^\n]*)\n") do out[#out + 1] = line end
  return out
end

-- A Lua data file returning `list` (strings and numbers, tables of them).
local function lua_data(v, indent)
  indent = indent or ""
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) ~= "table" then return tostring(v) end
  local parts = {}
  if #v > 0 then
    for _, x in ipairs(v) do parts[#parts + 1] = lua_data(x, indent .. "  ") end
  else
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    table.sort(keys)
    for _, k in ipairs(keys) do parts[#parts + 1] = k .. " = " .. lua_data(v[k], indent .. "  ") end
  end
  return "{ " .. table.concat(parts, ", ") .. " }"
end

describe("campaign plan and apply", function()
  local emu
  local cli = helper.new("lua-campaign-plan")
  local file = function(name, content) return cli:file(name, content) end

  setup(function() emu = emulator.start() end)

  teardown(function()
    if emu then emu:stop() end
    cli:close()
    cli:assert_no_key(KEYS)
  end)

  before_each(function()
    emu:reset()
    emu:set_keys(KEYS)
  end)

  -- Runs the tool: COMMAND --provider P --base-url (the emulator) ARGS...
  local function run(provider, args, opts)
    opts = opts or {}
    local full = { args[1], "--provider", provider, "--base-url", emu:url(provider) }
    for i = 2, #args do full[#full + 1] = args[i] end
    local env = { [ENV[provider]] = KEYS[provider] }
    for k, v in pairs(opts.env or {}) do env[k] = v end
    return cli:run(full, { env = env, stdin = opts.stdin, cmd = opts.cmd })
  end

  local function client(provider)
    return campaign.client { provider = provider, api_key = KEYS[provider], base_url = emu:url(provider),
      rate_limit = false }
  end

  local function seed(provider, list)
    for i, r in ipairs(client(provider):create_many(list)) do
      assert(not campaign.is_error(r), "seed " .. i .. ": " .. tostring(r))
    end
  end

  -- Requests after seq `since` that may change something (not GET).
  local function writes(provider, since)
    local n = 0
    for _, r in ipairs(emu:requests(since)) do
      if r.provider == provider and r.method ~= "GET" then n = n + 1 end
    end
    return n
  end

  local function last_seq()
    local last = emu:last()
    return last and last.seq or 0
  end

  -- The ids of the stored campaigns named `name`, in the order stored.
  local function ids_named(provider, name)
    local c, ids = client(provider), {}
    for _, camp in ipairs(emu:campaigns(provider)) do
      if camp.name == name then ids[#ids + 1] = tostring(c:id_of(camp)) end
    end
    return ids
  end

  local function stored(provider, name)
    for _, camp in ipairs(emu:campaigns(provider)) do
      if camp.name == name then return camp end
    end
  end

  for _, provider in ipairs(PROVIDERS) do
    local case = CASES[provider]

    describe(provider, function()
      it("plan: a line per campaign, the summary, exit 2 with a conflict, nothing written", function()
        seed(provider, { body(provider, "Same", case.seeded), body(provider, "Changed", case.seeded),
          body(provider, "Twin"), body(provider, "Twin") })
        local since = last_seq()
        -- Two FILEs: a Lua data file and JSON.
        local lua_file = file("plan.lua", "return " .. lua_data({ body(provider, "Same", case.seeded),
          body(provider, "Changed", case.seeded, case.change) }))
        local json_file = file("plan.json", { body(provider, "Twin"), body(provider, "New") })
        local r = run(provider, { "plan", lua_file, json_file })
        assert.are.equal(2, r.code, r.err)
        assert.are.equal("", r.err)
        local twins = ids_named(provider, "Twin")
        local got = lines(r.out)
        assert.are.equal(5, #got, r.out)
        assert.are.equal("= Same", got[1])
        assert.are.equal(case.line, got[2])
        local ids = got[3]:match("^! Twin: conflict: 2 campaigns have this name %((.*)%)$")
        assert(ids, got[3])
        local listed = {}
        for id in ids:gmatch("[^, ]+") do listed[#listed + 1] = id end
        table.sort(listed)
        table.sort(twins)
        assert.are.same(twins, listed)
        assert.are.equal("+ New", got[4])
        assert.are.equal(case.updates
          and "plan: 1 to create, 1 to update, 1 unchanged, 0 drift, 1 conflict"
          or "plan: 1 to create, 0 to update, 1 unchanged, 1 drift, 1 conflict", got[5])
        -- One listing, nothing written.
        assert.are.equal(0, writes(provider, since))

        -- Without the twins: exit 0.
        r = run(provider, { "plan", lua_file, file("new.json", { body(provider, "New") }) })
        assert.are.equal(0, r.code, r.err)
        assert.are.equal("+ New", lines(r.out)[3])
        assert.are.equal(0, writes(provider, since))
      end)

      it("apply --yes: creates and updates; a second apply writes nothing", function()
        seed(provider, { body(provider, "Same", case.seeded), body(provider, "Changed", case.seeded) })
        local path = file("apply.json", { body(provider, "Same", case.seeded),
          body(provider, "Changed", case.seeded, case.change), body(provider, "New") })
        local since = last_seq()
        local r = run(provider, { "apply", "--yes", path })
        assert.are.equal(0, r.code, r.err)
        assert.are.equal("", r.err)
        local got = lines(r.out)
        local new_id = ids_named(provider, "New")[1]
        local changed_id = ids_named(provider, "Changed")[1]
        assert.is_string(new_id)
        local expected = { "= Same", case.line, "+ New" }
        if case.updates then
          expected[4] = "plan: 1 to create, 1 to update, 1 unchanged, 0 drift, 0 conflicts"
          expected[5] = "~ Changed: updated, id " .. changed_id
          expected[6] = "+ New: created, id " .. new_id
          expected[7] = "apply: 1 created, 1 updated, 0 failed"
        else
          expected[4] = "plan: 1 to create, 0 to update, 1 unchanged, 1 drift, 0 conflicts"
          expected[5] = "+ New: created, id " .. new_id
          expected[6] = "apply: 1 created, 0 updated, 0 failed"
        end
        assert.are.same(expected, got)
        assert.are.equal(case.updates and 2 or 1, writes(provider, since))
        assert.are.equal(3, #emu:campaigns(provider))
        local field, value = next(case.change)
        if case.updates then
          assert.are.equal(value, stored(provider, "Changed")[field])
        else
          assert.are_not.equal(value, stored(provider, "Changed")[field])
        end

        -- Again, without --yes and without a terminal: nothing to change,
        -- nothing asked, nothing written.
        since = last_seq()
        r = run(provider, { "apply", path })
        assert.are.equal(0, r.code, r.err)
        assert.are.equal("", r.err)
        got = lines(r.out)
        assert.are.equal("= Same", got[1])
        assert.are.equal(case.updates and "= Changed" or case.line, got[2])
        assert.are.equal("= New", got[3])
        assert.are.equal("apply: nothing to change", got[5])
        assert.are.equal(5, #got)
        assert.are.equal(0, writes(provider, since))
        assert.are.equal(3, #emu:campaigns(provider))
      end)

      it("apply without a terminal and without --yes: refused, exit 64, nothing written", function()
        local since = last_seq()
        local r = run(provider, { "apply", file("one.lua", "return " .. lua_data(body(provider, "Solo"))) })
        assert.are.equal(64, r.code, r.err)
        assert.are.same({ "+ Solo", "plan: 1 to create, 0 to update, 0 unchanged, 0 drift, 0 conflicts" },
          lines(r.out))
        assert.truthy(r.err:find("campaign: apply: standard input is not a terminal, so the changes "
          .. "cannot be confirmed: pass --yes to apply them without asking\n", 1, true), r.err)
        assert.are.equal(0, writes(provider, since))
        assert.are.equal(0, #emu:campaigns(provider))
      end)

      it("apply with a conflict: nothing applied, exit 2", function()
        seed(provider, { body(provider, "Twin"), body(provider, "Twin") })
        local since = last_seq()
        local r = run(provider, { "apply", "--yes", file("twins.json", { body(provider, "New"),
          body(provider, "Twin") }) })
        assert.are.equal(2, r.code, r.err)
        local got = lines(r.out)
        assert.are.equal("+ New", got[1])
        assert.truthy(got[2]:find("^! Twin: conflict: 2 campaigns have this name %("), got[2])
        assert.are.equal("campaign: apply: nothing applied: several campaigns are named Twin; a name "
          .. "is a campaign's identity: rename or delete all but one of each, then apply again\n", r.err)
        assert.are.equal(0, writes(provider, since))
        assert.is_nil(stored(provider, "New"))
      end)

      it("reads campaigns from standard input, JSON or Lua, beside a FILE", function()
        local r = run(provider, { "apply", "--yes", file("a.json", body(provider, "From file")), "-" },
          { stdin = "return " .. lua_data({ body(provider, "From stdin") }) })
        assert.are.equal(0, r.code, r.err)
        assert.truthy(r.out:find("\napply: 2 created, 0 updated, 0 failed\n", 1, true), r.out)
        assert.is_table(stored(provider, "From file"))
        assert.is_table(stored(provider, "From stdin"))
        r = run(provider, { "plan", "-" }, { stdin = cjson.encode(body(provider, "From stdin")) })
        assert.are.equal(0, r.code, r.err)
        assert.are.equal("= From stdin\n", r.out:match("^[^\n]*\n"))
      end)
    end)
  end

  describe("--json", function()
    it("plan: a step per campaign on stdout, the text on stderr", function()
      local sched = CASES.vapi.seeded
      seed("vapi", { body("vapi", "Same", sched), body("vapi", "Changed", sched), body("vapi", "Twin"),
        body("vapi", "Twin") })
      local r = run("vapi", { "plan", "--json", file("p.json", { body("vapi", "Same", sched),
        body("vapi", "Changed", sched, { assistantId = "b" }), body("vapi", "Twin"), body("vapi", "New") }) })
      assert.are.equal(2, r.code, r.err)
      local steps = helper.json_of(r)
      assert.are.equal(4, #steps)
      assert.are.same({ name = "Same", action = "unchanged", id = ids_named("vapi", "Same")[1] }, steps[1])
      assert.are.same({ name = "Changed", action = "update", id = ids_named("vapi", "Changed")[1],
        changes = { { field = "assistantId", from = "a", to = "b", updatable = true } } }, steps[2])
      assert.are.equal("conflict", steps[3].action)
      assert.are.equal("conflict", steps[3].error.kind)
      local ids = steps[3].ids
      table.sort(ids)
      local twins = ids_named("vapi", "Twin")
      table.sort(twins)
      assert.are.same(twins, ids)
      assert.are.same({ name = "New", action = "create" }, steps[4])
      assert.truthy(r.err:find("\nplan: 1 to create, 1 to update, 1 unchanged, 0 drift, 1 conflict\n$"), r.err)
    end)

    it("apply: each step with its result, or its error; the text on stderr", function()
      local sched = CASES.vapi.seeded
      seed("vapi", { body("vapi", "Same", sched), body("vapi", "Changed", sched) })
      -- The create is refused: a result of its own, exit 1; the update is made.
      emu:fault { provider = "vapi", method = "POST", status = 400, json = { message = "no room" } }
      local r = run("vapi", { "apply", "--json", "--yes", file("a.json", { body("vapi", "Same", sched),
        body("vapi", "Changed", sched, { assistantId = "b" }), body("vapi", "New") }) })
      assert.are.equal(1, r.code, r.err)
      local steps = helper.json_of(r)
      assert.are.equal("unchanged", steps[1].result)
      assert.are.equal("update", steps[2].action)
      assert.are.equal("updated", steps[2].result)
      assert.are.equal(ids_named("vapi", "Changed")[1], steps[2].id)
      assert.are.equal("create", steps[3].action)
      assert.is_nil(steps[3].result)
      assert.are.same({ kind = "http", status = 400, message = "HTTP 400 Bad Request: no room" }, steps[3].error)
      assert.truthy(r.err:find("\n+ New: failed: campaign vapi apply: HTTP 400 Bad Request: no room\n", 1, true),
        r.err)
      assert.truthy(r.err:find("\napply: 0 created, 1 updated, 1 failed\n$"), r.err)
      assert.is_nil(stored("vapi", "New"))
    end)
  end)

  describe("as the other commands", function()
    it("a provider error when listing: exit 1, nothing written", function()
      local r = run("vapi", { "plan", file("c.json", { body("vapi", "X") }) },
        { env = { VAPI_API_KEY = "wrong-key-0000" } })
      assert.are.equal(1, r.code)
      assert.are.equal("", r.out)
      assert.truthy(r.err:find("^campaign vapi plan: HTTP 401 Unauthorized"), r.err)
      r = run("vapi", { "apply", "--json", "--yes", file("c.json", { body("vapi", "X") }) },
        { env = { VAPI_API_KEY = "wrong-key-0000" } })
      assert.are.equal(1, r.code)
      assert.are.equal(401, helper.json_of(r).error.status)
      assert.are.equal(0, writes("vapi"))
    end)

    it("vapi: a drift step updates what it can, and says what it left", function()
      local sched = CASES.vapi.seeded
      seed("vapi", { body("vapi", "Mixed", sched, { maxConcurrency = 2 }) })
      local id = ids_named("vapi", "Mixed")[1]
      local since = last_seq()
      local r = run("vapi", { "apply", "--yes", file("m.json", { body("vapi", "Mixed", sched,
        { maxConcurrency = 5, assistantId = "b" }) }) })
      assert.are.equal(0, r.code, r.err)
      assert.are.same({ '! Mixed: drift: assistantId "a" -> "b" (updated); maxConcurrency 2 -> 5',
        "plan: 0 to create, 0 to update, 0 unchanged, 1 drift, 0 conflicts",
        "! Mixed: updated, id " .. id .. "; drift left as is: maxConcurrency",
        "apply: 0 created, 1 updated, 0 failed" }, lines(r.out))
      assert.are.equal(1, writes("vapi", since))
      assert.are.same({ assistantId = "b" }, emu:last().json)
    end)

    it("a failed create: its error in the results, exit 1", function()
      emu:fault { provider = "smallest", method = "POST", status = 400, json = { message = "no room" } }
      local r = run("smallest", { "apply", "--yes", file("c.json", { body("smallest", "A"),
        body("smallest", "B") }), "--concurrency", "1" })
      assert.are.equal(1, r.code, r.err)
      local got = lines(r.out)
      assert.are.equal("+ A: failed: campaign smallest apply: HTTP 400 Bad Request: no room", got[4])
      assert.are.equal("+ B: created, id " .. ids_named("smallest", "B")[1], got[5])
      assert.are.equal("apply: 1 created, 0 updated, 1 failed", got[6])
    end)

    it("invalid campaigns: every problem, each named by its FILE, exit 2, nothing listed", function()
      local bad = body("vapi", "Bad")
      bad.assistantId = nil
      local r = run("vapi", { "plan", file("ok.json", body("vapi", "Good")), file("bad.json", { bad, bad })  })
      assert.are.equal(2, r.code)
      assert.are.equal("", r.out)
      local dir = cli.tmp
      local required = "assistantId: is required: give one of assistantId, workflowId or squadId (or "
        .. "duplicateFromCampaignId)"
      assert.are.same({ dir .. "/bad.json[1]: " .. required, dir .. "/bad.json[2]: " .. required,
        "1 valid, 2 invalid" }, lines(r.err))
      -- --json: as --check prints it.
      r = run("vapi", { "apply", "--json", file("bad2.json", { bad }) })
      assert.are.equal(2, r.code)
      assert.are.equal(false, helper.json_of(r)[1].valid)
      -- A name missing, a name given twice: named by FILE too.
      local nameless = body("vapi", "x")
      nameless.name = nil
      r = run("vapi", { "plan", file("nameless.json", { body("vapi", "A"), nameless }) })
      assert.are.equal(2, r.code)
      assert.truthy(r.err:find(dir .. "/nameless.json[2]: name: is required", 1, true), r.err)
      r = run("vapi", { "plan", file("one.json", body("vapi", "A")), file("two.json", { body("vapi", "A") }) })
      assert.are.equal(2, r.code)
      assert.truthy(r.err:find(dir .. '/two.json[1]: campaign vapi plan: the name "A" is also ' .. dir
        .. "/one.json's: the name is the identity", 1, true), r.err)
      -- A FILE that is not data: the message, and JSON on stdout only with --json.
      local broken = file("broken.json", '{"name": ')
      r = run("vapi", { "plan", broken })
      assert.are.equal(2, r.code)
      assert.are.equal("", r.out)
      assert.truthy(r.err:find("broken.json: is not valid JSON", 1, true), r.err)
      r = run("vapi", { "plan", "--json", broken })
      assert.are.equal(2, r.code)
      assert.are.equal("validation", helper.json_of(r).error.kind)
      assert.are.equal(0, #emu:requests())
    end)

    it("--check: validates only, without a key", function()
      local r = cli:run({ "plan", "--provider", "vapi", "--check", file("c.json", body("vapi", "A")) })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("", r.out)
      assert.are.equal("1 valid, 0 invalid\n", r.err)
      assert.are.equal(0, #emu:requests())
    end)

    it("usage errors: exit 64, nothing on stdout, nothing sent", function()
      local c = file("c.json", body("vapi", "A"))
      for _, case in ipairs {
        { { "plan" }, "plan needs a FILE" },
        { { "apply" }, "apply needs a FILE" },
        { { "plan", "--yes", c }, "--yes is only for apply" },
        { { "create", "--json", c }, "--json is only for plan and apply" },
        { { "apply", "--dry-run", c }, "apply takes no --dry-run: plan is apply's dry run" },
        { { "plan", "--id", "x", c }, "plan takes no --id" },
      } do
        local r = run("vapi", case[1])
        assert.are.equal(64, r.code, r.err)
        assert.are.equal("", r.out)
        assert.truthy(r.err:find(case[2], 1, true), r.err)
      end
      assert.are.equal(0, #emu:requests())
    end)

    it("--concurrency: the requests at once", function()
      local list = {}
      for i = 1, 6 do list[i] = body("vapi", "C" .. i) end
      local r = run("vapi", { "apply", "--yes", "--concurrency", "1", "--rate", "0", file("c.json", list) })
      assert.are.equal(0, r.code, r.err)
      local posts = 0
      for _, req in ipairs(emu:requests()) do
        if req.method == "POST" then
          posts = posts + 1
          assert.are.equal(1, req.under_way)
        end
      end
      assert.are.equal(6, posts)
    end)

    it("the key never shows, not even in a campaign that holds it", function()
      local r = run("vapi", { "plan", file("k.json", { body("vapi", "about " .. KEYS.vapi) }) })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("+ about [REDACTED]", lines(r.out)[1])
    end)
  end)

  describe("the question", function()
    -- script(1) (util-linux, in Debian's bsdutils) gives the tool a
    -- terminal; what is written to script's standard input is typed there.
    local function on_terminal(args, typed)
      local has_script = os.execute("command -v script >/dev/null 2>&1")
      assert(has_script == true or has_script == 0, "script(1) is missing (Debian: bsdutils)")
      local parts = {}
      for _, a in ipairs(args) do parts[#parts + 1] = shquote(a) end
      local inner = "VAPI_API_KEY=" .. KEYS.vapi .. " " .. proc.LUA .. " " .. shquote(helper.TOOL) .. " "
        .. table.concat(parts, " ")
      local typed_file = file("typed.txt", typed)
      return cli:run({}, { cmd = "SHELL=/bin/sh script -qec " .. shquote(inner) .. " /dev/null < "
        .. shquote(typed_file) })
    end

    it("on a terminal: asked; y applies", function()
      local r = on_terminal({ "apply", "--provider", "vapi", "--base-url", emu:url("vapi"),
        file("q.json", { body("vapi", "Asked") }) }, "y\n")
      assert.are.equal(0, r.code, r.out .. r.err)
      local text = r.out:gsub("\r", "")
      assert.truthy(text:find("+ Asked\nplan: 1 to create, 0 to update, 0 unchanged, 0 drift, 0 conflicts\n"
        .. "Apply these changes? [y/N] ", 1, true), text)
      -- The progress bar, on the terminal, then the result.
      assert.truthy(text:find("applying [##############################] 1/1", 1, true), text)
      assert.truthy(text:find("+ Asked: created, id " .. ids_named("vapi", "Asked")[1] .. "\n", 1, true), text)
      assert.truthy(text:find("\napply: 1 created, 0 updated, 0 failed\n", 1, true), text)
      assert.are.equal(1, writes("vapi"))
    end)

    it("campaigns typed on the terminal (-, then Ctrl-D): the answer is read from the terminal", function()
      local r = on_terminal({ "apply", "--provider", "vapi", "--base-url", emu:url("vapi"), "-" },
        cjson.encode(body("vapi", "Typed")) .. "\n\4y\n")
      assert.are.equal(0, r.code, r.out .. r.err)
      local text = r.out:gsub("\r", "")
      assert.truthy(text:find("\n+ Typed\nplan: 1 to create", 1, true), text)
      assert.truthy(text:find("Apply these changes? [y/N] ", 1, true), text)
      assert.truthy(text:find("\napply: 1 created, 0 updated, 0 failed\n", 1, true), text)
      assert.is_table(stored("vapi", "Typed"))
    end)

    it("on a terminal: anything but y or yes, or no answer, applies nothing, exit 4", function()
      for _, typed in ipairs { "n\n", "\n", "sure\n", "" } do
        local r = on_terminal({ "apply", "--provider", "vapi", "--base-url", emu:url("vapi"),
          file("q.json", { body("vapi", "Asked") }) }, typed)
        assert.are.equal(4, r.code, r.out .. r.err)
        local text = r.out:gsub("\r", "")
        assert.truthy(text:find("Apply these changes? [y/N] ", 1, true), text)
        assert.truthy(text:find("campaign: apply: not confirmed (the answer was not y or yes): nothing "
          .. "applied\n", 1, true), text)
      end
      assert.are.equal(0, writes("vapi"))
    end)
  end)

  describe("the README", function()
    local UUID = "%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x"

    -- The section's campaigns.lua, and its sessions: each command ($ ...)
    -- with the lines it prints, ids as ID.
    local function readme()
      local text = proc.read_file(proc.ROOT .. "README.md")
      local section = text:match("\n### From the command line: `campaign plan` and `campaign apply`\n(.-)\n## ")
      assert(section, "no such section in the README")
      local campaigns = section:match("```lua\n(%-%- campaigns%.lua.-)\n```")
      local sessions = {}
      for block in section:gmatch("```\n(%$ .-\n)```") do
        for line in block:gmatch("([^\n]*)\n") do
          line = line:gsub(UUID, "ID")
          if line:sub(1, 2) == "$ " then
            sessions[#sessions + 1] = { command = line:sub(3), lines = {} }
          else
            local printed = sessions[#sessions].lines
            printed[#printed + 1] = line
          end
        end
      end
      return campaigns, sessions
    end

    -- A Lua data file's table, as the tool reads one (no globals).
    local function data(text)
      local env = {}
      local chunk = assert((rawget(_G, "loadstring") or load)(text))
      if rawget(_G, "setfenv") then setfenv(chunk, env) else chunk = assert(load(text, "=data", "t", env)) end
      return chunk()
    end

    it("prints what its example shows", function()
      local text, sessions = readme()
      local list = data(text)
      local path = file("campaigns.lua", text)
      local function copy(fields, changes)
        local t = {}
        for k, v in pairs(fields) do t[k] = v end
        for k, v in pairs(changes or {}) do t[k] = v end
        return t
      end
      -- Already at Vapi: Summer offers on asst_1, Autumn check-in 2 at once, Winter twice.
      seed("vapi", { list[1], copy(list[2], { assistantId = "asst_1" }), copy(list[3], { maxConcurrency = 2 }),
        list[4], list[4] })
      local commands = {}
      for i, session in ipairs(sessions) do commands[i] = session.command end
      assert.are.same({ "campaign plan --provider vapi campaigns.lua",
        "campaign delete --provider vapi --id ID", "campaign apply --provider vapi campaigns.lua",
        "campaign apply --provider vapi campaigns.lua" }, commands)
      for _, session in ipairs(sessions) do
        local words = {}
        for word in session.command:gmatch("%S+") do words[#words + 1] = word end
        if words[2] == "delete" then
          local winter = ids_named("vapi", "Winter")
          assert(client("vapi"):delete(winter[2]))
        else
          -- Answered y on a terminal in the README: --yes here.
          local r = run("vapi", { words[2], path, words[2] == "apply" and "--yes" or nil })
          assert.are.equal(words[2] == "plan" and 2 or 0, r.code, r.err)
          local expected = {}
          for _, line in ipairs(session.lines) do
            if not line:find("^Apply these changes%?") then expected[#expected + 1] = line end
          end
          assert.are.same(expected, lines((r.out:gsub(UUID, "ID"))))
        end
      end
    end)
  end)

  it("Ctrl-C during apply: what is under way completes, every step printed, exit 130", function()
    local list = {}
    for i = 1, 8 do list[i] = body("vapi", "Held " .. i) end
    local path = file("held.json", list)
    emu:fault { provider = "vapi", method = "POST", hold = 10, times = -1 }
    local rc, text = proc.interrupted(emu, KEYS.vapi, "apply --yes --provider vapi --base-url "
      .. emu:url("vapi") .. " --concurrency 2 " .. shquote(path), cli.tmp, 2)
    assert.are.equal("130", rc)
    local out = lines(text)
    cli.outputs[#cli.outputs + 1] = table.concat(out, "\n")
    local created = #emu:campaigns("vapi")
    assert.is_true(created >= 1 and created < 8, tostring(created))
    assert.are.equal(created, emu:count { method = "POST" })
    -- The plan (8 lines and the summary), then a line per step.
    local made, unsent = 0, 0
    for i = 1, 8 do
      local line = out[9 + i]
      if line == "+ Held " .. i .. ": not sent" then
        unsent = unsent + 1
      else
        made = made + 1
        assert.truthy(line:find("^%+ Held " .. i .. ": created, id "), line)
      end
    end
    assert.are.equal(created, made)
    assert.are.equal(("interrupted: %d created, 0 updated, 0 failed, %d not sent"):format(created, unsent),
      out[18])
  end)
end)
