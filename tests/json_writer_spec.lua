-- The JSON of request bodies, as the walk that checks them writes it:
-- strings escaped per RFC 8259 and nothing else, known fields in the
-- provider's documented order and other names in byte order (the same bytes
-- in every process), lists that stay lists (campaign.array for an empty
-- free-form one), and the command-line tool's [] kept. Numbers are in
-- numbers_spec.lua. No network: prepare and core.json only.
local campaign = require "campaign"
local cjson = require "cjson"
local check = require "helpers.check"
local proc = require "helpers.proc"
local core = require "campaign.core"

local with = check.with
local KEY = "a-test-key-12345678"
local vapi = campaign.client { provider = "vapi", api_key = KEY }
local VAPI = {
  name = "Writer", assistantId = "a", phoneNumberId = "p",
  customers = { { number = "+14155550101" } },
}

local function body_of(c, op, fields, id)
  local req, err = c:prepare(op, fields, id)
  assert(req, tostring(err))
  return req.body
end

describe("strings in a request body", function()
  local ESCAPES = { [8] = "\\b", [9] = "\\t", [10] = "\\n", [12] = "\\f", [13] = "\\r" }

  it("escape every control character, '\"' and '\\', and nothing else", function()
    for byte = 1, 0x1f do
      local want = ESCAPES[byte] or ("\\u%04x"):format(byte)
      assert.are.equal('"a' .. want .. 'b"', core.json("a" .. string.char(byte) .. "b"))
    end
    assert.are.equal([["say \"hi\" \\ bye"]], core.json('say "hi" \\ bye'))
    -- "/" is not escaped (lua-cjson wrote America\/New_York), nor DEL, nor UTF-8.
    assert.are.equal('"America/New_York"', core.json("America/New_York"))
    assert.are.equal('"\127"', core.json("\127"))
    local utf8_text = "caf\195\169 \226\130\172 \240\159\152\128"
    assert.are.equal('"' .. utf8_text .. '"', core.json(utf8_text))
  end)

  it("are escaped in values and names at any depth, and decode to what was given", function()
    local text = "line 1\nline 2\t\"quoted\"\\ \1\31/\127 \226\130\172"
    for _, long in ipairs { false, true } do
      local s = long and (text .. string.rep("x", 200) .. text) or text
      local fields = with(VAPI, { ["assistantOverrides.variableValues.note"] = s,
        ["customers.1.name"] = "A\tB" })
      fields.assistantOverrides.variableValues[s] = s
      local body = body_of(vapi, "create", fields)
      assert.is_nil(body:find("[%z\1-\31]"), "a raw control character in " .. body)
      local decoded = cjson.decode(body)
      assert.are.equal(s, decoded.assistantOverrides.variableValues.note)
      assert.are.equal(s, decoded.assistantOverrides.variableValues[s])
      assert.are.equal("A\tB", decoded.customers[1].name)
      assert.are.same(decoded, require("dkjson").decode(body, 1, cjson.null))
    end
  end)

  it("stay refused with the field path when they are not UTF-8 or hold a NUL byte", function()
    check.rejects(vapi, "create", with(VAPI, { ["assistantOverrides.x"] = "\255" }),
      "assistantOverrides.x", "is not valid UTF-8")
    check.rejects(vapi, "create", with(VAPI, { ["assistantOverrides.x"] = "a\0b" }),
      "assistantOverrides.x", "contains a NUL byte")
    check.rejects(vapi, "create", with(VAPI, { ["assistantOverrides.x\255"] = 1 }),
      "assistantOverrides.x\255", "is not valid UTF-8")
    local ok, problems = core.json({ list = { "fine", "\192\128" } })
    assert.is_false(ok)
    assert.are.same({ { field = "list[2]", message = "is not valid UTF-8" } }, problems)
  end)
end)

