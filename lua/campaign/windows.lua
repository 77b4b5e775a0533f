--- Calling time windows: written once in a friendly form, sent as Atlas's
-- `TimeWindows` (a JSON string of `{startHour, startMinute, endHour,
-- endMinute}` objects) or as Autocalls.ai's `allowed_hours_start_time`,
-- `allowed_hours_end_time` and `allowed_days`.
--
-- Accepted input, anywhere a window list is expected:
--
--   "09:00-17:00"                       one window
--   "09:00-12:00,13:00-17:00"           several, comma-separated
--   { start = "09:00", stop = "17:00" } one window as a table
--   { startHour = 9, startMinute = 0, endHour = 17, endMinute = 0 }  Atlas's own form
--   { "09:00-12:00", { start = "13:00", stop = "17:00" } }          a list of any of these
--   '[{"startHour":9,...}]'             Atlas's JSON text
--
-- A window is one stretch of a day: it starts before it ends (a window across
-- midnight is two windows), times run from 00:00 to 23:59, and windows may
-- touch but not overlap.
-- @module campaign.windows

local windows = {}

local errors = require "campaign.errors"
local raise, suggest, unknown = errors.raise, errors.suggest, errors.unknown

local format, concat = string.format, table.concat
local floor = math.floor
local rawget, next, type, tostring = rawget, next, type, tostring
local toint = math.tointeger or function(x) return x end

local NATIVE = { "startHour", "startMinute", "endHour", "endMinute" }
local NATIVE_MAX = { startHour = 23, startMinute = 59, endHour = 23, endMinute = 59 }
local FRIENDLY = { "start", "stop" }

local WEEKDAYS = { "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday" }
local DAY_SETS = {
  all = WEEKDAYS,
  weekdays = { "monday", "tuesday", "wednesday", "thursday", "friday" },
  weekend = { "saturday", "sunday" },
}

local function hhmm(h, m)
  return format("%02d:%02d", h, m)
end

local function span(w)
  return hhmm(w.startHour, w.startMinute) .. "-" .. hhmm(w.endHour, w.endMinute)
end

