-- Smallest AI Atoms (api.smallest.ai/atoms/v1): /campaign.
-- Shapes from the Atoms OpenAPI extract (shared/providers/schemas/
-- smallest-atoms.json). Create answers the raw document (agentId, audienceId);
-- list and get answer nested agent/audience objects. Start and pause take
-- effect at once (the real service queues them).
local json = require "emu.json"
local util = require "emu.util"
local store = require "emu.store"

local P = { name = "smallest", auth = "bearer" }

local ORGANIZATION = "64a0c0ffee0000000000a001"
local CREATED_BY = "64a0c0ffee0000000000b002"

local STATUSES = {
    draft = true, scheduled = true, processing = true, running = true,
    paused = true, completed = true, failed = true,
}

local function err(status, messages)
    return { status = status, body = { status = false, errors = json.array(messages) } }
end

local function not_found()
    return err(404, { "Campaign not found" })
end

function P.unauthorized()
    return err(401, { "Unauthorized" })
end

function P.route_not_found(method, path)
    return err(404, { "Cannot " .. method .. " " .. (path == "" and "/" or path) })
end

-- The 429 body carries retry_after (seconds), as documented.
function P.default_error(status, retry_after)
    if status == 429 then
        return {
            status = false, error = "Rate limit exceeded", code = "RATE_LIMIT_EXCEEDED",
            retry_after = retry_after or 60,
        }
    end
    return err(status, { util.reason(status) }).body
end

