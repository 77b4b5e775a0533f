-- campaign.core's helpers for the Lua layer and the command-line tool:
-- core.suggest (the validator's "did you mean" rule for any list of names)
-- and core.fields (the kinds of a schema's top-level fields).
local core = require "campaign.core"

-- The error a call raises, as a string ("" when it does not raise).
local function raised(f, ...)
  local ok, err = pcall(f, ...)
  if ok then return "" end
  return tostring(err)
end

-- The unknown-field problem the validator reports for name in schema, and
-- the name it suggests (nil when it suggests none).
local function validator_hint(schema, name)
  local ok, errors = core.validate(schema, { [name] = true })
  assert.is_false(ok, schema .. ": " .. name .. " was accepted")
  for _, e in ipairs(errors) do
    local hint = e.message:match('^unknown field ".-"; did you mean "(.-)"%?$')
    if hint then return hint end
    if e.message:find('^unknown field "') then return nil end
  end
  error(schema .. ": no unknown-field problem for " .. name)
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

local function reversed(list)
  local out = {}
  for i = #list, 1, -1 do out[#out + 1] = list[i] end
  return out
end

describe("core.suggest", function()
  it("finds a name one edit away: a letter left out, added, changed or two swapped", function()
    local names = { "name", "status", "assistantId" }
    assert.are.equal("name", core.suggest("nme", names))
    assert.are.equal("name", core.suggest("namee", names))
    assert.are.equal("status", core.suggest("statos", names))
    assert.are.equal("assistantId", core.suggest("assitsantId", names))
  end)

  it("counts a swap of two neighbours as one edit", function()
    -- Two swaps: 2 edits here, 3 by plain Levenshtein distance (over the limit of 2).
    assert.are.equal("name", core.suggest("anem", { "name" }))
  end)

  it("ignores case", function()
    assert.are.equal("name", core.suggest("NAME", { "name" }))
    assert.are.equal("assistantId", core.suggest("AssistantID", { "assistantId" }))
  end)

  it("returns the nearest candidate, and the first of equally near ones", function()
    assert.are.equal("status", core.suggest("statuss", { "state", "status", "name" }))
    assert.are.equal("cat", core.suggest("hat", { "cat", "bat" }))
    assert.are.equal("bat", core.suggest("hat", { "bat", "cat" }))
  end)

  it("returns the candidate itself, bytes and all", function()
    local candidate = "na\0me"
    assert.are.equal(candidate, core.suggest("na\0mx", { "other", candidate }))
  end)

  it("allows max(2, #name // 3) edits and no more", function()
    -- 9 characters: 3 edits allowed.
    assert.are.equal("abcdefghi", core.suggest("abcdefxyz", { "abcdefghi" }))
    assert.is_nil(core.suggest("abcdewxyz", { "abcdefghi" }))
    -- Short names: 2 edits.
    assert.are.equal("xy", core.suggest("ab", { "xy" }))
    assert.are.equal("axy", core.suggest("abc", { "axy" }))
    assert.is_nil(core.suggest("abc", { "xyz" }))
  end)

  it("returns nil for far names and for an empty list", function()
    assert.is_nil(core.suggest("zzzzzz", { "name", "status" }))
    assert.is_nil(core.suggest("telephone", { "id" }))
    assert.is_nil(core.suggest("name", {}))
    assert.is_nil(core.suggest("", {}))
  end)

  it("never finds names longer than 48 bytes, however long", function()
    local a48, a49 = string.rep("a", 48), string.rep("a", 49)
    assert.are.equal(a48, core.suggest(string.rep("a", 47) .. "b", { a48 }))
    assert.is_nil(core.suggest(a49, { a49 }))
    assert.are.equal("name", core.suggest("nmae", { a49, "name" }))
    local huge = string.rep("x", 10 * 1024 * 1024)
    assert.is_nil(core.suggest(huge, { huge, "x" }))
    assert.are.equal("xx", core.suggest("x", { huge, "xx" }))
  end)

  it("goes through a long list", function()
    local list = {}
    for i = 1, 100000 do list[i] = "field" .. i end
    list[#list + 1] = "target"
    assert.are.equal("target", core.suggest("targte", list))
  end)

  it("reads the list raw: a metatable's __index plays no part", function()
    local list = setmetatable({}, { __index = function() return "name" end, __len = function() return 3 end })
    assert.is_nil(core.suggest("nmae", list))
  end)

  it("raises a clear error for a name that is not a string", function()
    assert.matches("bad argument #1 .*string expected, got number", raised(core.suggest, 42, { "name" }))
    assert.matches("bad argument #1 .*string expected, got nil", raised(core.suggest, nil, { "name" }))
    assert.matches("bad argument #1 .*string expected, got table", raised(core.suggest, { "name" }, { "name" }))
    assert.matches("bad argument #1 .*string expected, got no value", raised(core.suggest))
  end)

  it("raises a clear error for candidates that are not a list of strings", function()
    assert.matches("bad argument #2 .*table expected, got string", raised(core.suggest, "name", "name"))
    assert.matches("bad argument #2 .*table expected, got no value", raised(core.suggest, "name"))
    assert.matches("bad argument #2 .*list of strings expected, got number at index 2",
      raised(core.suggest, "name", { "status", 7 }))
    assert.matches("bad argument #2 .*list of strings expected, got table at index 1",
      raised(core.suggest, "name", { {} }))
    assert.matches("bad argument #2 .*list of strings expected, got boolean at index 3",
      raised(core.suggest, "name", { "a", "b", true, "name" }))
  end)

  it("suggests what the validator suggests for a misspelt field, in every schema", function()
    local hinted, unhinted = 0, 0
    for _, schema in ipairs(core.schemas()) do
      local names = sorted_keys(core.fields(schema))
      for _, name in ipairs(names) do
        -- The first letter moved to the end (near), and the name backwards (far, mostly).
        for _, typo in ipairs { name:sub(2) .. name:sub(1, 1), name:reverse() } do
          if not core.fields(schema)[typo] then
            local forward = core.suggest(typo, names)
            -- The validator tries names in its own order: compare where the
            -- order does not matter (no tie).
            if forward == core.suggest(typo, reversed(names)) then
              assert.are.equal(validator_hint(schema, typo), forward, schema .. ": " .. typo)
              if forward then hinted = hinted + 1 else unhinted = unhinted + 1 end
            end
          end
        end
      end
    end
    assert.is_true(hinted > 100, "only " .. hinted .. " names with a hint compared")
    assert.is_true(unhinted > 50, "only " .. unhinted .. " names without a hint compared")
  end)
end)

describe("core.fields", function()
  local KINDS = {
    string = true, integer = true, number = true, boolean = true, object = true,
    array = true, map = true, json = true, forbidden = true,
  }

  it("gives the kinds of Vapi's fields", function()
    local create = core.fields("vapi.create")
    assert.are.equal("string", create.name)
    assert.are.equal("string", create.assistantId)
    assert.are.equal("array", create.customers)
    assert.are.equal("array", create.dialPlan)
    assert.are.equal("object", create.schedulePlan)
    assert.are.equal("integer", create.maxConcurrency)
    assert.are.equal("map", create.assistantOverrides)
    assert.are.equal("forbidden", create.status)
    assert.is_nil(create.number) -- a customer's field, not a top-level one
    local update = core.fields("vapi.update")
    assert.are.equal("string", update.status)
    assert.are.equal("forbidden", update.customers)
    local list = core.fields("vapi.list")
    assert.are.equal("integer", list.page)
    assert.are.equal("integer", list.limit)
    assert.are.equal("boolean", list.includeCounters)
    assert.are.equal("string", list.createdAtGt)
    assert.are.equal("string", list.sortOrder)
    assert.are.equal(15, #sorted_keys(list))
  end)

  it("gives the kinds of Smallest's fields", function()
    local create = core.fields("smallest.create")
    assert.are.equal("string", create.agentId)
    assert.are.equal("array", create.phoneNumberIds)
    assert.are.equal("integer", create.maxRetries)
    assert.are.equal("string", create.scheduledAt)
    local list = core.fields("smallest.list")
    assert.are.equal("integer", list.page)
    assert.are.equal("integer", list.offset)
    assert.are.equal("string", list.status)
    assert.are.equal(6, #sorted_keys(list))
  end)

  it("gives the kinds of Autocalls' fields", function()
    local create = core.fields("autocalls.create")
    assert.are.equal("integer", create.assistant_id)
    assert.are.equal("string", create.timezone)
    assert.are.equal("boolean", create.retry_on_voicemail)
    assert.are.equal("array", create.allowed_days)
    assert.are.equal("integer", create.max_calls_in_parallel)
    -- The list query documents no parameters.
    assert.are.same({}, core.fields("autocalls.list"))
  end)

  it("gives the kinds of Atlas' fields", function()
    local campaign = core.fields("atlas.campaign")
    assert.are.equal("string", campaign.campaignType)
    assert.are.equal("string", campaign.TimeWindows)
    assert.are.equal("boolean", campaign.IsActive)
    assert.are.equal("integer", campaign.DailyCallLimit)
    assert.are.equal("forbidden", campaign.PartitionKey)
    assert.are.equal("forbidden", campaign["odata.etag"])
    -- Open to any names, and knows none.
    assert.are.same({}, core.fields("atlas.agent"))
    assert.are.same({}, core.fields("atlas.list"))
  end)

  it("takes a handle from core.schema as well as a name", function()
    assert.are.same(core.fields("vapi.list"), core.fields(core.schema("vapi.list")))
    assert.are.same(core.fields("smallest.create"), core.fields(core.schema("smallest.create")))
  end)

  it("gives a new table each time", function()
    local first = core.fields("vapi.list")
    first.page = "string"
    first.extra = "integer"
    local again = core.fields("vapi.list")
    assert.are.equal("integer", again.page)
    assert.is_nil(again.extra)
  end)

  it("agrees with the validator: each kind is what a value of the wrong type is told to be", function()
    local WRONG = {
      string = { true, "must be a string" },
      integer = { 1.5, "must be an integer" },
      number = { "1", "must be a number" },
      boolean = { "yes", "must be a boolean" },
      object = { "x", "must be a table of named fields" },
      array = { "x", "must be a list" },
      map = { "x", "must be a table of named values" },
    }
    -- The first problem the validator reports at name for value.
    local function problem(schema, name, value)
      local ok, errors = core.validate(schema, { [name] = value })
      assert.is_false(ok, schema .. "." .. name .. " took " .. tostring(value))
      for _, e in ipairs(errors) do
        if e.field == name then return e.message end
      end
      error(schema .. "." .. name .. ": no problem reported there")
    end
    local checked = 0
    for _, schema in ipairs(core.schemas()) do
      for name, kind in pairs(core.fields(schema)) do
        assert.is_true(KINDS[kind], schema .. "." .. name .. ": " .. tostring(kind))
        -- "json" takes any value: there is no wrong one to try.
        if kind ~= "json" then
          local wrong = WRONG[kind]
          local message = problem(schema, name, wrong and wrong[1] or 1)
          assert.is_nil(message:find("unknown field", 1, true), schema .. "." .. name)
          if wrong then
            assert.are.equal(1, message:find(wrong[2], 1, true), schema .. "." .. name .. ": " .. message)
          end
          checked = checked + 1
        end
      end
    end
    assert.is_true(checked > 100, "only " .. checked .. " fields checked")
  end)

  it("raises for a schema it does not know", function()
    assert.matches("bad argument #1 .*no schema named 'vapi.nope'", raised(core.fields, "vapi.nope"))
    assert.matches("bad argument #1 .*no schema named ''", raised(core.fields, ""))
    assert.matches("bad argument #1 .*string expected, got table", raised(core.fields, {}))
    assert.matches("bad argument #1 .*string expected, got no value", raised(core.fields))
    assert.matches("bad argument #1 .*not a schema handle", raised(core.fields, require("cjson").null))
  end)
end)

describe("core.http perform", function()
  local rawserver = require "helpers.rawserver"
  local srv

  setup(function()
    srv = rawserver.start("canned", { status = 201, body = '{"ok":true}',
      headers = { ["content-TYPE"] = "text/plain", ["X-Trace"] = " a ", ["X-Trace-Too"] = "b" } })
  end)

  teardown(function()
    if srv then srv:stop() end
  end)

  it("takes the request as a table or as the values of the call, and sends the same", function()
    local h = core.http({})
    h:headers(1, { ["X-Set"] = "one" })
    local url = srv.url .. "/p"
    local before = #srv:texts()
    local a = assert(h:perform { method = "PUT", url = url, headers = 1, body = '{"a":1}',
      timeout = 5, connect_timeout = 2, no_resend = true })
    local b = assert(h:perform("PUT", url, 1, '{"a":1}', 5, 2, true))
    local c = assert(h:perform("GET", url, { ["X-Own"] = "yes" }))
    h:close()
    local texts = srv:texts()
    assert.are.equal(before + 3, #texts)
    assert.are.equal(texts[before + 1], texts[before + 2])
    assert.truthy(texts[before + 2]:find("^PUT /p HTTP/1.1\n"))
    assert.truthy(texts[before + 2]:find("\nX%-Set: one\n"))
    assert.truthy(texts[before + 2]:find("\n\n{\"a\":1}$"))
    assert.truthy(texts[before + 3]:find("X-Own: yes", 1, true))
    for _, resp in ipairs { a, b, c } do
      assert.are.equal(201, resp.status)
      assert.are.equal('{"ok":true}', resp.body)
    end
  end)

  it("gives the answer's headers when asked for: names in lower case, values trimmed, repeats joined", function()
    local h = core.http({})
    local resp = assert(h:perform("GET", srv.url .. "/p", nil, nil, 5))
    h:close()
    assert.are.equal("application/json, text/plain", resp.headers["content-type"])
    assert.are.equal("a", resp.headers["x-trace"])
    assert.are.equal("b", resp.headers["x-trace-too"])
    assert.are.equal(resp.headers, resp.headers)
    assert.is_nil(resp.nothing)
  end)

  it("raises on wrong use in either form", function()
    local h = core.http({})
    assert.matches("request needs method and url", raised(h.perform, h, "GET"))
    assert.matches("request needs method and url", raised(h.perform, h, {}))
    assert.matches("request body must be a string", raised(h.perform, h, "POST", srv.url, nil, {}))
    assert.matches("option timeout must be a number", raised(h.perform, h, "GET", srv.url, nil, nil,
      "5"))
    assert.matches("no header set 9", raised(h.perform, h, "GET", srv.url, 9))
    h:close()
  end)
end)

describe("core.http header sets (handle:headers)", function()
  local rawserver = require "helpers.rawserver"
  local srv

  setup(function()
    srv = rawserver.start("canned", { status = 200, body = '{"ok":true}' })
  end)

  teardown(function()
    if srv then srv:stop() end
  end)

  local function request(headers)
    return { method = "GET", url = srv.url .. "/h", headers = headers, timeout = 5 }
  end

  it("are built once and sent by every request that names their slot", function()
    local h = core.http({})
    h:headers(1, { ["X-Set"] = "one", Accept = "application/json" })
    h:headers(2, { ["X-Set"] = "two" })
    local before = #srv:texts()
    assert.are.equal(200, h:perform(request(1)).status)
    assert.are.equal(200, h:perform(request(2)).status)
    assert.are.equal(200, h:perform(request(1)).status)
    -- A request with its own headers sends those instead.
    assert.are.equal(200, h:perform(request({ ["X-Own"] = "yes" })).status)
    h:close()
    local texts = srv:texts()
    assert.are.equal(before + 4, #texts)
    local function has(i, line) return texts[before + i]:find(line, 1, true) ~= nil end
    assert.is_true(has(1, "X-Set: one"))
    assert.is_true(has(1, "Accept: application/json"))
    assert.is_true(has(2, "X-Set: two"))
    assert.is_false(has(2, "X-Set: one"))
    assert.is_true(has(3, "X-Set: one"))
    assert.is_true(has(4, "X-Own: yes"))
    assert.is_false(has(4, "X-Set"))
  end)

  it("are used by a batch's transfers too", function()
    local h = core.http({})
    h:headers(3, { ["X-Batch"] = "b" })
    local before = #srv:texts()
    for i = 1, 4 do h:add(i, request(3)) end
    local seen = 0
    while seen < 4 do seen = seen + #h:wait(1) end
    h:close()
    local texts = srv:texts()
    assert.are.equal(before + 4, #texts)
    for i = before + 1, #texts do assert.truthy(texts[i]:find("X-Batch: b", 1, true), texts[i]) end
  end)

  it("are set once, in slots 1 to 4, of string names and values; a request names one set", function()
    local h = core.http({})
    h:headers(1, { A = "1" })
    assert.matches("header set 1 is set already", raised(h.headers, h, 1, { A = "2" }))
    assert.matches("slot must be 1 to 4", raised(h.headers, h, 0, {}))
    assert.matches("slot must be 1 to 4", raised(h.headers, h, 5, {}))
    assert.matches("table expected", raised(h.headers, h, 2, "A: 1"))
    assert.matches("header names and values must be strings", raised(h.headers, h, 2, { A = 1 }))
    -- A set that raised while being read is not set.
    h:headers(2, { B = "2" })
    assert.matches("header set 3 was never set", raised(h.perform, h, request(3)))
    assert.matches("no header set 7", raised(h.perform, h, request(7)))
    assert.matches("no header set 1.5", raised(h.perform, h, request(1.5)))
    h:close()
    assert.matches("the HTTP handle is closed", raised(h.headers, h, 4, {}))
  end)
end)

describe("core.writer", function()
  local cjson = require "cjson"
  local mt = { __index = function() return "lazy" end }
  local url = "https://api.vapi.ai/v2/campaign"
  local FIELDS = { name = "Q2", assistantId = "a", phoneNumberId = "p",
    customers = { { number = "+14155550101" } } }

  it("makes the request of a body in one call: method, url, the body the walk wrote", function()
    local write = core.writer(core.schema("vapi.create"), "POST", url, mt)
    local req = write(FIELDS)
    assert.are.equal("POST", rawget(req, "method"))
    assert.are.equal(url, rawget(req, "url"))
    assert.are.equal(core.encode("vapi.create", FIELDS), rawget(req, "body"))
    assert.are.equal(mt, getmetatable(req))
    assert.are.equal("lazy", req.headers)
    assert.are_not.equal(req, write(FIELDS))   -- a new table every time
  end)

  it("answers false and the problems as core.encode does", function()
    local write = core.writer("vapi.create", "POST", url, mt)
    local ok, problems = write({ name = "Q2" })
    assert.is_false(ok)
    local _, same = core.encode("vapi.create", { name = "Q2" })
    assert.are.same(same, problems)
    ok, problems = write("not a table")
    assert.is_false(ok)
    assert.are.equal("fields must be a table (got string)", problems[1].message)
  end)

  it("lets passthrough names through when asked", function()
    local write = core.writer("vapi.create", "POST", url, mt)
    local fields = { newField = 1 }
    for k, v in pairs(FIELDS) do fields[k] = v end
    assert.is_false((write(fields)))
    assert.truthy(cjson.decode(write(fields, true).body).newField)
  end)

  it("hands back nil when the provider's Lua step is due (known texts given)", function()
    local write = core.writer("atlas.campaign", "POST", url, mt, {})
    local fields = { name = "x", campaignType = "1", CallType = "2",
      TemplateId = "6be44833-9133-4639-b6c9-425aee057c1c" }
    assert.is_table(write(fields))
    fields.channel = "outbound"
    assert.is_nil(write(fields))
  end)

  it("raises a clear error for bad arguments", function()
    assert.has_error(function() core.writer("nope", "POST", url, mt) end)
    assert.has_error(function() core.writer("vapi.create", 1, url, mt) end)
    assert.has_error(function() core.writer("vapi.create", "POST", url, "mt") end)
    assert.has_error(function() core.writer("vapi.create", "POST", url, mt, "known") end)
  end)
end)
