-- Many campaigns at once: create_many sends them through libcurl's multi
-- interface, 8 at a time by default, and returns the results in input order.
-- One of them is invalid on purpose: it is reported in place, never sent.
--
--   VAPI_BASE_URL=https://api.vapi.ai VAPI_API_KEY=... lua examples/batch.lua
local campaign = require "campaign"

local base_url = os.getenv("VAPI_BASE_URL")
if not base_url then
  print("set VAPI_BASE_URL (and VAPI_API_KEY) to run the batch")
  return
end

local client = campaign.client {
  provider = "vapi",
  api_key = os.getenv("VAPI_API_KEY") or "vapi-test-key",
  base_url = base_url,
}

local list = {}
for i = 1, 20 do
  list[i] = {
    name = ("Region %02d renewals"):format(i),
    assistantId = "3f1c2a9e-8d4b-4c6f-9a7e-1b2c3d4e5f60",
    phoneNumberId = "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d",
    customers = { { number = ("+1415555%04d"):format(i) } },
  }
end
list[7].customers[1].number = "555-0107"     -- not E.164: rejected before sending

local results = client:create_many(list, {
  concurrency = 8,
  on_progress = function(done, total)
    if done % 5 == 0 then print(("%d/%d done"):format(done, total)) end
  end,
})

local created, failed = 0, 0
for i, r in ipairs(results) do
  if campaign.is_error(r) then
    failed = failed + 1
    print(("%2d  %s"):format(i, tostring(r)))
  else
    created = created + 1
  end
end
print(("%d created, %d failed"):format(created, failed))