local function validate_create(b)
    local errors = {}
    if not b then
        return { "name is required", "audienceId is required", "agentId is required" }
    end
    for _, k in ipairs({ "name", "audienceId", "agentId" }) do
        if b[k] == nil or b[k] == json.null or b[k] == "" then
            errors[#errors + 1] = k .. " is required"
        elseif type(b[k]) ~= "string" then
            errors[#errors + 1] = k .. " must be a string"
        end
    end
    if b.description ~= nil and type(b.description) ~= "string" then
        errors[#errors + 1] = "description must be a string"
    end
    if b.phoneNumberIds ~= nil then
        local ok = util.is_list(b.phoneNumberIds)
        if ok then
            for _, v in ipairs(b.phoneNumberIds) do
                if type(v) ~= "string" then ok = false end
            end
        end
        if not ok then errors[#errors + 1] = "phoneNumberIds must be an array of strings" end
    end
    if b.scheduledAt ~= nil and not (type(b.scheduledAt) == "string"
            and b.scheduledAt:find("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d")) then
        errors[#errors + 1] = "scheduledAt must be a valid ISO 8601 date"
    end
    if b.maxRetries ~= nil and not (util.is_integer(b.maxRetries)
            and b.maxRetries >= 0 and b.maxRetries <= 10) then
        errors[#errors + 1] = "maxRetries must be an integer between 0 and 10"
    end
    if b.retryDelay ~= nil and not (util.is_integer(b.retryDelay)
            and b.retryDelay >= 1 and b.retryDelay <= 1440) then
        errors[#errors + 1] = "retryDelay must be an integer between 1 and 1440"
    end
    return errors
end

local function create(req)
    local b = util.body_object(req)
    local errors = validate_create(b)
    if #errors > 0 then return err(400, errors) end
    local now = util.iso(nil, 3)
    local c = {
        _id = util.object_id(),
        name = b.name,
        description = b.description,
        organization = ORGANIZATION,
        agentId = b.agentId,
        createdBy = CREATED_BY,
        audienceId = b.audienceId,
        phoneNumberIds = b.phoneNumberIds,
        participantsCount = 0,
        scheduledAt = b.scheduledAt,
        maxRetries = b.maxRetries or 3,
        retryDelay = b.retryDelay or 15,
        retryAttempts = 0,
        status = b.scheduledAt and "scheduled" or "draft",
        createdAt = now,
        updatedAt = now,
    }
    if not store.put_campaign("smallest", c._id,
            { seq = store.next_number("smallest"), data = c, events = json.array() }) then
        return err(500, { "Internal server error" })
    end
    return { status = 201, body = { status = true, data = c } }
end

-- The GET shape: agentId/audienceId become populated objects.
local function populated(c)
    local out = util.copy(c)
    out.agentId, out.audienceId = nil, nil
    out.agent = { _id = c.agentId, name = "Emulated agent", workflowType = "single_prompt" }
    out.audience = { _id = c.audienceId, name = "Emulated audience" }
    return out
end

local function list(req)
    local a = req.args
    local page = tonumber(a.page or 1)
    local size = tonumber(a.offset)
    local field = a.sortField or "createdAt"
    local order = a.sortOrder or "desc"
    local errors = {}
    if not page or page < 1 or page % 1 ~= 0 then errors[#errors + 1] = "page must be a positive integer" end
    if a.offset ~= nil and (not size or size < 1 or size % 1 ~= 0) then
        errors[#errors + 1] = "offset must be a positive integer"
    end
    if field ~= "createdAt" and field ~= "updatedAt" then
        errors[#errors + 1] = "sortField must be one of createdAt, updatedAt"
    end
    if order ~= "asc" and order ~= "desc" then errors[#errors + 1] = "sortOrder must be one of asc, desc" end
    if a.status ~= nil and not STATUSES[a.status] then errors[#errors + 1] = "Invalid status" end
    if #errors > 0 then return err(400, errors) end
    -- Documented default 5; a test may set another default or a cap.
    size = store.page_size("smallest", size, 5)

    local all = store.list_campaigns("smallest")
    local search = type(a.search) == "string" and a.search:lower() or nil
    local matched = {}
    for _, e in ipairs(all) do
        local c = e.data
        if (not a.status or c.status == a.status)
                and (not search or c.name:lower():find(search, 1, true)) then
            matched[#matched + 1] = e
        end
    end
    table.sort(matched, function(x, y)
        local vx, vy = x.data[field], y.data[field]
        if vx == vy then vx, vy = x.seq, y.seq end
        if order == "asc" then return vx < vy end
        return vx > vy
    end)
    local items = {}
    for i, e in ipairs(matched) do items[i] = populated(e.data) end
    local total = #items
    return {
        status = 200,
        body = {
            status = true,
            data = {
                campaigns = util.paginate(items, page, size),
                pagination = {
                    total = total, page = page, offset = size,
                    hasMore = page * size < total,
                    totalPages = math.ceil(total / size),
                },
                totalCampaignCount = #all,
            },
        },
    }
end

local function get(_, id)
    local e = store.get_campaign("smallest", id)
    if not e then return not_found() end
    return {
        status = 200,
        body = {
            status = true,
            data = {
                campaign = populated(e.data),
                events = json.array(e.events),
                metrics = { total_participants = 0, contacts_called = 0, contacts_connected = 0 },
            },
        },
    }
end

local function delete(_, id)
    if not store.get_campaign("smallest", id) then return not_found() end
    store.delete_campaign("smallest", id)
    return { status = 200, body = { status = true } }
end

local function transition(e, status, action)
    local now = util.iso(nil, 3)
    e.data.status = status
    e.data.updatedAt = now
    if status == "paused" then e.data.pausedAt = now end
    e.events = json.array(e.events)
    e.events[#e.events + 1] = {
        _id = util.object_id(), triggerSource = "api", eventAction = action,
        createdAt = now, updatedAt = now,
    }
end

local function start(_, id)
    local e = store.get_campaign("smallest", id)
    if not e then return not_found() end
    transition(e, "running", "start")
    store.put_campaign("smallest", id, e)
    return {
        status = 202,
        body = {
            status = true,
            data = { message = "Campaign start queued", taskId = util.uuid(), campaignId = id },
        },
    }
end

local function pause(_, id)
    local e = store.get_campaign("smallest", id)
    if not e then return not_found() end
    transition(e, "paused", "pause")
    store.put_campaign("smallest", id, e)
    return { status = 200, body = { status = true } }
end

P.routes = {
    { "POST", "^/campaign/?$", create },
    { "GET", "^/campaign/?$", list },
    { "GET", "^/campaign/([^/]+)/?$", get },
    { "DELETE", "^/campaign/([^/]+)/?$", delete },
    { "POST", "^/campaign/([^/]+)/start/?$", start },
    { "POST", "^/campaign/([^/]+)/pause/?$", pause },
}

return P
