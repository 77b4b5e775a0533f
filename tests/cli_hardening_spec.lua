-- bin/campaign and what it must never print: argument values in errors
-- (a key pasted where a path, a number or a name belongs), the key in
-- errors, messages and --dry-run output (also escaped), while a success
-- body is printed as the provider sent it; and --check past the
-- validator's 100 listed problems. Run as a child process (under the
-- interpreter running this suite) against the local provider emulator.
local emulator = require "helpers.emulator"
local proc = require "helpers.proc"

local shquote = proc.shquote

-- The vapi key of most runs, and one with a "/" (JSON may write it "\/").
local KEY = "vapi-hardening-key-0123456789"
local SLASH_KEY = "vapi/hardening-key-9876543210"
-- Accepted by the emulator, refused by the module (shorter than 8).
local SHORT_KEY = "sh0rtk3"
-- What a user might paste by mistake: none of it may ever be printed.
local SECRET = "sk-pasted-5f0e1d2c3b4a69788796"
local SECRET_WORDS = "pastedsecretwords"
local UUID_KEY = "3f1c2a9e-8d4b-4c6f-9a7e-1b2c3d4e5f60"

local NEVER = { KEY, SLASH_KEY, SHORT_KEY, SECRET, SECRET_WORDS, "3f1c2a9e",
  "vapi\\/hardening", "u0076api" }

local VAPI = {
  name = "Hardening",
  assistantId = "5d2c7e80-1a3b-4c5d-8e9f-000000000001",
  phoneNumberId = "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d",
  customers = { { number = "+14155550101" } },
}

local function with(fields)
  local t = {}
  for k, v in pairs(VAPI) do t[k] = v end
  for k, v in pairs(fields) do t[k] = v end
  return t
end

-- `n` customers whose numbers are not E.164: one problem each.
local function bad_numbers(n)
  local customers = {}
  for i = 1, n do customers[i] = { number = "555" } end
  return with({ customers = customers })
end

local helper = require "helpers.cli"
local cli = helper.new("lua-campaign-cli-hardening")
local tmp, outputs = cli.tmp, cli.outputs
local function file(name, content) return cli:file(name, content) end
-- Runs the tool: see helpers/cli.lua. Returns {code, out, err}.
local function run(args, opts) return cli:run(args, opts) end
local json_of = helper.json_of

