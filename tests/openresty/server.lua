--- Starts and stops the test nginx of tests/openresty_spec.lua: Debian's
-- nginx with its Lua module, loading lua-campaign from the checkout (the
-- LuaJIT build of the C core), on 127.0.0.1 with a plain and a TLS port.
--
--   local server = require "openresty.server"
--   local srv = server.start { emu = emu }       -- the provider emulator
--   srv.port, srv.tls_port, srv:error_log()
--   srv:stop()
--
-- Works like tests/helpers/emulator.lua: a temp prefix for every file nginx
-- writes, a random free port, a detached watchdog that stops nginx when the
-- test process is gone. Runs under Lua 5.1 to 5.4 and LuaJIT.
local socket = require "socket"

local M = {}

local START_TIMEOUT = 5
local STOP_TIMEOUT = 5
local PREFIX_NAME = "lua-campaign-openresty."

local function shquote(s)
  return "'" .. (tostring(s):gsub("'", "'\\''")) .. "'"
end

local function run(cmd)
  local p = assert(io.popen("(" .. cmd .. ") 2>&1; echo \"__rc=$?\""))
  local out = p:read("*a")
  p:close()
  local rc = tonumber(out:match("__rc=(%d+)%s*$"))
  return rc, (out:gsub("__rc=%d+%s*$", ""))
end

local function capture(cmd)
  local rc, out = run(cmd)
  return rc == 0 and (out:gsub("%s+$", "")) or nil
end

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function write_file(path, s)
  local f = assert(io.open(path, "wb"))
  assert(f:write(s))
  f:close()
end

local function alive(pid)
  local status = pid and read_file("/proc/" .. pid .. "/status")
  if not status then return false end
  local state = status:match("\nState:%s*(%a)")
  return state ~= "Z" and state ~= "X"
end

local function cmdline(pid)
  return ((read_file("/proc/" .. pid .. "/cmdline") or ""):gsub("%z", " "))
end

local function tmpdir()
  local t = os.getenv("TMPDIR")
  if not t or t == "" then t = "/tmp" end
  return (t:gsub("/+$", ""))
end

--- The repository root, from this file's path.
function M.root()
  local src = debug.getinfo(1, "S").source
  local path = src:sub(1, 1) == "@" and src:sub(2) or src
  local dir = path:match("^(.*)/[^/]*$") or "."
  return capture("cd " .. shquote(dir) .. "/../.. && pwd -P")
end

local function random_port()
  local f = io.open("/dev/urandom", "rb")
  local b = f and f:read(2)
  if f then f:close() end
  local n = b and (b:byte(1) * 256 + b:byte(2)) or math.random(0, 65535)
  return 20000 + n % 40001
end

local function port_free(port)
  local s = socket.bind("127.0.0.1", port)
  if not s then return false end
  s:close()
  return true
end

local function stop_pid(pid)
  local workers = capture("ps -o pid= --ppid " .. pid) or ""
  run("kill -TERM " .. pid)
  local deadline = socket.gettime() + STOP_TIMEOUT
  while socket.gettime() < deadline and alive(pid) do socket.sleep(0.01) end
  if alive(pid) then
    for w in workers:gmatch("%d+") do
      if alive(w) and cmdline(w):find("nginx: worker", 1, true) then run("kill -KILL " .. w) end
    end
    run("kill -KILL " .. pid)
  end
end

-- Prefixes left by test processes that died: stop their nginx, remove them.
local function sweep_stale()
  local out = capture("ls -d " .. shquote(tmpdir()) .. "/" .. PREFIX_NAME .. "* 2>/dev/null") or ""
  for dir in out:gmatch("[^\n]+") do
    local owner = tonumber(read_file(dir .. "/owner.pid") or "")
    if owner and not alive(owner) then
      local pid = tonumber(read_file(dir .. "/nginx.pid") or "")
      if pid and alive(pid) and cmdline(pid):find(dir, 1, true) then stop_pid(pid) end
      run("rm -rf " .. shquote(dir))
    end
  end
end

local function start_watchdog(owner, pid, prefix)
  local script = table.concat({
    "owner=" .. owner, "pid=" .. pid, "prefix=" .. shquote(prefix),
    "while [ -d \"$prefix\" ] && [ -e /proc/$owner ] &&",
    "  ! grep -q '^State:[[:space:]]*Z' /proc/$owner/status 2>/dev/null; do sleep 1; done",
    "if tr '\\0' ' ' < /proc/$pid/cmdline 2>/dev/null | grep -qF \"$prefix\"; then",
    "  kill -TERM $pid 2>/dev/null",
    "fi",
    "sleep 1; rm -rf \"$prefix\"",
  }, "\n")
  return tonumber(capture("nohup sh -c " .. shquote(script) .. " >/dev/null 2>&1 </dev/null & echo $!"))
