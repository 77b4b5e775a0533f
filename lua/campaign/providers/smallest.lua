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
