-- Every body the module accepts for Vapi must also satisfy Vapi's official
-- CreateCampaignDTO / UpdateCampaignDTO (tests/schemas/vapi.json, checked by
-- python3-jsonschema).
local campaign = require "campaign"
local check = require "helpers.check"

local schema = require "helpers.schema"

local function run_checker(args, bodies)
  return schema.check("vapi.json", args, bodies)
end

local c = campaign.client { provider = "vapi", api_key = "vapi-test-key" }

local creates = {
  { name = "Minimal", assistantId = "a", phoneNumberId = "p", customers = { { number = "+14155551234" } } },
  { name = "Workflow", workflowId = "w", phoneNumberId = "p",
    customers = { { number = "+14155551234", name = string.rep("n", 40), email = "a@b.co",
      externalId = "ext-1", extension = "1234567890",
      assistantOverrides = { variableValues = { first = "Ada" } } },
      { sipUri = "sip:bob@example.com" },
      { number = "abc", numberE164CheckEnabled = false } },
    maxConcurrency = 5,
    schedulePlan = { earliestAt = "2026-05-14T09:00:00Z", latestAt = "2026-05-14T17:00:00Z" } },
  { name = "Squad with dial plan", squadId = "s",
    dialPlan = { { phoneNumberId = "p1", customers = { { number = "+14155551234" } } },
      { phoneNumberId = "p2", customers = { { number = "+442071838750" } } } },
    squadOverrides = { variableValues = { x = "y" } } },
  { name = "Webhooks", assistantId = "a", phoneNumberId = "p",
    customers = { { number = "+14155551234" } },
    server = { url = "https://hooks.example.com/vapi", timeoutSeconds = 20,
      headers = { ["X-Token"] = "t" }, credentialId = "cred", staticIpAddressesEnabled = false,
      encryptedPaths = { "customer.number" },
      backoffPlan = { type = "exponential", maxRetries = 3, baseDelaySeconds = 1,
        excludedStatusCodes = { 400, 401 } } },
    serverMessages = { "campaign.started", "contact.completed" },
    predialPlan = { enabled = true } },
  { name = "Copy", duplicateFromCampaignId = "c-1" },
}

local updates = {
  { name = "Renamed" },
  { status = "cancelled" },
  { status = "ended" },
  { assistantId = "a2", phoneNumberId = "p2",
    schedulePlan = { earliestAt = "2026-05-14T09:00:00+02:00" } },
  { workflowId = "w", dialPlan = { { phoneNumberId = "p", customers = { { number = "+14155551234" } } } } },
}

describe("vapi bodies against the official schema", function()
  it("every accepted create body is a valid CreateCampaignDTO", function()
    local bodies = {}
    for _, fields in ipairs(creates) do
      bodies[#bodies + 1] = check.accepts(c, "create", fields).body
    end
    local ok, out = run_checker("CreateCampaignDTO", bodies)
    assert.is_true(ok, out)
    assert.truthy(out:find(#creates .. " bodies checked against CreateCampaignDTO, 0 problems", 1, true), out)
  end)

  it("every accepted update body is a valid UpdateCampaignDTO", function()
    local bodies = {}
    for _, fields in ipairs(updates) do
      bodies[#bodies + 1] = check.accepts(c, "update", fields, "abc").body
    end
    bodies[#bodies + 1] = assert(c:prepare("stop", nil, "abc")).body
    local ok, out = run_checker("UpdateCampaignDTO", bodies)
    assert.is_true(ok, out)
    assert.truthy(out:find("0 problems", 1, true), out)
  end)

  it("the checker itself rejects what the schema forbids", function()
    local ok, out = run_checker("CreateCampaignDTO",
      { '{"name":"x","customers":[{"number":"' .. string.rep("1", 41) .. '"}]}', '{"customers":[]}' })
    assert.is_false(ok == true)
    assert.truthy(out:find("2 bodies checked against CreateCampaignDTO, 2 problems", 1, true), out)
  end)
end)
