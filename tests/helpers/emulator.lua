--- Starts and drives the local provider emulator (nginx + Lua, see
-- tests/emulator/) for specs and demos. Runs under Lua 5.1 to 5.4 and LuaJIT.
--
--   local emulator = require "helpers.emulator"
--   local emu = emulator.start()
--   client.new{ provider = "vapi", base_url = emu:url("vapi"), api_key = emu.keys.vapi }
--   emu:fault{ provider = "vapi", status = 429, headers = { ["Retry-After"] = "1" } }
--   assert.equal(2, emu:count{ provider = "vapi", method = "POST" })
--   emu:stop()
--
-- Needs nginx, libnginx-mod-http-lua, lua-cjson and lua-socket (Debian).

local socket = require "socket"
local http = require "socket.http"
local ltn12 = require "ltn12"
local cjson = require "cjson"

local M = {}

M.DEFAULT_KEYS = {
    vapi = "vapi-test-key",
    smallest = "smallest-test-key",
    autocalls = "autocalls-test-key",
    atlas = "atlas-test-key",
}

M.PROVIDERS = { "vapi", "smallest", "autocalls", "atlas" }

local START_TIMEOUT = 5   -- seconds until nginx must answer
local STOP_TIMEOUT = 5    -- seconds until nginx must be gone
local CALL_TIMEOUT = 10   -- seconds for one control call (request lists can be MBs)
local PREFIX_NAME = "lua-campaign-emu."

---------------------------------------------------------------- shell helpers

local function shquote(s)
    return "'" .. (tostring(s):gsub("'", "'\\''")) .. "'"
end

-- Runs cmd through sh; returns exit code and combined output.
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

---------------------------------------------------------------- processes (Linux /proc)

-- Alive and not a zombie (an exited daemon stays a zombie when init does
-- not reap it, as in some containers).
local function alive(pid)
    local status = pid and read_file("/proc/" .. pid .. "/status")
    if not status then return false end
    local state = status:match("\nState:%s*(%a)")
    return state ~= "Z" and state ~= "X"
end

local function cmdline(pid)
    local s = read_file("/proc/" .. pid .. "/cmdline") or ""
    return (s:gsub("%z", " "))
end

