-- Numbers are sent exactly, never changed: the walk that checks a body
-- writes it, integers in full (64-bit on Lua 5.3+, up to 2^53 as doubles on
-- 5.1 and LuaJIT) and other doubles as the shortest text that reads back to
-- the same double (of %.15g, %.16g and %.17g). That holds in the known
-- numeric fields, in free-form values (nested objects and lists), in fields
-- let through by passthrough, and through the command-line tool. NaN and the
-- infinities have no JSON and are refused with the field path. No network:
-- prepare only.
local campaign = require "campaign"
local cjson = require "cjson"
local check = require "helpers.check"
local fixtures = require "helpers.fixtures"
local proc = require "helpers.proc"
local core = require "campaign.core"

local with = check.with
local KEY = "a-test-key-12345678"

local function client(provider, opts)
  local o = { provider = provider, api_key = KEY }
  for k, v in pairs(opts or {}) do o[k] = v end
  return campaign.client(o)
end

local vapi = client("vapi")
local VAPI = fixtures.vapi()
local SMALLEST = fixtures.smallest()
local AUTOCALLS = fixtures.autocalls()
local ATLAS = fixtures.atlas()

-- -0.0 made at run time: a -0.0 constant may be merged with 0 by the compiler.
local NEG_ZERO = -1 / math.huge

