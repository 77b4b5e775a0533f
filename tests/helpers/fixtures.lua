--- Minimal valid create bodies, one per provider, for the specs that need a
-- campaign and not a particular one. Each call returns a new table (the
-- body copied to its last level), so a spec may change what it gets.
--
--   local fixtures = require "helpers.fixtures"
--   c:create(fixtures.vapi())
--   c:create(fixtures.vapi { name = "Renamed", customers = list })
--   c:prepare("create", fixtures.body("atlas", { TemplateId = fixtures.NIL }))
--
-- `changes` replace top-level fields with the values given, as they are
-- (not copied: a spec's shared table or metatable stays what it is);
-- fixtures.NIL removes a field. A spec whose body is the point of the test
-- (a provider's documented example, every field) keeps its own.
local M = {}

M.PROVIDERS = { "vapi", "smallest", "autocalls", "atlas" }

M.NIL = setmetatable({}, { __tostring = function() return "fixtures.NIL" end })

local BODIES = {
  vapi = {
    name = "Q2", assistantId = "a", phoneNumberId = "p",
    customers = { { number = "+14155551234" } },
  },
  smallest = {
    name = "Q2", agentId = "60d0fe4f5311236168a109ca", audienceId = "60d0fe4f5311236168a109cb",
  },
  autocalls = { name = "Q2", assistant_id = 42 },
  atlas = {
    name = "Q2", campaignType = "1", CallType = "2",
    TemplateId = "6be44833-9133-4639-b6c9-425aee057c1c",
  },
}

local function copy(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = copy(x) end
  return out
end

--- A new valid create body of `provider`, with `changes` applied.
function M.body(provider, changes)
  local base = BODIES[provider]
  if not base then error("fixtures: no body for provider " .. tostring(provider), 2) end
  local t = copy(base)
  for k, v in pairs(changes or {}) do
    if v == M.NIL then t[k] = nil else t[k] = v end
  end
  return t
end

for provider in pairs(BODIES) do
  M[provider] = function(changes) return M.body(provider, changes) end
end

return M
