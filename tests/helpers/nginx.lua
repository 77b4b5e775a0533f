--- Runs a private nginx for the tests: one temp prefix per run for every file
-- nginx writes, free ports on 127.0.0.1, and no nginx left behind. Used by
-- helpers/emulator.lua and openresty/server.lua. Runs under Lua 5.1 to 5.4
-- and LuaJIT.
--
--   local nginx = require "helpers.nginx"
--   local srv = assert(nginx.start {
--     name = "my server", template = text, vars = { ROOT = root },
--     prefix_name = "lua-campaign-my.", ports = { "PORT", "TLS_PORT" },
--     setup = make_certificate,        -- optional, see M.start for all opts
--   })
--   srv.pid, srv.prefix, srv.port, srv.ports[2], srv:error_log()
--   srv:stop()
--
-- A forgotten stop is covered twice: a detached watchdog shell stops nginx
-- once the test process is gone (also after kill -9), and start stops the
-- nginx of every temp prefix whose owning process has died. Only masters
-- found through their prefix are ever signalled.

local socket = require "socket"
local proc = require "helpers.proc"

local shquote, sh, capture = proc.shquote, proc.sh, proc.capture
local read_file, write_file = proc.read_file, proc.write_file
local alive, cmdline, children, signal = proc.alive, proc.cmdline, proc.children, proc.signal

local M = {}

M.START_TIMEOUT = 5   -- seconds until nginx must answer
M.STOP_TIMEOUT = 5    -- seconds until nginx must be gone

---------------------------------------------------------------- ports

function M.port_open(port)
  local c = socket.tcp()
  c:settimeout(0.2)
  local ok = c:connect("127.0.0.1", port)
  c:close()
  return ok ~= nil
end

-- From /dev/urandom: math.random would give parallel test processes that
-- seed alike the same ports.
function M.random_port()
  local f = io.open("/dev/urandom", "rb")
  local b = f and f:read(2)
  if f then f:close() end
  local n = b and (b:byte(1) * 256 + b:byte(2)) or math.random(0, 65535)
  return 20000 + n % 40001
end

function M.port_free(port)
  local s = socket.bind("127.0.0.1", port)
  if not s then return false end
  s:close()
  return true
end

-- n distinct free ports, the first one `fixed` if given; nil when one is taken.
local function pick_ports(n, fixed)
  local ports = {}
  for i = 1, n do
    local p = (i == 1 and fixed) or M.random_port()
    for j = 1, i - 1 do
      if ports[j] == p then return nil end
    end
    if not M.port_free(p) then return nil end
    ports[i] = p
  end
  return ports
end

---------------------------------------------------------------- stopping

--- Stops the nginx master `pid` and waits until it is gone and `port` (if
-- given) refuses connections; KILLs it and its workers if TERM is not enough.
function M.stop_nginx(pid, port)
  local workers = children(pid)
  signal(pid, "TERM")
  local deadline = socket.gettime() + M.STOP_TIMEOUT
  while socket.gettime() < deadline do
    if not alive(pid) and not (port and M.port_open(port)) then
      return true
    end
    socket.sleep(0.01)
  end
  for _, w in ipairs(workers) do
    if alive(w) and cmdline(w):find("nginx: worker", 1, true) then signal(w, "KILL") end
  end
  if alive(pid) then signal(pid, "KILL") end
  socket.sleep(0.1)
  return not alive(pid)
end

--- Stops the nginx recorded in prefix/nginx.pid, if it is still running and
-- really belongs to that prefix (the pid may have been reused since).
function M.stop_prefix_nginx(prefix)
  local pid = tonumber(read_file(prefix .. "/nginx.pid") or "")
  if pid and alive(pid) and cmdline(pid):find(prefix, 1, true) then
    M.stop_nginx(pid)
  end
end

---------------------------------------------------------------- prefixes

--- $TMPDIR (default /tmp), where the temp prefixes go.
function M.tmp_root()
  local t = os.getenv("TMPDIR")
  if not t or t == "" then t = "/tmp" end
  return (t:gsub("/+$", ""))
end

--- Temp prefixes named prefix_name* left by a test process that died
-- without stopping its nginx (and whose watchdog did not run): stops their
-- nginx and removes them.
function M.sweep_stale(prefix_name)
  local out = capture("ls -d " .. shquote(M.tmp_root()) .. "/" .. prefix_name .. "* 2>/dev/null") or ""
  for dir in out:gmatch("[^\n]+") do
    local owner = tonumber(read_file(dir .. "/owner.pid") or "")
    if owner and not alive(owner) then
      M.stop_prefix_nginx(dir)
      sh("rm -rf " .. shquote(dir))
    end
  end
