-- Atlas: an inbound phone campaign in Atlas's own field names, exactly as
-- its docs print them (no shorthands), then an agent configured inline.
-- Without ATLAS_BASE_URL the script only shows the request it would send
-- (the key is hidden when a request is printed).
--
--   lua examples/atlas_inbound.lua
--   ATLAS_BASE_URL=https://api.youratlas.com/v1/api ATLAS_API_KEY=... lua examples/atlas_inbound.lua
local campaign = require "campaign"

local base_url = os.getenv("ATLAS_BASE_URL")

local client = campaign.client {
  provider = "atlas",
  api_key = os.getenv("ATLAS_API_KEY") or "atlas-test-key",
  base_url = base_url,        -- nil: https://api.youratlas.com/v1/api
}

-- Inbound is always on: no StartDate, TimeWindows or FeatureRescheduleCallEnabled.
local fields = {
  name = "Front Desk",
  campaignType = "1",                                  -- phone
  CallType = "1",                                      -- inbound
  TemplateId = "ef425178-b820-460f-b4a2-1f8704487343", -- en-US "Inbound - Receptionist"
  CompanyName = "Acme Inc",
  BusinessName = "Acme",
  FirstMessage = "Thanks for calling Acme, how can I help?",
  Timezone = "America/Chicago",
  TimezoneFriendlyName = "Central Time",
  FeatureAppendPreviousSummaryEnabled = true,          -- inbound-only
  ToolIds = "calendar-lookup,crm-note",
}

local req, err = client:prepare("create", fields)
if not req then
  io.stderr:write(tostring(err), "\n")
  for _, problem in ipairs(err.errors or {}) do
    io.stderr:write("  ", problem.field, ": ", problem.message, "\n")
  end
  os.exit(1)
end
print(tostring(req))

if not base_url then
  print("\n(set ATLAS_BASE_URL to send it)")
  return
end

local created, cerr = client:create(fields)
if not created then
  io.stderr:write("create failed: ", tostring(cerr), "\n")
  os.exit(1)
end
local id = created.RowKey
print("\ncreated campaign " .. tostring(id))

-- The inline agent body is not published by Atlas: it is sent as given.
local agent, aerr = client:attach_agent(id, { FirstMessage = fields.FirstMessage })
if not agent then
  io.stderr:write("attach_agent failed: ", tostring(aerr), "\n")
  os.exit(1)
end
print("agent attached")