-- Doubles and the text they are sent as: integers of at most 2^53 as
-- integers, others in the fewest of 15, 16 or 17 significant digits (the
-- exponent as C's %g writes it). lua-cjson 2.1.0 alone sent several of
-- these rounded to 14 digits.
local CASES = {
  { 0, "0" }, { 1, "1" }, { -1, "-1" }, { 0.1, "0.1" }, { 0.5, "0.5" }, { -2.25, "-2.25" },
  { 123456.789, "123456.789" }, { 1e-7, "1e-07" }, { 1e300, "1e+300" }, { -1e300, "-1e+300" },
  { 5e-324, "4.94065645841247e-324" }, { 99999999999999, "99999999999999" },
  { 1e15, "1000000000000000" }, { 1e17, "1e+17" }, { 1e21, "1e+21" },
  { 123456789012345, "123456789012345" }, { -123456789012345, "-123456789012345" },
  { 2 ^ 53, "9007199254740992" }, { -2 ^ 53, "-9007199254740992" },
  { 1 / 3, "0.3333333333333333" }, { 0.1 + 0.2, "0.30000000000000004" },
  { 2 ^ 63, "9.223372036854776e+18" }, { 2.2250738585072014e-308, "2.2250738585072014e-308" },
  { 61 / 3, "20.333333333333332" }, { NEG_ZERO, "-0" },
}

-- The body's value at path (a list of keys) after decoding.
local function at(body, path)
  local v = body
  for _, k in ipairs(path) do v = v[k] end
  return v
end

-- v is accepted at path (dotted, for check.with), written as text (when
-- given), and the body decodes to v.
local function sends_exactly(c, op, base, path, v, text, id)
  local req, body = check.accepts(c, op, with(base, { [path] = v }), id)
  local keys = {}
  for part in path:gmatch("[^.]+") do keys[#keys + 1] = tonumber(part) or part end
  if text then
    local last = keys[#keys]
    local wanted = type(last) == "number" and text or ('"' .. last .. '":' .. text)
    local at_end = req.body:find(wanted:gsub("%p", "%%%0") .. "[,}%]]")
    assert.truthy(at_end, ("%s: %s not in %s"):format(path, wanted, req.body))
  end
  local got = at(body, keys)
  assert.are.equal(v, got, ("%s: sent %.17g for %.17g"):format(path, got, v))
  if v == 0 then
    assert.are.equal(1 / v, 1 / got, path .. ": the sign of zero changed")
  end
  return body
end

describe("numbers in a request body", function()
  describe("vapi free-form values (assistantOverrides, squadOverrides)", function()
    it("are sent exactly, as the shortest text that reads back", function()
      for _, case in ipairs(CASES) do
        local v, text = case[1], case[2]
        sends_exactly(vapi, "create", VAPI, "assistantOverrides.variableValues.account", v, text)
        sends_exactly(vapi, "create", VAPI, "squadOverrides.variableValues.amount", v, text)
        sends_exactly(vapi, "create", VAPI, "customers.1.assistantOverrides.variableValues.account", v, text)
      end
    end)

    it("are sent exactly inside nested lists and objects", function()
      local list = { 1, { 0.1, { 123456789012345, { x = 1 / 3 } } }, -0.5 }
      local req, body = check.accepts(vapi, "create", with(VAPI, { ["assistantOverrides.variableValues.list"] = list }))
      assert.are.same(list, body.assistantOverrides.variableValues.list)
      assert.truthy(req.body:find('"list":[1,[0.1,[123456789012345,{"x":0.3333333333333333}]],-0.5]', 1, true),
        req.body)
    end)

    it("refuse NaN and infinities, one problem each, up to the list's cap of 100", function()
      for _, case in ipairs { { 0 / 0, "NaN" }, { 1 / 0, "infinity" }, { -1 / 0, "infinity" } } do
        check.rejects(vapi, "create", with(VAPI, { ["assistantOverrides.x"] = case[1] }),
          "assistantOverrides.x", "must be a finite number (got " .. case[2] .. ")")
      end
      local many = {}
      for i = 1, 150 do many["n" .. i] = 0 / 0 end
      local fields = with(VAPI, { ["assistantOverrides.variableValues"] = many })
      local _, err = vapi:prepare("create", fields)
      assert.are.equal("validation", err.kind)
      assert.are.equal(100, #err.errors)
      for _, p in ipairs(err.errors) do
        assert.truthy(p.field:find("^assistantOverrides%.variableValues%.n%d+$"), p.field)
        assert.are.equal("must be a finite number (got NaN)", p.message)
      end
      -- The core lists 100 and counts the rest in a last entry.
      local ok, problems = core.encode("vapi.create", fields, false)
      assert.is_false(ok)
      assert.are.equal(101, #problems)
      assert.are.same({ field = "", message = "and 50 more problems" }, problems[101])
    end)
  end)

  describe("vapi numeric fields", function()
    local SERVER = with(VAPI, { server = { url = "https://example.com/hook", timeoutSeconds = 20,
      backoffPlan = { type = "fixed", maxRetries = 2, baseDelaySeconds = 1 } } })

    it("send every fraction in range exactly", function()
      for _, case in ipairs { { 1, "1" }, { 20.5, "20.5" }, { 1.25, "1.25" }, { 299.99999999999, "299.99999999999" },
        { 300, "300" }, { 61 / 3, "20.333333333333332" } } do
        sends_exactly(vapi, "create", SERVER, "server.timeoutSeconds", case[1], case[2])
      end
      for _, case in ipairs { { 0, "0" }, { 0.1, "0.1" }, { 2.5, "2.5" }, { 9.87654321, "9.87654321" },
        { 2 / 3, "0.6666666666666666" } } do
        sends_exactly(vapi, "create", SERVER, "server.backoffPlan.baseDelaySeconds", case[1], case[2])
      end
      sends_exactly(vapi, "create", VAPI, "maxConcurrency", 99999999999999, "99999999999999")
    end)

    it("report out-of-range values as they are, not rounded", function()
      check.rejects(vapi, "create", with(SERVER, { ["server.timeoutSeconds"] = 300 + 2 ^ -44 }),
        "server.timeoutSeconds", "must be between 1 and 300 (got 300.00000000000006)")
      check.rejects(vapi, "create", with(VAPI, { maxConcurrency = 2 + 2 ^ -51 }),
        "maxConcurrency", "must be an integer (got 2.0000000000000004)")
      check.rejects(vapi, "create", with(VAPI, { maxConcurrency = 123456789012345 }),
        "maxConcurrency", "is too large to send exactly: integers must be below 10^14 (got 123456789012345)")
    end)
  end)

  describe("smallest", function()
    local c = client("smallest")
    it("sends its integer fields exactly", function()
      sends_exactly(c, "create", SMALLEST, "retryDelay", 1440, "1440")
      sends_exactly(c, "create", SMALLEST, "maxRetries", 10, "10")
      check.rejects(c, "create", with(SMALLEST, { retryDelay = 30 + 2 ^ -48 }), "retryDelay",
        "must be an integer (got 30.000000000000004)")
    end)

    it("sends fields let through by passthrough exactly", function()
      local p = client("smallest", { passthrough = true })
      for _, case in ipairs(CASES) do
        sends_exactly(p, "create", SMALLEST, "newSmallestField", case[1], case[2])
      end
      sends_exactly(p, "create", SMALLEST, "extra.deep.1", 123456789012345, "123456789012345")
    end)
  end)

  describe("autocalls", function()
    local c = client("autocalls")
    it("sends ids below 10^14 exactly and refuses larger ones", function()
      sends_exactly(c, "create", AUTOCALLS, "assistant_id", 99999999999999, "99999999999999")
      sends_exactly(c, "create", AUTOCALLS, "phone_number_ids.1", 99999999999998, "99999999999998")
      check.rejects(c, "create", with(AUTOCALLS, { assistant_id = 123456789012345 }), "assistant_id",
        "integers must be below 10^14 (got 123456789012345)")
      check.rejects(c, "create", with(AUTOCALLS, { phone_number_ids = { 1, 2 ^ 53 } }), "phone_number_ids[2]",
        "integers must be below 10^14 (got 9007199254740992)")
    end)

    it("sends fields let through by passthrough exactly", function()
      local p = client("autocalls", { passthrough = true })
      sends_exactly(p, "create", AUTOCALLS, "custom.rate", 0.1, "0.1")
      sends_exactly(p, "create", AUTOCALLS, "custom.rate", 1 / 3, "0.3333333333333333")
    end)
  end)

  describe("atlas", function()
    local c = client("atlas")
    it("sends DailyCallLimit exactly", function()
      sends_exactly(c, "create", ATLAS, "DailyCallLimit", 99999999999999, "99999999999999")
      check.rejects(c, "create", with(ATLAS, { DailyCallLimit = 1e15 }), "DailyCallLimit",
        "integers must be below 10^14 (got 1000000000000000)")
    end)

    it("sends the free-form agent body exactly", function()
      for _, case in ipairs(CASES) do
        sends_exactly(c, "attach_agent", {}, "settings.temperature", case[1], case[2], "camp-1")
      end
      sends_exactly(c, "attach_agent", { ids = { 1 } }, "ids.2", 123456789012345, "123456789012345", "camp-1")
    end)

    it("sends fields let through by passthrough exactly", function()
      local p = client("atlas", { passthrough = true })
      sends_exactly(p, "create", ATLAS, "NewAtlasField", 0.1, "0.1")
      sends_exactly(p, "create", ATLAS, "NewAtlasField", 123456789012345, "123456789012345")
    end)
  end)

  describe("the rule", function()
    -- The text of a double d: an integer when d is one of at most 2^53,
    -- else the first of %.15g, %.16g, %.17g that reads back to d.
    local function expected(d)
      if d == math.floor(d) and d >= -2 ^ 53 and d <= 2 ^ 53 then
        if d == 0 and 1 / d < 0 then return "-0" end
        return ("%.0f"):format(d)
      end
      for digits = 15, 17 do
        local text = ("%." .. digits .. "g"):format(d)
        if digits == 17 or tonumber(text) == d then return text end
      end
    end

    it("writes every double as the shortest text that reads back to it", function()
      local checked, wrong = 0, {}
      local function try(d)
        checked = checked + 1
        local text, want = core.json({ d }):sub(2, -2), expected(d)
        -- LuaJIT's string.format is its own, not C's printf (a tie of the
        -- last digit is rounded up, not to even): there the text must only
        -- read back, in no more than 17 digits.
        local same = text == want or (jit and #text <= #("%.17g"):format(d))
        local ok = same and tonumber(text) == d and cjson.decode("[" .. text .. "]")[1] == d
        if not ok and #wrong < 5 then
          wrong[#wrong + 1] = ("%.17g written %s (expected %s)"):format(d, text, want)
        end
      end
      for k = 0, 16 do
        for m = -150, 150 do
          try(m / 10 ^ k); try((m + 0.5) * 10 ^ k); try(m * 10 ^ (14 - k) + 1)
        end
      end
      math.randomseed(20260514)
      for _ = 1, 3000 do
        local digits, k = math.random(1, 17), math.random(0, 12)
        local m = math.floor(math.random() * 10 ^ digits)
        try(m / 10 ^ k); try(-m / 10 ^ k); try(math.random() * 10 ^ math.random(-300, 300))
      end
      for e = -1074, 1023, 7 do try(2 ^ e); try(-(2 ^ e) * 1.5) end
      assert.are.same({}, wrong)
      assert.is_true(checked > 20000)
    end)
  end)

  describe("integers at the edges of their range", function()
    if math.type then
      -- Lua 5.3+: a Lua integer is written in full, whatever its size.
      it("writes every Lua integer in full", function()
        local max, min = math.maxinteger, math.mininteger
        local p2 = math.tointeger(2 ^ 53)
        for _, case in ipairs {
          { max, "9223372036854775807" }, { min, "-9223372036854775808" }, { max - 1, "9223372036854775806" },
          { min + 1, "-9223372036854775807" }, { p2 + 1, "9007199254740993" }, { -p2 - 1, "-9007199254740993" },
          { p2, "9007199254740992" }, { p2 - 1, "9007199254740991" },
          { math.tointeger(10 ^ 17) + 1, "100000000000000001" }, { 0, "0" }, { -1, "-1" },
        } do
          assert.are.equal("integer", math.type(case[1]))
          assert.are.equal("[" .. case[2] .. "]", core.json({ case[1] }))
          local req = check.accepts(vapi, "create", with(VAPI, { ["assistantOverrides.n"] = case[1] }))
          assert.truthy(req.body:find('"n":' .. case[2] .. "}", 1, true), req.body)
          -- dkjson reads integers back as integers: the very value.
          local dk = require("dkjson").decode(req.body)
          assert.are.equal(case[1], dk.assistantOverrides.n)
        end
      end)
    end

    it("writes integral doubles up to 2^53 as integers, larger ones as the double they are", function()
      for _, case in ipairs {
        { 2 ^ 53, "9007199254740992" }, { 2 ^ 53 - 1, "9007199254740991" }, { -(2 ^ 53), "-9007199254740992" },
        { 2 ^ 53 + 2, "9007199254740994" }, { 2 ^ 63, "9.223372036854776e+18" },
        { -(2 ^ 63), "-9.223372036854776e+18" },
        { 2 ^ 64, "1.8446744073709552e+19" }, { 1e22, "1e+22" },
      } do
        local v = case[1] + 0.0   -- a double on every Lua
        assert.are.equal("[" .. case[2] .. "]", core.json({ v }))
        assert.are.equal(v, cjson.decode(core.json({ v }))[1])
      end
    end)
  end)
end)

describe("numbers in a query string", function()
  -- The client writes query values itself, exactly, as the walk writes bodies.
  it("are checked by the same rules as in a body", function()
    for _, v in ipairs { 123456789012345, 1 / 3, 2 ^ 53 } do
      assert.is_true(core.validate("vapi.list", { x = v }, true))
      assert.is_true(core.validate("smallest.list", { x = v }, true))
    end
    local body = with(VAPI, { assistantOverrides = { x = 1 / 3 } })
    assert.is_true(core.validate("vapi.create", body))
    assert.truthy(core.encode("vapi.create", body, false):find('"x":0.3333333333333333', 1, true))
  end)
end)

describe("numbers in the command-line tool's JSON input", function()
  local ROOT = proc.ROOT:gsub("/$", "")
  local dir

  setup(function() dir = proc.tmpdir() end)
  teardown(function() if dir then os.execute("rm -rf " .. proc.shquote(dir)) end end)

  local function dry_run(text)
    local path = dir .. "/c.json"
    proc.write_file(path, text)
    local code, out = proc.sh("cd " .. proc.shquote(ROOT) .. " && env -u VAPI_API_KEY -u CAMPAIGN_LUA "
      .. proc.LUA .. " bin/campaign create --provider vapi --dry-run " .. proc.shquote(path) .. " 2>/dev/null")
    return code, out
  end

  local HEAD = '{"name":"n","assistantId":"a","phoneNumberId":"p","customers":[{"number":"+14155550101"}],'

  it("sends every number a double holds as written, exactly", function()
    local code, out = dry_run(HEAD .. '"assistantOverrides":{"variableValues":{"account":123456789012345,'
      .. '"rate":0.1,"third":0.3333333333333333}}}')
    assert.are.equal(0, code, out)
    assert.truthy(out:find('"account":123456789012345', 1, true), out)
    assert.truthy(out:find('"third":0.3333333333333333', 1, true), out)
    local vars = cjson.decode(out).body.assistantOverrides.variableValues
    assert.are.equal(123456789012345, vars.account)
    assert.are.equal(0.1, vars.rate)
  end)

  it("refuses a number the JSON reader would change before anything checks it", function()
    -- lua-cjson reads the nearest double: 0.10000000000000000001 became 0.1, and was sent.
    for _, text in ipairs { "0.10000000000000000001", "12345678901234567890", "9007199254740993",
      "1e400", "-4.9406564584124654e-325" } do
      local code, out = dry_run(HEAD .. '\n"assistantOverrides":{"variableValues":{"x":' .. text .. '}}}')
      assert.are.equal(2, code, out)
      local path = dir .. "/c.json"
      local _, err = proc.sh("cd " .. proc.shquote(ROOT) .. " && env -u VAPI_API_KEY " .. proc.LUA
        .. " bin/campaign create --provider vapi --check " .. proc.shquote(path) .. " 2>&1 >/dev/null")
      assert.truthy(err:find("line 2: the number " .. text .. " cannot be read exactly", 1, true), err)
    end
    for _, text in ipairs { "0.1", "1.5e-7", "-0.0", "100", "1E2", "0.000", "12345678901234" } do
      local code, out = dry_run(HEAD .. '"assistantOverrides":{"variableValues":{"x":' .. text
        .. ',"s":"9007199254740993 in a string"}}}')
      assert.are.equal(0, code, text .. ": " .. out)
      assert.are.equal(tonumber(text), cjson.decode(out).body.assistantOverrides.variableValues.x)
    end
  end)
end)
