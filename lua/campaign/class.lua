--- What the parts of a client share: the Client class, the keys (kept out of
-- the client table), the request headers, and the helpers every part uses
-- to make errors and printable copies. Not a public API: campaign.client
-- (campaign/init.lua) makes clients; campaign.request, campaign.send and
-- campaign.batch add their methods.
-- @module campaign.class

local providers = require "campaign.providers"
local errors = require "campaign.errors"
local redact = require "campaign.redact"

local type, pairs, ipairs, next, tostring, pcall, rawget = type, pairs, ipairs, next,
  tostring, pcall, rawget
local concat, sort, format = table.concat, table.sort, string.format
local redact_text = redact.text
local raise = errors.raise

local M = {}

-- Keys are kept out of the client table so that printing or iterating a
-- client never shows them.
M.secrets = setmetatable({}, { __mode = "k" })
local secrets = M.secrets
-- The request headers of each client, key included: {plain, json}.
M.header_templates = setmetatable({}, { __mode = "k" })
local header_templates = M.header_templates
-- Those header tables: they never change once made (nothing outside the
-- module sees them: a prepared request's headers are a copy), so a
-- transport may keep what it makes of them.
M.fixed_headers = setmetatable({}, { __mode = "k" })
-- The module's own transports (campaign.openresty's): the function a client
-- is given, and the same call taking the request as positional values
-- (method, url, headers, body, timeout, connect_timeout, no_resend), which
-- the client uses instead: no request table per attempt, and the client's
-- header set itself rather than a copy (an own transport changes nothing).
M.own_transports = setmetatable({}, { __mode = "k" })

local Client = {}
Client.__index = Client
Client.__tostring = function(c)
  return format("campaign.client(%s, %s)", c.provider, redact_text(c.base_url, secrets[c]))
end
M.Client = Client

--- Raises unless self is a client: `c.create(fields)` (a dot for a colon)
-- passes the fields as self.
function M.check_self(self, method)
  if getmetatable(self) ~= Client then
    raise(format("campaign: call %s with a colon: c:%s(...), not c.%s(...)", method, method,
      method))
  end
end

function M.new_error(client, op, kind, message, extra)
  return errors.new(client and client.provider, op, kind, message, extra)
end

function M.validation_error(client, op, problems)
  return errors.validation(client and client.provider, op, problems, client and secrets[client])
end

function M.single_problem(client, op, field, message)
  return M.validation_error(client, op, { { field = field, message = message } })
end

--- A printable copy of headers with the credentials hidden.
function M.redacted_headers(headers, client)
  return redact.printable_headers(headers, client and secrets[client],
    client and providers[client.provider].auth_header:lower())
end

--- The headers a request goes out with: its own once the caller looked at
-- them (and may have changed them), else the client's.
function M.wire_headers(client, req)
  return rawget(req, "headers") or header_templates[client][rawget(req, "body") and "json" or "plain"]
end

-- The slots of the client's header sets in its libcurl handle.
M.PLAIN_HEADERS, M.JSON_HEADERS = 1, 2

--- The headers libcurl sends a request with: its own once the caller looked
-- at them, else the slot of the client's header set (built once, in C).
function M.curl_headers(req)
  return rawget(req, "headers") or (rawget(req, "body") and M.JSON_HEADERS or M.PLAIN_HEADERS)
end

--- What the libcurl handle is given for a batch item: made once per item,
-- kept in its state for the next attempts (a single call passes the same
-- values to handle:perform without a table).
function M.curl_request(req, set, state)
  local creq = state.creq
  if not creq then
    creq = { method = req.method, url = req.url, headers = M.curl_headers(req), body = req.body,
      timeout = set.timeout, connect_timeout = set.connect_timeout,
      no_resend = not set.idempotent }
    state.creq = creq
  end
  return creq
end

--- A request as text, the key hidden (tostring of a prepared request).
function M.request_text(req, client)
  local headers = M.redacted_headers(req.headers, client)
  local names = {}
  for name in pairs(headers) do names[#names + 1] = name end
  sort(names)
  local lines = { req.method .. " " .. redact_text(req.url, client and secrets[client]) }
  for _, name in ipairs(names) do lines[#lines + 1] = name .. ": " .. headers[name] end
  if req.body then
    lines[#lines + 1] = ""
    lines[#lines + 1] = redact_text(req.body, client and secrets[client])
  end
  return concat(lines, "\n")
end

--- The metatable of a client's prepared requests: req.headers is made when
-- it is first looked at (sending uses the client's template as it is).
function M.request_mt(client)
  return {
    __tostring = function(req) return M.request_text(req, client) end,
    __index = function(req, k)
      if k ~= "headers" then return nil end
      local h = {}
      for n, v in next, M.wire_headers(client, req) do h[n] = v end
      rawset(req, "headers", h)
      return h
    end,
  }
end

--- A header name is an HTTP token; a value has no control characters.
-- Returns the problem, or nil.
function M.bad_header(name, value)
  if type(name) ~= "string" or not name:find("^[%w!#$%%&'*+.^_`|~-]+$") then
    return "header names must be HTTP tokens"
  end
  if type(value) ~= "string" then
    return "header " .. name .. " must be a string"
  end
  if value:find("[%z\r\n]") then
    return "header " .. name .. " contains CR, LF or NUL"
  end
end

--- Inside nginx, libcurl would stop the worker (every request it serves)
-- while it waits: only nginx's init phases (and ngx.run_worker_thread,
-- which reports "init") may use it. Returns the phase that forbids it.
function M.blocking_phase()
  local ngx = rawget(_G, "ngx")
  if type(ngx) ~= "table" or type(ngx.get_phase) ~= "function" then return nil end
  local ok, phase = pcall(ngx.get_phase)
  if not ok or phase == "init" or phase == "init_worker" or phase == "exit_worker" then
    return nil
  end
  return tostring(phase)
end

M.BLOCKING = "the libcurl transport would block the nginx worker in the %s phase: use "
  .. 'require("campaign.openresty").client(opts), or set allow_blocking = true'

--- Raises where the libcurl transport would block nginx (unless allowed).
function M.refuse_blocking(client)
  local phase = not client._allow_blocking and M.blocking_phase()
  if phase then raise(format("campaign %s: " .. M.BLOCKING, client.provider, phase)) end
end

return M
