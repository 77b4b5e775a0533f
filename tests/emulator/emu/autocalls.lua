-- Autocalls.ai (app.autocalls.ai/api): /user/campaign(s).
-- Laravel-style API: 422 validation errors {message, errors = {field = [..]}},
-- 401 {message = "Unauthenticated."}. Create answers the documented subset of
-- fields (seed 002); the list answers everything stored.
local json = require "emu.json"
local util = require "emu.util"
local store = require "emu.store"

local P = { name = "autocalls", auth = "bearer" }

local WEEKDAYS = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
}
local IS_WEEKDAY = {}
for _, d in ipairs(WEEKDAYS) do IS_WEEKDAY[d] = true end

-- Fields of the create response, as documented.
local CREATE_FIELDS = {
    "id", "name", "status", "max_calls_in_parallel", "mark_complete_when_no_leads",
    "allowed_hours_start_time", "allowed_hours_end_time", "allowed_days",
    "max_retries", "retry_interval", "created_at", "updated_at",
}

local function message(status, text)
    return { status = status, body = { message = text } }
end

function P.unauthorized()
    return message(401, "Unauthenticated.")
end

function P.route_not_found(_, path)
    return message(404, "The route " .. (path:gsub("^/", "")) .. " could not be found.")
end

local DEFAULT_MESSAGES = {
    [429] = "Too Many Attempts.",
    [500] = "Server Error",
    [503] = "Service Unavailable",
}

function P.default_error(status)
    return { message = DEFAULT_MESSAGES[status] or util.reason(status) }
end

local function not_found()
    return message(404, "Campaign not found")
end

---------------------------------------------------------------- validation
-- A tiny Laravel-like validator: collects messages per field, in field order.

local Validator = {}
Validator.__index = Validator

local function validator()
    return setmetatable({ order = {}, errors = {} }, Validator)
end

