-- luacheck: globals ngx
-- make bench: the steps of the OpenResty handler one by one, to tell where
-- the time goes (bench/openresty.conf.in routes /stage/<name> here). Under
-- wrk, each of these does one step more than the one before:
--   read     the request body read, a fixed answer
--   decode   and decoded (cjson)
--   prepare  and checked and written (c:prepare)
--   send     and sent through the transport, its answer passed on as it came
--   create   c:create (the answer decoded) and encoded back, as the handler
-- and these compare the transport with the least a cosocket does:
--   floor    the body read, and the least cosocket exchange (a request
--            written once, one read of the answer)
--   exchange the body read, and the transport's exchange of a request
--            prepared once
-- /stage/profile times each step alone in a loop, on the worker's CPU
-- clock, the transport over a socket that answers from memory (the Lua
-- work of a request without nginx's). M.access is the access phase of
-- /prepared: the body checked and written there, sent by proxy_pass.
local cjson = require "cjson.safe"
local openresty = require "campaign.openresty"
local base = require "campaign.class"

local M = {}

local ANSWER = '{"id":"fixed"}'

local client

local function body()
  ngx.req.read_body()
  return ngx.req.get_body_data()
end

local steps = {}

function steps.read()
  body()
  ngx.print(ANSWER)
end

function steps.decode()
  local fields = cjson.decode(body())
  ngx.print(fields and ANSWER or "{}")
end

function steps.prepare()
  local req = assert(client:prepare("create", cjson.decode(body())))
  ngx.print(req.body and ANSWER or "{}")
end

-- The least a cosocket exchange does, for comparison: the request the
-- transport would write, written once, one read, the connection back in
-- the pool.
local floor_wire, floor_host, floor_port
local FLOOR_POOL = { pool = "bench-floor", pool_size = 32 }
function steps.floor()
  local text = body()
  if not floor_wire then
    local req = assert(client:prepare("create", cjson.decode(text)))
    floor_host, floor_port = req.url:match("^http://([^:/]+):(%d+)")
    floor_port = tonumber(floor_port)
    floor_wire = "POST /v2/campaign HTTP/1.1\r\nHost: upstream\r\nContent-Type: application/json\r\n"
      .. "Content-Length: " .. #req.body .. "\r\n\r\n" .. req.body
  end
  local sock = ngx.socket.tcp()
  sock:settimeout(15000)
  assert(sock:connect(floor_host, floor_port, FLOOR_POOL))
  assert(sock:send(floor_wire))
  local answer = assert(sock:receiveany(65536))
  sock:setkeepalive(60000, 32)
  ngx.status = 201
  ngx.print(answer:match("\r\n\r\n(.*)$"))
end

-- The transport as c:create calls it: the request's values, the client's
-- own header set.
local function send(req)
  return assert(base.own_transports[client.transport](req.method, req.url,
    base.header_templates[client].json, req.body, 15, 10, true))
end

function steps.send()
  local resp = send(assert(client:prepare("create", cjson.decode(body()))))
  ngx.status = resp.status
  ngx.print(resp.body)
end

-- The transport's exchange as c:create makes it, of a request prepared
-- once (no decode, no check).
local prepared
function steps.exchange()
  local text = body()
  if not prepared then prepared = assert(client:prepare("create", cjson.decode(text))) end
  local resp = send(prepared)
  ngx.status = resp.status
  ngx.print(resp.body)
end

function steps.create()
  local created = assert(client:create(cjson.decode(body())))
  ngx.status = 201
  ngx.print(cjson.encode(created))
end

-- A socket that answers every request with `answer` (the upstream's own
-- bytes), read in one piece.
local function memory_socket(answer)
  local Socket = {}
  Socket.__index = Socket
  local function ok() return 1 end
  Socket.settimeout, Socket.setkeepalive, Socket.close = ok, ok, ok
  function Socket.connect() return 1 end
  function Socket.getreusedtimes() return 1 end
  Socket.send = ok
  function Socket:receiveany()
    if self.done then return nil, "closed" end
    self.done = true
    return answer
  end
  -- What the transports before receiveany read with: lines and counts.
  function Socket:receive(what)
    local at = self.at or 1
    if type(what) == "number" then
      self.at = at + what
      return answer:sub(at, at + what - 1)
    end
    local eol = answer:find("\r\n", at, true)
    self.at = eol + 2
    return answer:sub(at, eol - 1)
  end
  return function() return setmetatable({}, Socket) end
end

-- The upstream's answer to a create, as it sends it.
local function upstream_answer(url, request)
  local host, port = url:match("^http://([^:/]+):(%d+)")
  local sock = ngx.socket.tcp()
  sock:settimeout(5000)
  assert(sock:connect(host, tonumber(port)))
  assert(sock:send(request))
  local head = assert(sock:receiveuntil("\r\n\r\n")())
  local length = tonumber(head:match("\r\n[Cc]ontent%-[Ll]ength: *(%d+)"))
  local text = head .. "\r\n\r\n" .. assert(sock:receive(length))
  sock:close()
  return text
end

function steps.profile()
  local n = tonumber(ngx.var.arg_n) or 5000
  local text = body()
  local fields = cjson.decode(text)
  local req = assert(client:prepare("create", fields))
  local wire = ("POST /v2/campaign HTTP/1.1\r\nHost: upstream\r\nContent-Type: application/json"
    .. "\r\nContent-Length: %d\r\n\r\n%s"):format(#req.body, req.body)
  local answer = upstream_answer(req.url, wire)
  local answer_body = answer:match("\r\n\r\n(.*)$")
  local created = cjson.decode(answer_body)
  local tcp = ngx.socket.tcp
  local out = {}
  local function time(name, fn)
    ngx.socket.tcp = memory_socket(answer)
    local ok, err = pcall(function()
      for _ = 1, 200 do assert(fn()) end
      collectgarbage()
      local t0 = os.clock()
      for _ = 1, n do fn() end
      out[#out + 1] = ("%s=%.2f"):format(name, (os.clock() - t0) / n * 1e6)
    end)
    ngx.socket.tcp = tcp
    if not ok then error(err, 0) end
  end
  time("decode", function() return cjson.decode(text) end)
  time("prepare", function() return client:prepare("create", fields) end)
  time("transport", function() return send(req) end)
  time("answer_decode", function() return cjson.decode(answer_body) end)
  time("create", function() return client:create(fields) end)
  time("answer_encode", function() return cjson.encode(created) end)
  ngx.print(table.concat(out, " "))
end

-- access_by_lua of /prepared: the request's body checked and written, and
-- the client's headers set, for proxy_pass to send.
local set_header = ngx and ngx.req.set_header
function M.access(base_url)
  if not client then
    client = openresty.client { provider = "vapi", base_url = base_url, timeout = 15 }
  end
  local req, err = client:prepare("create", cjson.decode(body()))
  if not req then
    ngx.status = 422
    ngx.print(cjson.encode({ error = tostring(err) }))
    return ngx.exit(422)
  end
  ngx.req.set_body_data(req.body)
  for name, value in pairs(req.headers) do set_header(name, value) end
end

function M.run(stage, base_url)
  if not client then
    client = openresty.client { provider = "vapi", base_url = base_url, timeout = 15 }
  end
  ngx.header["Content-Type"] = "application/json"
  steps[stage]()
end

return M
