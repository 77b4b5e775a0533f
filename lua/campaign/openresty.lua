--- A transport for OpenResty (nginx with its Lua module) that never blocks
-- the nginx worker: HTTP/1.1 over cosockets (`ngx.socket.tcp`), TLS through
-- `sslhandshake` (certificates checked against `lua_ssl_trusted_certificate`,
-- the host name checked and sent as SNI), connections kept in nginx's
-- keepalive pool.
--
--   local openresty = require "campaign.openresty"
--   local c = openresty.client { provider = "vapi" }   -- transport and ngx.sleep set
--   local body, err = c:create(fields)
--
-- or, for campaign.client directly:
--
--   local c = campaign.client(openresty.options { provider = "vapi" })
--   local c = campaign.client { provider = "vapi", transport = openresty.transport(),
--     sleep = ngx.sleep }
--
-- Timeouts, retries, error kinds and key redaction are the client's, as with
-- the libcurl transport.
-- @module campaign.openresty

local M = {}

local raise = require("campaign.errors").raise

local type, pairs, tostring, tonumber = type, pairs, tostring, tonumber
local concat, format = table.concat, string.format
local floor, max, min = math.floor, math.max, math.min

local DEFAULT_MAX_BODY = 8 * 1024 * 1024
local DEFAULT_KEEPALIVE = 60   -- seconds a pooled connection may stay idle
local DEFAULT_POOL_SIZE = 32   -- connections kept per host and kind
-- A request that must not be sent twice (a create) only goes over a
-- connection that was idle for less than this, as with the libcurl
-- transport: a server may close an idle connection at any moment (Node's
-- default keep-alive timeout is 5 s), and then nobody knows whether the
-- request arrived.
local FRESH_IDLE = 2
local MAX_HEAD = 256 * 1024
local READ_SIZE = 65536

-- Methods that are safe to send once more when a pooled connection turns
-- out to be dead before any answer came back (libcurl does the same). Not
-- PUT: some providers start a campaign with one (the client, which knows
-- the operation, decides whether to retry); nor anything with req.no_resend.
local RESENDABLE = { GET = true, HEAD = true, DELETE = true, OPTIONS = true }
local BODY_METHODS = { POST = true, PUT = true, PATCH = true }
-- Headers this transport writes itself.
local OWN_HEADERS = { host = true, ["content-length"] = true, ["transfer-encoding"] = true,
  connection = true }

local function get_ngx()
  local ngx = rawget(_G, "ngx")
  if type(ngx) ~= "table" or type(ngx.socket) ~= "table" or type(ngx.socket.tcp) ~= "function" then
    raise("campaign.openresty: needs OpenResty (nginx with its Lua module): ngx.socket.tcp "
      .. "is not available here")
  end
  return ngx
end

local function failure(kind, message, sent)
  return nil, { kind = kind, message = message, sent = sent }
end

local function kind_of(err)
  return err == "timeout" and "timeout" or "transport"
end

-- http(s)://host[:port][/path][?query] -> parts, or nil and a message.
local function parse_url(url)
  if type(url) ~= "string" then return nil, "the URL must be a string" end
  local scheme, authority, rest = url:match("^(%a[%w+.-]*)://([^/?#]*)(.*)$")
  scheme = scheme and scheme:lower()
  if scheme ~= "http" and scheme ~= "https" then
    return nil, "only http:// and https:// URLs can be sent"
  end
  if authority:find("@", 1, true) then
    return nil, "credentials in the URL are not supported"
  end
  local host, port, connect_host
  if authority:sub(1, 1) == "[" then
    host, port = authority:match("^%[([%x:.]+)%]:?(%d*)$")
    connect_host = host and ("[" .. host .. "]")
  else
    host, port = authority:match("^([^:]+):?(%d*)$")
    connect_host = host
  end
  if not host or host == "" then return nil, "the URL has no valid host" end
  host = host:lower()
  if connect_host == "localhost" or (connect_host and connect_host:lower() == "localhost") then
    -- nginx resolves names only through its resolver, which does not read
    -- /etc/hosts.
    connect_host = "127.0.0.1"
  end
  port = port ~= "" and tonumber(port) or (scheme == "https" and 443 or 80)
  if port < 1 or port > 65535 then return nil, "the URL has an invalid port" end
  local target = rest:gsub("#.*$", "")
  if target == "" or target:sub(1, 1) == "?" then target = "/" .. target end
  if target:find("[%s%c]") then return nil, "the URL contains spaces or control characters" end
  return {
    scheme = scheme, host = host, port = port, connect_host = connect_host,
    authority = authority, target = target,
  }
end

