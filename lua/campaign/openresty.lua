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

local base = require "campaign.class"
local raise = require("campaign.errors").raise
local clock = require("campaign.core").now
local fixed_headers = base.fixed_headers

local type, pairs, tostring, tonumber, setmetatable, pcall = type, pairs, tostring, tonumber,
  setmetatable, pcall
local byte, find, lower, match, sub = string.byte, string.find, string.lower, string.match,
  string.sub
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
local HEAD_TOO_LARGE = "the response headers are larger than 256 KiB"
local MAX_CHUNK_LINE = 4096
local READ_SIZE = 65536
-- URLs parsed and kept per transport: a client sends to a few (a create's
-- is always the same); past this many the cache starts again.
local MAX_TARGETS = 64

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
  if connect_host:lower() == "localhost" then
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
    authority = authority, target = target, https = scheme == "https",
    lines = {},   -- the request line and Host header, by method
  }
end

-- "name: value\r\n" for each header of a table, or nil and the problem.
local function header_block(headers)
  local lines = {}
  for name, value in pairs(headers) do
    if type(name) ~= "string" or not find(name, "^[%w!#$%%&'*+.^_`|~-]+$") then
      return nil, "header names must be HTTP tokens"
    end
    if type(value) ~= "string" or find(value, "[%z\r\n]") then
      return nil, "header " .. name .. " must be a string without CR, LF or NUL"
    end
    if not OWN_HEADERS[lower(name)] then lines[#lines + 1] = name .. ": " .. value .. "\r\n" end
  end
  return concat(lines)
end

-- ---------------------------------------------------------------------------
-- Reading the response. The bytes read and not used yet are `buf` from
-- position `pos`; every read is bounded by the deadline of the whole
-- request (a server trickling its answer cannot stretch it).

-- What arrives next (at most `size` bytes) before the deadline.
local function receive(sock, deadline, size)
  local left = deadline - clock()
  if left <= 0 then return nil, "timeout" end
  sock:settimeout(max(1, floor(left * 1000 + 0.5)))
  return sock:receiveany(size)
end

-- The unused bytes and the next ones: buf from pos, longer.
local function more(sock, deadline, buf, pos)
  local data, err = receive(sock, deadline, READ_SIZE)
  if not data then return nil, err end
  if pos > #buf then return data end
  return sub(buf, pos) .. data
end

-- Where the line starting at pos ends (its "\n"), reading more as needed,
-- so that buf and pos may change: eol, buf, pos; or nil, err.
local function line_end(sock, deadline, buf, pos, limit, too_long)
  while true do
    local eol = find(buf, "\n", pos, true)
    if eol then return eol, buf, pos end
    if #buf - pos >= limit then return nil, too_long end
    local err
    buf, err = more(sock, deadline, buf, pos)
    if not buf then return nil, err end
    pos = 1
  end
end

-- A table with room for n named fields (LuaJIT's table.new; elsewhere {}).
local new_table = (function()
  local ok, new = pcall(require, "table.new")
  if ok and type(new) == "function" then return new end
  return function() return {} end
end)()

-- Header names as they came, in lower case: the same few names come in
-- every answer.
local lowered, nlowered = {}, 0
local function lower_name(name)
  local l = lowered[name]
  if l then return l end
  l = lower(name)
  if nlowered >= 256 then lowered, nlowered = {}, 0 end
  lowered[name], nlowered = l, nlowered + 1
  return l
end

local function add_header(headers, name, value)
  local old = headers[name]
  -- Repeated headers are joined, as HTTP allows (and as the libcurl transport does).
  headers[name] = old and (old .. ", " .. value) or value
end

local function has_token(value, token)
  if not value then return false end
  value = lower(value)
  if not find(value, token, 1, true) then return false end
  for item in value:gmatch("[^,%s]+") do
    if item == token then return true end
  end
  return false
end

-- Whether the line from pos to eol (its "\n") is empty.
local function empty_line(buf, pos, eol)
  return eol == pos or (eol == pos + 1 and byte(buf, pos) == 13)
end

-- The status line and headers at pos; 1xx interim answers are skipped.
-- Returns status, headers, whether HTTP/1.0, buf, and the position after
-- the head; or nil, err.
local function read_head(sock, deadline, buf, pos)
  local used, status, headers, http10 = 0, nil, nil, false
  while true do
    local eol
    eol, buf, pos = line_end(sock, deadline, buf, pos, MAX_HEAD - used, HEAD_TOO_LARGE)
    if not eol then return nil, buf end
    used = used + (eol - pos + 1)
    if used > MAX_HEAD then return nil, HEAD_TOO_LARGE end
    if not status then
      local _, _, major, minor, code = find(buf, "^HTTP/(%d)%.(%d) (%d%d%d)", pos)
      if not code then return nil, "the server did not answer with HTTP" end
      status, headers, http10 = tonumber(code), new_table(0, 8), major == "1" and minor == "0"
    elseif empty_line(buf, pos, eol) then
      if status >= 200 or status == 101 then return status, headers, http10, buf, eol + 1 end
      status = nil   -- an interim answer: the next head follows
    else
      -- name: value, the name without white space, the value trimmed. Plain
      -- finds and byte tests: LuaJIT compiles them, not patterns.
      local colon = find(buf, ":", pos, true)
      if colon and colon < eol then
        local last = colon - 1
        local b
        repeat
          b = byte(buf, last)
          last = last - 1
        until b ~= 32 and b ~= 9
        last = last + 1
        local i = pos
        b = byte(buf, i)
        while i <= last and b ~= 32 and (b < 9 or b > 13) do
          i = i + 1
          b = byte(buf, i)
        end
        if i > last and last >= pos then
          local first = colon + 1
          b = byte(buf, first)
          while first < eol and (b == 32 or b == 9) do
            first = first + 1
            b = byte(buf, first)
          end
          local stop = eol - 1
          b = byte(buf, stop)
          while stop >= first and (b == 13 or b == 32 or b == 9) do
            stop = stop - 1
            b = byte(buf, stop)
          end
          add_header(headers, lower_name(sub(buf, pos, last)), sub(buf, first, stop))
        end
      end
    end
    pos = eol + 1
  end
end

-- n bytes at pos, reading the rest as needed (never more: what follows is
-- not this answer's): data, buf, the position after them; or nil, err.
local function take(sock, deadline, buf, pos, n)
  local have = #buf - pos + 1
  if have >= n then return sub(buf, pos, pos + n - 1), buf, pos + n end
  local parts = { sub(buf, pos) }
  while have < n do
    local data, err = receive(sock, deadline, min(READ_SIZE, n - have))
    if not data then return nil, err end
    parts[#parts + 1] = data
    have = have + #data
  end
  return concat(parts), "", 1
end

local function too_large(max_body)
  return format("the response body is larger than the limit of %d bytes", max_body)
end

local MALFORMED_CHUNK = "the response has a malformed chunk"

-- A chunked body at pos: body, buf, the position after it; or nil, err.
local function read_chunked(sock, deadline, buf, pos, max_body)
  local parts, total = {}, 0
  while true do
    local eol
    eol, buf, pos = line_end(sock, deadline, buf, pos, MAX_CHUNK_LINE, "too long")
    if not eol then return nil, buf end
    local size = tonumber(match(buf, "^[ \t]*(%x+)", pos) or "", 16)
    if not size then return nil, MALFORMED_CHUNK end
    pos = eol + 1
    if size == 0 then
      -- The trailer, up to its empty line.
      while true do
        eol, buf, pos = line_end(sock, deadline, buf, pos, MAX_HEAD, "too long")
        if not eol then return nil, buf end
        local last = empty_line(buf, pos, eol)
        pos = eol + 1
        if last then return concat(parts), buf, pos end
      end
    end
    total = total + size
    if total > max_body then return nil, too_large(max_body) end
    local data
    data, buf, pos = take(sock, deadline, buf, pos, size)
    if not data then return nil, buf end
    parts[#parts + 1] = data
    -- The CRLF after the data.
    eol, buf, pos = line_end(sock, deadline, buf, pos, 2, MALFORMED_CHUNK)
    if not eol then return nil, buf end
    if not empty_line(buf, pos, eol) then return nil, MALFORMED_CHUNK end
    pos = eol + 1
  end
end

-- Everything until the server closes the connection, at most max_body bytes.
local function read_to_close(sock, deadline, buf, pos, max_body)
  local parts = { sub(buf, pos) }
  local have = #parts[1]
  while true do
    if have > max_body then return nil, too_large(max_body) end
    local data, err = receive(sock, deadline, READ_SIZE)
    if not data then
      if err == "closed" then return concat(parts) end
      return nil, err
    end
    parts[#parts + 1] = data
    have = have + #data
  end
end

-- The body, framed as the headers say: body, and whether the connection
-- can be used again (its answer read to the end, nothing more sent); or
-- nil, err.
local function read_body(sock, deadline, method, status, headers, buf, pos, max_body)
  if method == "HEAD" or status == 204 or status == 304 or status < 200 then
    return "", pos > #buf
  end
  if has_token(headers["transfer-encoding"], "chunked") then
    local body
    body, buf, pos = read_chunked(sock, deadline, buf, pos, max_body)
    if not body then return nil, buf end
    return body, pos > #buf
  end
  local length = headers["content-length"]
  if length then
    local n = find(length, "^%d+$") and tonumber(length)
    if not n then return nil, "the response has an invalid Content-Length" end
    if n > max_body then return nil, too_large(max_body) end
    -- The whole answer came with the head, as it mostly does: no more reads.
    local body
    body, buf, pos = take(sock, deadline, buf, pos, n)
    if not body then return nil, buf end
    return body, pos > #buf
  end
  local body, err = read_to_close(sock, deadline, buf, pos, max_body)
  if not body then return nil, err end
  return body, false
end

-- ---------------------------------------------------------------------------
-- The transport

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
  local idle_any = floor(keepalive * 1000)
  local idle_fresh = floor(min(keepalive, FRESH_IDLE) * 1000)
  local sessions = {}   -- TLS sessions by pool, for resumption
  local targets, ntargets = {}, 0
  -- The header blocks of the client's header sets, which never change
  -- (campaign.class's fixed_headers); any other table is read every time.
  local blocks = setmetatable({}, { __mode = "k" })
  -- What one request sends, filled and sent at once (sock:send copies it
  -- before anything else runs): one table for every request.
  local wire = {}

  -- The parts of a URL, parsed once: nil and a message for a bad one.
  local function target_of(url)
    local target = targets[url]
    if target then return target end
    local problem
    target, problem = parse_url(url)
    if not target then return nil, problem end
    -- Connections go to pools by host, TLS verification, and whether they
    -- may have been idle long (see FRESH_IDLE).
    local pool = format("campaign:%s:%s:%s:%d:%s:", target.scheme, target.host,
      target.connect_host, target.port, verify and "verify" or "noverify")
    target.any = { pool = pool .. "any", pool_size = pool_size }
    target.fresh = { pool = pool .. "fresh", pool_size = pool_size }
    if ntargets >= MAX_TARGETS then targets, ntargets = {}, 0 end
    targets[url], ntargets = target, ntargets + 1
    return target
  end

  -- One exchange over one connection: the request is the request line,
  -- the header block and the body. Returns resp, or nil, err, retry
  -- (retry: a pooled connection was dead before anything came back).
  local function exchange(url, method, line, block, body, deadline, connect_deadline, resendable)
    local connect = resendable and url.any or url.fresh
    local made, sock = pcall(ngx.socket.tcp)
    if not made then
      -- set_by_lua, header/body filters, log, init_worker: no cosockets.
      return failure("transport", "nginx sockets cannot be used here (" .. tostring(sock)
        .. "): send from a content, access or rewrite handler, or from ngx.timer.at", false)
    end
    local connect_left = min(deadline, connect_deadline) - clock()
    if connect_left <= 0 then
      return failure("timeout", "timed out before connecting", false)
    end
    sock:settimeout(max(1, floor(connect_left * 1000 + 0.5)))
    local ok, err = sock:connect(url.connect_host, url.port, connect)
    if not ok then
      return failure(kind_of(err), format("cannot connect to %s:%d: %s", url.host, url.port,
        tostring(err)), false)
    end
    local reused = (sock:getreusedtimes() or 0) > 0
    if url.https and not reused then
      local pool = connect.pool
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
    local left = deadline - clock()
    if left <= 0 then
      sock:close()
      return failure("timeout", "timed out before sending the request", false)
    end
    sock:settimeout(max(1, floor(left * 1000 + 0.5)))
    -- One write of the whole request. send copies what it is given before
    -- anything else runs, so one table serves every request.
    wire[1], wire[2] = line, block
    if body or BODY_METHODS[method] then
      wire[3], wire[4], wire[5], wire[6] = "Content-Length: ", #(body or ""), "\r\n\r\n", body
    else
      wire[3], wire[4], wire[5], wire[6] = "", "", "\r\n", nil
    end
    local sent_bytes
    sent_bytes, err = sock:send(wire)
    wire[6] = nil
    -- The answer: most often head and body in the first read.
    local got, buf, status, headers, http10, pos = false, nil, nil, nil, nil, nil
    if sent_bytes then
      buf, err = receive(sock, deadline, READ_SIZE)
      if buf then
        got = true
        status, headers, http10, buf, pos = read_head(sock, deadline, buf, 1)
        if not status then err = headers end
      end
    end
    if not status then
      sock:close()
      if reused and not got and err ~= "timeout" and resendable then
        return nil, nil, true
      end
      local what = sent_bytes and "reading the response from" or "sending the request to"
      if err == "timeout" then
        return failure("timeout", format("timed out %s %s", what, url.host), true)
      end
      return failure("transport", format("failed %s %s: %s", what, url.host, tostring(err)), true)
    end
    local body_read, reusable = read_body(sock, deadline, method, status, headers, buf, pos,
      max_body)
    if not body_read then
      sock:close()
      err = reusable
      if err == "timeout" then
        return failure("timeout", format("timed out reading the response body from %s", url.host),
          true)
      end
      return failure("transport", format("failed reading the response body from %s: %s",
        url.host, tostring(err)), true)
    end
    if reusable and not http10 and keepalive > 0 and not has_token(headers.connection, "close") then
      if not sock:setkeepalive(resendable and idle_any or idle_fresh, pool_size) then
        sock:close()
      end
    else
      sock:close()
    end
    return { status = status, headers = headers, body = body_read }
  end

  -- The request as positional values: what the client calls (no table is
  -- made for it), and what the transport function below unpacks.
  local function send(method, url_text, headers, body, timeout, connect_timeout, no_resend)
    local url, problem = target_of(url_text)
    if not url then return failure("transport", problem, false) end
    local line = url.lines[method]
    if not line then
      if type(method) ~= "string" or not find(method, "^%u+$") then
        return failure("transport", "the method must be an upper-case HTTP method", false)
      end
      line = method .. " " .. url.target .. " HTTP/1.1\r\nHost: " .. url.authority .. "\r\n"
      url.lines[method] = line
    end
    local block = ""
    if type(headers) == "table" then
      block = blocks[headers]
      if not block then
        block, problem = header_block(headers)
        if not block then return failure("transport", problem, false) end
        if fixed_headers[headers] then blocks[headers] = block end
      end
    end
    if body ~= nil and type(body) ~= "string" then
      return failure("transport", "the body must be a string", false)
    end
    local started = clock()
    local deadline = started + (tonumber(timeout) or 30)
    local connect_deadline = started + (tonumber(connect_timeout) or 10)
    local resendable = RESENDABLE[method] and no_resend ~= true or false
    -- A dead pooled connection is closed when found, so this ends: at the
    -- latest on a fresh connection.
    while true do
      local resp, err, retry = exchange(url, method, line, block, body, deadline,
        connect_deadline, resendable)
      if not retry then return resp, err end
    end
  end

  local function transport(req)
    if type(req) ~= "table" then raise("campaign.openresty: the request must be a table") end
    return send(req.method, req.url, req.headers, req.body, req.timeout, req.connect_timeout,
      req.no_resend)
  end
  base.own_transports[transport] = send
  return transport
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
