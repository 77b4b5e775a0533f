-- Writes the seed corpus: the tables of samples.lua (and a few option,
-- response and campaign.core cases), encoded in the byte format that
-- fuzz_campaign.c decodes.
--   lua5.4 tests/fuzz/gen_seeds.lua tests/fuzz/corpus     (make fuzz-seeds)
-- Strings are written literally (never as dictionary indexes), so the seeds
-- keep their meaning when the dictionary changes.
package.path = "tests/fuzz/?.lua;" .. package.path
local samples = require "samples"

local dir = assert(arg[1], "usage: gen_seeds.lua DIR")

local PROVIDERS = { vapi = 0, smallest = 1, autocalls = 2, atlas = 3 }
-- The order of driver.CALLS and driver.OPS.
local CALLS = { prepare = 0, create = 1, update = 2, get = 3, list = 4, delete = 5, start = 6,
  stop = 7, attach_agent = 8, oneshot_create = 9, oneshot_update = 10, client = 11,
  core_validate = 12, core_url = 13, core_http = 14, core_redact = 15,
  core_url_parts = 16, core_suggest = 17, core_fields = 18 }
local OPS = { create = 0, update = 1, get = 2, list = 3, delete = 4, start = 5, stop = 6,
  attach_agent = 7, attach_agent_template = 8 }
local MODES = { good = 0, mutate = 1, raw = 2 }

local char, pack = string.char, string.pack

