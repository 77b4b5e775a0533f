-- Shared assertions for validation specs: a good value passes `prepare`,
-- a bad one fails with the expected field and message.
local cjson = require "cjson"

local check = {}

function check.copy(t)
  if type(t) ~= "table" then return t end
  local out = {}
  for k, v in pairs(t) do out[k] = check.copy(v) end
  return out
end

-- Applies `changes` to a copy of `base`: keys are dotted paths ("a.b.1.c");
-- the value check.NIL removes the field.
check.NIL = setmetatable({}, { __tostring = function() return "NIL" end })

function check.with(base, changes)
  local t = check.copy(base)
  for path, value in pairs(changes or {}) do
    local node, parts = t, {}
    for part in path:gmatch("[^.]+") do parts[#parts + 1] = tonumber(part) or part end
    for i = 1, #parts - 1 do
      if node[parts[i]] == nil then node[parts[i]] = {} end
      node = node[parts[i]]
    end
    if value == check.NIL then
      node[parts[#parts]] = nil
    else
      node[parts[#parts]] = check.copy(value)
    end
  end
  return t
end

function check.accepts(client, op, fields, id)
  local req, err = client:prepare(op, fields, id)
  if not req then
    error("expected " .. op .. " to accept the fields, got: " .. tostring(err), 2)
  end
  return req, cjson.decode(req.body or "null")
end

-- Returns the matching problem; fails unless `field` has a problem whose
-- message contains `text` (plain substring).
function check.rejects(client, op, fields, field, text, id)
  local req, err = client:prepare(op, fields, id)
  if req then
    error("expected " .. op .. " to reject the fields (" .. field .. "), but it built: "
      .. tostring(req.body), 2)
  end
  if type(err) ~= "table" or err.kind ~= "validation" then
    error("expected a validation error, got " .. tostring(err), 2)
  end
  local seen = {}
  for _, problem in ipairs(err.errors) do
    if problem.field == field and problem.message:find(text, 1, true) then
      return problem, err
    end
    seen[#seen + 1] = problem.field .. ": " .. problem.message
  end
  error("no problem on " .. field .. " containing '" .. text .. "'; got:\n  "
    .. table.concat(seen, "\n  "), 2)
end

return check
