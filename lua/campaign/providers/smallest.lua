--- Smallest AI Atoms (provider = "smallest"): routes, auth and lifecycle
-- calls. Field rules: src/provider_smallest.c.
-- @module campaign.providers.smallest

return {
  env = "SMALLEST_API_KEY",
  -- Requests per second on the free plan (100 on Pro): the default pace.
  rate_limit = 10,
  base_url = "https://api.smallest.ai/atoms/v1",
  auth_header = "Authorization",
  auth_prefix = "Bearer ",
  id_kind = "string",
  -- Success bodies are {status = true, data = {...}}: callers get data.
  unwrap = "data",
  -- Campaigns as code (campaign.code). The list: `page` from 1 and `offset`
  -- (the page size, default 5, no maximum documented), oldest first; the
  -- unwrapped answer is {campaigns, pagination = {total, page, offset,
  -- hasMore, totalPages}}.
  pages = { page = "page", size = "offset", size_asked = 100,
    order = { sortField = "createdAt", sortOrder = "asc" } },
  read_page = function(body)
    local p = type(body.pagination) == "table" and body.pagination or {}
    local more = p.hasMore
    if type(more) ~= "boolean" then more = nil end
    return body.campaigns, more, tonumber(p.offset), tonumber(p.total)
  end,
  -- create: _id; get: {campaign = {_id}}; start: {campaignId}.
  id_paths = { "_id", "campaign._id", "campaignId" },
  -- The list gives the agent and the audience as objects.
  listed = function(c)
    local out = {}
    for k, v in pairs(c) do out[k] = v end
    if type(c.agent) == "table" and out.agentId == nil then out.agentId = c.agent._id end
    if type(c.audience) == "table" and out.audienceId == nil then out.audienceId = c.audience._id end
    return out
  end,
  -- No update call: every difference is drift.
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
