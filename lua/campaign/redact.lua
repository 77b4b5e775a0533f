--- The API key hidden wherever it shows: in texts as written or escaped
-- (see core.redact), in the pieces a message cuts, and in header tables.
-- @module campaign.redact

local core_redact = require("campaign.core").redact

local type, next, concat, setmetatable, getmetatable = type, next, table.concat, setmetatable,
  getmetatable

local M = {}

M.REDACTED = "[REDACTED]"
local REDACTED = M.REDACTED

-- Where a message cuts what it quotes ("..." after 48 or 60 characters),
-- the piece of the key at the cut: at least MIN_CUT characters of the key's
-- start before "...", or of its end after.
local MIN_CUT = 4
local function redact_cuts(s, key)
  local out, pos = {}, 1
  while true do
    local i = s:find("...", pos, true)
    if not i then break end
    local before = s:sub(pos, i - 1)
    for k = math.min(#key - 1, #before), MIN_CUT, -1 do
      if before:sub(-k) == key:sub(1, k) then
        before = before:sub(1, -k - 1) .. REDACTED
        break
      end
    end
    out[#out + 1] = before
    out[#out + 1] = "..."
    pos = i + 3
    local after = s:sub(pos, pos + #key - 2)
    for k = #after, MIN_CUT, -1 do
      if after:sub(1, k) == key:sub(-k) then
        out[#out + 1] = REDACTED
        pos = pos + k
        break
      end
    end
  end
  out[#out + 1] = s:sub(pos)
  return concat(out)
end

--- s with the key replaced wherever it is, as written or escaped (JSON's \/
-- and \uXXXX, percent escapes): see core.redact; and its cut pieces. s as
-- it is when it is not a string or there is no key.
function M.text(s, key)
  if type(s) ~= "string" or not key or key == "" then return s end
  s = core_redact(s, key, REDACTED)
  if s:find("...", 1, true) then s = redact_cuts(s, key) end
  return s
end
local redact_text = M.text

-- A copy of v with the key replaced in every string, names included, and
-- the metatables kept (a JSON library's mark of an array, say). Tables
-- deeper than `limit`, and any met twice (a cycle, or a table used in two
-- places: the copy would be walked once per path), read [REDACTED].
local function redact_value(v, key, depth, limit, seen)
  if type(v) == "string" then return redact_text(v, key) end
  if type(v) ~= "table" then return v end
  seen = seen or {}
  if depth > limit or seen[v] then return REDACTED end
  seen[v] = true
  local out = setmetatable({}, getmetatable(v))
  for name, value in next, v do
    out[redact_value(name, key, depth + 1, limit, seen)] =
      redact_value(value, key, depth + 1, limit, seen)
  end
  return out
end

--- A copy of v (a string, or a table of them at any depth up to `limit`,
-- default 1000) with the key replaced everywhere; v itself without a key.
function M.value(v, key, limit)
  if not key or key == "" then return v end
  return redact_value(v, key, 0, limit or 1000)
end

-- Header values a custom transport gives may be lists: a few levels.
local HEADER_DEPTH = 4

--- A copy of a header table with the key replaced in names and values.
function M.headers(headers, key)
  if type(headers) ~= "table" or not key then return headers end
  return redact_value(headers, key, 0, HEADER_DEPTH)
end

-- Header names that carry a credential, whatever the provider.
local CREDENTIAL = { authorization = true, ["api-key"] = true, ["x-api-key"] = true }

--- A printable copy of headers: the credential headers (and `auth_header`,
-- the provider's) read [REDACTED], the key is hidden everywhere else.
function M.printable_headers(headers, key, auth_header)
  local copy = {}
  if type(headers) ~= "table" then return copy end
  for name, value in next, headers do
    local lname = type(name) == "string" and name:lower()
    if lname and (lname == auth_header or CREDENTIAL[lname]) then
      copy[redact_text(name, key)] = REDACTED
    else
      copy[redact_text(name, key)] = redact_value(value, key, 1, HEADER_DEPTH)
    end
  end
  return copy
end

return M
