--- Atlas shorthands, and the checks of Atlas's JSON-in-a-string fields.
-- `atlas.normalize` runs before the C validator on create and update (see
-- Client:prepare). It turns the shorthands into Atlas's own fields and leaves
-- everything else as given; the C core then checks the result against the
-- documented body (src/provider_atlas.c).
--
-- Shorthands (never instead of the native fields, which always work as
-- Atlas's docs write them; a shorthand that contradicts a native field
-- given in the same call is an error):
--
--   channel = "outbound" | "inbound" | "web" | "messages"
--       sets campaignType, CallType and MessagesCampaign per the channel
--       matrix. Position is not defaulted: a voice bubble still needs one.
--   language = "en-US", template = "Sales Qualifications"
--       sets TemplateId from the catalog (campaign.templates) for the
--       campaign's channel; without template, the language's
--       "create from scratch" template (or its only one) for that channel.
--   TimeWindows = "09:00-17:00" | { {start = "09:00", stop = "17:00"}, ... }
--       encoded to Atlas's JSON text (campaign.windows).
--   ToolIds = { "tool-1", "tool-2" }    joined with commas.
--   campaignType = 0 | 1, CallType = 1 | 2 (Lua numbers)   sent as strings.
-- @module campaign.atlas

local templates = require "campaign.templates"
local windows = require "campaign.windows"
local floor = math.floor

local atlas = {}

local format, concat = string.format, table.concat
local rawget, next, type, tostring = rawget, next, type, tostring

--- The native fields each channel sets (seed: the Create campaign page's
-- channel table). A field missing from a channel's entry must be left out,
-- except Position, which a voice bubble needs and the caller chooses.
atlas.CHANNELS = {
  outbound = { campaignType = "1", CallType = "2" },
  inbound = { campaignType = "1", CallType = "1" },
  web = { campaignType = "0" },
  messages = { campaignType = "0", MessagesCampaign = true },
}
local CHANNEL_ORDER = { "outbound", "inbound", "web", "messages" }
local CHANNEL_KEYS = { "campaignType", "CallType", "MessagesCampaign" }

-- Atlas fields that carry JSON text in a string.
local JSON_FIELDS = { "EnrichmentInfoSettings", "RedialSettings", "IdleMessages" }

-- A value for a message. Tables and userdata are named by their type:
-- tostring could run the caller's __tostring.
local function quoted(v)
  local t = type(v)
  if t == "string" then return format("%q", v) end
  if t == "number" or t == "boolean" or t == "nil" then return tostring(v) end
  return t
end

-- "an outbound", "a web".
local function article(word)
  return (word:find("^[aeiou]") and "an " or "a ") .. word
end

local function channel_list()
  local out = {}
  for i, ch in ipairs(CHANNEL_ORDER) do out[i] = format("%q", ch) end
  return concat(out, ", ")
end

--- The native fields of a channel, as a new table.
-- @return `{campaignType = "1", CallType = "2"}` etc., or nil and a message
function atlas.channel_fields(channel)
  local spec = atlas.CHANNELS[channel]
  if not spec then
    return nil, format("unknown channel %s: one of %s", quoted(channel), channel_list())
  end
  local out = {}
  for k, v in pairs(spec) do out[k] = v end
  return out
end

--- The channel that native fields select, or nil when they select none.
-- @param fields a table with campaignType, CallType, MessagesCampaign
-- @return `"outbound"`, `"inbound"`, `"web"`, `"messages"` or nil
function atlas.channel_of(fields)
  if type(fields) ~= "table" then return nil end
  local ct, call, msg = rawget(fields, "campaignType"), rawget(fields, "CallType"),
    rawget(fields, "MessagesCampaign")
  if ct == "1" then
    if msg ~= nil then return nil end
    if call == "2" then return "outbound" end
    if call == "1" then return "inbound" end
  elseif ct == "0" and call == nil then
    if msg == true then return "messages" end
    if msg == nil then return "web" end
  end
  return nil
end

-- ---------------------------------------------------------------------------
-- normalize

