--- The command-line tool's arguments: options, the providers it lists,
-- and suggestions for misspelt names. Part of `campaign.cli`.
--
-- Error messages never repeat what an argument holds: a key pasted where a
-- path, a number or a name belongs would be printed, and end up in logs and
-- CI output. They name the option or the position instead.
-- @module campaign.cli.args

local format, concat, sort = string.format, table.concat, table.sort
local floor = math.floor

local M = {}

-- Options: "value" takes an argument, "list" a repeatable one, true none.
local OPTIONS = {
  provider = "value", id = "value", ["api-key-file"] = "value", ["base-url"] = "value",
  timeout = "value", ["max-retries"] = "value", concurrency = "value", query = "list",
  rate = "value", ["max-wait"] = "value", ["connect-timeout"] = "value",
  ["dry-run"] = true, check = true, passthrough = true, legacy = true,
  ["no-progress"] = true, help = true, version = true, ["allow-http"] = true,
  verbose = true, template = true, yes = true, json = true,
}
local OPTION_NAMES = {}
for name in pairs(OPTIONS) do OPTION_NAMES[#OPTION_NAMES + 1] = name end
sort(OPTION_NAMES)

-- Ways to hand over a key that would show in ps: refused, with the reason.
local KEY_OPTIONS = { ["api-key"] = true, apikey = true, api_key = true, key = true,
  token = true, ["api-token"] = true, secret = true }

-- ---------------------------------------------------------------------------
-- Providers

-- The provider names as the tool lists them, and the registry
-- (campaign.providers: each one's env, the key variable). The names are
-- campaign.providers() backwards: vapi, smallest, autocalls, atlas. Without
-- the C core (--help in a checkout not built yet) they come from the
-- registry alone.
function M.providers()
  local registry = require "campaign.providers"
  local ok, campaign = pcall(require, "campaign")
  local sorted
  if ok then
    sorted = campaign.providers()
  else
    sorted = {}
    for name in pairs(registry) do sorted[#sorted + 1] = name end
    sort(sorted)
  end
  local listed = {}
  for i = #sorted, 1, -1 do listed[#listed + 1] = sorted[i] end
  return listed, registry
end

-- The environment variable a provider's key is read from.
function M.key_variable(registry, name)
  local provider = registry[name]
  return provider and provider.env or (name:upper() .. "_API_KEY")
end

-- The key variables of every provider, in the order of M.providers.
function M.key_variables()
  local listed, registry = M.providers()
  local names = {}
  for i, name in ipairs(listed) do names[i] = M.key_variable(registry, name) end
  return names
end

-- "a, b, c or d" (word: "or", "and").
function M.either(list, word)
  if #list < 2 then return list[1] or "" end
  return concat(list, ", ", 1, #list - 1) .. " " .. word .. " " .. list[#list]
end

-- ---------------------------------------------------------------------------
-- Suggestions

-- The name of candidates nearest to name, if near enough; nil otherwise
-- (campaign.errors.suggest: the validator's own rule, and no suggestion
-- without the C core, where --help still works).
M.suggest = require("campaign.errors").suggest

-- ---------------------------------------------------------------------------
-- Options

local function refuse_key_option(out, name)
  out:usage_error(format("--%s: there is no such option, on purpose. A key given on the "
    .. "command line can be read by every user of the machine (ps, /proc) and stays in "
    .. "the shell's history. Set the provider's environment variable (%s) or use "
    .. "--api-key-file PATH (the key on its first line)", name, concat(M.key_variables(), ", ")))
end

-- Known option names (and refused key options), longest first: an unknown
-- option that starts with one is a value run into it (--timeout30,
-- --api-key-fileKEY).
local PREFIXES = {}
for name in pairs(OPTIONS) do PREFIXES[#PREFIXES + 1] = name end
for name in pairs(KEY_OPTIONS) do PREFIXES[#PREFIXES + 1] = name end
sort(PREFIXES, function(a, b) return #a > #b or (#a == #b and a < b) end)

local function unknown_long_option(out, name)
  local lower = name:lower()
  for _, known in ipairs(PREFIXES) do
    if #lower > #known and lower:sub(1, #known) == known then
      if KEY_OPTIONS[known] then refuse_key_option(out, known) end
      out:usage_error(format("unknown option --%s... (the rest of the argument is not shown)%s", known,
        OPTIONS[known] ~= true and format("; give the value as --%s VALUE or --%s=VALUE", known, known)
          or ""))
    end
  end
  local hint = M.suggest(name, OPTION_NAMES)
  hint = hint and format(" (did you mean --%s?)", hint) or ""
  -- Shown only when it reads as an option name: letters, - and _.
  if #name <= 30 and name:find("^%a[%a%-_]*$") then
    out:usage_error(format("unknown option --%s%s", name, hint))
  end
  out:usage_error("unknown option --... (the argument is not shown: it does not read as an "
    .. "option name)" .. hint)
end

-- -h is the only short option; of anything else only the letter is shown
-- (-kKEY is a key run into an option).
local function unknown_short_option(out, a)
  local letter = a:sub(2, 2)
  if not letter:find("^[%w%p]$") then letter = "" end
  local name = a:sub(2):match("^[^=]*")
  local hint = #name > 3 and M.suggest(name, OPTION_NAMES)
  local notes = {}
  if #a > 2 then notes[#notes + 1] = "the rest of the argument is not shown" end
  if hint then notes[#notes + 1] = format("did you mean --%s?", hint) end
  out:usage_error(format("unknown option -%s%s", letter,
    #notes > 0 and (" (" .. concat(notes, "; ") .. ")") or ""))
end

-- --name or --name=value at argv[i] (or --name VALUE, at i and i + 1): sets
-- o[name]; returns the index of the last argument it read.
local function long_option(out, o, argv, i)
  local a = argv[i]
  local name, value = a:match("^%-%-([^=]*)=(.*)$")
  name = name or a:sub(3)
  if KEY_OPTIONS[name:lower()] then refuse_key_option(out, name) end
  local kind = OPTIONS[name]
  if not kind then unknown_long_option(out, name) end
  if kind == true then
    if value then out:usage_error(format("--%s takes no value", name)) end
    o[name] = true
    return i
  end
  if not value then
    value = argv[i + 1]
    if value == nil or value:sub(1, 2) == "--" then
      out:usage_error(format("--%s needs a value", name))
    end
    i = i + 1
  end
  if kind == "list" then
    o[name][#o[name] + 1] = value
  elseif o[name] ~= nil then
    out:usage_error(format("--%s is given twice", name))
  else
    o[name] = value
  end
  return i
end

--- The options of argv: o[name] for each option given (o.query a list),
-- o.command and o.files; a usage error (through out) for anything wrong.
function M.parse(out, argv)
  local o = { files = {}, query = {} }
  local positional = {}
  local i, only_files = 1, false
  while i <= #argv do
    local a = argv[i]
    if only_files or a == "-" or a:sub(1, 1) ~= "-" then
      positional[#positional + 1] = a
    elseif a == "--" then
      only_files = true
    elseif a == "-h" then
      o.help = true
    elseif a:sub(1, 2) == "--" then
      i = long_option(out, o, argv, i)
    else
      unknown_short_option(out, a)
    end
    i = i + 1
  end
  o.command = positional[1]
  for j = 2, #positional do o.files[#o.files + 1] = positional[j] end
  return o
end

--- The number given to --name, from lo to hi (integer: whole numbers only);
-- nil when not given. what: how the usage error names it.
function M.number(out, o, name, integer, lo, hi, what)
  local s = o[name]
  if s == nil then return nil end
  local n = s:find("^%s*%d+%.?%d*%s*$") and tonumber(s)
    or s:find("^%s*%.%d+%s*$") and tonumber(s)
  if not n or (integer and n ~= floor(n)) or n < lo or n > hi then
    out:usage_error(format("--%s must be %s from %s to %s (the value given is not shown)", name,
      what or (integer and "an integer" or "a number of seconds"), lo, hi))
  end
  return n
end

return M
