-- Smallest AI Atoms: create a campaign for an audience and an agent, then
-- start it. Without SMALLEST_BASE_URL the script only shows the request it
-- would send (the key is hidden when a request is printed).
--
--   lua examples/smallest.lua
--   SMALLEST_BASE_URL=https://api.smallest.ai/atoms/v1 SMALLEST_API_KEY=... \
--     SMALLEST_AGENT_ID=... SMALLEST_AUDIENCE_ID=... lua examples/smallest.lua
local campaign = require "campaign"

local base_url = os.getenv("SMALLEST_BASE_URL")

local client = campaign.client {
  provider = "smallest",
  api_key = os.getenv("SMALLEST_API_KEY") or "smallest-test-key",
  base_url = base_url,        -- nil: https://api.smallest.ai/atoms/v1
}

-- Field names are Smallest's own. Ids are 24-hex ObjectIds.
local fields = {
  name = "Spring renewals",
  description = "Reminder calls for plans that renew in April",
  agentId = os.getenv("SMALLEST_AGENT_ID") or "60d0fe4f5311236168a109ca",
  audienceId = os.getenv("SMALLEST_AUDIENCE_ID") or "60d0fe4f5311236168a109cb",
  maxRetries = 2,             -- call retries for a failed call, 0..10
  retryDelay = 30,            -- minutes between those retries, 1..1440
  -- scheduledAt = "2030-04-01T09:00:00Z",  -- start on its own (must be in the future)
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
  print("\n(set SMALLEST_BASE_URL to send it)")
  return
end

local created, cerr = client:create(fields)
if not created then
  io.stderr:write("create failed: ", tostring(cerr), "\n")
  os.exit(1)
end
print("\ncreated campaign " .. tostring(created._id) .. ", status " .. tostring(created.status))

-- Start is queued (202): the campaign is running once get says so.
local started, serr = client:start(created._id)
if not started then
  io.stderr:write("start failed: ", tostring(serr), "\n")
  os.exit(1)
end
-- get answers {campaign = {...}, events = ..., metrics = ...}.
local current = client:get(created._id)
local now = current and (current.campaign or current)
print("start requested; status now " .. tostring(now and now.status))
