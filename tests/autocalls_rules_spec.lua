-- Every rule of Autocalls.ai's "Create campaign" (seed 002 and the provider
-- notes): a good value is accepted, a bad one is rejected with the field
-- named and the expected message. No network: prepare only.
local campaign = require "campaign"
local check = require "helpers.check"

local with, NIL = check.with, check.NIL

local c = campaign.client { provider = "autocalls", api_key = "autocalls-test-key" }

local BASE = { name = "Product Demo Campaign", assistant_id = 42 }

local function ok(changes) return check.accepts(c, "create", with(BASE, changes)) end
local function bad(changes, field, text) return check.rejects(c, "create", with(BASE, changes), field, text) end

-- Every field of the docs page, with the values its examples and defaults use.
local DOCUMENTED = {
  name = "Product Demo Campaign",
  assistant_id = 1,
  timezone = "America/New_York",
  max_calls_in_parallel = 3,
  allowed_hours_start_time = "09:00",
  allowed_hours_end_time = "17:00",
  allowed_days = { "monday", "tuesday", "wednesday", "thursday", "friday" },
  max_retries = 3,
  retry_interval = 60,
  retry_on_voicemail = true,
  retry_on_goal_incomplete = true,
  goal_completion_variable = "appointment_booked",
  mark_complete_when_no_leads = true,
  phone_number_ids = { 11, 12 },
}

