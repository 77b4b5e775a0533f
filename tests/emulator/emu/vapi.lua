-- Vapi (api.vapi.ai): /v2/campaign and the legacy /campaign.
-- Shapes from VapiAI's OpenAPI extract (shared/providers/schemas/vapi.json):
-- create, PATCH and DELETE answer a Campaign; GET /v2/campaign[/{id}] answer
-- CampaignSummary (no customers, dialPlan, calls or counters); the legacy GET
-- paths answer the full Campaign. Errors are NestJS-style.
local json = require "emu.json"
local util = require "emu.util"
local store = require "emu.store"

local P = { name = "vapi", auth = "bearer" }

local ORG_ID = "00000000-0000-4000-8000-00000000a001"

local function err(status, message, error_name)
    return {
        status = status,
        body = { message = message, error = error_name or util.reason(status), statusCode = status },
    }
end

local function bad_request(messages)
    return err(400, json.array(messages), "Bad Request")
end

local function not_found()
    return err(404, "Campaign not found", "Not Found")
end

function P.unauthorized()
    return err(401,
        "Invalid Key. Hot tip, you may be using the private key instead of the public key, or vice versa.",
        "Unauthorized")
end

function P.route_not_found(method, path)
    return err(404, "Cannot " .. method .. " " .. (path == "" and "/" or path), "Not Found")
end

-- Body for a fault that gives only a status.
function P.default_error(status)
    if status == 429 then
        return { message = "ThrottlerException: Too Many Requests", statusCode = 429 }
    end
    return err(status, util.reason(status)).body
end

local COUNTERS = {
    "callsCounterScheduled", "callsCounterQueued", "callsCounterInProgress",
    "callsCounterEndedVoicemail", "callsCounterEnded",
}

-- CampaignSummary properties, as in the spec (it has no workflowId).
local SUMMARY_FIELDS = {
    "status", "endedReason", "name", "assistantId", "squadId", "phoneNumberId",
    "schedulePlan", "maxConcurrency", "assistantOverrides", "squadOverrides",
    "server", "serverMessages", "predialPlan", "id", "orgId", "createdAt", "updatedAt",
}

local UPDATABLE = {
    name = true, assistantId = true, workflowId = true, squadId = true,
    phoneNumberId = true, dialPlan = true, schedulePlan = true, status = true,
}

local function customer_count(c)
    local n = 0
    if type(c.customers) == "table" then n = n + #c.customers end
    if type(c.dialPlan) == "table" then
        for _, entry in ipairs(c.dialPlan) do
            if type(entry) == "table" and type(entry.customers) == "table" then
                n = n + #entry.customers
            end
        end
    end
    return n
end

local function summary(c, with_counters)
    local s = {}
    for _, k in ipairs(SUMMARY_FIELDS) do
        s[k] = c[k]
    end
    if with_counters then
        s.contactCounters = {
            pending = customer_count(c), dispatched = 0, completed = 0,
            failed = 0, skipped = 0, predialFailed = 0,
        }
        s.callMetrics = { dialed = 0, connected = 0 }
    end
    return s
end

local function create(req)
    local b = util.body_object(req)
    if not b or type(b.name) ~= "string" then
        return bad_request({ "name must be a string" })
    end
    local now = util.iso(nil, 3)
    local c = util.copy(b)
    c.id = util.uuid()
    c.orgId = ORG_ID
    c.status = util.is_null(b.schedulePlan) and "in-progress" or "scheduled"
    c.createdAt = now
    c.updatedAt = now
    c.calls = json.object()
    for _, k in ipairs(COUNTERS) do c[k] = 0 end
    local text = store.put_campaign("vapi", c.id, { seq = store.next_number("vapi"), data = c })
    if not text then
        return err(500, "Internal server error")
    end
    return { status = 201, text = text }
end

