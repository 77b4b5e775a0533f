-- Every rule of Atlas's "Create campaign" and "Update full campaign" (seeds
-- 000 and 001, the provider notes): a good value is accepted, a bad one is
-- rejected with the field named and the expected message. Also the
-- shorthands of campaign.atlas and the agent calls. No network: prepare, or
-- a transport that records the request.
local campaign = require "campaign"
local cjson = require "cjson"
local check = require "helpers.check"
local core = require "campaign.core"

local with, NIL = check.with, check.NIL

local c = campaign.client { provider = "atlas", api_key = "atlas-test-key" }

local OUTBOUND_ID = "6be44833-9133-4639-b6c9-425aee057c1c"

local OUTBOUND = {
  name = "Spring Outreach",
  campaignType = "1",
  CallType = "2",
  TemplateId = OUTBOUND_ID,
}
local INBOUND = with(OUTBOUND, { CallType = "1" })
local WEB = with(OUTBOUND, { campaignType = "0", CallType = NIL, Position = "bottom-right" })
local MESSAGES = with(OUTBOUND, { campaignType = "0", CallType = NIL, MessagesCampaign = true })
local CHANNELS = { outbound = OUTBOUND, inbound = INBOUND, web = WEB, messages = MESSAGES }
local CHANNEL_TEXT = {
  outbound = 'an outbound phone campaign (campaignType "1", CallType "2")',
  inbound = 'an inbound phone campaign (campaignType "1", CallType "1")',
  web = 'a voice bubble (campaignType "0" without MessagesCampaign)',
  messages = 'a Messages campaign (campaignType "0", MessagesCampaign true)',
}

local function ok(changes, base) return check.accepts(c, "create", with(base or OUTBOUND, changes)) end
local function bad(changes, field, text, base)
  return check.rejects(c, "create", with(base or OUTBOUND, changes), field, text)
end

-- The four request examples printed on the Create campaign page, verbatim.
local SEED_EXAMPLES = {
  outbound = [[{
    "name": "My Outbound Campaign",
    "campaignType": "1",
    "CallType": "2",
    "CompanyName": "Acme Inc",
    "BusinessName": "Acme",
    "TemplateId": "6be44833-9133-4639-b6c9-425aee057c1c",
    "FirstMessage": "Hi, this is...",
    "ScriptBase": "...",
    "ScriptNotes": "...",
    "Timezone": "America/New_York",
    "TimezoneFriendlyName": "Eastern Time",
    "StartDate": "2026-05-14",
    "TimeWindows": "[{\"startHour\":8,\"startMinute\":0,\"endHour\":20,\"endMinute\":0}]",
    "FeatureRescheduleCallEnabled": false,
    "FeatureEnrichmentInfoEnabled": false,
    "FeatureAppendPreviousSummaryEnabled": false
  }]],
  inbound = [[{
    "name": "My Inbound Campaign",
    "campaignType": "1",
    "CallType": "1",
    "CompanyName": "Acme Inc",
    "BusinessName": "Acme",
    "TemplateId": "6be44833-9133-4639-b6c9-425aee057c1c",
    "FirstMessage": "Thanks for calling Acme...",
    "ScriptBase": "...",
    "ScriptNotes": "...",
    "Timezone": "America/New_York",
    "TimezoneFriendlyName": "Eastern Time",
    "FeatureEnrichmentInfoEnabled": false,
    "FeatureAppendPreviousSummaryEnabled": true
  }]],
  web = [[{
    "name": "My Voice Bubble",
    "campaignType": "0",
    "CompanyName": "Acme Inc",
    "BusinessName": "Acme",
    "Position": "bottom-right",
    "TemplateId": "6be44833-9133-4639-b6c9-425aee057c1c",
    "FirstMessage": "Hi! How can I help?",
    "ScriptBase": "...",
    "ScriptNotes": "...",
    "Timezone": "America/New_York",
    "TimezoneFriendlyName": "Eastern Time",
    "FeatureEnrichmentInfoEnabled": false
  }]],
  messages = [[{
    "name": "My Messages Campaign",
    "campaignType": "0",
    "MessagesCampaign": true,
    "CompanyName": "Acme Inc",
    "BusinessName": "Acme",
    "TemplateId": "6be44833-9133-4639-b6c9-425aee057c1c",
    "FirstMessage": "Hey, this is Acme...",
    "ScriptBase": "...",
    "ScriptNotes": "...",
    "Timezone": "America/New_York",
    "TimezoneFriendlyName": "Eastern Time",
    "FeatureEnrichmentInfoEnabled": false
  }]],
}

