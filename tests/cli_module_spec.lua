-- campaign.cli called in-process, the way bin/campaign calls it: argv as
-- a table, standard streams, the environment and the Ctrl-C check given
-- through env, the exit status returned (never os.exit).
local cjson = require "cjson"
local cli = require "campaign.cli"
local emulator = require "helpers.emulator"
local proc = require "helpers.proc"

local KEY = "vapi-module-key-0123456789abcdef"

local VAPI = {
  name = "In-process",
  assistantId = "3f1c2a9e-8d4b-4c6f-9a7e-1b2c3d4e5f60",
  phoneNumberId = "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d",
  customers = { { number = "+14155550101" } },
}

-- A file-like object that keeps what is written to it.
local function sink()
  local parts = {}
  return {
    write = function(self, ...)
      for i = 1, select("#", ...) do parts[#parts + 1] = tostring((select(i, ...))) end
      return self
    end,
    text = function() return table.concat(parts) end,
  }
end

-- Everything a run printed, to check at the end that no key was among it.
local printed = {}

-- Runs cli.main(argv, env) with captured streams; env.vars: the environment
-- (nothing else is read from the process's), env.stdin: text (false: the
-- input is at its end).
-- Returns {code, out, err}.
local function run(argv, opts)
  opts = opts or {}
  local stdout, stderr = sink(), sink()
  local vars = opts.vars or {}
  local stdin_text = opts.stdin
  if stdin_text == nil then stdin_text = "" elseif stdin_text == false then stdin_text = nil end
  local env = {
    stdout = stdout, stderr = stderr,
    stdin = { read = function() local t = stdin_text; stdin_text = nil; return t end },
    getenv = function(name) return vars[name] end,
    interrupted = opts.interrupted, catch_interrupt = opts.catch_interrupt,
    stdin_tty = opts.stdin_tty,
  }
  local code = cli.main(argv, env)
  local r = { code = code, out = stdout.text(), err = stderr.text() }
  -- opts.body_has_key: stdout holds a success body with the key in it, on purpose.
  if not opts.body_has_key then printed[#printed + 1] = r.out end
  printed[#printed + 1] = r.err
  return r
end

local function json_of(r)
  local ok, v = pcall(cjson.decode, r.out)
  assert(ok, "stdout is not JSON: " .. r.out .. "\nstderr: " .. r.err)
  return v
end

describe("campaign.cli, in-process", function()
  local dir

  local function file(name, content)
    local path = dir .. "/" .. name
    proc.write_file(path, type(content) == "table" and cjson.encode(content) or content)
    return path
  end

  setup(function() dir = proc.tmpdir() end)

  teardown(function()
    if dir then os.execute("rm -rf " .. proc.shquote(dir)) end
    for _, text in ipairs(printed) do
      assert.is_nil(text:find(KEY, 1, true), "the key was printed: " .. text)
    end
  end)

  describe("--help", function()
    it("prints the usage on stdout, exit 0", function()
      local r = run({ "--help" })
      assert.are.equal(0, r.code)
      assert.are.equal("", r.err)
      assert.are.equal("Usage: campaign COMMAND --provider NAME [options] [FILE...]\n",
        r.out:match("^[^\n]*\n"))
      -- The providers and their key variables, as the help has always read.
      assert.truthy(r.out:find("\n\nCreates and manages voice-AI calling campaigns on vapi, smallest, "
        .. "autocalls\nand atlas, with the checks of the lua-campaign module.\n\n", 1, true), r.out)
      assert.truthy(r.out:find("\n  --provider NAME       vapi, smallest, autocalls or atlas (required)\n",
        1, true), r.out)
      assert.truthy(r.out:find("\n  --api-key-file PATH   read the API key from the first line of PATH; "
        .. "default:\n                        $VAPI_API_KEY, $SMALLEST_API_KEY, $AUTOCALLS_API_KEY\n"
        .. "                        or $ATLAS_API_KEY\n", 1, true), r.out)
      assert.truthy(r.out:find("\n  --rate N              requests per second at most (0: no limit), "
        .. "for single\n                        calls and batches alike; default: smallest 10, "
        .. "others\n                        learned from 429s\n", 1, true), r.out)
      local last = "; 4 apply not confirmed (nothing applied);\n64 usage error, or apply without --yes "
        .. "where nobody can answer (standard\ninput not a terminal); 70 the tool cannot run (module not "
        .. "found, internal\nerror); 130 interrupted (Ctrl-C).\n"
      assert.are.equal(last, r.out:sub(-#last))
      assert.is_nil(r.out:find("${", 1, true), r.out)
      assert.are.equal(r.out, run({ "create", "-h" }).out)
    end)

    it("lists the providers of the registry", function()
      local registry = require "campaign.providers"
      registry.zeta = { env = "ZETA_TOKEN", ops = {} }
      local ok, r = pcall(run, { "--help" })
      registry.zeta = nil
      assert(ok, r)
      assert.are.equal(0, r.code)
      assert.truthy(r.out:find("campaigns on zeta, vapi, smallest,\nautocalls and atlas, with", 1, true),
        r.out)
      assert.truthy(r.out:find("  --provider NAME       zeta, vapi, smallest, autocalls or atlas "
        .. "(required)\n", 1, true), r.out)
      assert.truthy(r.out:find("default:\n                        $ZETA_TOKEN, $VAPI_API_KEY, "
        .. "$SMALLEST_API_KEY,\n                        $AUTOCALLS_API_KEY or $ATLAS_API_KEY\n", 1, true),
        r.out)
    end)
  end)

  describe("usage errors", function()
    it("exit 64, the message on stderr, nothing on stdout", function()
      local r = run({ "create", "--provder", "vapi", "x.json" })
      assert.are.equal(64, r.code)
      assert.are.equal("", r.out)
      assert.are.equal("campaign: unknown option --provder (did you mean --provider?)\n"
        .. "Try 'campaign --help'.\n", r.err)

      r = run({ "create", file("c.json", VAPI) })
      assert.are.equal(64, r.code)
      assert.are.equal("campaign: missing --provider NAME (vapi, smallest, autocalls or atlas)\n"
        .. "Try 'campaign --help'.\n", r.err)

      -- The key comes from env.getenv: without it, a call cannot be sent.
      r = run({ "list", "--provider", "vapi" })
      assert.are.equal(64, r.code)
      assert.are.equal("campaign: no API key: set VAPI_API_KEY, or use --api-key-file PATH\n"
        .. "Try 'campaign --help'.\n", r.err)
    end)
  end)

  describe("--dry-run", function()
    it("prints the request, exit 0, the key never shown", function()
      local path = file("c.json", VAPI)
      local r = run({ "create", "--provider", "vapi", "--dry-run", path }, { vars = { VAPI_API_KEY = KEY } })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("", r.err)
      local req = json_of(r)
      assert.are.equal("POST", req.method)
      assert.are.equal("https://api.vapi.ai/v2/campaign", req.url)
      assert.are.equal("[REDACTED]", req.headers.Authorization)
      assert.are.same(VAPI, req.body)
      assert.is_nil(r.out:find(KEY, 1, true), r.out)
    end)

    it("reads standard input from env.stdin", function()
      local r = run({ "create", "--provider", "vapi", "--dry-run", "-" },
        { vars = { VAPI_API_KEY = KEY }, stdin = 'return { name = "From stdin" }' })
      -- Not a valid campaign: the request is not printed, the problems are.
      assert.are.equal(2, r.code)
      assert.truthy(r.err:find("assistantId: is required", 1, true), r.err)
      r = run({ "create", "--provider", "vapi", "--dry-run", "-" },
        { vars = { VAPI_API_KEY = KEY }, stdin = cjson.encode(VAPI) })
      assert.are.equal(0, r.code, r.err)
      assert.are.same(VAPI, json_of(r).body)
    end)

    it("says when there is no key, and hides it when the input holds it", function()
      local path = file("c.json", VAPI)
      local r = run({ "create", "--provider", "vapi", "--dry-run", path })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("campaign: note: no API key (VAPI_API_KEY is not set): sent like this, the "
        .. "request would be refused\n", r.err)
      local named = {}
      for k, v in pairs(VAPI) do named[k] = v end
      named.name = "about " .. KEY
      r = run({ "create", "--provider", "vapi", "--dry-run", file("named.json", named) },
        { vars = { VAPI_API_KEY = KEY } })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("about [REDACTED]", json_of(r).body.name)
    end)
  end)

  describe("--connect-timeout and --allow-http", function()
    it("reach the client as connect_timeout and allow_http", function()
      local campaign = require "campaign"
      local real, given = campaign.client, nil
      campaign.client = function(opts) given = opts; return real(opts) end
      local ok, r = pcall(run, { "create", "--provider", "vapi", "--dry-run", "--connect-timeout", "2.5",
        "--allow-http", "--base-url", "http://campaigns.example.com/vapi", file("c.json", VAPI) },
        { vars = { VAPI_API_KEY = KEY } })
      campaign.client = real
      assert(ok, r)
      assert.are.equal(0, r.code, r.err)
      assert.are.equal(2.5, given.connect_timeout)
      assert.is_true(given.allow_http)
      assert.are.equal("http://campaigns.example.com/vapi/v2/campaign", json_of(r).url)
    end)

    it("without --allow-http, plain http to another host is refused", function()
      local r = run({ "create", "--provider", "vapi", "--dry-run", "--base-url", "http://campaigns.example.com/vapi",
        file("c.json", VAPI) }, { vars = { VAPI_API_KEY = KEY } })
      assert.are.equal(64, r.code)
      assert.truthy(r.err:find("base_url must use https", 1, true), r.err)
    end)

    it("--connect-timeout is checked like the other numbers", function()
      for _, value in ipairs({ "0", "abc", "86401", "-1", "1e3" }) do
        local r = run({ "list", "--provider", "vapi", "--dry-run", "--connect-timeout", value })
        assert.are.equal(64, r.code, value)
        assert.are.equal("campaign: --connect-timeout must be a number of seconds from 0.001 to 86400 "
          .. "(the value given is not shown)\nTry 'campaign --help'.\n", r.err)
      end
      local r = run({ "list", "--provider", "vapi", "--connect-timeout=0.5", "--dry-run" })
      assert.are.equal(0, r.code, r.err)
    end)
  end)

  describe("invalid input", function()
    it("exit 2, every problem on stderr, the error as JSON", function()
      local bad = { name = "x", assistantId = "a", phoneNumberId = "p",
        customers = { { number = "555" } }, maxConcurrency = 0 }
      local r = run({ "create", "--provider", "vapi", "--dry-run", file("bad.json", bad) },
        { vars = { VAPI_API_KEY = KEY } })
      assert.are.equal(2, r.code)
      local lines = {}
      for line in r.err:gmatch("[^\n]+") do lines[#lines + 1] = line end
      assert.are.equal(2, #lines, r.err)
      assert.truthy(lines[1]:find('^customers%[1%]%.number: "555" must be E%.164'), lines[1])
      assert.truthy(lines[2]:find("^maxConcurrency: "), lines[2])
      local e = json_of(r).error
      assert.are.equal("validation", e.kind)
      assert.are.equal(2, e.count)
      assert.are.equal("customers[1].number", e.errors[1].field)
    end)

    it("a FILE that is not data: exit 2 too", function()
      local r = run({ "create", "--provider", "vapi", file("broken.json", '{"name": ') },
        { vars = { VAPI_API_KEY = KEY } })
      assert.are.equal(2, r.code)
      assert.truthy(r.err:find("^campaign: " .. dir:gsub("%p", "%%%0") .. "/broken%.json: is not valid JSON"),
        r.err)
      assert.are.equal("validation", json_of(r).error.kind)
    end)
  end)

  describe("against the provider", function()
    local emu

    setup(function() emu = emulator.start() end)
    teardown(function() if emu then emu:stop() end end)
    before_each(function()
      emu:reset()
      emu:set_keys({ vapi = KEY })
    end)

    it("creates a campaign, exit 0, the provider's answer on stdout", function()
      local r = run({ "create", "--provider", "vapi", "--base-url", emu:url("vapi"), file("c.json", VAPI) },
        { vars = { VAPI_API_KEY = KEY } })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("", r.err)
      local body = json_of(r)
      local created = emu:campaigns("vapi")
      assert.are.equal(1, #created)
      assert.is_string(body.id)
      assert.are.equal(created[1].id, body.id)
      assert.are.equal("In-process", body.name)
      assert.are.equal("Bearer " .. KEY, emu:last().headers.authorization)
      assert.are.same(VAPI, emu:last().json)
    end)

    it("--verbose: every request and answer on stderr, the key never shown", function()
      local named = {}
      for k, v in pairs(VAPI) do named[k] = v end
      named.name = "about " .. KEY
      local base = emu:url("vapi")
      local r = run({ "create", "--provider", "vapi", "--base-url", base, "--verbose", file("named.json", named) },
        { vars = { VAPI_API_KEY = KEY }, body_has_key = true })
      assert.are.equal(0, r.code, r.err)
      -- The answer is the caller's own: as sent; stderr hides the key everywhere.
      assert.are.equal("about " .. KEY, json_of(r).name)
      assert.is_nil(r.err:find(KEY, 1, true), r.err)
      assert.is_nil(r.err:find(KEY:sub(1, 12), 1, true), r.err)
      local request, answer = r.err:match("^(> .-\n)\n(< .-\n)\n$")
      assert(request and answer, r.err)
      assert.are.equal("> vapi create, attempt 1\n> POST " .. base .. "/v2/campaign\n",
        request:match("^[^\n]*\n[^\n]*\n"))
      assert.truthy(request:find("\n> Authorization: [REDACTED]\n", 1, true), request)
      assert.truthy(request:find("\n> Content-Type: application/json\n", 1, true), request)
      assert.truthy(request:find('\n>\n> {.*"name":"about %[REDACTED%]".*}\n$'), request)
      assert.truthy(answer:find("^< vapi create, attempt 1: HTTP 201, %d+%.%d+ s\n"), answer)
      assert.truthy(answer:find("\n< content%-type: application/json"), answer)
      local id = emu:campaigns("vapi")[1].id
      assert.truthy(answer:find('\n<\n< {.*"id":"' .. id:gsub("%p", "%%%0") .. '".*}\n$'), answer)

      -- One block per attempt: a 503 retried, then the 404.
      emu:fault({ provider = "vapi", status = 503 })
      r = run({ "get", "--provider", "vapi", "--base-url", base, "--verbose", "--id", "missing" },
        { vars = { VAPI_API_KEY = KEY } })
      assert.are.equal(1, r.code, r.err)
      local heads = {}
      for line in r.err:gmatch("[^\n]+") do
        if line:find("attempt") then heads[#heads + 1] = line:gsub("[%d.]+ s", "T s") end
      end
      assert.are.same({ "> vapi get, attempt 1", "< vapi get, attempt 1: HTTP 503, T s; again in T s",
        "> vapi get, attempt 2", "< vapi get, attempt 2: HTTP 404, T s" }, heads)
      assert.is_nil(r.err:find(KEY, 1, true), r.err)

      -- Without --verbose, nothing of that.
      r = run({ "get", "--provider", "vapi", "--base-url", base, "--id", id },
        { vars = { VAPI_API_KEY = KEY }, body_has_key = true })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("", r.err)
    end)

    it("attach-agent: an agent for an Atlas campaign; unsupported elsewhere", function()
      emu:set_keys({ atlas = KEY, smallest = KEY })
      local atlas = { vars = { ATLAS_API_KEY = KEY } }
      local base = emu:url("atlas")
      local r = run({ "create", "--provider", "atlas", "--base-url", base, file("at.lua", [[return {
        name = "Spring Outreach", channel = "outbound", language = "en-US",
        Timezone = "America/New_York", StartDate = "2026-05-14", TimeWindows = { "09:00-12:00" } }]]) },
        atlas)
      assert.are.equal(0, r.code, r.err)
      local id = json_of(r).RowKey
      assert.is_string(id)

      -- No FILE: {} to POST /agent/{id}.
      r = run({ "attach-agent", "--provider", "atlas", "--base-url", base, "--id", id }, atlas)
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("", r.err)
      assert.are.equal(id, json_of(r).campaignId)
      assert.are.equal("POST", emu:last().method)
      assert.are.equal("/agent/" .. id, emu:last().path)
      assert.are.same({}, emu:last().json)

      -- --template and a FILE: its fields to POST /agent/new/{id}.
      local template = { TemplateId = "ca2cedc2-c196-40d2-be22-dfd70bb4594c" }
      r = run({ "attach-agent", "--provider", "atlas", "--base-url", base, "--id", id, "--template",
        file("agent.json", template) }, atlas)
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("/agent/new/" .. id, emu:last().path)
      assert.are.same(template, emu:last().json)
      local sent = emu:stats().requests

      -- --dry-run shows the request, sends nothing.
      r = run({ "attach-agent", "--provider", "atlas", "--id", id, "--template", "--dry-run" }, atlas)
      assert.are.equal(0, r.code, r.err)
      local url, tail = json_of(r).url, "/agent/new/" .. id
      assert.truthy(url:find("^https://"), url)
      assert.are.equal(tail, url:sub(-#tail))
      assert.are.equal("[REDACTED]", json_of(r).headers["api-key"])

      -- Other providers: the library's unsupported error, exit 3, nothing sent.
      for _, extra in ipairs({ {}, { "--dry-run" }, { "--check" }, { "--template" } }) do
        local argv = { "attach-agent", "--provider", "smallest", "--base-url", emu:url("smallest"), "--id",
          "60d0fe4f5311236168a109ca" }
        for _, a in ipairs(extra) do argv[#argv + 1] = a end
        r = run(argv, { vars = { SMALLEST_API_KEY = KEY } })
        assert.are.equal(3, r.code, r.err)
        assert.are.equal("unsupported", json_of(r).error.kind)
        assert.truthy(r.err:find("has no call to attach an agent", 1, true), r.err)
      end
      assert.are.equal(sent, emu:stats().requests)

      -- Wrong use: exit 64 or 2, nothing sent.
      r = run({ "attach-agent", "--provider", "atlas", "--base-url", base }, atlas)
      assert.are.equal(64, r.code)
      assert.truthy(r.err:find("attach-agent needs --id CAMPAIGN_ID", 1, true), r.err)
      r = run({ "create", "--provider", "atlas", "--base-url", base, "--template", file("c.json", VAPI) }, atlas)
      assert.are.equal(64, r.code)
      assert.truthy(r.err:find("--template is only for attach-agent", 1, true), r.err)
      r = run({ "attach-agent", "--provider", "atlas", "--base-url", base, "--id", id, file("l.json", { template }) },
        atlas)
      assert.are.equal(2, r.code)
      assert.truthy(r.err:find("l.json: holds a list; attach-agent takes the fields of one agent", 1, true), r.err)
      assert.are.equal(sent, emu:stats().requests)
    end)

    it("a provider error: exit 1", function()
      local r = run({ "get", "--provider", "vapi", "--base-url", emu:url("vapi"), "--id", "missing" },
        { vars = { VAPI_API_KEY = KEY } })
      assert.are.equal(1, r.code)
      assert.are.equal(404, json_of(r).error.status)
      assert.are.equal("campaign vapi get: HTTP 404 Not Found: Campaign not found\n", r.err)
    end)

    it("an operation the provider does not have: exit 3, nothing sent", function()
      emu:set_keys({ smallest = KEY })
      local vars = { vars = { SMALLEST_API_KEY = KEY } }
      local base = emu:url("smallest")
      local r = run({ "update", "--provider", "smallest", "--base-url", base, "--id", "60d0fe4f5311236168a109ca",
        file("u.json", { name = "x" }) }, vars)
      assert.are.equal(3, r.code, r.err)
      assert.are.equal("unsupported", json_of(r).error.kind)
      -- A batch, --check: the same code.
      local pairs_file = file("pairs.json", { { id = "60d0fe4f5311236168a109ca", fields = { name = "x" } } })
      r = run({ "update", "--provider", "smallest", "--base-url", base, pairs_file }, vars)
      assert.are.equal(3, r.code, r.err)
      assert.are.equal("unsupported", json_of(r)[1].error.kind)
      r = run({ "update", "--provider", "smallest", "--check", pairs_file }, vars)
      assert.are.equal(3, r.code, r.err)
      assert.are.equal(0, emu:stats().requests)
      -- Beside a provider error, the provider error's 1.
      local output = require "campaign.cli.output"
      assert.are.equal(1, output.worse(3, 1))
      assert.are.equal(3, output.worse(2, 3))
    end)

    it("a batch told it was interrupted: every result printed, exit 130", function()
      local caught = {}
      local list = { VAPI, VAPI }
      local r = run({ "create", "--provider", "vapi", "--base-url", emu:url("vapi"), file("two.json", list) },
        { vars = { VAPI_API_KEY = KEY }, interrupted = function() return true end,
          catch_interrupt = function(on) caught[#caught + 1] = on end })
      assert.are.equal(130, r.code, r.err)
      assert.are.same({ true, false }, caught)
      assert.are.equal(2, #json_of(r))
      assert.are.equal("interrupted: 2 created, 0 failed, 0 not sent\n", r.err)
      assert.are.equal(2, #emu:campaigns("vapi"))
    end)

    describe("plan and apply", function()
      local function apply(answer, tty)
        return run({ "apply", "--provider", "vapi", "--base-url", emu:url("vapi"), file("a.json", { VAPI }) },
          { vars = { VAPI_API_KEY = KEY }, stdin = answer, stdin_tty = function() return tty end })
      end

      it("asks where env.stdin_tty says standard input is a terminal: y or yes applies", function()
        for _, answer in ipairs({ "y\n", " YES \n" }) do
          emu:reset()
          emu:set_keys({ vapi = KEY })
          local r = apply(answer, true)
          assert.are.equal(0, r.code, r.err)
          assert.are.equal("Apply these changes? [y/N] ", r.err)
          assert.truthy(r.out:find("\napply: 1 created, 0 updated, 0 failed\n$"), r.out)
          assert.are.equal(1, #emu:campaigns("vapi"))
        end
      end)

      it("anything else, or the end of the input, applies nothing: exit 4", function()
        for _, answer in ipairs({ "n\n", "yes please\n", "\n", false }) do
          local r = apply(answer, true)
          assert.are.equal(4, r.code, r.err)
          assert.are.equal("Apply these changes? [y/N] " .. (answer and "" or "\n") .. "campaign: apply: not "
            .. "confirmed (the answer was not y or yes): nothing applied\n", r.err)
          assert.are.equal("+ In-process\nplan: 1 to create, 0 to update, 0 unchanged, 0 drift, 0 conflicts\n",
            r.out)
        end
        assert.are.equal(0, #emu:campaigns("vapi"))
        assert.are.equal(0, emu:count { method = "POST" })
      end)

      it("not a terminal: refused before anything is read from standard input, exit 64", function()
        local r = apply("y\n", false)
        assert.are.equal(64, r.code, r.err)
        assert.truthy(r.err:find("pass --yes", 1, true), r.err)
        assert.are.equal(0, #emu:campaigns("vapi"))
      end)

      it("apply told it was interrupted: every step printed, exit 130", function()
        local caught = {}
        local second = {}
        for k, v in pairs(VAPI) do second[k] = v end
        second.name = "Second"
        local r = run({ "apply", "--yes", "--provider", "vapi", "--base-url", emu:url("vapi"),
          file("two.json", { VAPI, second }) },
          { vars = { VAPI_API_KEY = KEY }, interrupted = function() return true end,
            catch_interrupt = function(on) caught[#caught + 1] = on end })
        assert.are.equal(130, r.code, r.err)
        assert.are.same({ true, false }, caught)
        assert.truthy(r.out:find("\ninterrupted: 2 created, 0 updated, 0 failed, 0 not sent\n$"), r.out)
      end)
    end)
  end)

  describe("a plan's lines", function()
    local plan = require "campaign.cli.plan"
    local output = require "campaign.cli.output"
    local out

    setup(function()
      assert(output.load())
      out = output.new({ stdout = sink(), stderr = sink() })
      out.key = KEY
    end)

    local function line(step)
      step.name = step.name or "N"
      return plan.step_line(out, step)
    end

    local function change(from, to, updatable)
      return { field = "f", from = from, to = to, updatable = updatable ~= false }
    end

    it("mark each action; what differs is field old -> new", function()
      assert.are.equal("+ N", line { action = "create" })
      assert.are.equal("= N", line { action = "unchanged" })
      assert.are.equal('~ N: f "a" -> "b"; g (none) -> 5', line { action = "update", changes = {
        change("a", "b"), { field = "g", to = 5, updatable = true } } })
      assert.are.equal("! N: drift: f 3 -> 5", line { action = "drift", changes = { change(3, 5, false) } })
      assert.are.equal("! N: conflict: 2 campaigns have this name (7, c-2)",
        line { action = "conflict", ids = { 7, "c-2" }, campaigns = { {}, {} } })
    end)

    it("a drift step marks the fields apply still updates", function()
      assert.are.equal('! N: drift: customers [] -> [{"number":"+1"}]; name "a" -> "b" (updated)',
        line { action = "drift", changes = { { field = "customers", from = output.list({}),
          to = { { number = "+1" } }, updatable = false }, { field = "name", from = "a", to = "b",
          updatable = true } } })
    end)

    it("shortens long values: strings cut between characters and escapes, tables by their size", function()
      local long = line { action = "update", changes = { change(string.rep("x", 100), "short") } }
      assert.are.equal('~ N: f "' .. string.rep("x", 35) .. '..." -> "short"', long)
      -- Two-byte characters and escapes are never cut in half.
      local accents = line { action = "update", changes = { change("a" .. string.rep("\195\169", 30), 1) } }
      assert.are.equal('~ N: f "a' .. string.rep("\195\169", 17) .. '..." -> 1', accents)
      local quotes = line { action = "update", changes = { change(string.rep('"', 30), 1) } }
      assert.are.equal('~ N: f "' .. string.rep('\\"', 17) .. '..." -> 1', quotes)
      local customers = {}
      for i = 1, 200 do customers[i] = { number = "+1415555" .. i } end
      local object = {}
      for i = 1, 12 do object["key" .. i] = i end
      assert.are.equal("~ N: f [200 items] -> {12 fields}",
        line { action = "update", changes = { change(customers, object) } })
      -- A whole number read as a float (lua-cjson, Lua 5.3+) shows as an integer.
      assert.are.equal("~ N: f 5 -> 2.5", line { action = "update", changes = { change(5.0, 2.5) } })
    end)

    it("shows a name a line would hide as JSON, and never the key", function()
      assert.are.equal('+ "two\\nlines"', line { action = "create", name = "two\nlines" })
      assert.are.equal('+ " padded"', line { action = "create", name = " padded" })
      local text = line { action = "update", name = "key " .. KEY, changes = { change(KEY, "b") } }
      out:line(text)
      assert.is_nil(out.stdout.text():find(KEY, 1, true))
      assert.truthy(out.stdout.text():find('~ key [REDACTED]: f "[REDACTED]" -> "b"', 1, true))
    end)

    it("summary: how many of each", function()
      assert.are.equal("plan: 1 to create, 0 to update, 2 unchanged, 0 drift, 1 conflict", plan.summary {
        { action = "create" }, { action = "unchanged" }, { action = "unchanged" }, { action = "conflict" } })
      assert.are.equal("plan: 0 to create, 0 to update, 0 unchanged, 0 drift, 0 conflicts", plan.summary {})
    end)
  end)

  describe("query field types", function()
    it("come from the provider's rules", function()
      local query = require "campaign.cli.query"
      local client = require("campaign").client { provider = "vapi", api_key = KEY }
      assert.are.equal("integer", query.field_type(client, "list", "limit"))
      assert.are.equal("boolean", query.field_type(client, "list", "includeCounters"))
      assert.is_nil(query.field_type(client, "list", "noSuchFilter"))
      assert.are.same({ limit = 5, includeCounters = true, sortOrder = "ASC", page = "x" },
        query.typed_query(client, { sortOrder = "ASC" }, { limit = "5", includeCounters = "true", page = "x" }))
    end)
  end)
end)
