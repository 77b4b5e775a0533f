--- The four providers' HTTP routes, auth and lifecycle calls, as data.
-- Field rules live in the C core (src/provider_*.c); this file says where
-- and how each operation is sent. An operation with `unsupported` set is
-- answered locally with that explanation and never touches the network.
-- @module campaign.providers

local providers = {}
local atlas_normalize

providers.vapi = {
  env = "VAPI_API_KEY",
  base_url = "https://api.vapi.ai",
  auth_header = "Authorization",
  auth_prefix = "Bearer ",
  id_kind = "string",
  ops = {
    create = { method = "POST", path = "/v2/campaign", schema = "vapi.create" },
    update = { method = "PATCH", path = "/v2/campaign/{id}", schema = "vapi.update" },
    get = { method = "GET", path = "/v2/campaign/{id}" },
    list = { method = "GET", path = "/v2/campaign", query = "vapi.list" },
    delete = { method = "DELETE", path = "/v2/campaign/{id}" },
    start = {
      unsupported = "Vapi has no start call: a campaign starts when it is created, "
        .. "or at schedulePlan.earliestAt when it has one",
    },
    -- Vapi stops a campaign by updating its status.
    stop = {
      method = "PATCH", path = "/v2/campaign/{id}",
      body = function() return { status = "cancelled" } end,
    },
  },
  -- The unversioned routes are Vapi's legacy API (client option legacy = true).
  legacy_paths = {
    create = "/campaign", update = "/campaign/{id}", get = "/campaign/{id}",
    list = "/campaign", delete = "/campaign/{id}", stop = "/campaign/{id}",
  },
}

providers.smallest = {
  env = "SMALLEST_API_KEY",
  -- Requests per second on the free plan (100 on Pro): the default pace.
  rate_limit = 10,
  base_url = "https://api.smallest.ai/atoms/v1",
  auth_header = "Authorization",
  auth_prefix = "Bearer ",
  id_kind = "string",
  -- Success bodies are {status = true, data = {...}}: callers get data.
  unwrap = "data",
  ops = {
    create = { method = "POST", path = "/campaign", schema = "smallest.create" },
    update = {
      unsupported = "Smallest AI Atoms has no update call: a campaign cannot change "
        .. "after it is created; delete it and create a new one",
    },
    get = { method = "GET", path = "/campaign/{id}" },
    list = { method = "GET", path = "/campaign", query = "smallest.list" },
    delete = { method = "DELETE", path = "/campaign/{id}" },
    start = { method = "POST", path = "/campaign/{id}/start" },
    stop = { method = "POST", path = "/campaign/{id}/pause" },
  },
}

local function autocalls_status(action)
  return function(id) return { campaign_id = id, action = action } end
end

providers.autocalls = {
  env = "AUTOCALLS_API_KEY",
  base_url = "https://app.autocalls.ai/api",
  auth_header = "Authorization",
  auth_prefix = "Bearer ",
  id_kind = "integer",
  ops = {
    create = { method = "POST", path = "/user/campaign", schema = "autocalls.create" },
    update = {
      unsupported = "Autocalls.ai documents no update call for campaigns: change it in "
        .. "the dashboard, or delete it and create a new one",
    },
    get = {
      unsupported = "Autocalls.ai documents no call to get one campaign: use list",
    },
    -- No query parameters are documented: the empty schema reports a filter
    -- instead of dropping it silently.
    list = { method = "GET", path = "/user/campaigns", query = "autocalls.list" },
    delete = { method = "DELETE", path = "/user/campaign/{id}" },
    start = {
      method = "POST", path = "/user/campaigns/update-status", body = autocalls_status("start"),
    },
    stop = {
      method = "POST", path = "/user/campaigns/update-status", body = autocalls_status("stop"),
    },
  },
}

providers.atlas = {
  env = "ATLAS_API_KEY",
  base_url = "https://api.youratlas.com/v1/api",
  auth_header = "api-key",
  auth_prefix = "",
  id_kind = "string",
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
  -- lists) and the JSON-in-a-string checks, before the C validator.
  normalize = function(op, fields, opts)
    -- Loaded on first use (campaign.atlas requires this module).
    atlas_normalize = atlas_normalize or require("campaign.atlas").normalize
    return atlas_normalize(op, fields, opts)
  end,
}

return providers
