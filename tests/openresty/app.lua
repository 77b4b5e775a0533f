-- luacheck: globals ngx
-- Handlers of the test nginx (tests/openresty/nginx.conf.in). POST /run
-- takes one scenario as JSON and answers what came of it as JSON:
--
--   {provider = "vapi", base_url = "...", op = "create", args = {fields},
--    client = {timeout = 1, ...},         -- client options
--    transport = {pool_size = 4, ...},    -- OpenResty transport options
--    libcurl = true,                      -- campaign.client without a transport
--    init_client = true,                  -- the libcurl client made in init_worker
--    where = "timer" | "thread",          -- run it in ngx.timer.at / run_worker_thread
--    where = "every_worker",              -- run by every worker at once (in a timer)
--                                         --   -> {workers = {answer, ...}}
--    times = 3,                           -- the same call, that many times
--    threads = 4}                         -- by that many light threads sharing the client
--
--   -> {results = {{body = ..., err = {...}, elapsed = s}, ...}} or {raised = "message"}
--
-- With `request` instead: the OpenResty transport alone, called with that
-- request -> {resp = {status, headers, body}, err = {...}, elapsed = s}.
local cjson = require "cjson.safe"
local campaign = require "campaign"
local openresty = require "campaign.openresty"

local M = {}

local KEYS = {
  vapi = "vapi-test-key", smallest = "smallest-test-key",
  autocalls = "autocalls-test-key", atlas = "atlas-test-key",
}

-- Made in init_worker, where libcurl is allowed; used later in a request.
local init_client, init_error

-- The last scenario this worker ran for where = "every_worker".
local last_job

-- A worker cannot call another: with several, each polls the mailbox for a
-- scenario every worker is to run, and leaves its answer there.
local function poll(premature)
  if premature then return end
  local mailbox = ngx.shared.campaign_test
  local job = mailbox:get("job")
  if not job or job == last_job then return end
  last_job = job
  local s = cjson.decode(job)
  local ok, answer = xpcall(M.scenario, debug.traceback, s)
  mailbox:set("answer " .. s.job .. " " .. ngx.worker.id(),
    cjson.encode(ok and answer or { raised = tostring(answer) }))
end

function M.init_worker(emu_base)
  local ok, c = pcall(campaign.client, { provider = "vapi", api_key = KEYS.vapi,
    base_url = emu_base .. "/vapi", max_retries = 0 })
  if ok then init_client = c else init_error = c end
  if ngx.worker.count() > 1 then assert(ngx.timer.every(0.01, poll)) end
end

local function now()
  ngx.update_time()
  return ngx.now()
end

local function plain_error(err)
  if type(err) ~= "table" then return tostring(err) end
  return { kind = err.kind, message = err.message, text = tostring(err), status = err.status,
    outcome_unknown = err.outcome_unknown, attempts = err.attempts, errors = err.errors,
    retry_after = err.retry_after }
end

-- Runs the scenario; returns the answer table.
function M.scenario(s)
  local provider = s.provider or "vapi"
  local c
  if s.init_client then
    if not init_client then return { raised = "no init_worker client: " .. tostring(init_error) } end
    c = init_client
  else
    local opts = {}
    for k, v in pairs(s.client or {}) do opts[k] = v end
    opts.provider = provider
    opts.base_url = s.base_url
    if opts.api_key == nil then opts.api_key = KEYS[provider] end
    local ok, made
    if s.libcurl then
      ok, made = pcall(campaign.client, opts)
    else
      ok, made = pcall(openresty.client, opts, s.transport)
    end
    if not ok then return { raised = tostring(made) } end
    c = made
  end
  local results = {}
  if s.threads then
    -- `threads` light threads of this worker share the client, each making
    -- the call `times` times: results in the order the calls ended.
    local list = {}
    for _ = 1, s.threads do
      list[#list + 1] = ngx.thread.spawn(function()
        for _ = 1, s.times or 1 do
          local t0 = now()
          local pok, body, err = xpcall(c[s.op or "create"], debug.traceback, c, unpack(s.args or {}))
          if not pok then error(body) end
          results[#results + 1] = { body = body, err = err and plain_error(err),
            elapsed = now() - t0 }
        end
      end)
    end
    for _, t in ipairs(list) do
      local ok, problem = ngx.thread.wait(t)
      if not ok then return { raised = tostring(problem), results = results } end
    end
    return { results = results }
  end
  for i = 1, s.times or 1 do
    local t0 = now()
    local ok, body, err = pcall(c[s.op or "create"], c, unpack(s.args or {}))
    if not ok then return { raised = tostring(body), results = results } end
    results[i] = { body = body, err = err and plain_error(err), elapsed = now() - t0 }
  end
  return { results = results }
