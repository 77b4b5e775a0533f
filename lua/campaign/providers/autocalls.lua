--- Autocalls.ai (provider = "autocalls"): routes, auth and lifecycle calls.
-- Field rules: src/provider_autocalls.c.
-- @module campaign.providers.autocalls

local function autocalls_status(action)
  return function(id) return { campaign_id = id, action = action } end
end

return {
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
