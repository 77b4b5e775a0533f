-- Atlas: a voice bubble for a web page, in French, with the catalog looked
-- up first to show what it holds. Without ATLAS_BASE_URL the script only
-- shows the request it would send (the key is hidden when a request is
-- printed).
--
--   lua examples/atlas_web.lua
--   ATLAS_BASE_URL=https://api.youratlas.com/v1/api ATLAS_API_KEY=... lua examples/atlas_web.lua
local campaign = require "campaign"
local templates = require "campaign.templates"

local base_url = os.getenv("ATLAS_BASE_URL")

local client = campaign.client {
  provider = "atlas",
  api_key = os.getenv("ATLAS_API_KEY") or "atlas-test-key",
  base_url = base_url,        -- nil: https://api.youratlas.com/v1/api
}

print("Voice bubble templates:")
for _, row in ipairs(templates.list { channel = "web" }) do
  print(string.format("  %-14s %s  %s", row.language, row.id, row.title))
end
-- Not every language has one:
local _, missing = templates.find("hi-IN", "web")
print("  hi-IN: " .. missing .. "\n")

local fields = {
  name = "Bulle vocale",
  channel = "web",                 -- campaignType "0", no CallType
  Position = "bottom-right",       -- required for a voice bubble, never defaulted
  language = "fr-FR",              -- TemplateId: "Modèle pour web"
  CompanyName = "Acme SARL",
  BusinessName = "Acme",
  FirstMessage = "Bonjour ! Comment puis-je vous aider ?",
  Timezone = "Europe/Paris",
  TimezoneFriendlyName = "Heure de Paris",
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

local agent, aerr = client:attach_agent(id, {}, { template = true })
if not agent then
  io.stderr:write("attach_agent failed: ", tostring(aerr), "\n")
  os.exit(1)
end
print("agent attached")