end

-- The raw transport, without a client: {request = {...}, transport = {...}}.
local function raw(s)
  local ok, t = pcall(openresty.transport, s.transport)
  if not ok then return { raised = tostring(t) } end
  local t0 = now()
  local pok, resp, err = pcall(t, s.request)
  if not pok then return { raised = tostring(resp) } end
  return { resp = resp, err = err, elapsed = now() - t0 }
end

local function answer(t)
  ngx.header["Content-Type"] = "application/json"
  ngx.say(cjson.encode(t))
end

function M.run()
  ngx.req.read_body()
  local s = cjson.decode(ngx.req.get_body_data() or "")
  if type(s) ~= "table" then
    ngx.status = 400
    return answer({ raised = "the scenario must be a JSON object" })
  end
  if s.where == "timer" then
    local result
    local ok, err = ngx.timer.at(0, function()
      local pok, r = pcall(M.scenario, s)
      result = pok and r or { raised = tostring(r) }
    end)
    if not ok then return answer({ raised = "timer: " .. tostring(err) }) end
    local deadline = now() + 10
    while not result and now() < deadline do ngx.sleep(0.005) end
    return answer(result or { raised = "the timer did not finish" })
  elseif s.where == "every_worker" then
    -- {workers = {answer of worker 0, of worker 1, ...}}
    local mailbox = ngx.shared.campaign_test
    local id = mailbox:incr("jobs", 1, 0)
    s.where, s.job = nil, id
    mailbox:set("job", cjson.encode(s))
    local answers, count = {}, ngx.worker.count()
    local deadline = now() + 30
    while now() < deadline do
      local all = true
      for w = 0, count - 1 do
        local text = answers[w + 1] == nil and mailbox:get("answer " .. id .. " " .. w)
        if text then answers[w + 1] = cjson.decode(text) end
        if answers[w + 1] == nil then all = false end
      end
      if all then return answer({ workers = answers }) end
      ngx.sleep(0.01)
    end
    return answer({ raised = "not every worker answered in time" })
  elseif s.where == "thread" then
    local ok, pok, text = ngx.run_worker_thread("campaign_test", "thread", "run",
      cjson.encode(s))
    if not ok then return answer({ raised = "run_worker_thread: " .. tostring(pok) }) end
    if not pok then return answer({ raised = tostring(text) }) end
    ngx.header["Content-Type"] = "application/json"
    return ngx.say(text)
  end
  answer(s.request and raw(s) or M.scenario(s))
end

-- The transport called in set_by_lua, where nginx has no sockets.
function M.in_set(emu_base)
  local t = openresty.transport()
  local resp, err = t({ method = "GET", url = emu_base .. "/vapi/v2/campaign", headers = {},
    timeout = 1, connect_timeout = 1 })
  return cjson.encode({ resp = resp, err = err })
end

-- GET .../campaign/<id>: a campaign in three pieces, flushed one by one
-- (chunked, or ended by closing the connection), with two Set-Cookie headers.
function M.fake()
  local id = ngx.var.uri:match("/campaign/([^/]+)$") or "none"
  ngx.header["Content-Type"] = "application/json"
  ngx.header["Set-Cookie"] = { "a=1", "b=2" }
  local authorized = ngx.var.http_authorization ~= nil
  ngx.print('{"id":"' .. id .. '",')
  ngx.flush(true)
  ngx.print('"name":"' .. string.rep("x", 5000) .. '",')
  ngx.flush(true)
  ngx.print('"authorized":' .. tostring(authorized) .. '}')
end

return M