describe("atlas create", function()
  it("accepts the minimal outbound campaign and sends it unchanged", function()
    local req, body = ok()
    assert.are.equal("POST", req.method)
    assert.are.equal("https://api.youratlas.com/v1/api/campaign", req.url)
    assert.are.same(OUTBOUND, body)
    assert.are.equal("application/json", req.headers["Content-Type"])
    assert.are.equal("atlas-test-key", req.headers["api-key"])
    assert.is_nil(req.headers.Authorization)
  end)

  it("never shows the key when the request is printed", function()
    local req = ok()
    local text = tostring(req)
    assert.is_nil(text:find("atlas-test-key", 1, true))
    assert.truthy(text:find("api-key: [REDACTED]", 1, true))
  end)

  describe("the four examples of the Create campaign page", function()
    for _, channel in ipairs({ "outbound", "inbound", "web", "messages" }) do
      it("accepts the " .. channel .. " example and sends the same fields (create and update)", function()
        local fields = cjson.decode(SEED_EXAMPLES[channel])
        local _, body = check.accepts(c, "create", fields)
        assert.are.same(fields, body)
        local req, ubody = check.accepts(c, "update", fields, "camp-1")
        assert.are.same(fields, ubody)
        assert.are.equal("PUT", req.method)
      end)
    end
    it("sends the example's TimeWindows text exactly as written", function()
      local fields = cjson.decode(SEED_EXAMPLES.outbound)
      local _, body = check.accepts(c, "create", fields)
      assert.are.equal('[{"startHour":8,"startMinute":0,"endHour":20,"endMinute":0}]', body.TimeWindows)
    end)
  end)

  describe("required fields", function()
    it("requires name", function() bad({ name = NIL }, "name", "is required") end)
    it("requires a non-empty string name", function()
      bad({ name = "" }, "name", "must not be empty")
      bad({ name = 7 }, "name", "must be a string (got number)")
    end)
    it("requires campaignType", function() bad({ campaignType = NIL }, "campaignType", "is required") end)
    it("requires TemplateId", function() bad({ TemplateId = NIL }, "TemplateId", "is required") end)
    it("reports every missing field at once", function()
      local _, err = c:prepare("create", {})
      local fields = {}
      for _, p in ipairs(err.errors) do fields[p.field] = true end
      assert.is_true(fields.name and fields.campaignType and fields.TemplateId)
    end)
  end)

  describe("campaignType", function()
    it('takes "1" and "0" as strings', function()
      ok({})
      ok({}, WEB)
    end)
    it("rejects other values", function()
      bad({ campaignType = "2" }, "campaignType", 'must be one of "0", "1" (got "2")')
      bad({ campaignType = "phone" }, "campaignType", 'must be one of "0", "1"')
      bad({ campaignType = true }, "campaignType", "must be a string (got boolean)")
    end)
    it("converts the Lua numbers 1 and 0 to the strings Atlas takes", function()
      local _, body = ok({ campaignType = 1 })
      assert.are.equal("1", body.campaignType)
      _, body = ok({ campaignType = 0 }, WEB)
      assert.are.equal("0", body.campaignType)
    end)
    it("rejects other numbers", function()
      bad({ campaignType = 2 }, "campaignType", 'must be "1" (phone) or "0" (voice bubble, messages) (got 2)')
      bad({ campaignType = 1.5 }, "campaignType", "(got 1.5)")
    end)
  end)

  describe("TemplateId", function()
    it("takes any catalog id on any channel, as the page's own examples do", function()
      ok({}, WEB)
      ok({}, MESSAGES)
      ok({}, INBOUND)
      ok({ TemplateId = "572cea7c-851b-430d-ad34-2df87cf78745" }) -- the web scratch template
    end)
    it("takes a UUID that is not in the catalog, in either case", function()
      ok({ TemplateId = "00000000-1111-4222-8333-444444444444" })
      ok({ TemplateId = OUTBOUND_ID:upper() })
    end)
    it("rejects what is not a UUID", function()
      bad({ TemplateId = "6be44833" }, "TemplateId", "must be a template id, a UUID such as")
      bad({ TemplateId = "" }, "TemplateId", "must be a template id")
      bad({ TemplateId = "6be44833-9133-4639-b6c9-425aee057c1g" }, "TemplateId", "must be a template id")
      bad({ TemplateId = "Outbound - Create from scratch" }, "TemplateId", "give language and template instead")
      bad({ TemplateId = 42 }, "TemplateId", "must be a string (got number)")
    end)
  end)

  describe("the channel matrix", function()
    it("accepts each channel as the table on the page sets it", function()
      for _, base in pairs(CHANNELS) do ok({}, base) end
    end)

    describe("CallType", function()
      it('is required for phone campaigns: "2" outbound, "1" inbound', function()
        bad({ CallType = NIL }, "CallType",
          'is required for a phone campaign (campaignType "1"): "2" outbound or "1" inbound')
      end)
      it("takes only 1 and 2", function()
        bad({ CallType = "3" }, "CallType", 'must be one of "1", "2" (got "3")')
        bad({ CallType = "outbound" }, "CallType", 'must be one of "1", "2"')
      end)
      it("converts the Lua numbers 1 and 2", function()
        local _, body = ok({ CallType = 2 })
        assert.are.equal("2", body.CallType)
        _, body = ok({ CallType = 1 })
        assert.are.equal("1", body.CallType)
        bad({ CallType = 3 }, "CallType", 'must be "2" (outbound) or "1" (inbound) (got 3)')
      end)
      it("is rejected on a voice bubble and on a Messages campaign", function()
        bad({ CallType = "2" }, "CallType", "is only for phone campaigns (campaignType \"1\"): "
          .. CHANNEL_TEXT.web .. " does not take CallType", WEB)
        bad({ CallType = "1" }, "CallType", CHANNEL_TEXT.messages .. " does not take CallType", MESSAGES)
      end)
    end)

    describe("Position", function()
      it("is required for a voice bubble", function()
        bad({ Position = NIL }, "Position", "is required for " .. CHANNEL_TEXT.web
          .. ': one of "bottom-right", "bottom-left", "bottom-center", "not-positioned"', WEB)
      end)
      it("takes the four documented places", function()
        for _, p in ipairs({ "bottom-right", "bottom-left", "bottom-center", "not-positioned" }) do
          ok({ Position = p }, WEB)
        end
      end)
      it("rejects other places", function()
        bad({ Position = "top-right" }, "Position", 'must be one of "bottom-right", "bottom-left", '
          .. '"bottom-center", "not-positioned" (got "top-right")', WEB)
      end)
      it("is rejected on phone and Messages campaigns", function()
        bad({ Position = "bottom-right" }, "Position", "is only for a voice bubble: "
          .. CHANNEL_TEXT.outbound .. " does not take Position")
        bad({ Position = "bottom-right" }, "Position", CHANNEL_TEXT.inbound, INBOUND)
        bad({ Position = "bottom-right" }, "Position", CHANNEL_TEXT.messages, MESSAGES)
      end)
    end)

    describe("MessagesCampaign", function()
      it('makes campaignType "0" a Messages campaign, without Position', function()
        ok({}, MESSAGES)
      end)
      it("must be true: false is not a channel", function()
        bad({ MessagesCampaign = false }, "MessagesCampaign", "must be true or left out", WEB)
      end)
      it("must be a boolean", function()
        bad({ MessagesCampaign = "true" }, "MessagesCampaign", "must be a boolean (got string)", MESSAGES)
      end)
      it("is rejected on phone campaigns", function()
        bad({ MessagesCampaign = true }, "MessagesCampaign", "is only for a Messages campaign: "
          .. CHANNEL_TEXT.outbound .. " does not take MessagesCampaign")
        bad({ MessagesCampaign = true }, "MessagesCampaign", CHANNEL_TEXT.inbound, INBOUND)
      end)
    end)

    describe("outbound-only fields", function()
      local values = {
        StartDate = "2026-05-14",
        TimeWindows = '[{"startHour":9,"startMinute":0,"endHour":17,"endMinute":0}]',
        FeatureRescheduleCallEnabled = true,
      }
      for name, value in pairs(values) do
        it(name .. " is accepted on outbound", function() ok({ [name] = value }) end)
        for _, channel in ipairs({ "inbound", "web", "messages" }) do
          it(name .. " is rejected on " .. channel .. ", naming the field and the channel", function()
            bad({ [name] = value }, name, "is outbound-only: " .. CHANNEL_TEXT[channel]
              .. " does not take " .. name, CHANNELS[channel])
          end)
        end
      end
      it("FeatureRescheduleCallEnabled = false (off) is accepted anywhere", function()
        for _, base in pairs(CHANNELS) do ok({ FeatureRescheduleCallEnabled = false }, base) end
      end)
    end)

    describe("FeatureAppendPreviousSummaryEnabled (inbound-only)", function()
      it("is accepted on inbound", function()
        ok({ FeatureAppendPreviousSummaryEnabled = true }, INBOUND)
        ok({ FeatureAppendPreviousSummaryEnabled = false }, INBOUND)
      end)
      for _, channel in ipairs({ "outbound", "web", "messages" }) do
        it("true is rejected on " .. channel, function()
          bad({ FeatureAppendPreviousSummaryEnabled = true }, "FeatureAppendPreviousSummaryEnabled",
            "is inbound-only: " .. CHANNEL_TEXT[channel] .. " does not take "
            .. "FeatureAppendPreviousSummaryEnabled", CHANNELS[channel])
        end)
        it("false (off, as the outbound example sends it) is accepted on " .. channel, function()
          ok({ FeatureAppendPreviousSummaryEnabled = false }, CHANNELS[channel])
        end)
      end
    end)

    it("reports the channel problems together", function()
      local _, err = c:prepare("create", with(INBOUND, { StartDate = "2026-05-14", Position = "bottom-left",
        FeatureRescheduleCallEnabled = true }))
      assert.are.equal(3, #err.errors)
    end)
  end)

  describe("TimeWindows", function()
    local function tw(list) return cjson.encode(list) end
    local W = function(sh, sm, eh, em) return { startHour = sh, startMinute = sm, endHour = eh, endMinute = em } end

    it("takes JSON text of windows and sends it as written", function()
      local text = ' [ {"endMinute":30, "startHour":9,"startMinute":0,"endHour":12} ]'
      local _, body = ok({ TimeWindows = text })
      assert.are.equal(text, body.TimeWindows)
      ok({ TimeWindows = tw({ W(0, 0, 23, 59) }) })
      ok({ TimeWindows = tw({ W(9, 0, 12, 0), W(12, 0, 17, 0) }) }) -- touching
    end)
    it("must be valid JSON", function()
      bad({ TimeWindows = '[{"startHour":9,}]' }, "TimeWindows", "is not valid JSON: ")
      bad({ TimeWindows = "[{startHour:9}]" }, "TimeWindows", "is not valid JSON")
      bad({ TimeWindows = '[{"startHour":NaN,"startMinute":0,"endHour":17,"endMinute":0}]' },
        "TimeWindows", "is not valid JSON")
    end)
    it("must be a list", function()
      bad({ TimeWindows = tw(W(9, 0, 17, 0)) }, "TimeWindows", "is JSON text of one window: Atlas takes a list")
      bad({ TimeWindows = "[]" }, "TimeWindows", "has no windows: leave it out instead")
      bad({ TimeWindows = "" }, "TimeWindows", "has no windows")
    end)
    it("needs all four keys in each window", function()
      for _, key in ipairs({ "startHour", "startMinute", "endHour", "endMinute" }) do
        local w = W(9, 0, 17, 0)
        w[key] = nil
        bad({ TimeWindows = tw({ w }) }, "TimeWindows[1]." .. key, "is required: a window has "
          .. "startHour, startMinute, endHour and endMinute")
      end
    end)
    it("checks the range of each key", function()
      bad({ TimeWindows = tw({ W(24, 0, 17, 0) }) }, "TimeWindows[1].startHour", "must be between 0 and 23 (got 24)")
      bad({ TimeWindows = tw({ W(9, 60, 17, 0) }) }, "TimeWindows[1].startMinute", "must be between 0 and 59 (got 60)")
      bad({ TimeWindows = tw({ W(9, 0, 24, 0) }) }, "TimeWindows[1].endHour", "must be between 0 and 23 (got 24)")
      bad({ TimeWindows = tw({ W(9, 0, 17, -1) }) }, "TimeWindows[1].endMinute", "must be between 0 and 59 (got -1)")
    end)
    it("takes integers only", function()
      bad({ TimeWindows = '[{"startHour":9.5,"startMinute":0,"endHour":17,"endMinute":0}]' },
        "TimeWindows[1].startHour", "must be an integer (got 9.5)")
      bad({ TimeWindows = '[{"startHour":"9","startMinute":0,"endHour":17,"endMinute":0}]' },
        "TimeWindows[1].startHour", "must be an integer (got string)")
      bad({ TimeWindows = '[{"startHour":null,"startMinute":0,"endHour":17,"endMinute":0}]' },
        "TimeWindows[1].startHour", "must be an integer (got null)")
    end)
    it("rejects unknown keys and Lua-only forms inside the JSON", function()
      bad({ TimeWindows = '[{"startHour":9,"startMinute":0,"endHour":17,"endMinute":0,"day":1}]' },
        "TimeWindows[1]", 'has an unknown key "day"')
      bad({ TimeWindows = '[{"start":"09:00","stop":"17:00"}]' }, "TimeWindows[1]",
        "must use Atlas's keys startHour, startMinute, endHour and endMinute")
      bad({ TimeWindows = '["09:00-17:00"]' }, "TimeWindows[1]", "must be a window (a table), got string")
    end)
    it("starts before it ends", function()
      bad({ TimeWindows = tw({ W(17, 0, 9, 0) }) }, "TimeWindows[1]", "ends before it starts (17:00-09:00)")
      bad({ TimeWindows = tw({ W(9, 0, 9, 0) }) }, "TimeWindows[1]", "starts and ends at 09:00: the window is empty")
    end)
    it("rejects overlapping windows", function()
      bad({ TimeWindows = tw({ W(9, 0, 12, 0), W(11, 30, 17, 0) }) }, "TimeWindows[2]",
        "is 11:30-17:00, which overlaps window 1 (09:00-12:00)")
    end)
    it("must be a string or a list", function()
      bad({ TimeWindows = 9 }, "TimeWindows", "must be a string (got number)")
    end)

    describe("shorthands", function()
      local ONE = '[{"startHour":9,"startMinute":0,"endHour":17,"endMinute":0}]'
      local TWO = '[{"startHour":9,"startMinute":0,"endHour":12,"endMinute":0},'
        .. '{"startHour":13,"startMinute":30,"endHour":17,"endMinute":0}]'
      it("takes a friendly string", function()
        assert.are.equal(ONE, select(2, ok({ TimeWindows = "09:00-17:00" })).TimeWindows)
        assert.are.equal(TWO, select(2, ok({ TimeWindows = "09:00-12:00, 13:30-17:00" })).TimeWindows)
      end)
      it("takes a Lua list in any window form", function()
        assert.are.equal(ONE, select(2, ok({ TimeWindows = { W(9, 0, 17, 0) } })).TimeWindows)
        assert.are.equal(TWO, select(2, ok({ TimeWindows = { "09:00-12:00",
          { start = "13:30", stop = "17:00" } } })).TimeWindows)
        assert.are.equal(ONE, select(2, ok({ TimeWindows = { start = "9:00", stop = "17:00" } })).TimeWindows)
      end)
      it("checks them like the JSON", function()
        bad({ TimeWindows = "17:00-09:00" }, "TimeWindows[1]", "ends before it starts")
        bad({ TimeWindows = "09:00-12:00,11:00-13:00" }, "TimeWindows[2]", "overlaps window 1")
        bad({ TimeWindows = "9-17" }, "TimeWindows[1]", '"9" is not a time: write HH:MM')
        bad({ TimeWindows = { { start = "09:00" } } }, "TimeWindows[1].stop", "is required")
        bad({ TimeWindows = {} }, "TimeWindows", "has no windows")
        bad({ TimeWindows = "09:00-24:00" }, "TimeWindows[1]", "use 23:59 for the end of the day")
      end)
      it("is still outbound-only", function()
        bad({ TimeWindows = "09:00-17:00" }, "TimeWindows", "is outbound-only", INBOUND)
      end)
    end)
  end)

  describe("Timezone", function()
    it("uses the system's zoneinfo database", function()
      local f = io.open("/usr/share/zoneinfo/America/New_York", "rb")
      assert.is_truthy(f, "the tzdata package must be installed for these tests")
      f:close()
    end)
    it("takes IANA names", function()
      for _, tz in ipairs({ "America/New_York", "Europe/London", "UTC", "Asia/Kolkata",
        "America/Argentina/Buenos_Aires", "Etc/GMT+5", "America/Port-au-Prince" }) do
        ok({ Timezone = tz })
      end
    end)
    it("rejects names that are not zones", function()
      for _, tz in ipairs({ "Mars/Olympus_Mons", "America/New York", "america/new_york", "EST-5",
        "America", "America/", "/America/New_York", "../zoneinfo/UTC", "America/../UTC",
        "posix/America/New_York", "localtime", "zone.tab", "tzdata.zi", "" }) do
        bad({ Timezone = tz }, "Timezone", "must be an IANA time zone name, e.g. America/New_York")
      end
      bad({ Timezone = "America/New_York\0" }, "Timezone", "contains a NUL byte")
    end)
    it("must be a string", function()
      bad({ Timezone = -5 }, "Timezone", "must be a string (got number)")
    end)
  end)

  describe("StartDate", function()
    it("takes a date or a date-time with a zone", function()
      for _, d in ipairs({ "2026-05-14", "2028-02-29", "2026-05-14T09:00:00Z", "2026-05-14T09:00:00-05:00",
        "2026-05-14T09:00:00.250Z" }) do
        ok({ StartDate = d })
      end
    end)
    it("rejects what is not one", function()
      for _, d in ipairs({ "2026-02-30", "2100-02-29", "2026-5-14", "14/05/2026", "2026-05-14T09:00:00",
        "2026-13-01", "tomorrow", "" }) do
        bad({ StartDate = d }, "StartDate", "must be a date, YYYY-MM-DD (e.g. 2026-05-14), or a "
          .. "date-time with a time zone")
      end
      bad({ StartDate = 20260514 }, "StartDate", "must be a string (got number)")
    end)
  end)

  describe("DailyCallLimit", function()
    it("is a non-negative integer", function()
      ok({ DailyCallLimit = 0 })
      ok({ DailyCallLimit = 500 })
      ok({ DailyCallLimit = 100.0 })
    end)
    it("rejects the rest", function()
      bad({ DailyCallLimit = -1 }, "DailyCallLimit", "must be at least 0 (got -1)")
      bad({ DailyCallLimit = 2.5 }, "DailyCallLimit", "must be an integer (got 2.5)")
      bad({ DailyCallLimit = "100" }, "DailyCallLimit", "must be an integer (got string)")
      bad({ DailyCallLimit = 1e15 }, "DailyCallLimit", "integers must be below 10^14")
      bad({ DailyCallLimit = 0 / 0 }, "DailyCallLimit", "must be a finite number")
    end)
  end)

  describe("JSON-in-a-string fields", function()
    for _, name in ipairs({ "EnrichmentInfoSettings", "RedialSettings", "IdleMessages" }) do
      describe(name, function()
        it("takes JSON text of an object or a list", function()
          ok({ [name] = '{"maxAttempts":3,"delayMinutes":[5,30]}' })
          ok({ [name] = '["Are you still there?"]' })
          ok({ [name] = "{}" })
        end)
        it("rejects text that is not JSON", function()
          bad({ [name] = '{"maxAttempts":3' }, name, "is not valid JSON: ")
          bad({ [name] = "{'a':1}" }, name, "is not valid JSON")
          bad({ [name] = '{"a":Infinity}' }, name, "is not valid JSON")
          bad({ [name] = '{"a":1} x' }, name, "is not valid JSON")
        end)
        it("rejects JSON that is not an object or a list", function()
          bad({ [name] = "5" }, name, "must be JSON text of an object or a list")
          bad({ [name] = '"text"' }, name, "must be JSON text of an object or a list")
          bad({ [name] = "" }, name, "must be JSON text of an object or a list")
        end)
        it("takes a Lua table and sends it as the JSON text Atlas wants", function()
          local _, body = ok({ [name] = { maxAttempts = 3, when = { "morning" } } })
          assert.are.equal('{"maxAttempts":3,"when":["morning"]}', body[name])
          local fields = check.copy(OUTBOUND)   -- with() would copy the list's mark away
          fields[name] = campaign.array({})
          assert.are.equal("[]", cjson.decode(assert(c:prepare("create", fields)).body)[name])
          _, body = ok({ [name] = {} })
          assert.are.equal("{}", body[name])
        end)
        it("rejects a Lua table that has no JSON, naming the value inside", function()
          bad({ [name] = { a = { b = print } } }, name .. ".a.b", "cannot be sent as JSON (got function)")
          bad({ [name] = { 0 / 0 } }, name .. "[1]", "must be a finite number (got NaN)")
        end)
        it("rejects other types", function()
          bad({ [name] = true }, name, "must be a string (got boolean)")
        end)
      end)
    end

    it("a text found good once is good for every field it goes in, and only there", function()
      -- Good texts are remembered by content: a text good as JSON is not
      -- thereby good windows, and bad texts are never remembered.
      local text = '[{"startHour":25,"startMinute":0,"endHour":26,"endMinute":0}]'
      for _ = 1, 2 do
        ok({ EnrichmentInfoSettings = text })
        bad({ TimeWindows = text }, "TimeWindows[1].startHour", "must be between 0 and 23")
      end
      for _ = 1, 2 do bad({ RedialSettings = '{"a":' }, "RedialSettings", "is not valid JSON") end
    end)

    it("stays right past the number of texts it remembers", function()
      for i = 1, 600 do
        ok({ IdleMessages = ('["still there? %d"]'):format(i),
          TimeWindows = ('[{"startHour":%d,"startMinute":0,"endHour":23,"endMinute":0}]'):format(i % 23) })
      end
      ok({ IdleMessages = '["still there? 1"]' })
      bad({ IdleMessages = '["still there? 1"' }, "IdleMessages", "is not valid JSON")
      local long = '["' .. ("x"):rep(5000) .. '"]'
      ok({ IdleMessages = long })
      ok({ IdleMessages = long })
    end)
  end)

  describe("ToolIds", function()
    it("takes a comma-separated string", function()
      assert.are.equal("tool-1,tool-2", select(2, ok({ ToolIds = "tool-1,tool-2" })).ToolIds)
      ok({ ToolIds = "tool-1" })
      ok({ ToolIds = "" })
    end)
    it("takes a Lua list and joins it", function()
      assert.are.equal("tool-1,tool-2", select(2, ok({ ToolIds = { "tool-1", "tool-2" } })).ToolIds)
      assert.are.equal("", select(2, ok({ ToolIds = {} })).ToolIds)
    end)
    it("rejects empty items, spaces and repeats in the string", function()
      bad({ ToolIds = "a,,b" }, "ToolIds", "has an empty item (number 2)")
      bad({ ToolIds = "a," }, "ToolIds", "has an empty item (number 2)")
      bad({ ToolIds = "a, b" }, "ToolIds", "item 2 contains a space or control character")
      bad({ ToolIds = "a,b,a" }, "ToolIds", 'lists "a" twice')
    end)
    it("rejects bad list items", function()
      bad({ ToolIds = { "a", "b,c" } }, "ToolIds[2]", '"b,c" contains a comma')
      bad({ ToolIds = { "a", "" } }, "ToolIds[2]", "must not be empty")
      bad({ ToolIds = { "a", 5 } }, "ToolIds[2]", "must be a string (got number)")
      bad({ ToolIds = { "a", "a" } }, "ToolIds[2]", '"a" is listed twice (also at ToolIds[1])')
      bad({ ToolIds = { [1] = "a", [3] = "c" } }, "ToolIds", "is a list with holes")
      bad({ ToolIds = { id = "a" } }, "ToolIds", "got a table with named keys")
    end)
    it("rejects other types", function()
      bad({ ToolIds = 5 }, "ToolIds", "must be a string (got number)")
    end)
  end)

  describe("the other documented fields", function()
    local TEXTS = { "CompanyName", "BusinessName", "FirstMessage", "PreScript", "PostScript",
      "ScriptBase", "ScriptNotes", "TimezoneFriendlyName", "Collection", "SMSTrigger", "SMSBody",
      "EndCallMessage", "VoicemailMessage", "AnalysisPlanSummaryPrompt" }
    local FLAGS = { "IsActive", "Mode", "FeatureEnrichmentInfoEnabled", "FeatureEndCallWhenVoicemail",
      "FeatureRedialOnNoResponse", "FeatureDoubleCall", "IsOutboundChatActive" }
    local OPEN_ENUMS = { "EnrichmentInfoProvider", "Status", "FirstMessageMode" }
    for _, name in ipairs(TEXTS) do
      it(name .. " is a string", function()
        ok({ [name] = "Acme {{companyName}} ñ" })
        ok({ [name] = "" })
        bad({ [name] = 1 }, name, "must be a string (got number)")
        bad({ [name] = "bad \255 byte" }, name, "is not valid UTF-8")
      end)
    end
    for _, name in ipairs(FLAGS) do
      it(name .. " is a boolean, on every channel", function()
        for _, base in pairs(CHANNELS) do
          ok({ [name] = true }, base)
          ok({ [name] = false }, base)
        end
        bad({ [name] = "true" }, name, "must be a boolean (got string)")
        bad({ [name] = 1 }, name, "must be a boolean (got number)")
      end)
    end
    for _, name in ipairs(OPEN_ENUMS) do
      it(name .. " is a non-empty string (its values are not published)", function()
        ok({ [name] = "any-value" })
        bad({ [name] = "" }, name, "must not be empty")
        bad({ [name] = 2 }, name, "must be a string (got number)")
      end)
    end
  end)

  describe("unknown and read-only fields", function()
    it("rejects an unknown field and suggests the nearest name", function()
      bad({ templateId = OUTBOUND_ID }, "templateId", 'unknown field "templateId"; did you mean "TemplateId"?')
      bad({ Timezon = "UTC" }, "Timezon", 'did you mean "Timezone"?')
      bad({ campaigntype = "1" }, "campaigntype", 'did you mean "campaignType"?')
      bad({ Language = "en-US" }, "Language", 'unknown field "Language"')
    end)
    it("names the response-only fields as such where they are checked alone", function()
      for _, name in ipairs({ "RowKey", "PartitionKey", "Timestamp", "odata.etag", "PhoneNumberId",
        "TotalRequest", "AIAssistantProvider" }) do
        local fields = check.copy(OUTBOUND)
        fields[name] = "x" -- not through with(): "odata.etag" is one name, not a path
        local ok_, problems = core.validate("atlas.campaign", fields)
        assert.is_false(ok_)
        assert.are.equal(name, problems[1].field)
        assert.truthy(problems[1].message:find("is a read-only field of the campaign Atlas returns", 1, true))
      end
    end)
    it("drops the response-only fields from create and update, and says which", function()
      local fields = check.copy(OUTBOUND)
      for _, name in ipairs({ "RowKey", "PartitionKey", "Timestamp", "odata.etag", "TotalRequest" }) do
        fields[name] = name == "TotalRequest" and 3 or "x"
      end
      for _, op in ipairs({ "create", "update" }) do
        local req = assert(c:prepare(op, fields, op == "update" and "abc" or nil))
        assert.are.same({ "PartitionKey", "RowKey", "Timestamp", "TotalRequest", "odata.etag" }, req.dropped)
        local body = cjson.decode(req.body)
        assert.is_nil(body.RowKey)
        assert.is_nil(body["odata.etag"])
        assert.are.equal(OUTBOUND.name, body.name)
      end
      assert.are.equal("x", fields.RowKey)   -- the caller's table is left as it was
      assert.is_nil(assert(c:prepare("create", OUTBOUND)).dropped)
    end)
    it("passes unknown fields with the client's passthrough option", function()
      local p = campaign.client { provider = "atlas", api_key = "atlas-test-key", passthrough = true }
      check.accepts(p, "create", with(OUTBOUND, { NewField = { a = 1 } }))
    end)
  end)

  describe("shorthands", function()
    local SHORT = { name = "Spring Outreach", channel = "outbound", language = "en-US" }
    local function sok(changes) return check.accepts(c, "create", with(SHORT, changes)) end
    local function sbad(changes, field, text) return check.rejects(c, "create", with(SHORT, changes), field, text) end

    it("channel sets campaignType, CallType and MessagesCampaign", function()
      local expect = {
        outbound = { campaignType = "1", CallType = "2" },
        inbound = { campaignType = "1", CallType = "1" },
        web = { campaignType = "0" },
        messages = { campaignType = "0", MessagesCampaign = true },
      }
      for channel, native in pairs(expect) do
        local extra = channel == "web" and { Position = "not-positioned" } or {}
        local _, body = sok(with(extra, { channel = channel }))
        assert.are.equal(native.campaignType, body.campaignType)
        assert.are.equal(native.CallType, body.CallType)
        assert.are.equal(native.MessagesCampaign, body.MessagesCampaign)
        assert.is_nil(body.channel)
        assert.is_nil(body.language)
      end
    end)
    it("channel web still needs a Position", function()
      sbad({ channel = "web" }, "Position", "is required for a voice bubble")
    end)
    it("channel must be one of the four", function()
      sbad({ channel = "sms" }, "channel", 'must be one of "outbound", "inbound", "web", "messages" (got "sms")')
      sbad({ channel = 1 }, "channel", "must be one of")
      local p = sbad({ channel = "Outbound" }, "channel", '(got "Outbound"); did you mean "outbound"?')
      assert.are.equal('must be one of "outbound", "inbound", "web", "messages" (got "Outbound"); '
        .. 'did you mean "outbound"?', p.message)
      sbad({ channel = "inbond" }, "channel", 'did you mean "inbound"?')
    end)
    it("channel agrees with native fields given with it", function()
      sok({ campaignType = "1", CallType = "2" })
      sok({ campaignType = 1, CallType = 2 })
    end)
    it("channel that contradicts a native field is an error", function()
      sbad({ campaignType = "0" }, "channel",
        '"outbound" contradicts campaignType = "0" (an outbound campaign has campaignType = "1")')
      sbad({ CallType = "1" }, "channel", '"outbound" contradicts CallType = "1"')
      sbad({ channel = "web", Position = "bottom-left", CallType = "2" }, "channel",
        '"web" contradicts CallType = "2" (a web campaign leaves CallType out)')
      sbad({ channel = "web", Position = "bottom-left", MessagesCampaign = true }, "channel",
        '"web" contradicts MessagesCampaign = true')
      sbad({ channel = "messages", MessagesCampaign = false }, "channel",
        '"messages" contradicts MessagesCampaign = false')
    end)
    it("tells a contradiction once, not again as a missing field", function()
      local _, err = c:prepare("create", with(SHORT, { campaignType = "0" }))
      assert.are.equal(1, #err.errors)
    end)

    it("language alone picks the channel's create-from-scratch template", function()
      assert.are.equal(OUTBOUND_ID, select(2, sok({})).TemplateId)
      assert.are.equal("b169095e-4b52-4002-9c0f-6d860d8f69f2", select(2, sok({ channel = "inbound" })).TemplateId)
      assert.are.equal("572cea7c-851b-430d-ad34-2df87cf78745",
        select(2, sok({ channel = "web", Position = "bottom-left" })).TemplateId)
      assert.are.equal("4371c8a9-f3c4-4b11-aa15-871870869fec", select(2, sok({ channel = "messages" })).TemplateId)
      assert.are.equal("422566c4-7408-4332-ae4c-5cf0c4640220", select(2, sok({ language = "de" })).TemplateId)
    end)
    it("language and template pick a row by title", function()
      assert.are.equal("ca2cedc2-c196-40d2-be22-dfd70bb4594c",
        select(2, sok({ template = "Outbound - Sales Qualifications" })).TemplateId)
      assert.are.equal("ca2cedc2-c196-40d2-be22-dfd70bb4594c",
        select(2, sok({ template = "sales qualifications" })).TemplateId)
      assert.are.equal("8c2245d0-db09-4549-94ec-7f3becb8f8ff",
        select(2, sok({ channel = "web", Position = "bottom-left",
          template = "Voice Bubble - Real Estate" })).TemplateId)
      assert.are.equal("bf608583-a352-4cbc-8a4f-24e3b516c95e",
        select(2, sok({ language = "es-US", template = "ESPAÑOL" })).TemplateId)
    end)
    it("uses the native channel fields when channel is not given", function()
      local _, body = check.accepts(c, "create", { name = "x", campaignType = "1", CallType = "1", language = "fr-FR" })
      assert.are.equal("fd09500c-b572-41f7-b703-774e718c40fd", body.TemplateId)
      _, body = check.accepts(c, "update", { name = "x", campaignType = "0", MessagesCampaign = true,
        language = "ro-RO" }, "camp-1")
      assert.are.equal("23e344d1-39cb-4f64-9c9b-122f0903afbf", body.TemplateId)
    end)
    it("template without language is found when only one language has it", function()
      assert.are.equal("303ae519-237a-4377-bc4b-c112da869210",
        select(2, sok({ language = NIL, template = "Outbound - Appointment Confirmation" })).TemplateId)
      assert.are.equal("951c250e-b776-4550-8c87-a6282878a8bc",
        select(2, sok({ language = NIL, template = "Sıfırdan oluşturmak - Giden" })).TemplateId)
    end)
    it("template without language that several languages have is an error", function()
      sbad({ language = NIL, channel = "inbound", template = "Create from scratch" }, "template",
        '"Create from scratch" matches inbound templates in several languages (en-US, hi-IN): give language too')
      sbad({ language = NIL, template = "Nope" }, "template",
        '"Nope" is not the title of an outbound template in any language')
    end)
    it("needs the channel", function()
      sbad({ channel = NIL }, "language", "needs the campaign's channel to pick a template")
      sbad({ channel = NIL, language = NIL, template = "Sales" }, "template", "needs the campaign's channel")
    end)
    it("rejects an unknown language, listing the codes", function()
      sbad({ language = "en" }, "language", 'unknown language "en": the catalog has "en-US", "es-US", "de", '
        .. '"ro-RO", "fr-FR", "hi-IN", "he-IL", "tr-TR", "multilanguage"')
      sbad({ language = 5 }, "language", "must be a language code string (got number)")
    end)
    it("rejects a channel the language has no template for", function()
      sbad({ language = "hi-IN", channel = "web", Position = "bottom-left" }, "language",
        "Hindi (hi-IN) has no web (voice bubble) template: it has outbound, inbound, messages templates")
      sbad({ language = "es-US", channel = "web", Position = "bottom-left" }, "language",
        "Spanish (es-US) has no web (voice bubble) template")
    end)
    it("asks for a title when a language has no create-from-scratch template", function()
      sbad({ language = "es-US" }, "template", 'Spanish (es-US) has 2 outbound templates and none is "create '
        .. 'from scratch": pick one by title: "Outbound - Multilingual En & Spanish", "Outbound - ESPAÑOL"')
    end)
    it("rejects an unknown title, listing the language's titles", function()
      sbad({ template = "Receptionist" }, "template", 'English (en-US) has no outbound template titled '
        .. '"Receptionist": its outbound templates are "Outbound - Create from scratch"')
      sbad({ template = true }, "template", "must be a template title string (got boolean)")
    end)
    it("must agree with a TemplateId given with it", function()
      sok({ TemplateId = OUTBOUND_ID })
      sok({ TemplateId = OUTBOUND_ID:upper() })
      sbad({ TemplateId = "572cea7c-851b-430d-ad34-2df87cf78745" }, "language",
        'selects TemplateId "' .. OUTBOUND_ID .. '" (Outbound - Create from scratch, en-US), which '
        .. 'contradicts TemplateId = "572cea7c-851b-430d-ad34-2df87cf78745" given with it')
    end)
    it("reports shorthand and native problems together", function()
      local _, err = c:prepare("create", with(SHORT, { language = "xx", Timezone = "Nowhere/City",
        ToolIds = { "a", "a" }, DailyCallLimit = -1 }))
      local seen = {}
      for _, p in ipairs(err.errors) do seen[p.field] = true end
      assert.is_true(seen.language and seen.Timezone and seen["ToolIds[2]"] and seen.DailyCallLimit)
      assert.is_nil(seen.TemplateId)
    end)
    it("does not modify the caller's table", function()
      local fields = { name = "x", channel = "outbound", language = "en-US", TimeWindows = { "09:00-17:00" },
        ToolIds = { "a", "b" }, campaignType = 1 }
      local before = check.copy(fields)
      check.accepts(c, "create", fields)
      assert.are.same(before, fields)
      c:prepare("create", with(fields, { channel = "nope" }))
      assert.are.same(before, fields)
    end)
  end)
end)

describe("atlas update", function()
  it("sends the full campaign with PUT /campaign/{id}", function()
    local req, body = check.accepts(c, "update", OUTBOUND, "a1b2c3")
    assert.are.equal("PUT", req.method)
    assert.are.equal("https://api.youratlas.com/v1/api/campaign/a1b2c3", req.url)
    assert.are.same(OUTBOUND, body)
  end)
  it("has the same required fields and rules as create", function()
    check.rejects(c, "update", with(OUTBOUND, { name = NIL }), "name", "is required", "a1")
    check.rejects(c, "update", with(OUTBOUND, { TemplateId = NIL }), "TemplateId", "is required", "a1")
    check.rejects(c, "update", with(WEB, { Position = NIL }), "Position", "is required for a voice bubble", "a1")
    check.rejects(c, "update", with(INBOUND, { StartDate = "2026-05-14" }), "StartDate", "is outbound-only", "a1")
  end)
  it("takes the shorthands", function()
    local _, body = check.accepts(c, "update", { name = "x", channel = "inbound", language = "he-IL",
      ToolIds = { "t1" } }, "a1")
    assert.are.same({ name = "x", campaignType = "1", CallType = "1",
      TemplateId = "ca905bb8-35a5-4f47-8511-285d3804df1b", ToolIds = "t1" }, body)
  end)
  it("rejects an id that would change the path", function()
    check.rejects(c, "update", OUTBOUND, "id", "would change the request path", "../campaign")
    check.rejects(c, "update", OUTBOUND, "id", "must not be empty", "")
  end)
end)

describe("atlas get, list, delete, start, stop", function()
  local function prep(op, id)
    local req, err = c:prepare(op, nil, id)
    assert.is_truthy(req, tostring(err))
    return req
  end
  it("reads, lists and deletes", function()
    local req = prep("get", "abc")
    assert.are.equal("GET https://api.youratlas.com/v1/api/campaign/abc", req.method .. " " .. req.url)
    assert.is_nil(req.body)
    req = prep("list")
    assert.are.equal("GET https://api.youratlas.com/v1/api/campaign", req.method .. " " .. req.url)
    local _, err = c:prepare("list", { page = 2 })
    assert.are.equal("page", err.errors[1].field)
    assert.are.equal('unknown field "page"', err.errors[1].message)
    local p = campaign.client { provider = "atlas", api_key = "atlas-test-key", passthrough = true }
    req = p:prepare("list", { page = 2 })
    assert.are.equal("https://api.youratlas.com/v1/api/campaign?page=2", req.url)
    req = prep("delete", "abc")
    assert.are.equal("DELETE https://api.youratlas.com/v1/api/campaign/abc", req.method .. " " .. req.url)
  end)
  it("starts and stops with PUT /campaign/{id}/status", function()
    local req = prep("start", "abc")
    assert.are.equal("PUT https://api.youratlas.com/v1/api/campaign/abc/status", req.method .. " " .. req.url)
    assert.are.same({ enabled = true }, cjson.decode(req.body))
    req = prep("stop", "abc")
    assert.are.equal("PUT https://api.youratlas.com/v1/api/campaign/abc/status", req.method .. " " .. req.url)
    assert.are.same({ enabled = false }, cjson.decode(req.body))
  end)
  it("checks the id", function()
    local req, err = c:prepare("get", nil, "a/b")
    assert.is_nil(req)
    assert.are.equal("id", err.errors[1].field)
  end)
end)

describe("atlas attach_agent", function()
  local sent
  local t = campaign.client { provider = "atlas", api_key = "atlas-test-key", max_retries = 0,
    transport = function(req)
      sent = req
      return { status = 200, headers = { ["Content-Type"] = "application/json" },
        body = '{"agentId":"ag-1","campaignId":"c-1"}' }
    end }

  before_each(function() sent = nil end)

  it("posts an inline configuration to /agent/{campaignId}", function()
    local body, err = t:attach_agent("c-1", { voice = "alloy", prompt = { text = "Hi" } })
    assert.is_nil(err)
    assert.are.equal("ag-1", body.agentId)
    assert.are.equal("POST", sent.method)
    assert.are.equal("https://api.youratlas.com/v1/api/agent/c-1", sent.url)
    assert.are.equal("atlas-test-key", sent.headers["api-key"])
    assert.are.same({ voice = "alloy", prompt = { text = "Hi" } }, cjson.decode(sent.body))
  end)
  it("posts to /agent/new/{campaignId} with opts.template, {} by default", function()
    local _, err = t:attach_agent("c-1", nil, { template = true })
    assert.is_nil(err)
    assert.are.equal("POST", sent.method)
    assert.are.equal("https://api.youratlas.com/v1/api/agent/new/c-1", sent.url)
    assert.are.equal("{}", sent.body)
    _, err = t:attach_agent("c-2", { a = 1 }, { template = true, timeout = 5 })
    assert.is_nil(err)
    assert.are.equal("https://api.youratlas.com/v1/api/agent/new/c-2", sent.url)
    assert.are.equal(5, sent.timeout)
  end)
  it("checks only that the body can be sent as a JSON object", function()
    local _, err = t:attach_agent("c-1", { f = function() end })
    assert.are.equal("validation", err.kind)
    assert.are.equal("f", err.errors[1].field)
    assert.truthy(err.errors[1].message:find("cannot be sent as JSON", 1, true))
    local cyc = {}
    cyc.self = cyc
    _, err = t:attach_agent("c-1", cyc)
    assert.truthy(err.errors[1].message:find("cycle", 1, true))
    _, err = t:attach_agent("c-1", { 1, 2 })
    assert.truthy(err.errors[1].message:find("must be a table of named fields", 1, true))
    _, err = t:attach_agent("c-1", { n = 0 / 0 })
    assert.truthy(err.errors[1].message:find("must be a finite number", 1, true))
    assert.is_nil(sent)
  end)
  it("does not apply the campaign shorthands to agent bodies", function()
    t:attach_agent("c-1", { channel = "web", language = "xx" })
    assert.are.same({ channel = "web", language = "xx" }, cjson.decode(sent.body))
  end)
  it("checks the campaign id", function()
    local _, err = t:attach_agent("../x", {})
    assert.are.equal("id", err.errors[1].field)
    assert.is_nil(sent)
  end)
  it("is unsupported on providers without agents", function()
    local v = campaign.client { provider = "vapi", api_key = "vapi-test-key" }
    local body, err = v:attach_agent("c-1", {})
    assert.is_nil(body)
    assert.are.equal("unsupported", err.kind)
    assert.are.equal("vapi has no call to attach an agent to a campaign", err.message)
  end)
end)
