-- luacheck: globals ngx
-- Local imitation of the four providers' campaign APIs, run inside nginx
-- (see nginx.conf.in and tests/helpers/emulator.lua). Each provider of the
-- library's registry lives under its own path prefix (/vapi, /smallest,
-- /autocalls, /atlas); the control endpoints under /_emu/.
--
-- Every provider request is recorded (also rejected ones and ones hit by a
-- fault), then either processed normally or answered as a queued fault says.
local json = require "emu.json"
local store = require "emu.store"
local faults = require "emu.faults"
local control = require "emu.control"

local unpack = table.unpack or unpack -- luacheck: ignore 143

local M = {}

-- One module per provider of the library's registry (campaign.providers):
-- emu/<name>.lua.
M.PROVIDERS = {}
local prefixes = {}
for name in pairs(require "campaign.providers") do
    M.PROVIDERS[name] = require("emu." .. name)
    prefixes[#prefixes + 1] = "/" .. name
end
table.sort(prefixes)
local NOT_EMULATED = "not an emulated provider; use " .. table.concat(prefixes, ", ") .. " or /_emu"

local JSON_TYPE = "application/json; charset=utf-8"

function M.init_worker()
    -- Ids must differ between runs and between emulators started together.
    math.randomseed(math.floor(ngx.now() * 1000) + ngx.worker.pid() * 7919)
end

local function presented_key(p, headers)
    if p.auth == "api-key" then
        local v = headers["api-key"]
        return type(v) == "string" and v or nil
    end
    local v = headers["authorization"]
    if type(v) ~= "string" then return nil end
    return v:match("^[Bb][Ee][Aa][Rr][Ee][Rr] +(.-)%s*$")
end

-- Handlers answer {status, body = table or string, text = JSON text,
-- headers?}; this turns that into {status, headers, body = string}.
local function finish(r)
    local headers = r.headers or {}
    local body = r.body
    if r.text then
        body = r.text
        headers["Content-Type"] = headers["Content-Type"] or JSON_TYPE
    elseif type(body) == "table" then
        body = json.encode(body)
        headers["Content-Type"] = headers["Content-Type"] or JSON_TYPE
    end
    return { status = r.status, headers = headers, body = body or "" }
end

-- Route, then authenticate, then let the handler validate and act.
local function dispatch(p, req)
    for _, route in ipairs(p.routes) do
        local m = { req.path:find(route[2]) }
        if m[1] and route[1] == req.method then
            if not store.key_accepted(p.name, presented_key(p, req.headers)) then
                return finish(p.unauthorized())
            end
            local params = {}
            for i = 3, #m do
                params[#params + 1] = ngx.unescape_uri(m[i])
            end
            return finish(route[3](req, unpack(params)))
        end
    end
    return finish(p.route_not_found(req.method, req.path))
end

local function provider_request(name, p, path)
    local method = ngx.req.get_method()
    local body = control.read_body()
    local headers = ngx.req.get_headers(1000)
    ngx.update_time()
    local rec = {
        provider = name,
        method = method,
        path = path,
        query = ngx.var.args or "",
        headers = headers,
        body = body,
        connection = tonumber(ngx.var.connection),
        connection_requests = tonumber(ngx.var.connection_requests),
        time = ngx.now(),
    }
    store.note_connection(rec.connection)
    -- Over the rate limit: the provider's 429, before anything else.
    local f = store.over_limit(name, rec.time)
    if f then
        rec.limited = true
    else
        f = store.take_fault(name, method, path)
    end
    if f then
        rec.fault = f.name or true
    end
    local seq, gen = store.record(rec)

    local normal
    if not f or faults.needs_processing(f) then
        local ctype = headers["content-type"]
        normal = dispatch(p, {
            method = method,
            path = path,
            body = body,
            is_json = type(ctype) == "string" and ctype:lower():find("json", 1, true) ~= nil,
            args = ngx.req.get_uri_args(1000),
            headers = headers,
        })
    end
    return faults.respond(f, normal, p, seq, gen)
end

function M.handle()
    -- request_uri is the raw target as sent (still percent-encoded).
    local target = ngx.var.request_uri:gsub("^[hH][tT][tT][pP][sS]?://[^/]*", "")
    local raw_path = target:match("^[^?]*")
    if raw_path == "/_emu" or raw_path:sub(1, 6) == "/_emu/" then
        return control.handle(raw_path:sub(6), M.PROVIDERS)
    end
    local name, rest = raw_path:match("^/([^/]+)(.*)$")
    local p = name and M.PROVIDERS[name]
    if not p then
        return faults.send({
            status = 404,
            headers = { ["Content-Type"] = JSON_TYPE },
            body = json.encode({
                error = NOT_EMULATED,
            }),
        })
    end
    return provider_request(name, p, rest)
end

return M
