-- Atlas end to end over real HTTP: the libcurl transport against the local
-- emulator (nginx on 127.0.0.1), checking what arrived on the wire: method,
-- path, the api-key header and the decoded body.
local campaign = require "campaign"
local emulator = require "helpers.emulator"

local FIELDS = {
  name = "Spring Outreach",
  channel = "outbound",
  language = "en-US",
  template = "Sales Qualifications",
  CompanyName = "Acme Inc",
  Timezone = "America/New_York",
  StartDate = "2026-05-14",
  TimeWindows = "09:00-12:00,13:00-17:00",
  ToolIds = { "tool-1", "tool-2" },
  DailyCallLimit = 200,
}

local SENT = {
  name = "Spring Outreach",
  campaignType = "1",
  CallType = "2",
  TemplateId = "ca2cedc2-c196-40d2-be22-dfd70bb4594c",
  CompanyName = "Acme Inc",
  Timezone = "America/New_York",
  StartDate = "2026-05-14",
  TimeWindows = '[{"startHour":9,"startMinute":0,"endHour":12,"endMinute":0},'
    .. '{"startHour":13,"startMinute":0,"endHour":17,"endMinute":0}]',
  ToolIds = "tool-1,tool-2",
  DailyCallLimit = 200,
}

describe("atlas over HTTP", function()
  local emu, c

  setup(function()
    emu = emulator.start()
  end)

  teardown(function()
    if emu then emu:stop() end
  end)

  before_each(function()
    emu:reset()
    c = campaign.client { provider = "atlas", api_key = emu.keys.atlas, base_url = emu:url("atlas"),
      retry_delay = 0.01, timeout = 5 }
  end)

  local function last(method, path)
    local sent = emu:last()
    assert.are.equal(method, sent.method)
    assert.are.equal(path, sent.path)
    assert.are.equal("atlas-test-key", sent.headers["api-key"])
    assert.is_nil(sent.headers.authorization)
    return sent
  end

  it("creates, updates in full, gets, lists, starts, stops and deletes a campaign", function()
    local created = assert(c:create(FIELDS))
    local id = created.RowKey
    assert.is_string(id)
    assert.are.equal("Spring Outreach", created.name)
    local sent = last("POST", "/campaign")
    assert.are.equal("application/json", sent.headers["content-type"])
    assert.are.same(SENT, sent.json)

    local full = {}
    for k, v in pairs(SENT) do full[k] = v end
    full.name = "Spring Outreach (EU hours)"
    full.Timezone = "Europe/Berlin"
    full.TimeWindows = nil
    local updated = assert(c:update(id, full))
    assert.are.equal("Spring Outreach (EU hours)", updated.name)
    assert.are.equal(id, updated.RowKey)
    sent = last("PUT", "/campaign/" .. id)
    assert.are.same(full, sent.json)

    local got = assert(c:get(id))
    assert.are.equal("Europe/Berlin", got.Timezone)
    sent = last("GET", "/campaign/" .. id)
    assert.is_nil(sent.json)

    local list = assert(c:list())
    assert.are.equal(1, #list)
    assert.are.equal(id, list[1].RowKey)
    last("GET", "/campaign")

    local started = assert(c:start(id))
    assert.is_true(started.IsActive)
    sent = last("PUT", "/campaign/" .. id .. "/status")
    assert.are.same({ enabled = true }, sent.json)

    local stopped = assert(c:stop(id))
    assert.is_false(stopped.IsActive)
    sent = last("PUT", "/campaign/" .. id .. "/status")
    assert.are.same({ enabled = false }, sent.json)

    assert(c:delete(id))
    last("DELETE", "/campaign/" .. id)
    local gone, err = c:get(id)
    assert.is_nil(gone)
    assert.are.equal("http", err.kind)
    assert.are.equal(404, err.status)
    assert.are.equal("HTTP 404 Not Found: Campaign not found", err.message)
  end)

  it("updates in full from what get returned: read-only fields dropped, JSON fields as tables", function()
    local id = assert(c:create(FIELDS)).RowKey
    local cur = assert(c:get(id))
    local seen
    c.on_request = function(info) seen = info end
    cur.name = "Spring Outreach (renamed)"
    cur.RedialSettings = { maxAttempts = 2, delayMinutes = 30 }
    local updated = assert(c:update(id, cur))
    assert.are.equal("Spring Outreach (renamed)", updated.name)
    local sent = last("PUT", "/campaign/" .. id)
    for _, name in ipairs({ "PartitionKey", "RowKey", "Timestamp", "odata.etag", "SuccessRequest",
      "TotalRequest", "TotalTransfers" }) do
      assert.is_nil(sent.json[name], name)
    end
    assert.are.same({ "PartitionKey", "RowKey", "SuccessRequest", "Timestamp", "TotalRequest",
      "TotalTransfers", "odata.etag" }, seen.dropped)
    assert.are.equal('{"delayMinutes":30,"maxAttempts":2}', sent.json.RedialSettings)
    assert.are.equal(SENT.TimeWindows, sent.json.TimeWindows)
    assert.are.equal(SENT.TemplateId, sent.json.TemplateId)
    -- Sent again as get returns it now: nothing else to do.
    assert(c:update(id, assert(c:get(id))))
  end)

  it("says how a full update is done when a partial one is tried", function()
    local id = assert(c:create(FIELDS)).RowKey
    local before = #emu:requests()
    local got, err = c:update(id, { name = "Only the name" })
    assert.is_nil(got)
    assert.are.equal("validation", err.kind)
    assert.truthy(err.message:find('^TemplateId is required: an Atlas update replaces the whole '
      .. 'campaign %("update full campaign"%), so it takes every field create takes%. Start from '
      .. 'the campaign: local cur = c:get%(id%)'), err.message)
    assert.are.equal(before, #emu:requests())
    -- create keeps the plain message: there is nothing to start from.
    local _, cerr = c:create({ name = "x", campaignType = "1", CallType = "2" })
    assert.are.equal("TemplateId is required", cerr.message)
  end)

  it("sends the four channels as the channel table sets them", function()
    local channels = {
      outbound = { campaignType = "1", CallType = "2" },
      inbound = { campaignType = "1", CallType = "1" },
      web = { campaignType = "0", Position = "bottom-left" },
      messages = { campaignType = "0", MessagesCampaign = true },
    }
    for channel, native in pairs(channels) do
      local fields = { name = channel, channel = channel, language = "he-IL" }
      if channel == "web" then fields.Position = "bottom-left" end
      assert(c:create(fields))
      local sent = last("POST", "/campaign")
      native.name = channel
      native.TemplateId = "ca905bb8-35a5-4f47-8511-285d3804df1b"
      assert.are.same(native, sent.json)
    end
  end)

  it("attaches an agent inline and from the template", function()
    local created = assert(c:create(FIELDS))
    local id = created.RowKey

    local agent = assert(c:attach_agent(id, { FirstMessage = "Hi from Acme", Voice = { id = "v-1" } }))
    assert.are.equal(id, agent.campaignId)
    assert.is_string(agent.agentId)
    local sent = last("POST", "/agent/" .. id)
    assert.are.same({ FirstMessage = "Hi from Acme", Voice = { id = "v-1" } }, sent.json)

    assert(c:attach_agent(id, nil, { template = true }))
    sent = last("POST", "/agent/new/" .. id)
    assert.are.equal("{}", sent.body)
  end)

  it("sends nothing when the fields are wrong", function()
    local before = emu:stats().requests
    local body, err = c:create { name = "x", channel = "web", language = "hi-IN" }
    assert.is_nil(body)
    assert.are.equal("validation", err.kind)
    assert.are.equal(before, emu:stats().requests)
  end)

  it("reports Atlas's own error body", function()
    local body, err = c:update("no-such-campaign", SENT)
    assert.is_nil(body)
    assert.are.equal(404, err.status)
    assert.are.equal("HTTP 404 Not Found: Campaign not found", err.message)
    body, err = c:attach_agent("no-such-campaign", {})
    assert.is_nil(body)
    assert.are.equal(404, err.status)
  end)

  it("is refused with a wrong key, and never shows it", function()
    local bad = campaign.client { provider = "atlas", api_key = "atlas-wrong-key", base_url = emu:url("atlas"),
      max_retries = 0, timeout = 5 }
    local body, err = bad:list()
    assert.is_nil(body)
    assert.are.equal(401, err.status)
    assert.is_nil(tostring(err):find("atlas-wrong-key", 1, true))
    assert.are.equal("atlas-wrong-key", emu:last().headers["api-key"])
  end)
end)