describe("the order of names in a request body", function()
  it("is the provider's documented order for known fields, then byte order", function()
    local fields = {
      customers = { { name = "Ada", number = "+14155550101" } },
      phoneNumberId = "p", assistantId = "a", name = "Order",
      schedulePlan = { latestAt = "2026-12-01T10:00:00Z", earliestAt = "2026-12-01T09:00:00Z" },
      assistantOverrides = { b = 1, B = 2, a = { z = true, aa = false, a = 0 }, ["\195\169"] = 3 },
    }
    assert.are.equal('{"name":"Order","assistantId":"a","phoneNumberId":"p",'
      .. '"schedulePlan":{"earliestAt":"2026-12-01T09:00:00Z","latestAt":"2026-12-01T10:00:00Z"},'
      .. '"customers":[{"number":"+14155550101","name":"Ada"}],'
      .. '"assistantOverrides":{"B":2,"a":{"a":0,"aa":false,"z":true},"b":1,"\195\169":3}}',
      body_of(vapi, "create", fields))
  end)

  it("is as the README's example of prepare shows", function()
    local req = campaign.assert(vapi:prepare("create", {
      customers = { { name = "Ada", number = "+14155550101" } },
      phoneNumberId = "p-1", name = "Spring", assistantId = "a-1",
      assistantOverrides = { variableValues = { tier = "gold", account = 123456789012345,
        rate = 0.1, tags = campaign.array() } },
    }))
    assert.are.equal('{"name":"Spring","assistantId":"a-1","phoneNumberId":"p-1",'
      .. '"customers":[{"number":"+14155550101","name":"Ada"}],"assistantOverrides":{"variableValues":'
      .. '{"account":123456789012345,"rate":0.1,"tags":[],"tier":"gold"}}}', req.body)
  end)

  it("puts names let through by passthrough after the known ones, sorted", function()
    local p = campaign.client { provider = "smallest", api_key = KEY, passthrough = true }
    local body = body_of(p, "create", { zeta = 1, agentId = "60d0fe4f5311236168a109ca", Alpha = 2,
      name = "n", audienceId = "60d0fe4f5311236168a109cb", alpha = { y = 1, x = 2 } })
    assert.are.equal('{"name":"n","audienceId":"60d0fe4f5311236168a109cb",'
      .. '"agentId":"60d0fe4f5311236168a109ca","Alpha":2,"alpha":{"x":2,"y":1},"zeta":1}', body)
  end)

  it("does not depend on how the tables were built", function()
    local names = {}
    for i = 1, 60 do names[i] = ("k%02d"):format(i) end
    local function build(order)
      local vars = {}
      for _, i in ipairs(order) do vars[names[i]] = i end
      return with(VAPI, { ["assistantOverrides.variableValues"] = vars })
    end
    local forward, backward = {}, {}
    for i = 1, 60 do forward[i] = i; backward[i] = 61 - i end
    assert.are.equal(body_of(vapi, "create", build(forward)), body_of(vapi, "create", build(backward)))
  end)

  it("gives the same bytes in every process", function()
    local script = [[
      local campaign = require "campaign"
      local c = campaign.client { provider = "vapi", api_key = "a-test-key-12345678" }
      local vars = {}
      for i = 1, 200 do vars["name" .. i] = i end
      io.write(assert(c:prepare("create", { name = "x", assistantId = "a", phoneNumberId = "p",
        customers = { { number = "+14155550101", name = "n" } },
        assistantOverrides = { variableValues = vars } })).body)
    ]]
    local dir = proc.tmpdir()
    local path = dir .. "/order.lua"
    proc.write_file(path, script)
    local env = "LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='" .. (package.cpath:match("([^;]*build[^;]*)") or "")
      .. ";;'"
    local bodies = {}
    for i = 1, 4 do
      local code, out = proc.sh("cd " .. proc.shquote(proc.ROOT) .. " && " .. env .. " " .. proc.LUA .. " "
        .. proc.shquote(path))
      assert.are.equal(0, code, out)
      bodies[i] = out
    end
    os.execute("rm -rf " .. proc.shquote(dir))
    assert.truthy(bodies[1]:find('"name1":1,"name10":10,"name100":100,"name101":101', 1, true), bodies[1])
    for i = 2, 4 do assert.are.equal(bodies[1], bodies[i]) end
  end)
end)

describe("lists in a request body", function()
  it("are [...] for a field the schema says is a list", function()
    local a = campaign.client { provider = "autocalls", api_key = KEY }
    local body = body_of(a, "create", { name = "n", assistant_id = 1, allowed_days = { "monday" },
      phone_number_ids = { 1, 2 } })
    assert.truthy(body:find('"allowed_days":["monday"]', 1, true), body)
    assert.truthy(body:find('"phone_number_ids":[1,2]', 1, true), body)
  end)

  it("are lists in free-form values when their keys are 1..n; an empty table is {}", function()
    assert.are.equal('{"a":[1,[2,3],{}],"b":{}}', core.json({ a = { 1, { 2, 3 }, {} }, b = {} }))
    local body = body_of(vapi, "create", with(VAPI, { ["assistantOverrides.variableValues"] =
      { tags = { "x", "y" }, none = {} } }))
    assert.truthy(body:find('"variableValues":{"none":{},"tags":["x","y"]}', 1, true), body)
  end)

  it("keep refusing tables that mix items and names, or have holes", function()
    check.rejects(vapi, "create", with(VAPI, { ["assistantOverrides.x"] = { 1, a = 2 } }),
      "assistantOverrides.x", "mixes list items and named keys")
    check.rejects(vapi, "create", with(VAPI, { ["assistantOverrides.x"] = { 1, nil, 3 } }),
      "assistantOverrides.x", "is a list with holes")
  end)
end)