describe("autocalls create", function()
  it("accepts the minimal campaign and sends it unchanged", function()
    local req, body = ok()
    assert.are.equal("POST", req.method)
    assert.are.equal("https://app.autocalls.ai/api/user/campaign", req.url)
    assert.are.same(BASE, body)
    assert.are.equal("application/json", req.headers["Content-Type"])
    assert.are.equal("Bearer autocalls-test-key", req.headers.Authorization)
  end)

  it("accepts the documented request with every field", function()
    local _, body = check.accepts(c, "create", DOCUMENTED)
    assert.are.same(DOCUMENTED, body)
  end)

  it("never shows the key in tostring(req)", function()
    local req = ok()
    assert.is_nil(tostring(req):find("autocalls-test-key", 1, true))
  end)

  describe("name", function()
    it("is required", function() bad({ name = NIL }, "name", "is required") end)
    it("must be a string", function() bad({ name = 7 }, "name", "must be a string (got number)") end)
    it("must not be empty", function() bad({ name = "" }, "name", "must not be empty") end)
    it("takes up to 255 characters", function()
      ok({ name = string.rep("n", 255) })
      ok({ name = string.rep("é", 255) })
      bad({ name = string.rep("n", 256) }, "name", "must be at most 255 characters (got 256)")
    end)
  end)

  describe("assistant_id", function()
    it("is required", function() bad({ assistant_id = NIL }, "assistant_id", "is required") end)
    it("is an integer", function()
      ok({ assistant_id = 1 })
      ok({ assistant_id = 7.0 })
      bad({ assistant_id = 4.5 }, "assistant_id", "must be an integer (got 4.5)")
      bad({ assistant_id = "42" }, "assistant_id", "must be an integer (got string)")
    end)
    it("is a positive id", function()
      bad({ assistant_id = 0 }, "assistant_id", "must be at least 1 (got 0)")
      bad({ assistant_id = -3 }, "assistant_id", "must be at least 1 (got -3)")
    end)
    it("must be carried exactly by JSON", function()
      ok({ assistant_id = 99999999999999 })
      bad({ assistant_id = 2 ^ 53 }, "assistant_id", "integers must be below 10^14")
    end)
  end)

  describe("timezone", function()
    for _, tz in ipairs({ "America/New_York", "Europe/London", "UTC", "Asia/Kolkata",
      "America/Argentina/Buenos_Aires", "Etc/GMT+5", "America/Port-au-Prince" }) do
      it("accepts " .. tz, function() ok({ timezone = tz }) end)
    end
    for _, tz in ipairs({ "", "Mars/Olympus_Mons", "america/new_york", "New York", "EST5EDT ",
      "America", "Europe//London", "Europe/London/", "/etc/passwd", "../../etc/passwd",
      "Europe/../Europe/London", "zone.tab", "localtime", "posixrules", "posix/Europe/London" }) do
      it("rejects " .. string.format("%q", tz), function()
        bad({ timezone = tz }, "timezone", "must be an IANA time zone name, e.g. America/New_York")
      end)
    end
    it("must be a string", function()
      bad({ timezone = 1 }, "timezone", "must be a string (got number)")
      bad({ timezone = "Europe/London\0" }, "timezone", "contains a NUL byte")
    end)
  end)

  describe("max_calls_in_parallel", function()
    it("is 1 to 10", function()
      ok({ max_calls_in_parallel = 1 })
      ok({ max_calls_in_parallel = 10 })
      bad({ max_calls_in_parallel = 0 }, "max_calls_in_parallel", "must be between 1 and 10 (got 0)")
      bad({ max_calls_in_parallel = 11 }, "max_calls_in_parallel", "must be between 1 and 10 (got 11)")
    end)
    it("is an integer", function()
      bad({ max_calls_in_parallel = 2.5 }, "max_calls_in_parallel", "must be an integer (got 2.5)")
    end)
  end)

  describe("allowed hours", function()
    for _, t in ipairs({ "00:00", "09:00", "12:30", "23:58" }) do
      it("accepts " .. t .. " as a start", function()
        ok({ allowed_hours_start_time = t })
      end)
    end
    for _, t in ipairs({ "00:01", "17:00", "23:59" }) do
      it("accepts " .. t .. " as an end", function()
        ok({ allowed_hours_end_time = t })
      end)
    end
    -- Laravel's date_format:H:i needs a two-digit hour and nothing more.
    for _, t in ipairs({ "9:00", "24:00", "12:60", "09:00:00", "0900", "09:0", " 09:00",
      "09h00", "", "ab:cd" }) do
      it("rejects " .. string.format("%q", t), function()
        bad({ allowed_hours_start_time = t }, "allowed_hours_start_time",
          "must be a time in H:i format, 00:00 to 23:59, with two-digit hours")
        bad({ allowed_hours_end_time = t }, "allowed_hours_end_time", "must be a time in H:i format")
      end)
    end
    it("must be strings", function()
      bad({ allowed_hours_start_time = 9 }, "allowed_hours_start_time", "must be a string (got number)")
    end)
    it("needs the start before the end", function()
      ok({ allowed_hours_start_time = "09:00", allowed_hours_end_time = "09:01" })
      bad({ allowed_hours_start_time = "17:00", allowed_hours_end_time = "09:00" },
        "allowed_hours_end_time", "must be after allowed_hours_start_time")
      bad({ allowed_hours_start_time = "09:00", allowed_hours_end_time = "09:00" },
        "allowed_hours_end_time", "start before end")
    end)
    it("compares a lone bound with the documented default of the other", function()
      ok({ allowed_hours_start_time = "23:58" })
      bad({ allowed_hours_start_time = "23:59" }, "allowed_hours_start_time",
        "must be before allowed_hours_end_time (23:59 when not given)")
      ok({ allowed_hours_end_time = "00:01" })
      bad({ allowed_hours_end_time = "00:00" }, "allowed_hours_end_time",
        "must be after allowed_hours_start_time (00:00 when not given)")
    end)
    it("does not compare a time that is already wrong", function()
      local _, err = c:prepare("create", with(BASE, { allowed_hours_start_time = "25:00",
        allowed_hours_end_time = "09:00" }))
      assert.are.equal(1, #err.errors)
    end)
  end)

  describe("allowed_days", function()
    it("takes lowercase weekday names", function()
      ok({ allowed_days = { "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
        "sunday" } })
      ok({ allowed_days = { "sunday" } })
    end)
    it("rejects other names", function()
      bad({ allowed_days = { "monday", "Tuesday" } }, "allowed_days[2]",
        'must be one of "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", '
        .. '"sunday" (got "Tuesday")')
      bad({ allowed_days = { "mon" } }, "allowed_days[1]", 'must be one of "monday"')
      bad({ allowed_days = { 1 } }, "allowed_days[1]", "must be a string (got number)")
    end)
    it("takes each day once", function()
      bad({ allowed_days = { "monday", "friday", "monday" } }, "allowed_days[3]",
        "is a duplicate: items must be distinct")
    end)
    it("must be a non-empty list", function()
      bad({ allowed_days = {} }, "allowed_days", "is empty: leave the field out instead")
      bad({ allowed_days = "monday" }, "allowed_days", "must be a list (a Lua array) (got string)")
      bad({ allowed_days = { monday = true } }, "allowed_days",
        "must be a list (a Lua array), got a table of named fields")
    end)
  end)

  describe("max_retries", function()
    it("is 1 to 5", function()
      ok({ max_retries = 1 })
      ok({ max_retries = 5 })
      bad({ max_retries = 0 }, "max_retries", "must be between 1 and 5 (got 0)")
      bad({ max_retries = 6 }, "max_retries", "must be between 1 and 5 (got 6)")
    end)
    it("is an integer", function()
      bad({ max_retries = 1.5 }, "max_retries", "must be an integer (got 1.5)")
      bad({ max_retries = 0 / 0 }, "max_retries", "must be a finite number (got NaN)")
      bad({ max_retries = math.huge }, "max_retries", "must be a finite number (got infinity)")
    end)
  end)

  describe("retry_interval", function()
    it("is 10 to 4320 minutes", function()
      ok({ retry_interval = 10 })
      ok({ retry_interval = 4320 })
      bad({ retry_interval = 9 }, "retry_interval", "must be between 10 and 4320 (got 9)")
      bad({ retry_interval = 4321 }, "retry_interval", "must be between 10 and 4320 (got 4321)")
    end)
    it("is an integer", function()
      bad({ retry_interval = 60.5 }, "retry_interval", "must be an integer (got 60.5)")
    end)
  end)

  for _, name in ipairs({ "retry_on_voicemail", "retry_on_goal_incomplete",
    "mark_complete_when_no_leads" }) do
    describe(name, function()
      it("is a boolean", function()
        ok({ [name] = true })
        ok({ [name] = false })
        bad({ [name] = "true" }, name, "must be a boolean (got string)")
        bad({ [name] = 1 }, name, "must be a boolean (got number)")
      end)
    end)
  end

  describe("goal_completion_variable", function()
    it("takes up to 255 characters", function()
      ok({ goal_completion_variable = string.rep("v", 255) })
      bad({ goal_completion_variable = string.rep("v", 256) }, "goal_completion_variable",
        "must be at most 255 characters (got 256)")
    end)
    it("must name a variable", function()
      bad({ goal_completion_variable = "" }, "goal_completion_variable", "must not be empty")
      bad({ goal_completion_variable = true }, "goal_completion_variable", "must be a string (got boolean)")
    end)
  end)

  describe("phone_number_ids", function()
    it("takes distinct integers", function()
      ok({ phone_number_ids = { 1 } })
      ok({ phone_number_ids = { 3, 1, 2 } })
    end)
    it("rejects a fraction instead of truncating it", function()
      bad({ phone_number_ids = { 1, 2.5 } }, "phone_number_ids[2]", "must be an integer (got 2.5)")
    end)
    it("sends an integral float as an integer", function()
      local _, body = ok({ phone_number_ids = { 5.0 } })
      assert.are.equal(5, body.phone_number_ids[1])
      assert.are.equal(1, #body.phone_number_ids)
    end)
    it("rejects duplicates, also when one is written as a float", function()
      bad({ phone_number_ids = { 4, 5, 4 } }, "phone_number_ids[3]", "is a duplicate: items must be distinct")
      bad({ phone_number_ids = { 4, 4.0 } }, "phone_number_ids[2]", "is a duplicate")
    end)
    it("finds duplicates in long lists too", function()
      local ids = {}
      for i = 1, 40 do ids[i] = i end
      ok({ phone_number_ids = ids })
      ids[40] = 3
      bad({ phone_number_ids = ids }, "phone_number_ids[40]", "is a duplicate: items must be distinct")
      ids[40], ids[17] = 40, 2
      bad({ phone_number_ids = ids }, "phone_number_ids[17]", "is a duplicate: items must be distinct")
    end)
    it("rejects strings, zero and ids JSON cannot carry", function()
      bad({ phone_number_ids = { "1" } }, "phone_number_ids[1]", "must be an integer (got string)")
      bad({ phone_number_ids = { 0 } }, "phone_number_ids[1]", "must be at least 1 (got 0)")
      bad({ phone_number_ids = { 1e15 } }, "phone_number_ids[1]", "integers must be below 10^14")
    end)
    it("must be a non-empty list", function()
      bad({ phone_number_ids = {} }, "phone_number_ids", "is empty")
      bad({ phone_number_ids = 3 }, "phone_number_ids", "must be a list (a Lua array) (got number)")
      bad({ phone_number_ids = { [1] = 1, [3] = 3 } }, "phone_number_ids", "is a list with holes")
    end)
  end)

  describe("unknown fields", function()
    it("are rejected with the nearest known name", function()
      bad({ assistantId = 42 }, "assistantId", 'unknown field "assistantId"; did you mean "assistant_id"?')
      bad({ timezon = "UTC" }, "timezon", 'did you mean "timezone"?')
      bad({ max_retry = 2 }, "max_retry", 'did you mean "max_retries"?')
      bad({ customers = {} }, "customers", 'unknown field "customers"')
    end)
    it("pass through with the client option", function()
      local open = campaign.client { provider = "autocalls", api_key = "autocalls-test-key",
        passthrough = true }
      local _, body = check.accepts(open, "create", with(BASE, { new_field = "x" }))
      assert.are.equal("x", body.new_field)
    end)
  end)

  it("reports every problem at once", function()
    local _, err = c:prepare("create", { name = "", max_retries = 9, allowed_days = { "funday" } })
    local fields = {}
    for _, p in ipairs(err.errors) do fields[p.field] = true end
    assert.is_true(fields.name and fields.assistant_id and fields.max_retries
      and fields["allowed_days[1]"])
  end)
end)

describe("autocalls lifecycle routes", function()
  it("lists campaigns with GET /user/campaigns and no query", function()
    local req = assert(c:prepare("list"))
    assert.are.equal("GET", req.method)
    assert.are.equal("https://app.autocalls.ai/api/user/campaigns", req.url)
    assert.is_nil(req.body)
  end)

  it("reports a list filter instead of dropping it", function()
    check.rejects(c, "list", { page = 2 }, "page", 'unknown field "page"')
  end)

  it("deletes with DELETE /user/campaign/{id}", function()
    local req = assert(c:prepare("delete", nil, 42))
    assert.are.equal("DELETE", req.method)
    assert.are.equal("https://app.autocalls.ai/api/user/campaign/42", req.url)
  end)

  it("starts and stops with update-status and an integer campaign_id", function()
    for _, case in ipairs({ { "start", "start" }, { "stop", "stop" } }) do
      local req, body = check.accepts(c, case[1], nil, "42")
      assert.are.equal("POST", req.method)
      assert.are.equal("https://app.autocalls.ai/api/user/campaigns/update-status", req.url)
      assert.are.same({ campaign_id = 42, action = case[2] }, body)
      assert.truthy(req.body:find('"campaign_id":42[,}]'), req.body)
    end
  end)

  it("rejects an id that is not an integer", function()
    check.rejects(c, "start", nil, "id", "must be an integer id", "abc")
  end)

  it("has no update", function()
    local req, err = c:prepare("update", { name = "x" }, 42)
    assert.is_nil(req)
    assert.are.equal("unsupported", err.kind)
  end)

  it("gets through the list, having no get: prepare gives the list's request", function()
    local req = assert(c:prepare("get", nil, 42))
    assert.are.equal("GET", req.method)
    assert.are.equal("https://app.autocalls.ai/api/user/campaigns", req.url)
    check.rejects(c, "get", nil, "id", "must be an integer id", "abc")
  end)
end)
