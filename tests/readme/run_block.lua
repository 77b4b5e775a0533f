-- Runs one Lua block of the README (its text on standard input) as a user
-- would, against the provider emulator: the environment points every
-- provider's base URL and key at it (VAPI_BASE_URL, VAPI_API_KEY, ...), and
-- the names the README's fragments take as given exist beforehand:
--   campaign, c (a client of arg[1], the section's provider), fields (a
--   valid create body), list (three of them), created (a campaign made from
--   fields), id (its id).
-- Exits 0 when the block ran to its end.
-- luacheck: globals campaign c fields list created id __shows
local provider = arg[1]
local fixtures = require "helpers.fixtures"
campaign = require "campaign"
c = campaign.client { provider = provider }
fields = fixtures.body(provider, {})
list = { fixtures.body(provider, {}), fixtures.body(provider, {}), fixtures.body(provider, {}) }
created = campaign.assert(c:create(fixtures.body(provider, {})))
id = created.id or created._id or created.RowKey
-- `expr --> value` lines show what expr gives: run as a check of it when
-- value reads as Lua (and is not cut short with "..."), else just run.
local function same(a, b)
  if type(a) ~= "table" or type(b) ~= "table" then return a == b end
  for k, v in pairs(a) do if not same(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

function __shows(line, shown, ...)
  if shown:find("...", 1, true) then return end
  local load_it = loadstring or load
  local f = load_it("return " .. shown)
  if not f then return end
  local ok, want = pcall(f)
  if not ok then return end
  local got = ...
  if not same(got, want) then
    error(("README block, line %d: gives %s, the README shows %s"):format(line, tostring(got),
      shown), 0)
  end
end

local lines, n = {}, 0
for line in (io.read("*a") .. "\n"):gmatch("(.-)\n") do
  n = n + 1
  local expr, shown = line:match("^(%S.-)%s*%-%->%s*(.*)$")
  if expr and not expr:find("^%-%-") then
    line = ("__shows(%d, %q, %s)"):format(n, shown, expr)
  end
  lines[#lines + 1] = line
end
local chunk = assert((loadstring or load)(table.concat(lines, "\n"), "=README block"))
chunk()
