-- Atlas: a Messages (SMS) campaign in Spanish. Spanish has two messages
-- templates and no "create from scratch" one, so the title is given. Then a
-- full update (PUT: the whole campaign, not a patch). Without ATLAS_BASE_URL
-- the script only shows the request it would send (the key is hidden when a
-- request is printed).
--
--   lua examples/atlas_messages.lua
--   ATLAS_BASE_URL=https://api.youratlas.com/v1/api ATLAS_API_KEY=... lua examples/atlas_messages.lua
local campaign = require "campaign"

local base_url = os.getenv("ATLAS_BASE_URL")

local client = campaign.client {
  provider = "atlas",
  api_key = os.getenv("ATLAS_API_KEY") or "atlas-test-key",
  base_url = base_url,        -- nil: https://api.youratlas.com/v1/api
}

local fields = {
  name = "Recordatorios",
  channel = "messages",             -- campaignType "0", MessagesCampaign true
  language = "es-US",
  template = "ESPAÑOL",             -- "Messages - ESPAÑOL"
  CompanyName = "Acme Inc",
  BusinessName = "Acme",
  FirstMessage = "Hola, le escribimos de Acme.",
  Timezone = "America/Mexico_City",
  TimezoneFriendlyName = "Hora del Centro",
  IdleMessages = '["¿Sigue ahí?"]',  -- JSON text: checked, sent as written
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

-- "Update full campaign" replaces the campaign: send every field to keep.
fields.name = "Recordatorios (mayo)"
local updated, uerr = client:update(id, fields)
if not updated then
  io.stderr:write("update failed: ", tostring(uerr), "\n")
  os.exit(1)
end
print("renamed to " .. tostring(updated.name))
