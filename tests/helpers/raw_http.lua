-- A small HTTP/1.1 server on raw sockets for the specs that need a peer the
-- emulator cannot be (a hostile one, one on IPv6 loopback, a stand-in proxy),
-- run as a child process (tests/helpers/rawserver.lua starts it):
--
--   lua raw_http.lua MODE LOG PORTFILE OWNER [HOST [RESPONSE]]
--
-- It binds HOST (default 127.0.0.1; "::1" for IPv6) on a free port and
-- writes the port to PORTFILE. Every request it reads in full is logged to
-- LOG, one line each, before it is answered: "<connection> <nth on it>
-- <METHOD> <target> <body length>", and appended whole to LOG.raw as
-- "<length>\n<request line, headers, blank line, body>".
-- MODE:
--   hostile  the first request on a connection is answered (keep-alive);
--            the next one on the same connection is read in full and the
--            connection closed without an answer, as a server whose
--            keep-alive timeout fired while the request was on its way.
--   echo     every request is answered with 200 and the body it carried.
--   canned   every request is answered with the bytes of the file RESPONSE
--            (a whole HTTP response), and the connection closed.
-- It exits when OWNER (a pid) is gone, so it never outlives the suite.
local socket = require "socket"

local mode, log_path, port_path, owner = arg[1], arg[2], arg[3], arg[4]
local host, response_path = arg[5] or "127.0.0.1", arg[6]
assert(mode == "hostile" or mode == "echo" or mode == "canned", "mode: hostile, echo or canned")
assert(log_path and port_path and owner, "usage: raw_http.lua MODE LOG PORTFILE OWNER [HOST [RESPONSE]]")
assert(mode ~= "canned" or response_path, "canned needs a RESPONSE file")

local server = assert(host:find(":", 1, true) and socket.tcp6() or socket.tcp())
assert(server:bind(host, 0))
assert(server:listen(64))
server:settimeout(0)
local _, port = server:getsockname()

local log = assert(io.open(log_path, "a"))
log:setvbuf("no")
local raw_log = assert(io.open(log_path .. ".raw", "ab"))
raw_log:setvbuf("no")

-- The port file appears whole (a reader never sees half of it).
local tmp = port_path .. ".tmp"
local f = assert(io.open(tmp, "w"))
f:write(tostring(port), "\n")
f:close()
assert(os.rename(tmp, port_path))

local clients = {}    -- socket -> { id = n, served = requests read }
local next_id = 0

-- Reads one request; nil when the connection closed or broke first.
local function read_request(c)
  local line = c:receive("*l")
  if not line then return nil end
  local method, path = line:match("^(%u+) (%S+) HTTP/1%.1$")
  if not method then return nil end
  local length, lines = 0, { line }
  while true do
    local h = c:receive("*l")
    if not h then return nil end
    lines[#lines + 1] = h
    if h == "" then break end
    local name, value = h:match("^([^:]+):%s*(.-)%s*$")
    if name and name:lower() == "content-length" then length = tonumber(value) or 0 end
    if name and name:lower() == "transfer-encoding" then return nil end
  end
  local body = ""
  if length > 0 then
    body = c:receive(length)
    if not body then return nil end
  end
  return { method = method, path = path, body = body,
    text = table.concat(lines, "\n") .. "\n" .. body }
end

local function answer(c, body)
  c:send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " .. #body
    .. "\r\nConnection: keep-alive\r\n\r\n" .. body)
end

local function drop(c)
  clients[c] = nil
  c:close()
end

local function serve(c)
  local state = clients[c]
  c:settimeout(10)
  local req = read_request(c)
  if not req then return drop(c) end
  state.served = state.served + 1
  log:write(string.format("%d %d %s %s %d\n", state.id, state.served, req.method, req.path,
    #req.body))
  raw_log:write(#req.text, "\n", req.text)
  if mode == "canned" then
    local canned = assert(io.open(response_path, "rb"))
    c:send(canned:read("*a"))
    canned:close()
    drop(c)
  elseif mode == "echo" then
    answer(c, req.body)
  elseif state.served == 1 then
    answer(c, '{"status":true,"data":{"_id":"60d0fe4f5311236168a109ca","name":"Raw"}}')
  else
    drop(c)
  end
end

local function owner_alive()
  local s = io.open("/proc/" .. owner .. "/stat")
  if not s then return false end
  local stat = s:read("*a") or ""
  s:close()
  return not stat:match("^%d+ %b() [ZX]")
end

while true do
  local list = { server }
  for c in pairs(clients) do list[#list + 1] = c end
  local readable = socket.select(list, nil, 1)
  for _, s in ipairs(readable) do
    if s == server then
      local c = server:accept()
      if c then
        next_id = next_id + 1
        clients[c] = { id = next_id, served = 0 }
      end
    elseif clients[s] then
      serve(s)
    end
  end
  if #readable == 0 and not owner_alive() then break end
end
