--- Atlas (provider = "atlas"): routes, auth, lifecycle calls and the
-- shorthands of campaign.atlas. Field rules: src/provider_atlas.c.
-- @module campaign.providers.atlas

local atlas_normalize

return {
  env = "ATLAS_API_KEY",
  base_url = "https://api.youratlas.com/v1/api",
  auth_header = "api-key",
  auth_prefix = "",
  id_kind = "string",
  -- Campaigns as code (campaign.code). The list answers every campaign at
  -- once, as an array; a campaign is an Azure Table entity whose id is
  -- RowKey.
  read_page = function(body)
    if type(body.value) == "table" then return body.value, false end
    return body, false
  end,
  id_paths = { "RowKey" },
  -- "Update full campaign": the whole body, whatever differs.
  updates = { partial = false },
  ops = {
    create = { method = "POST", path = "/campaign", schema = "atlas.campaign" },
    -- "Update full campaign": the whole campaign, same body as create.
    update = { method = "PUT", path = "/campaign/{id}", schema = "atlas.campaign" },
    get = { method = "GET", path = "/campaign/{id}" },
    -- No query parameters are documented: the empty schema reports a filter
    -- instead of dropping it silently.
    list = { method = "GET", path = "/campaign", query = "atlas.list" },
    delete = { method = "DELETE", path = "/campaign/{id}" },
    start = {
      method = "PUT", path = "/campaign/{id}/status",
      body = function() return { enabled = true } end,
    },
    stop = {
      method = "PUT", path = "/campaign/{id}/status",
      body = function() return { enabled = false } end,
    },
    -- Client:attach_agent. A campaign needs an agent before it can call or
    -- answer. The bodies are not published: any JSON object is sent as given.
    attach_agent = { method = "POST", path = "/agent/{id}", schema = "atlas.agent" },
    attach_agent_template = { method = "POST", path = "/agent/new/{id}", schema = "atlas.agent" },
  },
  -- Shorthands (channel, language/template, TimeWindows and ToolIds as
  -- lists) and the JSON-in-a-string checks, before the C validator; the
  -- walk goes straight on when it meets none of them and only texts these
  -- checks found good before (known_texts, text -> checks passed, kept by
  -- campaign.atlas).
  known_texts = {},
  -- A full update sent as a partial one: the first field it misses says
  -- how an update of Atlas is done.
  explain = function(op, problems)
    if op ~= "update" then return end
    local first
    for _, p in ipairs(problems) do
      if p.message == "is required" and (p.field == "name" or p.field == "campaignType"
        or p.field == "TemplateId") and (not first or p.field < first.field) then
        first = p   -- the one the error's message shows (problems are sorted)
      end
    end
    if first then
      first.message = "is required: an Atlas update replaces the whole campaign (\"update full "
        .. "campaign\"), so it takes every field create takes. Start from the campaign: "
        .. "local cur = c:get(id); change what you need (cur.name = \"New name\"); "
        .. "c:update(id, cur) (the read-only fields get returned are dropped)"
    end
  end,
  normalize = function(op, fields, opts)
    -- Loaded on first use (campaign.atlas requires this module).
    atlas_normalize = atlas_normalize or require("campaign.atlas").normalize
    return atlas_normalize(op, fields, opts)
  end,
}
