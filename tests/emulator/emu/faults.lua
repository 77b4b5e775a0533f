-- luacheck: globals ngx
-- Fault objects: validation, building the response a fault asks for, and
-- sending responses (normally, slowly, cut short or not at all).
local json = require "emu.json"
local store = require "emu.store"

local M = {}

local JSON_TYPE = "application/json; charset=utf-8"

local ACTIONS = { drop = true, reset_mid_body = true, trickle = true, redirect = true }

-- Accepted fields and their Lua types after JSON decoding ("any": any value).
local FIELDS = {
    name = "string", provider = "string", method = "string", path = "string",
    times = "number", after = "boolean", status = "number", headers = "table",
    body = "string", json = "any", body_size = "number", delay = "number",
    action = "string", location = "string", trickle_bytes = "number",
    trickle_interval = "number", reset_after = "number", hold = "number",
}

local function whole(n)
    return n % 1 == 0
end

-- Returns nil when f is a valid fault, else a message.
function M.validate(f, providers)
    if type(f) ~= "table" or json.is_array(f) then
        return "a fault must be a JSON object"
    end
    for k, v in pairs(f) do
        local t = FIELDS[k]
        if not t then
            return "unknown fault field: " .. tostring(k)
        end
        if t ~= "any" and type(v) ~= t then
            return k .. " must be a " .. (t == "table" and "JSON object" or t)
        end
    end
    if f.provider and not providers[f.provider] then
        return "unknown provider: " .. f.provider
    end
    if f.path and not pcall(string.find, "", f.path) then
        return "path is not a valid Lua pattern: " .. f.path
    end
    if f.times and (f.times == 0 or not whole(f.times)) then
        return "times must be a non-zero integer (negative: unlimited)"
    end
    if f.status and (not whole(f.status) or f.status < 100 or f.status > 999) then
        return "status must be an integer between 100 and 999"
    end
    if f.action and not ACTIONS[f.action] then
        return "action must be one of drop, reset_mid_body, trickle, redirect"
    end
    local bodies = 0
    for _, k in ipairs({ "body", "json", "body_size" }) do
        if f[k] ~= nil then bodies = bodies + 1 end
    end
    if bodies > 1 then
        return "give at most one of body, json, body_size"
    end
    if f.body_size and (f.body_size < 0 or not whole(f.body_size)) then
        return "body_size must be a non-negative integer"
    end
    if f.delay and f.delay < 0 then
        return "delay must not be negative"
    end
    if f.hold and f.hold < 0 then
        return "hold must not be negative"
    end
    if f.trickle_bytes and (f.trickle_bytes < 1 or not whole(f.trickle_bytes)) then
        return "trickle_bytes must be a positive integer"
    end
    if f.trickle_interval and f.trickle_interval < 0 then
        return "trickle_interval must not be negative"
    end
    if f.reset_after and (f.reset_after < 0 or not whole(f.reset_after)) then
        return "reset_after must be a non-negative integer"
    end
    if f.headers then
        for k, v in pairs(f.headers) do
            local ok = type(v) == "string" or type(v) == "number"
            if type(v) == "table" then
                ok = true
                for _, x in ipairs(v) do
                    if type(x) ~= "string" and type(x) ~= "number" then ok = false end
                end
            end
            if not ok then
                return "header " .. tostring(k) .. " must be a string, a number or a list of them"
            end
        end
    end
    if f.method then
        f.method = f.method:upper()
    end
    return nil
end

local function has_response(f)
    return f.status ~= nil or f.body ~= nil or f.json ~= nil or f.body_size ~= nil
end

-- Whether the request is processed normally (campaign created, ...) before
-- the fault applies: with after=true, and whenever the fault needs the
-- normal response (delay, hold or headers only, trickle or reset_mid_body
-- without a response of their own).
function M.needs_processing(f)
    if f.after then return true end
    if f.action == "drop" or f.action == "redirect" or f.status == 444 then return false end
    return not has_response(f)
end