end

local Server = {}
Server.__index = Server

function Server:error_log()
  return read_file(self.prefix .. "/error.log") or ""
end

function Server:stop()
  if self.stopped then return end
  self.stopped = true
  if self.watchdog_pid then run("kill -TERM " .. self.watchdog_pid) end
  if self.pid and alive(self.pid) then stop_pid(self.pid) end
  run("rm -rf " .. shquote(self.prefix))
end

-- One HTTP/1.0 exchange with the server (the answer ends when the connection
-- closes). Returns status, body.
function Server:get(path)
  local c = assert(socket.connect("127.0.0.1", self.port))
  c:settimeout(5)
  c:send("GET " .. path .. " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
  local text = c:receive("*a") or ""
  c:close()
  return tonumber(text:match("^HTTP/%d%.%d (%d+)")), text:match("\r\n\r\n(.*)$")
end

--- Starts the server. opts.emu: a started emulator (helpers.emulator).
function M.start(opts)
  local root = M.root() or error("openresty server: cannot find the repository root")
  local template = assert(read_file(root .. "/tests/openresty/nginx.conf.in"))
  local nginx = capture("command -v nginx") or "/usr/sbin/nginx"
  sweep_stale()
  local prefix = capture("mktemp -d " .. shquote(tmpdir() .. "/" .. PREFIX_NAME .. "XXXXXX"))
    or error("openresty server: mktemp -d failed")
  local owner = tonumber(capture("echo $PPID"))
  write_file(prefix .. "/owner.pid", tostring(owner) .. "\n")
  -- A certificate for "localhost", trusted by the server's Lua sockets.
  local rc, out = run("cd " .. shquote(prefix) .. " && openssl req -x509 -newkey ec "
    .. "-pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout key.pem -out cert.pem -days 2 "
    .. "-subj /CN=localhost -addext subjectAltName=DNS:localhost")
  if rc ~= 0 then
    run("rm -rf " .. shquote(prefix))
    error("openresty server: openssl could not make a certificate: " .. out)
  end
  local vars = {
    PREFIX = prefix, ROOT = root, EMU_BASE = opts.emu.base, VAPI_KEY = opts.emu.keys.vapi,
    USER_LINE = capture("id -u") == "0" and "user root;" or "",
  }
  local started, last_error
  for _ = 1, 20 do
    local port, tls_port = random_port(), random_port()
    if port ~= tls_port and port_free(port) and port_free(tls_port) then
      vars.PORT, vars.TLS_PORT = tostring(port), tostring(tls_port)
      write_file(prefix .. "/nginx.conf", (template:gsub("@([%u_]+)@", vars)))
      local code
      -- LUA_PATH and LUA_CPATH (set by make test) would leak into nginx's ";;".
      code, out = run("env -u LUA_PATH -u LUA_CPATH " .. shquote(nginx) .. " -p " .. shquote(prefix .. "/") .. " -c "
        .. shquote(prefix .. "/nginx.conf") .. " -e " .. shquote(prefix .. "/error.log"))
      if code == 0 then
        started = { port = port, tls_port = tls_port }
        break
      end
      last_error = out .. (read_file(prefix .. "/error.log") or "")
      if not last_error:find("Address already in use", 1, true) then break end
    end
  end
  if not started then
    run("rm -rf " .. shquote(prefix))
    error("openresty server: nginx did not start: " .. tostring(last_error or "no free port"))
  end
  local srv = setmetatable({ port = started.port, tls_port = started.tls_port, prefix = prefix,
    root = root }, Server)
  local deadline = socket.gettime() + START_TIMEOUT
  local ready = false
  while socket.gettime() < deadline do
    local ok, status = pcall(Server.get, srv, "/ping")
    if ok and status == 200 then
      ready = true
      break
    end
    socket.sleep(0.01)
  end
  srv.pid = tonumber(read_file(prefix .. "/nginx.pid") or "")
  if not ready then
    local log = srv:error_log()
    srv:stop()
    error("openresty server: nginx started but did not answer\n" .. log)
  end
  if srv.pid then srv.watchdog_pid = start_watchdog(owner, srv.pid, prefix) end
  return srv
end

return M
