-- The command-line tool bin/campaign, run as a child process (under the
-- interpreter running this suite) against the local provider emulator:
-- every command, files in JSON and Lua and on stdin, --dry-run, --check,
-- batches, exit codes, keys, the sandbox for Lua data files, and the JSON
-- it prints.
local cjson = require "cjson"
local emulator = require "helpers.emulator"

local proc = require "helpers.proc"
local LUA = proc.LUA
local VERSION_WORD = rawget(_G, "jit") and "LuaJIT" or _VERSION

-- The repository root, from this file's path (the suite may run from anywhere).
local ROOT = proc.ROOT:gsub("/$", "")
local TOOL = ROOT .. "/bin/campaign"

-- Keys the emulator accepts in this spec: long enough that a leak is unmistakable.
local KEYS = {
  vapi = "vapi-cli-key-0123456789abcdef",
  smallest = "smallest-cli-key-0123456789abcdef",
  autocalls = "autocalls-cli-key-0123456789abcdef",
  atlas = "atlas-cli-key-0123456789abcdef",
}
local ENV = { vapi = "VAPI_API_KEY", smallest = "SMALLEST_API_KEY",
  autocalls = "AUTOCALLS_API_KEY", atlas = "ATLAS_API_KEY" }

local VAPI = {
  name = "Q2 Sales Campaign",
  assistantId = "3f1c2a9e-8d4b-4c6f-9a7e-1b2c3d4e5f60",
  phoneNumberId = "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d",
  customers = { { number = "+14155550101", name = "Ada" }, { number = "+442071838750" } },
}
local VAPI_LUA = [[
-- a campaign as a Lua data file
local customers = {}
for i = 1, 3 do customers[i] = { number = ("+1415555%04d"):format(i) } end
return {
  name = "From Lua",
  assistantId = "3f1c2a9e-8d4b-4c6f-9a7e-1b2c3d4e5f60",
  phoneNumberId = "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d",
  customers = customers,
}
]]

local shquote, read_file = proc.shquote, proc.read_file

local helper = require "helpers.cli"
local cli = helper.new("lua-campaign-cli")
local tmp = cli.tmp
local function file(name, content) return cli:file(name, content) end
-- Runs the tool: see helpers/cli.lua. Returns {code, out, err}.
local function run(args, opts) return cli:run(args, opts) end
local json_of = helper.json_of

