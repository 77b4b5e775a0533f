-- The Lua half of the fuzz harness (fuzz_campaign.c builds the values).
-- run(case) makes a client, calls one operation with the fuzzed values
-- through a transport that answers with fuzzed responses, and checks the
-- outcome against the API contract (design.md, "Errors" and "Bad input"):
--   * success is a request / a body; failure is nil, err with a well-formed
--     error (kind, message, provider, op, tostring);
--   * wrong use may raise, but only with a string message (or the caller's
--     own error object, raised by the caller's own metamethod);
--   * when the use is right (good options, fields a table, id a string or a
--     number, responses an HTTP server could send), nothing raises and no
--     metamethod of the input runs: the validator and lua-cjson read tables
--     raw;
--   * the API key never shows in a request's tostring or an error, in any form
--     (a success body is the caller's own data, returned as sent);
--   * every request handed to the transport is well formed (valid JSON body,
--     header values without CR/LF, a URL that stays under the base);
--   * the writer (core.encode, core.json, prepare's body) is checked against
--     two decoders: every text it writes decodes, with lua-cjson and with
--     dkjson, to the value it was given (numbers exactly, lists as lists,
--     an empty table marked as an array as []), and the same value gives
--     the same bytes twice.
-- run returns a string describing a violation, or an integer summarising
-- the outcome (libFuzzer feedback).
local D = {}

local campaign, core, cjson
local type, next, tostring, pcall, select = type, next, tostring, pcall, select
local rawget, rawset, setmetatable, getmetatable = rawget, rawset, setmetatable, getmetatable
local format, byte = string.format, string.byte

local KEY = "sk-fuzz/SECRET+key="
D.KEY = KEY

D.PROVIDERS = { "vapi", "smallest", "autocalls", "atlas" }
D.CALLS = { "prepare", "create", "update", "get", "list", "delete", "start", "stop",
  "attach_agent", "oneshot_create", "oneshot_update", "client", "core_validate", "core_url",
  "core_http", "core_redact", "core_url_parts", "core_suggest", "core_fields" }
D.OPS = { "create", "update", "get", "list", "delete", "start", "stop", "attach_agent",
  "attach_agent_template" }
D.OPTS_MODES = { "good", "mutate", "raw" }
local KINDS = { validation = true, http = true, transport = true, timeout = true,
  decode = true, unsupported = true, config = true, cancelled = true }
local METHODS = { GET = true, POST = true, PUT = true, PATCH = true, DELETE = true }

-- ---------------------------------------------------------------------------
-- What the caller's own code does: metamethods and functions that raise,
-- yield or return odd values. Each records that it ran.

local hits = { mm = 0, raised_nil = false, key = false, yields = 0 }
D.hits = hits

-- The caller's own error object: raising it through the library is fine.
local MARK_MT = { __tostring = function() return "fuzz: the caller's error object" end }
local MARK = setmetatable({}, MARK_MT)
local function is_mark(v) return type(v) == "table" and getmetatable(v) == MARK_MT end

local function mm_raise_string() hits.mm = hits.mm + 1; error("fuzz: metamethod raised", 0) end
local function mm_raise_object() hits.mm = hits.mm + 1; error(MARK) end
local function mm_raise_nothing() hits.mm = hits.mm + 1; hits.raised_nil = true; error() end
local function mm_yield(...)
  hits.mm, hits.yields = hits.mm + 1, hits.yields + 1
  return coroutine.yield(...)
end

-- Values as the library sees them: functions as field values, transports,
-- sleep functions, coroutine bodies.
D.functions = {
  function() end,
  mm_raise_string,
  mm_raise_object,
  mm_yield,
  function(...) return ... end,
  function() return {} end,
  function() return nil, "fuzz: plain failure" end,
  function() return { status = 200, body = "{}" } end,
  function() return { status = 0 / 0, headers = 5, body = {} } end,
  function() return nil, { kind = "timeout", message = "fuzz", sent = false } end,
  function() return nil, MARK end,
  tostring,
  type,
  next,
}

local function make_mt(which, extra)
  local w = which % 25
  local function ret() hits.mm = hits.mm + 1; return extra end
  if w == 0 then return { __index = mm_raise_string }
  elseif w == 1 then return { __index = mm_raise_object }
  elseif w == 2 then return { __index = ret }
  elseif w == 3 then return { __index = mm_yield }
  elseif w == 4 then return { __index = type(extra) == "table" and extra or {} }
  elseif w == 5 then return { __pairs = mm_raise_string }
  elseif w == 6 then return { __pairs = mm_raise_object }
  elseif w == 7 then
    -- iterates keys that are not in the table
    return { __pairs = function()
      hits.mm = hits.mm + 1
      local done = false
      return function()
        if done then return nil end
        done = true
        return extra ~= nil and extra or {}, {}
      end
    end }
  elseif w == 8 then return { __pairs = mm_yield }
  elseif w == 9 then return { __len = mm_raise_string }
  elseif w == 10 then return { __len = ret }
  elseif w == 11 then return { __tostring = mm_raise_object }
  elseif w == 12 then return { __tostring = ret }
  elseif w == 13 then return { __tostring = mm_yield }
  elseif w == 14 then return { __name = extra }
  elseif w == 15 then return { __metatable = extra }
  elseif w == 16 then return { __mode = "k" }
  elseif w == 17 then return { __mode = "kv" }
  elseif w == 18 then return { __newindex = mm_raise_string }
  elseif w == 19 then
    return { __eq = mm_raise_string, __lt = mm_raise_object, __le = mm_yield,
      __concat = mm_raise_string, __call = mm_raise_object, __unm = mm_raise_string }
  elseif w == 20 then
    return { __index = mm_raise_string, __newindex = mm_raise_object, __pairs = mm_raise_string,
      __len = mm_raise_string, __tostring = mm_raise_nothing, __name = "fuzz\0name" }
  elseif w == 21 then return { __index = mm_raise_nothing }
  elseif w == 22 then
    -- the caller's own value shows as the key: not a leak of the library's
    return { __tostring = function() hits.mm = hits.mm + 1; hits.key = true; return KEY end }
  elseif w == 24 then
    -- campaign.array's mark (read raw), with a metamethod that must not run
    return { __jsontype = "array", __index = mm_raise_string }
  else return { __index = function(_, k) hits.mm = hits.mm + 1; return k end }
  end
end
D.make_mt = make_mt

-- ---------------------------------------------------------------------------
-- Dictionaries: strings (field names and values from the sources, and the
-- kinds of text the design calls out) and response bodies.

D.strings = {
  "", " ", "x", "0", "-1", "1e400", "nan", "null", "true",
  "+14155550101", "+0123", "+1", "+123456789012345678", "sip:alice@example.com", "sips:x",
  "2026-05-14T09:00:00Z", "2026-05-14T11:00:00+02:00", "2026-05-14T09:00:00.5z",
  "2026-02-29T00:00:00Z", "2024-02-29T23:59:60Z", "0000-01-01T00:00:00-23:59",
  "9999-12-31T23:59:59+23:59", "2026-05-14", "09:00", "17:00", "24:00", "9-5",
  "09:00-17:00", "America/New_York", "Europe/London", "posix/UTC", "localtime",
  "../etc/passwd", "Etc/GMT+5", "UTC", "https://example.com/hook", "http://", "https://",
  "http://127.0.0.1:9/x", "https://api.vapi.ai", "http://[::1]:8080", "ftp://x",
  "https://user:pw@host/", "http://example.com", "//evil", "javascript:x",
  "3f1c2a9e-8d4b-4c6f-9a7e-1b2c3d4e5f60", "60d0fe4f5311236168a109ca",
  "6be44833-9133-4639-b6c9-425aee057c1c",
  "../", "..", "a/b", "?", "/", "#", "%2e%2e", "a?b=c", "id with space", "~", ":",
  "a\r\nX-Injected: 1", "\r", "\n", "\r\n", "\0", "a\0b", "\t",
  "\xff", "\xfe\xff", "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82", "\xc3",
  "\xf0\x9f\x98\x80", "\xc3\xa9", "\xe2\x80\xa8", "\\u0000", "\\ud800",
  "{", "[", "}", "]", "{}", "[]", "\"",
  KEY, "Bearer " .. KEY, "sk-fuzz\\/SECRET+key=", "sk-fuzz",
  "Retry-After", "retry-after", "Location", "location", "Content-Type", "X-Trace",
  "Wed, 21 Oct 2015 07:28:00 GMT", "Thu, 01 Jan 2099 00:00:00 GMT", "120", "0", "-5",
  "99999999999999999999", "1.5",
  "data", "message", "errors", "error", "retry_after", "retryAfter", "status", "id",
}

D.bodies = {
  "", "{}", "[]", "null", "true", "false", "0", "\"text\"", "{\"id\":\"c-1\",\"status\":\"scheduled\"}",
  "{\"data\":{\"id\":\"c-1\"}}", "{\"data\":null}", "{\"data\":[1,2]}", "{\"status\":true,\"data\":{\"_id\":\"x\"}}",
  "{\"message\":\"Bad Request\"}", "{\"message\":[\"name must be a string\",3,{}]}",
  "{\"errors\":{\"name\":[\"The name field is required.\"],\"x\":\"y\",\"1\":[[]]}}",
  "{\"errors\":[\"a\",\"b\",5]}", "{\"error\":\"nope\"}", "{\"retry_after\":5}",
  "{\"retry_after\":-1}", "{\"retryAfter\":1e308}", "{\"retry_after\":\"5\"}",
  "{\"message\":\"invalid key " .. KEY .. "\"}",
  -- PHP's json_encode escapes "/": the key arrives as sk-fuzz\/SECRET+key=
  "{\"message\":\"invalid key sk-fuzz\\/SECRET+key=\"}",
  "{\"data\":{\"echo\":\"sk-fuzz\\/SECRET+key=\"}}",
  "{\"id\":\"sk-fuzz\\u002fSECRET+key=\"}",
  "<html>502 Bad Gateway</html>", "{\"a\":", "{\"a\":NaN}", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
  string.rep("[", 2000) .. string.rep("]", 2000), "{\"a\":1e999}", "\xff\xfe",
  "{\"message\":\"\\u0000\"}", "{\"message\":\"a\\r\\nb\"}",
}

-- String literals of the provider files and the Lua modules: field names,
-- enum values, formats.
local function literals(path, out, seen)
  local f = io.open(path, "rb")
  if not f then return end
  local text = f:read("a")
  f:close()
  for s in text:gmatch('"([%w_%-%.%+:/ ]+)"') do
    if #s <= 40 and not seen[s] then
      seen[s] = true
      out[#out + 1] = s
    end
  end
end

-- ---------------------------------------------------------------------------
-- Templates: known good (and bad) tables from samples.lua, deep-copied.

local samples = require "samples"

local function deep_copy(v, seen)
  if type(v) ~= "table" then
    if v == samples.NULL then return cjson.null end
    return v
  end
  seen = seen or {}
  if seen[v] then return seen[v] end
  local out = {}
  seen[v] = out
  for k, x in next, v do out[deep_copy(k, seen)] = deep_copy(x, seen) end
  return out
end

function D.template(which)
  local s = samples[which % #samples + 1]
  return deep_copy(s.fields or {})
end

-- Edits a copy: walks down (by the bits of path) into table values, then
-- sets t[key] = value there.
function D.edit(t, path, key, value)
  local node = t
  for _ = 1, path % 4 do
    local k, v = next(node)
    local steps = path
    while k ~= nil and type(v) ~= "table" and steps > 0 do
      k, v = next(node, k)
      steps = steps // 2
    end
    if type(v) ~= "table" then break end
    node = v
  end
  if key == nil then return end
  if type(key) == "number" and key ~= key then return end
  rawset(node, key, value)
end

-- ---------------------------------------------------------------------------
-- Checks

-- The key as written and as a provider may echo it (JSON escapes).
local KEY_FORMS = { KEY, "sk-fuzz\\/SECRET+key=", "sk-fuzz\\u002fSECRET+key=",
  "sk-fuzz\\u002FSECRET+key=" }

local function mentions_key(v, seen, depth)
  local tv = type(v)
  if tv == "string" then
    -- Once per string: a long one used in many places took seconds.
    local found = seen[v]
    if found == nil then
      found = false
      for _, form in ipairs(KEY_FORMS) do
        if v:find(form, 1, true) then found = true; break end
      end
      seen[v] = found
    end
    return found
  end
  if tv ~= "table" or depth > 60 or seen[v] then return false end
  seen[v] = true
  for k, x in next, v do
    if mentions_key(k, seen, depth + 1) or mentions_key(x, seen, depth + 1) then return true end
  end
  return false
end

local function check_error(err, provider, op)
  if type(err) ~= "table" then return "err is a " .. type(err) .. ", not a table" end
  if getmetatable(err) ~= campaign.Error then return "err has not the error metatable" end
  local kind = rawget(err, "kind")
  if not KINDS[kind] then return "err.kind is " .. tostring(kind) end
  local message = rawget(err, "message")
  if type(message) ~= "string" then return "err.message is a " .. type(message) end
  local ok, text = pcall(tostring, err)
  if not ok or type(text) ~= "string" then return "tostring(err) failed: " .. tostring(text) end
  if provider and rawget(err, "provider") ~= provider then return "err.provider is wrong" end
  if op and rawget(err, "op") ~= op then
    return "err.op is " .. tostring(rawget(err, "op")) .. ", expected " .. op
  end
  if text ~= format("campaign %s %s: %s", tostring(rawget(err, "provider") or "?"),
    tostring(rawget(err, "op") or "?"), message) then
    return "tostring(err) is not 'campaign <provider> <op>: <message>'"
  end
  if kind == "validation" then
    local list = rawget(err, "errors")
    if type(list) ~= "table" or #list == 0 then return "a validation error without errors" end
    for i = 1, #list do
      local p = list[i]
      if type(p) ~= "table" or type(rawget(p, "field")) ~= "string"
        or type(rawget(p, "message")) ~= "string" then
        return "err.errors[" .. i .. "] is not {field = string, message = string}"
      end
    end
  elseif kind == "http" then
    local status = rawget(err, "status")
    if type(status) ~= "number" or status ~= math.floor(status) then
      return "an http error without an integer status"
    end
  end
  local attempts = rawget(err, "attempts")
  if attempts ~= nil and math.type(attempts) ~= "integer" then return "err.attempts is odd" end
  return nil, kind, message, rawget(err, "errors")
end

-- A request as prepare returns it, or as the transport receives it.
local function check_request(req, base, dots)
  if type(req) ~= "table" then return "the request is a " .. type(req) end
  -- The library's own object: its fields may come from its metatable.
  local method, url, headers, body = req.method, req.url, req.headers, req.body
  if not METHODS[method] then return "request method " .. tostring(method) end
  if type(url) ~= "string" then return "request url is a " .. type(url) end
  if url:find("[%c ]") then return "request url has a control character or a space: " .. url end
  if base and url:sub(1, #base) ~= base then return "request url left the base: " .. url end
  if base and not dots then
    local rest = url:sub(#base + 1)
    if rest:find("/%.%.?/") or rest:find("/%.%.?$") or rest:find("/%.%.?%?") then
      return "request path has a dot segment: " .. url
    end
  end
  if type(headers) ~= "table" then return "request headers are a " .. type(headers) end
  for name, value in next, headers do
    if type(name) ~= "string" or type(value) ~= "string" then
      return "a request header is not a string"
    end
    if value:find("[%z\r\n]") or name:find("[%z\r\n:]") then
      return "a request header has CR, LF or NUL: " .. name
    end
  end
  if body ~= nil then
    if type(body) ~= "string" then return "request body is a " .. type(body) end
    if not utf8.len(body) then return "request body is not valid UTF-8" end
    local ok, decoded = pcall(cjson.decode, body)
    if not ok then return "request body is not JSON: " .. tostring(decoded) end
    if type(decoded) ~= "table" then return "request body is not a JSON object or list" end
  end
end

-- ---------------------------------------------------------------------------
-- The writer against two decoders

local dkjson
-- dkjson is pure Lua: texts longer than this are decoded by lua-cjson only.
local DKJSON_MAX = 1 << 20

-- Whether the number got (decoded by how) is given, exactly. lua-cjson reads
-- every number as a double: an integer beyond 2^53 as the nearest one, as
-- the conversion of given does; it keeps the sign of zero. dkjson reads with
-- tonumber: integers as integers (so -0 as 0), other numbers as doubles.
local function same_number(given, got, how)
  if type(got) ~= "number" then return false end
  if how == "cjson" then
    local want = given * 1.0   -- (-0.0 + 0.0 would be +0.0)
    return got == want and (want ~= 0 or 1 / got == 1 / want)
  end
  if math.type(given) == "integer" then return math.type(got) == "integer" and got == given end
  return got == given
end

-- Whether the table given (read raw) carries campaign.array's mark.
local function marked(given)
  local mt = debug.getmetatable(given)
  return type(mt) == "table" and rawget(mt, "__jsontype") == "array"
end

-- Whether got (what how decoded) is the value given, at any depth.
local function same_value(given, got, how)
  local t = type(given)
  if t == "number" then return same_number(given, got, how) end
  if t == "string" or t == "boolean" then return given == got end
  if given == cjson.null then return got == cjson.null end
  if t ~= "table" or type(got) ~= "table" then return false end
  local n, m = 0, 0
  for k, v in next, given do
    n = n + 1
    if not same_value(v, rawget(got, k), how) then return false end
  end
  for _ in next, got do m = m + 1 end
  if m ~= n then return false end
  if n == 0 and how == "dkjson" then
    -- dkjson tells an empty list from an empty object
    local mt = getmetatable(got)
    return (mt ~= nil and mt.__jsontype == "array") == marked(given)
  end
  return true
end

-- A text the writer wrote from given: nil, or what is wrong with it.
local function check_written(text, given, again)
  if type(text) ~= "string" then return "the writer returned a " .. type(text) end
  if not utf8.len(text) then return "the writer wrote invalid UTF-8" end
  if text:find("[%z\1-\31]") then return "the writer left a control character unescaped" end
  local ok, decoded = pcall(cjson.decode, text)
  if not ok then return "lua-cjson cannot read what the writer wrote: " .. tostring(decoded) end
  if not same_value(given, decoded, "cjson") then
    return "what the writer wrote reads back (lua-cjson) as another value: " .. text:sub(1, 200)
  end
  if #text <= DKJSON_MAX then
    local value, _, problem = dkjson.decode(text, 1, cjson.null)
    if problem then return "dkjson cannot read what the writer wrote: " .. tostring(problem) end
    if not same_value(given, value, "dkjson") then
      return "what the writer wrote reads back (dkjson) as another value: " .. text:sub(1, 200)
    end
  end
  if again and again() ~= text then return "the same value was written twice differently" end
end

-- core.encode and core.json on what core.validate was given: a valid table
-- is written, and so is any value that is JSON.
local function check_writers(schema, fields, passthrough, valid)
  local text, problems = core.encode(schema, fields, passthrough)
  if valid ~= (type(text) == "string") then
    return "core.validate and core.encode disagree on " .. tostring(schema)
  end
  if text then
    local problem = check_written(text, fields,
      function() return (core.encode(schema, fields, passthrough)) end)
    if problem then return "core.encode: " .. problem end
  elseif type(problems) ~= "table" or #problems == 0 then
    return "core.encode returned false without problems"
  end
  local ok, json = pcall(core.json, fields)
  if not ok then return "core.json raised: " .. tostring(json) end
  if json then
    local problem = check_written(json, fields, function() return (core.json(fields)) end)
    if problem then return "core.json: " .. problem end
  end
end

-- ---------------------------------------------------------------------------
-- The transport: answers from the case's responses, one per attempt.

local function make_transport(state, responses)
  return function(req)
    state.calls = state.calls + 1
    local problem = check_request(req, state.base, state.dots)
    if problem and not state.problem then state.problem = "transport got a bad request: " .. problem end
    if type(req) == "table" and type(rawget(req, "timeout")) ~= "number" then
      state.problem = state.problem or "transport got no timeout"
    end
    local r = responses[math.min(state.calls, #responses)]
    local mode = r.mode % 8
    if not r.typed or mode == 5 or mode == 6 then state.untyped = true end
    local resp = { status = r.status, headers = r.headers, body = r.body }
    if mode == 4 then
      return nil, r.body
    elseif mode == 5 then
      return nil, { kind = r.headers, message = r.body, sent = r.status }
    elseif mode == 6 then
      error(r.body, 0)
    elseif mode == 7 then
      hits.yields = hits.yields + 1
      coroutine.yield("fuzz: transport yields")
      return resp
    end
    return resp
  end
end

local function noop() end

local function good_options(case, provider, transport)
  local flags = case.flags
  local opts = {
    provider = provider, api_key = KEY, transport = transport, sleep = noop,
    max_retries = flags % 4, passthrough = (flags // 4) % 2 == 1,
  }
  if provider == "vapi" and (flags // 8) % 2 == 1 then opts.legacy = true end
  if (flags // 16) % 2 == 1 then opts.base_url = "http://127.0.0.1:8080/prefix/" end
  return opts
end

-- Fuzzed option values over the good ones; the transport and the sleep
-- function stay harmless (no network, no real sleeping).
local function mutated_options(case, provider, transport)
  local opts = good_options(case, provider, transport)
  local fuzz = case.opts
  if type(fuzz) == "table" then
    for k, v in next, fuzz do opts[k] = v end
    if (case.flags // 32) % 2 == 1 then setmetatable(opts, debug.getmetatable(fuzz)) end
  else
    opts.api_key = fuzz
  end
  if rawget(opts, "transport") == nil then rawset(opts, "transport", transport) end
  if rawget(opts, "sleep") == nil then rawset(opts, "sleep", noop) end
  return opts
end

local function plain_string_or_number(v)
  return type(v) == "string" or type(v) == "number"
end

-- ---------------------------------------------------------------------------
-- One case

local function pack(...) return { n = select("#", ...), ... } end

-- Runs fn in a coroutine; a yield (from a transport or a metamethod) is
-- resumed a few times, then the coroutine is dropped as the caller would.
local function run_co(fn)
  local co = coroutine.create(fn)
  local res = pack(coroutine.resume(co))
  local resumes = 0
  while res[1] and coroutine.status(co) == "suspended" and resumes < 8 do
    resumes = resumes + 1
    res = pack(coroutine.resume(co))
  end
  if res[1] and coroutine.status(co) == "suspended" then return "yielded" end
  if not res[1] then return "raised", res[2] end
  return "returned", res
end

local function hash(s, h)
  h = h or 5381
  for i = 1, math.min(#s, 64) do h = (h * 33 + byte(s, i)) % 4294967296 end
  return h
end

-- A message without the caller's data in it (quoted text, numbers).
local function shape(message)
  return (message:gsub('"[^"]*"', "Q"):gsub("%d+", "N"))
end

local function outcome_hash(name, provider, kind, message, problems)
  local h = hash(name .. provider .. kind)
  if problems then
    for i = 1, math.min(#problems, 3) do
      local p = problems[i]
      h = hash(shape(p.field) .. shape(p.message), h)
    end
  elseif message then
    h = hash(shape(message), h)
  end
  return h
end

-- A string, or what the caller's own code raised (its object, or nothing).
local function raised_ok(err)
  return type(err) == "string" or is_mark(err) or (err == nil and hits.raised_nil)
end

local function run_case(case)
  D.last = nil
  hits.mm, hits.raised_nil, hits.key, hits.yields = 0, false, false, 0
  local provider = D.PROVIDERS[case.provider % #D.PROVIDERS + 1]
  local name = D.CALLS[case.call % #D.CALLS + 1]
  local mode = D.OPTS_MODES[case.opts_mode % #D.OPTS_MODES + 1]
  local state = { calls = 0 }
  local fields, id = case.fields, case.id

  -- campaign.core directly --------------------------------------------------
  if name == "core_validate" then
    local schemas = core.schemas()
    local schema = case.op < 200 and schemas[case.op % #schemas + 1] or id
    local status, res = run_co(function() return core.validate(schema, fields, case.flags % 2 == 1) end)
    if status == "raised" then
      if not raised_ok(res) then return "core.validate raised a " .. type(res) end
      for _, known in ipairs(schemas) do
        if schema == known then return "core.validate raised for a known schema: " .. tostring(res) end
      end
      return 1
    end
    if status ~= "returned" then return "core.validate yielded" end
    local ok, problems = res[2], res[3]
    if ok == true or ok == false then
      -- No metamethod runs, nothing yields: core.validate showed it.
      local problem = check_writers(schema, fields, case.flags % 2 == 1, ok)
      if problem then return problem end
    end
    if ok == true then return 2 end
    if ok ~= false or type(problems) ~= "table" or #problems == 0 or #problems > 101 then
      return "core.validate returned a malformed result"
    end
    for i = 1, #problems do
      local p = problems[i]
      if type(p.field) ~= "string" or type(p.message) ~= "string" then
        return "core.validate problem " .. i .. " is malformed"
      end
    end
    return outcome_hash(name, tostring(schema), "validation", nil, problems)
  elseif name == "core_redact" then
    -- Any text, any key: a string back, in linear time (a slow one is a
    -- timeout), with no copy of the key left as written.
    local text = type(id) == "string" and id or (type(case.opts) == "string" and case.opts or "")
    local key = type(case.opts) == "string" and case.opts or (type(fields) == "string" and fields
      or KEY)
    local status, res = run_co(function() return core.redact(text, key, "[REDACTED]") end)
    if status ~= "returned" then return "core.redact did not return: " .. tostring(res) end
    local out = res[2]
    if type(out) ~= "string" then return "core.redact returned a " .. type(out) end
    -- A key made of the replacement's own characters can reappear around it.
    if key ~= "" and not key:find("[%[%]REDACT]") and out:find(key, 1, true) then
      return "core.redact left the key in the text"
    end
    if not text:find(key, 1, true) and not text:find("[\\%%]") and out ~= text then
      return "core.redact changed a text without the key"
    end
    return out == text and 11 or 12
  elseif name == "core_url_parts" then
    local url = type(id) == "string" and id or (type(case.opts) == "string" and case.opts or "")
    local status, res = run_co(function() return core.url_parts(url) end)
    if status ~= "returned" then return "core.url_parts did not return: " .. tostring(res) end
    local parts, msg = res[2], res[3]
    if parts == nil then
      return type(msg) == "string" and 13 or "core.url_parts returned nil without a message"
    end
    if type(parts) ~= "table" or type(parts.scheme) ~= "string" then
      return "core.url_parts returned no scheme"
    end
    return 14
  elseif name == "core_suggest" then
    -- Any name and any candidates: one of the candidates or nil back, or a
    -- string error for a name that is not a string or candidates that are
    -- not a list of strings.
    local given = type(id) == "string" and id or (case.flags % 2 == 1 and id or case.opts)
    local list = type(fields) == "table" and fields or case.opts
    local status, res = run_co(function() return core.suggest(given, list) end)
    if status ~= "returned" and status ~= "raised" then return "core.suggest yielded" end
    local strings = type(given) == "string" and type(list) == "table"
    if strings then
      for i = 1, rawlen(list) do
        if type(rawget(list, i)) ~= "string" then strings = false end
      end
    end
    if status == "raised" then
      if type(res) ~= "string" then return "core.suggest raised a " .. type(res) end
      if strings then return "core.suggest raised for a list of strings: " .. res end
      return 21
    end
    if not strings then return "core.suggest took a wrong argument" end
    local best = res[2]
    if best == nil then return 22 end
    for i = 1, rawlen(list) do
      if rawget(list, i) == best then return 23 end
    end
    return "core.suggest returned a string that is not a candidate"
  elseif name == "core_fields" then
    -- A known schema gives {name = kind}; anything else raises a string.
    local schemas = core.schemas()
    local schema = case.op < 200 and schemas[case.op % #schemas + 1] or id
    local status, res = run_co(function() return core.fields(schema) end)
    if status == "raised" then
      if type(res) ~= "string" then return "core.fields raised a " .. type(res) end
      for _, known in ipairs(schemas) do
        if schema == known then return "core.fields raised for a known schema: " .. res end
      end
      return 24
    end
    if status ~= "returned" or type(res[2]) ~= "table" then
      return "core.fields returned no table"
    end
    for k, v in pairs(res[2]) do
      if type(k) ~= "string" or type(v) ~= "string" then
        return "core.fields returned a malformed table"
      end
    end
    return 25
  elseif name == "core_url" then
    local status, res = run_co(function() return core.url(case.opts, id, fields) end)
    if status == "raised" then
      return raised_ok(res) and 3 or ("core.url raised a " .. type(res))
    end
    if status ~= "returned" then return 4 end
    local url, msg = res[2], res[3]
    if url == nil then
      return type(msg) == "string" and hash(msg) or "core.url returned nil without a message"
    end
    if type(url) ~= "string" then return "core.url returned a " .. type(url) end
    -- The path is the caller's (the client passes "" or a checked one): only
    -- what curl parsed must be clean.
    if url:find("[%c ]") and not (type(id) == "string" and id:find("[%c ]")) then
      return "core.url returned a URL with a control character: " .. url
    end
    return 5
  elseif name == "core_http" then
    -- No proxy (nor one from the environment): the loopback only.
    if type(case.opts) == "table" then rawset(case.opts, "proxy", "") end
    local status, res = run_co(function()
      local h = core.http(case.opts)
      if type(fields) == "table" then
        -- Connection refused on the loopback: exercises the request setup.
        -- The fuzzed timeouts are kept when they are numbers (NaN, huge, negative):
        -- a refused connection returns at once whatever they are.
        rawset(fields, "url", "http://127.0.0.1:1/fuzz")
        if type(rawget(fields, "timeout")) ~= "number" then rawset(fields, "timeout", 0.5) end
        if type(rawget(fields, "connect_timeout")) ~= "number" then
          rawset(fields, "connect_timeout", 0.5)
        end
        local r = pack(h:perform(fields))
        h:close()
        h:close()
        return table.unpack(r, 1, r.n)
      end
      return h
    end)
    if status == "raised" then
      return raised_ok(res) and 6 or ("core.http raised a " .. type(res))
    end
    return 7
  end

  -- The client --------------------------------------------------------------
  local transport = make_transport(state, case.responses)
  -- One-shot calls send at once: never without the fuzz transport.
  if mode == "raw" and (name == "oneshot_create" or name == "oneshot_update") then
    mode = "mutate"
  end
  local opts
  if mode == "good" then
    opts = good_options(case, provider, transport)
  elseif mode == "mutate" then
    opts = mutated_options(case, provider, transport)
  else
    opts = case.opts
  end
  local op
  if name == "prepare" then
    op = case.op < 250 and D.OPS[case.op % #D.OPS + 1] or id
  elseif name == "oneshot_create" then
    op = "create"
  elseif name == "oneshot_update" then
    op = "update"
  elseif name == "attach_agent" then
    op = (type(case.call_opts) == "table" and rawget(case.call_opts, "template"))
      and "attach_agent_template" or "attach_agent"
  elseif name ~= "client" then
    op = name
  end

  -- Whether the use is right: then nothing may raise.
  local strict = mode == "good" and case.call_opts == nil
  if name == "prepare" then
    -- one of the provider's operations, not a fuzzed name
    strict = strict and case.op < 250 and require("campaign.providers")[provider].ops[op] ~= nil
  end
  if op == "create" or op == "update" or op == "attach_agent" or op == "attach_agent_template" then
    strict = strict and type(fields) == "table"
  elseif op == "list" then
    strict = strict and (fields == nil or type(fields) == "table")
  end
  if op ~= "create" and op ~= "list" then
    strict = strict and plain_string_or_number(id)
  end
  -- The key check holds when the client's key is KEY (mutated options may
  -- give another: the module hides its own key, not KEY) and the caller did
  -- not put KEY anywhere else in the input.
  local key_check = type(opts) == "table" and rawget(opts, "api_key") == KEY
    and not (mentions_key(fields, {}, 0) or mentions_key(id, {}, 0)
    or mentions_key(case.opts, {}, 0) or mentions_key(case.call_opts, {}, 0))

  hits.mm, hits.raised_nil = 0, false
  local client
  local status, res = run_co(function()
    if name == "oneshot_create" then
      return campaign.create(opts, fields, case.call_opts)
    elseif name == "oneshot_update" then
      return campaign.update(opts, id, fields, case.call_opts)
    end
    client = campaign.client(opts)
    state.base, state.dots = rawget(client, "base_url"), mode ~= "good"
    if rawget(client, "transport") == nil then
      -- The libcurl transport: no I/O here, prepare only.
      if name ~= "prepare" then op = "create"; name = "prepare" end
    end
    -- The real sleep would stall the fuzzer on long Retry-After values.
    if rawget(client, "_sleep") == core.sleep then rawset(client, "_sleep", noop) end
    if name == "client" then
      local text = tostring(client)
      client:close()
      return text
    elseif name == "prepare" then
      return client:prepare(op, fields, id)
    elseif name == "create" then
      return client:create(fields, case.call_opts)
    elseif name == "update" then
      return client:update(id, fields, case.call_opts)
    elseif name == "list" then
      return client:list(fields, case.call_opts)
    elseif name == "attach_agent" then
      return client:attach_agent(id, fields, case.call_opts)
    else
      return client[name](client, id, case.call_opts)
    end
  end)
  -- Garbage from the transport (tables for headers, say) is not checked for the key.
  if state.untyped then strict, key_check = false, false end
  if hits.key then key_check = false end
  if status == "yielded" then
    if strict and hits.yields == 0 then return "a call yielded without any caller code yielding" end
    return 8
  end
  if status == "raised" then
    if not raised_ok(res) then
      return format("%s %s raised a %s error value", provider, tostring(op), type(res))
    end
    if strict then
      return format("%s %s raised on right use: %s", provider, tostring(op), tostring(res))
    end
    if key_check and type(res) == "string" and res:find(KEY, 1, true) then
      return "a raised message shows the API key"
    end
    D.last = "raised: " .. tostring(res)
    return type(res) == "string" and hash(shape(res), 9) or 9
  end
  if strict and hits.mm > 0 then
    return format("%s %s ran a metamethod of the input (%d times)", provider, tostring(op), hits.mm)
  end
  if state.problem then return state.problem end
  if name == "client" then
    if type(res[2]) ~= "string" or (key_check and res[2]:find(KEY, 1, true)) then
      return "tostring(client) is wrong"
    end
    return 10
  end

  local value, err = res[2], res[3]
  if value == nil then
    -- The options may name another provider than the case (raw, mutated).
    local named = client and rawget(client, "provider")
      or (type(opts) == "table" and rawget(opts, "provider")) or provider
    -- attach_agent's errors name the method, whichever route it took.
    local expected_op = op
    if name == "attach_agent" then expected_op = "attach_agent" end
    local problem, kind, message, problems = check_error(err, named, expected_op)
    if problem then return format("%s %s: %s", provider, tostring(op), problem) end
    if name == "prepare" and kind ~= "validation" and kind ~= "unsupported" then
      return "prepare returned a " .. kind .. " error"
    end
    if key_check and mentions_key(err, {}, 0) then
      return format("%s %s: the API key shows in the error: %s", provider, tostring(op), message)
    end
    D.last = kind .. ": " .. message
    return outcome_hash(name, provider, kind, message, problems)
  end
  D.last = "ok " .. (type(value) == "table" and tostring(rawget(value, "url")) or "")
  if err ~= nil then return "a call returned both a value and an error" end
  if name == "prepare" then
    local problem = check_request(value, state.base, state.dots)
    if problem then return format("%s %s: %s", provider, tostring(op), problem) end
    -- A body written from the caller's fields as they are (Atlas's
    -- shorthands make new ones): it reads back as those fields.
    local spec = client and rawget(client, "_ops") and client._ops[op]
    if type(spec) == "table" and spec.schema and not client._normalize and value.body then
      problem = check_written(value.body, fields)
      if problem then return format("%s %s: %s", provider, tostring(op), problem) end
    end
    local ok, text = pcall(tostring, value)
    if not ok or type(text) ~= "string" then return "tostring(req) failed" end
    if key_check and text:find(KEY, 1, true) then return "tostring(req) shows the API key" end
    return hash(name .. provider .. tostring(op) .. value.method)
  end
  if type(value) ~= "table" then
    return format("%s %s succeeded with a %s, not a table", provider, tostring(op), type(value))
  end
  -- A success body is the caller's own data, returned as the provider sent
  -- it: the key may show there (the rule covers errors, messages and hooks).
  return hash(name .. provider .. tostring(op) .. "ok")
end

local verbose = os.getenv("FUZZ_VERBOSE")

-- FUZZ_VERBOSE=2: the case itself, as Lua-like text (for reproducing).
local function dump(v, depth, seen)
  local t = type(v)
  if t == "string" then
    return #v > 80 and format("%q..(%d bytes)", v:sub(1, 80), #v) or format("%q", v)
  elseif t == "number" then
    return math.type(v) == "float" and format("%.17g (float)", v) or tostring(v)
  elseif t ~= "table" then
    return v == cjson.null and "cjson.null" or t
  end
  if seen[v] then return "<cycle>" end
  if depth > 6 then return "{...}" end
  seen[v] = true
  local parts, n = {}, 0
  for k, x in next, v do
    n = n + 1
    if n > 12 then parts[#parts + 1] = "..."; break end
    parts[#parts + 1] = "[" .. dump(k, depth + 1, seen) .. "] = " .. dump(x, depth + 1, seen)
  end
  seen[v] = nil
  local mt = getmetatable(v)
  return (mt and "<mt>" or "") .. "{ " .. table.concat(parts, ", ") .. " }"
end

function D.run(case)
  if verbose == "2" then io.stderr:write("fuzz: case ", dump(case, 0, {}), "\n") end
  local ok, result = pcall(run_case, case)
  if not ok then return "the driver itself raised: " .. tostring(result) end
  if verbose then
    io.stderr:write(format("fuzz: %s %s (%s options) -> %s\n",
      D.PROVIDERS[case.provider % #D.PROVIDERS + 1], D.CALLS[case.call % #D.CALLS + 1],
      D.OPTS_MODES[case.opts_mode % #D.OPTS_MODES + 1], tostring(D.last or result):sub(1, 300)))
  end
  return result
end

function D.init(root)
  campaign = require "campaign"
  core = require "campaign.core"
  cjson = require "cjson"
  dkjson = require "dkjson"
  local seen = {}
  for _, s in ipairs(D.strings) do seen[s] = true end
  -- The words of the rules: every provider's files, and the shared ones
  -- (a file that is not there is skipped).
  local files = { "src/validate.c", "src/json.c", "src/numbers.c", "src/report.c",
    "src/formats.c", "src/text.c", "lua/campaign/atlas.lua", "lua/campaign/windows.lua",
    "lua/campaign/templates.lua" }
  for _, name in ipairs(campaign.providers()) do
    files[#files + 1] = "src/provider_" .. name .. ".c"
    files[#files + 1] = "lua/campaign/providers/" .. name .. ".lua"
  end
  for _, file in ipairs(files) do
    literals(root .. "/" .. file, D.strings, seen)
  end
  for _, s in ipairs(core.schemas()) do
    if not seen[s] then seen[s] = true; D.strings[#D.strings + 1] = s end
  end
  for _, s in ipairs(D.OPS) do
    if not seen[s] then seen[s] = true; D.strings[#D.strings + 1] = s end
  end
end

return D
