-- The pure-Lua helpers: the Atlas template catalog (campaign.templates),
-- time windows (campaign.windows) and the channel table (campaign.atlas).
local templates = require "campaign.templates"
local windows = require "campaign.windows"
local atlas = require "campaign.atlas"

-- The catalog as the Create campaign page prints it (one row a line), so
-- that every row is checked against the page's own text.
local CATALOG_TEXT = [==[
#### English (`en-US`)
| Type | Title | Template ID |
| -------- | ---------------------------------- | -------------------------------------- |
| web | Voice Bubble - Create from scratch | `572cea7c-851b-430d-ad34-2df87cf78745` |
| web | Voice Bubble - Auto Dealership | `860556f3-773a-4b3a-ad6d-9cf644d06490` |
| web | Voice Bubble – Real Estate | `8c2245d0-db09-4549-94ec-7f3becb8f8ff` |
| web | Voice Bubble – Renovations | `233a6ba7-564c-428e-9273-2d736f2a1710` |
| web | Voice Bubble – MedSpa | `8560cf24-eaf5-4de1-ad5f-f5d591bd6573` |
| outbound | Outbound - Create from scratch | `6be44833-9133-4639-b6c9-425aee057c1c` |
| outbound | Outbound - Sales Qualifications | `ca2cedc2-c196-40d2-be22-dfd70bb4594c` |
| outbound | Outbound - Appointment Confirmation | `303ae519-237a-4377-bc4b-c112da869210` |
| outbound | Outbound - Customer Service | `391d2252-056b-48e6-8147-fb81c11c9a4f` |
| inbound | Inbound - Create from scratch | `b169095e-4b52-4002-9c0f-6d860d8f69f2` |
| inbound | Inbound - Receptionist | `ef425178-b820-460f-b4a2-1f8704487343` |
| inbound | Inbound - Sales | `994c1320-b5c8-4ba6-af47-65f29caefaac` |
| inbound | Inbound - Customer Service | `28eb844e-5d43-4469-b422-d8cbb08ddba4` |
| messages | Messages - Create from scratch | `4371c8a9-f3c4-4b11-aa15-871870869fec` |
| messages | Messages - Sales Qualifications | `5b993906-231b-406b-bfb9-6188449e7a29` |
| messages | Messages - Appointment Confirmation | `93bd6c73-17f7-4e91-aee3-daaaa1fee598` |
| messages | Messages - Customer Service | `54f23536-c34c-446e-8bfc-b089e68ec3e1` |
#### Spanish (`es-US`)
| Type | Title | Template ID |
| -------- | ------------------------------------ | -------------------------------------- |
| outbound | Outbound - Multilingual En & Spanish | `3d9f7b06-5ff9-47ad-bc9b-89d0d504fd80` |
| outbound | Outbound - ESPAÑOL | `bf608583-a352-4cbc-8a4f-24e3b516c95e` |
| inbound | Inbound - Multilingual En & Spanish | `937764af-80bf-4d3a-ba9d-5d0ffc62b5eb` |
| inbound | Inbound - ESPAÑOL | `8f77d0cb-a198-4ec1-b202-442f1d7668ec` |
| messages | Messages - Multilingual En & Spanish | `3d9f7b06-5ff9-47ad-bc9b-89d0d504fd80` |
| messages | Messages - ESPAÑOL | `bf608583-a352-4cbc-8a4f-24e3b516c95e` |
#### German (`de`)
| Type | Title | Template ID |
| -------- | ---------------------- | -------------------------------------- |
| web | Von Grund auf erstellen | `422566c4-7408-4332-ae4c-5cf0c4640220` |
| outbound | Von Grund auf erstellen | `422566c4-7408-4332-ae4c-5cf0c4640220` |
| inbound | Von Grund auf erstellen | `422566c4-7408-4332-ae4c-5cf0c4640220` |
| messages | Von Grund auf erstellen | `422566c4-7408-4332-ae4c-5cf0c4640220` |
#### Romanian (`ro-RO`)
| Type | Title | Template ID |
| -------- | ---------------------- | -------------------------------------- |
| inbound | Șablon pentru Inbound | `761a6468-53e1-48ae-b21b-0f1e5c5c4585` |
| outbound | Șablon pentru Outbound | `23e344d1-39cb-4f64-9c9b-122f0903afbf` |
| web | Șablon pentru web | `761a6468-53e1-48ae-b21b-0f1e5c5c4585` |
| messages | Șablon pentru Messages | `23e344d1-39cb-4f64-9c9b-122f0903afbf` |
#### French (`fr-FR`)
| Type | Title | Template ID |
| -------- | -------------------- | -------------------------------------- |
| inbound | Modèle pour Inbound | `fd09500c-b572-41f7-b703-774e718c40fd` |
| outbound | Modèle pour Outbound | `bf23d52a-c57e-4744-969b-a6c5b5c25b9e` |
| web | Modèle pour web | `fd09500c-b572-41f7-b703-774e718c40fd` |
| messages | Modèle pour Messages | `bf23d52a-c57e-4744-969b-a6c5b5c25b9e` |
#### Hindi (`hi-IN`)
| Type | Title | Template ID |
| -------- | ------------------- | -------------------------------------- |
| outbound | Create From Scratch | `f2086e1d-8c61-4dba-9551-602526b4db2b` |
| inbound | Create From Scratch | `f2086e1d-8c61-4dba-9551-602526b4db2b` |
| messages | Create From Scratch | `f2086e1d-8c61-4dba-9551-602526b4db2b` |
#### Hebrew (`he-IL`)
| Type | Title | Template ID |
| -------- | -------------- | -------------------------------------- |
| inbound | להתחיל מאפס | `ca905bb8-35a5-4f47-8511-285d3804df1b` |
| outbound | להתחיל מאפס | `ca905bb8-35a5-4f47-8511-285d3804df1b` |
| web | להתחיל מאפס | `ca905bb8-35a5-4f47-8511-285d3804df1b` |
| messages | להתחיל מאפס | `ca905bb8-35a5-4f47-8511-285d3804df1b` |
#### Turkish (`tr-TR`)
| Type | Title | Template ID |
| -------- | ------------------------------ | -------------------------------------- |
| outbound | Sıfırdan oluşturmak - Giden | `951c250e-b776-4550-8c87-a6282878a8bc` |
| inbound | Sıfırdan oluşturmak - Gelen | `951c250e-b776-4550-8c87-a6282878a8bc` |
| web | Sıfırdan oluşturmak - Web | `951c250e-b776-4550-8c87-a6282878a8bc` |
| messages | Sıfırdan oluşturmak | `951c250e-b776-4550-8c87-a6282878a8bc` |
#### Multilingual (`multilanguage`)
| Type | Title | Template ID |
| -------- | ------------ | -------------------------------------- |
| web | Multilingual | `937764af-80bf-4d3a-ba9d-5d0ffc62b5eb` |
| inbound | Multilingual | `937764af-80bf-4d3a-ba9d-5d0ffc62b5eb` |
| outbound | Multilingual | `3d9f7b06-5ff9-47ad-bc9b-89d0d504fd80` |
| messages | Multilingual | `3d9f7b06-5ff9-47ad-bc9b-89d0d504fd80` |

]==]

