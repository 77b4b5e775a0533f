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
  -- The unversioned routes are Vapi's legacy API (client option legacy = true).
  legacy_paths = {
    create = "/campaign", update = "/campaign/{id}", get = "/campaign/{id}",
    list = "/campaign", delete = "/campaign/{id}", stop = "/campaign/{id}",
  },
}
