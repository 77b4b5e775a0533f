--- The command-line tool's input: FILEs (JSON, or Lua data files run with
-- no access to any global), standard input, and the key file. Part of
-- `campaign.cli`.
-- @module campaign.cli.input

local format, concat = string.format, table.concat
local floor = math.floor

local M = {}

-- A cjson instance that refuses NaN and Infinity, made on first use.
local json
local function cjson_instance()
  if not json then
    json = require("cjson").new()
    json.decode_invalid_numbers(false)
  end
  return json
end

-- lua-cjson reads [] as an empty table, which would be sent as {}. Where
-- the text has an empty list, it is read again with dkjson, which marks each
-- list it reads as campaign.array does (a metatable with __jsontype =
-- "array"), with lua-cjson's null for null: then [] stays [].
local function keep_empty_lists(text, value)
  if not text:find("%[%s*%]") then return value end
  local ok, dkjson = pcall(require, "dkjson")
  if not ok then return value end
  local kept, _, problem = dkjson.decode(text, 1, require("cjson").null)
  if problem ~= nil or type(kept) ~= "table" then return value end
  return kept
end

-- The length n when the keys of t are exactly 1..n (n > 0), else nil.
local function sequence_length(t)
  local count = 0
  for k in next, t do
    if type(k) ~= "number" or k < 1 or k ~= floor(k) then return nil end
    count = count + 1
  end
  for i = 1, count do
    if t[i] == nil then return nil end
  end
  return count > 0 and count or nil
end

-- The JSON name of a value's type (lua-cjson's null is a userdata).
local function json_type(v)
  return type(v) == "userdata" and "null" or type(v)
end

local function shown(s)
  if #s > 40 then s = s:sub(1, 40) .. "..." end
  return (s:gsub("%c", "?"))
end

-- The reason io.open or read gave ("No such file or directory"), without
-- the path it starts with; nil when the path cannot be taken out of it.
local function os_reason(problem, path)
  local text = tostring(problem)
  if path and text:sub(1, #path + 2) == path .. ": " then return text:sub(#path + 3) end
  if path and path ~= "" and text:find(path, 1, true) then return nil end
  return text
end

local function because(reason)
  return reason and (" (" .. reason .. ")") or ""
end

-- ---------------------------------------------------------------------------
-- The key file

--- The key on the first line of the file given to --api-key-file, trimmed.
-- The path is not shown in errors: it may be the key itself, given where
-- its path belongs.
function M.read_key_file(out, path)
  local f, problem = io.open(path, "rb")
  if not f then
    out:usage_error(format("--api-key-file: cannot read the file given%s; --api-key-file takes the "
      .. "PATH of a file whose first line is the key", because(os_reason(problem, path))))
  end
  local line, read_problem = f:read("*l")
  f:close()
  if not line and read_problem then
    out:usage_error(format("--api-key-file: cannot read the file given%s",
      because(os_reason(read_problem, path))))
  end
  local key = line and line:match("^%s*(.-)%s*$")
  if not key or key == "" then
    out:usage_error("--api-key-file: the first line of the file given is empty")
  end
  return key
end

-- ---------------------------------------------------------------------------
-- FILEs

-- A FILE that cannot be opened may be anything but a file (a key pasted in
-- its place): it is named by its position, not shown.
local function read_text(out, path, position)
  local text, problem
  local what = path == "-" and "standard input" or format("FILE argument %d", position)
  if path == "-" then
    text, problem = out.stdin:read("*a")
  else
    local f, open_problem = io.open(path, "rb")
    if not f then
      out:usage_error(format("cannot read %s%s", what, because(os_reason(open_problem, path))))
    end
    text, problem = f:read("*a")
    f:close()
  end
  if not text then
    out:usage_error(format("cannot read %s%s", what,
      because(os_reason(problem, path ~= "-" and path or nil))))
  end
  return text
end

-- Lua's messages quote the source near an error ("malformed number near
-- '3f1c2a9e-8d4b'", "global 'sk_live_...'"): a key file given as FILE would
-- be shown in part. A quoted word is kept only when it is Lua's own (a
-- keyword, a standard global a data file cannot reach) or has no letter or
-- digit in it ('}', '=').
local LUA_WORDS = {}
for word in ("and break do else elseif end false for function goto if in local nil not or "
  .. "repeat return then true until while <eof> _G _ENV _VERSION arg assert bit collectgarbage "
  .. "coroutine debug dofile error gcinfo getfenv getmetatable io ipairs jit load loadfile "
  .. "loadstring math module newproxy next os package pairs pcall print rawequal rawget rawlen "
  .. "rawset require select setfenv setmetatable string table tonumber tostring type unpack utf8 "
  .. "xpcall"):gmatch("%S+") do
  LUA_WORDS[word] = true
end

