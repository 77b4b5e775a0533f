-- Run by tests/fifth_provider_spec.lua in a copy of the checkout with the
-- echo provider added: uses it as a user would (library and command-line
-- tool) against the local server at arg[1]; prints what came of it as JSON.
local campaign = require "campaign"
local cjson = require "cjson"

local url = arg[1]
local out = { providers = campaign.providers() }

local c = campaign.client { provider = "echo", api_key = "echo-test-key-1", base_url = url }
local body, err = c:create { name = "Spring", numbers = { "+14155550101" }, parallel = 1 }
out.created, out.create_error = body, err and tostring(err)

local _, bad = c:prepare("create", { name = "x", numbers = { "555" }, parallel = 2 })
out.bad = bad and bad.errors
local _, typo = c:prepare("create", { nam = "x", numbers = { "+14155550101" } })
out.typo = typo and tostring(typo)
local _, unsupported = c:update("e-1", { name = "y" })
out.unsupported = unsupported and tostring(unsupported)

-- The command-line tool knows it from the registry: its key variable, its
-- name in the help.
local function sink()
  local parts = {}
  return { write = function(self, ...)
    for _, s in ipairs({ ... }) do parts[#parts + 1] = tostring(s) end
    return self
  end, flush = function() end, text = function() return table.concat(parts) end }
end
local cli = require "campaign.cli"
local stdout, stderr = sink(), sink()
local stdin = { read = function() return '{"name": "From the tool", "numbers": ["+14155550102"]}' end,
  lines = function() return function() return nil end end, close = function() end }
out.cli_code = cli.main({ "create", "--provider", "echo", "--base-url", url, "-" }, {
  stdin = stdin, stdout = stdout, stderr = stderr,
  getenv = function(name) return name == "ECHO_API_KEY" and "echo-test-key-2" or nil end,
})
out.cli_out, out.cli_err = stdout.text(), stderr.text()
local help = sink()
cli.main({ "--help" }, { stdout = help, stderr = help, getenv = function() return nil end })
out.help = help.text()

print(cjson.encode(out))