end

-- A detached shell that stops nginx and removes the prefix once the owning
-- Lua process is gone, for runs that end without stop() (os.exit without
-- closing the state, kill -9, a crash). It stops the master it was started
-- for (checked against the prefix), not whatever nginx.pid names later: a
-- new run may reuse a fixed prefix.
local function start_watchdog(owner, pid, prefix, owns_prefix)
  local script = table.concat({
    "owner=" .. owner,
    "pid=" .. pid,
    "prefix=" .. shquote(prefix),
    "while [ -d \"$prefix\" ] && [ -e /proc/$owner ] &&",
    "  ! grep -q '^State:[[:space:]]*Z' /proc/$owner/status 2>/dev/null; do sleep 1; done",
    "if tr '\\0' ' ' < /proc/$pid/cmdline 2>/dev/null | grep -qF \"$prefix\"; then",
    "  kill -TERM $pid 2>/dev/null",
    "fi",
    owns_prefix and "sleep 1; rm -rf \"$prefix\"" or "true",
  }, "\n")
  return tonumber(capture("nohup sh -c " .. shquote(script) .. " >/dev/null 2>&1 </dev/null & echo $!"))
end

---------------------------------------------------------------- the server object

--- What start returns; a class passed to start inherits from it.
local Server = {}
Server.__index = Server
M.Server = Server

--- nginx's error log (for diagnosing a failing spec).
function Server:error_log()
  return read_file(self.prefix .. "/error.log") or ""
end

--- Stops nginx, waits until its (first) port is closed and removes the temp
-- prefix (a fixed one is kept). Safe to call more than once.
function Server:stop()
  if self.stopped then return end
  self.stopped = true
  if self.watchdog_pid then signal(self.watchdog_pid, "TERM") end
  local pid = self.pid or tonumber(read_file(self.prefix .. "/nginx.pid") or "")
  if pid and alive(pid) then M.stop_nginx(pid, self.port) end
  if self.owns_prefix then sh("rm -rf " .. shquote(self.prefix)) end
end

---------------------------------------------------------------- starting

--- The nginx binary: explicit if given, else nginx in PATH or /usr/sbin/nginx
-- (not in a non-root PATH on Debian); nil if there is none.
function M.find(explicit)
  if explicit and explicit ~= "" then return explicit end
  local found = capture("command -v nginx")
  if found then return found end
  local f = io.open("/usr/sbin/nginx", "rb")
  if f then
    f:close()
    return "/usr/sbin/nginx"
  end
  return nil
end

local function render(template, vars)
  return (template:gsub("@([%u_]+)@", function(k) return vars[k] end))
end

-- The prefix: a fresh temp directory (owned: stop removes it) or the fixed
-- one, where an nginx left running by a crashed run is stopped first.
local function make_prefix(opts, name)
  if opts.prefix then
    local prefix = capture("mkdir -p " .. shquote(opts.prefix) .. " && cd " .. shquote(opts.prefix) .. " && pwd -P")
    if not prefix then return nil, nil, name .. ": cannot create " .. opts.prefix end
    M.stop_prefix_nginx(prefix)
    return prefix, false
  end
  local prefix = capture("mktemp -d " .. shquote(M.tmp_root() .. "/" .. opts.prefix_name .. "XXXXXX"))
  if not prefix then return nil, nil, name .. ": mktemp -d failed" end
  return prefix, true
end

-- Runs nginx on prefix/nginx.conf; returns nil or what went wrong.
local function run_nginx(bin, prefix, unset_env)
  local env = ""
  for _, k in ipairs(unset_env or {}) do env = env .. "-u " .. k .. " " end
  local code = sh((env ~= "" and "env " .. env or "") .. shquote(bin)
    .. " -p " .. shquote(prefix .. "/")
    .. " -c " .. shquote(prefix .. "/nginx.conf")
    .. " -e " .. shquote(prefix .. "/error.log")
    .. " >" .. shquote(prefix .. "/nginx.out") .. " 2>&1")
  if code == 0 then return nil end
  return "exit code " .. tostring(code) .. "\n" .. (read_file(prefix .. "/nginx.out") or "")
    .. (read_file(prefix .. "/error.log") or "")
