-- Autocalls.ai (and its white-label brands): create a weekday campaign with
-- a calling window, then start it. Without AUTOCALLS_BASE_URL the script
-- only shows the request it would send (the key is hidden when a request is
-- printed).
--
--   lua examples/autocalls.lua
--   AUTOCALLS_BASE_URL=https://app.autocalls.ai/api AUTOCALLS_API_KEY=... \
--     AUTOCALLS_ASSISTANT_ID=123 lua examples/autocalls.lua
local campaign = require "campaign"

local base_url = os.getenv("AUTOCALLS_BASE_URL")

local client = campaign.client {
  provider = "autocalls",
  api_key = os.getenv("AUTOCALLS_API_KEY") or "autocalls-test-key",
  base_url = base_url,        -- nil: https://app.autocalls.ai/api
}

-- Field names are Autocalls' own.
local fields = {
  name = "Product Demo Campaign",
  assistant_id = tonumber(os.getenv("AUTOCALLS_ASSISTANT_ID")) or 1,  -- an outbound assistant
  timezone = "America/New_York",
  allowed_days = { "monday", "tuesday", "wednesday", "thursday", "friday" },
  allowed_hours_start_time = "09:00",   -- H:i, two-digit hours
  allowed_hours_end_time = "17:00",
  max_calls_in_parallel = 3,            -- 1..10
  max_retries = 3,                      -- 1..5
  retry_interval = 60,                  -- minutes, 10..4320
  retry_on_voicemail = true,
  mark_complete_when_no_leads = true,
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
  print("\n(set AUTOCALLS_BASE_URL to send it)")
  return
end

local created, cerr = client:create(fields)
if not created then
  io.stderr:write("create failed: ", tostring(cerr), "\n")
  os.exit(1)
end
-- lua-cjson decodes every JSON number as a Lua float: print the id with %d.
local id = created.data and created.data.id
print(string.format("\n%s: id %d", tostring(created.message), id))

-- New campaigns are drafts; leads are added with POST /user/lead, then:
local started, serr = client:start(id)
if not started then
  io.stderr:write("start failed: ", tostring(serr), "\n")
  os.exit(1)
end
print(tostring(started.message))
