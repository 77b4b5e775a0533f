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
  -- Campaigns as code (campaign.code). The list answers every campaign at
  -- once, as a bare array or {data = [...]} (white-label copies differ).
  read_page = function(body)
    if type(body.data) == "table" then return body.data, false end
    return body, false
  end,
  -- create: {message, data = {id}}; the list's entries: {id}.
  id_paths = { "id", "data.id" },
  -- Times are sent as H:i and echoed as H:i:s.
  listed = function(c)
    local out = {}
    for k, v in pairs(c) do out[k] = v end
    for _, k in ipairs { "allowed_hours_start_time", "allowed_hours_end_time" } do
      if type(out[k]) == "string" then out[k] = out[k]:gsub("^(%d%d:%d%d):00$", "%1") end
    end
    return out
  end,
  -- No update call: every difference is drift.
  ops = {
    create = { method = "POST", path = "/user/campaign", schema = "autocalls.create" },
    update = {
      unsupported = "Autocalls.ai documents no update call for campaigns: change it in "
        .. "the dashboard, or delete it and create a new one",
    },
    -- No call to get one campaign: Client:get finds it in the list.
    get = { via_list = "list" },
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
