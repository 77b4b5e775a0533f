-- A custom transport: any function that takes {method, url, headers, body,
-- timeout, connect_timeout} and returns {status, headers, body} (or nil and
-- an error). This one uses LuaSocket (Debian: lua-socket; plain http only,
-- so point it at a local server or a TLS-terminating proxy). The client's
-- validation, retries, error kinds and key redaction apply as with libcurl.
--
--   VAPI_BASE_URL=http://127.0.0.1:8080/vapi VAPI_API_KEY=... lua examples/custom_transport.lua
local campaign = require "campaign"
local http = require "socket.http"
local ltn12 = require "ltn12"

local function luasocket_transport(req)
  local chunks = {}
  http.TIMEOUT = req.timeout
  local headers = {}
  for name, value in pairs(req.headers) do headers[name:lower()] = value end
  if req.body then headers["content-length"] = tostring(#req.body) end
  local ok, status, response_headers = http.request {
    method = req.method,
    url = req.url,
    headers = headers,
    source = req.body and ltn12.source.string(req.body) or nil,
    sink = ltn12.sink.table(chunks),
  }
  if not ok then
    -- LuaSocket cannot tell whether the request left: say it may have.
    return nil, { kind = status == "timeout" and "timeout" or "transport", message = status,
      sent = true }
  end
  return { status = status, headers = response_headers or {}, body = table.concat(chunks) }
end

local base_url = os.getenv("VAPI_BASE_URL")
if not base_url then
  print("set VAPI_BASE_URL (and VAPI_API_KEY) to send through LuaSocket")
  return
end

local client = campaign.client {
  provider = "vapi",
  api_key = os.getenv("VAPI_API_KEY") or "vapi-test-key",
  base_url = base_url,
  transport = luasocket_transport,
}

local created, err = client:create {
  name = "Sent through LuaSocket",
  assistantId = "3f1c2a9e-8d4b-4c6f-9a7e-1b2c3d4e5f60",
  phoneNumberId = "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d",
  customers = { { number = "+14155550101" } },
}
if not created then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
print(("created %s through a custom transport"):format(created.id))
