-- Numbers are sent exactly or refused, never changed. lua-cjson 2.1.0 writes
-- numbers with 14 significant digits ("%.14g"), so the validator refuses a
-- number whose text would not read back to the same value: in the known
-- numeric fields, in free-form values (nested objects and lists), in fields
-- let through by passthrough, and in the command-line tool's JSON input.
-- Each accepted value is checked in the body as it decodes: exactly the
-- value given. No network: prepare only.
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

local TOO_MANY_DIGITS = "cannot be sent exactly: JSON numbers are written with 14 significant digits"

-- Values lua-cjson writes exactly: each reads back to the same double.
local EXACT = {
  0, 1, -1, 0.1, 0.5, -2.25, 123456.789, 1e-7, 1e300, -1e300, 5e-324,
  99999999999999, -99999999999999, 1e14, 1e15, 1e17, 1e21,
}

-- -0.0 made at run time: a -0.0 constant may be merged with 0 by the compiler.
local NEG_ZERO = -1 / math.huge

-- Doubles it would round, with what the message shows: the value in full,
-- then the text that would be sent.
local ROUNDED = {
  { 123456789012345, "123456789012345 would be sent as 1.2345678901234e+14; send it as a string" },
  { -123456789012345, "-123456789012345 would be sent as -1.2345678901234e+14" },
  { 2 ^ 53, "9007199254740992 would be sent as 9.007199254741e+15; send it as a string" },
  { 1 / 3, "0.3333333333333333 would be sent as 0.33333333333333; send it as a string, "
    .. "or round it to 14 significant digits" },
  { 0.1 + 0.2, "0.30000000000000004 would be sent as 0.3;" },
  { 2 ^ 63, "9223372036854775808 would be sent as 9.2233720368548e+18; send it as a string" },
  { 2.2250738585072014e-308, "2.2250738585072014e-308 would be sent as 2.2250738585072e-308" },
}

-- The body's value at path (a list of keys) after decoding.
local function at(body, path)
  local v = body
  for _, k in ipairs(path) do v = v[k] end
  return v
end