local function seed_rows()
  local rows, language = {}, nil
  for line in CATALOG_TEXT:gmatch("[^\n]+") do
    local code = line:match("^#### .-%(`([^`]+)`%)")
    if code then language = code end
    local channel, title, id = line:match("^| (%a+)%s*| (.-)%s*| `([%x-]+)` |$")
    if channel and channel ~= "Type" then
      rows[#rows + 1] = { language = language, channel = channel, title = title, id = id }
    end
  end
  return rows
end

local SEED = seed_rows()

describe("campaign.templates", function()
  it("holds every row of the page's catalog, in order", function()
    assert.are.equal(50, #SEED)
    assert.are.same(SEED, templates.list())
  end)

  it("finds every row by language, channel and title", function()
    for _, r in ipairs(SEED) do
      local found, err = templates.find(r.language, r.channel, r.title)
      assert.is_truthy(found, err)
      assert.are.same(r, found)
    end
  end)

  it("reaches every template id of the page", function()
    local ids = {}
    for _, r in ipairs(SEED) do ids[r.id] = true end
    local count = 0
    for id in pairs(ids) do
      count = count + 1
      local rows = templates.by_id(id)
      assert.is_true(#rows > 0, id)
      for _, r in ipairs(rows) do assert.are.equal(id, r.id) end
    end
    assert.are.equal(29, count)
    assert.are.same({}, templates.by_id("00000000-0000-0000-0000-000000000000"))
    assert.are.equal(4, #templates.by_id("422566C4-7408-4332-AE4C-5CF0C4640220"))
  end)

  it("lists the nine languages in the page's order", function()
    assert.are.same({ "en-US", "es-US", "de", "ro-RO", "fr-FR", "hi-IN", "he-IL", "tr-TR", "multilanguage" },
      templates.languages())
    assert.are.equal("Hebrew", templates.language_name("he-IL"))
    assert.is_nil(templates.language_name("xx"))
  end)

  it("lists by language and by channel", function()
    local expect = { ["en-US"] = 17, ["es-US"] = 6, de = 4, ["ro-RO"] = 4, ["fr-FR"] = 4,
      ["hi-IN"] = 3, ["he-IL"] = 4, ["tr-TR"] = 4, multilanguage = 4 }
    for language, n in pairs(expect) do
      local rows = templates.list { language = language }
      assert.are.equal(n, #rows, language)
      for _, r in ipairs(rows) do assert.are.equal(language, r.language) end
    end
    local per_channel = { web = 11, outbound = 13, inbound = 13, messages = 13 }
    for channel, n in pairs(per_channel) do
      assert.are.equal(n, #templates.list { channel = channel }, channel)
    end
    assert.are.equal(4, #templates.list { language = "en-US", channel = "web" } - 1)
    assert.are.same({}, templates.list { language = "hi-IN", channel = "web" })
    assert.are.same({}, templates.list { language = "es-US", channel = "web" })
  end)

  it("hands out copies", function()
    local r = templates.find("en-US", "outbound")
    r.id = "changed"
    assert.are.equal("6be44833-9133-4639-b6c9-425aee057c1c", templates.find("en-US", "outbound").id)
  end)

  it("rejects an unknown language or channel in a listing", function()
    local rows, err = templates.list { language = "en" }
    assert.is_nil(rows)
    assert.truthy(err:find('unknown language "en": the catalog has "en-US"', 1, true))
    rows, err = templates.list { channel = "sms" }
    assert.is_nil(rows)
    assert.are.equal('unknown channel "sms": one of "outbound", "inbound", "web", "messages"', err)
  end)

  describe("the default template of a language and channel", function()
    local DEFAULTS = {
      ["en-US"] = { web = "572cea7c-851b-430d-ad34-2df87cf78745", outbound = "6be44833-9133-4639-b6c9-425aee057c1c",
        inbound = "b169095e-4b52-4002-9c0f-6d860d8f69f2", messages = "4371c8a9-f3c4-4b11-aa15-871870869fec" },
      de = { web = "422566c4-7408-4332-ae4c-5cf0c4640220", outbound = "422566c4-7408-4332-ae4c-5cf0c4640220",
        inbound = "422566c4-7408-4332-ae4c-5cf0c4640220", messages = "422566c4-7408-4332-ae4c-5cf0c4640220" },
      ["ro-RO"] = { web = "761a6468-53e1-48ae-b21b-0f1e5c5c4585", outbound = "23e344d1-39cb-4f64-9c9b-122f0903afbf",
        inbound = "761a6468-53e1-48ae-b21b-0f1e5c5c4585", messages = "23e344d1-39cb-4f64-9c9b-122f0903afbf" },
      ["fr-FR"] = { web = "fd09500c-b572-41f7-b703-774e718c40fd", outbound = "bf23d52a-c57e-4744-969b-a6c5b5c25b9e",
        inbound = "fd09500c-b572-41f7-b703-774e718c40fd", messages = "bf23d52a-c57e-4744-969b-a6c5b5c25b9e" },
      ["hi-IN"] = { outbound = "f2086e1d-8c61-4dba-9551-602526b4db2b", inbound = "f2086e1d-8c61-4dba-9551-602526b4db2b",
        messages = "f2086e1d-8c61-4dba-9551-602526b4db2b" },
      ["he-IL"] = { web = "ca905bb8-35a5-4f47-8511-285d3804df1b", outbound = "ca905bb8-35a5-4f47-8511-285d3804df1b",
        inbound = "ca905bb8-35a5-4f47-8511-285d3804df1b", messages = "ca905bb8-35a5-4f47-8511-285d3804df1b" },
      ["tr-TR"] = { web = "951c250e-b776-4550-8c87-a6282878a8bc", outbound = "951c250e-b776-4550-8c87-a6282878a8bc",
        inbound = "951c250e-b776-4550-8c87-a6282878a8bc", messages = "951c250e-b776-4550-8c87-a6282878a8bc" },
      multilanguage = { web = "937764af-80bf-4d3a-ba9d-5d0ffc62b5eb", outbound = "3d9f7b06-5ff9-47ad-bc9b-89d0d504fd80",
        inbound = "937764af-80bf-4d3a-ba9d-5d0ffc62b5eb", messages = "3d9f7b06-5ff9-47ad-bc9b-89d0d504fd80" },
    }
    for language, by_channel in pairs(DEFAULTS) do
      for channel, id in pairs(by_channel) do
        it(language .. " " .. channel, function()
          local r, err = templates.find(language, channel)
          assert.is_truthy(r, err)
          assert.are.equal(id, r.id)
        end)
      end
    end
    it("Spanish has no create-from-scratch template: the message lists the titles", function()
      for _, channel in ipairs({ "outbound", "inbound", "messages" }) do
        local r, err = templates.find("es-US", channel)
        assert.is_nil(r)
        assert.truthy(err:find("Spanish (es-US) has 2 " .. channel .. " templates and none is "
          .. '"create from scratch": pick one by title', 1, true), err)
        assert.truthy(err:find("ESPAÑOL", 1, true))
      end
    end)
  end)

  it("says which languages have a channel when one does not", function()
    local r, err = templates.find("hi-IN", "web")
    assert.is_nil(r)
    assert.are.equal("Hindi (hi-IN) has no web (voice bubble) template: it has outbound, inbound, messages "
      .. "templates; web templates exist in en-US, de, ro-RO, fr-FR, he-IL, tr-TR, multilanguage", err)
    r, err = templates.find("es-US", "web")
    assert.is_nil(r)
    assert.truthy(err:find("Spanish (es-US) has no web (voice bubble) template", 1, true))
  end)

  it("matches titles ignoring case and dash style, or by the part after the prefix", function()
    local id = "8c2245d0-db09-4549-94ec-7f3becb8f8ff"
    assert.are.equal(id, templates.find("en-US", "web", "Voice Bubble – Real Estate").id)
    assert.are.equal(id, templates.find("en-US", "web", "Voice Bubble - Real Estate").id)
    assert.are.equal(id, templates.find("en-US", "web", "voice bubble - real estate").id)
    assert.are.equal(id, templates.find("en-US", "web", "Real Estate").id)
    assert.are.equal("860556f3-773a-4b3a-ad6d-9cf644d06490", templates.find("en-US", "web", "Auto Dealership").id)
    assert.are.equal("8f77d0cb-a198-4ec1-b202-442f1d7668ec", templates.find("es-US", "inbound", "ESPAÑOL").id)
    assert.are.equal("951c250e-b776-4550-8c87-a6282878a8bc", templates.find("tr-TR", "inbound", "Gelen").id)
  end)

  it("lists the titles when a title is not found", function()
    local r, err = templates.find("en-US", "inbound", "Sales Qualifications")
    assert.is_nil(r)
    assert.are.equal('English (en-US) has no inbound template titled "Sales Qualifications": its inbound '
      .. 'templates are "Inbound - Create from scratch", "Inbound - Receptionist", "Inbound - Sales", '
      .. '"Inbound - Customer Service"', err)
  end)

  it("rejects an unknown language or channel", function()
    local r, err = templates.find("english", "outbound")
    assert.is_nil(r)
    assert.truthy(err:find('unknown language "english"', 1, true))
    r, err = templates.find("en-US", "voice-bubble")
    assert.is_nil(r)
    assert.truthy(err:find('unknown channel "voice-bubble": one of "outbound", "inbound", "web", "messages"', 1, true))
    r, err = templates.find("en-US", "web", 5)
    assert.is_nil(r)
    assert.are.equal("template title must be a string (got number)", err)
  end)
end)

describe("campaign.windows", function()
  local W = function(sh, sm, eh, em) return { startHour = sh, startMinute = sm, endHour = eh, endMinute = em } end

  describe("parse", function()
    it("reads a friendly string", function()
      assert.are.same({ W(9, 0, 17, 0) }, windows.parse("09:00-17:00"))
      assert.are.same({ W(9, 0, 12, 0), W(13, 0, 17, 30) }, windows.parse("09:00-12:00,13:00-17:30"))
      assert.are.same({ W(9, 5, 17, 0) }, windows.parse(" 9:05 - 17:00 "))
    end)
    it("reads tables in either form, and lists of any of them", function()
      assert.are.same({ W(9, 0, 17, 0) }, windows.parse({ start = "09:00", stop = "17:00" }))
      assert.are.same({ W(9, 0, 17, 0) }, windows.parse(W(9, 0, 17, 0)))
      assert.are.same({ W(8, 0, 12, 0), W(13, 0, 17, 0), W(18, 0, 20, 0) },
        windows.parse({ "08:00-12:00", { start = "13:00", stop = "17:00" }, W(18, 0, 20, 0) }))
    end)
    it("reads Atlas's JSON text", function()
      assert.are.same({ W(8, 0, 20, 0) }, windows.parse('[{"startHour":8,"startMinute":0,"endHour":20,"endMinute":0}]'))
    end)
    it("keeps the order given and lets windows touch", function()
      assert.are.same({ W(13, 0, 17, 0), W(9, 0, 13, 0) }, windows.parse("13:00-17:00,09:00-13:00"))
    end)
    it("rejects inverted and empty windows", function()
      local list, err = windows.parse("17:00-09:00")
      assert.is_nil(list)
      assert.are.equal("window [1] ends before it starts (17:00-09:00): a window is one stretch of a day; "
        .. "split one that crosses midnight in two (17:00-23:59 and 00:00-09:00)", err)
      list, err = windows.parse({ start = "10:00", stop = "10:00" })
      assert.is_nil(list)
      assert.are.equal("window [1] starts and ends at 10:00: the window is empty", err)
    end)
    it("rejects overlapping windows", function()
      local list, err = windows.parse("09:00-12:00,13:00-17:00,16:00-18:00")
      assert.is_nil(list)
      assert.are.equal("window [3] is 16:00-18:00, which overlaps window 2 (13:00-17:00): windows may "
        .. "touch but not overlap", err)
      list, err = windows.parse("09:00-17:00,10:00-11:00")
      assert.is_nil(list)
      assert.truthy(err:find("overlaps window 1 (09:00-17:00)", 1, true))
    end)
    it("rejects bad times", function()
      local cases = {
        ["25:00-26:00"] = '"25:00": hours go from 00 to 23',
        ["09:00-24:00"] = "use 23:59 for the end of the day",
        ["09:60-10:00"] = '"09:60": minutes go from 00 to 59',
        ["9-17"] = '"9" is not a time: write HH:MM, e.g. 09:00',
        ["09:00"] = '"09:00" is not a window: write HH:MM-HH:MM',
        ["09:00-12:00,"] = 'window [2] "" is not a window',
      }
      for input, text in pairs(cases) do
        local list, err = windows.parse(input)
        assert.is_nil(list, input)
        assert.truthy(err:find(text, 1, true), input .. ": " .. tostring(err))
      end
    end)
    it("rejects bad tables", function()
      local cases = {
        { { start = "09:00" }, "window [1].stop is required" },
        { { start = "09:00", stop = 17 }, 'window [1].stop must be a time string "HH:MM" (got number)' },
        { { start = "09:00", ["end"] = "17:00" }, 'has an unknown key "end" (did you mean stop?)' },
        { { start = "09:00", stop = "17:00", endHour = 17 }, "mixes start/stop with startHour" },
        { { W(9, 0, 17, 0), 5 }, 'window [2] must be a window (a table or "HH:MM-HH:MM"), got number' },
        { { [1] = "09:00-10:00", [3] = "11:00-12:00" }, "is a list with holes" },
        { { "09:00-10:00", start = "11:00" }, "mixes list items and named keys" },
        { {}, "has no windows: leave it out instead" },
        { "", "has no windows" },
        { 9, 'must be a list of windows or a string like "09:00-17:00" (got number)' },
        { '{"startHour":9}', "is JSON text of one window: Atlas takes a list of windows" },
      }
      for i, case in ipairs(cases) do
        local list, err = windows.parse(case[1])
        assert.is_nil(list, i)
        assert.truthy(err:find(case[2], 1, true), i .. ": " .. tostring(err))
      end
    end)
    it("rejects bad JSON text", function()
      local list, err = windows.parse("[{]")
      assert.is_nil(list)
      assert.truthy(err:find("TimeWindows is not valid JSON", 1, true))
      list, err = windows.parse('[{"startHour":9,"startMinute":0,"endHour":17}]')
      assert.is_nil(list)
      assert.truthy(err:find("window [1].endMinute is required", 1, true))
    end)
    it("does not modify its input", function()
      local input = { "09:00-12:00", { start = "13:00", stop = "17:00" } }
      windows.parse(input)
      assert.are.same({ "09:00-12:00", { start = "13:00", stop = "17:00" } }, input)
    end)
  end)

  describe("check", function()
    it("reports every problem with its place", function()
      local list, problems = windows.check({ "09:00-08:00", { start = "x", stop = "25:00" } })
      assert.is_nil(list)
      assert.are.same({
        { path = "[1]", message = "ends before it starts (09:00-08:00): a window is one stretch of a day; split "
          .. "one that crosses midnight in two (09:00-23:59 and 00:00-08:00)" },
      }, { problems[3] })
      assert.are.equal("[2].start", problems[1].path)
      assert.are.equal("[2].stop", problems[2].path)
    end)
    it("takes only Atlas's keys with native = true", function()
      local list, problems = windows.check({ { start = "09:00", stop = "17:00" } }, { native = true })
      assert.is_nil(list)
      assert.are.equal("[1]", problems[1].path)
      list = windows.check({ W(9, 0, 17, 0) }, { native = true })
      assert.are.same({ W(9, 0, 17, 0) }, list)
    end)
  end)

  describe("to_atlas and from_atlas", function()
    it("writes Atlas's JSON text in the order given", function()
      assert.are.equal('[{"startHour":9,"startMinute":0,"endHour":12,"endMinute":0},'
        .. '{"startHour":13,"startMinute":30,"endHour":17,"endMinute":45}]',
        windows.to_atlas("09:00-12:00,13:30-17:45"))
    end)
    it("round-trips", function()
      local text = windows.to_atlas({ { start = "08:15", stop = "11:00" }, "12:00-20:00" })
      assert.are.same({ W(8, 15, 11, 0), W(12, 0, 20, 0) }, windows.from_atlas(text))
      assert.are.equal("08:15-11:00,12:00-20:00", windows.format(text))
    end)
    it("reports problems", function()
      local text, err = windows.to_atlas("10:00-09:00")
      assert.is_nil(text)
      assert.truthy(err:find("ends before it starts", 1, true))
      local list
      list, err = windows.from_atlas('{"startHour":9}')
      assert.is_nil(list)
      assert.truthy(err:find("TimeWindows must be JSON text of a list", 1, true))
      list, err = windows.from_atlas(5)
      assert.is_nil(list)
      assert.are.equal("TimeWindows must be a string (got number)", err)
      list, err = windows.from_atlas("[]")
      assert.is_nil(list)
      assert.are.equal("has no windows: leave it out instead", err)
    end)
  end)

  describe("to_autocalls", function()
    it("turns one window into Autocalls's allowed hours", function()
      assert.are.same({ allowed_hours_start_time = "09:00", allowed_hours_end_time = "17:30" },
        windows.to_autocalls("09:00-17:30"))
      assert.are.same({ allowed_hours_start_time = "08:00", allowed_hours_end_time = "20:00" },
        windows.to_autocalls('[{"startHour":8,"startMinute":0,"endHour":20,"endMinute":0}]'))
    end)
    it("says why several windows cannot be expressed", function()
      local out, err = windows.to_autocalls("09:00-12:00,13:00-17:00")
      assert.is_nil(out)
      assert.are.equal("Autocalls.ai takes one calling window a day (allowed_hours_start_time to "
        .. "allowed_hours_end_time); 2 windows (09:00-12:00, 13:00-17:00) cannot be expressed: pass "
        .. "{envelope = true} to use 09:00-17:00, which also allows the time between them", err)
    end)
    it("uses the envelope when asked", function()
      assert.are.same({ allowed_hours_start_time = "08:00", allowed_hours_end_time = "19:00" },
        windows.to_autocalls("13:00-19:00,08:00-12:00", { envelope = true }))
    end)
    it("adds allowed_days when days are given", function()
      assert.are.same({ "monday", "tuesday", "wednesday", "thursday", "friday" },
        windows.to_autocalls("09:00-17:00", { days = "weekdays" }).allowed_days)
      assert.are.same({ "saturday", "sunday" }, windows.to_autocalls("09:00-17:00", { days = "weekend" }).allowed_days)
      assert.are.equal(7, #windows.to_autocalls("09:00-17:00", { days = "all" }).allowed_days)
      assert.are.same({ "monday", "friday" },
        windows.to_autocalls("09:00-17:00", { days = { "Monday", "friday" } }).allowed_days)
    end)
    it("rejects bad days", function()
      local cases = {
        { "someday", 'days "someday": use a list of weekday names' },
        { { "monday", "funday" }, 'days[2] "funday" is not a weekday name' },
        { { "monday", "MONDAY" }, 'days[2] "monday" is listed twice' },
        { {}, "days must be a non-empty list" },
        { 5, "days must be a list of weekday names (got number)" },
      }
      for i, case in ipairs(cases) do
        local out, err = windows.to_autocalls("09:00-17:00", { days = case[1] })
        assert.is_nil(out, i)
        assert.truthy(err:find(case[2], 1, true), i .. ": " .. tostring(err))
      end
    end)
    it("reports window problems", function()
      local out, err = windows.to_autocalls("09:00-08:00")
      assert.is_nil(out)
      assert.truthy(err:find("ends before it starts", 1, true))
    end)
  end)
end)

describe("campaign.atlas channels", function()
  it("gives each channel's native fields, as a copy", function()
    assert.are.same({ campaignType = "1", CallType = "2" }, atlas.channel_fields("outbound"))
    assert.are.same({ campaignType = "1", CallType = "1" }, atlas.channel_fields("inbound"))
    assert.are.same({ campaignType = "0" }, atlas.channel_fields("web"))
    assert.are.same({ campaignType = "0", MessagesCampaign = true }, atlas.channel_fields("messages"))
    local t = atlas.channel_fields("web")
    t.campaignType = "1"
    assert.are.equal("0", atlas.CHANNELS.web.campaignType)
    local none, err = atlas.channel_fields("sms")
    assert.is_nil(none)
    assert.are.equal('unknown channel "sms": one of "outbound", "inbound", "web", "messages"', err)
  end)
  it("tells the channel of native fields", function()
    assert.are.equal("outbound", atlas.channel_of { campaignType = "1", CallType = "2" })
    assert.are.equal("inbound", atlas.channel_of { campaignType = "1", CallType = "1" })
    assert.are.equal("web", atlas.channel_of { campaignType = "0", Position = "bottom-left" })
    assert.are.equal("messages", atlas.channel_of { campaignType = "0", MessagesCampaign = true })
    assert.is_nil(atlas.channel_of { campaignType = "1" })
    assert.is_nil(atlas.channel_of { campaignType = "0", CallType = "2" })
    assert.is_nil(atlas.channel_of { campaignType = "0", MessagesCampaign = false })
    assert.is_nil(atlas.channel_of { campaignType = 1, CallType = 2 })
    assert.is_nil(atlas.channel_of("x"))
  end)
  it("normalize leaves other operations alone", function()
    local t = { channel = "web" }
    assert.are.equal(t, atlas.normalize("attach_agent", t))
  end)
end)