local function varint(n)
  local out = {}
  repeat
    local b = n % 128
    n = n // 128
    out[#out + 1] = char(n > 0 and b + 128 or b)
  until n == 0
  return table.concat(out)
end

local function str(s) return char(8) .. varint(#s) .. s end

local encode

local function is_list(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  for i = 1, n do if t[i] == nil then return false end end
  return n > 0
end

function encode(v)
  local t = type(v)
  if v == nil then return char(0)
  elseif v == false then return char(1)
  elseif v == true then return char(2)
  elseif v == samples.NULL then return char(18, 0)
  elseif t == "string" then return str(v)
  elseif math.type(v) == "integer" then
    if v >= -128 and v <= 127 then return char(3, v % 256) end
    return char(4) .. pack("<i8", v)
  elseif t == "number" then
    return char(5) .. pack("<d", v)
  elseif t == "table" then
    local parts = {}
    if is_list(v) then
      assert(#v <= 255)
      parts[1] = char(12, #v)
      for i = 1, #v do parts[#parts + 1] = encode(v[i]) end
    else
      local keys = {}
      for k in pairs(v) do keys[#keys + 1] = k end
      table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
      assert(#keys <= 255)
      parts[1] = char(11, #keys)
      for _, k in ipairs(keys) do
        parts[#parts + 1] = encode(k)
        parts[#parts + 1] = encode(v[k])
      end
    end
    return table.concat(parts)
  end
  error("cannot encode a " .. t)
end

-- A transport answer of the typed form: mode, form 0, status, headers, body.
local function response(status, headers, body, mode)
  local parts = { char(mode or 0, 0, 200) .. pack("<I2", status) }
  local names = {}
  for name in pairs(headers or {}) do names[#names + 1] = name end
  table.sort(names)
  parts[#parts + 1] = char(#names)
  for _, name in ipairs(names) do
    parts[#parts + 1] = char(0) .. varint(#name) .. name .. varint(#headers[name]) .. headers[name]
  end
  parts[#parts + 1] = varint(#body) .. body
  return table.concat(parts)
end

local RESPONSES = {
  response(201, { ["Content-Type"] = "application/json" }, '{"id":"c-1","status":"scheduled"}'),
  response(200, {}, '{"status":true,"data":{"_id":"c-1"}}'),
  response(400, {}, '{"message":["name must be a string"],"error":"Bad Request"}'),
  response(422, {}, '{"errors":{"name":["The name field is required."]}}'),
  response(429, { ["Retry-After"] = "1" }, '{"message":"slow down"}'),
  response(503, { ["retry-after"] = "Wed, 21 Oct 2015 07:28:00 GMT" }, ""),
  response(500, {}, "<html>oops</html>"),
  response(302, { Location = "https://elsewhere.example/" }, ""),
  response(200, {}, "not json"),
  response(0, {}, "connection reset", 4),
  response(0, {}, "timeout", 5),
  response(204, {}, "", 7),
}

local function case(provider, call, op, mode, flags, opts, fields, id, call_opts, responses)
  local parts = { char(provider, call, op, mode, flags), encode(opts), encode(fields),
    encode(id), encode(call_opts), char(#responses - 1) }
  for _, r in ipairs(responses) do parts[#parts + 1] = r end
  return table.concat(parts)
end

local seeds = {}
local function seed(name, bytes) seeds[#seeds + 1] = { name = name, bytes = bytes } end

for i, s in ipairs(samples) do
  local call, op = s.call, 0
  local prepared = call:match("^prepare_(.*)$")
  if prepared then call, op = "prepare", OPS[prepared] end
  local provider = PROVIDERS[s.provider]
  local a = RESPONSES[(i - 1) % #RESPONSES + 1]
  local b = RESPONSES[(i + 4) % #RESPONSES + 1]
  seed(string.format("%03d-%s-%s", i, s.provider, s.call),
    case(provider, CALLS[call], op, MODES.good, 1, nil, s.fields, s.id, nil, { a }))
  seed(string.format("%03d-%s-%s-retry", i, s.provider, s.call),
    case(provider, CALLS[call], op, MODES.good, 2, nil, s.fields, s.id, nil,
      { RESPONSES[5], RESPONSES[6], b }))
  seed(string.format("%03d-%s-validate", i, s.provider),
    case(provider, CALLS.core_validate, i, MODES.good, 0, nil, s.fields, nil, nil, { a }))
end

-- Client options: good ones, and every kind of wrong one.
local OPTION_CASES = {
  { headers = { ["X-Trace"] = "abc" }, user_agent = "fuzz/1", timeout = 5, max_retries = 1 },
  { headers = { ["X-Bad"] = "a\r\nInjected: 1" } },
  { headers = { ["Bad Name"] = "x" } },
  { base_url = "ftp://example.com" },
  { base_url = "http://example.com" },
  { base_url = "https://example.com/white/label/", allow_http = true },
  { timeout = 0 / 0, max_retries = 1000 },
  { api_key = "a\0b" },
  { paths = { create = "/v3/campaign" } },
  { paths = { create = "no-slash", bogus = "/x" } },
  { timout = 3 },
  { legacy = true },
  { passthrough = true, max_body = 0 },
  { allow_http = "false", base_url = "http://example.com" },
  { base_url = "http://127.0.0.1:x@api.example.com" },
  { base_url = "https://api.example.com/v1?x=1#f" },
  { base_url = "http://[::1]:8080/v" },
  { headers = { ["user-agent"] = "x", ["X-A"] = "1", ["x-a"] = "2" } },
  { headers = { authorization = "Bearer other", Connection = "close" } },
  { api_key = "short" },
}
for i, opts in ipairs(OPTION_CASES) do
  seed(string.format("opts-%02d", i),
    case(i % 4, CALLS.create, 0, MODES.mutate, 0, opts, samples[1].fields, nil, nil,
      { RESPONSES[1] }))
  seed(string.format("client-%02d", i),
    case(i % 4, CALLS.client, 0, MODES.mutate, 0, opts, nil, nil, nil, { RESPONSES[1] }))
end
seed("raw-options", case(0, CALLS.prepare, 0, MODES.raw, 0,
  { provider = "vapi", api_key = "k" }, samples[1].fields, nil, nil, { RESPONSES[1] }))
seed("oneshot-update", case(0, CALLS.oneshot_update, 0, MODES.good, 0, nil,
  { name = "x" }, "c-1", nil, { RESPONSES[1] }))
seed("call-opts", case(0, CALLS.create, 0, MODES.good, 3, nil, samples[1].fields, nil,
  { timeout = 1, max_retries = 2 }, { RESPONSES[5], RESPONSES[1] }))

-- campaign.core.url and campaign.core.http.
seed("url-1", case(0, CALLS.core_url, 0, MODES.good, 0, "https://api.vapi.ai/base/",
  { { "limit", "10" }, { "q", "a b&c" } }, "/v2/campaign", nil, { RESPONSES[1] }))
seed("url-2", case(0, CALLS.core_url, 0, MODES.good, 0, "http://[::1]:99999/", nil, "/x y",
  nil, { RESPONSES[1] }))
seed("http-1", case(0, CALLS.core_http, 0, MODES.good, 0,
  { ssl_verify = false, user_agent = "x", max_body = 1024 },
  { method = "POST", headers = { A = "b" }, body = "{}" }, nil, nil, { RESPONSES[1] }))
seed("http-2", case(0, CALLS.core_http, 0, MODES.good, 0, { user_agent = "x" },
  { method = "GET", timeout = 0 / 0, connect_timeout = -1 / 0 }, nil, nil, { RESPONSES[1] }))

-- campaign.core.redact (text in id, key in opts) and campaign.core.url_parts.
seed("redact-1", case(0, CALLS.core_redact, 0, MODES.good, 0, "Ke/y+=9",
  nil, '{"m":"Ke\\/y+=9 \\u004be\\/y%2B=9 \\\\u004Be/y+=9","x":"%4Be/y+=9"}', nil, { RESPONSES[1] }))
seed("redact-2", case(0, CALLS.core_redact, 0, MODES.good, 0, "k",
  nil, "kkk\\u006b\\ud83d\\ude00%6", nil, { RESPONSES[1] }))
seed("url-parts-1", case(0, CALLS.core_url_parts, 0, MODES.good, 0, nil, nil,
  "http://127.0.0.1:x@api.example.com/?q#f", nil, { RESPONSES[1] }))
seed("url-parts-2", case(0, CALLS.core_url_parts, 0, MODES.good, 0, nil, nil,
  "http://[::1]:8080/v", nil, { RESPONSES[1] }))

-- campaign.core.suggest (name in id, candidates in fields) and
-- campaign.core.fields (a known schema by op, then a name in id).
seed("suggest-1", case(0, CALLS.core_suggest, 0, MODES.good, 0, nil,
  { "name", "status", "assistantId" }, "assitsantId", nil, { RESPONSES[1] }))
seed("suggest-2", case(0, CALLS.core_suggest, 0, MODES.good, 0, nil,
  { "name", 7, "x\0y" }, "nmae", nil, { RESPONSES[1] }))
seed("fields-1", case(0, CALLS.core_fields, 2, MODES.good, 0, nil, nil, nil, nil,
  { RESPONSES[1] }))
seed("fields-2", case(0, CALLS.core_fields, 200, MODES.good, 0, nil, nil, "vapi.nope", nil,
  { RESPONSES[1] }))

os.execute("mkdir -p '" .. dir .. "'")
for _, s in ipairs(seeds) do
  local f = assert(io.open(dir .. "/" .. s.name, "wb"))
  f:write(s.bytes)
  f:close()
end
print(string.format("wrote %d seeds to %s", #seeds, dir))
