--- Vapi (provider = "vapi"): routes, auth and lifecycle calls. Field rules:
-- src/provider_vapi.c.
-- @module campaign.providers.vapi

return {
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
  -- Campaigns as code (campaign.code). The list: `page` from 1 and `limit`
  -- (at most 1000), oldest first so that a campaign created meanwhile goes
  -- to the last page; {results, metadata = {itemsPerPage, totalItems,
  -- currentPage, totalPages, hasNextPage}}.
  pages = { page = "page", size = "limit", size_asked = 100, order = { sortOrder = "ASC" } },
  read_page = function(body)
    local meta = type(body.metadata) == "table" and body.metadata or {}
    local more = meta.hasNextPage
    if type(more) ~= "boolean" then
      local current, last = tonumber(meta.currentPage), tonumber(meta.totalPages)
      more = current and last and current < last or nil
    end
    return body.results, more, tonumber(meta.itemsPerPage), tonumber(meta.totalItems)
  end,
  id_paths = { "id" },
  -- The list shows a CampaignSummary: these fields are not in it, so they
  -- cannot be compared.
  unlisted = { customers = true, dialPlan = true, workflowId = true },
  -- PATCH takes these (UpdateCampaignDTO), and not while the campaign runs.
  updates = {
    partial = true,
    fields = { name = true, assistantId = true, workflowId = true, squadId = true,
      phoneNumberId = true, dialPlan = true, schedulePlan = true },
    allowed = function(campaign) return campaign.status ~= "in-progress" end,
  },
  -- The unversioned routes are Vapi's legacy API (client option legacy = true).
  legacy_paths = {
    create = "/campaign", update = "/campaign/{id}", get = "/campaign/{id}",
    list = "/campaign", delete = "/campaign/{id}", stop = "/campaign/{id}",
  },
}