-- Quoted words kept when they are Lua's own, paired quote by quote: the
-- names in "(global 'os')" or "'=' expected" cannot hold a quote.
local function lua_words_only(message)
  local parts, pos = {}, 1
  while true do
    local i = message:find("'", pos, true)
    if not i then break end
    parts[#parts + 1] = message:sub(pos, i - 1)
    local j = message:find("'", i + 1, true)
    if not j then
      parts[#parts + 1] = "[not shown]"
      pos = #message + 1
      break
    end
    local word = message:sub(i + 1, j - 1)
    parts[#parts + 1] = (LUA_WORDS[word] or not word:find("%w")) and message:sub(i, j) or "[not shown]"
    pos = j + 1
  end
  parts[#parts + 1] = message:sub(pos)
  return concat(parts)
end

-- The piece of source a syntax error quotes comes last, "near 'TOKEN'",
-- and may hold quotes itself (a token 'sk-...' reads ''sk-...''): all of it,
-- to the message's last quote, is one piece.
local function without_source(message)
  local near = message:find(" near '[^\n]*$")
  if not near then return lua_words_only(message) end
  local head, tail = message:sub(1, near + 5), message:sub(near + 6)
  local last = #tail + 1 - tail:reverse():find("'", 1, true)
  local word = last > 1 and tail:sub(2, last - 1) or nil
  local piece = word and (LUA_WORDS[word] or not word:find("%w")) and tail:sub(1, last)
    or "[not shown]"
  return lua_words_only(head) .. piece .. (last > 1 and tail:sub(last + 1) or "")
end

-- A Lua data file: compiled as source only and run with an empty global
-- table, so that it can build tables and nothing else. Problems read
-- "label:line: message", with the source text left out.
local CHUNK = "input"
local function load_lua(text, label)
  if text:byte(1) == 27 then return nil, "precompiled Lua is not read, only source" end
  local env = {}
  local chunk, problem
  local setfenv, loadstring = rawget(_G, "setfenv"), rawget(_G, "loadstring")
  if setfenv and loadstring then
    chunk, problem = loadstring(text, "=" .. CHUNK)
    if chunk then setfenv(chunk, env) end
  else
    chunk, problem = load(text, "=" .. CHUNK, "t", env)
  end
  if chunk then
    local ok, value = pcall(chunk)
    if ok and type(value) ~= "table" then
      return nil, format("must return a table (it returned %s)", type(value))
    elseif ok then
      return value
    end
    problem = value
  end
  problem = tostring(problem)
  local line, rest = problem:match("^" .. CHUNK .. ":(%d+): (.*)$")
  if line then return nil, format("%s:%s: %s", label, line, without_source(rest)) end
  return nil, without_source(problem)
end

-- A number text as its significant digits (no leading or trailing zeros)
-- and the place of the decimal point relative to them; "0" for zero.
local function decimal_digits(text)
  local mantissa, exp = text:match("^-?([%d.]+)[eE]?([-+]?%d*)$")
  local int, frac = mantissa:match("^(%d*)%.?(%d*)$")
  local digits, point = int .. frac, #int + (tonumber(exp) or 0)
  local zeros = #digits:match("^0*")
  digits, point = digits:sub(zeros + 1), point - zeros
  digits = digits:gsub("0+$", "")
  if digits == "" then return "0", 0 end
  return digits, point
end

-- Whether a double holds the number text as written.
local function exact(number)
  local digits, point = decimal_digits(number)
  if digits == "0" then return true end
  local value = tonumber(number)
  if #digits > 40 or not value or value ~= value or value == math.huge or value == -math.huge then
    return false
  end
  local d, p = decimal_digits(format("%." .. (#digits - 1) .. "e", value))
  return d == digits and p == point
end

-- The first number in a JSON text that a double cannot hold as written
-- (0.10000000000000000001, 12345678901234567890): its line and its text.
-- lua-cjson would read it as the nearest double and the campaign would be
-- sent with another number.
local function inexact_number(text)
  local i, line = 1, 1
  while true do
    local at = text:find('["%-%d\n]', i)
    if not at then return nil end
    local c = text:sub(at, at)
    if c == "\n" then
      line, i = line + 1, at + 1
    elseif c == '"' then
      -- Skip the string: escapes included, and it has no raw newline.
      local j = at + 1
      while true do
        local k = text:find('[\\"]', j)
        if not k then return nil end
        if text:sub(k, k) == '"' then i = k + 1; break end
        j = k + 2
      end
    else
      local number = text:match("^-?%d+%.?%d*[eE]?[-+]?%d*", at)
      i = at + #number
      if not exact(number) then
        return line, #number > 40 and number:sub(1, 40) .. "..." or number
      end
    end
  end
end

-- A JSON text: the value, and whether it is a list of items; or nil and
-- the problem. lua: also tried as a Lua table constructor.
local function parse_json(text, label, first, lua)
  local ok, value = pcall(cjson_instance().decode, text)
  if ok then
    if type(value) ~= "table" then
      return nil, "must hold a JSON object (a campaign) or a list of them"
    end
    local line, number = inexact_number(text)
    if line then
      return nil, format("line %d: the number %s cannot be read exactly (a number holds about "
        .. "16 digits): write it as a string", line, number)
    end
    value = keep_empty_lists(text, value)
    return value, first == "[" or (next(value) ~= nil and sequence_length(value) ~= nil)
  end
  -- A Lua table constructor without "return" also starts with "{".
  if lua and first == "{" then
    local lua_value = load_lua("return " .. text, label)
    if lua_value then return lua_value, false end
  end
  return nil, "is not valid JSON: " .. tostring(value):gsub("^.-: ", "")
end

-- Reads one FILE: the value, and whether it is a list of items; or nil and
-- the problem.
local function parse_input(out, path, label, position)
  local text = read_text(out, path, position)
  text = text:gsub("^\239\187\191", "")   -- a UTF-8 byte order mark
  local first = text:match("^%s*(.)")
  if not first then return nil, "is empty" end
  local ext = path:match("%.(%w+)$")
  ext = ext and ext:lower()
  local as_json
  if ext == "json" then
    as_json = true
  elseif ext == "lua" then
    as_json = false
  else
    as_json = first == "{" or first == "["
  end
  if as_json then return parse_json(text, label, first, ext ~= "json") end
  local value, problem = load_lua(text, label)
  if not value then return nil, problem end
  return value, sequence_length(value) ~= nil
end

--- Every FILE as items {label, fields[, id]}, and whether it is a batch.
function M.read_items(out, o, command)
  local items, batch = {}, #o.files > 1
  for position, path in ipairs(o.files) do
    local label = path == "-" and "stdin" or path
    local value, is_list = parse_input(out, path, label, position)
    if value == nil then
      -- Those of Lua data files already start with "label:line:".
      local problem = is_list
      if problem:sub(1, #label + 1) ~= label .. ":" then problem = label .. ": " .. problem end
      out:invalid_input(problem)
    end
    if is_list then
      if command == "list" or (command == "update" and o.id) then
        out:invalid_input(label .. ": holds a list; " .. (command == "list"
          and "list takes one table of filters" or "with --id, FILE holds the fields of one campaign"))
      end
      if #value == 0 then out:invalid_input(label .. ": the list is empty") end
      batch = true
      for i = 1, #value do
        local item_label = format("%s[%d]", label, i)
        if type(value[i]) ~= "table" then
          out:invalid_input(format("%s: must be an object, not %s", item_label, json_type(value[i])))
        end
        items[#items + 1] = { label = item_label, fields = value[i] }
      end
    else
      items[#items + 1] = { label = label, fields = value }
    end
  end
  return items, batch
end

-- ---------------------------------------------------------------------------
-- Update items

-- An update item of a batch: {"id": ID, "fields": {...}}, nothing else.
local function check_pair(out, item)
  local f = item.fields
  if type(f) ~= "table" then
    out:invalid_input(item.label .. ": must be {\"id\": ID, \"fields\": {...}}")
  end
  -- Another key first: {"id": ..., "field": {...}} is a misspelt pair.
  for k in pairs(f) do
    if k ~= "id" and k ~= "fields" then
      local hint = require("campaign.errors").suggest(k, { "id", "fields" })
      out:invalid_input(format("%s: unknown key %s (an item is {\"id\": ID, \"fields\": {...}}%s)",
        item.label, shown(tostring(k)), hint and format("; did you mean %s?", hint) or ""))
    end
  end
  if f.id == nil or f.fields == nil then
    out:invalid_input(item.label .. ": must be {\"id\": ID, \"fields\": {...}}")
  end
  if type(f.id) ~= "string" and type(f.id) ~= "number" then
    out:invalid_input(item.label .. ": id must be a string or a number")
  end
  if type(f.fields) ~= "table" then
    out:invalid_input(item.label .. ": fields must be an object")
  end
  item.id, item.fields = f.id, f.fields
end

--- update: each item is {id = ..., fields = {...}} unless --id was given.
function M.update_pairs(out, o, items)
  if o.id then
    if #items ~= 1 then out:usage_error("update with --id takes exactly one FILE") end
    local f = items[1].fields
    if type(f) == "table" and f.fields ~= nil and f.id ~= nil then
      out:usage_error("update: the ids are given twice (--id, and \"id\" in "
        .. items[1].label .. "); use one or the other")
    end
    items[1].id = o.id
    return
  end
  local pairs_seen = 0
  for _, item in ipairs(items) do
    local f = item.fields
    if type(f) == "table" and f.id ~= nil and f.fields ~= nil then pairs_seen = pairs_seen + 1 end
  end
  if pairs_seen == 0 then
    out:usage_error("update needs --id ID, or FILEs whose items are {\"id\": ID, \"fields\": {...}}")
  end
  for _, item in ipairs(items) do check_pair(out, item) end
end

return M