-- A body of exactly n bytes; valid JSON ({"padding":"xxx..."}) from 14 bytes.
local function padding(n)
    if n < 14 then
        return string.rep("x", n)
    end
    return '{"padding":"' .. string.rep("x", n - 14) .. '"}'
end

local function header(headers, name)
    for k, v in pairs(headers) do
        if k:lower() == name then return v end
    end
    return nil
end

-- The response to send: {status, headers = {name = value}, body = string}.
function M.build(f, normal, provider)
    if not f then return normal end
    local resp
    if has_response(f) or f.action == "redirect" then
        local status = f.status or (f.action == "redirect" and 302) or 200
        local body, ctype
        if f.json ~= nil then
            body, ctype = json.encode(f.json), JSON_TYPE
        elseif f.body ~= nil then
            body = f.body
            if body ~= "" then ctype = JSON_TYPE end
        elseif f.body_size then
            body, ctype = padding(f.body_size), JSON_TYPE
        elseif status >= 400 then
            local retry_after = f.headers and tonumber(header(f.headers, "retry-after"))
            body, ctype = json.encode(provider.default_error(status, retry_after)), JSON_TYPE
        else
            body = ""
        end
        resp = { status = status, headers = {}, body = body }
        if ctype then resp.headers["Content-Type"] = ctype end
        if f.action == "redirect" then
            resp.headers["Location"] = f.location or ngx.var.request_uri
        end
    else
        resp = normal
    end
    for k, v in pairs(f.headers or {}) do
        for existing in pairs(resp.headers) do
            if existing:lower() == k:lower() then resp.headers[existing] = nil end
        end
        resp.headers[k] = v
    end
    return resp
end

local function set_headers(resp, length)
    ngx.status = resp.status
    local explicit_length = false
    for k, v in pairs(resp.headers) do
        if k:lower() == "content-length" then explicit_length = true end
        if type(v) == "table" then
            local list = {}
            for i, x in ipairs(v) do list[i] = tostring(x) end
            ngx.header[k] = list
        else
            ngx.header[k] = tostring(v)
        end
    end
    if length or not explicit_length then
        ngx.header["Content-Length"] = length or #resp.body
    end
end

function M.send(resp)
    set_headers(resp)
    if resp.body ~= "" then
        ngx.print(resp.body)
    else
        ngx.send_headers()
    end
end

local function trickle(resp, f)
    local size = f.trickle_bytes or 10
    local interval = f.trickle_interval or 0.2
    set_headers(resp)
    ngx.send_headers()
    ngx.flush(true)
    local body = resp.body
    for i = 1, #body, size do
        ngx.sleep(interval)
        if not ngx.print(body:sub(i, i + size - 1)) or not ngx.flush(true) then
            return -- the client went away
        end
    end
end

local function reset_mid_body(resp, f)
    local body = resp.body
    local sent = f.reset_after or math.floor(#body / 2)
    if sent > #body then sent = #body end
    local declared = #body
    if declared <= sent then declared = sent + 100 end
    set_headers(resp, declared)
    ngx.send_headers()
    if sent > 0 then ngx.print(body:sub(1, sent)) end
    ngx.flush(true)
    return ngx.exit(444)
end

-- Sends the answer to provider request `seq` (recorded in generation
-- `gen`): the normal response, or what fault f asks for.
function M.respond(f, normal, provider, seq, gen)
    local resp
    local drop = f and (f.action == "drop" or f.status == 444)
    if not drop then
        resp = M.build(f, normal, provider)
    end
    store.set_status(seq, drop and 444 or resp.status)
    if f and f.hold then
        store.hold(f.hold)
    end
    if f and f.delay and f.delay > 0 then
        ngx.sleep(f.delay)
    end
    store.answered(seq, gen)
    if drop then
        return ngx.exit(444)
    end
    local action = f and f.action
    if action == "trickle" then
        return trickle(resp, f)
    elseif action == "reset_mid_body" then
        return reset_mid_body(resp, f)
    end
    return M.send(resp)
end

return M
