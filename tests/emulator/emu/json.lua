-- JSON for the emulator.
-- Debian's lua-cjson cannot tell an empty array from an empty object, and it
-- escapes "/" as "\/". Responses echo request fields, so decoding keeps empty
-- arrays (through dkjson when the text has one) and encoding is done here.
local cjson = require("cjson").new()
cjson.decode_invalid_numbers(false)

local has_dkjson, dkjson = pcall(require, "dkjson")

local M = {}

M.null = cjson.null
M.ARRAY = { __jsontype = "array" }
M.OBJECT = { __jsontype = "object" }

-- Marks t (or a new table) as a JSON array, so it encodes as [] when empty.
function M.array(t)
    return setmetatable(t or {}, M.ARRAY)
end

function M.object(t)
    return setmetatable(t or {}, M.OBJECT)
end

function M.is_array(t)
    local mt = getmetatable(t)
    if mt and mt.__jsontype then
        return mt.__jsontype == "array"
    end
    local n, max = 0, 0
    for k in pairs(t) do
        if type(k) ~= "number" or k < 1 or k % 1 ~= 0 then
            return false
        end
        n = n + 1
        if k > max then max = k end
    end
    return n > 0 and n == max
end

-- Replacement for every character JSON requires escaped (a table: gsub with
-- a table is much faster than with a function on MB-sized bodies).
local ESCAPES = {}
for i = 0, 31 do
    ESCAPES[string.char(i)] = string.format("\\u%04x", i)
end
ESCAPES["\127"] = "\\u007f"
ESCAPES['"'] = '\\"'
ESCAPES["\\"] = "\\\\"
ESCAPES["\b"] = "\\b"
ESCAPES["\f"] = "\\f"
ESCAPES["\n"] = "\\n"
ESCAPES["\r"] = "\\r"
ESCAPES["\t"] = "\\t"

-- cjson escapes "/" as "\/"; undo it. The leftmost "\/" is always an
-- escaped slash, never the end of an escaped backslash ("\\" precedes a
-- new escape or a plain character, and "/" is never plain).
local function unescape_slashes(e)
    if not e:find("\\/", 1, true) then
        return e
    end
    local parts, i = {}, 1
    while true do
        local j = e:find("\\/", i, true)
        if not j then
            parts[#parts + 1] = e:sub(i)
            return table.concat(parts)
        end
        parts[#parts + 1] = e:sub(i, j - 1)
        parts[#parts + 1] = "/"
        i = j + 2
    end
end

local function encode_string(s)
    if #s > 512 then
        -- Long strings (recorded bodies): cjson escapes in C.
        return unescape_slashes(cjson.encode(s))
    end
    if not s:find('[%c"\\]') then
        return '"' .. s .. '"'
    end
    return '"' .. (s:gsub('[%c"\\]', ESCAPES)) .. '"'
end
M.encode_string = encode_string

local function encode_number(n)
    if n ~= n or n == math.huge or n == -math.huge then
        return "null"
    end
    if n % 1 == 0 and n > -2^53 and n < 2^53 then
        return string.format("%d", n)
    end
    local s = string.format("%.14g", n)
    if tonumber(s) ~= n then
        s = string.format("%.17g", n)
    end
    return s
end

-- Appends the encoding of v to buf (buf.n: number of pieces so far).
local function encode_value(v, buf)
    local tv = type(v)
    local n = buf.n + 1
    if tv == "string" then
        buf[n] = encode_string(v)
    elseif tv == "number" then
        buf[n] = encode_number(v)
    elseif tv == "boolean" then
        buf[n] = v and "true" or "false"
    elseif tv == "table" then
        if M.is_array(v) then
            buf[n] = "["
            buf.n = n
            for i = 1, #v do
                if i > 1 then
                    buf.n = buf.n + 1
                    buf[buf.n] = ","
                end
                encode_value(v[i], buf)
            end
            n = buf.n + 1
            buf[n] = "]"
        else
            local keys = {}
            for k in pairs(v) do
                keys[#keys + 1] = tostring(k)
            end
            table.sort(keys)
            buf[n] = "{"
            buf.n = n
            for i = 1, #keys do
                local k = keys[i]
                local x = v[k]
                if x == nil then
                    x = v[tonumber(k)]
                end
                n = buf.n + 1
                buf[n] = (i > 1 and "," or "") .. encode_string(k) .. ":"
                buf.n = n
                encode_value(x, buf)
            end
            n = buf.n + 1
            buf[n] = "}"
        end
    else
        -- nil, cjson.null and anything unencodable
        buf[n] = "null"
    end
    buf.n = n
end

function M.encode(v)
    local buf = { n = 0 }
    encode_value(v, buf)
    return table.concat(buf, "", 1, buf.n)
end

-- Returns value or nil, error.
function M.decode(s)
    if type(s) ~= "string" then
        return nil, "not a string"
    end
    if has_dkjson and s:find("%[%s*%]") then
        local v, _, err = dkjson.decode(s, 1, cjson.null)
        if err then
            return nil, err
        end
        return v
    end
    local ok, v = pcall(cjson.decode, s)
    if not ok then
        return nil, v
    end
    return v
end

-- True when s holds a JSON object (cjson alone would also accept "[]").
function M.decode_object(s)
    if type(s) ~= "string" or not s:find("^%s*{") then
        return nil
    end
    local v = M.decode(s)
    if type(v) ~= "table" then
        return nil
    end
    return v
end

return M