-- ---------------------------------------------------------------------------
-- Reading the response, with a deadline for the whole request

local Reader = {}
Reader.__index = Reader

local function new_reader(ngx, sock, deadline)
  return setmetatable({ ngx = ngx, sock = sock, deadline = deadline, buf = "", got = 0 }, Reader)
end

local function now(ngx)
  ngx.update_time()
  return ngx.now()
end

-- Reads whatever arrives next (at most `size` bytes) before the deadline.
function Reader:_more(size)
  local left = self.deadline - now(self.ngx)
  if left <= 0 then return nil, "timeout" end
  self.sock:settimeout(max(1, floor(left * 1000 + 0.5)))
  local data, err = self.sock:receiveany(size or READ_SIZE)
  if not data then return nil, err end
  self.got = self.got + #data
  return data
end

-- One line without its CRLF; `limit` bounds its length.
function Reader:line(limit)
  while true do
    local i = self.buf:find("\n", 1, true)
    if i then
      local line = self.buf:sub(1, i - 1):gsub("\r$", "")
      self.buf = self.buf:sub(i + 1)
      return line
    end
    if #self.buf > limit then return nil, "too long" end
    local data, err = self:_more()
    if not data then return nil, err end
    self.buf = self.buf .. data
  end
end

-- Exactly n bytes.
function Reader:exact(n)
  if #self.buf >= n then
    local out = self.buf:sub(1, n)
    self.buf = self.buf:sub(n + 1)
    return out
  end
  local parts, have = { self.buf }, #self.buf
  self.buf = ""
  while have < n do
    local data, err = self:_more(min(READ_SIZE, n - have))
    if not data then return nil, err end
    parts[#parts + 1] = data
    have = have + #data
  end
  return concat(parts)
end

-- Everything until the server closes the connection, at most `limit` bytes.
function Reader:rest(limit)
  local parts, have = { self.buf }, #self.buf
  self.buf = ""
  while true do
    if have > limit then return nil, "too large" end
    local data, err = self:_more()
    if not data then
      if err == "closed" then return concat(parts) end
      return nil, err
    end
    parts[#parts + 1] = data
    have = have + #data
  end
end

local function add_header(headers, name, value)
  local old = headers[name]
  -- Repeated headers are joined, as HTTP allows (and as the libcurl transport does).
  headers[name] = old and (old .. ", " .. value) or value
end

local function has_token(value, token)
  if not value then return false end
  for item in value:lower():gmatch("[^,%s]+") do
    if item == token then return true end
  end
  return false
end

-- Status line and headers; 1xx interim answers are skipped.
local function read_head(r)
  local used = 0
  while true do
    local line, err = r:line(MAX_HEAD)
    if not line then return nil, err end
    local major, minor, status = line:match("^HTTP/(%d)%.(%d) (%d%d%d)")
    if not status then return nil, "the server did not answer with HTTP" end
    status = tonumber(status)
    local headers = {}
    while true do
      local hline
      hline, err = r:line(MAX_HEAD)
      if not hline then return nil, err end
      used = used + #hline + 2
      if used > MAX_HEAD then return nil, "the response headers are larger than 256 KiB" end
      if hline == "" then break end
      local name, value = hline:match("^([^:%s]+)%s*:%s*(.-)%s*$")
      if name then add_header(headers, name:lower(), value) end
    end
    if status >= 200 or status == 101 then
      return { status = status, headers = headers, http10 = (major == "1" and minor == "0") }
    end
  end
end

-- The body, framed as the headers say; and whether the connection can be
-- reused afterwards.
local function read_body(r, method, head, max_body)
  local status, headers = head.status, head.headers
  if method == "HEAD" or status == 204 or status == 304 or status < 200 then return "", true end
  local too_large = format("the response body is larger than the limit of %d bytes", max_body)
  if has_token(headers["transfer-encoding"], "chunked") then
    local parts, total = {}, 0
    while true do
      local line, err = r:line(4096)
      if not line then return nil, err end
      local size = tonumber(line:match("^%s*(%x+)") or "", 16)
      if not size then return nil, "the response has a malformed chunk" end
      if size == 0 then
        repeat
          line, err = r:line(MAX_HEAD)
          if not line then return nil, err end
        until line == ""
        return concat(parts), true
      end
      total = total + size
      if total > max_body then return nil, too_large end
      local data
      data, err = r:exact(size)
      if not data then return nil, err end
      parts[#parts + 1] = data
      line, err = r:line(2)
      if line ~= "" then return nil, err or "the response has a malformed chunk" end
    end
  end
  local length = headers["content-length"]
  if length then
    local n = length:match("^%d+$") and tonumber(length)
    if not n then return nil, "the response has an invalid Content-Length" end
    if n > max_body then return nil, too_large end
    local data, err = r:exact(n)
    if not data then return nil, err end
    return data, true
  end
  local data, err = r:rest(max_body)
  if not data then return nil, err == "too large" and too_large or err end
  return data, false
end

-- ---------------------------------------------------------------------------
-- The transport

local function build_request(req, url)
  local method = req.method
  if type(method) ~= "string" or not method:find("^%u+$") then
    return nil, "the method must be an upper-case HTTP method"
  end
  local lines = { method .. " " .. url.target .. " HTTP/1.1", "Host: " .. url.authority }
  if type(req.headers) == "table" then
    for name, value in pairs(req.headers) do
      if type(name) ~= "string" or not name:find("^[%w!#$%%&'*+.^_`|~-]+$") then
        return nil, "header names must be HTTP tokens"
      end
      if type(value) ~= "string" or value:find("[%z\r\n]") then
        return nil, "header " .. name .. " must be a string without CR, LF or NUL"
      end
      if not OWN_HEADERS[name:lower()] then lines[#lines + 1] = name .. ": " .. value end
    end
  end
  local body = req.body
  if body ~= nil and type(body) ~= "string" then return nil, "the body must be a string" end
  if body or BODY_METHODS[method] then
    lines[#lines + 1] = "Content-Length: " .. #(body or "")
  end
  lines[#lines + 1] = ""
  lines[#lines + 1] = ""
  return { concat(lines, "\r\n"), body or "" }
end

--- Makes a transport: a function for the client's `transport` option.
-- opts (all optional):
--   ssl_verify         verify the server's certificate and name (default true);
--                      the trusted certificates are nginx's lua_ssl_trusted_certificate
--   max_body           largest response body accepted, bytes (default 8 MiB)
--   keepalive_timeout  seconds a pooled connection may stay idle (default 60)
--   pool_size          connections kept per host (default 32)
function M.transport(opts)
  opts = opts or {}
  if type(opts) ~= "table" then raise("campaign.openresty: options must be a table") end
  if opts.ssl_verify ~= nil and type(opts.ssl_verify) ~= "boolean" then
    raise("campaign.openresty: ssl_verify must be true or false")
  end
  local ngx = get_ngx()
  local verify = opts.ssl_verify ~= false
  local max_body = opts.max_body or DEFAULT_MAX_BODY
  local keepalive = opts.keepalive_timeout or DEFAULT_KEEPALIVE
  local pool_size = opts.pool_size or DEFAULT_POOL_SIZE
  if type(max_body) ~= "number" or not (max_body >= 1 and max_body <= 1e9) then
    raise("campaign.openresty: max_body must be between 1 and 10^9 bytes")
  end
  if type(keepalive) ~= "number" or not (keepalive >= 0 and keepalive <= 86400) then
    raise("campaign.openresty: keepalive_timeout must be a number of seconds (0 to 86400)")
  end
  if type(pool_size) ~= "number" or not (pool_size >= 1 and pool_size <= 100000)
    or pool_size ~= floor(pool_size) then
    raise("campaign.openresty: pool_size must be an integer from 1 to 100000")
  end
  local sessions = {}   -- TLS sessions by pool, for resumption

  -- One exchange over one connection. Returns resp, or nil, err, retry
  -- (retry: a pooled connection was dead before anything came back).
  local function exchange(req, url, parts, deadline, connect_deadline, resendable)
    local fresh_only = not resendable
    local pool = format("campaign:%s:%s:%s:%d:%s:%s", url.scheme, url.host, url.connect_host,
      url.port, verify and "verify" or "noverify", fresh_only and "fresh" or "any")
    local made, sock = pcall(ngx.socket.tcp)
    if not made then
      -- set_by_lua, header/body filters, log, init_worker: no cosockets.
      return failure("transport", "nginx sockets cannot be used here (" .. tostring(sock)
        .. "): send from a content, access or rewrite handler, or from ngx.timer.at", false)
    end
    local t = now(ngx)
    local connect_left = min(deadline, connect_deadline) - t
    if connect_left <= 0 then
      return failure("timeout", "timed out before connecting", false)
    end
    sock:settimeout(max(1, floor(connect_left * 1000 + 0.5)))
    local ok, err = sock:connect(url.connect_host, url.port, { pool = pool, pool_size = pool_size })
    if not ok then
      return failure(kind_of(err), format("cannot connect to %s:%d: %s", url.host, url.port,
        tostring(err)), false)
    end
    local reused = (sock:getreusedtimes() or 0) > 0
    if url.scheme == "https" and not reused then
      local session
      -- The host name is both the SNI and the name the certificate must carry.
      session, err = sock:sslhandshake(sessions[pool], url.host, verify)
      if not session then
        sock:close()
        return failure(kind_of(err), format("TLS handshake with %s failed: %s", url.host,
          tostring(err)), false)
      end
      if type(session) == "userdata" or type(session) == "cdata" then sessions[pool] = session end
    end
    local left = deadline - now(ngx)
    if left <= 0 then
      sock:close()
      return failure("timeout", "timed out before sending the request", false)
    end
    sock:settimeout(max(1, floor(left * 1000 + 0.5)))
    local sent_bytes
    sent_bytes, err = sock:send(parts)
    local r = new_reader(ngx, sock, deadline)
    local head
    if sent_bytes then head, err = read_head(r) end
    if not head then
      sock:close()
      if reused and r.got == 0 and err ~= "timeout" and resendable then
        return nil, nil, true
      end
      local what = sent_bytes and "reading the response from" or "sending the request to"
      if err == "timeout" then
        return failure("timeout", format("timed out %s %s", what, url.host), true)
      end
      return failure("transport", format("failed %s %s: %s", what, url.host, tostring(err)), true)
    end
    local body, reusable = read_body(r, req.method, head, max_body)
    if not body then
      sock:close()
      err = reusable
      if err == "timeout" then
        return failure("timeout", format("timed out reading the response body from %s", url.host),
          true)
      end
      return failure("transport", format("failed reading the response body from %s: %s",
        url.host, tostring(err)), true)
    end
    if reusable and not head.http10 and not has_token(head.headers.connection, "close")
      and r.buf == "" and keepalive > 0 then
      local idle = fresh_only and min(keepalive, FRESH_IDLE) or keepalive
      if not sock:setkeepalive(floor(idle * 1000), pool_size) then sock:close() end
    else
      sock:close()
    end
    return { status = head.status, headers = head.headers, body = body }
  end

  return function(req)
    if type(req) ~= "table" then raise("campaign.openresty: the request must be a table") end
    local url, problem = parse_url(req.url)
    if not url then return failure("transport", problem, false) end
    local parts
    parts, problem = build_request(req, url)
    if not parts then return failure("transport", problem, false) end
    local started = now(ngx)
    local timeout = tonumber(req.timeout) or 30
    local connect_timeout = tonumber(req.connect_timeout) or 10
    local deadline, connect_deadline = started + timeout, started + connect_timeout
    local resendable = RESENDABLE[req.method] and req.no_resend ~= true or false
    -- A dead pooled connection is closed when found, so this ends: at the
    -- latest on a fresh connection.
    while true do
      local resp, err, retry = exchange(req, url, parts, deadline, connect_deadline, resendable)
      if not retry then return resp, err end
    end
  end
end

-- ngx.sleep counts from nginx's cached time and in whole milliseconds
-- (rounded down): from the time now, rounded up, it never ends early.
local function sleeper(seconds)
  local ngx = get_ngx()
  ngx.update_time()
  ngx.sleep(math.ceil(seconds * 1000) / 1000)
end

--- A copy of client options with this transport and `ngx.sleep` set, for
-- `campaign.client`. `ssl_verify` and `max_body` apply to the transport;
-- `transport_opts` may add `keepalive_timeout` and `pool_size`.
function M.options(opts, transport_opts)
  if type(opts) ~= "table" then raise("campaign.openresty: options must be a table") end
  if transport_opts ~= nil and type(transport_opts) ~= "table" then
    raise("campaign.openresty: transport options must be a table")
  end
  for _, name in ipairs({ "ca_file", "ca_path" }) do
    if opts[name] ~= nil then
      raise("campaign.openresty: " .. name .. " does not apply to nginx's sockets: set "
        .. "lua_ssl_trusted_certificate in nginx.conf")
    end
  end
  for _, name in ipairs({ "proxy", "no_proxy" }) do
    if opts[name] ~= nil then
      raise("campaign.openresty: " .. name .. " is not supported by the OpenResty transport")
    end
  end
  local copy = {}
  for k, v in pairs(opts) do copy[k] = v end
  if copy.transport == nil then
    local t = {}
    for k, v in pairs(transport_opts or {}) do t[k] = v end
    if t.ssl_verify == nil then t.ssl_verify = opts.ssl_verify end
    if t.max_body == nil then t.max_body = opts.max_body end
    copy.transport = M.transport(t)
  end
  if copy.sleep == nil then copy.sleep = sleeper end
  return copy
end

--- `campaign.client(options(opts, transport_opts))`.
function M.client(opts, transport_opts)
  local options = M.options(opts, transport_opts)
  return require("campaign").client(options)
end

return M