local function list(v2)
    return function(req)
        local a = req.args
        local page = tonumber(a.page or 1)
        local limit = tonumber(a.limit)
        local messages = {}
        if not page or page < 1 then messages[#messages + 1] = "page must not be less than 1" end
        if a.limit ~= nil and (not limit or limit < 0) then
            messages[#messages + 1] = "limit must not be less than 0"
        end
        if limit and limit > 1000 then messages[#messages + 1] = "limit must not be greater than 1000" end
        local order = a.sortOrder or "DESC"
        if order ~= "ASC" and order ~= "DESC" then
            messages[#messages + 1] = "sortOrder must be one of the following values: ASC, DESC"
        end
        if #messages > 0 then return bad_request(messages) end
        page = math.floor(page)
        -- Documented default 100; a test may set a smaller default or a cap.
        limit = store.page_size("vapi", limit and math.floor(limit), 100)

        local entries = store.list_campaigns("vapi")
        local matched = {}
        for _, e in ipairs(entries) do
            local c = e.data
            if (not a.id or c.id == a.id) and (not a.status or c.status == a.status) then
                matched[#matched + 1] = e
            end
        end
        table.sort(matched, function(x, y)
            if order == "ASC" then return x.seq < y.seq end
            return x.seq > y.seq
        end)
        local with_counters = a.includeCounters == "true"
        local items = {}
        for i, e in ipairs(matched) do
            items[i] = v2 and summary(e.data, with_counters) or e.data
        end
        return {
            status = 200,
            body = {
                results = util.paginate(items, page, limit),
                metadata = {
                    itemsPerPage = limit, totalItems = #items, currentPage = page,
                    totalPages = limit > 0 and math.ceil(#items / limit) or 0,
                    hasNextPage = limit > 0 and page * limit < #items,
                },
            },
        }
    end
end

local function get(v2)
    return function(req, id)
        if not v2 then
            local text = store.campaign_text("vapi", id)
            if not text then return not_found() end
            return { status = 200, text = text }
        end
        local e = store.get_campaign("vapi", id)
        if not e then return not_found() end
        return { status = 200, body = summary(e.data, req.args.includeCounters == "true") }
    end
end

local function update(req, id)
    local b, ok = util.optional_body_object(req)
    if not ok then
        return bad_request({ "body must be a JSON object" })
    end
    local messages = {}
    for _, k in ipairs(util.keys_sorted(b)) do
        if not UPDATABLE[k] then
            messages[#messages + 1] = "property " .. k .. " should not exist"
        end
    end
    if b.name ~= nil and type(b.name) ~= "string" then
        messages[#messages + 1] = "name must be a string"
    end
    if b.status ~= nil and b.status ~= "ended" and b.status ~= "cancelled" then
        messages[#messages + 1] = "status must be one of the following values: ended, cancelled"
    end
    if #messages > 0 then return bad_request(messages) end

    local e = store.get_campaign("vapi", id)
    if not e then return not_found() end
    local c = e.data
    local before = c.status
    for k, v in pairs(b) do
        if v == json.null then c[k] = nil else c[k] = v end
    end
    if b.status and before ~= b.status and (before == "scheduled" or before == "in-progress") then
        c.endedReason = "campaign." .. before .. ".ended-by-user"
    end
    c.updatedAt = util.iso(nil, 3)
    local text = store.put_campaign("vapi", id, e)
    if not text then
        return err(500, "Internal server error")
    end
    return { status = 200, text = text }
end

local function delete(_, id)
    local text = store.campaign_text("vapi", id)
    if not text then return not_found() end
    store.delete_campaign("vapi", id)
    return { status = 200, text = text }
end

P.routes = {
    { "POST", "^/v2/campaign/?$", create },
    { "GET", "^/v2/campaign/?$", list(true) },
    { "GET", "^/v2/campaign/([^/]+)/?$", get(true) },
    { "PATCH", "^/v2/campaign/([^/]+)/?$", update },
    { "DELETE", "^/v2/campaign/([^/]+)/?$", delete },
    { "POST", "^/campaign/?$", create },
    { "GET", "^/campaign/?$", list(false) },
    { "GET", "^/campaign/([^/]+)/?$", get(false) },
    { "PATCH", "^/campaign/([^/]+)/?$", update },
    { "DELETE", "^/campaign/([^/]+)/?$", delete },
}

return P
