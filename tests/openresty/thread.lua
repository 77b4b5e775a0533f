-- Runs a scenario of app.lua in ngx.run_worker_thread: an OS thread of its
-- own, where the default libcurl transport may block.
local cjson = require "cjson.safe"

local M = {}

function M.run(text)
  local s = cjson.decode(text)
  local campaign = require "campaign"
  local opts = {}
  for k, v in pairs(s.client or {}) do opts[k] = v end
  opts.provider = s.provider or "vapi"
  opts.base_url = s.base_url
  opts.api_key = opts.api_key or "vapi-test-key"
  local ok, c = pcall(campaign.client, opts)
  if not ok then return true, cjson.encode({ raised = tostring(c) }) end
  local body, err = c[s.op or "create"](c, unpack(s.args or {}))
  return true, cjson.encode({ results = { {
    body = body, err = err and { kind = err.kind, message = err.message } } } })
end

return M