describe("campaign.array", function()
  it("marks a table as a JSON array: an empty one is sent as []", function()
    local t = {}
    assert.are.equal(t, campaign.array(t))
    assert.are.equal("[]", core.json(t))
    assert.are.equal("[]", core.json(campaign.array()))
    assert.are.equal('[1,2]', core.json(campaign.array { 1, 2 }))
    assert.are.equal(campaign.array(t), campaign.array(t))   -- marking twice is fine
    local fields = with(VAPI)   -- a copy (check.with drops metatables): marked after
    fields.assistantOverrides = { variableValues = { tags = campaign.array(), none = {} } }
    local body = body_of(vapi, "create", fields)
    assert.truthy(body:find('"variableValues":{"none":{},"tags":[]}', 1, true), body)
    -- Any metatable with __jsontype = "array" (read raw) is the same mark: dkjson's lists.
    assert.are.equal("[]", core.json(setmetatable({}, { __jsontype = "array" })))
    assert.are.equal("[]", core.json(require("dkjson").decode("[]")))
    assert.are.equal("{}", core.json(setmetatable({}, { __index = { __jsontype = "array" } })))
  end)

  it("is refused where the schema says object: an empty list would be sent as {}", function()
    local message = "must be a table of named fields (got an empty list, marked by campaign.array)"
    local ok, problems = core.validate("vapi.list", campaign.array())
    assert.is_false(ok)
    assert.are.same({ { field = "", message = message } }, problems)
    assert.is_false((core.encode("vapi.list", campaign.array())))
    local fields = {}
    for k, v in pairs(VAPI) do fields[k] = v end
    fields.schedulePlan = campaign.array()
    local req, err = vapi:prepare("create", fields)
    assert.is_nil(req)
    assert.are.same({ { field = "schedulePlan", message = message } }, err.errors)
    -- Unmarked, an empty table is an empty object there, as before.
    assert.are.equal("{}", core.encode("vapi.list", {}))
  end)

  it("refuses what it cannot mark", function()
    assert.has_error(function() campaign.array("x") end, "campaign.array: expected a table (got string)")
    assert.has_error(function() campaign.array(setmetatable({}, {})) end)
  end)
end)

describe("the command-line tool's JSON input", function()
  local dir
  setup(function() dir = proc.tmpdir() end)
  teardown(function() if dir then os.execute("rm -rf " .. proc.shquote(dir)) end end)

  it("keeps [] as [] and {} as {}", function()
    local path = dir .. "/c.json"
    proc.write_file(path, '{"name":"n","assistantId":"a","phoneNumberId":"p",'
      .. '"customers":[{"number":"+14155550101"}],'
      .. '"assistantOverrides":{"variableValues":{"tags":[ ],"none":{},"deep":[[],{"x":[]}],"n":null}}}')
    local code, out = proc.sh("cd " .. proc.shquote(proc.ROOT) .. " && env -u VAPI_API_KEY -u CAMPAIGN_LUA "
      .. proc.LUA .. " bin/campaign create --provider vapi --dry-run " .. proc.shquote(path) .. " 2>&1")
    assert.are.equal(0, code, out)
    assert.truthy(out:find('"variableValues":{"deep":[[],{"x":[]}],"n":null,"none":{},"tags":[]}', 1, true), out)
  end)

  it("--dry-run prints the body byte for byte as the library writes it", function()
    local fields = { name = "n", assistantId = "a", phoneNumberId = "p",
      customers = { { number = "+14155550101", name = "A" } }, maxConcurrency = 3,
      schedulePlan = { earliestAt = "2026-12-01T09:00:00Z" } }
    local path = dir .. "/order.json"
    proc.write_file(path, cjson.encode(fields))
    local c = campaign.client { provider = "vapi", api_key = "vapi-test-key-123" }
    local body = assert(c:prepare("create", fields)).body
    local code, out = proc.sh("cd " .. proc.shquote(proc.ROOT) .. " && env -u CAMPAIGN_LUA "
      .. "VAPI_API_KEY=vapi-test-key-123 " .. proc.LUA .. " bin/campaign create --provider vapi "
      .. "--dry-run " .. proc.shquote(path) .. " 2>&1")
    assert.are.equal(0, code, out)
    assert.truthy(out:find('"body":' .. body, 1, true), out .. "\nexpected " .. body)
    -- The schema's order, not the byte order of names.
    assert.truthy(body:find('^{"name":"n","assistantId":"a"'), body)
  end)
end)
