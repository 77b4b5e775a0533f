-- Bad input never crashes, hangs or leaks (design.md, "Bad input"): every
-- kind the design lists gets a clear error, for each provider; wrong use
-- raises with a string message; memory stays flat. The cases marked
-- "regression" are what fuzzing (tests/fuzz/, the README section "Fuzzing") found.
-- No network: prepare, or a transport that answers from the test. Work that
-- must stay bounded is counted in Lua instructions; what runs in C is timed
-- by make bench (bench/run.lua, "Bad input stays cheap").
local campaign = require "campaign"
local cjson = require "cjson"
local instructions = require "helpers.instructions"
local fixtures = require "helpers.fixtures"

local KEY = "sk-test/SECRET+key="

local PROVIDERS = fixtures.PROVIDERS
-- A free-form (any JSON) place in each provider's create body.
local function with_any(provider, value)
  local t = fixtures.body(provider)
  if provider == "vapi" then
    t.customers = { { number = "+14155551234", assistantOverrides = { variableValues = { x = value } } } }
  else
    t.extra = value -- an unknown field, let through as JSON by passthrough = true
  end
  return t
end

local with = fixtures.body

local function client(provider, extra)
  local opts = { provider = provider, api_key = KEY, passthrough = true }
  for k, v in pairs(extra or {}) do opts[k] = v end
  return campaign.client(opts)
end

-- A transport that answers every call with `resp` (a table or a function).
local function answering(provider, resp, extra)
  local opts = { transport = function(req) if type(resp) == "function" then return resp(req) end
    return resp end, sleep = function() end, max_retries = 0 }
  for k, v in pairs(extra or {}) do opts[k] = v end
  return client(provider, opts)
end

local KINDS = { validation = true, http = true, transport = true, timeout = true, decode = true,
  unsupported = true }

