-- Vapi: create a campaign, rename it, read it back, cancel it. Without
-- VAPI_BASE_URL the script only shows the request it would send (the key is
-- hidden when a request is printed).
--
--   lua examples/vapi.lua
--   VAPI_BASE_URL=https://api.vapi.ai VAPI_API_KEY=... lua examples/vapi.lua
local campaign = require "campaign"

local base_url = os.getenv("VAPI_BASE_URL")

local client = campaign.client {
  provider = "vapi",
  api_key = os.getenv("VAPI_API_KEY") or "vapi-test-key",
  base_url = base_url,        -- nil: https://api.vapi.ai
}

local fields = {
  name = "Spring renewals",
  assistantId = os.getenv("VAPI_ASSISTANT_ID") or "3f1c2a9e-8d4b-4c6f-9a7e-1b2c3d4e5f60",
  phoneNumberId = os.getenv("VAPI_PHONE_NUMBER_ID") or "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d",
  schedulePlan = { earliestAt = "2030-04-01T09:00:00Z", latestAt = "2030-04-01T17:00:00Z" },
  customers = {
    { number = "+14155550101", name = "Ada Lovelace" },
    { number = "+442071838750", name = "Charles Babbage", externalId = "crm-42" },
  },
}

local req, err = client:prepare("create", fields)
if not req then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
print(tostring(req))

if not base_url then
  print("\n(set VAPI_BASE_URL to send it)")
  return
end

local created = campaign.assert(client:create(fields))
print(("\ncreated %s, status %s"):format(created.id, created.status))
local renamed = campaign.assert(client:update(created.id, { name = "Spring renewals (EU)" }))
print("renamed to " .. renamed.name)
local cancelled = campaign.assert(client:stop(created.id))
print("status now " .. cancelled.status)
