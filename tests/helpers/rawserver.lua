-- Starts tests/helpers/raw_http.lua (a raw-socket HTTP server) as a child
-- process and reads what it logged.
--
--   local srv = rawserver.start("hostile" | "echo")
--   local srv = rawserver.start("canned", { host = "::1", status = 200, body = "{...}",
--     headers = {...} })
--   srv.port, srv.url (http://host:port), srv:requests() ({conn, nth, method, path,
--   length}, in order), srv:texts() (each request whole), srv:count(method [, path]),
--   srv:stop()
local proc = require "helpers.proc"
local socket = require "socket"

local M = {}
local Server = {}
Server.__index = Server

local function response_text(resp)
  local body = resp.body or "{}"
  local lines = { ("HTTP/1.1 %d X"):format(resp.status or 200),
    "Content-Type: " .. (resp.content_type or "application/json"),
    "Content-Length: " .. #body, "Connection: close" }
  for name, value in pairs(resp.headers or {}) do lines[#lines + 1] = name .. ": " .. value end
  return table.concat(lines, "\r\n") .. "\r\n\r\n" .. body
end

-- It stops by itself once this process is gone, and at srv:stop().
function M.start(mode, opts)
  opts = opts or {}
  local dir = assert(proc.tmpdir())
  local self = setmetatable({ dir = dir, log = dir .. "/requests.log",
    host = opts.host or "127.0.0.1" }, Server)
  local args = { proc.LUA, proc.shquote(proc.ROOT .. "tests/helpers/raw_http.lua"), mode,
    proc.shquote(self.log), proc.shquote(dir .. "/port"), assert(proc.capture("echo $PPID")),
    proc.shquote(self.host) }
  if mode == "canned" then
    proc.write_file(dir .. "/response", response_text(opts))
    args[#args + 1] = proc.shquote(dir .. "/response")
  end
  args[#args + 1] = ">" .. proc.shquote(dir .. "/stderr") .. " 2>&1 </dev/null & echo $!"
  self.pid = assert(tonumber(proc.capture(table.concat(args, " "))))
  for _ = 1, 1000 do
    local port = proc.read_file(dir .. "/port")
    if port then
      self.port = tonumber(port:match("%d+"))
      break
    end
    if not proc.alive(self.pid) then break end
    socket.sleep(0.01)
  end
  if not self.port then
    local why = tostring(proc.read_file(dir .. "/stderr"))
    self:stop()
    error("the raw HTTP server did not start: " .. why)
  end
  local shown = self.host:find(":", 1, true) and ("[" .. self.host .. "]") or self.host
  self.url = ("http://%s:%d"):format(shown, self.port)
  return self
end

function Server:stop()
  if self.pid then
    proc.signal(self.pid, "TERM")
    for _ = 1, 500 do
      if not proc.alive(self.pid) then break end
      socket.sleep(0.01)
    end
  end
  self.pid = nil
  proc.sh("rm -rf " .. proc.shquote(self.dir))
end

-- The requests the server read in full: {conn, nth, method, path, length}.
function Server:requests()
  local list = {}
  for line in (proc.read_file(self.log) or ""):gmatch("[^\n]+") do
    local conn, nth, method, path, len = line:match("^(%d+) (%d+) (%u+) (%S+) (%d+)$")
    list[#list + 1] = { conn = tonumber(conn), nth = tonumber(nth), method = method, path = path,
      length = tonumber(len) }
  end
  return list
end

-- The same requests whole: request line, headers, blank line, body.
function Server:texts()
  local text, list, pos = proc.read_file(self.log .. ".raw") or "", {}, 1
  while pos <= #text do
    local len, after = text:match("^(%d+)\n()", pos)
    if not len then break end
    list[#list + 1] = text:sub(after, after + tonumber(len) - 1)
    pos = after + tonumber(len)
  end
  return list
end

function Server:count(method, path)
  local n = 0
  for _, r in ipairs(self:requests()) do
    if r.method == method and (not path or r.path == path) then n = n + 1 end
  end
  return n
end

return M