end

--- Starts nginx and waits until it answers. Returns the server object, or
-- nil and a message (the caller raises it at the level it wants). opts:
--   name         for messages, e.g. "emulator"
--   template     nginx.conf text with @NAME@ placeholders, filled from vars,
--                plus PREFIX, USER_LINE and the port names
--   vars         the placeholders' values
--   prefix_name  temp prefixes are $TMPDIR/<prefix_name>XXXXXX; also what
--                the stale sweep looks for
--   prefix       a fixed prefix instead (kept by stop)
--   ports        placeholder names that each get a distinct free port
--                (default { "PORT" }); the object has ports (a list) and port
--   port         a fixed first port (default: random free in 20000..60000)
--   nginx        the binary (default: M.find())
--   unset_env    environment variables nginx must not see
--   setup        function(prefix) run before nginx starts; nil, message: fail
--   ready        function(server) true once nginx answers (default: the
--                first port accepts connections); errors count as not yet
--   class        metatable of the object, inheriting from M.Server
function M.start(opts)
  local name = opts.name or "nginx"
  if (opts.prefix or M.tmp_root()):find('[";]') then
    -- The template quotes paths with " and ends directives with ;.
    return nil, name .. ": paths containing \" or ; are not supported"
  end
  local bin = M.find(opts.nginx)
  if not bin then
    return nil, name .. ": nginx not found (apt-get install nginx libnginx-mod-http-lua)"
  end
  M.sweep_stale(opts.prefix_name)

  local prefix, owns_prefix, err = make_prefix(opts, name)
  if not prefix then return nil, err end
  local function fail(message)
    if owns_prefix then sh("rm -rf " .. shquote(prefix)) end
    return nil, message
  end
  -- The watchdog and the sweep of later runs know the prefix's owner by it.
  local owner = tonumber(capture("echo $PPID"))
  write_file(prefix .. "/owner.pid", tostring(owner) .. "\n")
  os.remove(prefix .. "/nginx.pid")
  if opts.setup then
    local ok, setup_err = opts.setup(prefix)
    if not ok then return fail(setup_err) end
  end

  local vars = {}
  for k, v in pairs(opts.vars or {}) do vars[k] = v end
  vars.PREFIX = prefix
  if vars.USER_LINE == nil then
    -- As root, nginx would run its workers as nobody, who cannot read the
    -- checkout or the prefix.
    vars.USER_LINE = capture("id -u") == "0" and "user root;" or ""
  end
  local names = opts.ports or { "PORT" }
  local ports, last_error
  for _ = 1, 20 do
    local candidate = pick_ports(#names, opts.port)
    if candidate then
      for i, k in ipairs(names) do vars[k] = tostring(candidate[i]) end
      write_file(prefix .. "/nginx.conf", render(opts.template, vars))
      os.remove(prefix .. "/error.log")
      last_error = run_nginx(bin, prefix, opts.unset_env)
      if not last_error then
        ports = candidate
        break
      end
      -- Another process took a port between the check and nginx's bind.
      if opts.port or not last_error:find("Address already in use", 1, true) then break end
    elseif opts.port and not M.port_free(opts.port) then
      last_error = "port " .. opts.port .. " is in use"
      break
    end
  end
  if not ports then
    return fail(name .. ": nginx did not start: " .. tostring(last_error or "no free port found"))
  end

  local srv = setmetatable({
    port = ports[1],
    ports = ports,
    prefix = prefix,
    owns_prefix = owns_prefix,
    stopped = false,
  }, opts.class or Server)
  local ready = opts.ready or function(s) return M.port_open(s.port) end
  local deadline = socket.gettime() + M.START_TIMEOUT
  local answered = false
  while socket.gettime() < deadline do
    local ok, yes = pcall(ready, srv)
    if ok and yes then
      answered = true
      break
    end
    socket.sleep(0.01)
  end
  srv.pid = tonumber(read_file(prefix .. "/nginx.pid") or "")
  if not answered then
    local log = srv:error_log()
    srv:stop()
    return nil, name .. ": nginx started but did not answer within " .. M.START_TIMEOUT .. " s\n" .. log
  end
  if srv.pid then
    srv.watchdog_pid = start_watchdog(owner, srv.pid, prefix, owns_prefix)
  end
  return srv
end

return M
