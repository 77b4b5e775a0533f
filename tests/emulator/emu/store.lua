-- luacheck: globals ngx
-- State in the "emu" shared dict. With one worker and no yield between a
-- read and its write, the read-modify-write sequences here are atomic.
--
-- Keys:
--   seq, r:N, s:N       request counter, recorded request N (JSON without its
--                       closing brace), response status of request N
--   answers, a:N        answers begun, the place of request N's answer among them
--   conn:ID, nconn      distinct connection ids seen, their number
--   faults              JSON array: the fault queue
--   keys                JSON object: accepted API keys per provider
--   c:P:ID, m:P:ID      campaign ID of provider P: its data, the rest
--   i:P, n:P            P's ids in creation order, P's campaign counter
--   limit:P, limit-tat:P  P's rate limit (JSON), when its next request is due
--   paging:P            P's page sizes (JSON {default, max}), when a test set them
local json = require "emu.json"

local dict = ngx.shared.emu

local M = {}

-- In the worker's memory (there is one worker): reset() bumps the
-- generation, so that an answer to a request from before a reset is not
-- counted after it; releases counts the calls to release(), which end the
-- `hold` of the requests held then (reset() ends them too).
local generation, releases, held = 0, 0, 0

-- The test key of each provider of the library's registry.
M.DEFAULT_KEYS = {}
for name in pairs(require "campaign.providers") do
    M.DEFAULT_KEYS[name] = name .. "-test-key"
end

