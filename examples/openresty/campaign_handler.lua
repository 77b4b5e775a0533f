-- luacheck: globals ngx
-- Creates a campaign from a web request, inside nginx, without blocking it.
--
--   POST /campaigns/vapi   {"name": "Q2", "assistantId": "...", ...}
--
--   201  the provider's answer (the new campaign)
--   422  {"error": "...", "errors": [{"field": "customers[1].number", "message": "..."}]}
--        when the fields break the provider's rules (nothing was sent)
--   400  the body is not a JSON object;  404  unknown provider;  405  not a POST
--   500  this server has no API key for the provider (kind "config")
--   502  the provider refused (its status and message are in the answer)
--   504  no answer from the provider in time ("outcome_unknown": true when the
--        campaign may have been created all the same: look before retrying)
--
-- nginx.conf (beside this file) routes /campaigns/<provider> here:
--   content_by_lua_block { require("campaign_handler").create() }
-- API keys come from the environment (nginx.conf: env VAPI_API_KEY;).
local cjson = require "cjson.safe"
local campaign = require "campaign"
local openresty = require "campaign.openresty"

local M = {}

local PROVIDERS = {}
for _, name in ipairs(campaign.providers()) do PROVIDERS[name] = true end

-- One client per provider and worker: their connections stay in nginx's
-- keepalive pool between requests.
local clients = {}

local function client_for(provider, base_url)
  local key = provider .. " " .. (base_url or "")
  local c = clients[key]
  if not c then
    c = openresty.client { provider = provider, base_url = base_url, timeout = 15,
      max_retries = 2 }
    clients[key] = c
  end
  return c
end

local function answer(status, value)
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.say(cjson.encode(value))
  return ngx.exit(status)
end

local function request_json()
  ngx.req.read_body()
  local text = ngx.req.get_body_data()
  if not text then
    -- A body larger than client_body_buffer_size went to a file.
    local path = ngx.req.get_body_file()
    local f = path and io.open(path, "rb")
    if f then
      text = f:read("*a")
      f:close()
    end
  end
  local value = text and cjson.decode(text)
  if type(value) ~= "table" then return nil end
  return value
end

--- The content handler. opts.base_urls: {provider = url}, to send to a
-- white-label host or a test server instead of the provider's own.
function M.create(opts)
  opts = opts or {}
  if ngx.req.get_method() ~= "POST" then
    ngx.header["Allow"] = "POST"
    return answer(405, { error = "use POST" })
  end
  local provider = ngx.var.provider
  if not PROVIDERS[provider] then
    return answer(404, { error = "unknown provider", providers = campaign.providers() })
  end
  local fields = request_json()
  if not fields then
    return answer(400, { error = "the body must be a JSON object of the provider's fields" })
  end
  local base_urls = opts.base_urls or {}
  local body, err = client_for(provider, base_urls[provider]):create(fields)
  if body then return answer(201, body) end
  if err.kind == "validation" then
    return answer(422, { error = err.message, errors = err.errors })
  end
  ngx.log(ngx.WARN, tostring(err))   -- never holds the API key
  if err.kind == "config" then
    -- This server's set-up (no API key), not the caller's request.
    return answer(500, { error = "the server is not configured for this provider" })
  end
  if err.kind == "timeout" or err.outcome_unknown then
    return answer(504, { error = err.message, outcome_unknown = err.outcome_unknown or false })
  end
  return answer(502, { error = err.message, kind = err.kind, status = err.status,
    errors = err.errors, retry_after = err.retry_after })
end

return M