-- Problems are {path = "[2].endHour", message = "..."}, relative to the input.
local function problem(list, path, message)
  list[#list + 1] = { path = path, message = message }
end

-- "9:00" / "09:00" -> hour, minute; or nil and a message.
local function parse_time(s)
  local h, m = s:match("^%s*(%d%d?):(%d%d)%s*$")
  if not h then
    return nil, format("%q is not a time: write HH:MM, e.g. 09:00", s)
  end
  h, m = tonumber(h), tonumber(m)
  if h > 23 then
    return nil, format("%q: hours go from 00 to 23 (use 23:59 for the end of the day)", s)
  end
  if m > 59 then
    return nil, format("%q: minutes go from 00 to 59", s)
  end
  return h, m
end

-- A proper sequence 1..n of a table (raw access), or nil.
local function sequence_length(t)
  local n = 0
  for k in next, t do
    if type(k) ~= "number" or k < 1 or k ~= floor(k) then return nil end
    n = n + 1
  end
  for i = 1, n do
    if rawget(t, i) == nil then return nil end
  end
  return n
end

local function from_span(s, path, problems)
  local a, b = s:match("^%s*([^-]-)%s*%-%s*([^-]-)%s*$")
  if not a then
    problem(problems, path, format("%q is not a window: write HH:MM-HH:MM, e.g. 09:00-17:00", s))
    return nil
  end
  local sh, sm = parse_time(a)
  if not sh then problem(problems, path, sm) return nil end
  local eh, em = parse_time(b)
  if not eh then problem(problems, path, em) return nil end
  return { startHour = sh, startMinute = sm, endHour = eh, endMinute = em }
end

local function from_native(t, path, problems)
  local w, ok = {}, true
  for _, key in ipairs(NATIVE) do
    local v = rawget(t, key)
    local here = path .. "." .. key
    if v == nil then
      problem(problems, here, "is required: a window has startHour, startMinute, endHour "
        .. "and endMinute")
      ok = false
    elseif type(v) ~= "number" or v ~= v or v ~= floor(v) then
      problem(problems, here, format("must be an integer (got %s)",
        type(v) == "number" and tostring(v) or (v == windows.null and "null" or type(v))))
      ok = false
    elseif v < 0 or v > NATIVE_MAX[key] then
      problem(problems, here, format("must be between 0 and %d (got %d)", NATIVE_MAX[key], v))
      ok = false
    else
      w[key] = toint(v)
    end
  end
  return ok and w or nil
end

local function from_friendly(t, path, problems)
  local start, stop = rawget(t, "start"), rawget(t, "stop")
  local ok = true
  for _, key in ipairs(FRIENDLY) do
    local v = rawget(t, key)
    if type(v) ~= "string" then
      problem(problems, path .. "." .. key, v == nil and "is required: a window is "
        .. "{start = \"HH:MM\", stop = \"HH:MM\"}" or format("must be a time string "
        .. "\"HH:MM\" (got %s)", type(v)))
      ok = false
    end
  end
  if not ok then return nil end
  local sh, sm = parse_time(start)
  if not sh then problem(problems, path .. ".start", sm) ok = false end
  local eh, em = parse_time(stop)
  if not eh then problem(problems, path .. ".stop", em) ok = false end
  if not ok then return nil end
  return { startHour = sh, startMinute = sm, endHour = eh, endMinute = em }
end

local KEY_NAMES, KNOWN_KEYS = { "start", "stop" }, {}
for _, key in ipairs(NATIVE) do KEY_NAMES[#KEY_NAMES + 1] = key end
for _, key in ipairs(KEY_NAMES) do KNOWN_KEYS[key] = true end

-- The key a window's unknown key k most likely means, or nil: "end" is
-- "stop" (a synonym, not a misspelling), "Start" is "start".
local function key_meant(k, native_only)
  if k == "end" or k == "finish" then return "stop" end
  return suggest(k, native_only and NATIVE or KEY_NAMES)
end

local function from_table(t, path, problems, native_only)
  local has_native, has_friendly = false, false
  for k in next, t do
    if type(k) ~= "string" or not KNOWN_KEYS[k] then
      local meant = key_meant(k, native_only)
      local hint = meant and format(" (did you mean %s?)", meant) or ""
      -- A key that is not a string is named by its type: tostring could run
      -- the caller's __tostring.
      local shown = type(k) == "string" and format("%q", k) or ("of type " .. type(k))
      problem(problems, path, format("has an unknown key %s%s: a window takes %s",
        shown, hint, native_only
          and "startHour, startMinute, endHour and endMinute"
          or "start and stop, or startHour, startMinute, endHour and endMinute"))
      return nil
    end
    if k == "start" or k == "stop" then has_friendly = true else has_native = true end
  end
  if has_friendly and native_only then
    problem(problems, path, "must use Atlas's keys startHour, startMinute, endHour and endMinute")
    return nil
  end
  if has_friendly and has_native then
    problem(problems, path, "mixes start/stop with startHour/startMinute/endHour/endMinute: "
      .. "use one form")
    return nil
  end
  if has_friendly then return from_friendly(t, path, problems) end
  return from_native(t, path, problems)
end

local function item(v, path, problems, native_only)
  if type(v) == "string" and not native_only then
    return from_span(v, path, problems)
  elseif type(v) == "table" then
    return from_table(v, path, problems, native_only)
  end
  problem(problems, path, format("must be a window (a table%s), got %s",
    native_only and "" or " or \"HH:MM-HH:MM\"", v == windows.null and "null" or type(v)))
end

-- Each window on its own (list may have holes where an item was unreadable).
local function check_each(list, n, problems)
  for i = 1, n do
    local w = list[i]
    local s = w and w.startHour * 60 + w.startMinute
    local e = w and w.endHour * 60 + w.endMinute
    if w and e == s then
      problem(problems, format("[%d]", i), format("starts and ends at %s: the window is empty",
        hhmm(w.startHour, w.startMinute)))
    elseif w and e < s then
      problem(problems, format("[%d]", i), format("ends before it starts (%s): a window is "
        .. "one stretch of a day; split one that crosses midnight in two (%s-23:59 and "
        .. "00:00-%s)", span(w), hhmm(w.startHour, w.startMinute), hhmm(w.endHour, w.endMinute)))
    end
  end
end

local function check_overlaps(list, problems)
  for j = 2, #list do
    local b = list[j]
    local bs, be = b.startHour * 60 + b.startMinute, b.endHour * 60 + b.endMinute
    for i = 1, j - 1 do
      local a = list[i]
      local as, ae = a.startHour * 60 + a.startMinute, a.endHour * 60 + a.endMinute
      if as < ae and bs < be and bs < ae and as < be then
        problem(problems, format("[%d]", j), format("is %s, which overlaps window %d (%s): "
          .. "windows may touch but not overlap", span(b), i, span(a)))
        break
      end
    end
  end
end

-- lua-cjson's null, when lua-cjson is around, for clearer messages.
do
  local ok, cjson = pcall(require, "cjson")
  windows.null = ok and cjson.null or nil
end

-- A lua-cjson instance that takes only standard JSON (no NaN, Infinity or
-- hex numbers), made when first needed; campaign.atlas uses it too.
local json
local function strict_json()
  if not json then
    json = require("cjson").new()
    json.decode_invalid_numbers(false)
  end
  return json
end
windows._strict_json = strict_json

--- Checks window input and reports every problem with its place.
-- For validators: `campaign.atlas` uses it for `TimeWindows`.
-- @param input any accepted form except JSON text (see the module description)
-- @param opts optional `{native = true}`: only Atlas's own keys (for decoded JSON)
-- @return list of `{startHour, startMinute, endHour, endMinute}`, or nil and
--   a list of `{path, message}` (`path` like `"[2].endHour"`, `""` for the whole)
function windows.check(input, opts)
  local native_only = type(opts) == "table" and opts.native or false
  local problems, raw = {}
  if type(input) == "string" and not native_only then
    if input:find("^%s*{") then
      problem(problems, "", "is JSON text of one window: Atlas takes a list of windows, "
        .. "e.g. [{\"startHour\":9,\"startMinute\":0,\"endHour\":17,\"endMinute\":0}]")
      return nil, problems
    end
    raw = {}
    for part in (input .. ","):gmatch("([^,]*),") do raw[#raw + 1] = part end
  elseif type(input) == "table" then
    local n = sequence_length(input)
    local numbered, named = false, false
    for k in next, input do
      if type(k) == "number" then numbered = true else named = true end
    end
    if numbered and named then
      problem(problems, "", "mixes list items and named keys: give a list of windows or one window")
      return nil, problems
    elseif n == nil and numbered then
      problem(problems, "", "is a list with holes: nil cannot be inside a list")
      return nil, problems
    elseif n == nil then
      if native_only then
        problem(problems, "", "must be a list of windows")
        return nil, problems
      end
      raw = { input }
    else
      raw = input
    end
  else
    problem(problems, "", format("must be a list of windows%s (got %s)",
      native_only and "" or " or a string like \"09:00-17:00\"", type(input)))
    return nil, problems
  end
  -- Raw length and access: the caller's metamethods never run.
  local n = sequence_length(raw) or 0
  local first = rawget(raw, 1)
  if n == 0 or (n == 1 and type(first) == "string" and first:find("^%s*$")) then
    problem(problems, "", "has no windows: leave it out instead")
    return nil, problems
  end
  local list, bad = {}, false
  for i = 1, n do
    local w = item(rawget(raw, i), format("[%d]", i), problems, native_only)
    if w then list[i] = w else bad = true end
  end
  check_each(list, n, problems)
  if not bad then check_overlaps(list, problems) end
  if #problems > 0 then return nil, problems end
  return list
end

local function joined(problems)
  local out = {}
  for i, p in ipairs(problems) do
    out[i] = p.path == "" and p.message or ("window " .. p.path .. " " .. p.message)
  end
  return concat(out, "; ")
end

--- Decodes Atlas's `TimeWindows` JSON text (needs lua-cjson).
-- @return list of windows, or nil and a message
function windows.from_atlas(text)
  if type(text) ~= "string" then
    return nil, format("TimeWindows must be a string (got %s)", type(text))
  end
  if not text:find("^%s*%[") then
    return nil, "TimeWindows must be JSON text of a list, e.g. "
      .. "[{\"startHour\":9,\"startMinute\":0,\"endHour\":17,\"endMinute\":0}]"
  end
  local ok, value = pcall(strict_json().decode, text)
  if not ok then
    return nil, "TimeWindows is not valid JSON: " .. tostring(value)
  end
  local list, problems = windows.check(value, { native = true })
  if not list then return nil, joined(problems) end
  return list
end

--- Reads windows in any accepted form (JSON text included).
-- @return list of `{startHour, startMinute, endHour, endMinute}`, or nil and
--   a message naming every problem
function windows.parse(input)
  if type(input) == "string" and input:find("^%s*%[") then
    return windows.from_atlas(input)
  end
  local list, problems = windows.check(input)
  if not list then return nil, joined(problems) end
  return list
end

--- Atlas's `TimeWindows` value: JSON text, in the order given.
-- @return string like `[{"startHour":9,"startMinute":0,"endHour":17,"endMinute":0}]`,
--   or nil and a message
function windows.to_atlas(input)
  local list, err = windows.parse(input)
  if not list then return nil, err end
  local out = {}
  for i, w in ipairs(list) do
    out[i] = format('{"startHour":%d,"startMinute":%d,"endHour":%d,"endMinute":%d}',
      w.startHour, w.startMinute, w.endHour, w.endMinute)
  end
  return "[" .. concat(out, ",") .. "]"
end

--- The friendly text of windows: `"09:00-12:00,13:00-17:00"`.
-- @return string, or nil and a message
function windows.format(input)
  local list, err = windows.parse(input)
  if not list then return nil, err end
  local out = {}
  for i, w in ipairs(list) do out[i] = span(w) end
  return concat(out, ",")
end

local DAY_SET_NAMES = { "weekdays", "weekend", "all" }

-- " (did you mean "x"?)" for a name that is not one of names, or "".
local function did_you_mean(name, names)
  local hint = suggest(name, names)
  return hint and format(" (did you mean %q?)", hint) or ""
end

local function days_list(days)
  if type(days) == "string" then
    local set = DAY_SETS[days:lower()]
    if not set then
      return nil, format("days %q%s: use a list of weekday names or \"weekdays\", \"weekend\", "
        .. "\"all\"", days, did_you_mean(days, DAY_SET_NAMES))
    end
    local out = {}
    for i, d in ipairs(set) do out[i] = d end
    return out
  end
  if type(days) ~= "table" then
    return nil, format("days must be a list of weekday names (got %s)", type(days))
  end
  local n = sequence_length(days)
  if not n or n == 0 then
    return nil, "days must be a non-empty list of weekday names, e.g. {\"monday\", \"friday\"}"
  end
  local known, seen, out = {}, {}, {}
  for _, d in ipairs(WEEKDAYS) do known[d] = true end
  for i = 1, n do
    local d = rawget(days, i)
    local name = type(d) == "string" and d:lower() or nil
    if not known[name] then
      return nil, format("days[%d] %s is not a weekday name%s: use %s", i,
        type(d) == "string" and format("%q", d) or type(d), did_you_mean(d, WEEKDAYS),
        concat(WEEKDAYS, ", "))
    end
    if seen[name] then
      return nil, format("days[%d] %q is listed twice", i, name)
    end
    seen[name] = true
    out[i] = name
  end
  return out
end

local AUTOCALLS_OPTIONS = { "days", "envelope" }

--- Autocalls.ai's calling hours for the same windows. Autocalls takes one
-- window a day: several windows are an error unless `opts.envelope` is true,
-- which uses the earliest start and the latest end (the gaps between the
-- windows become calling time too).
-- @param input windows in any accepted form
-- @param opts optional `{envelope = true, days = {"monday", ...} | "weekdays" | "weekend" | "all"}`
-- @return `{allowed_hours_start_time = "09:00", allowed_hours_end_time = "17:00",
--   allowed_days = {...} (only when days is given)}`, or nil and a message
function windows.to_autocalls(input, opts)
  opts = opts or {}
  if type(opts) ~= "table" then
    raise("campaign.windows.to_autocalls: opts must be a table")
  end
  -- A misspelt option would be ignored: {envelop = true} would still fail
  -- on several windows, {day = "weekdays"} would call every day.
  for name in next, opts do
    if name ~= "days" and name ~= "envelope" then
      raise("campaign.windows.to_autocalls: " .. unknown("option", name, AUTOCALLS_OPTIONS))
    end
  end
  local list, err = windows.parse(input)
  if not list then return nil, err end
  local first, last = list[1], list[1]
  for _, w in ipairs(list) do
    if w.startHour * 60 + w.startMinute < first.startHour * 60 + first.startMinute then first = w end
    if w.endHour * 60 + w.endMinute > last.endHour * 60 + last.endMinute then last = w end
  end
  if #list > 1 and not opts.envelope then
    local spans = {}
    for i, w in ipairs(list) do spans[i] = span(w) end
    return nil, format("Autocalls.ai takes one calling window a day "
      .. "(allowed_hours_start_time to allowed_hours_end_time); %d windows (%s) cannot be "
      .. "expressed: pass {envelope = true} to use %s-%s, which also allows the time between "
      .. "them", #list, concat(spans, ", "), hhmm(first.startHour, first.startMinute),
      hhmm(last.endHour, last.endMinute))
  end
  local out = {
    allowed_hours_start_time = hhmm(first.startHour, first.startMinute),
    allowed_hours_end_time = hhmm(last.endHour, last.endMinute),
  }
  if opts.days ~= nil then
    local days, derr = days_list(opts.days)
    if not days then return nil, derr end
    out.allowed_days = days
  end
  return out
end

return windows