-- v is accepted at path (dotted, for check.with) and the body decodes to v.
local function sends_exactly(c, op, base, path, v, id)
  local _, body = check.accepts(c, op, with(base, { [path] = v }), id)
  local keys = {}
  for part in path:gmatch("[^.]+") do keys[#keys + 1] = tonumber(part) or part end
  local got = at(body, keys)
  assert.are.equal(v, got, ("%s: sent %.17g for %.17g"):format(path, got, v))
  if v == 0 then
    assert.are.equal(1 / v, 1 / got, path .. ": the sign of zero changed")
  end
  return body
end

local function refuses(c, op, base, path, v, field, text, id)
  local problem, err = check.rejects(c, op, with(base, { [path] = v }), field, text, id)
  assert.are.equal("validation", err.kind)
  assert.truthy(problem.message:find(TOO_MANY_DIGITS, 1, true), problem.message)
  assert.truthy(err.message:find(field .. " " .. TOO_MANY_DIGITS, 1, true), err.message)
  return problem, err
end

describe("numbers in a request body", function()
  describe("vapi free-form values (assistantOverrides, squadOverrides)", function()
    it("are sent exactly when lua-cjson writes them exactly", function()
      for _, v in ipairs(EXACT) do
        sends_exactly(vapi, "create", VAPI, "assistantOverrides.variableValues.account", v)
        sends_exactly(vapi, "create", VAPI, "squadOverrides.variableValues.amount", v)
        sends_exactly(vapi, "create", VAPI, "customers.1.assistantOverrides.variableValues.account", v)
      end
      local body = sends_exactly(vapi, "create", VAPI, "assistantOverrides.variableValues.zero", NEG_ZERO)
      assert.truthy(cjson.encode(body):find('"zero":-0', 1, true))
    end)

    it("are refused with the field path when they would be rounded", function()
      for _, case in ipairs(ROUNDED) do
        local v, text = case[1], case[2]
        refuses(vapi, "create", VAPI, "assistantOverrides.variableValues.account", v,
          "assistantOverrides.variableValues.account", text)
        refuses(vapi, "create", VAPI, "squadOverrides.limits.amount", v,
          "squadOverrides.limits.amount", text)
        refuses(vapi, "create", VAPI, "customers.1.assistantOverrides.variableValues.account", v,
          "customers[1].assistantOverrides.variableValues.account", text)
      end
    end)

    it("are checked inside nested lists and objects", function()
      local good = { 1, { 0.1, { 99999999999999, { x = 1e300 } } }, -0.5 }
      local _, body = check.accepts(vapi, "create", with(VAPI, { ["assistantOverrides.variableValues.list"] = good }))
      assert.are.same(good, body.assistantOverrides.variableValues.list)
      assert.are.equal(99999999999999, body.assistantOverrides.variableValues.list[2][2][1])
      assert.are.equal(1e300, body.assistantOverrides.variableValues.list[2][2][2].x)

      local bad = { 1, { 0.1, { 123456789012345, { x = 1 / 3 } } } }
      local fields = with(VAPI, { ["assistantOverrides.variableValues.list"] = bad })
      local p1, err = check.rejects(vapi, "create", fields, "assistantOverrides.variableValues.list[2][2][1]",
        "123456789012345 would be sent as 1.2345678901234e+14")
      check.rejects(vapi, "create", fields, "assistantOverrides.variableValues.list[2][2][2].x",
        "0.3333333333333333 would be sent as 0.33333333333333")
      assert.are.equal(2, #err.errors)
      assert.truthy(p1.message:find(TOO_MANY_DIGITS, 1, true))
    end)

    it("are refused one problem each, up to the list's cap of 100", function()
      local many = {}
      for i = 1, 150 do many["n" .. i] = 123456789012345 + 10 * i end
      local fields = with(VAPI, { ["assistantOverrides.variableValues"] = many })
      local _, err = vapi:prepare("create", fields)
      assert.are.equal("validation", err.kind)
      assert.are.equal(100, #err.errors)
      for _, p in ipairs(err.errors) do
        assert.truthy(p.field:find("^assistantOverrides%.variableValues%.n%d+$"), p.field)
        assert.truthy(p.message:find(TOO_MANY_DIGITS, 1, true), p.message)
      end
      -- The core lists 100 and counts the rest in a last entry.
      local ok, problems = core.encode("vapi.create", fields, false, cjson.encode)
      assert.is_false(ok)
      assert.are.equal(101, #problems)
      assert.are.same({ field = "", message = "and 50 more problems" }, problems[101])
    end)

    it("still refuses NaN and infinities", function()
      for _, case in ipairs { { 0 / 0, "NaN" }, { 1 / 0, "infinity" }, { -1 / 0, "infinity" } } do
        check.rejects(vapi, "create", with(VAPI, { ["assistantOverrides.x"] = case[1] }),
          "assistantOverrides.x", "must be a finite number (got " .. case[2] .. ")")
      end
    end)
  end)

  describe("vapi numeric fields", function()
    local SERVER = with(VAPI, { server = { url = "https://example.com/hook", timeoutSeconds = 20,
      backoffPlan = { type = "fixed", maxRetries = 2, baseDelaySeconds = 1 } } })

    it("send fractions that lua-cjson writes exactly", function()
      for _, v in ipairs { 1, 20.5, 1.25, 299.99999999999, 300 } do
        sends_exactly(vapi, "create", SERVER, "server.timeoutSeconds", v)
      end
      for _, v in ipairs { 0, 0.1, 2.5, 9.87654321 } do
        sends_exactly(vapi, "create", SERVER, "server.backoffPlan.baseDelaySeconds", v)
      end
      sends_exactly(vapi, "create", VAPI, "maxConcurrency", 99999999999999)
    end)

    it("refuse fractions that would be rounded, and say to round them", function()
      local p = refuses(vapi, "create", SERVER, "server.timeoutSeconds", 61 / 3, "server.timeoutSeconds",
        "20.333333333333332 would be sent as 20.333333333333; round it to 14 significant digits")
      assert.is_nil(p.message:find("string", 1, true), p.message)
      refuses(vapi, "create", SERVER, "server.backoffPlan.baseDelaySeconds", 2 / 3,
        "server.backoffPlan.baseDelaySeconds", "0.6666666666666666 would be sent as 0.66666666666667")
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
      sends_exactly(c, "create", SMALLEST, "retryDelay", 1440)
      sends_exactly(c, "create", SMALLEST, "maxRetries", 10)
      check.rejects(c, "create", with(SMALLEST, { retryDelay = 30 + 2 ^ -48 }), "retryDelay",
        "must be an integer (got 30.000000000000004)")
    end)

    it("checks fields let through by passthrough", function()
      local p = client("smallest", { passthrough = true })
      for _, v in ipairs(EXACT) do sends_exactly(p, "create", SMALLEST, "newSmallestField", v) end
      for _, case in ipairs(ROUNDED) do
        refuses(p, "create", SMALLEST, "newSmallestField", case[1], "newSmallestField", case[2])
      end
      refuses(p, "create", SMALLEST, "extra.deep.1", 123456789012345, "extra.deep[1]",
        "123456789012345 would be sent as 1.2345678901234e+14")
    end)
  end)

  describe("autocalls", function()
    local c = client("autocalls")
    it("sends ids below 10^14 exactly and refuses larger ones", function()
      sends_exactly(c, "create", AUTOCALLS, "assistant_id", 99999999999999)
      sends_exactly(c, "create", AUTOCALLS, "phone_number_ids.1", 99999999999998)
      check.rejects(c, "create", with(AUTOCALLS, { assistant_id = 123456789012345 }), "assistant_id",
        "integers must be below 10^14 (got 123456789012345)")
      check.rejects(c, "create", with(AUTOCALLS, { phone_number_ids = { 1, 2 ^ 53 } }), "phone_number_ids[2]",
        "integers must be below 10^14 (got 9007199254740992)")
    end)

    it("checks fields let through by passthrough", function()
      local p = client("autocalls", { passthrough = true })
      sends_exactly(p, "create", AUTOCALLS, "custom.rate", 0.1)
      refuses(p, "create", AUTOCALLS, "custom.rate", 1 / 3, "custom.rate",
        "0.3333333333333333 would be sent as 0.33333333333333")
    end)
  end)

  describe("atlas", function()
    local c = client("atlas")
    it("sends DailyCallLimit exactly", function()
      sends_exactly(c, "create", ATLAS, "DailyCallLimit", 99999999999999)
      check.rejects(c, "create", with(ATLAS, { DailyCallLimit = 1e15 }), "DailyCallLimit",
        "integers must be below 10^14 (got 1000000000000000)")
    end)

    it("checks the free-form agent body", function()
      for _, v in ipairs(EXACT) do
        sends_exactly(c, "attach_agent", {}, "settings.temperature", v, "camp-1")
      end
      for _, case in ipairs(ROUNDED) do
        refuses(c, "attach_agent", {}, "settings.temperature", case[1], "settings.temperature", case[2],
          "camp-1")
      end
      refuses(c, "attach_agent", { ids = { 1 } }, "ids.2", 123456789012345, "ids[2]",
        "123456789012345 would be sent as", "camp-1")
    end)

    it("checks fields let through by passthrough", function()
      local p = client("atlas", { passthrough = true })
      sends_exactly(p, "create", ATLAS, "NewAtlasField", 0.1)
      refuses(p, "create", ATLAS, "NewAtlasField", 123456789012345, "NewAtlasField",
        "123456789012345 would be sent as 1.2345678901234e+14")
    end)
  end)

  describe("the rule", function()
    -- Accepted exactly when lua-cjson's own text reads back to the value:
    -- short decimals, long ones, integers and powers of ten of every size.
    it("agrees with lua-cjson's round trip", function()
      local function sent(v) return cjson.decode(cjson.encode({ v }))[1] end
      local checked, wrong = 0, {}
      local function try(v)
        checked = checked + 1
        local exact = sent(v) == v
        if (core.encode("atlas.agent", { x = v }, false, cjson.encode) ~= false) ~= exact
          and #wrong < 5 then
          wrong[#wrong + 1] = ("%.17g (sent as %.17g)"):format(v, sent(v))
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
        try(m / 10 ^ k); try(-m / 10 ^ k); try(math.random() * 10 ^ math.random(-12, 22))
      end
      assert.are.same({}, wrong)
      assert.is_true(checked > 20000)
    end)
  end)

  describe("integers beyond a double's 53 bits", function()
    if math.type then
      -- Lua 5.3+: integers are converted to doubles by lua-cjson; the ones
      -- that change on the way, or whose double is written rounded, are refused.
      it("refuses Lua integers that would lose digits", function()
        local cases = {
          { math.maxinteger, "9223372036854775807 would be sent as 9.2233720368548e+18" },
          { math.mininteger, "-9223372036854775808 would be sent as -9.2233720368548e+18" },
          { math.tointeger(2 ^ 53) + 1, "9007199254740993 would be sent as 9.007199254741e+15" },
          { math.tointeger(2 ^ 53), "9007199254740992 would be sent as 9.007199254741e+15" },
          { math.tointeger(10 ^ 17) + 1, "100000000000000001 would be sent as 1e+17" },
          { 123456789012345, "123456789012345 would be sent as 1.2345678901234e+14" },
        }
        for _, case in ipairs(cases) do
          assert.are.equal("integer", math.type(case[1]))
          refuses(vapi, "create", VAPI, "assistantOverrides.n", case[1], "assistantOverrides.n",
            case[2] .. "; send it as a string")
        end
      end)

      it("sends Lua integers that survive the trip exactly", function()
        for _, v in ipairs { 0, 1, -1, 99999999999999, -99999999999999, math.tointeger(1e14),
          math.tointeger(10 ^ 17), math.tointeger(10 ^ 18), math.tointeger(1.23e17) } do
          assert.are.equal("integer", math.type(v))
          sends_exactly(vapi, "create", VAPI, "assistantOverrides.n", v)
        end
      end)
    else
      -- Lua 5.1 / LuaJIT: every number is a double; the same values as doubles.
      it("refuses doubles that would lose digits", function()
        local cases = {
          { 2 ^ 63, "9223372036854775808 would be sent as 9.2233720368548e+18" },
          { -2 ^ 63, "-9223372036854775808 would be sent as -9.2233720368548e+18" },
          { 2 ^ 53, "9007199254740992 would be sent as 9.007199254741e+15" },
          { 123456789012345, "123456789012345 would be sent as 1.2345678901234e+14" },
        }
        for _, case in ipairs(cases) do
          refuses(vapi, "create", VAPI, "assistantOverrides.n", case[1], "assistantOverrides.n",
            case[2] .. "; send it as a string")
        end
      end)

      it("sends integral doubles that survive the trip exactly", function()
        for _, v in ipairs { 0, 1, -1, 99999999999999, -99999999999999, 1e14, 1e17, 1e18, 1.23e17 } do
          sends_exactly(vapi, "create", VAPI, "assistantOverrides.n", v)
        end
      end)
    end
  end)
end)

describe("numbers in a query string", function()
  -- The client writes query values itself, exactly: the rule for JSON
  -- bodies (core.encode) does not apply to core.validate, which checks queries.
  it("are not refused for lua-cjson's 14 digits", function()
    for _, v in ipairs { 123456789012345, 1 / 3, 2 ^ 53 } do
      assert.is_true(core.validate("vapi.list", { x = v }, true))
      assert.is_true(core.validate("smallest.list", { x = v }, true))
    end
    local body = with(VAPI, { assistantOverrides = { x = 1 / 3 } })
    assert.is_true(core.validate("vapi.create", body))
    assert.is_false(core.encode("vapi.create", body, false, cjson.encode))
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

  it("refuses a number that would be rounded, naming the field", function()
    local code, out = dry_run(HEAD .. '"assistantOverrides":{"variableValues":{"account":123456789012345}}}')
    assert.are.equal(2, code, out)
    local err = cjson.decode(out).error
    assert.are.equal("validation", err.kind)
    assert.are.equal("assistantOverrides.variableValues.account", err.errors[1].field)
    assert.truthy(err.errors[1].message:find(TOO_MANY_DIGITS, 1, true), out)
  end)

  it("sends one written exactly", function()
    local code, out = dry_run(HEAD .. '"assistantOverrides":{"variableValues":{"account":12345678901234,"rate":0.1}}}')
    assert.are.equal(0, code, out)
    local vars = cjson.decode(out).body.assistantOverrides.variableValues
    assert.are.equal(12345678901234, vars.account)
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