local function lines_of(text)
  local lines = {}
  for line in text:gmatch("[^\n]+") do lines[#lines + 1] = line end
  return lines
end

local function has(text, fragment)
  return text:find(fragment, 1, true) ~= nil
end

local function occurrences(text, fragment)
  local n, pos = 0, 1
  while true do
    local i, j = text:find(fragment, pos, true)
    if not i then return n end
    n, pos = n + 1, j + 1
  end
end

describe("campaign (the command-line tool), what it never prints", function()
  local emu

  -- A vapi run against the emulator with `key` (default KEY) in VAPI_API_KEY.
  local function call(args, key, opts)
    local full = { args[1], "--provider", "vapi", "--base-url", emu:url("vapi") }
    for i = 2, #args do full[#full + 1] = args[i] end
    opts = opts or {}
    opts.env = opts.env or { VAPI_API_KEY = key or KEY }
    return run(full, opts)
  end

  -- A usage error: exit 64, nothing on stdout, `expected` on stderr.
  local function assert_usage(r, expected)
    assert.are.equal(64, r.code, r.err)
    assert.are.equal("", r.out)
    assert.truthy(has(r.err, expected), r.err)
  end

  setup(function()
    emu = emulator.start()
  end)

  teardown(function()
    if emu then emu:stop() end
    cli:close()
    for _, text in ipairs(outputs) do
      for _, never in ipairs(NEVER) do
        assert.is_nil(text:find(never, 1, true), "printed: " .. never .. "\n" .. text)
      end
    end
  end)

  before_each(function()
    emu:reset()
    emu:set_keys({ vapi = { KEY, SLASH_KEY, SHORT_KEY } })
  end)

  describe("argument values in errors", function()
    it("--api-key-file given the key itself: the file given, not its name", function()
      local r = call({ "list", "--api-key-file", SECRET }, nil, { env = {} })
      assert_usage(r, "--api-key-file: cannot read the file given (No such file or directory); "
        .. "--api-key-file takes the PATH of a file whose first line is the key")
      assert.is_nil(r.err:find(SECRET, 1, true), r.err)

      local dir = tmp .. "/" .. SECRET_WORDS
      os.execute("mkdir -p " .. shquote(dir))
      r = call({ "list", "--api-key-file", dir }, nil, { env = {} })
      assert_usage(r, "--api-key-file: cannot read the file given (Is a directory)")

      r = call({ "list", "--api-key-file", file(SECRET_WORDS .. ".key", "\n") }, nil, { env = {} })
      assert_usage(r, "--api-key-file: the first line of the file given is empty")
      assert.is_nil(r.err:find(tmp, 1, true), r.err)
      assert.are.equal(0, emu:stats().requests)
    end)

    it("a value run into an option: only the option is named", function()
      local r = call({ "list", "-k" .. SECRET })
      assert_usage(r, "unknown option -k (the rest of the argument is not shown)")
      r = call({ "list", "-" .. SECRET_WORDS })
      assert_usage(r, "unknown option -p (the rest of the argument is not shown)")
      r = call({ "list", "--api-key-file" .. SECRET_WORDS })
      assert_usage(r, "unknown option --api-key-file... (the rest of the argument is not shown); "
        .. "give the value as --api-key-file VALUE or --api-key-file=VALUE")
      r = call({ "list", "--timeout" .. SECRET })
      assert_usage(r, "unknown option --timeout... (the rest of the argument is not shown)")
      r = call({ "list", "--api-key" .. SECRET_WORDS })
      assert_usage(r, "--api-key: there is no such option, on purpose")
      -- Not an option name at all (a key after --).
      r = call({ "list", "--" .. SECRET:sub(4) })
      assert_usage(r, "unknown option --... (the argument is not shown: it does not read as an option name)")
      assert.is_nil(r.err:find(SECRET:sub(4), 1, true), r.err)
      -- Names that read as option names are still shown, with the nearest one.
      r = call({ "list", "--quiet" })
      assert_usage(r, "unknown option --quiet")
      r = call({ "list", "--concurency", "2" })
      assert_usage(r, "unknown option --concurency (did you mean --concurrency?)")
      assert.are.equal(0, emu:stats().requests)
    end)

    it("option values that are not valid: the option is named, not its value", function()
      local cases = {
        { { "list", "--timeout", SECRET },
          "--timeout must be a number of seconds from 0.001 to 86400 (the value given is not shown)" },
        { { "list", "--max-retries", SECRET },
          "--max-retries must be an integer from 0 to 100 (the value given is not shown)" },
        { { "create", "--concurrency=" .. SECRET, "-" },
          "--concurrency must be an integer from 1 to 10000 (the value given is not shown)" },
        { { "list", "--query", "limit=5", "--query", SECRET },
          "--query takes NAME=VALUE: the 2nd --query has no NAME= (the value given is not shown)" },
        { { "list", "--query", SECRET .. "=1", "--query", "limit=5", "--query", SECRET .. "=2" },
          "the 1st and 3rd --query give the same NAME (not shown)" },
      }
      for _, case in ipairs(cases) do
        assert_usage(call(case[1]), case[2])
      end
      -- --provider and COMMAND: the known ones listed instead.
      local r = run({ "list", "--provider", SECRET }, { env = { VAPI_API_KEY = KEY } })
      assert_usage(r, "unknown provider (the --provider value is not shown; known: atlas, autocalls, "
        .. "smallest, vapi)")
      r = run({ "list", "--provider", "vapii" }, { env = { VAPI_API_KEY = KEY } })
      assert_usage(r, "; did you mean vapi?")
      r = run({ SECRET, "--provider", "vapi" }, { env = { VAPI_API_KEY = KEY } })
      assert_usage(r, "unknown command (the COMMAND given is not shown; commands: create, update, get, "
        .. "list, delete, start, stop, attach-agent, plan, apply)")
      r = run({ "crate", "--provider", "vapi" }, { env = { VAPI_API_KEY = KEY } })
      assert_usage(r, "; did you mean create?")
      assert.are.equal(0, emu:stats().requests)
    end)

    it("a FILE that cannot be read is named by its position", function()
      local r = call({ "create", SECRET })
      assert_usage(r, "cannot read FILE argument 1 (No such file or directory)")
      r = call({ "create", file("ok.json", VAPI), tmp .. "/missing-" .. SECRET_WORDS })
      assert_usage(r, "cannot read FILE argument 2 (No such file or directory)")
      os.execute("mkdir -p " .. shquote(tmp .. "/" .. SECRET_WORDS .. "-dir"))
      r = call({ "create", tmp .. "/" .. SECRET_WORDS .. "-dir" })
      assert_usage(r, "cannot read FILE argument 1 (Is a directory)")
      assert.are.equal(0, emu:stats().requests)
    end)

    it("a key file given as FILE: Lua's message keeps its line, not the text", function()
      -- The same key in VAPI_API_KEY: hidden whole, but not a piece of it.
      local path = file("vapi.key", UUID_KEY .. "\n")
      local r = call({ "create", path }, UUID_KEY)
      assert.are.equal(2, r.code, r.err)
      assert.are.equal(path .. ":1: malformed number near [not shown]", json_of(r).error.message)
      assert.are.equal("campaign: " .. path .. ":1: malformed number near [not shown]\n", r.err)

      r = call({ "create", "--check", "-" }, nil, { stdin = SECRET_WORDS .. " 123\n" })
      assert.are.equal(2, r.code, r.err)
      assert.truthy(r.err:find("^campaign: stdin:1: [^\n]* near %[not shown%]\n$"), r.err)

      -- A run-time error names the global the file used; the sandbox's
      -- own names (os, io, require...) are still named.
      r = call({ "create", file("word.lua", "return { name = " .. SECRET_WORDS .. ".x }") })
      assert.are.equal(2, r.code, r.err)
      assert.truthy(has(r.err, "word.lua:1: attempt to index "), r.err)
      assert.truthy(has(r.err, "[not shown]"), r.err)
      -- A token in single quotes is quoted by Lua in quotes: ''token''.
      r = call({ "create", file("quoted.lua", "'" .. SECRET .. "'\n") })
      assert.are.equal(2, r.code, r.err)
      assert.are.equal("campaign: " .. tmp .. "/quoted.lua:1: unexpected symbol near [not shown]\n", r.err)
      r = call({ "create", file("open.lua", "x = '" .. SECRET .. "\n") })
      assert.are.equal(2, r.code, r.err)
      assert.are.equal("campaign: " .. tmp .. "/open.lua:1: unfinished string near [not shown]\n", r.err)
      r = call({ "create", file("os.lua", "os.exit(3)\nreturn {}") })
      assert.are.equal(2, r.code, r.err)
      assert.truthy(has(r.err, "os.lua:1: attempt to index ") and has(r.err, "'os'"), r.err)
      assert.are.equal(0, emu:stats().requests)
    end)

    it("--id and --query values quoted back by the rules are not shown", function()
      local r = call({ "get", "--id", "../" .. SECRET })
      assert.are.equal(2, r.code, r.err)
      assert.are.equal("id: the --id value would change the request path: an id may contain only "
        .. "letters, digits and - _ . : ~\n", r.err)
      local e = json_of(r).error
      assert.are.equal("id", e.errors[1].field)
      assert.are.equal("the --id value would change the request path: an id may contain only letters, "
        .. "digits and - _ . : ~", e.errors[1].message)
      assert.truthy(e.message:find("^id the %-%-id value would change the request path"), e.message)

      r = call({ "list", "--query", "status=" .. SECRET, "--query", SECRET_WORDS .. "=1",
        "--query", "sortorder=ASC" })
      assert.are.equal(2, r.code, r.err)
      local lines = lines_of(r.err)
      assert.are.same({
        "the NAME of the 2nd --query is not a filter the provider knows (it is not shown)",
        'the NAME of the 3rd --query is not a filter the provider knows (it is not shown); '
          .. 'did you mean "sortOrder"?',
        'status: must be one of "scheduled", "in-progress", "ended", "cancelled", "archived" '
          .. "(got the --query value)",
      }, lines)
      e = json_of(r).error
      assert.are.equal(3, #e.errors)
      assert.are.equal("status", e.errors[3].field)
      -- A number the rules quote back as converted, not as typed.
      for _, typed in ipairs { "4111111111111111.0", "04111111111111111", "4.111111111111111e15" } do
        r = call({ "list", "--check", "--query", "limit=" .. typed })
        assert.are.equal(2, r.code, r.err)
        assert.is_nil(r.err:find("4111111111", 1, true), r.err)
        assert.is_nil(r.out:find("4111111111", 1, true), r.out)
        assert.truthy(has(r.err, "(got the --query value)"), r.err)
      end
      assert.are.equal(0, emu:stats().requests)
    end)
  end)

  it("prints the numbers of a success body as the provider wrote them", function()
    -- dkjson writes 14 digits (tostring): 0.30000000000000004 came out as 0.3.
    emu:fault { provider = "vapi", method = "GET", status = 200,
      body = '{"id":"c1","n":0.30000000000000004,"big":123456789012345,"small":1e-300}' }
    local r = call({ "get", "--id", "c1" })
    assert.are.equal(0, r.code, r.err)
    assert.truthy(has(r.out, '"n":0.30000000000000004'), r.out)
    assert.truthy(has(r.out, '"big":123456789012345'), r.out)
    assert.truthy(has(r.out, '"small":1e-300'), r.out)
  end)

  describe("the key", function()
    -- Needs the module to print success bodies unredacted (campaign.client).
    it("is printed in a success body, which is the caller's own data; hidden in errors", function()
      local name = KEY .. " kickoff"
      local r = call({ "create", file("named.json", with({ name = name })) }, nil, { body_has_key = true })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal(name, json_of(r).name)
      assert.are.equal("", r.err)

      -- A batch: the body as sent, the error (the key as a field name) hidden.
      local bad = with({ name = "bad" })
      bad[KEY] = 1
      r = call({ "create", file("b1.json", with({ name = name })), file("b2.json", bad) }, nil,
        { body_has_key = true })
      assert.are.equal(2, r.code, r.err)
      local out = json_of(r)
      assert.are.equal(name, out[1].name)
      assert.are.equal(1, occurrences(r.out, KEY), r.out)
      assert.truthy(has(out[2].error.errors[1].field .. out[2].error.errors[1].message, "[REDACTED]"),
        r.out)
      assert.truthy(has(r.err, "[REDACTED]"), r.err)
      assert.truthy(has(r.err, "1 created, 1 failed"), r.err)
      assert.are.equal(2, emu:stats().requests)
    end)

    -- Needs core.redact to find JSON-escaped forms of the key (\/, \uXXXX).
    it("is hidden in errors where the provider echoes it escaped", function()
      local escaped = SLASH_KEY:gsub("/", "\\/")
      emu:fault { provider = "vapi", status = 400, json = {
        message = 'upstream said {"token":"' .. escaped .. '"} and \\u0076api\\/hardening-key-9876543210' } }
      local r = call({ "get", "--id", "abc" }, SLASH_KEY)
      assert.are.equal(1, r.code, r.err)
      assert.truthy(has(r.err, 'upstream said {"token":"[REDACTED]"} and [REDACTED]'), r.err)
      local e = json_of(r).error
      assert.are.equal(400, e.status)
      assert.truthy(has(e.message, 'upstream said {"token":"[REDACTED]"} and [REDACTED]'), e.message)
    end)

    -- Needs core.redact to find JSON-escaped forms of the key (\uXXXX).
    it("is hidden in --dry-run output and the tool's own messages, escaped forms included", function()
      local escaped = "\\u0076api/hardening-key-9876543210"
      local r = call({ "create", "--dry-run", file("escaped.json", with({ name = "from " .. escaped })) },
        SLASH_KEY)
      assert.are.equal(0, r.code, r.err)
      local req = json_of(r)
      assert.are.equal("[REDACTED]", req.headers.Authorization)
      assert.are.equal("from [REDACTED]", req.body.name)

      -- An update item with the key as one of its keys: refused by the tool.
      r = call({ "update", file("items.json", { { id = "c1", fields = { name = "x" }, [escaped] = 1 } }) },
        SLASH_KEY)
      assert.are.equal(2, r.code, r.err)
      assert.truthy(has(r.err, "items.json[1]: unknown key [REDACTED] (an item is"), r.err)
      assert.truthy(has(json_of(r).error.message, "unknown key [REDACTED]"), r.out)
      assert.are.equal(0, emu:stats().requests)
    end)

    -- Needs campaign.client to refuse keys shorter than 8 characters.
    it("too short: refused with exit 64, the key not shown, nothing sent", function()
      local r = call({ "list" }, SHORT_KEY)
      assert_usage(r, "the API key in VAPI_API_KEY is refused: api_key is too short")
      r = call({ "list", "--api-key-file", file("short.key", SHORT_KEY .. "\n") }, nil, { env = {} })
      assert_usage(r, "the API key in the file given to --api-key-file is refused: api_key is too short")
      assert.are.equal(0, emu:stats().requests)
    end)
  end)

  describe("--check and the problems past the first 100", function()
    it("gives the number of problems in the error JSON", function()
      local r = call({ "create", "--check", file("two.json", with({
        customers = { { number = "555" } }, maxConcurrency = 0 })) })
      assert.are.equal(2, r.code, r.err)
      local out = json_of(r)
      assert.are.equal(2, out.error.count)
      assert.are.equal(2, #out.error.errors)
      assert.are.equal(2, #lines_of(r.err), r.err)
      assert.is_nil(r.err:find("more problem", 1, true), r.err)
    end)

    -- Needs err.count from the module.
    it("lists 100 problems, then says how many more, and counts them all", function()
      local r = call({ "create", "--check", file("150.json", bad_numbers(150)) })
      assert.are.equal(2, r.code, r.err)
      local lines = lines_of(r.err)
      assert.are.equal(101, #lines, r.err)
      assert.truthy(lines[1]:find('^customers%[1%]%.number: "555" must be E%.164'), lines[1])
      assert.truthy(lines[100]:find('^customers%[100%]%.number: "555" must be E%.164'), lines[100])
      assert.are.equal("and 50 more problems", lines[101])
      local e = json_of(r).error
      assert.are.equal(150, e.count)
      assert.are.equal(100, #e.errors)

      -- In a batch, on the item's lines.
      local path = file("150b.json", bad_numbers(150))
      r = call({ "create", "--check", file("fine.json", VAPI), path })
      assert.are.equal(2, r.code, r.err)
      lines = lines_of(r.err)
      assert.are.equal(path .. ": and 50 more problems", lines[101])
      assert.are.equal("1 valid, 1 invalid", lines[102])
      local out = json_of(r)
      assert.are.same({ valid = true }, out[1])
      assert.are.equal(150, out[2].error.count)

      -- And when the campaign is sent: refused before sending, the same count.
      r = call({ "create", file("150c.json", bad_numbers(150)) })
      assert.are.equal(2, r.code, r.err)
      assert.are.equal("and 50 more problems", lines_of(r.err)[101])
      assert.are.equal(150, json_of(r).error.count)
      assert.are.equal(0, emu:stats().requests)
    end)
  end)
end)
