-- Atlas bodies go straight through the C walk when they hold nothing that
-- campaign.atlas rewrites or checks (a shorthand, a Lua value for a text
-- field, a JSON text not found good before): core.encode, given the texts
-- found good, hands any other body back (nil), and Client:prepare runs the
-- Lua step then. Whichever way a body goes, it is the same body.
local campaign = require "campaign"
local core = require "campaign.core"
local providers = require "campaign.providers"
local cjson = require "cjson"

local WINDOWS = '[{"startHour":8,"startMinute":0,"endHour":20,"endMinute":0}]'

local function fields(extra)
  local t = { name = "Fast", campaignType = "1", CallType = "2",
    TemplateId = "6be44833-9133-4639-b6c9-425aee057c1c" }
  for k, v in pairs(extra or {}) do t[k] = v end
  return t
end

describe("core.encode with the texts found good (known)", function()
  local schema = core.schema("atlas.campaign")

  it("writes a body that needs nothing of the Lua step", function()
    local body = core.encode(schema, fields(), false, {})
    assert.are.equal('{"name":"Fast","campaignType":"1","TemplateId":'
      .. '"6be44833-9133-4639-b6c9-425aee057c1c","CallType":"2"}', body)
  end)

  it("hands back a name the schema does not know (a shorthand)", function()
    assert.is_nil(core.encode(schema, fields { channel = "outbound" }, false, {}))
    assert.is_nil(core.encode(schema, fields { language = "en-US" }, true, {}))
    -- Without known, the walk reports it as any unknown name.
    local ok, problems = core.encode(schema, fields { channel = "outbound" }, false)
    assert.is_false(ok)
    assert.are.equal("channel", problems[1].field)
  end)

  it("hands back a Lua value for a text field", function()
    assert.is_nil(core.encode(schema, fields { campaignType = 1 }, false, {}))
    assert.is_nil(core.encode(schema, fields { ToolIds = { "a", "b" } }, false, {}))
    assert.is_nil(core.encode(schema, fields { TimeWindows = { { start = "09:00", stop = "17:00" } } },
      false, {}))
    assert.is_nil(core.encode(schema, fields { IdleMessages = {} }, false, {}))
  end)

  it("hands back a JSON text that was not found good, for the check it needs", function()
    assert.is_nil(core.encode(schema, fields { TimeWindows = WINDOWS }, false, {}))
    -- Good as JSON is not good as windows.
    assert.is_nil(core.encode(schema, fields { TimeWindows = WINDOWS }, false, { [WINDOWS] = 4 }))
    assert.is_nil(core.encode(schema, fields { RedialSettings = "{}" }, false, { ["{}"] = 2 }))
    local body = core.encode(schema, fields { TimeWindows = WINDOWS }, false, { [WINDOWS] = 2 })
    assert.are.same(WINDOWS, cjson.decode(body).TimeWindows)
    body = core.encode(schema, fields { RedialSettings = "{}" }, false, { ["{}"] = 6 })
    assert.are.equal("{}", cjson.decode(body).RedialSettings)
  end)

  it("takes a ToolIds string and an open object's names as they are", function()
    assert.is_string(core.encode(schema, fields { ToolIds = "a,b" }, false, {}))
    assert.are.equal('{"anything":1}', core.encode(core.schema("atlas.agent"), { anything = 1 },
      false, {}))
  end)
end)

describe("Client:prepare for Atlas", function()
  local c = campaign.client { provider = "atlas", api_key = "atlas-test-key" }
  local known = providers.atlas.known_texts

  it("remembers a windows text once it was checked, and then sends it straight", function()
    local text = '[{"startHour":9,"startMinute":15,"endHour":11,"endMinute":0}]'
    assert.is_nil(known[text])
    local first = assert(c:prepare("create", fields { TimeWindows = text }))
    assert.are.equal(2, known[text])
    local second = assert(c:prepare("create", fields { TimeWindows = text }))
    assert.are.equal(first.body, second.body)
  end)

  it("never remembers a bad text, and reports it every time", function()
    local bad = '[{"startHour":20,"startMinute":0,"endHour":8,"endMinute":0}]'
    for _ = 1, 2 do
      local req, err = c:prepare("create", fields { TimeWindows = bad })
      assert.is_nil(req)
      assert.are.equal("validation", err.kind)
      assert.are.equal("TimeWindows", err.errors[1].field:sub(1, 11))
    end
    assert.is_nil(known[bad])
  end)

  it("still turns the shorthands into Atlas's fields", function()
    local req = assert(c:prepare("create", { name = "S", channel = "outbound", language = "en-US",
      TimeWindows = "09:00-17:00", ToolIds = { "t1", "t2" }, campaignType = 1 }))
    local body = cjson.decode(req.body)
    assert.are.equal("1", body.campaignType)
    assert.are.equal("2", body.CallType)
    assert.are.equal("t1,t2", body.ToolIds)
    assert.is_nil(body.channel)
    assert.truthy(body.TimeWindows:find('"startHour":9', 1, true))
  end)

  it("writes the same bytes whether the walk went straight or through the Lua step", function()
    local text = '[{"startHour":7,"startMinute":0,"endHour":9,"endMinute":30}]'
    local through = assert(c:prepare("create", fields { TimeWindows = text, IdleMessages = "[]" }))
    local straight = assert(c:prepare("create", fields { TimeWindows = text, IdleMessages = "[]" }))
    assert.are.equal(through.body, straight.body)
  end)

  it("keeps the remembered texts bounded", function()
    for i = 1, 600 do
      assert(c:prepare("create", fields { RedialSettings = ('{"n":%d}'):format(i) }))
    end
    local n = 0
    for _ in pairs(known) do n = n + 1 end
    assert.is_true(n <= 512, "known texts: " .. n)
  end)
end)
