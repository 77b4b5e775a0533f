--- Atlas starter templates: the catalog printed on Atlas's "Create campaign"
-- page, row for row. A campaign's `TemplateId` is picked by language and
-- channel (`outbound`, `inbound`, `web` for the voice bubble, `messages`).
-- Some ids repeat across rows and languages, as they do in the catalog;
-- Spanish and Hindi have no web (voice bubble) row.
-- @module campaign.templates

local templates = {}

local errors = require "campaign.errors"
local raise, suggest, unknown = errors.raise, errors.suggest, errors.unknown

local format, concat = string.format, table.concat

-- A value given by the caller, for a message: its type when it is not a
-- string (tostring could run the caller's __tostring).
local function shown(v)
  return type(v) == "string" and format("%q", v) or type(v)
end

--- Channels, in the catalog's terms.
templates.CHANNELS = { "outbound", "inbound", "web", "messages" }

local CHANNEL_LABELS = {
  outbound = "outbound phone", inbound = "inbound phone", web = "web (voice bubble)",
  messages = "messages (SMS)",
}

--- Supported languages, in the catalog's order: `{code, name}`.
local LANGUAGES = {
  { "en-US", "English" },
  { "es-US", "Spanish" },
  { "de", "German" },
  { "ro-RO", "Romanian" },
  { "fr-FR", "French" },
  { "hi-IN", "Hindi" },
  { "he-IL", "Hebrew" },
  { "tr-TR", "Turkish" },
  { "multilanguage", "Multilingual" },
}

-- The catalog: language, channel ("type" column), title, template id.
local CATALOG = {
  { "en-US", "web", "Voice Bubble - Create from scratch", "572cea7c-851b-430d-ad34-2df87cf78745" },
  { "en-US", "web", "Voice Bubble - Auto Dealership", "860556f3-773a-4b3a-ad6d-9cf644d06490" },
  { "en-US", "web", "Voice Bubble – Real Estate", "8c2245d0-db09-4549-94ec-7f3becb8f8ff" },
  { "en-US", "web", "Voice Bubble – Renovations", "233a6ba7-564c-428e-9273-2d736f2a1710" },
  { "en-US", "web", "Voice Bubble – MedSpa", "8560cf24-eaf5-4de1-ad5f-f5d591bd6573" },
  { "en-US", "outbound", "Outbound - Create from scratch", "6be44833-9133-4639-b6c9-425aee057c1c" },
  { "en-US", "outbound", "Outbound - Sales Qualifications", "ca2cedc2-c196-40d2-be22-dfd70bb4594c" },
  { "en-US", "outbound", "Outbound - Appointment Confirmation", "303ae519-237a-4377-bc4b-c112da869210" },
  { "en-US", "outbound", "Outbound - Customer Service", "391d2252-056b-48e6-8147-fb81c11c9a4f" },
  { "en-US", "inbound", "Inbound - Create from scratch", "b169095e-4b52-4002-9c0f-6d860d8f69f2" },
  { "en-US", "inbound", "Inbound - Receptionist", "ef425178-b820-460f-b4a2-1f8704487343" },
  { "en-US", "inbound", "Inbound - Sales", "994c1320-b5c8-4ba6-af47-65f29caefaac" },
  { "en-US", "inbound", "Inbound - Customer Service", "28eb844e-5d43-4469-b422-d8cbb08ddba4" },
  { "en-US", "messages", "Messages - Create from scratch", "4371c8a9-f3c4-4b11-aa15-871870869fec" },
  { "en-US", "messages", "Messages - Sales Qualifications", "5b993906-231b-406b-bfb9-6188449e7a29" },
  { "en-US", "messages", "Messages - Appointment Confirmation", "93bd6c73-17f7-4e91-aee3-daaaa1fee598" },
  { "en-US", "messages", "Messages - Customer Service", "54f23536-c34c-446e-8bfc-b089e68ec3e1" },

  { "es-US", "outbound", "Outbound - Multilingual En & Spanish", "3d9f7b06-5ff9-47ad-bc9b-89d0d504fd80" },
  { "es-US", "outbound", "Outbound - ESPAÑOL", "bf608583-a352-4cbc-8a4f-24e3b516c95e" },
  { "es-US", "inbound", "Inbound - Multilingual En & Spanish", "937764af-80bf-4d3a-ba9d-5d0ffc62b5eb" },
  { "es-US", "inbound", "Inbound - ESPAÑOL", "8f77d0cb-a198-4ec1-b202-442f1d7668ec" },
  { "es-US", "messages", "Messages - Multilingual En & Spanish", "3d9f7b06-5ff9-47ad-bc9b-89d0d504fd80" },
  { "es-US", "messages", "Messages - ESPAÑOL", "bf608583-a352-4cbc-8a4f-24e3b516c95e" },

  { "de", "web", "Von Grund auf erstellen", "422566c4-7408-4332-ae4c-5cf0c4640220" },
  { "de", "outbound", "Von Grund auf erstellen", "422566c4-7408-4332-ae4c-5cf0c4640220" },
  { "de", "inbound", "Von Grund auf erstellen", "422566c4-7408-4332-ae4c-5cf0c4640220" },
  { "de", "messages", "Von Grund auf erstellen", "422566c4-7408-4332-ae4c-5cf0c4640220" },

  { "ro-RO", "inbound", "Șablon pentru Inbound", "761a6468-53e1-48ae-b21b-0f1e5c5c4585" },
  { "ro-RO", "outbound", "Șablon pentru Outbound", "23e344d1-39cb-4f64-9c9b-122f0903afbf" },
  { "ro-RO", "web", "Șablon pentru web", "761a6468-53e1-48ae-b21b-0f1e5c5c4585" },
  { "ro-RO", "messages", "Șablon pentru Messages", "23e344d1-39cb-4f64-9c9b-122f0903afbf" },

  { "fr-FR", "inbound", "Modèle pour Inbound", "fd09500c-b572-41f7-b703-774e718c40fd" },
  { "fr-FR", "outbound", "Modèle pour Outbound", "bf23d52a-c57e-4744-969b-a6c5b5c25b9e" },
  { "fr-FR", "web", "Modèle pour web", "fd09500c-b572-41f7-b703-774e718c40fd" },
  { "fr-FR", "messages", "Modèle pour Messages", "bf23d52a-c57e-4744-969b-a6c5b5c25b9e" },

  { "hi-IN", "outbound", "Create From Scratch", "f2086e1d-8c61-4dba-9551-602526b4db2b" },
  { "hi-IN", "inbound", "Create From Scratch", "f2086e1d-8c61-4dba-9551-602526b4db2b" },
  { "hi-IN", "messages", "Create From Scratch", "f2086e1d-8c61-4dba-9551-602526b4db2b" },

  { "he-IL", "inbound", "להתחיל מאפס", "ca905bb8-35a5-4f47-8511-285d3804df1b" },
  { "he-IL", "outbound", "להתחיל מאפס", "ca905bb8-35a5-4f47-8511-285d3804df1b" },
  { "he-IL", "web", "להתחיל מאפס", "ca905bb8-35a5-4f47-8511-285d3804df1b" },
  { "he-IL", "messages", "להתחיל מאפס", "ca905bb8-35a5-4f47-8511-285d3804df1b" },

  { "tr-TR", "outbound", "Sıfırdan oluşturmak - Giden", "951c250e-b776-4550-8c87-a6282878a8bc" },
  { "tr-TR", "inbound", "Sıfırdan oluşturmak - Gelen", "951c250e-b776-4550-8c87-a6282878a8bc" },
  { "tr-TR", "web", "Sıfırdan oluşturmak - Web", "951c250e-b776-4550-8c87-a6282878a8bc" },
  { "tr-TR", "messages", "Sıfırdan oluşturmak", "951c250e-b776-4550-8c87-a6282878a8bc" },

  { "multilanguage", "web", "Multilingual", "937764af-80bf-4d3a-ba9d-5d0ffc62b5eb" },
  { "multilanguage", "inbound", "Multilingual", "937764af-80bf-4d3a-ba9d-5d0ffc62b5eb" },
  { "multilanguage", "outbound", "Multilingual", "3d9f7b06-5ff9-47ad-bc9b-89d0d504fd80" },
  { "multilanguage", "messages", "Multilingual", "3d9f7b06-5ff9-47ad-bc9b-89d0d504fd80" },
}

-- English names a channel's "start from an empty agent" template this way;
-- in the other languages with one row per channel, that row is the default.
local SCRATCH = "create from scratch"

local LANGUAGE_NAMES, CHANNEL_SET = {}, {}
for _, l in ipairs(LANGUAGES) do LANGUAGE_NAMES[l[1]] = l[2] end
for _, ch in ipairs(templates.CHANNELS) do CHANNEL_SET[ch] = true end

local function row(entry)
  return { language = entry[1], channel = entry[2], title = entry[3], id = entry[4] }
end

local function quoted(list)
  local out = {}
  for i, s in ipairs(list) do out[i] = format("%q", s) end
  return concat(out, ", ")
end

local function language_codes()
  local out = {}
  for i, l in ipairs(LANGUAGES) do out[i] = l[1] end
  return out
end

local function check_language(language)
  if LANGUAGE_NAMES[language] then return true end
  -- "en-us" for "en-US": the codes are written as the catalog writes them.
  local same_but_case, near
  if type(language) == "string" then
    for _, code in ipairs(language_codes()) do
      if code:lower() == language:lower() then same_but_case = code end
    end
    -- "en_US" for "en-US"; not for two letters ("es" is not "de").
    near = not same_but_case and #language >= 4 and suggest(language, language_codes())
  end
  local hint = ""
  if same_but_case then
    hint = format(" (did you mean %q? codes are case-sensitive)", same_but_case)
  elseif near then
    hint = format(" (did you mean %q?)", near)
  end
  return nil, format("unknown language %s%s: the catalog has %s", shown(language), hint,
    quoted(language_codes()))
end

local function check_channel(channel)
  if CHANNEL_SET[channel] then return true end
  local hint = suggest(channel, templates.CHANNELS)
  return nil, format("unknown channel %s%s: one of %s", shown(channel),
    hint and format(" (did you mean %q?)", hint) or "", quoted(templates.CHANNELS))
end

-- The keys of list's filter: another would be ignored, and every row listed.
local FILTER_KEYS = { "channel", "language" }

-- Lower case of the two-byte UTF-8 letters of the catalog's languages
-- (Latin-1, Latin Extended-A, the Romanian comma letters, Greek, Cyrillic);
-- Turkish dotted and dotless i both read as "i".
local function fold_code_point(cp)
  if cp == 0x130 or cp == 0x131 then return 0x69 end
  if (cp >= 0xC0 and cp <= 0xDE and cp ~= 0xD7) or (cp >= 0x391 and cp <= 0x3A9)
    or (cp >= 0x410 and cp <= 0x42F) then
    return cp + 0x20
  end
  if cp >= 0x400 and cp <= 0x40F then return cp + 0x50 end
  if cp == 0x178 then return 0xFF end
  local even_upper = (cp >= 0x100 and cp <= 0x137) or (cp >= 0x14A and cp <= 0x177)
    or (cp >= 0x218 and cp <= 0x21F)
  local odd_upper = (cp >= 0x139 and cp <= 0x148) or (cp >= 0x179 and cp <= 0x17E)
  if (even_upper and cp % 2 == 0) or (odd_upper and cp % 2 == 1) then return cp + 1 end
  return cp
end

local function fold_letter(c)
  local b1, b2 = c:byte(1, 2)
  local cp = fold_code_point((b1 - 0xC0) * 64 + (b2 - 0x80))
  if cp < 0x80 then return string.char(cp) end
  return string.char(0xC0 + math.floor(cp / 64), 0x80 + cp % 64)
end

-- Titles match ignoring case (Unicode letters too: "español" is
-- "ESPAÑOL") and the en dash the catalog sometimes uses for "-"; a title
-- also matches by the part after its channel prefix ("Real Estate" for
-- "Voice Bubble – Real Estate").
local function simple(s)
  s = s:gsub("\226\128\147", "-"):lower():gsub("[\194-\223][\128-\191]", fold_letter)
  return (s:gsub("%s+", " "):gsub("^ ", ""):gsub(" $", ""))
end

local function title_matches(title, wanted)
  local t, w = simple(title), simple(wanted)
  if t == w then return true end
  local rest = t:match("^[^-]- %- (.+)$")
  return rest ~= nil and rest == w
end

--- The supported language codes, in the catalog's order.
-- @return list of codes (`"en-US"`, ..., `"multilanguage"`)
function templates.languages()
  return language_codes()
end

--- The English name of a language code (`"de"` -> `"German"`), or nil.
function templates.language_name(code)
  return LANGUAGE_NAMES[code]
end

--- Catalog rows, in the catalog's order, filtered by language and/or channel.
-- @param filter optional `{language = code, channel = name}`
-- @return list of `{language, channel, title, id}` (copies), or nil and a
--   message for an unknown language or channel
function templates.list(filter)
  filter = filter or {}
  if type(filter) ~= "table" then
    raise("campaign.templates.list: filter must be a table")
  end
  for k in next, filter do
    if k ~= "language" and k ~= "channel" then
      raise("campaign.templates.list: " .. unknown("filter key", k, FILTER_KEYS))
    end
  end
  local language, channel = filter.language, filter.channel
  if language ~= nil then
    local ok, err = check_language(language)
    if not ok then return nil, err end
  end
  if channel ~= nil then
    local ok, err = check_channel(channel)
    if not ok then return nil, err end
  end
  local out = {}
  for _, entry in ipairs(CATALOG) do
    if (language == nil or entry[1] == language) and (channel == nil or entry[2] == channel) then
      out[#out + 1] = row(entry)
    end
  end
  return out
end

local function titles_of(rows)
  local out = {}
  for i, r in ipairs(rows) do out[i] = r.title end
  return out
end

local function channels_of(language)
  local seen, out = {}, {}
  for _, entry in ipairs(CATALOG) do
    if entry[1] == language and not seen[entry[2]] then
      seen[entry[2]] = true
      out[#out + 1] = entry[2]
    end
  end
  return out
end

local function languages_with(channel)
  local seen, out = {}, {}
  for _, entry in ipairs(CATALOG) do
    if entry[2] == channel and not seen[entry[1]] then
      seen[entry[1]] = true
      out[#out + 1] = entry[1]
    end
  end
  return out
end

-- The default row of a language's channel: the only one, or the one whose
-- title says "Create from scratch".
local function default_row(rows)
  if #rows == 1 then return rows[1] end
  for _, r in ipairs(rows) do
    if simple(r.title):find(SCRATCH, 1, true) then return r end
  end
end

--- Finds the template for a language and channel.
-- @param language a code from `templates.languages()`
-- @param channel `"outbound"`, `"inbound"`, `"web"` or `"messages"`
-- @param title optional: the row's title (ASCII case and "-"/"–" ignored;
--   the part after the channel prefix is enough). Without it: the
--   language's "create from scratch" template for the channel, or its only one.
-- @return row `{language, channel, title, id}`, or nil and a message that
--   lists the valid choices
function templates.find(language, channel, title)
  local ok, err = check_language(language)
  if not ok then return nil, err end
  ok, err = check_channel(channel)
  if not ok then return nil, err end
  if title ~= nil and type(title) ~= "string" then
    return nil, format("template title must be a string (got %s)", type(title))
  end
  local rows = templates.list { language = language, channel = channel }
  local name = format("%s (%s)", LANGUAGE_NAMES[language], language)
  if #rows == 0 then
    return nil, format("%s has no %s template: it has %s templates; %s templates exist in %s",
      name, CHANNEL_LABELS[channel], concat(channels_of(language), ", "), channel,
      concat(languages_with(channel), ", "))
  end
  if title == nil then
    local r = default_row(rows)
    if r then return r end
    return nil, format("%s has %d %s templates and none is \"create from scratch\": "
      .. "pick one by title: %s", name, #rows, channel, quoted(titles_of(rows)))
  end
  for _, r in ipairs(rows) do
    if title_matches(r.title, title) then return r end
  end
  return nil, format("%s has no %s template titled %q: its %s templates are %s", name, channel,
    title, channel, quoted(titles_of(rows)))
end

--- The rows that use a template id (ids repeat across rows).
-- @return list of rows (empty when the id is not in the catalog)
function templates.by_id(id)
  local out = {}
  if type(id) ~= "string" then return out end
  id = id:lower()
  for _, entry in ipairs(CATALOG) do
    if entry[4] == id then out[#out + 1] = row(entry) end
  end
  return out
end

return templates
