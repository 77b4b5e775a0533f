--- The error table of every failure (`nil, err`), and the raising of wrong
-- use at the caller's line.
-- @module campaign.errors

local type, ipairs, tonumber, tostring, setmetatable, getmetatable = type, ipairs, tonumber, tostring,
  setmetatable, getmetatable
local format, sort = string.format, table.sort

local M = {}

local Error = {}
Error.__index = Error
Error.__tostring = function(e)
  return format("campaign %s %s: %s", e.provider or "?", e.op or "?", e.message)
end
M.Error = Error

--- A new error of `kind` for `op` of `provider` (nil: "?"); `extra` holds
-- the other fields and becomes the error.
function M.new(provider, op, kind, message, extra)
  local e = extra or {}
  e.kind, e.message = kind, message
  e.provider = provider
  e.op = op
  return setmetatable(e, Error)
end
local new_error = M.new

function M.is_error(value) return getmetatable(value) == Error end

-- "customers[10]" sorts after "customers[9]".
local function natural_less(a, b)
  local fa, fb = a.field, b.field
  if fa == fb then return a.message < b.message end
  local pa, pb = fa:gsub("%d+", function(d) return format("%012d", #d < 12 and tonumber(d) or 0) end),
    fb:gsub("%d+", function(d) return format("%012d", #d < 12 and tonumber(d) or 0) end)
  if pa == pb then return fa < fb end
  return pa < pb
end

--- Sorts problems ({field, message} each) by field, numbers in order.
function M.sort(problems) sort(problems, natural_less) end

--- A validation error of every problem ({field, message} each), sorted by
-- field, the key (when given) hidden in what they quote.
function M.validation(provider, op, problems, key)
  local last = problems[#problems]
  local more, count
  -- The C core ends a long list with a summary entry that has no field:
  -- past 100 problems it only counts them.
  if last.field == "" and last.message:find("^and %d+ more problems$") then
    problems[#problems] = nil
    more = last.message
    count = #problems + tonumber(more:match("%d+"))
  end
  count = count or #problems
  -- A value quoted in a message may be the key, put in a field by mistake.
  if key then
    -- Loaded here: the helpers that only raise need no C core.
    local redact_text = require("campaign.redact").text
    -- A suggestion may show the value quoted without its spaces, dashes,
    -- dots and parentheses (a phone number's "did you mean"): the key so
    -- written is hidden too.
    local plain = key:gsub("[ %-%.%(%)]", "")
    if plain == key or #plain < 8 then plain = nil end
    for _, p in ipairs(problems) do
      p.field, p.message = redact_text(p.field, key), redact_text(p.message, key)
      if plain then p.message = redact_text(p.message, plain) end
    end
  end
  sort(problems, natural_less)
  local first = problems[1]
  local text = first.field ~= "" and (first.field .. " " .. first.message) or first.message
  local others = #problems - 1
  if more then
    text = text .. format(" (%d more listed in err.errors, and %d more problems only counted: "
      .. "err.count = %d)", others, count - #problems, count)
  elseif others > 0 then
    text = text .. format(" (and %d more problem%s in err.errors)", others, others == 1 and "" or "s")
  end
  return new_error(provider, op, "validation", text, { errors = problems, count = count })
end

-- ---------------------------------------------------------------------------
-- Wrong use

--- The name of `candidates` (a list of strings) that `name` most likely
-- means, by the validator's rule for misspelt field names (core.suggest:
-- the same in another case, or a close misspelling); nil when none is near,
-- when name is not a string, or without the C core.
function M.suggest(name, candidates)
  if type(name) ~= "string" then return nil end
  -- Loaded here: the helpers that only raise need no C core.
  local ok, core = pcall(require, "campaign.core")
  if not ok then return nil end
  return core.suggest(name, candidates)
end

--- The words for a name that is not one of `known` (a list of strings, in
-- the order to show): `unknown <what> <name> (did you mean <near>? known:
-- <list>)`. The name is shown cut at 60 bytes; one that is neither a
-- string nor a number by its type (tostring could run a __tostring).
function M.unknown(what, name, known)
  local t = type(name)
  local shown = (t == "string" or t == "number" or t == "boolean") and tostring(name)
    or ("of type " .. t)
  if #shown > 60 then shown = shown:sub(1, 60) .. "..." end
  local hint = M.suggest(name, known)
  return format("unknown %s %s (%sknown: %s)", what, shown,
    hint and format("did you mean %s? ", hint) or "", table.concat(known, ", "))
end

-- The directory of the module's Lua files, as their chunks name it.
local getinfo = type(debug) == "table" and debug.getinfo
local LIBRARY = getinfo and getinfo(1, "S").source:match("^(@.*[/\\])[^/\\]*$")

local function in_library(source)
  return LIBRARY and source:sub(1, #LIBRARY) == LIBRARY
end

--- Raises `message` at the line of the first caller outside the module
-- (past C functions such as pcall, and tail calls): the line that used it
-- wrongly, however deep in the module the mistake was found.
function M.raise(message)
  if not getinfo then error(message, 3) end
  local level = 2
  while true do
    local info = getinfo(level, "S")
    if not info then error(message, 0) end
    if info.what ~= "C" and info.what ~= "tail" and info.source ~= "=(tail call)"
      and not in_library(info.source) then
      error(message, level)
    end
    level = level + 1
  end
end

--- campaign.assert(v, err, ...): v, err, ... when v is true; else raises
-- the error's one line at the caller's line (a string: PUC Lua 5.1's assert
-- takes only a string message, and its interpreter prints no other error).
function M.assert(v, err, ...)
  if v then return v, err, ... end
  if err == nil then err = "assertion failed!" end
  M.raise(type(err) == "string" and err or tostring(err))
end

return M
