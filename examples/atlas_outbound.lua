-- Atlas: an outbound phone campaign written with the shorthands (channel,
-- language + template, friendly time windows), then an agent from its
-- template, then start. Without ATLAS_BASE_URL the script only shows the
-- request it would send (the key is hidden when a request is printed).
--
--   lua examples/atlas_outbound.lua
--   ATLAS_BASE_URL=https://api.youratlas.com/v1/api ATLAS_API_KEY=... lua examples/atlas_outbound.lua
local campaign = require "campaign"

local base_url = os.getenv("ATLAS_BASE_URL")

local client = campaign.client {
  provider = "atlas",
  api_key = os.getenv("ATLAS_API_KEY") or "atlas-test-key",
  base_url = base_url,        -- nil: https://api.youratlas.com/v1/api
}

local fields = {
  name = "Spring Outreach",
  channel = "outbound",                       -- campaignType "1", CallType "2"
  language = "en-US",
  template = "Sales Qualifications",          -- TemplateId from the catalog
  CompanyName = "Acme Inc",
  BusinessName = "Acme",
  FirstMessage = "Hi, this is Sam from Acme. Do you have a minute?",
  Timezone = "America/New_York",
  TimezoneFriendlyName = "Eastern Time",
  StartDate = "2026-05-14",
  TimeWindows = "09:00-12:00,13:00-17:00",    -- sent as Atlas's JSON text
  FeatureRescheduleCallEnabled = true,
  DailyCallLimit = 200,
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
-- Atlas answers with a table-storage entity: the campaign id is its RowKey.
local id = created.RowKey
print("\ncreated campaign " .. tostring(id))

-- A campaign cannot call until it has an agent.
local agent, aerr = client:attach_agent(id, {}, { template = true })
if not agent then
  io.stderr:write("attach_agent failed: ", tostring(aerr), "\n")
  os.exit(1)
end
print("agent attached")

local started, serr = client:start(id)
if not started then
  io.stderr:write("start failed: ", tostring(serr), "\n")
  os.exit(1)
end
print("started: IsActive = " .. tostring(started.IsActive))