local function put(key, value)
    local ok, err = dict:safe_set(key, value)
    if not ok then
        ngx.log(ngx.ERR, "emulator: cannot store ", key, " (", #value, " bytes): ", err)
    end
    return ok, err
end

function M.reset()
    dict:flush_all()
    dict:flush_expired(0)
    generation = generation + 1
    releases = releases + 1
end

---------------------------------------------------------------- requests

function M.note_connection(id)
    if dict:add("conn:" .. tostring(id), true) then
        dict:incr("nconn", 1, 0)
    end
end

-- Stores the request record; returns its seq and the generation to give
-- answered(). rec.under_way: the requests the emulator is working on (not
-- yet answered), this one included.
function M.record(rec)
    local seq = dict:incr("seq", 1, 0)
    rec.seq = seq
    rec.under_way = seq - (dict:get("answers") or 0)
    local text = json.encode(rec)
    -- Leave the object open: the response status is appended when listing.
    if not put("r:" .. seq, text:sub(1, -2)) then
        rec.body = ""
        rec.body_dropped = true
        put("r:" .. seq, json.encode(rec):sub(1, -2))
    end
    return seq, generation
end

function M.set_status(seq, status)
    dict:set("s:" .. seq, status)
end

-- The emulator begins its answer to request seq (or drops it): its place
-- among the answers since the last reset.
function M.answered(seq, gen)
    if gen ~= generation then return end
    dict:set("a:" .. seq, dict:incr("answers", 1, 0))
end

-- Waits, yielding, until release() or reset() is called, or `seconds` pass.
-- Returns true when released.
function M.hold(seconds)
    local mark = releases
    held = held + 1
    ngx.update_time()
    local deadline = ngx.now() + seconds
    while releases == mark and ngx.now() < deadline do
        ngx.sleep(0.005)
        ngx.update_time()
    end
    held = held - 1
    return releases ~= mark
end

-- Ends every hold under way; returns how many requests were held.
function M.release()
    releases = releases + 1
    return held
end

-- JSON array text of the records with seq > since.
function M.requests_json(since)
    local n = dict:get("seq") or 0
    local parts = {}
    for i = (since or 0) + 1, n do
        local r = dict:get("r:" .. i)
        if r then
            local st = dict:get("s:" .. i)
            local answered = dict:get("a:" .. i)
            parts[#parts + 1] = r .. ',"status":' .. (st and tostring(st) or "null")
                .. (answered and ',"answered":' .. answered or "") .. "}"
        end
    end
    return "[" .. table.concat(parts, ",") .. "]"
end

function M.stats()
    return {
        requests = dict:get("seq") or 0,
        connections = dict:get("nconn") or 0,
    }
end

---------------------------------------------------------------- faults

function M.faults()
    local raw = dict:get("faults")
    return raw and json.decode(raw) or json.array()
end

local function save_faults(list)
    if #list == 0 then
        dict:delete("faults")
    else
        put("faults", json.encode(json.array(list)))
    end
end

function M.add_faults(list)
    local q = M.faults()
    for _, f in ipairs(list) do
        q[#q + 1] = f
    end
    save_faults(q)
    return #q
end

function M.clear_faults()
    dict:delete("faults")
end

local function fault_matches(f, provider, method, path)
    if f.provider and f.provider ~= provider then return false end
    if f.method and f.method:upper() ~= method then return false end
    if f.path then
        local ok, found = pcall(string.find, path, f.path)
        if not ok or not found then return false end
    end
    return true
end

-- Takes the first queued fault matching the request and uses up one of its
-- `times` (negative: unlimited). Returns the fault or nil.
function M.take_fault(provider, method, path)
    local raw = dict:get("faults")
    if not raw then return nil end
    local list = json.decode(raw)
    for i, f in ipairs(list) do
        if fault_matches(f, provider, method, path) then
            local times = f.times or 1
            if times >= 0 then
                times = times - 1
                if times <= 0 then
                    table.remove(list, i)
                else
                    f.times = times
                end
                save_faults(list)
            end
            return f
        end
    end
    return nil
end

---------------------------------------------------------------- keys

-- Rate limits: {rate = requests per second, retry_after = seconds}. A
-- request is let through when it is at most one interval early on the
-- provider's schedule (GCRA with a burst of one, as nginx's limit_req with
-- burst=1 nodelay); one that is earlier gets the answer over_limit returns.
function M.set_limit(provider, limit)
    if limit then
        put("limit:" .. provider, json.encode(limit))
    else
        dict:delete("limit:" .. provider)
    end
    dict:delete("limit-tat:" .. provider)
end

function M.limits()
    local out = {}
    for _, key in ipairs(dict:get_keys(0)) do
        local provider = key:match("^limit:(.*)$")
        if provider then out[provider] = json.decode(dict:get(key)) end
    end
    return out
end

-- Page sizes of a paginated list: {default = n, max = n}, either optional.
-- `max` caps what a client asks, as a server may (the page answered says
-- the size it used); nil restores the provider's documented sizes.
function M.set_paging(provider, paging)
    if paging then
        put("paging:" .. provider, json.encode(paging))
    else
        dict:delete("paging:" .. provider)
    end
end

function M.paging(provider)
    local text = dict:get("paging:" .. provider)
    return text and json.decode(text) or {}
end

function M.all_paging()
    local out = {}
    for _, key in ipairs(dict:get_keys(0)) do
        local provider = key:match("^paging:(.*)$")
        if provider then out[provider] = json.decode(dict:get(key)) end
    end
    return out
end

-- The page size to answer with: asked, else the default; at most max.
function M.page_size(provider, asked, documented_default)
    local paging = M.paging(provider)
    local size = asked or paging.default or documented_default
    if paging.max and size > paging.max then size = paging.max end
    return size
end

-- nil, or the 429 fault for a request of provider at time now.
function M.over_limit(provider, now)
    local text = dict:get("limit:" .. provider)
    if not text then return nil end
    local limit = json.decode(text)
    local interval = 1 / limit.rate
    local tat = math.max(dict:get("limit-tat:" .. provider) or 0, now)
    if tat - now > interval then
        return { status = 429, headers = { ["Retry-After"] = tostring(limit.retry_after or 1) },
            name = "rate_limit" }
    end
    dict:set("limit-tat:" .. provider, tat + interval)
    return nil
end

function M.keys()
    local raw = dict:get("keys")
    return raw and json.decode(raw) or M.DEFAULT_KEYS
end

function M.set_keys(map)
    local keys = {}
    for k, v in pairs(M.keys()) do keys[k] = v end
    for k, v in pairs(map) do keys[k] = v end
    put("keys", json.encode(keys))
    return keys
end

function M.key_accepted(provider, key)
    if type(key) ~= "string" then return false end
    local accepted = M.keys()[provider]
    if type(accepted) == "string" then
        return key == accepted
    elseif type(accepted) == "table" then
        for _, k in ipairs(accepted) do
            if key == k then return true end
        end
    end
    return false
end

---------------------------------------------------------------- campaigns
-- A campaign entry is { seq = creation number, data = provider object, ...
-- emulator-only state }. data is stored apart ("c:P:ID") so its JSON text
-- can be sent as is (a Vapi campaign can hold 10,000 customers); the rest
-- goes to "m:P:ID".

function M.next_number(provider)
    return dict:incr("n:" .. provider, 1, 0)
end

local function index(provider)
    local raw = dict:get("i:" .. provider)
    return raw and json.decode(raw) or json.array()
end

-- The stored JSON text of a campaign's data, or nil.
function M.campaign_text(provider, id)
    return dict:get("c:" .. provider .. ":" .. tostring(id))
end

function M.get_campaign(provider, id)
    id = tostring(id)
    local text = dict:get("c:" .. provider .. ":" .. id)
    if not text then return nil end
    local entry = json.decode(dict:get("m:" .. provider .. ":" .. id) or "{}")
    entry.data = json.decode(text)
    return entry
end

-- Inserts or replaces; returns the data's JSON text, or nil, error.
function M.put_campaign(provider, id, entry)
    id = tostring(id)
    local key = provider .. ":" .. id
    local is_new = dict:get("c:" .. key) == nil
    local meta = {}
    for k, v in pairs(entry) do
        if k ~= "data" then meta[k] = v end
    end
    local text = json.encode(entry.data)
    local ok, err = put("c:" .. key, text)
    if not ok then return nil, err end
    put("m:" .. key, json.encode(meta))
    if is_new then
        local ids = index(provider)
        ids[#ids + 1] = id
        put("i:" .. provider, json.encode(ids))
    end
    return text
end

function M.delete_campaign(provider, id)
    id = tostring(id)
    dict:delete("c:" .. provider .. ":" .. id)
    dict:delete("m:" .. provider .. ":" .. id)
    local ids = index(provider)
    for i = #ids, 1, -1 do
        if ids[i] == id then table.remove(ids, i) end
    end
    put("i:" .. provider, json.encode(json.array(ids)))
end

-- Entries in creation order.
function M.list_campaigns(provider)
    local out = {}
    for _, id in ipairs(index(provider)) do
        local e = M.get_campaign(provider, id)
        if e then out[#out + 1] = e end
    end
    return out
end

return M
