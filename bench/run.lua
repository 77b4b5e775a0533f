-- make bench: the cost of the module against a baseline measured in the
-- same run, side by side (the machines are shared and noisy: absolute times
-- mean little, ratios of interleaved runs much more). Prints, per benchmark,
-- the medians and their ratio, and the bound the project holds it to.
-- Benchmarks never fail the build; a ratio outside its bound is marked.
local campaign = require "campaign"
local core = require "campaign.core"
local cjson = require "cjson"
local emulator = require "helpers.emulator"
local walk = require("bench.walk").walk

local QUICK = os.getenv("BENCH_QUICK") == "1"
local ROUNDS = QUICK and 3 or 7

local function median(list)
  local copy = {}
  for i, v in ipairs(list) do copy[i] = v end
  table.sort(copy)
  local n = #copy
  if n % 2 == 1 then return copy[(n + 1) / 2] end
  return (copy[n / 2] + copy[n / 2 + 1]) / 2
end

-- Runs fn(n) `rounds` (default ROUNDS) times interleaved with baseline(n);
-- both return the elapsed seconds of their own batch of n.
local function side_by_side(fn, baseline, rounds)
  local a, b = {}, {}
  for r = 1, rounds or ROUNDS do
    if r % 2 == 1 then
      a[#a + 1] = fn(); b[#b + 1] = baseline()
    else
      b[#b + 1] = baseline(); a[#a + 1] = fn()
    end
  end
  return median(a), median(b)
end

local rows = {}
local function report(name, ours, base, unit, ratio, bound, higher_is_better)
  local ok = higher_is_better and ratio >= bound or (not higher_is_better and ratio <= bound)
  rows[#rows + 1] = string.format("%-44s %12s %12s %7.2fx  (%s %.2f)%s", name, ours .. unit,
    base .. unit, ratio, higher_is_better and ">=" or "<=", bound, ok and "" or "  OVER BOUND")
  print(rows[#rows])
  io.stdout:flush()
end

local function timed_loop(n, fn)
  return function()
    local t0 = core.now()
    for _ = 1, n do fn() end
    return core.now() - t0
  end
end

-- ---------------------------------------------------------------------------
print(("%-44s %12s %12s %8s"):format("benchmark", "module", "baseline", "ratio"))
print(("-"):rep(94))

-- 1. prepare (the walk that checks and writes the body, and the request)
--    against a bare cjson.encode of the same final payload. Bounds (issue
--    17): 1.0x for 10,000 customers, where the one walk must cost no more
--    than lua-cjson's; 1.25x for a typical payload, where the request table
--    is a fixed cost.
local function customers(n)
  local list = {}
  for i = 1, n do
    list[i] = { number = string.format("+1415%07d", i), name = "Customer " .. i }
  end
  return list
end

local cases = {
  { "vapi", "typical (25 customers)", { name = "Spring renewals", assistantId = "3f1c2a9e-8d4b-4c6f-9a7e-1b2c3d4e5f60",
    phoneNumberId = "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d", customers = customers(25),
    schedulePlan = { earliestAt = "2026-12-01T09:00:00Z" } }, 20000 },
  { "vapi", "10,000 customers", { name = "Big", assistantId = "a", phoneNumberId = "p",
    customers = customers(10000) }, 20, bound = 1.0 },
  { "smallest", "typical", { name = "Spring renewals", agentId = "60d0fe4f5311236168a109ca",
    audienceId = "60d0fe4f5311236168a109cb", description = "Renewals for Q2",
    phoneNumberIds = { "60d0fe4f5311236168a109cc" }, maxRetries = 2, retryDelay = 30 }, 50000 },
  { "autocalls", "typical", { name = "Product Demo Campaign", assistant_id = 123,
    timezone = "America/New_York", max_calls_in_parallel = 3,
    allowed_hours_start_time = "09:00", allowed_hours_end_time = "17:00",
    allowed_days = { "monday", "tuesday", "wednesday", "thursday", "friday" },
    max_retries = 3, retry_interval = 60, retry_on_voicemail = true,
    phone_number_ids = { 1, 2 } }, 50000 },
  { "atlas", "typical (outbound)", { name = "My Outbound Campaign", campaignType = "1", CallType = "2",
    CompanyName = "Acme Inc", BusinessName = "Acme", TemplateId = "6be44833-9133-4639-b6c9-425aee057c1c",
    FirstMessage = "Hi, this is...", ScriptBase = "...", ScriptNotes = "...",
    TimezoneFriendlyName = "Eastern Time", StartDate = "2026-05-14",
    TimeWindows = "[{\"startHour\":8,\"startMinute\":0,\"endHour\":20,\"endMinute\":0}]",
    FeatureRescheduleCallEnabled = false, FeatureEnrichmentInfoEnabled = false }, 50000 },
}

-- Atlas remembers the JSON texts it found good (TimeWindows and the like):
-- scripts send the same ones with every campaign. The same payload with a
-- TimeWindows text it has not seen, on every call:
do
  local fresh, texts, i = {}, {}, 0
  for k, v in pairs(cases[#cases][3]) do fresh[k] = v end
  for k = 1, 4096 do
    texts[k] = ('[{"startHour":8,"startMinute":%d,"endHour":%d,"endMinute":%d}]'):format(k % 60,
      20 + math.floor(k / 60) % 4, math.floor(k / 240) % 60)
  end
  cases[#cases + 1] = { "atlas", "new TimeWindows each call", fresh, 20000, function()
    i = i % #texts + 1
    fresh.TimeWindows = texts[i]
    return fresh
  end }
end

for _, case in ipairs(cases) do
  local provider, label, fields, n, next_fields, bound = case[1], case[2], case[3], case[4], case[5],
    case.bound or 1.25
  if QUICK then n = math.max(1, math.floor(n / 10)) end
  local c = campaign.client { provider = provider, api_key = "bench-key" }
  local req = assert(c:prepare("create", fields))
  local final = cjson.decode(req.body)
  local encode = timed_loop(n, function() return cjson.encode(final) end)
  local call = next_fields and function() return c:prepare("create", next_fields()) end
    or function() return c:prepare("create", fields) end
  assert(call())
  local ours, base = side_by_side(timed_loop(n, call), encode)
  report(("prepare %s %s"):format(provider, label), ("%.2f"):format(ours / n * 1e6),
    ("%.2f"):format(base / n * 1e6), " us", ours / base, bound)
  -- What it is made of, against the same baseline: the walk alone
  -- (core.encode: every check and the text, no request), and one bare read
  -- of every value through the Lua C API (bench/walk.c, which checks and
  -- writes nothing), the least any walk does.
  local schema = c._ops.create.schema
  local given = next_fields and next_fields() or fields
  if c._normalize then given = assert(c._normalize("create", given, { passthrough = false })) end
  local v, vb = side_by_side(timed_loop(n, function() return core.encode(schema, given) end), encode)
  local f, fb = side_by_side(timed_loop(n, function() return walk(final) end), encode)
  print(("  %-42s %7.2fx   %-30s %7.2fx"):format("the walk alone (core.encode)", v / vb,
    "a bare read (bench/walk.c)", f / fb))
end

-- ---------------------------------------------------------------------------
-- 2. The transports at the floor: a local upstream (bench/upstream.conf.in,
--    an nginx of its own) answers every create at once with a fixed 201, so
--    that what is measured is the transport and what the module does around
--    it.
--    (a) nginx, one worker (bench/openresty.conf.in), under wrk: requests/s
--        of the handler that decodes a request and creates the campaign
--        through campaign.openresty (examples/openresty), over requests/s
--        of proxy_pass to the same upstream. Bound: at least 0.5x.
--    (b) 2,000 sequential c:create over libcurl against bench/curl_loop.c,
--        the same request sent 2,000 times over one connection by a bare
--        libcurl loop. Bound: at most 1.2x the time.
local nginx = require "helpers.nginx"
local proc = require "helpers.proc"

local ROOT = proc.ROOT:gsub("/$", "")
local BUILD = os.getenv("BENCH_BUILD") or "build/5.4"
local UPSTREAM_ANSWER = '{"id":"3f1c2a9e-8d4b-4c6f-9a7e-1b2c3d4e5f61",'
  .. '"orgId":"9a7e1b2c-3d4e-4f60-8d4b-4c6f3f1c2a9e","name":"Spring renewals",'
  .. '"status":"scheduled","assistantId":"3f1c2a9e-8d4b-4c6f-9a7e-1b2c3d4e5f60",'
  .. '"phoneNumberId":"7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d",'
  .. '"createdAt":"2026-05-14T09:00:00.000Z","updatedAt":"2026-05-14T09:00:00.000Z"}'

local function read_text(path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("*a")
  f:close()
  return text
end

local function start_nginx(name, conf, vars, unset_env)
  return assert(nginx.start { name = name, template = read_text(ROOT .. "/bench/" .. conf),
    vars = vars, prefix_name = "lua-campaign-bench-" .. conf:match("^[^.]+") .. ".",
    unset_env = unset_env })
end

-- The resident memory of process pid, KiB.
local function rss_of(pid)
  local status = read_text("/proc/" .. pid .. "/status")
  return tonumber(status:match("VmRSS:%s*(%d+)"))
end

-- With two cores or more, the worker under test has the first to itself
-- and the upstream and wrk share the second, so that neither takes the
-- measured worker's time (other processes of the machine still may).
local PIN = tonumber(proc.capture("nproc") or "") and tonumber(proc.capture("nproc")) >= 2
  and proc.capture("command -v taskset") ~= nil
local upstream = start_nginx("bench upstream", "upstream.conf.in", { ANSWER = UPSTREAM_ANSWER,
  AFFINITY = PIN and "worker_cpu_affinity 10;" or "" })
local under_test, tmp
local ok, failure = pcall(function()
  local fields = cases[1][3]
  tmp = os.tmpname()
  os.remove(tmp)
  assert(os.execute("mkdir -p " .. tmp))

  -- (a) -----------------------------------------------------------------
  under_test = start_nginx("bench nginx", "openresty.conf.in",
    { ROOT = ROOT, UPSTREAM_PORT = tostring(upstream.port),
      AFFINITY = PIN and "worker_cpu_affinity 01;" or "" }, { "LUA_PATH", "LUA_CPATH" })
  local script = tmp .. "/post.lua"
  local f = assert(io.open(script, "w"))
  f:write("wrk.method = 'POST'\nwrk.headers['Content-Type'] = 'application/json'\n",
    "wrk.body = ", ("%q"):format(cjson.encode(fields)), "\n")
  f:close()
  -- Requests/s of one wrk run (one thread, 16 connections) and how many
  -- requests it made; anything but 2xx answers stops the benchmark.
  local function wrk(path, seconds)
    local p = assert(io.popen(("%swrk -t1 -c16 -d%ds -s %s http://127.0.0.1:%d%s 2>&1"):format(
      PIN and "taskset -c 1 " or "", seconds, script, under_test.port, path)))
    local out = p:read("*a")
    p:close()
    local rps, count = tonumber(out:match("Requests/sec:%s*([%d.]+)")),
      tonumber(out:match("(%d+) requests in"))
    if not rps or out:find("Non-2xx", 1, true) or out:find("Socket errors", 1, true) then
      error(("wrk %s: %s\n%s"):format(path, out, under_test:error_log()), 0)
    end
    return rps, count
  end
  local seconds = QUICK and 1 or 3
  wrk("/campaigns/vapi", 1)     -- warm-up: the pools, LuaJIT's traces
  wrk("/proxy", 1)
  local function rate(path) return function() return (wrk(path, seconds)) end end
  local ours, base = side_by_side(rate("/campaigns/vapi"), rate("/proxy"))
  report("nginx handler creating / proxy_pass (req/s)", ("%.0f"):format(ours), ("%.0f"):format(base),
    "/s", ours / base, 0.5, true)
  -- Where the time goes: the microseconds of one request (1/rate) to
  -- handlers that stop after each step (bench/stages.lua), and others to
  -- compare with: the least cosocket exchange (the body read, a request
  -- written once, one read of the answer), the transport's exchange of a
  -- request prepared once, and the body checked and written in the access
  -- phase and sent by proxy_pass (/prepared).
  local steps = { { "/stage/read", "read the body, answer" }, { "/stage/decode", "decode it" },
    { "/stage/prepare", "check and write it (prepare)" }, { "/stage/send", "send it" },
    { "/stage/create", "c:create, the answer encoded back" }, { "/stage/floor" },
    { "/stage/exchange" }, { "/prepared" } }
  local runs = {}
  for _ = 1, 3 do
    for _, step in ipairs(steps) do
      runs[step] = runs[step] or {}
      table.insert(runs[step], (wrk(step[1], seconds)))
    end
  end
  local us = {}
  for i, step in ipairs(steps) do us[i] = 1e6 / median(runs[step]) end
  local line = {}
  for i = 1, 5 do
    line[i] = ("%s %s%.1f"):format(steps[i][2], i > 1 and "+" or "", us[i] - (us[i - 1] or 0))
  end
  print(("  us per request (1/rate): proxy_pass %.1f, the handler %.1f; steps: %s"):format(1e6 / base,
    1e6 / ours, table.concat(line, ", ")))
  print(("  after reading the body (%.1f): the least cosocket exchange +%.1f, the transport's "
    .. "+%.1f; checked in access_by_lua and sent by proxy_pass: %.1f (%.2fx proxy_pass)"):format(
    us[1], us[6] - us[1], us[7] - us[1], us[8], (1e6 / us[8]) / base))
  -- And each step alone, in a loop, on the worker's CPU clock; the
  -- transport over a socket that answers from memory.
  local http = require "socket.http"
  local profile = {}
  for _ = 1, 3 do
    local text = assert(http.request(("http://127.0.0.1:%d/stage/profile"):format(under_test.port),
      cjson.encode(fields)))
    for name, value in text:gmatch("(%S+)=(%S+)") do
      profile[name] = profile[name] or {}
      table.insert(profile[name], tonumber(value))
    end
  end
  line = {}
  for _, name in ipairs { "decode", "prepare", "transport", "answer_decode", "create", "answer_encode" } do
    line[#line + 1] = ("%s %.2f"):format(name:gsub("_", " "), median(profile[name]))
  end
  print("  CPU us per step alone, nginx's Lua: " .. table.concat(line, ", "))

  -- (b) -----------------------------------------------------------------
  local N = QUICK and 300 or 2000
  local c = campaign.client { provider = "vapi", api_key = "bench-key-0123456789",
    base_url = "http://127.0.0.1:" .. upstream.port }
  local req = assert(c:prepare("create", fields))
  local body_file = tmp .. "/body.json"
  f = assert(io.open(body_file, "w"))
  f:write(req.body)
  f:close()
  local cmd = { proc.shquote(BUILD .. "/bench/curl_loop"), proc.shquote(req.url), N,
    proc.shquote(body_file) }
  for name, value in pairs(req.headers) do cmd[#cmd + 1] = proc.shquote(name .. ": " .. value) end
  cmd = table.concat(cmd, " ")
  local function creates()
    local t0 = core.now()
    for _ = 1, N do assert(c:create(fields)) end
    return core.now() - t0
  end
  local function bare_loop()
    local p = assert(io.popen(cmd))
    local elapsed = tonumber(p:read("*a"))
    p:close()
    return assert(elapsed, "bench/curl_loop failed")
  end
  creates()
  -- A round takes a fraction of a second: more of them, for a steadier median.
  ours, base = side_by_side(creates, bare_loop, 3 * ROUNDS)
  report(("%d sequential creates / bare libcurl (time)"):format(N), ("%.3f"):format(ours),
    ("%.3f"):format(base), " s", ours / base, 1.2)
  local answer = cjson.encode(assert(c:create(fields)))
  local prepare = side_by_side(timed_loop(N, function() return c:prepare("create", fields) end),
    timed_loop(N, function() return cjson.decode(answer) end))
  local decode = side_by_side(timed_loop(N, function() return cjson.decode(answer) end),
    function() return 0 end)
  print(("  us per create: bare libcurl %.1f, c:create %.1f, of which prepare %.1f and the "
    .. "answer's decoding %.1f"):format(base / N * 1e6, ours / N * 1e6, prepare / N * 1e6,
    decode / N * 1e6))
  c:close()

  -- Memory stays flat (see 4.): the worker's resident memory before and
  -- after 200,000 more creates through the handler, after a warm-up of
  -- 100,000, each read after a full collection (/pid): without it the Lua
  -- heap breathes by a few hundred KiB, and its allocator keeps the highest
  -- it reached.
  local total = QUICK and 20000 or 200000
  local pid_url = ("http://127.0.0.1:%d/pid"):format(under_test.port)
  local done = 0
  while done < total / 2 do done = done + select(2, wrk("/campaigns/vapi", QUICK and 1 or 2)) end
  local pid = assert(http.request(pid_url))
  local kib = rss_of(pid)
  done = 0
  while done < total do done = done + select(2, wrk("/campaigns/vapi", QUICK and 1 or 2)) end
  assert(http.request(pid_url) == pid)
  kib = rss_of(pid) - kib
  print(("%-44s %+10d KiB  (bound 1024 KiB)%s"):format(
    ("RSS growth of the nginx worker, %d creates"):format(done), kib,
    kib < 1024 and "" or "  OVER BOUND"))
end)
if under_test then under_test:stop() end
upstream:stop()
if tmp then os.execute("rm -rf " .. tmp) end
if not ok then error(failure, 0) end

-- ---------------------------------------------------------------------------
-- 3. Batches against the emulator, against the curl command-line tool
--    sending the same requests with --parallel.
local emu = emulator.start()
ok, failure = pcall(function()
  local N = QUICK and 300 or 2000
  local c = campaign.client { provider = "vapi", api_key = emu.keys.vapi, base_url = emu:url("vapi") }
  local fields = cases[1][3]
  local req = assert(c:prepare("create", fields))
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p " .. dir))
  local body_file = dir .. "/body.json"
  local f = assert(io.open(body_file, "w"))
  f:write(req.body)
  f:close()
  -- One curl config with N requests.
  local cfg = dir .. "/requests.cfg"
  f = assert(io.open(cfg, "w"))
  for i = 1, N do
    if i > 1 then f:write("next\n") end
    f:write(('url = "%s"\n'):format(req.url))
    f:write('request = "POST"\n')
    f:write(('data-binary = "@%s"\n'):format(body_file))
    for name, value in pairs(req.headers) do
      f:write(('header = "%s: %s"\n'):format(name, value))
    end
    f:write('output = "/dev/null"\n')
  end
  f:close()

  local function run(cmd)
    local t0 = core.now()
    assert(os.execute(cmd .. " >/dev/null 2>&1"))
    return core.now() - t0
  end

  emu:reset()
  for _ = 1, 50 do assert(c:create(fields)) end
  local stats = emu:stats()
  print(("  connections used by 50 sequential creates: %d"):format(stats.connections))

  local list = {}
  for i = 1, N do list[i] = fields end
  local function batch()
    emu:reset()
    local t0 = core.now()
    local results = c:create_many(list, { concurrency = 16 })
    local elapsed = core.now() - t0
    for i = 1, N do assert(not campaign.is_error(results[i]), tostring(results[i])) end
    return elapsed
  end
  local function curl_parallel()
    emu:reset()
    return run("curl -sS --fail --parallel --parallel-max 16 -K " .. cfg)
  end
  local ours, base = side_by_side(batch, curl_parallel)
  report(("%d creates, concurrency 16 (throughput)"):format(N), ("%.0f"):format(N / ours),
    ("%.0f"):format(N / base), "/s", base / ours, 0.9, true)
  os.execute("rm -rf " .. dir)
end)
emu:stop()
if not ok then error(failure, 0) end

-- ---------------------------------------------------------------------------
-- 4. Memory stays flat.
local function rss_kib()
  local f = io.open("/proc/self/statm")
  if not f then return nil end
  local _, resident = f:read("*n", "*n")
  f:close()
  return resident * 4
end

local function growth(n, fn)
  for _ = 1, math.min(n, 2000) do fn() end      -- warm-up
  collectgarbage()
  local before = rss_kib()
  for i = 1, n do
    fn()
    if i % 1000 == 0 then collectgarbage("step", 200) end
  end
  collectgarbage()
  return rss_kib() - before
end

do
  local c = campaign.client { provider = "vapi", api_key = "bench-key" }
  local fields = cases[1][3]
  local n = QUICK and 10000 or 100000
  local kib = growth(n, function() return c:prepare("create", fields) end)
  print(("%-44s %+10d KiB  (bound 1024 KiB)%s"):format(("RSS growth over %d prepares"):format(n),
    kib, kib < 1024 and "" or "  OVER BOUND"))
end

emu = emulator.start()
ok, failure = pcall(function()
  local c = campaign.client { provider = "vapi", api_key = emu.keys.vapi, base_url = emu:url("vapi") }
  local fields = cases[3] and { name = "x", assistantId = "a", phoneNumberId = "p",
    customers = { { number = "+14155550101" } } }
  local n = QUICK and 2000 or 20000
  local kib = growth(n, function()
    assert(c:create(fields))
  end)
  print(("%-44s %+10d KiB  (bound 1024 KiB)%s"):format(("RSS growth over %d HTTP creates"):format(n),
    kib, kib < 1024 and "" or "  OVER BOUND"))
end)
emu:stop()
if not ok then error(failure, 0) end

-- ---------------------------------------------------------------------------
-- 5. Jobs at the provider's rate limit: a server limits creates to R
--    requests/s and answers 429 with Retry-After: 1 past it: the emulator's
--    rate-limit mode, and nginx's own limit_req (burst=1 nodelay) in front of
--    an answer to every create. The wall time of a batch and of a loop of
--    single calls, over the N/R seconds the limit allows; the share of
--    requests answered 429.
local R = 50

-- nginx with limit_req at R requests/s; its base URL, and a stop function.
local function start_limit_req()
  local srv = start_nginx("limit_req server", "limit_req.conf.in", { RATE = tostring(R) })
  return "http://127.0.0.1:" .. srv.port, function() srv:stop() end
end

emu = emulator.start()
local limit_base, stop_limit
ok, failure = pcall(function()
  limit_base, stop_limit = start_limit_req()
  local batch_n, loop_n = QUICK and 100 or 300, QUICK and 50 or 150
  local function list(n)
    local l = {}
    for i = 1, n do
      l[i] = { name = "Rate " .. i, assistantId = "a", phoneNumberId = "p",
        customers = { { number = "+14155550101" } } }
    end
    return l
  end
  local servers = {
    { "emulator", function()
      emu:reset()
      emu:limit { vapi = { rate = R, retry_after = 1 } }
      return emu:url("vapi"), emu.keys.vapi
    end },
    -- The limit_req zone starts each case with its budget full again.
    { "nginx limit_req", function()
      core.sleep(1)
      return limit_base, "bench-limit-req-key"
    end },
  }
  for _, server in ipairs(servers) do
    print(("%-48s %10s %9s %8s %8s"):format(("%s, rate limit %d/s"):format(server[1], R),
      "wall", "x N/R", "failed", "429s"))
    for _, case in ipairs {
      { "batch, rate_limit = R", { rate_limit = R }, batch_n, 1.15, 0.02 },
      { "batch, learned pace", {}, batch_n, 3 },
      { "loop of single calls, rate_limit = R", { rate_limit = R }, loop_n, 1.15, 0.02 },
      { "loop of single calls, learned pace", {}, loop_n, 3 },
    } do
      local name, opts, n, bound, share_bound = case[1], case[2], case[3], case[4], case[5]
      opts.provider = "vapi"
      opts.base_url, opts.api_key = server[2]()
      local answers, limited = 0, 0
      opts.on_response = function(info)
        answers = answers + 1
        if info.status == 429 then limited = limited + 1 end
      end
      local c = campaign.client(opts)
      local failed = 0
      local t0 = core.now()
      if name:find("^batch") then
        for _, r in ipairs(c:create_many(list(n), { concurrency = 16 })) do
          if campaign.is_error(r) then failed = failed + 1 end
        end
      else
        for _, fields in ipairs(list(n)) do
          if not c:create(fields) then failed = failed + 1 end
        end
      end
      local ratio = (core.now() - t0) / (n / R)
      local share = limited / answers
      local over = ratio > bound or failed > 0 or (share_bound and share > share_bound)
      print(("%-48s %9.2fs %8.2fx %8d %7.1f%%  (bound %.2fx, 0 failed%s)%s"):format(
        ("%s (%d)"):format(name, n), core.now() - t0, ratio, failed, 100 * share, bound,
        share_bound and (", <= %d%% 429s"):format(share_bound * 100) or "",
        over and "  OVER BOUND" or ""))
    end
  end
end)
if stop_limit then stop_limit() end
emu:stop()
if not ok then error(failure, 0) end

-- ---------------------------------------------------------------------------
-- 6. Bad input stays cheap. tests/bad_input_spec.lua checks what comes of
--    these cases; their cost is here, each against input of the same size
--    that is not pathological: unknown fields past the first 100 problems
--    are counted, not given a "did you mean"; an error body full of
--    near-matches of a long key is redacted in linear time; a table shared
--    a billion times is walked only up to the bound of 10^6 values.
print(("%-44s %12s %12s %8s"):format("bad input", "case", "ordinary", "ratio"))
do
  local function with_customers(make)
    local list = {}
    for i = 1, 65535 do list[i] = make(i) end
    return { name = "x", assistantId = "a", phoneNumberId = "p", customers = list }
  end
  local strict = campaign.client { provider = "vapi", api_key = "bench-key" }
  local typos = with_customers(function(i)
    return { number = "+14155550101", [("customerNameWithAVeryLongTypo%d"):format(i)] = 1 }
  end)
  local known = with_customers(function(i) return { number = "+14155550101", name = ("n%d"):format(i) } end)
  local n = QUICK and 2 or 10
  local ours, base = side_by_side(timed_loop(n, function() assert(not strict:prepare("create", typos)) end),
    timed_loop(n, function() assert(not strict:prepare("create", known)) end))
  report("65,535 unknown fields vs known ones", ("%.2f"):format(ours / n * 1e3),
    ("%.2f"):format(base / n * 1e3), " ms", ours / base, 4)

  local key = ("k"):rep(200000) .. "!"
  local function answering(body)
    return campaign.client { provider = "vapi", api_key = key, max_retries = 0,
      transport = function() return { status = 400, body = body } end }
  end
  local near, plain = answering(("k"):rep(2 ^ 20) .. key), answering(("x"):rep(2 ^ 20) .. key)
  n = QUICK and 4 or 20
  ours, base = side_by_side(timed_loop(n, function() assert(not near:get("abc")) end),
    timed_loop(n, function() assert(not plain:get("abc")) end))
  report("redact 1 MiB of near-matches of the key", ("%.2f"):format(ours / n * 1e3),
    ("%.2f"):format(base / n * 1e3), " ms", ours / base, 10)

  local leaf, mid, top = {}, {}, {}
  for i = 1, 1000 do leaf[i] = "x" end
  for i = 1, 1000 do mid[i] = leaf end
  for i = 1, 1000 do top[i] = mid end
  local loose = campaign.client { provider = "vapi", api_key = "bench-key", passthrough = true }
  local function with(value)
    return { name = "x", assistantId = "a", phoneNumberId = "p", customers = { { number = "+14155551234",
      assistantOverrides = { variableValues = { x = value } } } } }
  end
  local billion, two_million = with(top), with({ mid, mid })
  n = QUICK and 2 or 5
  ours, base = side_by_side(timed_loop(n, function() assert(not loose:prepare("create", billion)) end),
    timed_loop(n, function() assert(not loose:prepare("create", two_million)) end))
  report("10^9 shared references vs 2 x 10^6", ("%.2f"):format(ours / n * 1e3),
    ("%.2f"):format(base / n * 1e3), " ms", ours / base, 2)
end
