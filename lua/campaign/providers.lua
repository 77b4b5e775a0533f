--- The providers: each is its own module, campaign.providers.<name> (its
-- HTTP routes, auth and lifecycle calls, as data; field rules live in the C
-- core, src/provider_<name>.c), registered by one line here.
-- An operation with `unsupported` set is answered locally with that
-- explanation and never touches the network.
-- @module campaign.providers

local NAMES = {
  "vapi",
  "smallest",
  "autocalls",
  "atlas",
}

local providers = {}
for _, name in ipairs(NAMES) do
  providers[name] = require("campaign.providers." .. name)
end

return providers
