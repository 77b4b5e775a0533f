-- Self-check of the emulator: drives every route of every provider and every
-- fault with curl. Run through smoke.sh (any of lua5.1, lua5.4, luajit):
--   lua5.4 tests/emulator/smoke.lua
local here = debug.getinfo(1, "S").source:sub(2):match("^(.*)/[^/]*$") or "."
package.path = here .. "/../?.lua;" .. here .. "/../../lua/?.lua;" .. package.path

local emulator = require "helpers.emulator"
local socket = require "socket"
local cjson = require "cjson"

local failures, checks = 0, 0

local function check(cond, what, extra)
    checks = checks + 1
    if not cond then
        failures = failures + 1
        io.stderr:write("FAIL: " .. what .. (extra and ("\n      " .. tostring(extra)) or "") .. "\n")
    end
    return cond
end

local tmp = os.tmpname()

local function shquote(s)
    return "'" .. (tostring(s):gsub("'", "'\\''")) .. "'"
end

-- curl one request; returns {status, headers (lowercase map), body, json, rc, time, size}
local function curl(method, url, opts)
    opts = opts or {}
    local args = { "curl -sS -X " .. method, "-o " .. tmp .. ".body", "-D " .. tmp .. ".hdr",
        "-w '%{http_code} %{time_total} %{size_download}'", "--max-time " .. (opts.max_time or 20) }
    for k, v in pairs(opts.headers or {}) do
        args[#args + 1] = "-H " .. shquote(k .. ": " .. v)
    end
    if opts.data then
        local f = assert(io.open(tmp .. ".req", "wb"))
        f:write(opts.data)
        f:close()
        args[#args + 1] = "--data-binary @" .. tmp .. ".req"
    end
    args[#args + 1] = shquote(url)
    local p = io.popen(table.concat(args, " ") .. " 2>/dev/null; echo \" $?\"")
    local out = p:read("*a")
    p:close()
    local code, t, size, rc = out:match("(%d+) ([%d%.]+) (%d+)%s+(%d+)%s*$")
    local r = { status = tonumber(code), time = tonumber(t), size = tonumber(size), rc = tonumber(rc), headers = {} }
    local f = io.open(tmp .. ".body", "rb")
    r.body = f and f:read("*a") or ""
    if f then f:close() end
    f = io.open(tmp .. ".hdr", "rb")
    local hdr = f and f:read("*a") or ""
    if f then f:close() end
    for name, value in hdr:gmatch("([%w%-]+):%s*([^\r\n]*)") do
        r.headers[name:lower()] = value
    end
    local ok, v = pcall(cjson.decode, r.body)
    if ok then r.json = v end
    os.remove(tmp .. ".body")
    os.remove(tmp .. ".hdr")
    os.remove(tmp .. ".req")
    return r
end

local function json_headers(auth)
    local h = { ["Content-Type"] = "application/json" }
    for k, v in pairs(auth or {}) do h[k] = v end
    return h
end

local UUID4 = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-4%x%x%x%-[89ab]%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"

local emu = emulator.start()
local t_start = socket.gettime()
print("emulator on port " .. emu.port .. " (" .. _VERSION .. (jit and (", " .. jit.version) or "") .. ")")

local function bearer(key) return { Authorization = "Bearer " .. key } end

---------------------------------------------------------------- vapi
do
    local V = emu:url("vapi")
    local auth = bearer(emu.keys.vapi)
    local r = curl("POST", V .. "/v2/campaign", { headers = json_headers(auth),
        data = '{"name":"Q2","assistantId":"asst-1","phoneNumberId":"pn-1",' ..
               '"customers":[{"number":"+14155550100"}],"serverMessages":[]}' })
    check(r.status == 201, "vapi create 201", r.status .. " " .. r.body)
    local c = r.json or {}
    check(type(c.id) == "string" and c.id:find(UUID4), "vapi id is a uuid v4", c.id)
    check(c.status == "in-progress" and c.orgId and c.createdAt and c.updatedAt, "vapi create fields", r.body)
    check(r.body:find('"calls":{}', 1, true) and r.body:find('"serverMessages":[]', 1, true),
        "vapi calls {} and empty array kept", r.body)
    check(c.callsCounterScheduled == 0 and c.callsCounterEnded == 0 and c.assistantId == "asst-1",
        "vapi counters and echo")
    check(r.headers["content-type"] == "application/json; charset=utf-8", "vapi content type")
    local id = c.id

    r = curl("POST", V .. "/v2/campaign", { headers = json_headers(auth),
        data = '{"name":"S","schedulePlan":{"earliestAt":"2030-01-01T00:00:00Z"}}' })
    check(r.status == 201 and r.json.status == "scheduled", "vapi scheduled status", r.body)

    r = curl("POST", V .. "/campaign", { headers = json_headers(auth), data = '{"name":"legacy"}' })
    check(r.status == 201 and r.json.name == "legacy", "vapi legacy create")

    r = curl("POST", V .. "/v2/campaign", { headers = json_headers(bearer("wrong")), data = '{"name":"x"}' })
    check(r.status == 401 and r.json.statusCode == 401 and r.json.error == "Unauthorized"
        and r.json.message:find("^Invalid Key%. Hot tip"), "vapi 401", r.body)
    r = curl("GET", V .. "/v2/campaign")
    check(r.status == 401, "vapi 401 without key")

    r = curl("POST", V .. "/v2/campaign", { headers = json_headers(auth), data = "[]" })
    check(r.status == 400 and r.json.message[1] == "name must be a string" and r.json.error == "Bad Request",
        "vapi 400 on non-object", r.body)
    r = curl("POST", V .. "/v2/campaign", { headers = json_headers(auth), data = '{"nam":"x"}' })
    check(r.status == 400, "vapi 400 without name")

    r = curl("GET", V .. "/v2/campaign", { headers = auth })
    check(r.status == 200 and #r.json.results == 3 and r.json.metadata.totalItems == 3
        and r.json.metadata.itemsPerPage == 100 and r.json.metadata.currentPage == 1, "vapi v2 list", r.body)
    check(r.json.results[3].id == id and r.json.results[3].customers == nil, "vapi v2 list: DESC, summaries")
    r = curl("GET", V .. "/v2/campaign?limit=1&page=2&sortOrder=ASC", { headers = auth })
    check(#r.json.results == 1 and r.json.results[1].name == "S", "vapi v2 list paging")
    r = curl("GET", V .. "/campaign", { headers = auth })
    check(r.status == 200 and #r.json.results == 3 and r.json.results[3].customers, "vapi legacy list full")

    r = curl("GET", V .. "/v2/campaign/" .. id .. "?includeCounters=true", { headers = auth })
    check(r.status == 200 and r.json.id == id and r.json.contactCounters.pending == 1, "vapi v2 get", r.body)
    r = curl("GET", V .. "/campaign/" .. id, { headers = auth })
    check(r.status == 200 and #r.json.customers == 1, "vapi legacy get")
    r = curl("GET", V .. "/v2/campaign/00000000-0000-4000-8000-000000000000", { headers = auth })
    check(r.status == 404 and r.json.message == "Campaign not found" and r.json.error == "Not Found"
        and r.json.statusCode == 404, "vapi 404", r.body)

    r = curl("PATCH", V .. "/v2/campaign/" .. id, { headers = json_headers(auth), data = '{"name":"Q3"}' })
    check(r.status == 200 and r.json.name == "Q3" and r.json.assistantId == "asst-1", "vapi patch merge", r.body)
    r = curl("PATCH", V .. "/campaign/" .. id, { headers = json_headers(auth), data = '{"status":"cancelled"}' })
    check(r.status == 200 and r.json.status == "cancelled"
        and r.json.endedReason == "campaign.in-progress.ended-by-user", "vapi cancel", r.body)
    r = curl("PATCH", V .. "/v2/campaign/" .. id, { headers = json_headers(auth), data = '{"customers":[]}' })
    check(r.status == 400 and r.json.message[1] == "property customers should not exist", "vapi patch 400")

    r = curl("DELETE", V .. "/v2/campaign/" .. id, { headers = auth })
    check(r.status == 200 and r.json.id == id, "vapi delete returns campaign")
    r = curl("DELETE", V .. "/campaign/" .. id, { headers = auth })
    check(r.status == 404, "vapi delete twice 404")

    r = curl("GET", V .. "/nope", { headers = auth })
    check(r.status == 404 and r.json.message == "Cannot GET /nope", "vapi unknown route", r.body)
end

---------------------------------------------------------------- smallest
do
    local S = emu:url("smallest")
    local auth = bearer(emu.keys.smallest)
    local r = curl("POST", S .. "/campaign", { headers = json_headers(auth),
        data = '{"name":"Spring","audienceId":"60d0fe4f5311236168a109ca","agentId":"60d0fe4f5311236168a109cb"}' })
    check(r.status == 201 and r.json.status == true, "smallest create 201", r.body)
    local d = r.json and r.json.data or {}
    check(type(d._id) == "string" and #d._id == 24 and d._id:find("^%x+$"), "smallest ObjectId", d._id)
    check(d.status == "draft" and d.maxRetries == 3 and d.retryDelay == 15 and d.retryAttempts == 0
        and d.participantsCount == 0 and d.organization and d.createdBy and d.agentId and d.audienceId,
        "smallest defaults", r.body)
    local id = d._id

    r = curl("POST", S .. "/campaign", { headers = json_headers(auth),
        data = '{"name":"Later","audienceId":"a","agentId":"b","scheduledAt":"2030-01-01T10:00:00.000Z",' ..
               '"maxRetries":0,"retryDelay":60}' })
    check(r.status == 201 and r.json.data.status == "scheduled" and r.json.data.maxRetries == 0, "smallest scheduled")

    r = curl("POST", S .. "/campaign", { headers = json_headers(auth), data = '{"name":"x"}' })
    check(r.status == 400 and r.json.status == false and #r.json.errors == 2, "smallest 400", r.body)
    r = curl("POST", S .. "/campaign", { headers = json_headers(bearer("nope")), data = "{}" })
    check(r.status == 401 and r.json.status == false and r.json.errors[1] == "Unauthorized", "smallest 401")

    r = curl("GET", S .. "/campaign?page=2&offset=1&sortOrder=desc", { headers = auth })
    check(r.status == 200 and #r.json.data.campaigns == 1 and r.json.data.campaigns[1]._id == id
        and r.json.data.pagination.total == 2 and r.json.data.pagination.totalPages == 2
        and r.json.data.pagination.hasMore == false and r.json.data.totalCampaignCount == 2,
        "smallest list paging", r.body)
    r = curl("GET", S .. "/campaign?status=scheduled&search=LAT", { headers = auth })
    check(#r.json.data.campaigns == 1 and r.json.data.campaigns[1].name == "Later", "smallest list filter")

    r = curl("GET", S .. "/campaign/" .. id, { headers = auth })
    check(r.status == 200 and r.json.data.campaign._id == id and r.json.data.campaign.agent._id
        and r.json.data.metrics, "smallest get", r.body)

    r = curl("POST", S .. "/campaign/" .. id .. "/start", { headers = auth })
    check(r.status == 202 and r.json.data.campaignId == id and r.json.data.taskId
        and r.json.data.message == "Campaign start queued", "smallest start", r.body)
    r = curl("GET", S .. "/campaign/" .. id, { headers = auth })
    check(r.json.data.campaign.status == "running", "smallest running")
    r = curl("POST", S .. "/campaign/" .. id .. "/pause", { headers = auth })
    check(r.status == 200 and r.json.status == true, "smallest pause")
    r = curl("GET", S .. "/campaign/" .. id, { headers = auth })
    check(r.json.data.campaign.status == "paused" and #r.json.data.events == 2, "smallest paused")

    r = curl("DELETE", S .. "/campaign/" .. id, { headers = auth })
    check(r.status == 200 and r.json.status == true, "smallest delete")
    r = curl("GET", S .. "/campaign/" .. id, { headers = auth })
    check(r.status == 404 and r.json.errors[1] == "Campaign not found", "smallest 404")
    r = curl("POST", S .. "/campaign/" .. id .. "/start", { headers = auth })
    check(r.status == 404, "smallest start 404")
end

---------------------------------------------------------------- autocalls
do
    local A = emu:url("autocalls")
    local auth = bearer(emu.keys.autocalls)
    local r = curl("POST", A .. "/user/campaign", { headers = json_headers(auth),
        data = '{"name":"Demo","assistant_id":42,"allowed_hours_start_time":"09:00",' ..
               '"allowed_hours_end_time":"17:00","mark_complete_when_no_leads":true}' })
    check(r.status == 201 and r.json.message == "Campaign created successfully", "autocalls create", r.body)
    local d = r.json and r.json.data or {}
    check(d.id == 1 and d.status == "draft" and d.max_calls_in_parallel == 3
        and d.allowed_hours_start_time == "09:00:00" and d.allowed_hours_end_time == "17:00:00"
        and #d.allowed_days == 7 and d.max_retries == 3 and d.retry_interval == 60
        and d.mark_complete_when_no_leads == true and d.created_at:find("%.%d%d%d%d%d%dZ$"),
        "autocalls fields", r.body)

    r = curl("POST", A .. "/user/campaign", { headers = json_headers(auth), data = '{"name":"D2","assistant_id":7}' })
    check(r.json.data.id == 2 and r.json.data.allowed_hours_start_time == "00:00:00"
        and r.json.data.allowed_hours_end_time == "23:59:00", "autocalls defaults")

    r = curl("POST", A .. "/user/campaign", { headers = json_headers(auth), data = '{}' })
    check(r.status == 422 and r.json.message == "The name field is required. (and 1 more error)"
        and r.json.errors.name[1] == "The name field is required."
        and r.json.errors.assistant_id[1] == "The assistant id field is required.", "autocalls 422", r.body)
    r = curl("POST", A .. "/user/campaign", { headers = json_headers(auth), data = '{"assistant_id":1}' })
    check(r.status == 422 and r.json.message == "The name field is required.", "autocalls 422 single")
    r = curl("GET", A .. "/user/campaigns", { headers = bearer("bad") })
    check(r.status == 401 and r.json.message == "Unauthenticated.", "autocalls 401")

    r = curl("GET", A .. "/user/campaigns", { headers = auth })
    check(r.status == 200 and #r.json.data == 2 and r.json.data[1].assistant_id == 42, "autocalls list")

    r = curl("POST", A .. "/user/campaigns/update-status", { headers = json_headers(auth),
        data = '{"campaign_id":1,"action":"start"}' })
    check(r.status == 200 and r.json.data.id == 1 and r.json.data.status == "active", "autocalls start", r.body)
    r = curl("POST", A .. "/user/campaigns/update-status", { headers = json_headers(auth),
        data = '{"campaign_id":1,"action":"stop"}' })
    check(r.status == 200 and r.json.data.status == "paused", "autocalls stop")
    r = curl("POST", A .. "/user/campaigns/update-status", { headers = json_headers(auth),
        data = '{"campaign_id":99,"action":"start"}' })
    check(r.status == 404 and r.json.message == "Campaign not found", "autocalls status 404")
    r = curl("POST", A .. "/user/campaigns/update-status", { headers = json_headers(auth),
        data = '{"campaign_id":1,"action":"go"}' })
    check(r.status == 422 and r.json.errors.action[1] == "The selected action is invalid.", "autocalls bad action")

    r = curl("DELETE", A .. "/user/campaign/2", { headers = auth })
    check(r.status == 200, "autocalls delete")
    r = curl("DELETE", A .. "/user/campaign/2", { headers = auth })
    check(r.status == 404 and r.json.message == "Campaign not found", "autocalls delete 404")
    r = curl("GET", A .. "/user/nothing", { headers = auth })
    check(r.status == 404 and r.json.message:find("could not be found"), "autocalls unknown route")
end

---------------------------------------------------------------- atlas
do
    local T = emu:url("atlas")
    local auth = { ["api-key"] = emu.keys.atlas }
    local body = '{"name":"Out","campaignType":"1","CallType":"2",' ..
        '"TemplateId":"6be44833-9133-4639-b6c9-425aee057c1c",' ..
        '"CompanyName":"Acme","TimeWindows":"[{\\"startHour\\":8}]"}'
    local r = curl("POST", T .. "/campaign", { headers = json_headers(auth), data = body })
    check(r.status == 201, "atlas create", r.status .. " " .. r.body)
    local e = r.json or {}
    check(e.PartitionKey and type(e.RowKey) == "string" and e.RowKey:find(UUID4) and e.Timestamp
        and e["odata.etag"] and e["odata.etag"]:find("^W/\"datetime'") and e.CompanyName == "Acme"
        and e.TimeWindows == '[{"startHour":8}]' and e.IsActive == false, "atlas entity", r.body)
    local id = e.RowKey

    r = curl("POST", T .. "/campaign", { headers = json_headers(auth), data = '{"name":"x"}' })
    check(r.status == 400 and r.json.statusCode == 400 and r.json.error == "Bad Request"
        and r.json.message:find("campaignType"), "atlas 400", r.body)
    r = curl("POST", T .. "/campaign", { headers = json_headers(bearer(emu.keys.atlas)), data = body })
    check(r.status == 401 and r.json.statusCode == 401, "atlas 401 with Bearer instead of api-key")

    r = curl("PUT", T .. "/campaign/" .. id, { headers = json_headers(auth),
        data = '{"name":"Out2","campaignType":"0","TemplateId":"t","Position":"bottom-right"}' })
    check(r.status == 200 and r.json.name == "Out2" and r.json.CompanyName == nil and r.json.RowKey == id
        and r.json.Position == "bottom-right", "atlas full update", r.body)
    r = curl("PUT", T .. "/campaign/" .. id .. "/status", { headers = json_headers(auth), data = '{"enabled":true}' })
    check(r.status == 200 and r.json.IsActive == true, "atlas enable", r.body)
    r = curl("PUT", T .. "/campaign/" .. id .. "/status", { headers = json_headers(auth), data = '{"enabled":"yes"}' })
    check(r.status == 400, "atlas enable 400")

    r = curl("GET", T .. "/campaign", { headers = auth })
    check(r.status == 200 and #r.json == 1 and r.json[1].RowKey == id, "atlas list is an array", r.body)
    r = curl("GET", T .. "/campaign/" .. id, { headers = auth })
    check(r.status == 200 and r.json.IsActive == true, "atlas get")

    r = curl("POST", T .. "/agent/new/" .. id, { headers = json_headers(auth), data = '{"TemplateId":"t"}' })
    check(r.status == 200 and r.json.campaignId == id and r.json.agentId:find(UUID4) and r.json.TemplateId == "t",
        "atlas agent/new", r.body)
    r = curl("POST", T .. "/agent/" .. id, { headers = auth })
    check(r.status == 200 and r.json.campaignId == id, "atlas agent with empty body")
    r = curl("POST", T .. "/agent/nope", { headers = json_headers(auth), data = "{}" })
    check(r.status == 404 and r.json.message == "Campaign not found", "atlas agent 404")

    r = curl("DELETE", T .. "/campaign/" .. id, { headers = auth })
    check(r.status == 200, "atlas delete")
    r = curl("GET", T .. "/campaign/" .. id, { headers = auth })
    check(r.status == 404 and r.json.statusCode == 404, "atlas 404")
end

---------------------------------------------------------------- recording, stats, keys
do
    local before = emu:stats()
    local list = emu:requests()
    check(#list == before.requests, "requests() length equals stats.requests")
    local first = list[1]
    check(first.seq == 1 and first.provider == "vapi" and first.method == "POST" and first.path == "/v2/campaign"
        and first.query == "" and first.headers.authorization == "Bearer vapi-test-key"
        and first.json and first.json.name == "Q2" and first.status == 201 and first.connection
        and first.connection_requests == 1, "recorded request fields")
    check(emu:count({ provider = "atlas", method = "post", path = "/campaign" }) == 3, "count filter")

    emu:reset()
    check(emu:stats().requests == 0 and emu:stats().connections == 0, "reset clears stats")
    local V = emu:url("vapi")
    local p = io.popen("curl -sS -o /dev/null -o /dev/null -H 'Authorization: Bearer vapi-test-key' "
        .. V .. "/v2/campaign " .. V .. "/v2/campaign?x=1")
    p:read("*a")
    p:close()
    local st = emu:stats()
    check(st.requests == 2 and st.connections == 1, "two requests on one connection", cjson.encode(st))
    list = emu:requests()
    check(list[2].connection_requests == 2 and list[2].connection == list[1].connection and list[2].query == "x=1",
        "keep-alive recorded")

    emu:set_keys({ vapi = { "k1", "k2" } })
    local r = curl("GET", V .. "/v2/campaign", { headers = bearer("k2") })
    check(r.status == 200, "replaced keys accepted")
    r = curl("GET", V .. "/v2/campaign", { headers = bearer("vapi-test-key") })
    check(r.status == 401, "old key rejected")
    emu:reset()
    r = curl("GET", V .. "/v2/campaign", { headers = bearer("vapi-test-key") })
    check(r.status == 200, "reset restores keys")

    -- 10,000 customers (about 0.6 MB)
    local customers = {}
    for i = 1, 10000 do
        customers[i] = string.format('{"number":"+1415555%04d","name":"Customer %d"}', i % 10000, i)
    end
    local big = '{"name":"Big","phoneNumberId":"pn","assistantId":"a","customers":[' ..
        table.concat(customers, ",") .. "]}"
    local t0 = socket.gettime()
    r = curl("POST", V .. "/v2/campaign", { headers = json_headers(bearer("vapi-test-key")), data = big })
    check(r.status == 201 and #r.json.customers == 10000, "10,000 customers accepted",
        string.format("%s in %.2f s", tostring(r.status), socket.gettime() - t0))
    local last = emu:last()
    check(#last.body == #big and #last.json.customers == 10000, "big body recorded whole")
    emu:reset()
end

---------------------------------------------------------------- faults
do
    local V = emu:url("vapi")
    local S = emu:url("smallest")
    local auth = json_headers(bearer(emu.keys.vapi))
    local create = '{"name":"f"}'

    emu:fault({ provider = "vapi", action = "drop" })
    local r = curl("POST", V .. "/v2/campaign", { headers = auth, data = create })
    check(r.rc == 52 and r.status == 0, "drop: empty reply", r.rc)
    check(#emu:campaigns("vapi") == 0, "drop without after: nothing created")

    emu:fault({ provider = "vapi", action = "drop", after = true })
    r = curl("POST", V .. "/v2/campaign", { headers = auth, data = create })
    check(r.rc == 52 and #emu:campaigns("vapi") == 1, "drop after=true: created, then dropped")

    emu:fault({ action = "reset_mid_body" })
    r = curl("POST", V .. "/v2/campaign", { headers = auth, data = create })
    check(r.rc == 18 and r.status == 201 and r.size > 0, "reset_mid_body: partial body", r.rc .. " " .. r.body)

    emu:fault({ provider = "vapi", status = 500, json = { message = "boom" }, action = "reset_mid_body",
        reset_after = 5 })
    r = curl("GET", V .. "/v2/campaign", { headers = auth })
    check(r.rc == 18 and r.status == 500 and r.body == '{"mes', "reset_mid_body with own body", r.body)

    emu:fault({ provider = "vapi", action = "trickle", json = { a = "0123456789" }, trickle_bytes = 4,
        trickle_interval = 0.1 })
    r = curl("GET", V .. "/v2/campaign", { headers = auth })
    check(r.status == 200 and r.body == '{"a":"0123456789"}' and r.time >= 0.45, "trickle", r.time)

    emu:fault({ provider = "vapi", delay = 1 })
    r = curl("POST", V .. "/v2/campaign", { headers = auth, data = create })
    check(r.status == 201 and r.time >= 1 and r.json.name == "f", "delay: slow but normal", r.time)

    emu:fault({ provider = "vapi", status = 429, headers = { ["Retry-After"] = "2" }, times = 2 })
    r = curl("POST", V .. "/v2/campaign", { headers = auth, data = create })
    check(r.status == 429 and r.headers["retry-after"] == "2" and r.json.statusCode == 429, "429 Retry-After", r.body)
    r = curl("POST", V .. "/v2/campaign", { headers = auth, data = create })
    check(r.status == 429, "times=2: second 429")
    r = curl("POST", V .. "/v2/campaign", { headers = auth, data = create })
    check(r.status == 201, "times=2: third is normal")

    emu:fault({ provider = "smallest", status = 429, headers = { ["Retry-After"] = 7 } })
    r = curl("GET", S .. "/campaign", { headers = bearer(emu.keys.smallest) })
    check(r.status == 429 and r.json.code == "RATE_LIMIT_EXCEEDED" and r.json.retry_after == 7,
        "smallest 429 body", r.body)

    emu:fault({ status = 503 })
    r = curl("GET", V .. "/v2/campaign", { headers = auth })
    check(r.status == 503 and r.json.statusCode == 503 and r.json.message == "Service Unavailable", "503", r.body)

    emu:fault({ provider = "vapi", method = "POST", path = "^/v2/campaign$", status = 201, body = "" })
    r = curl("GET", V .. "/v2/campaign", { headers = auth })
    check(r.status == 200, "fault not matched by method")
    r = curl("POST", V .. "/v2/campaign", { headers = auth, data = create })
    check(r.status == 201 and r.body == "" and r.headers["content-length"] == "0"
        and r.headers["content-type"] == nil, "empty 201")

    emu:fault({ status = 500, body = "<html><body>Oops</body></html>", headers = { ["Content-Type"] = "text/html" } })
    r = curl("GET", V .. "/v2/campaign", { headers = auth })
    check(r.status == 500 and r.headers["content-type"] == "text/html" and r.body:find("<html>"), "HTML 500")

    emu:fault({ action = "redirect", location = "http://127.0.0.1:9/elsewhere" })
    r = curl("GET", V .. "/v2/campaign", { headers = auth })
    check(r.status == 302 and r.headers["location"] == "http://127.0.0.1:9/elsewhere", "redirect")

    emu:fault({ body_size = 10 * 1024 * 1024 })
    r = curl("GET", V .. "/v2/campaign", { headers = auth })
    check(r.status == 200 and r.size == 10 * 1024 * 1024 and r.body:sub(1, 12) == '{"padding":"', "10 MB body")

    emu:fault({ provider = "vapi", after = true, status = 502 })
    r = curl("POST", V .. "/v2/campaign", { headers = auth, data = '{"name":"after"}' })
    local names = {}
    for _, c in ipairs(emu:campaigns("vapi")) do names[c.name] = true end
    check(r.status == 502 and names.after, "after=true: created, answered 502")

    emu:fault({ action = "drop", times = -1, provider = "atlas" })
    for _ = 1, 3 do
        r = curl("GET", emu:url("atlas") .. "/campaign")
        check(r.rc == 52, "unlimited fault")
    end
    check(#emu:faults() == 1, "unlimited fault stays queued")
    emu:clear_faults()
    check(#emu:faults() == 0, "clear_faults")

    local ok, err = pcall(emu.fault, emu, { acton = "drop" })
    check(not ok and tostring(err):find("unknown fault field"), "typo in a fault is rejected", err)

    local list = emu:requests()
    local statuses = {}
    for _, q in ipairs(list) do statuses[#statuses + 1] = tostring(q.status) end
    check(list[1].status == 444 and list[1].fault == true, "dropped request recorded", table.concat(statuses, ","))
    check(emu:stats().requests == #list, "faulted requests recorded")

    -- hold: answered when the test says; under_way and answered tell what
    -- was under way at once and which answer began first.
    emu:reset()
    emu:fault({ provider = "vapi", method = "GET", hold = 10, times = 2 })
    local held = {}
    for i = 1, 2 do
        held[i] = io.popen("curl -sS -o /dev/null -w '%{http_code}' --max-time 20 -H "
            .. shquote("Authorization: Bearer " .. emu.keys.vapi) .. " " .. shquote(V .. "/v2/campaign")
            .. " 2>/dev/null")
    end
    check(emu:wait({ method = "GET" }, 2) == 2, "hold: both requests arrive")
    r = curl("POST", V .. "/v2/campaign", { headers = auth, data = create })
    local reqs = emu:requests()
    check(r.status == 201 and reqs[3].under_way == 3 and reqs[3].answered == 1,
        "under_way, answered: a request while two are held", cjson.encode(reqs[3]))
    check(reqs[1].answered == nil and reqs[2].answered == nil, "held requests are not answered yet")
    check(emu:release() == 2, "release: two were held")
    for i = 1, 2 do
        check(held[i]:read("*a") == "200", "held request answered after release")
        held[i]:close()
    end
    reqs = emu:requests()
    check(reqs[1].answered and reqs[1].answered > 1 and reqs[2].answered and reqs[2].answered > 1,
        "answered after the create", cjson.encode(reqs))
    emu:fault({ provider = "vapi", hold = 0.3 })
    r = curl("GET", V .. "/v2/campaign", { headers = auth })
    check(r.status == 200 and r.time >= 0.3, "hold: the guard ends it without release", r.time)
    check(emu:release() == 0, "release: none held")
    local bad_hold = pcall(emu.fault, emu, { hold = -1 })
    check(not bad_hold, "hold must not be negative")
    emu:reset()
end

local elapsed = socket.gettime() - t_start
local t0 = socket.gettime()
emu:stop()
local stop_time = socket.gettime() - t0
emu:stop()
local r = curl("GET", emu.base .. "/_emu/health", { max_time = 2 })
check(r.rc ~= 0, "port closed after stop")
check(io.open(emu.prefix .. "/nginx.conf") == nil, "prefix removed")

-- Two at once.
local a, b = emulator.start(), emulator.start()
check(a.port ~= b.port, "two emulators: different ports")
check(curl("GET", a.base .. "/_emu/health").status == 200 and curl("GET", b.base .. "/_emu/health").status == 200,
    "two emulators answer")
a:stop()
check(curl("GET", b.base .. "/_emu/health").status == 200, "stopping one leaves the other")
b:stop()

os.remove(tmp)
print(string.format("%d checks, %d failures (checks took %.1f s, stop took %.3f s)", checks, failures,
    elapsed, stop_time))
os.exit(failures == 0 and 0 or 1)