local function children(pid)
    local out = capture("ps -o pid= --ppid " .. pid) or ""
    local list = {}
    for p in out:gmatch("%d+") do list[#list + 1] = tonumber(p) end
    return list
end

local function signal(pid, sig)
    run("kill -" .. sig .. " " .. pid)
end

local function port_open(port)
    local c = socket.tcp()
    c:settimeout(0.2)
    local ok = c:connect("127.0.0.1", port)
    c:close()
    return ok ~= nil
end

-- Stops the nginx master `pid` and waits until it is gone and `port` (if
-- given) refuses connections; KILLs it and its workers if TERM is not enough.
local function stop_nginx(pid, port)
    local workers = children(pid)
    signal(pid, "TERM")
    local deadline = socket.gettime() + STOP_TIMEOUT
    while socket.gettime() < deadline do
        if not alive(pid) and not (port and port_open(port)) then
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

-- Stops the nginx recorded in prefix/nginx.pid, if it is still running and
-- really belongs to that prefix.
local function stop_prefix_nginx(prefix)
    local pid = tonumber(read_file(prefix .. "/nginx.pid") or "")
    if pid and alive(pid) and cmdline(pid):find(prefix, 1, true) then
        stop_nginx(pid)
    end
end

---------------------------------------------------------------- paths

local function own_pid()
    return tonumber(capture("echo $PPID"))
end

local function tmpdir()
    local t = os.getenv("TMPDIR")
    if not t or t == "" then t = "/tmp" end
    return (t:gsub("/+$", ""))
end

-- Repository root, from this file's own path (works from any cwd).
local function repo_root()
    local src = debug.getinfo(1, "S").source
    local path = src:sub(1, 1) == "@" and src:sub(2) or src
    local dir = path:match("^(.*)/[^/]*$") or "."
    local root = capture("cd " .. shquote(dir) .. "/../.. && pwd -P")
    if not root then
        error("emulator: cannot locate the repository root from " .. path)
    end
    return root
end

local function find_nginx(explicit)
    local candidates = { explicit, os.getenv("EMULATOR_NGINX") }
    for _, c in ipairs(candidates) do
        if c and c ~= "" then return c end
    end
    local found = capture("command -v nginx")
    if found then return found end
    local f = io.open("/usr/sbin/nginx", "rb")
    if f then
        f:close()
        return "/usr/sbin/nginx"
    end
    error("emulator: nginx not found (apt-get install nginx libnginx-mod-http-lua)")
end

-- Temp prefixes left by a test process that died without stopping its
-- emulator (and whose watchdog did not run): stop their nginx, remove them.
local function sweep_stale()
    local out = capture("ls -d " .. shquote(tmpdir()) .. "/" .. PREFIX_NAME .. "* 2>/dev/null") or ""
    for dir in out:gmatch("[^\n]+") do
        local owner = tonumber(read_file(dir .. "/owner.pid") or "")
        if owner and not alive(owner) then
            stop_prefix_nginx(dir)
            run("rm -rf " .. shquote(dir))
        end
    end
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

---------------------------------------------------------------- emulator object

-- socket.http reads its timeout from a module field; set it for one call.
local function request(t, timeout)
    local old = http.TIMEOUT
    http.TIMEOUT = timeout
    local ok, a, b = pcall(http.request, t)
    http.TIMEOUT = old
    if not ok then return nil, a end
    return a, b
end

local Emu = {}
Emu.__index = Emu

-- Lua 5.3+: cjson decodes every number as a float; turn integral ones back
-- into integers so ids and counts print and concatenate as "1", not "1.0".
local tointeger = math.tointeger -- luacheck: ignore 143
local function integers(v)
    if type(v) == "table" then
        for k, x in pairs(v) do
            if type(x) == "number" then
                v[k] = tointeger(x) or x
            elseif type(x) == "table" then
                integers(x)
            end
        end
    end
    return v
end

local function decode(text)
    local v = cjson.decode(text)
    if tointeger then integers(v) end
    return v
end

-- One control call; returns the decoded JSON answer.
function Emu:_call(method, path, value)
    local body = value ~= nil and cjson.encode(value) or nil
    local chunks = {}
    local ok, code = request({
        url = self.base .. path,
        method = method,
        headers = body and {
            ["content-type"] = "application/json",
            ["content-length"] = tostring(#body),
        } or { ["content-length"] = "0" },
        source = body and ltn12.source.string(body) or nil,
        sink = ltn12.sink.table(chunks),
    }, CALL_TIMEOUT)
    local text = table.concat(chunks)
    if not ok then
        error("emulator: " .. method .. " " .. path .. " failed: " .. tostring(code), 3)
    end
    local decoded_ok, decoded = pcall(decode, text)
    if code ~= 200 then
        error("emulator: " .. method .. " " .. path .. " answered " .. tostring(code) .. ": " .. text, 3)
    end
    if not decoded_ok then
        error("emulator: " .. method .. " " .. path .. " answered invalid JSON", 3)
    end
    return decoded
end

--- Base URL of one provider, e.g. "http://127.0.0.1:12345/vapi".
function Emu:url(provider)
    return self.base .. "/" .. provider
end

-- r.json: the body decoded on first use (bodies can be MBs), nil unless JSON.
local RequestMeta = {
    __index = function(r, k)
        if k ~= "json" then return nil end
        local v
        if type(r.body) == "string" and r.body ~= "" then
            local ok, decoded = pcall(decode, r.body)
            if ok then v = decoded end
        end
        rawset(r, "json", v)
        return v
    end,
}

--- Recorded provider requests in order (those after seq `since`, if given).
-- Each has seq, provider, method, path, query, headers, body, connection,
-- connection_requests, time, status (what the emulator answered; 444:
-- dropped), fault (true or the fault's name, when one applied) and json
-- (the decoded body, when it is JSON).
function Emu:requests(since)
    local list = self:_call("GET", "/_emu/requests" .. (since and ("?since=" .. since) or ""))
    for _, r in ipairs(list) do
        if r.status == cjson.null then r.status = nil end
        setmetatable(r, RequestMeta)
    end
    return list
end

--- The last recorded request, or nil.
function Emu:last()
    local n = self:stats().requests
    if n == 0 then return nil end
    return self:requests(n - 1)[1]
end

--- Number of recorded requests whose fields equal those in filter (any of
-- provider, method, path, query, ...; no filter: all).
function Emu:count(filter)
    local n = 0
    for _, r in ipairs(self:requests()) do
        local match = true
        for k, v in pairs(filter or {}) do
            if k == "method" then v = tostring(v):upper() end
            if r[k] ~= v then match = false end
        end
        if match then n = n + 1 end
    end
    return n
end

--- Queues one fault (a table) or a list of faults; returns the queue length.
function Emu:fault(f)
    return self:_call("POST", "/_emu/faults", f).queued
end

--- Faults still queued.
function Emu:faults()
    return self:_call("GET", "/_emu/faults")
end

function Emu:clear_faults()
    self:_call("DELETE", "/_emu/faults")
end

--- Clears requests, faults, campaigns, counters and restores the default keys.
function Emu:reset()
    self:_call("POST", "/_emu/reset")
    self.keys = {}
    for k, v in pairs(M.DEFAULT_KEYS) do self.keys[k] = v end
end

--- {requests = N, connections = number of distinct connections}.
function Emu:stats()
    return self:_call("GET", "/_emu/stats")
end

--- Replaces the accepted key of the providers in map (a key or a list of keys).
function Emu:set_keys(map)
    local keys = self:_call("POST", "/_emu/keys", map)
    for k, v in pairs(keys) do self.keys[k] = v end
    return keys
end

--- Campaigns the emulator holds: {vapi = {...}, ...}, or one provider's list.
function Emu:campaigns(provider)
    local all = self:_call("GET", "/_emu/campaigns" .. (provider and ("?provider=" .. provider) or ""))
    if provider then return all[provider] end
    return all
end

--- nginx's error log (for diagnosing a failing spec).
function Emu:error_log()
    return read_file(self.prefix .. "/error.log") or ""
end

--- Stops nginx, waits until the port is closed and removes the temp prefix.
-- Safe to call more than once.
function Emu:stop()
    if self.stopped then return end
    self.stopped = true
    if self.watchdog_pid then
        signal(self.watchdog_pid, "TERM")
    end
    local pid = self.pid or tonumber(read_file(self.prefix .. "/nginx.pid") or "")
    if pid and alive(pid) then
        stop_nginx(pid, self.port)
    end
    if self.owns_prefix then
        run("rm -rf " .. shquote(self.prefix))
    end
end

-- Stops the emulator when the object is collected or the Lua state closes
-- (Lua 5.1 only runs __gc for userdata, hence newproxy there).
local function attach_finalizer(emu)
    local function finalize()
        if not emu.stopped then pcall(Emu.stop, emu) end
    end
    local np = rawget(_G, "newproxy")
    if np then
        local proxy = np(true)
        getmetatable(proxy).__gc = finalize
        emu._finalizer = proxy
    else
        emu._finalizer = setmetatable({}, { __gc = finalize })
    end
end

-- A detached shell that stops nginx and removes the prefix once the owning
-- Lua process is gone, for runs that end without stop() or finalizers
-- (os.exit without closing the state, kill -9, a crash).
-- It stops the master it was started for (checked against the prefix), not
-- whatever nginx.pid names later: a new run may reuse a fixed prefix.
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

local function render(template, vars)
    return (template:gsub("@([%u_]+)@", function(k) return vars[k] end))
end

--- Starts an emulator. opts (all optional):
--   prefix   directory for nginx's files (default: a fresh mktemp -d, removed by
--            stop); an nginx left running there by a crashed run is stopped
--   port     fixed port (default: random free port in 20000..60000)
--   nginx    nginx binary (default: $EMULATOR_NGINX, nginx in PATH, /usr/sbin/nginx)
--   keys     accepted keys to set right away, as for set_keys
function M.start(opts)
    opts = opts or {}
    local root = repo_root()
    if root:find('[";]') or (opts.prefix and opts.prefix:find('[";]')) or tmpdir():find('[";]') then
        error("emulator: paths containing \" or ; are not supported", 2)
    end
    local nginx = find_nginx(opts.nginx)
    local template = read_file(root .. "/tests/emulator/nginx.conf.in")
        or error("emulator: cannot read " .. root .. "/tests/emulator/nginx.conf.in")
    sweep_stale()

    local prefix, owns_prefix = opts.prefix, false
    if prefix then
        prefix = capture("mkdir -p " .. shquote(prefix) .. " && cd " .. shquote(prefix) .. " && pwd -P")
            or error("emulator: cannot create " .. opts.prefix)
        stop_prefix_nginx(prefix)
    else
        prefix = capture("mktemp -d " .. shquote(tmpdir() .. "/" .. PREFIX_NAME .. "XXXXXX"))
            or error("emulator: mktemp -d failed")
        owns_prefix = true
    end
    local owner = own_pid()
    write_file(prefix .. "/owner.pid", tostring(owner) .. "\n")
    os.remove(prefix .. "/nginx.pid")

    local vars = {
        PREFIX = prefix,
        LUA_PATH = root .. "/tests/emulator/?.lua",
        USER_LINE = capture("id -u") == "0" and "user root;" or "",
    }
    local port, last_error
    for _ = 1, 20 do
        local candidate = opts.port or random_port()
        if port_free(candidate) then
            vars.PORT = tostring(candidate)
            write_file(prefix .. "/nginx.conf", render(template, vars))
            os.remove(prefix .. "/error.log")
            local rc = run(shquote(nginx) .. " -p " .. shquote(prefix .. "/")
                .. " -c " .. shquote(prefix .. "/nginx.conf")
                .. " -e " .. shquote(prefix .. "/error.log")
                .. " >" .. shquote(prefix .. "/nginx.out") .. " 2>&1")
            if rc == 0 then
                port = candidate
                break
            end
            last_error = "exit code " .. tostring(rc) .. "\n" .. (read_file(prefix .. "/nginx.out") or "")
                .. (read_file(prefix .. "/error.log") or "")
            if opts.port or not last_error:find("Address already in use", 1, true) then
                break
            end
        elseif opts.port then
            last_error = "port " .. opts.port .. " is in use"
            break
        end
    end
    if not port then
        if owns_prefix then run("rm -rf " .. shquote(prefix)) end
        error("emulator: nginx did not start: " .. tostring(last_error or "no free port found"), 2)
    end

    local emu = setmetatable({
        port = port,
        base = "http://127.0.0.1:" .. port,
        prefix = prefix,
        owns_prefix = owns_prefix,
        keys = {},
        stopped = false,
    }, Emu)
    for k, v in pairs(M.DEFAULT_KEYS) do emu.keys[k] = v end

    -- Wait for the worker to answer.
    local deadline = socket.gettime() + START_TIMEOUT
    local ready = false
    while socket.gettime() < deadline do
        local ok, code = request({ url = emu.base .. "/_emu/health", sink = ltn12.sink.table({}) }, 0.5)
        if ok and code == 200 then
            ready = true
            break
        end
        socket.sleep(0.01)
    end
    emu.pid = tonumber(read_file(prefix .. "/nginx.pid") or "")
    if not ready then
        local log = emu:error_log()
        emu:stop()
        error("emulator: nginx started but did not answer within " .. START_TIMEOUT .. " s\n" .. log, 2)
    end

    if emu.pid then
        emu.watchdog_pid = start_watchdog(owner, emu.pid, prefix, owns_prefix)
    end
    attach_finalizer(emu)
    if opts.keys then emu:set_keys(opts.keys) end
    return emu
end

return M
