-- The places a new user stopped and had to guess: each answers with what to
-- do. (More of them in the specs of each part: this file gathers those of
-- the API's shape.)
local campaign = require "campaign"
local fixtures = require "helpers.fixtures"

local KEY = "first-day-test-key"

local function raised(fn)
  local ok, e = pcall(fn)
  assert.is_false(ok, "no error was raised")
  return tostring(e)
end

describe("a method called with a dot instead of a colon", function()
  local c = campaign.client { provider = "vapi", api_key = KEY }

  it("says so, for every method", function()
    local calls = {
      create = function() return c.create(fixtures.vapi()) end,
      update = function() return c.update("id-1", { name = "x" }) end,
      get = function() return c.get("id-1") end,
      list = function() return c.list({}) end,
      delete = function() return c.delete("id-1") end,
      start = function() return c.start("id-1") end,
      stop = function() return c.stop("id-1") end,
      attach_agent = function() return c.attach_agent("id-1") end,
      create_many = function() return c.create_many({ fixtures.vapi() }) end,
      update_many = function() return c.update_many({ { "id-1", { name = "x" } } }) end,
      close = function() return c.close() end,
    }
    for method, call in pairs(calls) do
      local e = raised(call)
      assert.truthy(e:find(("campaign: call %s with a colon: c:%s(...), not c.%s(...)")
        :format(method, method, method), 1, true), method .. ": " .. e)
    end
  end)

  it("and with the colon it works as before", function()
    local t = {}
    local d = campaign.client { provider = "vapi", api_key = KEY, transport = function(req)
      t[#t + 1] = req
      return { status = 200, headers = {}, body = '{"id":"id-1"}' }
    end }
    assert.are.same({ id = "id-1" }, (d:get("id-1")))
    assert.are.equal(1, #t)
  end)
end)

describe("batch lists and items", function()
  local c = campaign.client { provider = "vapi", api_key = KEY,
    transport = function() return { status = 201, headers = {}, body = '{"id":"x"}' } end }

  it("a list that is not a sequence is refused, not read as empty", function()
    assert.truthy(raised(function() c:create_many({ a = fixtures.vapi() }) end):find(
      'campaign vapi create_many: the list must be a sequence (items 1 to n): it has the key "a"',
      1, true))
    assert.truthy(raised(function() c:create_many({ fixtures.vapi(), [3] = fixtures.vapi() }) end)
      :find("it has the key 3", 1, true))
  end)

  it("an item that is not a table, or an update without fields, is named by its place", function()
    assert.truthy(raised(function() c:create_many({ fixtures.vapi(), "oops" }) end):find(
      "campaign vapi create_many: item 2 must be a table of fields (got string)", 1, true))
    assert.truthy(raised(function() c:update_many({ { "id-1", { name = "x" } }, { "id-2" } }) end)
      :find("campaign vapi update_many: item 2 must be {id, fields} (it has no fields)", 1, true))
    assert.truthy(raised(function() c:update_many({ "id-1" }) end):find(
      "campaign vapi update_many: item 1 must be {id, fields} (got string)", 1, true))
  end)

  it("good lists still run: an empty list too", function()
    assert.are.same({}, c:create_many({}))
    local results = c:create_many({ fixtures.vapi(), fixtures.vapi() })
    assert.are.same({ { id = "x" }, { id = "x" } }, results)
  end)
end)

describe("no API key", function()
  it("is an error of its own kind, config, which says where the key goes", function()
    -- An empty api_key is no key (the environment is not read then).
    local c = campaign.client { provider = "smallest", api_key = "",
      transport = function() error("nothing may be sent") end }
    local body, err = c:create(fixtures.smallest())
    assert.is_nil(body)
    assert.are.equal("config", err.kind)
    assert.are.equal("api_key is missing: pass api_key to campaign.client or set SMALLEST_API_KEY",
      err.message)
    local results = c:create_many({ fixtures.smallest() })
    assert.are.equal("config", results[1].kind)
  end)
end)

describe("numbers in the provider's answers", function()
  -- lua-cjson reads every number as a float under Lua 5.3+.
  local body = '{"id": 1, "data": {"counts": [2, 2.5, -3, 1e300], "n": 9007199254740991}, '
    .. '"x": 9007199254740992}'
  local c = campaign.client { provider = "autocalls", api_key = KEY,
    transport = function() return { status = 200, headers = {}, body = body } end }

  it("integral values in the exact range come back as integers, at any depth", function()
    local got = campaign.assert(c:list())
    assert.are.equal(1, got.id)
    assert.are.equal(2, got.data.counts[1])
    assert.are.equal(2.5, got.data.counts[2])
    assert.are.equal(9007199254740991, got.data.n)
    if math.type then
      assert.are.equal("integer", math.type(got.id))
      assert.are.equal("integer", math.type(got.data.counts[1]))
      assert.are.equal("integer", math.type(got.data.counts[3]))
      assert.are.equal("integer", math.type(got.data.n))
      assert.are.equal("float", math.type(got.data.counts[2]))
      -- Past 2^53 a double is not an exact integer: it stays as read.
      assert.are.equal("float", math.type(got.x))
      assert.are.equal("float", math.type(got.data.counts[4]))
      assert.are.equal("1", tostring(got.id))
    end
  end)

  it("an id from an answer makes the URL of the next call", function()
    local urls = {}
    local d = campaign.client { provider = "autocalls", api_key = KEY, transport = function(req)
      urls[#urls + 1] = req.url
      return { status = 200, headers = {}, body = '[{"id": 7}]' }
    end }
    local listed = campaign.assert(d:list())
    campaign.assert(d:delete(listed[1].id))
    assert.truthy(urls[2]:find("/user/campaign/7$"), urls[2])
  end)
end)

describe("<PROVIDER>_BASE_URL", function()
  local proc = require "helpers.proc"
  local rawserver = require "helpers.rawserver"

  it("is the default base URL of the library and the command-line tool; an option wins", function()
    local srv = rawserver.start("canned", { status = 200, body = '{"id":"c-1"}' })
    local script = proc.tmpdir() .. "/base_url.lua"
    proc.write_file(script, [[
      local campaign = require "campaign"
      local c = campaign.client { provider = "vapi", api_key = "first-day-test-key" }
      print(c.base_url)
      print(assert(c:get("c-1")).id)
      print(campaign.client { provider = "vapi", api_key = "first-day-test-key",
        base_url = "https://example.invalid/v" }.base_url)
    ]])
    local code, out = proc.sh(("VAPI_BASE_URL=%s/vapi %s %s 2>&1"):format(
      proc.shquote(srv.url), proc.LUA, proc.shquote(script)))
    assert.are.equal(0, code, out)
    assert.are.equal(srv.url .. "/vapi\nc-1\nhttps://example.invalid/v\n", out)
    local cli = require("helpers.cli").new("lua-campaign-first-day")
    local r = cli:run({ "get", "--provider", "vapi", "--id", "c-1" },
      { env = { VAPI_API_KEY = "first-day-test-key", VAPI_BASE_URL = srv.url .. "/vapi" } })
    cli:close()
    assert.are.equal(0, r.code, r.err)
    local paths = {}
    for _, req in ipairs(srv:requests()) do paths[#paths + 1] = req.method .. " " .. req.path end
    srv:stop()
    assert.are.same({ "GET /vapi/v2/campaign/c-1", "GET /vapi/v2/campaign/c-1" }, paths)
  end)
end)

describe("names in another case, or misspelt", function()
  it("a provider in capitals suggests the name", function()
    local e = raised(function() campaign.client { provider = "VAPI", api_key = KEY } end)
    assert.truthy(e:find("campaign.client: unknown provider VAPI (did you mean vapi? known: "
      .. "atlas, autocalls, smallest, vapi)", 1, true), e)
    e = raised(function() campaign.client { provider = "nobody", api_key = KEY } end)
    assert.truthy(e:find("unknown provider nobody (known: atlas, autocalls, smallest, vapi)", 1,
      true), e)
  end)

  it("a misspelt call option suggests the option", function()
    local c = campaign.client { provider = "vapi", api_key = KEY }
    local e = raised(function() c:create_many({}, { concurency = 4 }) end)
    assert.truthy(e:find("campaign vapi create: unknown call option concurency (did you mean "
      .. "concurrency? known: concurrency, connect_timeout, max_retries, max_wait, on_progress, "
      .. "timeout)", 1, true), e)
    e = raised(function() c:get("id-1", { Timeout = 5 }) end)
    assert.truthy(e:find("unknown call option Timeout (did you mean timeout? known: "
      .. "connect_timeout, max_retries, max_wait, timeout)", 1, true), e)
  end)

  it("a batch's option given to the client says where it goes", function()
    local e = raised(function() campaign.client { provider = "vapi", api_key = KEY, concurency = 4 } end)
    assert.truthy(e:find("campaign.client: unknown option concurency (concurrency is an option of "
      .. "create_many, update_many and apply, given with the call: c:create_many(list, "
      .. "{concurrency = ...}))", 1, true), e)
    e = raised(function() campaign.client { provider = "vapi", api_key = KEY, timout = 4 } end)
    assert.truthy(e:find("campaign.client: unknown option timout (did you mean timeout?)", 1, true), e)
    e = raised(function() campaign.client { provider = "vapi", api_key = KEY, colour = 4 } end)
    assert.truthy(e:find("campaign.client: unknown option colour$"), e)
  end)
end)

describe("err.op", function()
  it("names the method called: attach_agent, with or without template", function()
    local c = campaign.client { provider = "atlas", api_key = KEY, transport = function()
      return { status = 404, headers = {}, body = '{"message":"no such campaign"}' }
    end }
    for _, opts in ipairs { {}, { template = true } } do
      local body, err = c:attach_agent("c-1", {}, opts)
      assert.is_nil(body)
      assert.are.equal("attach_agent", err.op)
      assert.truthy(tostring(err):find("^campaign atlas attach_agent: HTTP 404"), tostring(err))
    end
    local v = campaign.client { provider = "vapi", api_key = KEY }
    local _, err = v:attach_agent("c-1", {}, { template = true })
    assert.are.equal("unsupported", err.kind)
    assert.are.equal("attach_agent", err.op)
  end)
end)

describe("Atlas templates and languages in another case", function()
  local templates = require "campaign.templates"

  it("a template title matches in any case, Unicode letters included", function()
    for _, case in ipairs {
      { "es-US", "outbound", "outbound - español", "Outbound - ESPAÑOL" },
      { "es-US", "inbound", "español", "Inbound - ESPAÑOL" },
      { "tr-TR", "outbound", "SIFIRDAN OLUŞTURMAK - GIDEN", "Sıfırdan oluşturmak - Giden" },
      { "ro-RO", "web", "șablon pentru WEB", "Șablon pentru web" },
      { "fr-FR", "web", "MODÈLE POUR WEB", "Modèle pour web" },
    } do
      local row, err = templates.find(case[1], case[2], case[3])
      assert.truthy(row, tostring(err))
      assert.are.equal(case[4], row.title)
    end
    -- Other letters still differ.
    assert.is_nil((templates.find("es-US", "outbound", "outbound - espanol")))
  end)

  it("a language code in another case suggests the catalog's", function()
    local c = campaign.client { provider = "atlas", api_key = KEY }
    local _, err = c:prepare("create", { name = "x", channel = "outbound", language = "en-us" })
    local found
    for _, p in ipairs(err.errors) do
      if p.field == "language" then found = p.message end
    end
    assert.truthy(found and found:find('unknown language "en-us" (did you mean "en-US"? codes '
      .. 'are case-sensitive)', 1, true), tostring(found))
  end)
end)

-- The problems prepare finds in fields, as {field = message}, and the
-- error's one line.
local function problems(client, op, fields, id)
  local req, err = client:prepare(op, fields, id)
  assert.is_nil(req, "prepare accepted the fields")
  assert.are.equal("validation", err.kind, tostring(err))
  local by_field = {}
  for _, p in ipairs(err.errors) do
    assert.is_nil(by_field[p.field], "two problems on " .. p.field)
    by_field[p.field] = p.message
  end
  return by_field, err
end

local function accepts(client, op, fields, id)
  local req, err = client:prepare(op, fields, id)
  assert.truthy(req, tostring(err))
  return req
end

local E164 = " must be E.164, e.g. +14155551234: + then the country code and number, digits "
  .. "only, up to 15 digits"

describe("values quoted in messages", function()
  local vapi = campaign.client { provider = "vapi", api_key = KEY }
  local atlas = campaign.client { provider = "atlas", api_key = KEY }

  it("a quoted value keeps UTF-8 whole, and shows other bytes as \\xNN", function()
    local got = problems(vapi, "create", fixtures.vapi { serverMessages = {
      ("é"):rep(23) .. "\1ab", "x\1y" } })
    assert.truthy(got["serverMessages[1]"]:find('(got "' .. ("é"):rep(23) .. '\\x01a...")', 1,
      true), got["serverMessages[1]"])
    assert.truthy(got["serverMessages[2]"]:find('(got "x\\x01y")', 1, true))
    local _, err = vapi:prepare("create", fixtures.vapi { ["na\255me"] = 1 })
    assert.are.equal('unknown field "na\\xffme"; did you mean "name"?', err.errors[1].message)
  end)

  it("Atlas ToolIds quotes an id listed twice as other values are quoted", function()
    local id = ("t"):rep(100000)
    local got = problems(atlas, "create", fixtures.atlas { ToolIds = "a," .. id .. "," .. id })
    assert.are.equal('lists "' .. ("t"):rep(48) .. '..." twice', got.ToolIds)
  end)

  it("core.redact finds the key in a byte a message shows as \\xNN", function()
    assert.are.equal('a "[R]" b', require("campaign.core").redact('a "sk-\\x09tab-key-1" b',
      "sk-\ttab-key-1", "[R]"))
  end)
end)

describe("a phone number that is not E.164 (Vapi)", function()
  local c = campaign.client { provider = "vapi", api_key = KEY }
  local function customers(...)
    local list = {}
    for i, number in ipairs { ... } do list[i] = { number = number } end
    return list
  end

  it("an E.164 number is taken, in customers and in a dial plan", function()
    accepts(c, "create", fixtures.vapi { customers = customers("+14155550101", "+442071838750") })
    accepts(c, "create", fixtures.vapi { customers = fixtures.NIL, phoneNumberId = fixtures.NIL,
      dialPlan = { { phoneNumberId = "p", customers = customers("+14155550101") } } })
  end)

  it("is quoted, with what E.164 is and the number without its separators", function()
    local got, err = problems(c, "create", fixtures.vapi {
      customers = customers("+14155550100", "+14155550102", "+1-415-555-0101") })
    assert.are.same({ ["customers[3].number"] = '"+1-415-555-0101"' .. E164
      .. '; did you mean "+14155550101"?' }, got)
    assert.are.equal('campaign vapi create: customers[3].number "+1-415-555-0101" must be '
      .. "E.164, e.g. +14155551234: + then the country code and number, digits only, up to "
      .. '15 digits; did you mean "+14155550101"?', tostring(err))
    got = problems(c, "create", fixtures.vapi { customers = fixtures.NIL,
      phoneNumberId = fixtures.NIL, dialPlan = { { phoneNumberId = "p",
        customers = customers("+14155550100", "+1 (415) 555.0101") } } })
    assert.are.same({ ["dialPlan[1].customers[2].number"] = '"+1 (415) 555.0101"' .. E164
      .. '; did you mean "+14155550101"?' }, got)
  end)

  it("a number with no + and country code is told what E.164 is, and no more", function()
    for _, number in ipairs { "4155550101", "+04155550101", "1-800-FLOWERS", "+1415555010123456" } do
      local got = problems(c, "create", fixtures.vapi { customers = customers(number) })
      assert.are.same({ ["customers[1].number"] = ("%q"):format(number) .. E164 }, got)
    end
  end)

  it("a SIP address is pointed to sipUri, which takes it", function()
    for _, number in ipairs { "sip:alice@example.com", "SIPS:bob@example.com", "alice@example.com" } do
      local got = problems(c, "create", fixtures.vapi { customers = customers(number) })
      assert.are.same({ ["customers[1].number"] = ("%q"):format(number) .. " must be E.164, "
        .. "e.g. +14155551234: a SIP address goes in sipUri, not number" }, got)
    end
    accepts(c, "create", fixtures.vapi { customers = { { sipUri = "sip:alice@example.com" } } })
  end)

  it("a SIP trunk's dial string is pointed to numberE164CheckEnabled = false, which takes it",
    function()
      local got = problems(c, "create", fixtures.vapi { customers = customers("alice42") })
      assert.are.same({ ["customers[1].number"] = '"alice42" must be E.164, e.g. +14155551234 '
        .. "(or set numberE164CheckEnabled = false for non-E.164 SIP numbers)" }, got)
      accepts(c, "create", fixtures.vapi { customers = {
        { number = "alice42", numberE164CheckEnabled = false } } })
    end)

  it("with numberE164CheckEnabled = false: quoted, and the value without separators", function()
    local got = problems(c, "create", fixtures.vapi { customers = {
      { number = "12-34", numberE164CheckEnabled = false },
      { number = "sip:bob@example.org", numberE164CheckEnabled = false },
      { number = "+1 415", numberE164CheckEnabled = false },
      { number = "*#*#", numberE164CheckEnabled = false } } })
    local loose = " must be letters and digits with an optional leading + (even with "
      .. "numberE164CheckEnabled = false)"
    assert.are.same({
      ["customers[1].number"] = '"12-34"' .. loose .. '; did you mean "1234"?',
      ["customers[2].number"] = '"sip:bob@example.org"' .. loose
        .. ": a SIP address goes in sipUri, not number",
      ["customers[3].number"] = '"+1 415"' .. loose .. '; did you mean "+1415"?',
      ["customers[4].number"] = '"*#*#"' .. loose,
    }, got)
  end)

  it("a value that is not UTF-8 is one problem, and no message quotes its bytes", function()
    local got = problems(c, "create", fixtures.vapi { customers = customers("+1415\255\254") })
    assert.are.same({ ["customers[1].number"] = "is not valid UTF-8" }, got)
  end)

  it("never shows the API key, as given or as the number it would make", function()
    for _, key in ipairs { "+1-415-555-0101-77", "3f1c2e4d-0000-4000-8000-00000000abcd",
      "sk-\ttab-key-1" } do
      local k = campaign.client { provider = "vapi", api_key = key }
      local _, err = k:prepare("create", fixtures.vapi { customers = {
        { number = key }, { number = key, numberE164CheckEnabled = false } } })
      local plain = key:gsub("[ %-%.%(%)]", "")
      for _, p in ipairs(err.errors) do
        assert.is_nil(p.message:find(key, 1, true), p.message)
        assert.is_nil(p.message:find(plain, 1, true), p.message)
        assert.is_nil(p.message:find("\\x09tab", 1, true), p.message)
        assert.truthy(p.message:find("[REDACTED]", 1, true), p.message)
      end
      assert.is_nil(tostring(err):find(key, 1, true))
    end
  end)
end)

describe("values in another case, or misspelt, suggest the one meant", function()
  local vapi = campaign.client { provider = "vapi", api_key = KEY }
  local smallest = campaign.client { provider = "smallest", api_key = KEY }
  local autocalls = campaign.client { provider = "autocalls", api_key = KEY }
  local atlas = campaign.client { provider = "atlas", api_key = KEY }
  local TZ = " must be an IANA time zone name, e.g. America/New_York or Europe/London"

  it("Atlas Timezone and Autocalls timezone: the database's name", function()
    accepts(atlas, "create", fixtures.atlas { Timezone = "America/New_York" })
    assert.are.same({ Timezone = '"america/new_york"' .. TZ
      .. '; did you mean "America/New_York"?' },
      (problems(atlas, "create", fixtures.atlas { Timezone = "america/new_york" })))
    accepts(autocalls, "create", fixtures.autocalls { timezone = "Europe/London" })
    -- {given, meant}: no suggestion where nothing in the database is near,
    -- nor where the near name is not a zone.
    for _, case in ipairs { { "europe/london", "Europe/London" }, { "utc", "UTC" },
      { "America/New York", "America/New_York" }, { "America/Los_Angelos", "America/Los_Angeles" },
      { "us/eastern", "US/Eastern" }, { "Europe//London", "Europe/London" },
      { "Mars/Olympus_Mons" }, { "posix/Europe/London" }, { "zone.tab" }, { "../UTC" } } do
      local given, meant = case[1], case[2]
      local got = problems(autocalls, "create", fixtures.autocalls { timezone = given })
      assert.are.same({ timezone = ("%q"):format(given) .. TZ
        .. (meant and ('; did you mean "' .. meant .. '"?') or "") }, got)
    end
  end)

  it("a name too long to be a zone is quoted cut short, with no suggestion", function()
    local got = problems(autocalls, "create", fixtures.autocalls {
      timezone = ("Europe/"):rep(200000) })
    assert.are.same({ timezone = '"' .. ("Europe/"):rep(7):sub(1, 48) .. '..."' .. TZ }, got)
  end)

  it("the values of a fixed list, in every provider", function()
    accepts(vapi, "list", { sortOrder = "ASC", status = "in-progress" })
    assert.are.same({
      sortOrder = 'must be one of "ASC", "DESC" (got "asc"); did you mean "ASC"?',
      status = 'must be one of "scheduled", "in-progress", "ended", "cancelled", "archived" '
        .. '(got "In-Progress"); did you mean "in-progress"?',
      sortBy = 'must be one of "createdAt", "duration", "cost" (got "created_at"); did you mean '
        .. '"createdAt"?',
    }, (problems(vapi, "list", { sortOrder = "asc", status = "In-Progress", sortBy = "created_at" })))
    assert.are.same({ status = 'must be one of "cancelled", "ended" (got "canceled"); did you '
      .. 'mean "cancelled"?' }, (problems(vapi, "update", { status = "canceled" }, "c-1")))
    accepts(smallest, "list", { sortOrder = "desc", status = "running" })
    assert.are.same({
      sortOrder = 'must be one of "asc", "desc" (got "DESC"); did you mean "desc"?',
      status = 'must be one of "draft", "scheduled", "processing", "running", "paused", '
        .. '"completed", "failed" (got "Running"); did you mean "running"?',
    }, (problems(smallest, "list", { sortOrder = "DESC", status = "Running" })))
    accepts(autocalls, "create", fixtures.autocalls { allowed_days = { "monday", "tuesday" } })
    local days = 'must be one of "monday", "tuesday", "wednesday", "thursday", "friday", '
      .. '"saturday", "sunday"'
    assert.are.same({
      ["allowed_days[1]"] = days .. ' (got "Monday"); did you mean "monday"?',
      ["allowed_days[2]"] = days .. ' (got "tue"); did you mean "tuesday"?',
      ["allowed_days[3]"] = days .. ' (got "wensday"); did you mean "wednesday"?',
      ["allowed_days[4]"] = days .. ' (got "s")',
      ["allowed_days[5]"] = days .. ' (got "holiday")',
    }, (problems(autocalls, "create", fixtures.autocalls {
      allowed_days = { "Monday", "tue", "wensday", "s", "holiday" } })))
    accepts(atlas, "create", fixtures.atlas { campaignType = "0", CallType = fixtures.NIL,
      Position = "bottom-right" })
    assert.are.same({ Position = 'must be one of "bottom-right", "bottom-left", "bottom-center", '
      .. '"not-positioned" (got "Bottom-Right"); did you mean "bottom-right"?' },
      (problems(atlas, "create", fixtures.atlas { campaignType = "0", CallType = fixtures.NIL,
        Position = "Bottom-Right" })))
  end)

  it("a short value is not taken for another: \"3\" is not \"1\"", function()
    local got = problems(atlas, "create", fixtures.atlas { CallType = "3" })
    assert.are.equal('must be one of "1", "2" (got "3")', got.CallType)
  end)

  it("the whole list is in the message, however long", function()
    local got = problems(vapi, "create", fixtures.vapi { serverMessages = { "Contact.Failed" } })
    assert.are.equal('must be one of "campaign.started", "campaign.cancelled", "campaign.ended", '
      .. '"campaign.archived", "campaign.unarchived", "contact.dispatched", "contact.completed", '
      .. '"contact.failed", "contact.skipped", "contact.predial-failed", "campaign.job.continued" '
      .. '(got "Contact.Failed"); did you mean "contact.failed"?', got["serverMessages[1]"])
  end)
end)

describe("a misspelt operation or name of a list", function()
  local c = campaign.client { provider = "vapi", api_key = KEY }
  local OPS = "known: create, delete, get, list, start, stop, update"

  it("prepare suggests the operation, in any case", function()
    assert.truthy(c:prepare("create", fixtures.vapi()))
    for given, meant in pairs { creat = "create", CREATE = "create", Get = "get", lsit = "list" } do
      local e = raised(function() c:prepare(given, {}) end)
      assert.truthy(e:find(("campaign vapi: unknown operation %s (did you mean %s? %s)"):format(
        given, meant, OPS), 1, true), e)
    end
    local e = raised(function() c:prepare("launch", {}) end)
    assert.truthy(e:find("campaign vapi: unknown operation launch (" .. OPS .. ")", 1, true), e)
    -- Atlas's operations are its own.
    local a = campaign.client { provider = "atlas", api_key = KEY }
    e = raised(function() a:prepare("attach-agent", {}, "c-1") end)
    assert.truthy(e:find("unknown operation attach-agent (did you mean attach_agent? known: "
      .. "attach_agent, attach_agent_template, create,", 1, true), e)
  end)

  it("the client's paths", function()
    assert.truthy(campaign.client { provider = "vapi", api_key = KEY,
      paths = { create = "/v3/campaign" } })
    local e = raised(function()
      campaign.client { provider = "vapi", api_key = KEY, paths = { Creat = "/v3/campaign" } }
    end)
    assert.truthy(e:find("campaign.client: paths.Creat is not an operation (did you mean create? "
      .. "operations: create, delete, get, list, start, stop, update)", 1, true), e)
  end)

  it("the keys of the client's rate_limit", function()
    assert.truthy(campaign.client { provider = "vapi", api_key = KEY,
      rate_limit = { requests = 5, per = 1 } })
    local e = raised(function()
      campaign.client { provider = "vapi", api_key = KEY, rate_limit = { request = 5, per = 1 } }
    end)
    assert.truthy(e:find("campaign.client: rate_limit has the unknown key request (did you mean "
      .. "requests? it is {requests = N, per = seconds})", 1, true), e)
  end)

  it("the options of ensure, plan and apply, and a plan's actions", function()
    local e = raised(function() c:ensure(fixtures.vapi(), { settle_wiat = 1 }) end)
    assert.truthy(e:find("campaign vapi ensure: unknown option settle_wiat (did you mean "
      .. "settle_wait? known: connect_timeout, max_retries, max_wait, settle_wait, timeout)", 1,
      true), e)
    local plan = { { index = 1, action = "creat", name = "Q2", fields = fixtures.vapi() } }
    e = raised(function() c:apply(plan) end)
    assert.truthy(e:find('campaign vapi apply: step 1 has the unknown action "creat" (did you '
      .. "mean create? actions: conflict, create, drift, unchanged, update)", 1, true), e)
  end)

  it("the command-line tool's commands and providers, in any case", function()
    local cli = require("helpers.cli").new("lua-campaign-first-day")
    local r = cli:run({ "CREATE", "--provider", "vapi", "x.json" }, { env = { VAPI_API_KEY = KEY } })
    assert.are.equal(64, r.code, r.err)
    assert.truthy(r.err:find("unknown command (the COMMAND given is not shown; commands: create, "
      .. "update, get, list, delete, start, stop, attach-agent, plan, apply); did you mean create?", 1,
      true), r.err)
    r = cli:run({ "get", "--provider", "Vapi", "--id", "c-1" }, { env = { VAPI_API_KEY = KEY } })
    assert.are.equal(64, r.code, r.err)
    assert.truthy(r.err:find("unknown provider (the --provider value is not shown; known: atlas, "
      .. "autocalls, smallest, vapi); did you mean vapi?", 1, true), r.err)
    cli:close()
  end)

  it("the command-line tool's update items: nothing is sent", function()
    local cli = require("helpers.cli").new("lua-campaign-first-day")
    local items = cli:file("items.json", { { id = "c-1", fields = { name = "x" } },
      { id = "c-2", field = { name = "y" } } })
    local r = cli:run({ "update", "--provider", "vapi", "--base-url", "http://127.0.0.1:9", items },
      { env = { VAPI_API_KEY = KEY } })
    cli:close()
    assert.are.equal(2, r.code, r.err)
    assert.truthy(r.err:find('items.json[2]: unknown key field (an item is {"id": ID, '
      .. '"fields": {...}}; did you mean fields?)', 1, true), r.err)
  end)
end)

describe("names in the helpers' tables", function()
  local templates = require "campaign.templates"
  local windows = require "campaign.windows"

  it("templates: a channel or language code misspelt, a filter key", function()
    assert.truthy(templates.find("en-US", "outbound"))
    local _, err = templates.find("en-US", "Outbound")
    assert.are.equal('unknown channel "Outbound" (did you mean "outbound"?): one of "outbound", '
      .. '"inbound", "web", "messages"', err)
    _, err = templates.find("en_US", "outbound")
    assert.are.equal('unknown language "en_US" (did you mean "en-US"?): the catalog has "en-US", '
      .. '"es-US", "de", "ro-RO", "fr-FR", "hi-IN", "he-IL", "tr-TR", "multilanguage"', err)
    -- Two letters are too few to guess from: "es" is not "de".
    _, err = templates.find("es", "outbound")
    assert.truthy(err:find('^unknown language "es": the catalog has'), err)
    assert.are.equal(13, #templates.list { channel = "messages" })
    local e = raised(function() templates.list { chanel = "messages" } end)
    assert.truthy(e:find("campaign.templates.list: unknown filter key chanel (did you mean "
      .. "channel? known: channel, language)", 1, true), e)
  end)

  it("windows: a key of a window, a day, an option of to_autocalls", function()
    assert.truthy(windows.parse { start = "09:00", stop = "17:00" })
    local _, err = windows.parse { Start = "09:00", stop = "17:00" }
    assert.are.equal('window [1] has an unknown key "Start" (did you mean start?): a window takes '
      .. "start and stop, or startHour, startMinute, endHour and endMinute", err)
    _, err = windows.from_atlas('[{"starthour":9,"startMinute":0,"endHour":17,"endMinute":0}]')
    assert.are.equal('window [1] has an unknown key "starthour" (did you mean startHour?): a '
      .. "window takes startHour, startMinute, endHour and endMinute", err)
    assert.truthy(windows.to_autocalls("09:00-17:00", { days = { "Monday", "friday" } }))
    _, err = windows.to_autocalls("09:00-17:00", { days = { "monday", "fridya" } })
    assert.are.equal('days[2] "fridya" is not a weekday name (did you mean "friday"?): use '
      .. "monday, tuesday, wednesday, thursday, friday, saturday, sunday", err)
    _, err = windows.to_autocalls("09:00-17:00", { days = "weekday" })
    assert.are.equal('days "weekday" (did you mean "weekdays"?): use a list of weekday names or '
      .. '"weekdays", "weekend", "all"', err)
    local e = raised(function() windows.to_autocalls("09:00-12:00,13:00-17:00", { envelop = true }) end)
    assert.truthy(e:find("campaign.windows.to_autocalls: unknown option envelop (did you mean "
      .. "envelope? known: days, envelope)", 1, true), e)
  end)
end)