function Validator:add(field, text)
    if not self.errors[field] then
        self.errors[field] = json.array()
        self.order[#self.order + 1] = field
    end
    local list = self.errors[field]
    list[#list + 1] = text
end

function Validator:failed()
    return #self.order > 0
end

function Validator:response()
    local first = self.errors[self.order[1]][1]
    local more = -1
    for _, f in ipairs(self.order) do more = more + #self.errors[f] end
    if more > 0 then
        first = first .. string.format(" (and %d more error%s)", more, more > 1 and "s" or "")
    end
    return { status = 422, body = { message = first, errors = self.errors } }
end

local function label(field)
    return (field:gsub("_", " "))
end

local function absent(v)
    return v == nil or v == json.null
end

-- Laravel's integer rule also accepts numeric strings.
local function as_integer(v)
    if util.is_integer(v) then return v end
    if type(v) == "string" and v:find("^%-?%d+$") then return tonumber(v) end
    return nil
end

local function as_boolean(v)
    if v == true or v == 1 or v == "1" then return true end
    if v == false or v == 0 or v == "0" then return false end
    return nil
end

function Validator:required_string(b, field, max)
    local v = b[field]
    if absent(v) or v == "" then
        self:add(field, "The " .. label(field) .. " field is required.")
    elseif type(v) ~= "string" then
        self:add(field, "The " .. label(field) .. " field must be a string.")
    elseif max and #v > max then
        self:add(field, string.format("The %s field must not be greater than %d characters.", label(field), max))
    end
end

function Validator:integer(b, field, required, min, max)
    local v = b[field]
    if absent(v) then
        if required then self:add(field, "The " .. label(field) .. " field is required.") end
        return nil
    end
    local n = as_integer(v)
    if not n then
        self:add(field, "The " .. label(field) .. " field must be an integer.")
    elseif min and n < min then
        self:add(field, string.format("The %s field must be at least %d.", label(field), min))
    elseif max and n > max then
        self:add(field, string.format("The %s field must not be greater than %d.", label(field), max))
    end
    return n
end

function Validator:boolean(b, field)
    local v = b[field]
    if absent(v) then return nil end
    local x = as_boolean(v)
    if x == nil then
        self:add(field, "The " .. label(field) .. " field must be true or false.")
    end
    return x
end

function Validator:time(b, field)
    local v = b[field]
    if absent(v) then return nil end
    local h, m
    if type(v) == "string" then h, m = v:match("^(%d%d):(%d%d)$") end
    if not h or tonumber(h) > 23 or tonumber(m) > 59 then
        self:add(field, "The " .. label(field) .. " field must match the format H:i.")
        return nil
    end
    return v
end

function Validator:string(b, field, max)
    local v = b[field]
    if absent(v) then return nil end
    if type(v) ~= "string" then
        self:add(field, "The " .. label(field) .. " field must be a string.")
    elseif max and #v > max then
        self:add(field, string.format("The %s field must not be greater than %d characters.", label(field), max))
    end
    return v
end

function Validator:list(b, field)
    local v = b[field]
    if absent(v) then return nil end
    if not util.is_list(v) then
        self:add(field, "The " .. label(field) .. " field must be an array.")
        return nil
    end
    return v
end

---------------------------------------------------------------- handlers

local function create(req)
    local b = util.body_object(req) or {}
    local v = validator()
    v:required_string(b, "name", 255)
    local assistant_id = v:integer(b, "assistant_id", true)
    v:string(b, "timezone")
    local parallel = v:integer(b, "max_calls_in_parallel", false, 1, 10)
    local start_time = v:time(b, "allowed_hours_start_time")
    local end_time = v:time(b, "allowed_hours_end_time")
    local days = v:list(b, "allowed_days")
    if days then
        local seen = {}
        for i, d in ipairs(days) do
            local key = "allowed_days." .. (i - 1)
            if not IS_WEEKDAY[d] then
                v:add(key, "The selected " .. key .. " is invalid.")
            elseif seen[d] then
                v:add(key, "The " .. key .. " field has a duplicate value.")
            end
            seen[d] = true
        end
    end
    local max_retries = v:integer(b, "max_retries", false, 1, 5)
    local retry_interval = v:integer(b, "retry_interval", false, 10, 4320)
    local on_voicemail = v:boolean(b, "retry_on_voicemail")
    local on_goal = v:boolean(b, "retry_on_goal_incomplete")
    v:string(b, "goal_completion_variable", 255)
    local complete = v:boolean(b, "mark_complete_when_no_leads")
    local phones = v:list(b, "phone_number_ids")
    if phones then
        local seen = {}
        for i, p in ipairs(phones) do
            local key = "phone_number_ids." .. (i - 1)
            if not as_integer(p) then
                v:add(key, "The " .. key .. " field must be an integer.")
            elseif seen[p] then
                v:add(key, "The " .. key .. " field has a duplicate value.")
            end
            seen[p] = true
        end
    end
    if v:failed() then return v:response() end

    local now = util.iso(nil, 6)
    local id = store.next_number("autocalls")
    local c = {
        id = id,
        name = b.name,
        status = "draft",
        assistant_id = assistant_id,
        timezone = b.timezone,
        max_calls_in_parallel = parallel or 3,
        mark_complete_when_no_leads = complete or false,
        allowed_hours_start_time = (start_time or "00:00") .. ":00",
        allowed_hours_end_time = (end_time or "23:59") .. ":00",
        allowed_days = json.array(days and util.copy(days) or util.copy(WEEKDAYS)),
        max_retries = max_retries or 3,
        retry_interval = retry_interval or 60,
        retry_on_voicemail = on_voicemail or false,
        retry_on_goal_incomplete = on_goal or false,
        goal_completion_variable = b.goal_completion_variable,
        phone_number_ids = phones,
        created_at = now,
        updated_at = now,
    }
    if not store.put_campaign("autocalls", id, { seq = id, data = c }) then
        return message(500, "Server Error")
    end
    local data = {}
    for _, k in ipairs(CREATE_FIELDS) do data[k] = c[k] end
    return { status = 201, body = { message = "Campaign created successfully", data = data } }
end

local function list()
    local items = json.array()
    for _, e in ipairs(store.list_campaigns("autocalls")) do
        items[#items + 1] = e.data
    end
    return { status = 200, body = { data = items } }
end

local function delete(_, id)
    if not store.get_campaign("autocalls", id) then return not_found() end
    store.delete_campaign("autocalls", id)
    return message(200, "Campaign deleted successfully")
end

local function update_status(req)
    local b = util.body_object(req) or {}
    local v = validator()
    local id = v:integer(b, "campaign_id", true)
    if absent(b.action) then
        v:add("action", "The action field is required.")
    elseif b.action ~= "start" and b.action ~= "stop" then
        v:add("action", "The selected action is invalid.")
    end
    if v:failed() then return v:response() end

    local e = store.get_campaign("autocalls", id)
    if not e then return not_found() end
    e.data.status = b.action == "start" and "active" or "paused"
    e.data.updated_at = util.iso(nil, 6)
    store.put_campaign("autocalls", id, e)
    return {
        status = 200,
        body = {
            message = b.action == "start" and "Campaign started successfully"
                or "Campaign stopped successfully",
            data = { id = e.data.id, status = e.data.status },
        },
    }
end

P.routes = {
    { "POST", "^/user/campaign/?$", create },
    { "GET", "^/user/campaigns/?$", list },
    { "DELETE", "^/user/campaign/([^/]+)/?$", delete },
    { "POST", "^/user/campaigns/update%-status/?$", update_status },
}

return P