local function add(problems, field, message)
  problems[#problems + 1] = { field = field, message = message }
end

-- lua-cjson taking only standard JSON (no NaN, Infinity or hex numbers).
local strict_json = windows._strict_json

-- Lua numbers for the two enum fields: 0/1 and 1/2 become "0"/"1" and "1"/"2".
local function number_to_enum(out, problems, touched, name, allowed, meaning)
  local v = rawget(out, name)
  if type(v) ~= "number" then return end
  for _, a in ipairs(allowed) do
    if v == tonumber(a) then
      out[name] = a
      return
    end
  end
  add(problems, name, format("must be %s (got %s)", meaning, tostring(v)))
  touched[name] = true
end

local function apply_channel(out, problems, touched, channel)
  if channel == nil then return nil end
  local spec = atlas.CHANNELS[channel]
  if not spec then
    local hint = require("campaign.errors").suggest(channel, CHANNEL_ORDER)
    add(problems, "channel", format("must be one of %s (got %s)%s", channel_list(), quoted(channel),
      hint and format("; did you mean %q?", hint) or ""))
    touched.campaignType, touched.CallType, touched.MessagesCampaign = true, true, true
    return nil
  end
  local ok = true
  for _, key in ipairs(CHANNEL_KEYS) do
    local given, wanted = rawget(out, key), spec[key]
    if given ~= nil and given ~= wanted then
      add(problems, "channel", format("%q contradicts %s = %s (%s): give one or the other",
        channel, key, quoted(given), wanted == nil
          and format("%s campaign leaves %s out", article(channel), key)
          or format("%s campaign has %s = %s", article(channel), key, quoted(wanted))))
      ok = false
    end
  end
  if not ok then
    touched.campaignType, touched.CallType, touched.MessagesCampaign = true, true, true
    return nil
  end
  for _, key in ipairs(CHANNEL_KEYS) do
    if spec[key] ~= nil then out[key] = spec[key] end
  end
  return channel
end

-- A row by title in any language, when language is not given.
local function find_any_language(channel, title)
  local found, ids, langs = nil, {}, {}
  for _, language in ipairs(templates.languages()) do
    local row = templates.find(language, channel, title)
    if row then
      if not ids[row.id] then
        ids[row.id] = true
        if found == nil then found = row else found = false end
      end
      langs[#langs + 1] = language
    end
  end
  if found then return found end
  if found == false then
    return nil, format("%q matches %s templates in several languages (%s): give language too",
      title, channel, concat(langs, ", "))
  end
  return nil, format("%q is not the title of %s template in any language: see "
    .. "campaign.templates.list{channel = %q}", title, article(channel), channel)
end

local function apply_template(out, problems, touched, channel, language, title)
  if language == nil and title == nil then return end
  touched.TemplateId = true
  local field = title ~= nil and "template" or "language"
  if language ~= nil and type(language) ~= "string" then
    add(problems, "language", format("must be a language code string (got %s)", type(language)))
    return
  end
  if title ~= nil and type(title) ~= "string" then
    add(problems, "template", format("must be a template title string (got %s)", type(title)))
    return
  end
  if not channel then
    add(problems, field, "needs the campaign's channel to pick a template: give channel, or "
      .. "campaignType with CallType (phone) or MessagesCampaign (messages)")
    return
  end
  local row, err
  if language == nil then
    row, err = find_any_language(channel, title)
  else
    -- The language is at fault when it is unknown or has no template for
    -- the channel; otherwise the title is.
    local rows = templates.list { language = language, channel = channel }
    field = (rows and #rows > 0) and "template" or "language"
    row, err = templates.find(language, channel, title)
  end
  if not row then
    add(problems, field, err)
    return
  end
  local given = rawget(out, "TemplateId")
  if given ~= nil and (type(given) ~= "string" or given:lower() ~= row.id) then
    add(problems, title ~= nil and "template" or "language", format("selects TemplateId %q "
      .. "(%s, %s), which contradicts TemplateId = %s given with it: give one or the other",
      row.id, row.title, row.language, quoted(given)))
    return
  end
  out.TemplateId = given or row.id
  touched.TemplateId = nil
end

local function prefixed(problems, field, list)
  for _, p in ipairs(list) do add(problems, field .. p.path, p.message) end
end

local WINDOW_KEYS = { startHour = 23, startMinute = 59, endHour = 23, endMinute = 59 }

-- The common case, checked quickly: a list of windows with exactly the four
-- keys in range, each starting before it ends, none overlapping. Anything
-- else goes to windows.check, which says precisely what is wrong.
local function plain_windows(list)
  if type(list) ~= "table" then return false end
  local n = #list
  if n == 0 then return false end
  local spans = {}
  for i = 1, n do
    local w = rawget(list, i)
    if type(w) ~= "table" then return false end
    local count = 0
    for k, v in next, w do
      local max = WINDOW_KEYS[k]
      if not max or type(v) ~= "number" or v ~= floor(v) or v < 0 or v > max then return false end
      count = count + 1
    end
    if count ~= 4 then return false end
    local a, b = w.startHour * 60 + w.startMinute, w.endHour * 60 + w.endMinute
    if a >= b then return false end
    for j = 1, i - 1 do
      if a < spans[j][2] and spans[j][1] < b then return false end
    end
    spans[i] = { a, b }
  end
  -- No keys but the n items.
  local keys = 0
  for _ in next, list do keys = keys + 1 end
  return keys == n
end

-- Texts already found good, by content: a string's check depends on
-- nothing else, and scripts send the same windows and settings with every
-- campaign. One table, text -> the checks it passed (WINDOWS + JSON, as
-- numbers: Lua 5.1 has no bit operators), shared with the C walk, which
-- sends a body whose texts are all known without coming here (VL_WINDOWS,
-- VL_JSON in src/validate.h). Bounded: emptied in place when full.
local WINDOWS, JSON = 2, 4
local GOOD_MAX = 512
local known = require("campaign.providers.atlas").known_texts
local known_count = 0
local function is_known(text, check)
  local bits = known[text]
  return bits ~= nil and bits % (2 * check) >= check
end
local function remember_good(check, text)
  if #text > 4096 or is_known(text, check) then return end
  if known_count >= GOOD_MAX then
    for k in next, known do known[k] = nil end
    known_count = 0
  end
  local bits = known[text]
  if bits == nil then known_count = known_count + 1 end
  known[text] = (bits or 0) + check
end

local function apply_time_windows(out, problems, touched)
  local v = rawget(out, "TimeWindows")
  if type(v) == "string" and is_known(v, WINDOWS) then return end
  if type(v) == "string" and v:find("^%s*%[") then
    -- Atlas's own JSON text: checked, and sent exactly as given.
    local ok, decoded = pcall(strict_json().decode, v)
    if not ok then
      add(problems, "TimeWindows", "is not valid JSON: " .. tostring(decoded))
      touched.TimeWindows = true
      return
    end
    if plain_windows(decoded) then remember_good(WINDOWS, v) return end
    local list, wproblems = windows.check(decoded, { native = true })
    if not list then
      prefixed(problems, "TimeWindows", wproblems)
      touched.TimeWindows = true
    else
      remember_good(WINDOWS, v)
    end
  elseif type(v) == "string" or type(v) == "table" then
    local list, wproblems = windows.check(v)
    if not list then
      prefixed(problems, "TimeWindows", wproblems)
      touched.TimeWindows = true
      return
    end
    out.TimeWindows = windows.to_atlas(list)
  end
end

local function apply_tool_ids(out, problems, touched)
  local v = rawget(out, "ToolIds")
  if type(v) ~= "table" then return end
  touched.ToolIds = true
  local n = 0
  for k in next, v do
    if type(k) ~= "number" then
      add(problems, "ToolIds", "must be a list of tool ids (a Lua array) or a comma-separated "
        .. "string, got a table with named keys")
      return
    end
    n = n + 1
  end
  local seen, ids, ok = {}, {}, true
  for i = 1, n do
    local id = rawget(v, i)
    local here = format("ToolIds[%d]", i)
    if id == nil then
      add(problems, "ToolIds", format("is a list with holes (%d items): nil cannot be inside a "
        .. "list", n))
      return
    elseif type(id) ~= "string" then
      add(problems, here, format("must be a string (got %s)", type(id)))
      ok = false
    elseif id == "" then
      add(problems, here, "must not be empty")
      ok = false
    elseif id:find("[%s%c,]") then
      add(problems, here, format("%q contains a comma, space or control character: Atlas "
        .. "takes the ids joined with commas", id))
      ok = false
    elseif seen[id] then
      add(problems, here, format("%q is listed twice (also at ToolIds[%d])", id, seen[id]))
      ok = false
    else
      seen[id] = i
      ids[i] = id
    end
  end
  if ok then
    out.ToolIds = concat(ids, ",")
    touched.ToolIds = nil
  end
end

-- The JSON-in-a-string fields: a Lua table is written as the JSON text
-- Atlas wants (by the request writer, checked as any free-form value); a
-- string must be JSON text of an object or a list.
local function check_json_fields(out, problems, touched)
  for _, name in ipairs(JSON_FIELDS) do
    local v = rawget(out, name)
    if type(v) == "table" then
      local text, wrong = require("campaign.core").json(v)
      if not text then
        for _, p in ipairs(wrong) do
          local at = p.field
          if at ~= "" and at:sub(1, 1) ~= "[" then at = "." .. at end
          add(problems, name .. at, p.message)
        end
        touched[name] = true
      elseif not text:find("^[%[{]") then
        add(problems, name, "must be a table (a JSON object or list)")
        touched[name] = true
      else
        out[name] = text
      end
    elseif type(v) == "string" and not is_known(v, JSON) then
      if not v:find("^%s*[%[{]") then
        add(problems, name, "must be JSON text of an object or a list (Atlas takes JSON in a "
          .. "string here), e.g. \"{}\", or a Lua table")
        touched[name] = true
      else
        local ok, err = pcall(strict_json().decode, v)
        if not ok then
          add(problems, name, "is not valid JSON: " .. tostring(err))
          touched[name] = true
        else
          remember_good(JSON, v)
        end
      end
    end
  end
end

-- The names of the fields only Atlas's answers have (PartitionKey, RowKey,
-- Timestamp, the counters...): the C core's read-only ("forbidden") fields.
-- A sorted list.
local read_only
local function read_only_fields()
  if not read_only then
    read_only = {}
    for name, kind in pairs(require("campaign.core").fields("atlas.campaign")) do
      if kind == "forbidden" then read_only[#read_only + 1] = name end
    end
    table.sort(read_only)
  end
  return read_only
end

-- A body that get returned, sent back whole: its read-only fields are
-- dropped (sorted names, or nil when there were none).
local function drop_read_only(out)
  local dropped
  local names = read_only_fields()
  for i = 1, #names do
    local name = names[i]
    if rawget(out, name) ~= nil then
      out[name] = nil
      dropped = dropped or {}
      dropped[#dropped + 1] = name
    end
  end
  return dropped
end

-- The C validator's problems with the fields that normalize already
-- reported (or could not produce) left out, so each mistake is told once.
local function merge_core_problems(out, problems, touched, passthrough)
  local core = require "campaign.core"
  local partial = {}
  for k, v in next, out do
    if not touched[k] then partial[k] = v end
  end
  local ok, more = core.validate("atlas.campaign", partial, passthrough)
  if ok then return end
  for _, p in ipairs(more) do
    local top = p.field:match("^[^.%[]*")
    if not touched[top] then problems[#problems + 1] = p end
  end
end

local OPS = { create = true, update = true }
local CAMPAIGN_TYPES, CALL_TYPES = { "0", "1" }, { "1", "2" }

-- Whether normalize has anything to rewrite: a shorthand, a number for an
-- enum, windows or tool ids given as Lua values or friendly text, a JSON
-- field given as a Lua table, a read-only field. One pass over the given
-- names, each looked up in `changes` (name -> true, or a test of its value).
local changes
local function is_table(v) return type(v) == "table" end
local function is_number(v) return type(v) == "number" end
local function needs_change(fields)
  if not changes then
    changes = { channel = true, language = true, template = true, campaignType = is_number,
      CallType = is_number, ToolIds = is_table,
      TimeWindows = function(v)
        return type(v) == "table" or (type(v) == "string" and not v:find("^%s*%["))
      end }
    for _, name in ipairs(JSON_FIELDS) do changes[name] = is_table end
    for _, name in ipairs(read_only_fields()) do changes[name] = true end
  end
  for k, v in next, fields do
    local change = changes[k]
    if change == true or (change and change(v)) then return true end
  end
  return false
end

--- Turns the shorthands into Atlas's fields, checks the JSON-in-a-string
-- fields (a Lua table there is written as the JSON text), and drops the
-- read-only fields of Atlas's answers (a campaign that get returned can be
-- sent back whole). The caller's table is not modified.
-- @param op the operation (`"create"`, `"update"`; others pass through)
-- @param fields the caller's fields
-- @param opts optional `{passthrough = bool}` (the client's option); when
--   problems are found, the C validator's problems are added to them
-- @return new fields (and the sorted names dropped, or nil), or nil and a
--   list of `{field, message}`
function atlas.normalize(op, fields, opts)
  if not OPS[op] or type(fields) ~= "table" then return fields end
  -- Fields written as Atlas writes them need no copy: only checks.
  local out = fields
  if needs_change(fields) then
    out = {}
    for k, v in next, fields do out[k] = v end
  end
  local problems, touched = {}, {}
  local dropped = not rawequal(out, fields) and drop_read_only(out) or nil

  number_to_enum(out, problems, touched, "campaignType", CAMPAIGN_TYPES,
    "\"1\" (phone) or \"0\" (voice bubble, messages)")
  number_to_enum(out, problems, touched, "CallType", CALL_TYPES,
    "\"2\" (outbound) or \"1\" (inbound)")

  local channel_short = rawget(out, "channel")
  local language, title = rawget(out, "language"), rawget(out, "template")
  if not rawequal(out, fields) then out.channel, out.language, out.template = nil, nil, nil end
  local channel = apply_channel(out, problems, touched, channel_short)
  if channel_short == nil then
    apply_template(out, problems, touched, atlas.channel_of(out), language, title)
  elseif channel then
    apply_template(out, problems, touched, channel, language, title)
  elseif language ~= nil or title ~= nil then
    touched.TemplateId = true   -- the channel's own problem says it all
  end

  apply_time_windows(out, problems, touched)
  apply_tool_ids(out, problems, touched)
  check_json_fields(out, problems, touched)

  if #problems > 0 then
    local passthrough = true
    if type(opts) == "table" and opts.passthrough ~= nil then
      passthrough = opts.passthrough and true or false
    end
    merge_core_problems(out, problems, touched, passthrough)
    return nil, problems
  end
  return out, nil, dropped
end

return atlas