describe("campaign (the command-line tool)", function()
  local emu, base

  local function with_key(provider, extra)
    local env = { [ENV[provider]] = KEYS[provider] }
    for k, v in pairs(extra or {}) do env[k] = v end
    return { env = env }
  end

  -- Runs a command against the emulator with the provider's key in its variable.
  local function call(provider, args, opts)
    opts = opts or with_key(provider)
    local full = { args[1], "--provider", provider, "--base-url", emu:url(provider) }
    for i = 2, #args do full[#full + 1] = args[i] end
    return run(full, opts)
  end

  setup(function()
    emu = emulator.start()
    base = emu.base
  end)

  teardown(function()
    if emu then emu:stop() end
    cli:close()
    -- No run ever printed a key, wherever it came from.
    cli:assert_no_key(KEYS)
    cli:assert_no_key({ "file-only-key-9876543210" })
  end)

  before_each(function()
    emu:reset()
    emu:set_keys(KEYS)
  end)

  describe("help and version", function()
    it("prints the usage on --help and -h, exit 0", function()
      local r = run({ "--help" })
      assert.are.equal(0, r.code)
      assert.truthy(r.out:find("Usage: campaign COMMAND --provider NAME", 1, true))
      for _, flag in ipairs({ "--provider", "--id", "--api-key-file", "--dry-run", "--check",
        "--base-url", "--timeout", "--max-retries", "--concurrency", "--query", "--passthrough",
        "--legacy", "--no-progress", "--help", "--version" }) do
        assert.truthy(r.out:find(flag, 1, true), flag)
      end
      assert.are.equal(r.out, run({ "create", "-h" }).out)
    end)

    it("fits the usage in 78 columns", function()
      local n = 0
      for line in run({ "--help" }).out:gmatch("[^\n]*") do
        n = n + 1
        assert(#line <= 78, ("line %d is %d columns: %s"):format(n, #line, line))
      end
      assert.is_true(n > 40)
    end)

    it("prints the version and the interpreter", function()
      local r = run({ "--version" })
      assert.are.equal(0, r.code)
      assert.truthy(r.out:find("^campaign 0%.1%.0 %(lua%-campaign, " .. VERSION_WORD:gsub("%p", "%%%0")))
    end)

    it("runs through its sh preamble, with CAMPAIGN_LUA or on its own", function()
      local r = run({ "--version" }, { cmd = "CAMPAIGN_LUA=" .. LUA .. " sh " .. shquote(TOOL) })
      assert.are.equal(0, r.code)
      assert.truthy(r.out:find(VERSION_WORD, 1, true))
      r = run({ "--version" }, { cmd = shquote(TOOL) })   -- the executable, picks a Lua itself
      assert.are.equal(0, r.code, r.err)
      assert.truthy(r.out:find("^campaign 0%.1%.0"))
      r = run({ "create", "--provider", "vapi", "--base-url", emu:url("vapi"), file("sh.json", VAPI) },
        { cmd = "CAMPAIGN_LUA=" .. LUA .. " " .. shquote(TOOL), env = { VAPI_API_KEY = KEYS.vapi } })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal(1, emu:count { provider = "vapi", method = "POST" })
    end)
  end)

  describe("vapi, one campaign at a time", function()
    it("creates from a JSON file and prints the provider's answer", function()
      local r = call("vapi", { "create", file("c.json", VAPI) })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("", r.err)
      local body = json_of(r)
      assert.are.equal("Q2 Sales Campaign", body.name)
      assert.are.equal("in-progress", body.status)
      assert.is_string(body.id)
      local sent = emu:last()
      assert.are.equal("POST", sent.method)
      assert.are.equal("/v2/campaign", sent.path)
      assert.are.equal("Bearer " .. KEYS.vapi, sent.headers.authorization)
      assert.are.same(VAPI, sent.json)
      assert.are.same(emu:campaigns("vapi")[1].id, body.id)
    end)

    it("creates from a Lua data file", function()
      local r = call("vapi", { "create", file("c.lua", VAPI_LUA) })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("From Lua", json_of(r).name)
      assert.are.same({ { number = "+14155550001" }, { number = "+14155550002" },
        { number = "+14155550003" } }, emu:last().json.customers)
    end)

    it("reads standard input, JSON or Lua by content", function()
      local r = call("vapi", { "create", "-" }, { env = { VAPI_API_KEY = KEYS.vapi },
        stdin = cjson.encode(VAPI) })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("Q2 Sales Campaign", json_of(r).name)
      r = call("vapi", { "create", "-" }, { env = { VAPI_API_KEY = KEYS.vapi }, stdin = VAPI_LUA })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("From Lua", json_of(r).name)
      -- A bare Lua table constructor is read too.
      r = call("vapi", { "create", "-" }, { env = { VAPI_API_KEY = KEYS.vapi },
        stdin = '{ name = "Bare", assistantId = "a", phoneNumberId = "p", '
          .. 'customers = { { number = "+14155550101" } } }' })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("Bare", json_of(r).name)
      assert.are.equal(3, emu:count { provider = "vapi", method = "POST" })
    end)

    it("updates, gets, lists, stops and deletes", function()
      local id = json_of(call("vapi", { "create", file("c.json", VAPI) })).id

      local r = call("vapi", { "update", "--id", id, file("u.json", { name = "Renamed" }) })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("Renamed", json_of(r).name)
      assert.are.equal("PATCH", emu:last().method)
      assert.are.equal("/v2/campaign/" .. id, emu:last().path)
      assert.are.same({ name = "Renamed" }, emu:last().json)

      r = call("vapi", { "get", "--id", id })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("Renamed", json_of(r).name)

      r = call("vapi", { "list", "--query", "limit=10", "--query", "page=1" })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("limit=10&page=1", emu:last().query)
      local page = json_of(r)
      assert.are.equal(1, #page.results)
      assert.are.equal(id, page.results[1].id)

      r = call("vapi", { "stop", "--id", id })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("cancelled", json_of(r).status)
      assert.are.same({ status = "cancelled" }, emu:last().json)

      r = call("vapi", { "delete", "--id", id })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("DELETE", emu:last().method)

      r = call("vapi", { "get", "--id", id })
      assert.are.equal(1, r.code)
      assert.are.same({ error = { kind = "http", status = 404,
        message = "HTTP 404 Not Found: Campaign not found" } }, json_of(r))
      assert.are.equal("campaign vapi get: HTTP 404 Not Found: Campaign not found\n", r.err)
    end)

    it("takes list filters from a FILE and --query, typed by the provider's rules", function()
      local r = call("vapi", { "list", file("q.json", { sortOrder = "ASC" }), "--query", "limit=5",
        "--query", "includeCounters=true" })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("includeCounters=true&limit=5&sortOrder=ASC", emu:last().query)
      r = call("vapi", { "list", "--query", "limit=many" })
      assert.are.equal(2, r.code)
      assert.truthy(r.err:find("limit: must be an integer", 1, true))
      assert.are.equal(0, emu:count { method = "GET", query = "limit=many" })
    end)

    it("uses the legacy routes with --legacy and sends unknown fields with --passthrough", function()
      local r = call("vapi", { "create", "--legacy", file("c.json", VAPI) })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("/campaign", emu:last().path)

      local extra = {}
      for k, v in pairs(VAPI) do extra[k] = v end
      extra.brandNewField = "x"
      r = call("vapi", { "create", file("extra.json", extra) })
      assert.are.equal(2, r.code)
      assert.truthy(r.err:find('brandNewField: unknown field "brandNewField"', 1, true))
      r = call("vapi", { "create", "--dry-run", "--passthrough", file("extra.json", extra) })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("x", json_of(r).body.brandNewField)
    end)
  end)

  describe("the other providers", function()
    it("smallest: create, start, stop, get (the data inside the wrapper)", function()
      local r = call("smallest", { "create", file("s.json", { name = "S", agentId = "60d0fe4f5311236168a109ca",
        audienceId = "60d0fe4f5311236168a109cb" }) })
      assert.are.equal(0, r.code, r.err)
      local id = json_of(r)._id
      assert.is_string(id)
      r = call("smallest", { "start", "--id", id })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("/campaign/" .. id .. "/start", emu:last().path)
      r = call("smallest", { "stop", "--id", id })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("/campaign/" .. id .. "/pause", emu:last().path)
      r = call("smallest", { "get", "--id", id })
      assert.are.equal("paused", json_of(r).campaign.status)
      r = call("smallest", { "update", "--id", id, file("u.json", { name = "x" }) })
      assert.are.equal(3, r.code)
      assert.are.equal("unsupported", json_of(r).error.kind)
    end)

    it("autocalls: integer ids print as integers", function()
      local r = call("autocalls", { "create", file("a.lua",
        'return { name = "A", assistant_id = 123, allowed_days = { "monday", "friday" } }') })
      assert.are.equal(0, r.code, r.err)
      assert.truthy(r.out:find('"id":1,', 1, true), r.out)
      assert.truthy(r.out:find('"allowed_days":["monday","friday"]', 1, true), r.out)
      r = call("autocalls", { "start", "--id", "1" })
      assert.are.equal(0, r.code, r.err)
      assert.are.same({ campaign_id = 1, action = "start" }, emu:last().json)
    end)

    it("atlas: create and start with the shorthands", function()
      local r = call("atlas", { "create", file("at.lua", [[return {
        name = "Spring Outreach", channel = "outbound", language = "en-US",
        Timezone = "America/New_York", StartDate = "2026-05-14",
        TimeWindows = { "09:00-12:00", "13:00-17:00" } }]]) })
      assert.are.equal(0, r.code, r.err)
      local id = json_of(r).RowKey
      assert.are.equal("2", emu:last().json.CallType)
      r = call("atlas", { "start", "--id", id })
      assert.are.equal(0, r.code, r.err)
      assert.are.same({ enabled = true }, emu:last().json)
    end)

    it("keeps empty lists as lists in what it prints", function()
      local r = call("atlas", { "list" })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("[]\n", r.out)
      r = call("autocalls", { "list" })
      assert.are.equal('{"data":[]}\n', r.out)
      r = call("vapi", { "list" })
      assert.truthy(r.out:find('"results":[]', 1, true), r.out)
      r = call("smallest", { "list" })
      assert.truthy(r.out:find('"campaigns":[]', 1, true), r.out)
      -- and empty objects as objects
      r = call("vapi", { "create", file("c.json", VAPI) })
      assert.truthy(r.out:find('"calls":{}', 1, true), r.out)
    end)
  end)

  describe("--dry-run", function()
    it("prints the request with the key hidden and sends nothing", function()
      local r = call("vapi", { "create", "--dry-run", file("c.json", VAPI) })
      assert.are.equal(0, r.code, r.err)
      local req = json_of(r)
      assert.are.equal("POST", req.method)
      assert.are.equal(emu:url("vapi") .. "/v2/campaign", req.url)
      assert.are.equal("[REDACTED]", req.headers.Authorization)
      assert.are.equal("application/json", req.headers["Content-Type"])
      assert.are.same(VAPI, req.body)
      assert.are.equal(0, emu:stats().requests)

      r = call("atlas", { "get", "--dry-run", "--id", "abc" })
      assert.are.equal(0, r.code, r.err)
      req = json_of(r)
      assert.are.equal("GET", req.method)
      assert.are.equal("[REDACTED]", req.headers["api-key"])
      assert.are.equal(cjson.null, req.body)
      assert.are.equal(0, emu:stats().requests)
    end)

    it("works without a key, and says so", function()
      local r = call("vapi", { "create", "--dry-run", file("c.json", VAPI) }, { env = {} })
      assert.are.equal(0, r.code)
      assert.is_nil(json_of(r).headers.Authorization)
      assert.truthy(r.err:find("no API key (VAPI_API_KEY is not set)", 1, true))
    end)

    it("reports an invalid campaign, exit 2", function()
      local r = call("vapi", { "create", "--dry-run", file("bad.json", { name = "x" }) })
      assert.are.equal(2, r.code)
      assert.are.equal("validation", json_of(r).error.kind)
      assert.are.equal(0, emu:stats().requests)
    end)
  end)

  describe("--check", function()
    it("lists every problem with its field path, exit 2, nothing sent", function()
      local bad = { name = "x", assistantId = "a", phoneNumberId = "p",
        customers = { { number = "+14155550101" }, { number = "555" } }, maxConcurrency = 0 }
      local r = call("vapi", { "create", "--check", file("bad.json", bad) })
      assert.are.equal(2, r.code)
      local lines = {}
      for line in r.err:gmatch("[^\n]+") do lines[#lines + 1] = line end
      assert.are.equal(2, #lines, r.err)
      assert.truthy(lines[1]:find('^customers%[2%]%.number: "555" must be E%.164'), lines[1])
      assert.truthy(lines[2]:find("^maxConcurrency: "), lines[2])
      local out = json_of(r)
      assert.is_false(out.valid)
      assert.are.equal("validation", out.error.kind)
      assert.are.equal("customers[2].number", out.error.errors[1].field)
      assert.are.equal("maxConcurrency", out.error.errors[2].field)
      assert.are.equal(0, emu:stats().requests)
    end)

    it("says valid, exit 0, without needing a key", function()
      local r = run({ "create", "--provider", "vapi", "--check", file("c.json", VAPI) })
      assert.are.equal(0, r.code, r.err)
      assert.are.same({ valid = true }, json_of(r))
    end)

    it("checks a batch item by item", function()
      local r = call("vapi", { "create", "--check", file("c.json", VAPI), file("bad.json", { name = "x" }) })
      assert.are.equal(2, r.code)
      local out = json_of(r)
      assert.are.same({ valid = true }, out[1])
      assert.is_false(out[2].valid)
      assert.truthy(r.err:find(tmp .. "/bad.json: assistantId: is required", 1, true), r.err)
      assert.truthy(r.err:find("1 valid, 1 invalid\n", 1, true))
    end)
  end)

  describe("batches", function()
    local function named(name)
      local f = {}
      for k, v in pairs(VAPI) do f[k] = v end
      f.name = name
      return f
    end

    it("runs several FILEs as one batch, results in order, with a summary", function()
      local r = call("vapi", { "create", file("b1.json", named("one")), file("b2.lua",
        'return { name = "two", assistantId = "a", phoneNumberId = "p", customers = { { number = "+14155550102" } } }'),
        file("b3.json", named("three")) })
      assert.are.equal(0, r.code, r.err)
      local out = json_of(r)
      assert.are.equal(3, #out)
      assert.are.same({ "one", "two", "three" }, { out[1].name, out[2].name, out[3].name })
      assert.are.equal("3 created, 0 failed\n", r.err)
      assert.are.equal(3, #emu:campaigns("vapi"))
    end)

    it("runs a JSON list of campaigns, invalid items reported in place and not sent", function()
      local list = {}
      for i = 1, 6 do list[i] = named("item " .. i) end
      list[4] = { name = "no target" }
      local r = call("vapi", { "create", "--concurrency", "3", file("list.json", list) })
      assert.are.equal(2, r.code)
      local out = json_of(r)
      assert.are.equal(6, #out)
      for i = 1, 6 do
        if i == 4 then
          assert.are.equal("validation", out[i].error.kind)
          assert.are.equal("assistantId", out[i].error.errors[1].field)
        else
          assert.are.equal("item " .. i, out[i].name)
        end
      end
      assert.truthy(r.err:find(tmp .. "/list.json[4]: assistantId: is required", 1, true), r.err)
      assert.truthy(r.err:find("5 created, 1 failed\n", 1, true), r.err)
      assert.are.equal(5, emu:count { provider = "vapi", method = "POST" })
    end)

    it("a list of one is still a batch: the output is a list", function()
      local r = call("vapi", { "create", file("one.json", { named("solo") }) })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("solo", json_of(r)[1].name)
      assert.are.equal("1 created, 0 failed\n", r.err)
    end)

    it("a list of one is a list in every form: Lua, stdin, --dry-run, --check, update", function()
      local lua_list = file("one.lua", "return { " .. string.format("{ name = %q, assistantId = %q, "
        .. "phoneNumberId = %q, customers = { { number = '+14155550101' } } }", "lua solo", VAPI.assistantId,
        VAPI.phoneNumberId) .. " }")
      local r = call("vapi", { "create", lua_list })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("lua solo", json_of(r)[1].name)
      local id = json_of(r)[1].id
      r = call("vapi", { "create", "-" }, { env = { VAPI_API_KEY = KEYS.vapi },
        stdin = cjson.encode({ named("stdin solo") }) })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("stdin solo", json_of(r)[1].name)
      r = call("vapi", { "create", "--dry-run", lua_list })
      assert.are.equal("POST", json_of(r)[1].method)
      r = call("vapi", { "create", "--check", lua_list })
      assert.are.same({ { valid = true } }, json_of(r))
      r = call("vapi", { "update", file("u1.json", { { id = id, fields = { name = "renamed" } } }) })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("renamed", json_of(r)[1].name)
    end)

    it("the README's jq recipe reads one FILE as it reads many", function()
      local readme = read_file(ROOT .. "/README.md")
      local filter = readme:match("\njq %-r '([^\n]-)' results%.json\n")
      assert(filter, "the recipe is not in the README")
      -- jq comes with the deps step (tools/deps.sh): without it this fails.
      local has_jq = os.execute("command -v jq >/dev/null 2>&1")
      assert(has_jq == true or has_jq == 0, "jq is not installed (make deps installs it)")
      local function ids(files)
        local argv = { "create" }
        for _, f in ipairs(files) do argv[#argv + 1] = f end
        local r = call("vapi", argv)
        local results = file("results.json", r.out)
        local p = io.popen("jq -r " .. shquote(filter) .. " " .. shquote(results) .. " 2>&1; echo rc=$?")
        local text = p:read("*a")
        p:close()
        local got = {}
        for line in text:gmatch("[^\n]+") do got[#got + 1] = line end
        return got, r
      end
      local got, r = ids({ file("j1.json", named("j1")) })
      assert.are.equal(json_of(r).id, got[1])
      assert.are.same({ json_of(r).id, "rc=0" }, got)
      got, r = ids({ file("j2.json", { named("j2") }) })
      assert.are.same({ json_of(r)[1].id, "rc=0" }, got)
      got, r = ids({ file("j3.json", named("j3")), file("j4.json", { name = "invalid" }),
        file("j5.json", named("j5")) })
      local out = json_of(r)
      assert.are.same({ out[1].id, out[3].id, "rc=0" }, got)
    end)

    it("updates many from {id, fields} items", function()
      local a = json_of(call("vapi", { "create", file("a.json", named("a")) })).id
      local b = json_of(call("vapi", { "create", file("b.json", named("b")) })).id
      local r = call("vapi", { "update", file("u.json", {
        { id = a, fields = { name = "a2" } }, { id = b, fields = { name = "b2" } },
        { id = "missing", fields = { name = "c2" } } }) })
      assert.are.equal(1, r.code)
      local out = json_of(r)
      assert.are.equal("a2", out[1].name)
      assert.are.equal("b2", out[2].name)
      assert.are.same({ kind = "http", status = 404, message = "HTTP 404 Not Found: Campaign not found" },
        out[3].error)
      assert.truthy(r.err:find("2 updated, 1 failed\n", 1, true), r.err)
    end)

    it("draws a progress bar only when standard error is a terminal", function()
      local files = { file("p1.json", named("p1")), file("p2.json", named("p2")) }
      local r = call("vapi", { "create", files[1], files[2] })
      assert.is_nil(r.err:find("\r", 1, true))
      assert.is_nil(r.err:find("creating", 1, true))
      local has_script = os.execute("command -v script >/dev/null 2>&1")
      if has_script == true or has_script == 0 then
        -- `script` gives the tool a terminal; its stdout goes to /dev/null.
        local inner = "VAPI_API_KEY=" .. KEYS.vapi .. " " .. LUA .. " " .. shquote(TOOL)
          .. " create --provider vapi --base-url " .. emu:url("vapi") .. " "
          .. shquote(files[1]) .. " " .. shquote(files[2]) .. " >/dev/null"
        r = run({}, { cmd = "SHELL=/bin/sh script -qec " .. shquote(inner) .. " /dev/null" })
        assert.are.equal(0, r.code, r.out .. r.err)
        assert.truthy(r.out:find("\rcreating [###############...............] 1/2", 1, true), r.out)
        assert.truthy(r.out:find("2/2", 1, true), r.out)
        assert.truthy(r.out:find("2 created, 0 failed", 1, true), r.out)
        r = run({}, { cmd = "SHELL=/bin/sh script -qec " .. shquote(inner:gsub(" create ",
          " create --no-progress ")) .. " /dev/null" })
        assert.is_nil(r.out:find("creating", 1, true))
      end
    end)
  end)

  describe("exit codes", function()
    it("1 for a provider error: a wrong key", function()
      local r = call("vapi", { "create", file("c.json", VAPI) },
        { env = { VAPI_API_KEY = "wrong-key-0000" } })
      assert.are.equal(1, r.code)
      local e = json_of(r).error
      assert.are.equal("http", e.kind)
      assert.are.equal(401, e.status)
      assert.truthy(r.err:find("^campaign vapi create: HTTP 401 Unauthorized"))
    end)

    it("1 for a provider fault, saying when a create may have happened", function()
      emu:fault { provider = "vapi", method = "POST", status = 502, after = true }
      local r = call("vapi", { "create", file("c.json", VAPI) })
      assert.are.equal(1, r.code)
      local e = json_of(r).error
      assert.are.equal(502, e.status)
      assert.is_true(e.outcome_unknown)
      assert.truthy(r.err:find("may have reached the provider", 1, true))
      assert.are.equal(1, emu:count { provider = "vapi", method = "POST" })
    end)

    it("1 for a timeout and for a transport error", function()
      emu:fault { provider = "vapi", method = "GET", delay = 3 }
      local r = call("vapi", { "get", "--id", "abc", "--timeout", "0.5", "--max-retries", "0" })
      assert.are.equal(1, r.code)
      assert.are.equal("timeout", json_of(r).error.kind)
      r = run({ "get", "--provider", "vapi", "--id", "abc", "--base-url", "http://127.0.0.1:9/vapi",
        "--max-retries", "0" }, with_key("vapi"))
      assert.are.equal(1, r.code)
      assert.are.equal("transport", json_of(r).error.kind)
    end)

    it("3 for an operation the provider does not have", function()
      local r = call("vapi", { "start", "--id", "abc" })
      assert.are.equal(3, r.code)
      assert.are.equal("unsupported", json_of(r).error.kind)
      assert.are.equal(0, emu:stats().requests)
    end)

    it("2 for invalid input: rules, ids, files that are not data", function()
      local r = call("vapi", { "create", file("bad.json", { name = "x" }) })
      assert.are.equal(2, r.code)
      r = call("vapi", { "get", "--id", "../etc" })
      assert.are.equal(2, r.code)
      assert.truthy(r.err:find("^id: the %-%-id value would change the request path"), r.err)
      r = call("vapi", { "create", file("broken.json", '{"name": ') })
      assert.are.equal(2, r.code)
      assert.truthy(r.err:find("broken.json: is not valid JSON", 1, true))
      assert.are.equal("validation", json_of(r).error.kind)
      r = call("vapi", { "create", file("empty.json", "[]") })
      assert.are.equal(2, r.code)
      assert.truthy(r.err:find("the list is empty", 1, true))
      -- A list item that is not an object, in a batch or --check.
      local strings = file("strings.json", '["x", 3]')
      for _, argv in ipairs({ { "create", strings }, { "create", "--check", strings } }) do
        r = call("vapi", argv)
        assert.are.equal(2, r.code, r.err)
        assert.truthy(r.err:find("strings.json[1]: must be an object, not string", 1, true), r.err)
        assert.are.equal("validation", json_of(r).error.kind)
      end
      r = call("vapi", { "create", file("syntax.lua", "return {") })
      assert.are.equal(2, r.code)
      r = call("vapi", { "create", file("number.lua", "return 42") })
      assert.are.equal(2, r.code)
      assert.truthy(r.err:find("must return a table", 1, true))
      assert.are.equal(0, emu:stats().requests)
    end)

    it("64 for usage errors, with nothing on stdout", function()
      local cases = {
        { { "launch", "--provider", "vapi" }, "unknown command (the COMMAND given is not shown" },
        { { "creat", "--provider", "vapi", "x.json" }, "did you mean create?" },
        { { "create", "--provder", "vapi", "x.json" }, "unknown option --provder (did you mean --provider?)" },
        { { "create", file("c.json", VAPI) }, "missing --provider" },
        { { "create", "--provider", "bland", file("c.json", VAPI) }, "unknown provider (the --provider value" },
        { { "create", "--provider", "vapi" }, "create needs a FILE" },
        { { "create", "--provider", "vapi", tmp .. "/no-such.json" },
          "cannot read FILE argument 1 (No such file or directory)" },
        { { "get", "--provider", "vapi" }, "get needs --id" },
        { { "get", "--provider", "vapi", "--id", "a", "x.json" }, "get takes no FILE" },
        { { "update", "--provider", "vapi", file("u.json", { name = "x" }) }, "update needs --id" },
        { { "create", "--provider", "vapi", "--id", "a", file("c.json", VAPI) }, "create takes no --id" },
        { { "get", "--provider", "vapi", "--id", "a", "--query", "x=1" }, "--query is only for list" },
        { { "list", "--provider", "vapi", "--query", "limit" }, "--query takes NAME=VALUE" },
        { { "list", "--provider", "vapi", "--timeout", "soon" }, "--timeout must be a number" },
        { { "list", "--provider", "vapi", "--concurrency", "0" }, "--concurrency must be an integer" },
        { { "list", "--provider", "vapi", "--id" }, "--id needs a value" },
        { { "list", "--provider", "vapi", "--provider", "atlas" }, "--provider is given twice" },
        { { "list", "--provider", "atlas", "--legacy" }, "has no legacy routes" },
        { { "list", "--provider", "vapi", "--base-url", "ftp://example.com" }, "base_url" },
        { { "create", "--provider", "vapi", "--dry-run", "--check", "x.json" }, "do not go together" },
        { { "create", "--provider", "vapi", "-", "-" }, "standard input (-) can be read only once" },
        { { "list", "--provider", "vapi" }, "no API key: set VAPI_API_KEY, or use --api-key-file PATH", {} },
        { {}, "missing COMMAND" },
      }
      for _, case in ipairs(cases) do
        local r = run(case[1], { env = case[3] or { VAPI_API_KEY = KEYS.vapi } })
        assert.are.equal(64, r.code, table.concat(case[1], " ") .. "\n" .. r.err)
        assert.are.equal("", r.out)
        assert.truthy(r.err:find(case[2], 1, true), r.err)
      end
      assert.are.equal(0, emu:stats().requests)
    end)
  end)

  describe("keys", function()
    it("reads the key from --api-key-file (first line, trimmed)", function()
      local path = file("key.txt", "  " .. KEYS.vapi .. "  \r\nsecond line\n")
      local r = call("vapi", { "create", "--api-key-file", path, file("c.json", VAPI) }, { env = {} })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("Bearer " .. KEYS.vapi, emu:last().headers.authorization)
      -- It wins over the environment.
      call("vapi", { "get", "--id", "x", "--api-key-file", path },
        { env = { VAPI_API_KEY = "wrong-key-0000" } })
      assert.are.equal("Bearer " .. KEYS.vapi, emu:last().headers.authorization)
    end)

    it("refuses a missing or empty key file, exit 64", function()
      local r = call("vapi", { "list", "--api-key-file", tmp .. "/nope" }, { env = {} })
      assert.are.equal(64, r.code)
      assert.truthy(r.err:find("--api-key-file: cannot read", 1, true))
      r = call("vapi", { "list", "--api-key-file", file("empty-key", "\n") }, { env = {} })
      assert.are.equal(64, r.code)
      assert.truthy(r.err:find("is empty", 1, true))
    end)

    it("has no --api-key: refused with the reason, the value never shown", function()
      for _, form in ipairs({ { "--api-key", "file-only-key-9876543210" }, { "--api-key=file-only-key-9876543210" },
        { "--token=file-only-key-9876543210" }, { "--key", "file-only-key-9876543210" } }) do
        local args = { "list", "--provider", "vapi", "--base-url", emu:url("vapi") }
        for _, a in ipairs(form) do args[#args + 1] = a end
        local r = run(args)
        assert.are.equal(64, r.code)
        assert.are.equal("", r.out)
        assert.truthy(r.err:find("there is no such option, on purpose", 1, true), r.err)
        assert.truthy(r.err:find("ps", 1, true))
        assert.truthy(r.err:find("--api-key-file PATH", 1, true))
        assert.truthy(r.err:find("VAPI_API_KEY", 1, true))
      end
      assert.are.equal(0, emu:stats().requests)
    end)

    it("hides the key even where the provider echoes it", function()
      emu:fault { provider = "vapi", status = 400, json = { message = "bad key " .. KEYS.vapi } }
      local r = call("vapi", { "get", "--id", "x" })
      assert.are.equal(1, r.code)
      assert.truthy(r.out:find("bad key [REDACTED]", 1, true), r.out)
      assert.truthy(r.err:find("bad key [REDACTED]", 1, true), r.err)
    end)
  end)

  describe("Lua data files are data", function()
    it("cannot reach os, io, require or load: the run fails cleanly, exit 2", function()
      local marker = tmp .. "/pwned"
      local cases = {
        { "exit.lua", "os.exit(7)\nreturn {}", "global 'os'" },
        { "open.lua", "local f = io.open(" .. string.format("%q", marker) .. ", 'w') return {}", "global 'io'" },
        { "require.lua", "local os = require('os') return {}", "global 'require'" },
        { "load.lua", "return load('return 1')()", "global 'load'" },
        { "dofile.lua", "return dofile('/etc/hostname')", "global 'dofile'" },
        { "string.lua", "return { name = string.rep('x', 3) }", "global 'string'" },
      }
      for _, case in ipairs(cases) do
        local r = call("vapi", { "create", file(case[1], case[2]) })
        assert.are.equal(2, r.code, case[1] .. ": " .. r.err)
        assert.truthy(r.err:find(case[1] .. ":1:", 1, true), r.err)
        assert.truthy(r.err:find(case[3], 1, true), r.err)
        assert.are.equal("validation", json_of(r).error.kind)
      end
      assert.is_nil(read_file(marker))
      assert.are.equal(0, emu:stats().requests)
    end)

    it("refuses precompiled chunks", function()
      local r = call("vapi", { "create", file("bytecode.lua", "\27Lua\84\0garbage") })
      assert.are.equal(2, r.code)
      assert.truthy(r.err:find("precompiled Lua is not read", 1, true))
    end)
  end)

  it("prints the base URL it was given, never another host", function()
    local r = call("vapi", { "get", "--dry-run", "--id", "abc" })
    assert.are.equal(base .. "/vapi/v2/campaign/abc", json_of(r).url)
  end)
end)
