-- luacheck: globals ngx
-- Control endpoints under /_emu/ (no auth), used by tests/helpers/emulator.lua.
local json = require "emu.json"
local store = require "emu.store"
local faults = require "emu.faults"

local M = {}

local function reply(status, value)
    faults.send({
        status = status,
        headers = { ["Content-Type"] = "application/json; charset=utf-8" },
        body = type(value) == "string" and value or json.encode(value),
    })
end

local function read_body()
    ngx.req.read_body()
    local body = ngx.req.get_body_data()
    if not body then
        local file = ngx.req.get_body_file()
        if file then
            local fh = io.open(file, "rb")
            if fh then
                body = fh:read("*a")
                fh:close()
            end
        end
    end
    return body or ""
end
M.read_body = read_body

local function post_faults(providers)
    local body = read_body()
    local value, err = json.decode(body)
    if value == nil then
        return reply(400, { error = "invalid JSON: " .. tostring(err) })
    end
    local list = body:find("^%s*%[") and value or { value }
    for i, f in ipairs(list) do
        local problem = faults.validate(f, providers)
        if problem then
            return reply(400, { error = "fault " .. i .. ": " .. problem })
        end
    end
    return reply(200, { queued = store.add_faults(list) })
end

local function post_keys(providers)
    local map = json.decode_object(read_body())
    if not map then
        return reply(400, { error = "body must be a JSON object {provider = key or [keys]}" })
    end
    for k, v in pairs(map) do
        if not providers[k] then
            return reply(400, { error = "unknown provider: " .. tostring(k) })
        end
        local ok = type(v) == "string"
        if type(v) == "table" then
            ok = true
            for _, x in ipairs(v) do
                if type(x) ~= "string" then ok = false end
            end
        end
        if not ok then
            return reply(400, { error = "key for " .. k .. " must be a string or a list of strings" })
        end
    end
    return reply(200, store.set_keys(map))
end

-- {provider = {rate = N, retry_after = S}} sets a limit, {provider = false}
-- lifts it.
local function post_limits(providers)
    local map = json.decode_object(read_body())
    if not map then
        return reply(400, { error = "body must be a JSON object {provider = {rate, retry_after}}" })
    end
    for k, v in pairs(map) do
        if not providers[k] then
            return reply(400, { error = "unknown provider: " .. tostring(k) })
        end
        if v ~= false and (type(v) ~= "table" or type(v.rate) ~= "number" or v.rate <= 0
            or (v.retry_after ~= nil and (type(v.retry_after) ~= "number" or v.retry_after < 0))) then
            return reply(400, { error = "limit for " .. k .. " must be false or {rate > 0, retry_after >= 0}" })
        end
    end
    for k, v in pairs(map) do store.set_limit(k, v or nil) end
    return reply(200, store.limits())
end

-- {provider = {default = n, max = n}} sets page sizes, {provider = false}
-- restores the documented ones.
local function post_paging(providers)
    local map = json.decode_object(read_body())
    if not map then
        return reply(400, { error = "body must be a JSON object {provider = {default, max}}" })
    end
    for k, v in pairs(map) do
        if not providers[k] then
            return reply(400, { error = "unknown provider: " .. tostring(k) })
        end
        local ok = v == false or type(v) == "table"
        if type(v) == "table" then
            for field, n in pairs(v) do
                if (field ~= "default" and field ~= "max") or type(n) ~= "number" or n < 1 or n % 1 ~= 0 then
                    ok = false
                end
            end
        end
        if not ok then
            return reply(400, { error = "paging for " .. k .. " must be false or {default, max} (integers >= 1)" })
        end
    end
    for k, v in pairs(map) do store.set_paging(k, v or nil) end
    return reply(200, store.all_paging())
end

local function campaigns(providers)
    local wanted = ngx.var.arg_provider
    local out = {}
    for name in pairs(providers) do
        if not wanted or wanted == name then
            local list = json.array()
            for _, e in ipairs(store.list_campaigns(name)) do
                list[#list + 1] = e.data
            end
            out[name] = list
        end
    end
    return reply(200, out)
end

-- sub: the path after "/_emu", e.g. "/requests".
function M.handle(sub, providers)
    local route = ngx.req.get_method() .. " " .. (sub:gsub("/$", ""))
    if route == "GET /requests" then
        return reply(200, store.requests_json(tonumber(ngx.var.arg_since)))
    elseif route == "POST /reset" then
        read_body()
        store.reset()
        return reply(200, { ok = true })
    elseif route == "POST /release" then
        read_body()
        return reply(200, { held = store.release() })
    elseif route == "POST /faults" then
        return post_faults(providers)
    elseif route == "GET /faults" then
        return reply(200, store.faults())
    elseif route == "DELETE /faults" then
        store.clear_faults()
        return reply(200, { ok = true })
    elseif route == "GET /stats" then
        return reply(200, store.stats())
    elseif route == "GET /keys" then
        return reply(200, store.keys())
    elseif route == "POST /keys" then
        return post_keys(providers)
    elseif route == "POST /limits" then
        return post_limits(providers)
    elseif route == "GET /limits" then
        return reply(200, store.limits())
    elseif route == "POST /paging" then
        return post_paging(providers)
    elseif route == "GET /paging" then
        return reply(200, store.all_paging())
    elseif route == "GET /campaigns" then
        return campaigns(providers)
    elseif route == "GET /health" then
        return reply(200, { ok = true })
    end
    return reply(404, { error = "unknown control endpoint: " .. route })
end

return M
