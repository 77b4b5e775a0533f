-- Adding a provider takes one C file, one Lua module and one line in each
-- registry (README "Adding a provider"): shown by adding a fifth one, echo
-- (tests/fifth/), to a copy of the checkout, building it, and using it end
-- to end against a local server, from the library and the command-line
-- tool. Runs under every Lua of `make test`.
local proc = require "helpers.proc"
local rawserver = require "helpers.rawserver"
local cjson = require "cjson"

local ROOT = proc.ROOT
local IS_JIT = rawget(_G, "jit") ~= nil
local LUA_VERSION = IS_JIT and "jit" or _VERSION:match("%d+%.%d+")

-- Inserts `line` before the first line matching `before` in the file at
-- path; fails unless the file then has exactly one line more.
local function add_line(path, before, line)
  local text = assert(proc.read_file(path))
  local lines = {}
  for l in (text .. "\n"):gmatch("(.-)\n") do lines[#lines + 1] = l end
  if lines[#lines] == "" then lines[#lines] = nil end
  local out, added = {}, false
  for _, l in ipairs(lines) do
    if not added and l:find(before, 1, true) then
      out[#out + 1] = line
      added = true
    end
    out[#out + 1] = l
  end
  assert(added, path .. ": no line with " .. before)
  assert(#out == #lines + 1)
  proc.write_file(path, table.concat(out, "\n") .. "\n")
end

describe("a fifth provider", function()
  local dir, built, build_out, srv, answer, answer_text

  setup(function()
    dir = assert(proc.tmpdir())
    local q = proc.shquote
    local code, out = proc.sh(("cp -R %s %s %s %s && cp %s %s/src/ && cp %s %s/lua/campaign/providers/")
      :format(q(ROOT .. "src"), q(ROOT .. "lua"), q(ROOT .. "Makefile"), q(dir),
        q(ROOT .. "tests/fifth/provider_echo.c"), q(dir), q(ROOT .. "tests/fifth/echo.lua"), q(dir)))
    assert(code == 0, out)
    -- One line in each registry.
    add_line(dir .. "/src/providers.h", "/* end of the list */", "  X(echo)                     \\")
    add_line(dir .. "/lua/campaign/providers.lua", '"atlas",', '  "echo",')
    code, build_out = proc.sh(("cd %s && env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s -j2 "
      .. "LUA_VERSION=%s all 2>&1"):format(q(dir), LUA_VERSION))
    built = code == 0
    if not built then return end
    srv = rawserver.start("canned", { status = 201, body = '{"id":"e-1","name":"Spring"}' })
    code, answer_text = proc.sh(("LUA_PATH=%s LUA_CPATH=%s %s %s %s 2>&1"):format(
      q(dir .. "/lua/?.lua;" .. dir .. "/lua/?/init.lua;;"),
      q(dir .. "/build/" .. LUA_VERSION .. "/?.so;;"), proc.LUA,
      q(ROOT .. "tests/fifth/run.lua"), q(srv.url)))
    local ok, decoded = pcall(cjson.decode, answer_text:match("([^\n]*)\n*$") or "")
    if code == 0 and ok then answer = decoded end
  end)

  teardown(function()
    if srv then srv:stop() end
    if dir then proc.sh("rm -rf " .. proc.shquote(dir)) end
  end)

  local function need()
    assert(built, "the copy with echo did not build:\n" .. tostring(build_out))
    assert(answer, "the run failed:\n" .. tostring(answer_text))
    return answer
  end

  it("is built from its C file and one line in src/providers.h", function()
    local a = need()
    assert.are.same({ "atlas", "autocalls", "echo", "smallest", "vapi" }, a.providers)
  end)

  it("creates a campaign against a local server, with its routes and its auth header", function()
    local a = need()
    assert.is_nil(a.create_error, a.create_error)
    assert.are.same({ id = "e-1", name = "Spring" }, a.created)
    local texts = srv:texts()
    assert.truthy(texts[1]:find("^POST /campaigns HTTP/1.1\r?\n"), texts[1])
    assert.truthy(texts[1]:find("\nX%-Echo%-Key: echo%-test%-key%-1\r?\n"), texts[1])
    assert.truthy(texts[1]:find('"numbers":["+14155550101"]', 1, true), texts[1])
  end)

  it("checks its rules: formats, its cross-field rule, suggestions, unsupported calls", function()
    local a = need()
    assert.are.same({
      { field = "numbers[1]", message = a.bad[1].message },
      { field = "parallel", message = "must not be above the number of numbers (1)" },
    }, a.bad)
    -- A field of the shared E.164 format says what the providers' own do.
    assert.are.equal('"555" must be E.164, e.g. +14155551234: + then the country code and '
      .. "number, digits only, up to 15 digits", a.bad[1].message)
    assert.truthy(a.typo:find('unknown field "nam"; did you mean "name"?', 1, true), a.typo)
    assert.are.equal("campaign echo update: Echo campaigns cannot change after they are "
      .. "created", a.unsupported)
  end)

  it("is known to the command-line tool: its name, its key variable", function()
    local a = need()
    assert.are.equal(0, a.cli_code, a.cli_err)
    assert.truthy(a.cli_out:find('"id": *"e%-1"'), a.cli_out)
    assert.truthy(srv:texts()[2]:find("\nX%-Echo%-Key: echo%-test%-key%-2\r?\n"), srv:texts()[2])
    assert.truthy(a.help:find("echo", 1, true), a.help)
    assert.truthy(a.help:find("ECHO_API_KEY", 1, true), a.help)
  end)
end)
