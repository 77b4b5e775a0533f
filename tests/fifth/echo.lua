--- Echo (provider = "echo"): a provider that exists only in
-- tests/fifth_provider_spec.lua, added to a copy of the checkout by this
-- module, src/provider_echo.c and one line in each registry.
-- @module campaign.providers.echo

return {
  env = "ECHO_API_KEY",
  base_url = "https://api.echo.invalid/v1",
  auth_header = "X-Echo-Key",
  auth_prefix = "",
  id_kind = "string",
  ops = {
    create = { method = "POST", path = "/campaigns", schema = "echo.create" },
    update = { unsupported = "Echo campaigns cannot change after they are created" },
    get = { method = "GET", path = "/campaigns/{id}" },
    list = { method = "GET", path = "/campaigns" },
    delete = { method = "DELETE", path = "/campaigns/{id}" },
    start = { method = "POST", path = "/campaigns/{id}/start" },
    stop = { method = "POST", path = "/campaigns/{id}/stop" },
  },
}
