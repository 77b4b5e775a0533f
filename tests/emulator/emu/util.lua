-- luacheck: globals ngx
-- Small helpers shared by the provider modules.
local json = require "emu.json"

local M = {}

local REASONS = {
    [200] = "OK", [201] = "Created", [202] = "Accepted", [204] = "No Content",
    [301] = "Moved Permanently", [302] = "Found", [303] = "See Other",
    [307] = "Temporary Redirect", [308] = "Permanent Redirect",
    [400] = "Bad Request", [401] = "Unauthorized", [403] = "Forbidden",
    [404] = "Not Found", [405] = "Method Not Allowed", [408] = "Request Timeout",
    [409] = "Conflict", [413] = "Payload Too Large", [415] = "Unsupported Media Type",
    [422] = "Unprocessable Entity", [429] = "Too Many Requests",
    [500] = "Internal Server Error", [502] = "Bad Gateway",
    [503] = "Service Unavailable", [504] = "Gateway Timeout",
}

function M.reason(status)
    return REASONS[status] or ("HTTP " .. tostring(status))
end

function M.now()
    ngx.update_time()
    return ngx.now()
end

-- ISO 8601 UTC with `digits` fractional digits (3: JavaScript, 6: Laravel,
-- 7: Azure Table storage).
function M.iso(t, digits)
    t = t or M.now()
    digits = digits or 3
    local sec = math.floor(t)
    local ms = math.floor((t - sec) * 1000 + 0.5)
    if ms > 999 then ms = 999 end
    local frac = string.format("%03d", ms) .. string.rep("0", digits - 3)
    return os.date("!%Y-%m-%dT%H:%M:%S", sec) .. "." .. frac .. "Z"
end

local function h16()
    return math.random(0, 0xffff)
end

function M.uuid()
    return string.format("%04x%04x-%04x-%04x-%04x-%04x%04x%04x",
        h16(), h16(), h16(),
        0x4000 + math.random(0, 0x0fff),
        0x8000 + math.random(0, 0x3fff),
        h16(), h16(), h16())
end

-- MongoDB ObjectId: 4 bytes of seconds, then random.
function M.object_id()
    return string.format("%08x%04x%04x%04x%04x", math.floor(M.now()),
        h16(), h16(), h16(), h16())
end

-- Shallow copy; nested tables are shared (they are never mutated in place).
function M.copy(t)
    local c = {}
    for k, v in pairs(t) do c[k] = v end
    return c
end

function M.is_null(v)
    return v == nil or v == json.null
end

function M.is_integer(v)
    return type(v) == "number" and v % 1 == 0 and v == v
        and v ~= math.huge and v ~= -math.huge
end

-- A JSON array (an empty table counts: cjson decodes [] as {}).
function M.is_list(v)
    if type(v) ~= "table" then return false end
    local mt = getmetatable(v)
    if mt and mt.__jsontype then return mt.__jsontype == "array" end
    return next(v) == nil or json.is_array(v)
end

function M.keys_sorted(t)
    local ks = {}
    for k in pairs(t) do ks[#ks + 1] = k end
    table.sort(ks)
    return ks
end

-- The request body as a JSON object, or nil when it is absent, is not JSON,
-- is not an object, or the Content-Type is not JSON (Express and Laravel
-- ignore bodies of other types).
function M.body_object(req)
    if req.body == "" or not req.is_json then
        return nil
    end
    return json.decode_object(req.body)
end

-- Like body_object but an empty body counts as {}; second value false when
-- a non-empty body is not a JSON object.
function M.optional_body_object(req)
    if req.body:find("^%s*$") then
        return {}, true
    end
    local b = M.body_object(req)
    if not b then
        return nil, false
    end
    return b, true
end

function M.paginate(list, page, size)
    local out = json.array()
    local first = (page - 1) * size + 1
    for i = first, math.min(#list, first + size - 1) do
        out[#out + 1] = list[i]
    end
    return out
end

return M
