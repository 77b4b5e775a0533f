--- Starts and drives the local provider emulator (nginx + Lua, see
-- tests/emulator/) for specs and demos. Runs under Lua 5.1 to 5.4 and LuaJIT.
--
--   local emulator = require "helpers.emulator"
--   local emu = emulator.start()
--   client.new{ provider = "vapi", base_url = emu:url("vapi"), api_key = emu.keys.vapi }
--   emu:fault{ provider = "vapi", status = 429, headers = { ["Retry-After"] = "1" } }
--   assert.equal(2, emu:count{ provider = "vapi", method = "POST" })
--   emu:fault{ provider = "vapi", hold = 10 }   -- answers once emu:release() is called
--   emu:stop()
--
-- Needs nginx, libnginx-mod-http-lua, lua-cjson and lua-socket (Debian).

local socket = require "socket"
local http = require "socket.http"
local ltn12 = require "ltn12"
local cjson = require "cjson"
local nginx = require "helpers.nginx"
local proc = require "helpers.proc"

local M = {}

-- The providers of the library's registry (campaign.providers), sorted,
-- each with the emulator's test key "<name>-test-key".
M.PROVIDERS, M.DEFAULT_KEYS = {}, {}
do
    for name in pairs(require "campaign.providers") do
        M.PROVIDERS[#M.PROVIDERS + 1] = name
        M.DEFAULT_KEYS[name] = name .. "-test-key"
    end
    table.sort(M.PROVIDERS)
end

local CALL_TIMEOUT = 10   -- seconds for one control call (request lists can be MBs)
local PREFIX_NAME = "lua-campaign-emu."

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

-- Inherits pid, prefix, port, stop() and error_log() from helpers.nginx:
-- stop() stops nginx, waits until the port is closed and removes the temp
-- prefix; safe to call more than once.
local Emu = setmetatable({}, { __index = nginx.Server })
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
-- dropped), fault (true or the fault's name, when one applied), under_way
-- (the requests the emulator was working on when this one came in, itself
-- included), answered (the place of its answer among the answers since the
-- last reset, 1 for the first; nil while the emulator has not begun it) and
-- json (the decoded body, when it is JSON).
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

--- Waits until at least n requests match filter (as for count), polling;
-- timeout (seconds, default 10) only guards against waiting for ever.
-- Returns the number that match.
function Emu:wait(filter, n, timeout)
    local deadline = socket.gettime() + (timeout or 10)
    local got = self:count(filter)
    while got < n and socket.gettime() < deadline do
        socket.sleep(0.01)
        got = self:count(filter)
    end
    return got
end

--- Ends the `hold` of every request the emulator holds (see the fault
-- field hold); returns how many it held.
function Emu:release()
    return self:_call("POST", "/_emu/release").held
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

--- Rate limits: {vapi = {rate = 50, retry_after = 1}} (requests per second;
-- Retry-After of the 429s), {vapi = false} to lift one. Returns them all.
function Emu:limit(map)
    return self:_call("POST", "/_emu/limits", map)
end

--- Page sizes of the paginated lists (Vapi, Smallest): {vapi = {default = 10,
-- max = 25}} (`max` caps what a client asks; the page says the size used),
-- {vapi = false} restores the documented ones. Returns them all.
function Emu:paging(map)
    return self:_call("POST", "/_emu/paging", map)
end

--- Campaigns the emulator holds: {vapi = {...}, ...}, or one provider's list.
function Emu:campaigns(provider)
    local all = self:_call("GET", "/_emu/campaigns" .. (provider and ("?provider=" .. provider) or ""))
    if provider then return all[provider] end
    return all
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

--- Starts an emulator. opts (all optional):
--   prefix   directory for nginx's files (default: a fresh mktemp -d, removed by
--            stop); an nginx left running there by a crashed run is stopped
--   port     fixed port (default: random free port in 20000..60000)
--   nginx    nginx binary (default: $EMULATOR_NGINX, nginx in PATH, /usr/sbin/nginx)
--   keys     accepted keys to set right away, as for set_keys
function M.start(opts)
    opts = opts or {}
    local root = proc.ROOT:gsub("/$", "")
    if root:find('[";]') then
        error("emulator: paths containing \" or ; are not supported", 2)
    end
    local template = proc.read_file(root .. "/tests/emulator/nginx.conf.in")
        or error("emulator: cannot read " .. root .. "/tests/emulator/nginx.conf.in")
    local emu, err = nginx.start {
        name = "emulator",
        template = template,
        -- The emulator's modules, and the library's provider registry.
        vars = { LUA_PATH = root .. "/tests/emulator/?.lua;" .. root .. "/lua/?.lua" },
        prefix_name = PREFIX_NAME,
        prefix = opts.prefix,
        port = opts.port,
        nginx = (opts.nginx ~= "" and opts.nginx) or os.getenv("EMULATOR_NGINX"),
        ready = function(e)
            local ok, code = request({ url = "http://127.0.0.1:" .. e.port .. "/_emu/health",
                sink = ltn12.sink.table({}) }, 0.5)
            return ok and code == 200
        end,
        class = Emu,
    }
    if not emu then error(err, 2) end
    emu.base = "http://127.0.0.1:" .. emu.port
    emu.keys = {}
    for k, v in pairs(M.DEFAULT_KEYS) do emu.keys[k] = v end
    attach_finalizer(emu)
    if opts.keys then emu:set_keys(opts.keys) end
    return emu
end

return M
