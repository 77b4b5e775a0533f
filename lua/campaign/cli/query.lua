--- The command-line tool's list filters, typed by the provider's rules;
-- and the values of the options --id and --query, kept out of the errors
-- that quote them back. Part of `campaign.cli`.
-- @module campaign.cli.query

local format, concat = string.format, table.concat
local floor = math.floor

local M = {}

local function ordinal(n)
  local tens, last = n % 100, n % 10
  local suffix = (tens >= 11 and tens <= 13) and "th" or last == 1 and "st" or last == 2 and "nd"
    or last == 3 and "rd" or "th"
  return n .. suffix
end

--- The --query filters as text ({NAME = VALUE}), and the values of --query
-- and --id to keep out of errors: a list of {field, value, as = what to
-- say instead, name = the --query's position}.
function M.parse(out, o)
  local texts, where, hidden = {}, {}, {}
  for k, q in ipairs(o.query) do
    local name, value = q:match("^([^=]+)=(.*)$")
    if not name then
      out:usage_error(format("--query takes NAME=VALUE: the %s --query has no NAME= (the value given "
        .. "is not shown)", ordinal(k)))
    end
    if texts[name] then
      out:usage_error(format("the %s and %s --query give the same NAME (not shown)", ordinal(where[name]),
        ordinal(k)))
    end
    texts[name], where[name] = value, k
    hidden[#hidden + 1] = { field = name, value = value, as = "the --query value", name = ordinal(k) }
  end
  if o.id then hidden[#hidden + 1] = { field = "id", value = o.id, as = "the --id value" } end
  return texts, hidden
end

-- ---------------------------------------------------------------------------
-- Types

local function decimal(s)
  if s:find("^%-?%d+$") or s:find("^%-?%d*%.%d+$") or s:find("^%-?%d+%.?%d*[eE][-+]?%d+$") then
    return tonumber(s)
  end
end

--- The type the provider's rules give the field `name` of `op` (its
-- query, or its body): "integer", "number", "boolean", "string", ... as
-- core.fields names them; nil when they do not know the field.
function M.field_type(client, op, name)
  local spec = client._ops[op]
  local schema = spec and (spec.query or spec.schema)
  if not schema then return nil end
  return require("campaign.core").fields(schema)[name]
end

--- --query values arrive as text; the provider's rules say which are
-- numbers or booleans. Converts those, leaves the others; base: the
-- filters of a FILE.
function M.typed_query(client, base, texts)
  local query = {}
  for k, v in pairs(base or {}) do query[k] = v end
  for name, text in pairs(texts) do
    local want = M.field_type(client, "list", name)
    query[name] = text
    if want == "integer" or want == "number" then
      local n = decimal(text)
      if n then query[name] = n end
    elseif want == "boolean" and (text == "true" or text == "false") then
      query[name] = text == "true"
    end
  end
  return query
end

-- ---------------------------------------------------------------------------
-- Hidden values

-- Values of --id and --query that a validation error quotes back ("id:
-- \"...\" would change the request path", "(got \"...\")") are taken out of it,
-- as are --query NAMEs the provider does not know.
local function replace_plain(text, find, by)
  if find == "" then return text end
  local parts, pos = {}, 1
  while true do
    local i, j = text:find(find, pos, true)
    if not i then break end
    parts[#parts + 1] = text:sub(pos, i - 1)
    parts[#parts + 1] = by
    pos = j + 1
  end
  if pos == 1 then return text end
  parts[#parts + 1] = text:sub(pos)
  return concat(parts)
end

-- The forms in which the module quotes a value: whole, or cut short after
-- 48 (the validator) or 60 characters (ids), control characters escaped.
local function quoted_forms(value)
  local forms = {}
  for _, cut in ipairs({ false, 48, 60 }) do
    local v = (cut and #value > cut) and (value:sub(1, cut) .. "...") or value
    forms[#forms + 1] = format("%q", v)
    forms[#forms + 1] = '"' .. v:gsub("%c", function(c) return format("\\x%02x", c:byte()) end) .. '"'
    forms[#forms + 1] = '"' .. v .. '"'
  end
  forms[#forms + 1] = "(got " .. value .. ")"
  -- A --query value converted to a number is quoted as the number.
  local n = tonumber(value)
  if n and n == n and n ~= math.huge and n ~= -math.huge then
    local texts = { tostring(n), format("%.14g", n), format("%.17g", n) }
    if n == floor(n) and n > -2 ^ 63 and n < 2 ^ 63 then texts[#texts + 1] = format("%d", n) end
    for _, t in ipairs(texts) do forms[#forms + 1] = "(got " .. t .. ")" end
  end
  return forms
end

local function same_field(path, name)
  return path == name or (#name > 48 and path == name:sub(1, 48) .. "...")
end

-- The problem p, about the field of the hidden value h, without the value.
local function hide_in(p, h, forms)
  if h.name and p.message:find('^unknown field "') then
    local hint = p.message:match('; did you mean "[^"]*"%?$') or ""
    p.field = ""
    p.message = format("the NAME of the %s --query is not a filter the provider knows "
      .. "(it is not shown)%s", h.name, hint)
    return
  end
  for _, form in ipairs(forms) do
    p.message = replace_plain(p.message, form, form:sub(1, 1) == "(" and ("(got " .. h.as .. ")")
      or h.as)
  end
end

--- err with the values of `hidden` (from M.parse) taken out of its
-- problems and its message.
function M.hide(err, hidden)
  if type(err) ~= "table" or type(err.errors) ~= "table" or #hidden == 0 then return err end
  local first = err.errors[1]
  local before = first and ((first.field ~= "" and (first.field .. " ") or "") .. first.message)
  for _, h in ipairs(hidden) do
    local forms = h.value ~= "" and quoted_forms(h.value) or {}
    for _, p in ipairs(err.errors) do
      if same_field(p.field, h.field) then hide_in(p, h, forms) end
    end
  end
  if first then
    local after = (first.field ~= "" and (first.field .. " ") or "") .. first.message
    local message = tostring(err.message)
    if message:sub(1, #before) == before then
      err.message = after .. message:sub(#before + 1)
    elseif after ~= before then
      err.message = after
    end
  end
  return err
end

return M