-- nil, err with a well-formed err; returns err.
local function is_error(kind, value, err)
  assert(value == nil, "expected nil, err; got a " .. type(value))
  assert.are.equal("table", type(err))
  assert.is_true(KINDS[err.kind] ~= nil)
  assert.are.equal(kind, err.kind, tostring(err))
  assert.are.equal("string", type(err.message))
  assert.are.equal("string", type(tostring(err)))
  if kind == "validation" then
    assert.is_true(#err.errors >= 1)
    for _, p in ipairs(err.errors) do
      assert.are.equal("string", type(p.field))
      assert.are.equal("string", type(p.message))
    end
  end
  return err
end

-- The problem list of a validation error has one for `field` matching `text`.
local function has_problem(err, field, text)
  for _, p in ipairs(err.errors) do
    if p.field == field and (not text or p.message:find(text, 1, true)) then return true end
  end
  local lines = {}
  for _, p in ipairs(err.errors) do lines[#lines + 1] = p.field .. ": " .. p.message end
  error(("no problem at %q matching %q in:\n  %s"):format(field, tostring(text),
    table.concat(lines, "\n  ")), 2)
end

local function rejects(provider, fields, field, text, op, id)
  local err = is_error("validation", client(provider):prepare(op or "create", fields, id))
  has_problem(err, field, text)
  return err
end

-- A raise whose message is a string.
local function raises_string(fn, text)
  local ok, err = pcall(fn)
  assert.is_false(ok, "expected a raise")
  assert.are.equal("string", type(err))
  if text then assert.is_truthy(err:find(text, 1, true), err) end
end

local function body_of(req) return cjson.decode(req.body) end

describe("bad input", function()
  describe("wrong types", function()
    it("fields that are not a table raise with a string, for every provider", function()
      for _, p in ipairs(PROVIDERS) do
        for _, v in ipairs { "x", 1, true, function() end, coroutine.create(function() end) } do
          raises_string(function() client(p):prepare("create", v) end, "fields must be a table")
          raises_string(function() client(p):create(v) end, "fields must be a table")
        end
      end
    end)

    it("values of the wrong type name the field, for every provider", function()
      rejects("vapi", with("vapi", { name = 5 }), "name", "must be a string (got number)")
      rejects("vapi", with("vapi", { customers = "+14155551234" }), "customers", "must be a list")
      rejects("vapi", with("vapi", { maxConcurrency = "3" }), "maxConcurrency", "got string")
      rejects("smallest", with("smallest", { maxRetries = true }), "maxRetries", "got boolean")
      rejects("autocalls", with("autocalls", { assistant_id = {} }), "assistant_id", "got table")
      rejects("atlas", with("atlas", { name = io.stdout }), "name", "got userdata")
      rejects("vapi", with("vapi", { assistantId = cjson.null }), "assistantId", "got null")
    end)

    it("functions, coroutines and userdata are not JSON anywhere", function()
      for _, p in ipairs(PROVIDERS) do
        for _, v in ipairs { print, coroutine.create(function() end), io.stdout } do
          local err = is_error("validation", client(p):prepare("create", with_any(p, v)))
          assert.is_truthy(err.message:find("cannot be sent as JSON", 1, true), err.message)
        end
      end
    end)

    it("a campaign.core userdata or a light userdata other than cjson.null is refused", function()
      local err = is_error("validation", client("vapi"):prepare("create",
        with_any("vapi", require("campaign.core"))))
      assert.is_truthy(err.message:find("JSON"), err.message)
    end)
  end)

  describe("core.encode", function()
    local core = require "campaign.core"
    local good = fixtures.smallest { name = "x" }

    it("gives the body of a valid table, the problems of an invalid one", function()
      assert.are.equal('{"name":"x","audienceId":"60d0fe4f5311236168a109cb","agentId":"60d0fe4f5311236168a109ca"}',
        core.encode("smallest.create", good, false))
      local ok, problems = core.encode("smallest.create", { name = "" }, false)
      assert.is_false(ok)
      assert.are.equal("name", problems[1].field)
    end)

    it("wrong use raises", function()
      assert.has_error(function() core.encode("no.such", good, false) end)
      assert.has_error(function() core.encode(nil, good) end)
    end)
  end)

  describe("core.json", function()
    local core = require "campaign.core"

    it("writes any JSON value, the problems of one that is not", function()
      assert.are.equal('{"a":[1,"x",true,null]}', core.json({ a = { 1, "x", true, cjson.null } }))
      assert.are.equal('"text"', core.json("text"))
      local ok, problems = core.json({ a = { b = 0 / 0 } })
      assert.is_false(ok)
      assert.are.same({ { field = "a.b", message = "must be a finite number (got NaN)" } }, problems)
      ok, problems = core.json(print)
      assert.is_false(ok)
      assert.are.equal("", problems[1].field)
    end)

    it("wrong use raises", function()
      assert.has_error(function() core.json() end)
    end)
  end)

  describe("core.redact", function()
    local core = require "campaign.core"

    it("replaces every occurrence, left to right, and gives the text back when there is none", function()
      assert.are.equal("[R] and [R]", core.redact("sk-1 and sk-1", "sk-1", "[R]"))
      assert.are.equal("[R]a", core.redact("aaa", "aa", "[R]"))
      assert.are.equal("x[R]", core.redact("xsk", "sk", "[R]"))
      assert.are.equal("no key here", core.redact("no key here", "sk-1", "[R]"))
      assert.are.equal("sk", core.redact("sk", "sk-1", "[R]"))
      assert.are.equal("a\0[R]\0b", core.redact("a\0k\0k\0b", "k\0k", "[R]"))
    end)

    it("regression: a long body full of near-matches of a long key is redacted", function()
      -- string.find(s, key, pos, true) compared the whole key at each position:
      -- seconds per string here (seen while looking into a fuzzer timeout).
      -- The search is in C: make bench times it against a body without them.
      local key = ("k"):rep(200000) .. "!"
      local c = campaign.client { provider = "vapi", api_key = key, max_retries = 0,
        transport = function() return { status = 400, body = ("k"):rep(2 ^ 20) .. key } end }
      local _, err = c:get("abc")
      assert.are.equal("http", err.kind)
      -- Checked with core.redact itself: string.find here would be the slow
      -- search again (and far slower under valgrind).
      local text = tostring(err)
      assert.are.equal(text, core.redact(text, key, "*"))
      assert.are.equal(err.body, core.redact(err.body, key, "*"))
      assert.are.equal(2 ^ 20 + #"[REDACTED]", #err.body)
    end)
  end)

  describe("lists", function()
    it("nil inside a list is a hole, reported with the counts", function()
      rejects("vapi", with("vapi", { customers = { { number = "+14155551234" }, nil,
        { number = "+14155551235" } } }), "customers", "holes")
      rejects("autocalls", with("autocalls", { allowed_days = { "monday", nil, "friday" } }),
        "allowed_days", "holes")
      local err = is_error("validation", client("vapi"):prepare("create", with_any("vapi", { 1, nil, 3 })))
      assert.is_truthy(err.message:find("holes", 1, true), err.message)
    end)

    it("sparse and mixed tables are refused where a list or an object is expected", function()
      rejects("vapi", with("vapi", { customers = { [2] = { number = "+14155551234" } } }),
        "customers", "holes")
      rejects("vapi", with("vapi", { customers = { { number = "+14155551234" }, extra = 1 } }),
        "customers", "mixes")
      rejects("vapi", with("vapi", { customers = { [1.5] = { number = "+14155551234" } } }),
        "customers")
      rejects("vapi", with("vapi", { schedulePlan = { "2026-05-14T09:00:00Z" } }), "schedulePlan")
      local err = is_error("validation", client("vapi"):prepare("create",
        with_any("vapi", { 1, 2, x = 3 })))
      assert.is_truthy(err.message:find("mixes", 1, true), err.message)
      err = is_error("validation", client("vapi"):prepare("create",
        with_any("vapi", { [true] = 1 })))
      assert.is_truthy(err.message:find("mixes", 1, true) or err.message:find("list"), err.message)
    end)

    it("an empty list is refused: the field is left out instead", function()
      rejects("vapi", with("vapi", { customers = {} }), "customers", "is empty")
    end)
  end)

  describe("cycles and depth", function()
    it("a table that contains itself is a clear error, at the root and below", function()
      for _, p in ipairs(PROVIDERS) do
        local t = with(p, {})
        t.self = t
        is_error("validation", client(p):prepare("create", t))
        local inner = {}
        inner.again = inner
        local err = is_error("validation", client(p):prepare("create", with_any(p, inner)))
        assert.is_truthy(err.message:find("cycle", 1, true), err.message)
        local list = {}
        list[1] = list
        err = is_error("validation", client(p):prepare("create", with_any(p, list)))
        assert.is_truthy(err.message:find("cycle", 1, true), err.message)
      end
    end)

    it("deep nesting is bounded with a clear error, never a C stack overflow", function()
      for _, depth in ipairs { 40, 1000, 100000 } do
        local named, listed = "leaf", "leaf"
        for _ = 1, depth do named = { x = named }; listed = { listed } end
        for _, p in ipairs(PROVIDERS) do
          for _, v in ipairs { named, listed } do
            local err = is_error("validation", client(p):prepare("create", with_any(p, v)))
            assert.is_truthy(err.message:find("nested too deeply", 1, true), err.message)
          end
        end
        -- Atlas agent bodies are free-form from the root.
        is_error("validation", client("atlas"):prepare("attach_agent", { a = named }, "c1"))
      end
    end)

    it("a query that nests or refers to itself is refused", function()
      local q = {}
      q.limit = q
      is_error("validation", client("vapi"):prepare("list", q))
    end)
  end)

  describe("numbers", function()
    it("NaN and infinities are refused, typed or free-form", function()
      for _, v in ipairs { 0 / 0, 1 / 0, -1 / 0 } do
        rejects("vapi", with("vapi", { maxConcurrency = v }), "maxConcurrency", "finite")
        rejects("smallest", with("smallest", { retryDelay = v }), "retryDelay", "finite")
        for _, p in ipairs(PROVIDERS) do
          local err = is_error("validation", client(p):prepare("create", with_any(p, { v })))
          assert.is_truthy(err.message:find("finite", 1, true), err.message)
        end
      end
    end)

    it("out-of-range numbers are refused with the range", function()
      rejects("vapi", with("vapi", { maxConcurrency = 0 }), "maxConcurrency", "at least 1")
      rejects("vapi", with("vapi", { maxConcurrency = -1e300 }), "maxConcurrency")
      rejects("vapi", with("vapi", { maxConcurrency = 2 ^ 53 }), "maxConcurrency", "10^14")
      rejects("vapi", with("vapi", { maxConcurrency = math.maxinteger or 2 ^ 63 }), "maxConcurrency", "10^14")
      rejects("vapi", with("vapi", { maxConcurrency = math.mininteger or -2 ^ 63 }), "maxConcurrency")
      rejects("autocalls", with("autocalls", { assistant_id = 1e15 }), "assistant_id", "10^14")
    end)

    it("integers given as floats are taken when whole, refused when not", function()
      local req = assert(client("vapi"):prepare("create", with("vapi", { maxConcurrency = 5.0 })))
      assert.are.equal(5, body_of(req).maxConcurrency)
      assert.is_truthy(req.body:find('"maxConcurrency":5[,}]'), req.body)
      rejects("vapi", with("vapi", { maxConcurrency = 5.5 }), "maxConcurrency", "must be an integer")
      rejects("autocalls", with("autocalls", { assistant_id = 42.25 }), "assistant_id", "integer")
    end)
  end)

  describe("strings", function()
    it("a 10 MB string is sent whole where the provider has no limit, and refused where it has", function()
      local big = string.rep("x", 10 * 1024 * 1024)
      local req = assert(client("vapi"):prepare("create", with("vapi", { name = big })))
      assert.are.equal(big, body_of(req).name)
      rejects("vapi", with("vapi", { customers = { { number = "+14155551234", name = big } } }),
        "customers[1].name", "at most 40 characters")
      is_error("validation", client("vapi"):prepare("update", { name = "x" }, big))
    end)

    it("NUL bytes are refused; CR and LF are carried as JSON escapes", function()
      rejects("vapi", with("vapi", { name = "a\0b" }), "name", "NUL")
      rejects("atlas", with("atlas", { name = "a\0b" }), "name", "NUL")
      local err = is_error("validation", client("vapi"):prepare("create", with_any("vapi", "a\0b")))
      assert.is_truthy(err.message:find("NUL", 1, true), err.message)
      local req = assert(client("vapi"):prepare("create", with("vapi", { name = "a\r\nb" })))
      assert.is_nil(req.body:find("[\r\n]"))
      assert.are.equal("a\r\nb", body_of(req).name)
    end)

    it("regression: a key that is a field name, a NUL byte and more is an unknown field", function()
      -- The name comparison read past the end of the field name (an out-of-bounds read).
      for p, name in pairs { atlas = "CallType", vapi = "name", autocalls = "assistant_id" } do
        for _, key in ipairs { name .. "\0x", name .. "\0\0\0\0\0\0\0\0\0\0" } do
          local err = is_error("validation", client(p, { passthrough = false }):prepare("create",
            with(p, { [key] = "2" })))
          assert.is_truthy(err.message:find("unknown field", 1, true), err.message)
        end
      end
    end)

    it("invalid UTF-8 is refused in values", function()
      for _, s in ipairs { "\255", "a\195", "\237\160\128", "\192\128", "\244\144\128\128" } do
        rejects("vapi", with("vapi", { name = s }), "name", "UTF-8")
        local err = is_error("validation", client("vapi"):prepare("create", with_any("vapi", s)))
        assert.is_truthy(err.message:find("UTF-8", 1, true), err.message)
      end
    end)

    it("regression: invalid UTF-8 is refused in the keys of free-form objects and maps", function()
      -- The keys were sent as they were: the body was not valid JSON text.
      local err = is_error("validation", client("vapi"):prepare("create",
        with_any("vapi", { ["a\195"] = "b" })))
      assert.is_truthy(err.message:find("UTF-8", 1, true), err.message)
      rejects("vapi", with("vapi", { customers = { { number = "+14155551234",
        assistantOverrides = { ["\255"] = 1 } } } }), "customers[1].assistantOverrides.\255", "UTF-8")
    end)
  end)

  describe("ids", function()
    -- Regression: "." was taken, and DELETE .../campaign/. is DELETE .../campaign/.
    local BAD_IDS = { "../x", "..", ".", "a/b", "/", "a?b=c", "a#b", "%2e%2e", "a b", "a\r\nb", "a\0b",
      "", string.rep("a", 201), "\255" }

    it("an id that would change the URL path is refused, on every call that takes one", function()
      for _, p in ipairs(PROVIDERS) do
        local c = client(p)
        for _, op in ipairs { "update", "get", "delete", "start", "stop" } do
          for _, id in ipairs(BAD_IDS) do
            local req, err = c:prepare(op, op == "update" and with(p, {}) or nil, id)
            if not (err and err.kind == "unsupported") then
              is_error("validation", req, err)
              assert.are.equal("id", err.errors[1].field)
            end
          end
        end
      end
    end)

    it("numeric ids must be whole, non-negative and below 10^14", function()
      for _, id in ipairs { -1, 1.5, 1e14, 1e300, 0 / 0, 1 / 0, math.mininteger or -2 ^ 63 } do
        local err = is_error("validation", client("vapi"):prepare("get", nil, id))
        assert.are.equal("id", err.errors[1].field)
      end
      local req = assert(client("autocalls"):prepare("delete", nil, 42.0))
      assert.is_truthy(req.url:find("/42$"), req.url)
    end)

    it("ids that are neither strings nor numbers raise with a string", function()
      for _, id in ipairs { {}, true, print } do
        raises_string(function() client("vapi"):prepare("get", nil, id) end, "id must be a string")
      end
    end)
  end)

  describe("options", function()
    it("header values with CR, LF or NUL are refused", function()
      for _, v in ipairs { "a\r\nX-Injected: 1", "a\n", "a\r", "a\0" } do
        raises_string(function() client("vapi", { headers = { ["X-Trace"] = v } }) end, "CR, LF or NUL")
        raises_string(function() client("vapi", { api_key = v }) end, "CR, LF or NUL")
        raises_string(function() client("vapi", { user_agent = v }) end, "CR, LF or NUL")
      end
      raises_string(function() client("vapi", { headers = { ["Bad Name"] = "x" } }) end, "token")
      raises_string(function() client("vapi", { headers = { [1] = "x" } }) end, "token")
    end)

    it("regression: paths with spaces or control characters are refused", function()
      -- They went into the request URL as given, CR/LF included.
      for _, path in ipairs { "/a\r\nb", "/a b", "/a\0", "/a\tb" } do
        raises_string(function() client("vapi", { paths = { create = path } }) end,
          "paths.create must be a string starting with /")
      end
      assert(client("vapi", { paths = { create = "/v3/campaign" } }):prepare("create", fixtures.vapi()))
    end)

    it("wrong options raise with a string, never with something else", function()
      local cases = { { timeout = 0 / 0 }, { timeout = "3" }, { max_retries = 1e9 },
        { base_url = "ftp://x" }, { base_url = "http://exa mple.com" }, { base_url = 5 },
        { transport = 5 }, { paths = 5 }, { paths = { bogus = "/x" } }, { headers = "x" },
        { [1] = true }, { [{}] = 1 }, { provider = "bland" } }
      for _, extra in ipairs(cases) do
        raises_string(function() client("vapi", extra) end)
      end
      raises_string(function() campaign.client() end)
      raises_string(function() campaign.client("vapi") end)
    end)

    it("regression: an unknown option with a huge name raises at once, the name cut short", function()
      -- "Did you mean" compared the whole name with every option: seconds per megabyte.
      -- A name of ordinary length that gets a hint costs some 5 x 10^4 Lua
      -- instructions; this one gets none.
      local name = string.rep("x", 1024 * 1024)
      local ok, err
      local _, stopped = instructions.count(function()
        ok, err = pcall(campaign.client, { provider = "vapi", [name] = 1 })
      end, 1e6)
      assert.is_false(stopped, "more than 10^6 Lua instructions")
      assert.is_false(ok)
      assert.is_true(#err < 300, #err)
    end)
  end)

  describe("call options", function()
    it("regression: are checked like the client's, so a call cannot retry for ever", function()
      -- max_retries = 1e9 with a provider answering 429 looped a billion times; a NaN
      -- timeout reached libcurl's millisecond conversion (undefined behaviour in C).
      local c = answering("vapi", { status = 429, body = "{}" })
      for _, opts in ipairs { { max_retries = 1e9 }, { max_retries = math.huge },
        { max_retries = -1 }, { timeout = 0 / 0 }, { timeout = "5" }, { connect_timeout = -1 },
        setmetatable({}, { __index = function() return 1e300 end }) } do
        raises_string(function() c:create(fixtures.vapi(), opts) end, "call option")
        raises_string(function() c:get("c1", opts) end, "call option")
      end
      is_error("http", c:create(fixtures.vapi(), { max_retries = 3, timeout = 1 }))
    end)

    it("regression: the libcurl handle takes a NaN or infinite timeout", function()
      local h = require("campaign.core").http {}
      for _, t in ipairs { 0 / 0, 1 / 0, -1 / 0, 1e300 } do
        local resp, kind = h:perform { method = "GET", url = "http://127.0.0.1:1/",
          timeout = t, connect_timeout = t }
        assert.is_nil(resp)
        assert.are.equal("transport", kind)
      end
      h:close()
    end)
  end)

  describe("metamethods", function()
    local function hostile()
      return setmetatable({}, {
        __index = function() error("__index ran") end,
        __newindex = function() error("__newindex ran") end,
        __pairs = function() error("__pairs ran") end,
        __len = function() error("__len ran") end,
        __tostring = function() error("__tostring ran") end,
      })
    end

    it("regression: Atlas shorthands never run them (a window keyed by a table, a hostile list)", function()
      -- windows.check named an unknown key with tostring and measured lists with #.
      local c = client("atlas")
      local key = hostile()
      local windows = { { [key] = 1 } }
      local err = is_error("validation", c:prepare("create", with("atlas", { channel = "outbound",
        TimeWindows = windows })))
      assert.is_truthy(err.message:find("TimeWindows", 1, true), err.message)
      local list = setmetatable({ "09:00-17:00" }, getmetatable(hostile()))
      assert(c:prepare("create", with("atlas", { TimeWindows = list })))
      is_error("validation", c:prepare("create", with("atlas", { channel = hostile() })))
    end)

    it("are never run on fields: what is checked is what lua-cjson sends", function()
      for _, p in ipairs(PROVIDERS) do
        local fields = with(p, {})
        setmetatable(fields, getmetatable(hostile()))
        assert(client(p):prepare("create", fields))
        local inner = hostile()
        rawset(inner, "a", 1)
        local req = assert(client(p):prepare("create", with_any(p, inner)))
        assert.is_truthy(req.body:find('"a":1', 1, true), req.body)
      end
    end)

    it("regression: a __eq on the fields is not run by the Atlas shorthands", function()
      -- normalize compared its copy with the caller's table by ~=, which runs __eq.
      local ran = false
      local fields = setmetatable({ name = "x", channel = "outbound", language = "en-US" },
        { __eq = function() ran = true; error("eq") end })
      local req = assert(client("atlas"):prepare("create", fields))
      assert.is_false(ran)
      assert.is_nil(req.body:find('"channel"', 1, true), req.body)
      assert.are.equal("outbound", rawget(fields, "channel"))
    end)

    it("regression: a query value let through by passthrough must be a plain value", function()
      -- A table went into the URL as "table: 0x...", after running its __tostring.
      local ran = false
      for _, v in ipairs { { a = 1 }, cjson.null,
        setmetatable({}, { __tostring = function() ran = true; return "x" end }) } do
        local err = is_error("validation", client("vapi"):prepare("list", { extra = v }))
        assert.are.equal("extra", err.errors[1].field)
      end
      assert.is_false(ran)
      local req = assert(client("vapi"):prepare("list", { extra = true, n = 2.0 }))
      assert.is_truthy(req.url:find("extra=true&n=2", 1, true), req.url)
    end)

    it("regression: are never run on the fields the Atlas shorthands read", function()
      -- tostring() ran __tostring in messages, and windows.check took #list (a __len
      -- of 2e6 kept prepare busy for minutes).
      local ran = 0
      local mt = { __tostring = function() ran = ran + 1; error({}) end,
        __index = function() ran = ran + 1 end, __len = function() ran = ran + 1; return 2e6 end,
        __pairs = function() ran = ran + 1; error("pairs") end }
      for _, name in ipairs { "channel", "language", "template", "TimeWindows", "ToolIds",
        "campaignType", "CallType", "TemplateId" } do
        local fields = { name = "x", channel = "outbound", language = "en-US" }
        fields[name] = setmetatable({ 1 }, mt)
        is_error("validation", client("atlas"):prepare("create", fields))
      end
      -- A Lua table is JSON text's way in: read raw, as every body is.
      local req = assert(client("atlas"):prepare("create", { name = "x", channel = "outbound",
        language = "en-US", RedialSettings = setmetatable({ 1 }, mt) }))
      assert.are.equal("[1]", cjson.decode(req.body).RedialSettings)
      local c = client("atlas")
      local _, stopped = instructions.count(function()
        assert(c:prepare("create", { name = "x", channel = "outbound", language = "en-US",
          TimeWindows = setmetatable({ { start = "09:00", stop = "17:00" } }, mt) }))
      end, 1e6)
      assert.is_false(stopped, "more than 10^6 Lua instructions")
      assert.are.equal(0, ran)
    end)

    it("regression: a query's __pairs does not change what is sent", function()
      -- query_pairs used pairs(): a __pairs could add keys the validator never saw.
      local q = setmetatable({ limit = 5 }, { __pairs = function()
        return function(_, k) if k == nil then return "injected", "x" end end, nil, nil
      end })
      local req = assert(client("vapi"):prepare("list", q))
      assert.is_nil(req.url:find("injected", 1, true), req.url)
      assert.is_truthy(req.url:find("limit=5", 1, true), req.url)
    end)
  end)

  describe("responses", function()
    it("regression: a status that is not an HTTP status is a transport error, not a raise", function()
      -- NaN made format("%d") raise; 250.5 passed for a success.
      for _, status in ipairs { 0 / 0, 250.5, 1e300, -1, 1000, math.huge } do
        local err = is_error("transport", answering("vapi", { status = status, body = "{}" })
          :create(fixtures.vapi()))
        assert.is_truthy(err.message:find("invalid HTTP status", 1, true), err.message)
      end
    end)

    it("regression: a Retry-After date with a long year is ignored, not raised", function()
      -- os.time raised "field 'year' is out-of-bound" out of c:get.
      for _, value in ipairs { "Wed, 21 Oct 99999999999 07:28:00 GMT", "Wed, 21 Oct 0000 99:99:99 GMT",
        "99999999999999999999999", "\r\n", "" } do
        local c = answering("vapi", { status = 429, headers = { ["Retry-After"] = value }, body = "{}" })
        is_error("http", c:get("c1"))
      end
    end)

    it("regression: a JSON body that is not an object or a list is no success", function()
      -- `false` came back as the body, with no error: `if not body` saw a failure without err.
      for _, text in ipairs { "false", "true", "0", '"text"', "null" } do
        is_error("decode", answering("vapi", { status = 201, body = text }):create(fixtures.vapi()))
        local body = answering("vapi", { status = 200, body = text }):delete("c1")
        assert.are.same({}, body)
      end
    end)

    it("regression: the key echoed in a header or behind JSON escapes is redacted", function()
      -- PHP's json_encode writes "/" as "\/": the raw-text check missed the key, and
      -- err.headers was the transport's own table.
      local escaped = KEY:gsub("/", "\\/")
      local err = is_error("http", answering("autocalls", { status = 401,
        headers = { ["x-echo"] = "key " .. KEY, [KEY] = "1" },
        body = '{"message":"invalid key ' .. escaped .. '"}' }):create(fixtures.autocalls()))
      local seen = {}
      local function no_key(v)
        if type(v) == "string" then
          assert.is_nil(v:find(KEY, 1, true), v)
        elseif type(v) == "table" and not seen[v] then
          seen[v] = true
          for k, x in pairs(v) do no_key(k); no_key(x) end
        end
      end
      no_key(err)
      no_key(tostring(err))
      -- A success body is the caller's own data: returned exactly as sent;
      -- the hook that logs it sees it redacted.
      local logged = {}
      local body = assert(answering("autocalls", { status = 200,
        body = '{"echo":"' .. escaped .. '","u":"sk-test\\u002fSECRET+key="}' },
        { on_response = function(info) logged[#logged + 1] = info end }):create(fixtures.autocalls()))
      assert.are.equal(KEY, body.echo)
      assert.are.equal(KEY, body.u)
      assert.are.equal(1, #logged)
      no_key(logged)
    end)

    it("bodies of random bytes, huge bodies and odd headers give a well-formed outcome", function()
      math.randomseed(7)
      local ops = 0
      for _ = 1, 300 do
        local bytes = {}
        for i = 1, math.random(0, 64) do bytes[i] = string.char(math.random(0, 255)) end
        local status = ({ 200, 201, 204, 301, 400, 404, 429, 500, 503, 999, 0 })[math.random(11)]
        local c = answering("vapi", { status = status, body = table.concat(bytes),
          headers = { ["Retry-After"] = table.concat(bytes), Location = "\r\n" } })
        local body, err = c:create(fixtures.vapi())
        if body == nil then is_error(err.kind, body, err) else assert.are.equal("table", type(body)) end
        ops = ops + 1
      end
      local body, err = answering("vapi", { status = 400,
        body = string.rep("[", 100000) .. string.rep("]", 100000) }):create(fixtures.vapi())
      is_error("http", body, err)
      assert.are.equal(300, ops)
    end)

    it("a transport that raises, yields garbage or returns nothing gives an error", function()
      local results = {
        function() error({}) end, function() error() end, function() return nil end,
        function() return 5 end, function() return nil, { kind = "timeout", sent = false } end,
        function() return { status = 200, body = {} } end,
      }
      for _, fn in ipairs(results) do
        local ok, body, err = pcall(function() return answering("vapi", fn):create(fixtures.vapi()) end)
        assert.is_true(ok, tostring(body))
        if body == nil then assert.are.equal("table", type(err)) end
      end
    end)
  end)

  describe("size", function()
    it("regression: problems past the first 100 are counted, not worked out", function()
      -- Each unknown field got a "did you mean" (an edit distance per known
      -- field) even after the list was full: 65,535 customers with a long typo
      -- took 40 times as long as the same customers with a known field. The
      -- validator is C: make bench times the two side by side.
      local list = {}
      for i = 1, 65535 do
        list[i] = { number = "+14155550101", [("customerNameWithAVeryLongTypo%d"):format(i)] = 1 }
      end
      local err = is_error("validation", client("vapi", { passthrough = false }):prepare("create",
        fixtures.vapi { name = "x", customers = list }))
      assert.are.equal(100, #err.errors)
      assert.is_truthy(err.message:find("and 65436 more problems", 1, true), err.message)
    end)

    it("regression: tables shared many times are bounded, not walked for ever", function()
      -- 1000 x 1000 x 1000 references to one small list took minutes (and lua-cjson
      -- would then have built the whole text).
      local leaf = {}
      for i = 1, 1000 do leaf[i] = "x" end
      local mid, top = {}, {}
      for i = 1, 1000 do mid[i] = leaf end
      for i = 1, 1000 do top[i] = mid end
      -- The walk is C: make bench times it against two million references.
      local err = is_error("validation", client("vapi"):prepare("create", with_any("vapi", top)))
      assert.is_truthy(err.message:find("too large to send", 1, true), err.message)
    end)

    it("regression: one string shared by many customers is bounded by the text it stands for", function()
      local big = string.rep("y", 1024 * 1024)
      local customers = {}
      for i = 1, 100 do
        customers[i] = { number = "+14155551234", assistantOverrides = { firstMessage = big } }
      end
      local err = is_error("validation", client("vapi"):prepare("create",
        with("vapi", { customers = customers })))
      assert.is_truthy(err.message:find("too large to send", 1, true), err.message)
    end)

    it("10,000 customers (Vapi's limit) are fine, 10,001 are refused", function()
      local customers = {}
      for i = 1, 10000 do customers[i] = { number = "+14155551234" } end
      assert(client("vapi"):prepare("create", with("vapi", { customers = customers })))
      customers[10001] = { number = "+14155551234" }
      rejects("vapi", with("vapi", { customers = customers }), "customers")
    end)
  end)

  describe("memory", function()
    it("stays flat over 10,000 prepare calls with bad input", function()
      local c = client("vapi")
      local cyclic = with("vapi", {})
      cyclic.self = cyclic
      local inputs = {
        cyclic,
        with("vapi", { customers = { { number = "+1" }, nil, { number = "x" } } }),
        with("vapi", { maxConcurrency = 0 / 0, name = "a\0b" }),
        with("vapi", { assistantID = "typo", status = "ended", [1] = true }),
        with_any("vapi", setmetatable({ 0 / 0 }, { __index = function() error("no") end })),
      }
      local function run(n)
        for i = 1, n do
          local input = inputs[i % #inputs + 1]
          local req, err = c:prepare("create", input)
          if req ~= nil or err.kind ~= "validation" then error("input " .. i .. " was accepted") end
          c:prepare("get", nil, "../" .. i)
        end
      end
      run(10000) -- warm-up: caches, and the string table grown to its size
      collectgarbage("collect")
      collectgarbage("collect")
      local before = collectgarbage("count")
      run(10000)
      collectgarbage("collect")
      collectgarbage("collect")
      local after = collectgarbage("count")
      -- The string table may keep a resize (64 KiB); one small table kept per
      -- call would be 500 KiB and more.
      assert.is_true(after - before < 160, ("grew by %.1f KiB"):format(after - before))
    end)
  end)
end)
