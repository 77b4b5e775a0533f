-- Atlas (api.youratlas.com/v1/api): /campaign and /agent.
-- Campaigns are Azure-Table-style entities: PartitionKey (the account),
-- RowKey (the campaign id), Timestamp, odata.etag, then the fields sent.
-- Errors are {statusCode, error, message}. Auth header: api-key.
local json = require "emu.json"
local util = require "emu.util"
local store = require "emu.store"

local P = { name = "atlas", auth = "api-key" }

local ACCOUNT = "emulator-account-0001"

-- Server-side counters that a full update keeps.
local COUNTERS = { "SuccessRequest", "TotalRequest", "TotalTransfers" }

local function err(status, text)
    return {
        status = status,
        body = { statusCode = status, error = util.reason(status), message = text },
    }
end

function P.unauthorized()
    return err(401, "Invalid or missing API key")
end

function P.route_not_found(method, path)
    return err(404, "Cannot " .. method .. " " .. (path == "" and "/" or path))
end

function P.default_error(status)
    return err(status, util.reason(status)).body
end

local function not_found()
    return err(404, "Campaign not found")
end

local function validate(b)
    if not b then
        return "Request body must be a JSON object"
    end
    local problems = {}
    if type(b.name) ~= "string" or b.name == "" then
        problems[#problems + 1] = "name is required"
    end
    if b.campaignType == nil or b.campaignType == json.null then
        problems[#problems + 1] = "campaignType is required"
    elseif b.campaignType ~= "0" and b.campaignType ~= "1" then
        problems[#problems + 1] = "campaignType must be one of the following values: 0, 1"
    end
    if type(b.TemplateId) ~= "string" or b.TemplateId == "" then
        problems[#problems + 1] = "TemplateId is required"
    end
    if #problems > 0 then
        return table.concat(problems, ", ")
    end
    return nil
end

-- Stamps Timestamp and the weak ETag the way Azure Table storage writes them.
local function stamp(entity)
    local ts = util.iso(nil, 7)
    entity.Timestamp = ts
    entity["odata.etag"] = "W/\"datetime'" .. (ts:gsub(":", "%%3A")) .. "'\""
end

local function entity_from(b, id, previous)
    local e = {}
    for k, v in pairs(b) do e[k] = v end
    e.PartitionKey = ACCOUNT
    e.RowKey = id
    for _, k in ipairs(COUNTERS) do
        e[k] = previous and previous[k] or 0
    end
    if e.IsActive == nil then
        e.IsActive = previous and previous.IsActive or false
    end
    stamp(e)
    return e
end

local function create(req)
    local b = util.body_object(req)
    local problem = validate(b)
    if problem then return err(400, problem) end
    local id = util.uuid()
    local e = entity_from(b, id)
    if not store.put_campaign("atlas", id, { seq = store.next_number("atlas"), data = e }) then
        return err(500, "Internal server error")
    end
    return { status = 201, body = e }
end

local function replace(req, id)
    local b = util.body_object(req)
    local problem = validate(b)
    if problem then return err(400, problem) end
    local entry = store.get_campaign("atlas", id)
    if not entry then return not_found() end
    entry.data = entity_from(b, id, entry.data)
    store.put_campaign("atlas", id, entry)
    return { status = 200, body = entry.data }
end

local function list()
    local items = json.array()
    for _, e in ipairs(store.list_campaigns("atlas")) do
        items[#items + 1] = e.data
    end
    return { status = 200, body = items }
end

local function get(_, id)
    local entry = store.get_campaign("atlas", id)
    if not entry then return not_found() end
    return { status = 200, body = entry.data }
end

local function delete(_, id)
    local entry = store.get_campaign("atlas", id)
    if not entry then return not_found() end
    store.delete_campaign("atlas", id)
    return { status = 200, body = entry.data }
end

local function set_status(req, id)
    local b = util.body_object(req)
    if not b or type(b.enabled) ~= "boolean" then
        return err(400, "enabled must be a boolean value")
    end
    local entry = store.get_campaign("atlas", id)
    if not entry then return not_found() end
    entry.data.IsActive = b.enabled
    stamp(entry.data)
    store.put_campaign("atlas", id, entry)
    return { status = 200, body = entry.data }
end

local function agent(req, campaign_id)
    local b, ok = util.optional_body_object(req)
    if not ok then return err(400, "Request body must be a JSON object") end
    if not store.get_campaign("atlas", campaign_id) then return not_found() end
    local out = util.copy(b)
    out.campaignId = campaign_id
    out.agentId = util.uuid()
    return { status = 200, body = out }
end

P.routes = {
    { "POST", "^/campaign/?$", create },
    { "GET", "^/campaign/?$", list },
    { "GET", "^/campaign/([^/]+)/?$", get },
    { "PUT", "^/campaign/([^/]+)/?$", replace },
    { "DELETE", "^/campaign/([^/]+)/?$", delete },
    { "PUT", "^/campaign/([^/]+)/status/?$", set_status },
    { "POST", "^/agent/new/([^/]+)/?$", agent },
    { "POST", "^/agent/([^/]+)/?$", agent },
}

return P
