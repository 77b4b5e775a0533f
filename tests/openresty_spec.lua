-- lua-campaign inside nginx (Debian's nginx with its Lua module, which runs
-- OpenResty's LuaJIT): the LuaJIT build of the C core is loaded by nginx, the
-- OpenResty transport creates campaigns on the provider emulator, and the
-- nginx worker is never blocked while it waits. Runs under every Lua of
-- `make test`: this process only drives nginx over HTTP.
local socket = require "socket"
local cjson = require "cjson"
local emulator = require "helpers.emulator"
local fixtures = require "helpers.fixtures"
local server = require "openresty.server"

local FIELDS = fixtures.vapi { name = "From nginx" }

-- Sends one HTTP/1.0 request; finish() reads the answer (up to the close).
local function send(port, method, path, body)
  local c = socket.tcp()
  c:settimeout(10)
  assert(c:connect("127.0.0.1", port))
  local head = method .. " " .. path .. " HTTP/1.0\r\nHost: 127.0.0.1\r\n"
  if body then
    head = head .. "Content-Type: application/json\r\nContent-Length: " .. #body .. "\r\n"
  end
  assert(c:send(head .. "\r\n" .. (body or "")))
  return c
end

local function finish(c)
  local text, _, partial = c:receive("*a")
  c:close()
  text = text or partial or ""
  return tonumber(text:match("^HTTP/%d%.%d (%d+)")), text:match("\r\n\r\n(.*)$") or ""
end

-- Whether an answer (or the close) has come on c within `wait` seconds
-- (default 0: as things are now); reads nothing.
local function answered(c, wait)
  return #socket.select({ c }, nil, wait or 0) > 0
end

local function closed_port()
  for _ = 1, 50 do
    local port = 20000 + math.random(0, 40000)
    local s = socket.bind("127.0.0.1", port)
    if s then
      s:close()
      return port
    end
  end
  error("no free port")
end

describe("campaign.openresty outside nginx", function()
  it("says that it needs OpenResty", function()
    local openresty = require "campaign.openresty"
    assert.has_error(function() openresty.transport() end,
      "campaign.openresty: needs OpenResty (nginx with its Lua module): ngx.socket.tcp is not "
      .. "available here")
  end)

  it("refuses libcurl-only options instead of ignoring them", function()
    local openresty = require "campaign.openresty"
    assert.has_error(function() openresty.client { provider = "vapi", ca_file = "/x.pem" } end,
      "campaign.openresty: ca_file does not apply to nginx's sockets: set "
      .. "lua_ssl_trusted_certificate in nginx.conf")
    assert.has_error(function() openresty.options { provider = "vapi", proxy = "http://p:1" } end,
      "campaign.openresty: proxy is not supported by the OpenResty transport")
  end)
end)

describe("OpenResty", function()
  local emu, srv, build_ok, build_out, start_error

  -- The nginx under test; fails the calling test when there is none.
  local function need()
    if not srv then
      error("the test nginx is not running: " .. tostring(start_error or build_out), 2)
    end
    return srv
  end

  -- Runs one scenario of tests/openresty/app.lua inside nginx.
  local function run(scenario)
    local status, body = finish(send(need().port, "POST", "/run", cjson.encode(scenario)))
    assert.are.equal(200, status, body .. "\n" .. srv:error_log())
    return cjson.decode(body)
  end

  local function one(scenario)
    local answer = run(scenario)
    assert.is_nil(answer.raised, answer.raised)
    return answer.results[1]
  end

  local function no_key(value)
    local text = type(value) == "table" and cjson.encode(value) or tostring(value)
    assert.is_nil(text:find(emu.keys.vapi, 1, true), "the key shows in " .. text)
  end

  setup(function()
    -- nginx loads build/jit/campaign/core.so: (re)build it (make is incremental).
    local root = server.root()
    local p = io.popen("cd '" .. root .. "' && env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS "
      .. "make --no-print-directory -s LUA_VERSION=jit all 2>&1; echo \"exit $?\"")
    build_out = p:read("*a")
    p:close()
    build_ok = build_out:match("exit (%d+)\n$") == "0"
    if not build_ok then return end
    local ok, err = pcall(function()
      emu = emulator.start()
      srv = server.start { emu = emu }
    end)
    if not ok then start_error = err end
  end)

  teardown(function()
    if srv then srv:stop() end
    if emu then emu:stop() end
  end)

  before_each(function()
    if emu then emu:reset() end
  end)

  it("builds the C core against LuaJIT 2.1 (make LUA_VERSION=jit) and nginx loads it", function()
    assert.is_true(build_ok, "make LUA_VERSION=jit failed:\n" .. tostring(build_out))
    need()
    local r = one { op = "get", base_url = emu:url("vapi"), args = { "no-such-id" },
      client = { max_retries = 0 } }
    assert.are.equal("http", r.err.kind)
    assert.are.equal(404, r.err.status)
  end)

  describe("the example handler (examples/openresty)", function()
    it("creates a campaign from a POST: 201 with the provider's answer", function()
      local status, body = finish(send(need().port, "POST", "/campaigns/vapi", cjson.encode(FIELDS)))
      assert.are.equal(201, status, body)
      local created = cjson.decode(body)
      assert.are.equal("From nginx", created.name)
      assert.truthy(created.id)
      local req = emu:last()
      assert.are.equal("/v2/campaign", req.path)
      assert.are.equal("Bearer " .. emu.keys.vapi, req.headers.authorization)
      assert.are.same(FIELDS, req.json)
    end)

    it("answers validation errors with 422 and every problem, sending nothing", function()
      local bad = { name = "x", assistantId = "a", customers = { { number = "+0" } } }
      local status, body = finish(send(need().port, "POST", "/campaigns/vapi", cjson.encode(bad)))
      assert.are.equal(422, status, body)
      local answer = cjson.decode(body)
      assert.are.equal(2, #answer.errors)
      assert.are.equal("customers[1].number", answer.errors[1].field)
      assert.are.equal("phoneNumberId", answer.errors[2].field)
      assert.are.equal(0, emu:stats().requests)
    end)

    it("answers 500 when the server has no key for the provider (kind config), sending nothing", function()
      -- The test nginx passes VAPI_API_KEY only.
      local smallest = { name = "x", audienceId = "60d0fe4f5311236168a109ca",
        agentId = "60d0fe4f5311236168a109cb" }
      local status, body = finish(send(need().port, "POST", "/campaigns/smallest",
        cjson.encode(smallest)))
      assert.are.equal(500, status, body)
      assert.are.same({ error = "the server is not configured for this provider" }, cjson.decode(body))
      assert.are.equal(0, emu:stats().requests)
    end)

    it("answers 400, 404 and 405 for a bad body, provider or method", function()
      assert.are.equal(400, (finish(send(need().port, "POST", "/campaigns/vapi", "[1, 2"))))
      assert.are.equal(404, (finish(send(srv.port, "POST", "/campaigns/nobody", "{}"))))
      assert.are.equal(405, (finish(send(srv.port, "GET", "/campaigns/vapi"))))
    end)

    it("nginx -t accepts examples/openresty/nginx.conf", function()
      local root = server.root()
      -- A copy whose /tmp files go to the test prefix instead.
      local f = assert(io.open(root .. "/examples/openresty/nginx.conf", "rb"))
      local conf = f:read("*a"):gsub("/tmp/lua%-campaign%-example", need().prefix .. "/example")
      f:close()
      f = assert(io.open(srv.prefix .. "/example.conf", "wb"))
      f:write(conf)
      f:close()
      local p = io.popen("nginx -t -q -p '" .. root .. "' -c '" .. srv.prefix .. "/example.conf' "
        .. "-e /dev/null 2>&1; echo \"exit $?\"")
      local out = p:read("*a")
      p:close()
      assert.truthy(out:match("exit 0\n$"), out)
    end)
  end)

  describe("never blocks the nginx worker", function()
    it("answers other requests while a create waits on the provider and a list sleeps", function()
      need()
      -- The emulator holds the create until released (10 s at most).
      emu:fault { provider = "vapi", method = "POST", hold = 10 }
      -- And a list that waits through the retry loop's sleep (ngx.sleep).
      emu:fault { provider = "vapi", method = "GET", status = 503, headers = { ["Retry-After"] = "1" } }
      local create = send(srv.port, "POST", "/campaigns/vapi", cjson.encode(FIELDS))
      assert.are.equal(1, emu:wait({ method = "POST" }, 1))
      local list = send(srv.port, "POST", "/run", cjson.encode { op = "list",
        base_url = emu:url("vapi"), client = { max_retries = 1 } })
      assert.are.equal(1, emu:wait({ method = "GET" }, 1))
      -- The one worker waits on the create and sleeps for the list: pings
      -- are answered meanwhile.
      for _ = 1, 5 do
        local status, body = finish(send(srv.port, "GET", "/ping"))
        assert.are.equal(200, status)
        assert.are.equal("pong\n", body)
      end
      assert.is_false(answered(create), "the create was answered before the pings")
      assert.is_false(answered(list), "the list was answered before the pings")
      assert.are.equal(1, emu:count { method = "GET" }, "the list's sleep ended before the pings")
      assert.are.equal(1, emu:release())
      local status, body = finish(create)
      assert.are.equal(201, status, body)
      local list_status, list_body = finish(list)
      assert.are.equal(200, list_status, list_body)
      assert.is_nil(cjson.decode(list_body).results[1].err, list_body)
      assert.are.equal(2, emu:count { method = "GET" })
    end)

    it("and the test does tell: a libcurl create (allow_blocking = true) holds the worker", function()
      need()
      emu:fault { provider = "vapi", method = "POST", hold = 10 }
      local create = send(srv.port, "POST", "/run", cjson.encode { libcurl = true,
        client = { allow_blocking = true }, base_url = emu:url("vapi"), args = { FIELDS } })
      assert.are.equal(1, emu:wait({ method = "POST" }, 1))
      local ping = send(srv.port, "GET", "/ping")
      -- An unblocked worker answers a ping at once; this one stays in curl
      -- until the emulator lets the create go.
      assert.is_false(answered(ping, 0.5), "the ping was answered while the create was held")
      assert.is_false(answered(create))
      assert.are.equal(1, emu:release())
      local create_status, body = finish(create)
      assert.are.equal(200, create_status, body)
      assert.truthy(cjson.decode(body).results[1].body.id, body)
      local status, pong = finish(ping)
      assert.are.equal(200, status)
      assert.are.equal("pong\n", pong)
    end)
  end)

  describe("the libcurl transport inside nginx", function()
    it("is refused in a content handler, naming campaign.openresty", function()
      local answer = run { libcurl = true, base_url = emu:url("vapi"), args = { FIELDS } }
      assert.truthy(answer.raised, cjson.encode(answer))
      assert.truthy(answer.raised:find("campaign.client: the libcurl transport would block the "
        .. "nginx worker in the content phase", 1, true), answer.raised)
      assert.truthy(answer.raised:find('require("campaign.openresty")', 1, true), answer.raised)
      assert.truthy(answer.raised:find("allow_blocking = true", 1, true), answer.raised)
      assert.are.equal(0, emu:stats().requests)
    end)

    it("is refused in a timer too", function()
      local answer = run { libcurl = true, where = "timer", base_url = emu:url("vapi"),
        args = { FIELDS } }
      assert.truthy(answer.raised and answer.raised:find("in the timer phase", 1, true),
        cjson.encode(answer))
    end)

    it("a client made in init_worker (allowed there) refuses to send from a request", function()
      local answer = run { init_client = true, op = "get", args = { "abc" } }
      assert.truthy(answer.raised, cjson.encode(answer))
      assert.truthy(answer.raised:find("campaign vapi: the libcurl transport would block the "
        .. "nginx worker in the content phase", 1, true), answer.raised)
      assert.are.equal(0, emu:stats().requests)
    end)

    it("and so does its batch (curl's multi interface)", function()
      local answer = run { init_client = true, op = "create_many", args = { { FIELDS, FIELDS } } }
      assert.truthy(answer.raised and answer.raised:find("would block the nginx worker in the "
        .. "content phase", 1, true), cjson.encode(answer))
      assert.are.equal(0, emu:stats().requests)
    end)

    it("works in ngx.run_worker_thread, where blocking is fine", function()
      local r = one { where = "thread", base_url = emu:url("vapi"), args = { FIELDS } }
      assert.truthy(r.body and r.body.id, cjson.encode(r))
      assert.are.equal(1, emu:count { method = "POST" })
    end)
  end)

  describe("several workers", function()
    local multi, multi_error
    local WORKERS = 4

    setup(function()
      if not srv then return end
      local ok, err = pcall(function() multi = server.start { emu = emu, workers = WORKERS } end)
      if not ok then multi_error = err end
    end)

    teardown(function()
      if multi then multi:stop() end
    end)

    -- Every worker runs the scenario at once; their answers, checked.
    local function every_worker(scenario)
      if not multi then error("the nginx with several workers is not running: "
        .. tostring(multi_error or start_error), 2) end
      scenario.where = "every_worker"
      local status, body = finish(send(multi.port, "POST", "/run", cjson.encode(scenario)))
      assert.are.equal(200, status, body .. "\n" .. multi:error_log())
      local answer = cjson.decode(body)
      assert.is_nil(answer.raised, answer.raised)
      assert.are.equal(WORKERS, #answer.workers)
      local created = 0
      for w, a in ipairs(answer.workers) do
        assert.is_nil(a.raised, a.raised)
        for _, r in ipairs(a.results) do
          assert.truthy(r.body and r.body.id, "worker " .. (w - 1) .. ": " .. cjson.encode(r))
          created = created + 1
        end
      end
      return created
    end

    it("keep one pace together through shared_dict: at the limit, none lost, no 429", function()
      emu:limit { vapi = { rate = 20, retry_after = 1 } }
      local created = every_worker { base_url = emu:url("vapi"), args = { FIELDS }, threads = 2,
        times = 4, client = { rate_limit = 20, shared_dict = "campaign_pace" } }
      emu:limit { vapi = false }
      assert.are.equal(WORKERS * 8, created)
      assert.are.equal(WORKERS * 8, emu:count { method = "POST", status = 201 })
      assert.are.equal(0, emu:count { fault = "rate_limit" })
    end)

    it("without it each worker keeps its own pace: together they go over the limit", function()
      emu:limit { vapi = { rate = 20, retry_after = 1 } }
      local created = every_worker { base_url = emu:url("vapi"), args = { FIELDS }, threads = 2,
        times = 4, client = { rate_limit = 20 } }
      emu:limit { vapi = false }
      -- None lost still: each worker's 429s pause it and are sent again.
      assert.are.equal(WORKERS * 8, created)
      assert.is_true(emu:count { fault = "rate_limit" } > 0)
    end)

    it("learn the limit together from 429s through shared_dict: none lost", function()
      emu:limit { vapi = { rate = 20, retry_after = 1 } }
      local created = every_worker { base_url = emu:url("vapi"), args = { FIELDS }, threads = 2,
        times = 4, client = { shared_dict = "campaign_pace" } }
      emu:limit { vapi = false }
      assert.are.equal(WORKERS * 8, created)
      assert.is_true(emu:count { fault = "rate_limit" } > 0)
    end)
  end)

  describe("the OpenResty transport", function()
    it("paces every light thread of a worker that shares a client, at the provider's limit", function()
      emu:limit { vapi = { rate = 20, retry_after = 1 } }
      local answer = run { base_url = emu:url("vapi"), args = { FIELDS }, threads = 4, times = 5,
        client = { rate_limit = 20 } }
      emu:limit { vapi = false }
      assert.is_nil(answer.raised, answer.raised)
      assert.are.equal(20, #answer.results)
      for _, r in ipairs(answer.results) do assert.truthy(r.body and r.body.id, cjson.encode(r)) end
      assert.are.equal(20, emu:count { method = "POST", status = 201 })
      assert.are.equal(0, emu:count { fault = "rate_limit" })
    end)

    it("learns the limit from 429s across the light threads: none lost", function()
      emu:limit { vapi = { rate = 20, retry_after = 1 } }
      local answer = run { base_url = emu:url("vapi"), args = { FIELDS }, threads = 4, times = 5 }
      emu:limit { vapi = false }
      assert.is_nil(answer.raised, answer.raised)
      assert.are.equal(20, #answer.results)
      for _, r in ipairs(answer.results) do assert.truthy(r.body and r.body.id, cjson.encode(r)) end
      assert.is_true(emu:count { fault = "rate_limit" } > 0)
    end)

    it("refuses a shared_dict that nginx.conf does not declare", function()
      local answer = run { base_url = emu:url("vapi"), args = { FIELDS },
        client = { shared_dict = "no_such_dict" } }
      assert.truthy(answer.raised and answer.raised:find("campaign.client: shared_dict: "
        .. "nginx.conf declares no lua_shared_dict \"no_such_dict\" (add: lua_shared_dict "
        .. "no_such_dict 1m;)", 1, true), cjson.encode(answer))
      assert.are.equal(0, emu:stats().requests)
    end)

    it("keeps connections alive in nginx's pool", function()
      local answer = run { base_url = emu:url("vapi"), args = { FIELDS }, times = 3 }
      for _, r in ipairs(answer.results) do assert.truthy(r.body.id, cjson.encode(r)) end
      local id = answer.results[1].body.id
      run { op = "get", base_url = emu:url("vapi"), args = { id }, times = 2 }
      local reqs = emu:requests()
      assert.are.equal(5, #reqs)
      assert.are.equal(reqs[1].connection, reqs[2].connection)
      assert.are.equal(reqs[2].connection, reqs[3].connection)
      assert.are.equal(reqs[4].connection, reqs[5].connection)
    end)

    it("sends every method: create, update (PATCH), get, stop, delete", function()
      local base = emu:url("vapi")
      local id = one({ base_url = base, args = { FIELDS } }).body.id
      assert.are.equal("Renamed", one({ op = "update", base_url = base,
        args = { id, { name = "Renamed" } } }).body.name)
      assert.are.equal("Renamed", one({ op = "get", base_url = base, args = { id } }).body.name)
      assert.are.equal("cancelled", one({ op = "stop", base_url = base, args = { id } }).body.status)
      assert.truthy(one({ op = "delete", base_url = base, args = { id } }).body)
      local methods = {}
      for _, r in ipairs(emu:requests()) do methods[#methods + 1] = r.method end
      assert.are.same({ "POST", "PATCH", "GET", "PATCH", "DELETE" }, methods)
      assert.are.same({}, emu:campaigns("vapi"))
    end)

    it("runs batches too (one request at a time)", function()
      local r = one { op = "create_many", base_url = emu:url("vapi"), args = { { FIELDS, FIELDS } } }
      assert.are.equal(2, #r.body)
      assert.truthy(r.body[1].id and r.body[2].id, cjson.encode(r))
      assert.are.equal(2, emu:count { method = "POST" })
    end)

    it("speaks TLS, checking the certificate and the host name", function()
      local base = "https://localhost:" .. need().tls_port .. "/vapi"
      local r = one { base_url = base, args = { FIELDS } }
      assert.truthy(r.body and r.body.id, cjson.encode(r))
      -- The certificate is for "localhost", not 127.0.0.1.
      local ip = "https://127.0.0.1:" .. srv.tls_port .. "/vapi"
      r = one { base_url = ip, args = { FIELDS }, client = { max_retries = 0 } }
      assert.are.equal("transport", r.err.kind)
      assert.truthy(r.err.message:find("TLS handshake with 127.0.0.1 failed", 1, true), r.err.message)
      assert.is_nil(r.err.outcome_unknown)
      r = one { base_url = ip, args = { FIELDS }, client = { ssl_verify = false } }
      assert.truthy(r.body and r.body.id, cjson.encode(r))
      assert.are.equal(2, emu:count { method = "POST" })
    end)

    it("a refused connection was never sent: retried, never outcome_unknown", function()
      local r = one { base_url = "http://127.0.0.1:" .. closed_port() .. "/vapi", args = { FIELDS },
        client = { max_retries = 1, retry_delay = 0.01 } }
      assert.are.equal("transport", r.err.kind)
      assert.truthy(r.err.message:find("cannot connect to 127.0.0.1", 1, true), r.err.message)
      assert.are.equal(2, r.err.attempts)
      assert.is_nil(r.err.outcome_unknown)
    end)

    it("a create without an answer in time is a timeout with outcome_unknown, not repeated", function()
      -- Held 2 s at most: past the timeout (0.3 s).
      emu:fault { provider = "vapi", method = "POST", hold = 2 }
      local r = one { base_url = emu:url("vapi"), args = { FIELDS }, client = { timeout = 0.3 } }
      assert.is_nil(r.body, "answered after the hold: the timeout was not applied")
      assert.are.equal("timeout", r.err.kind)
      assert.is_true(r.err.outcome_unknown)
      local sent = emu:requests()
      assert.are.equal(1, #sent)
      -- The client gave up while the emulator still held the create.
      assert.is_nil(sent[1].answered)
      assert.are.equal(1, emu:release())
      no_key(r.err)
      -- And an answer held for less than the timeout is taken.
      emu:reset()
      emu:fault { provider = "vapi", method = "POST", hold = 0.2 }
      r = one { base_url = emu:url("vapi"), args = { FIELDS }, client = { timeout = 1 } }
      assert.truthy(r.body and r.body.id, cjson.encode(r))
    end)

    it("a trickled answer still ends at the timeout", function()
      -- The whole body would take 40 s to trickle: only a timeout for the
      -- whole answer, not one per read, ends it.
      emu:fault { provider = "vapi", method = "GET", action = "trickle", body_size = 2000,
        status = 200 }
      local r = one { op = "get", base_url = emu:url("vapi"), args = { "abc" },
        client = { timeout = 0.5, max_retries = 0 } }
      assert.are.equal("timeout", r.err.kind)
      assert.are.equal(1, emu:count { method = "GET" })
    end)

    it("a connection dropped after a create is outcome_unknown, and the create is not repeated", function()
      emu:fault { provider = "vapi", method = "POST", action = "drop", after = true }
      local r = one { base_url = emu:url("vapi"), args = { FIELDS } }
      assert.are.equal("transport", r.err.kind)
      assert.is_true(r.err.outcome_unknown)
      assert.are.equal(1, emu:count { method = "POST" })
      assert.are.equal(1, #emu:campaigns("vapi"))
    end)

    it("a get whose connection drops is retried", function()
      emu:fault { provider = "vapi", method = "GET", action = "drop" }
      local r = one { op = "list", base_url = emu:url("vapi"), client = { retry_delay = 0.01 } }
      assert.is_nil(r.err, cjson.encode(r))
      assert.are.equal(2, emu:count { method = "GET" })
    end)

    it("a reset in the middle of the body is outcome_unknown for a create", function()
      emu:fault { provider = "vapi", method = "POST", action = "reset_mid_body", after = true }
      local r = one { base_url = emu:url("vapi"), args = { FIELDS } }
      assert.are.equal("transport", r.err.kind)
      assert.is_true(r.err.outcome_unknown)
      assert.are.equal(1, emu:count { method = "POST" })
    end)

    it("429 with Retry-After is waited out (ngx.sleep) and retried", function()
      emu:fault { provider = "vapi", method = "POST", status = 429, headers = { ["Retry-After"] = "0" } }
      local r = one { base_url = emu:url("vapi"), args = { FIELDS } }
      assert.truthy(r.body and r.body.id, cjson.encode(r))
      assert.are.equal(2, emu:count { method = "POST" })
    end)

    it("provider errors are http errors with the provider's words", function()
      emu:fault { provider = "vapi", method = "POST", status = 400,
        json = { message = { "name must be shorter" }, error = "Bad Request", statusCode = 400 } }
      local r = one { base_url = emu:url("vapi"), args = { FIELDS } }
      assert.are.equal("http", r.err.kind)
      assert.are.equal(400, r.err.status)
      assert.truthy(r.err.message:find("name must be shorter", 1, true), r.err.message)
    end)

    it("reads chunked answers and answers ended by a close; joins repeated headers", function()
      local port = need().port
      for _, path in ipairs({ "/chunked", "/until-close" }) do
        local answer = run { request = { method = "GET",
          url = "http://127.0.0.1:" .. port .. path .. "/v2/campaign/abc",
          headers = { Authorization = "Bearer x", Accept = "application/json" },
          timeout = 5, connect_timeout = 1 } }
        assert.is_nil(answer.err, cjson.encode(answer))
        local resp = answer.resp
        assert.are.equal(200, resp.status)
        assert.are.equal("a=1, b=2", resp.headers["set-cookie"])
        local body = cjson.decode(resp.body)
        assert.are.equal("abc", body.id)
        assert.are.equal(5000, #body.name)
        assert.is_true(body.authorized)
      end
    end)

    it("refuses a body larger than max_body", function()
      local answer = run { transport = { max_body = 1000 }, request = { method = "GET",
        url = "http://127.0.0.1:" .. need().port .. "/chunked/v2/campaign/abc", headers = {},
        timeout = 5, connect_timeout = 1 } }
      assert.is_nil(answer.resp)
      assert.are.equal("transport", answer.err.kind)
      assert.truthy(answer.err.message:find("larger than the limit of 1000 bytes", 1, true),
        answer.err.message)
    end)

    it("where nginx has no sockets (set_by_lua), answers a transport error: nothing sent", function()
      local status, body = need():get("/in-set")
      assert.are.equal(200, status, body)
      local answer = cjson.decode(body)
      assert.are.equal("transport", answer.err.kind, body)
      assert.is_false(answer.err.sent)
      assert.truthy(answer.err.message:find("nginx sockets cannot be used here", 1, true), body)
      assert.are.equal(0, emu:stats().requests)
    end)

    it("refuses header values with CR or LF before connecting", function()
      local answer = run { request = { method = "GET", url = emu:url("vapi") .. "/v2/campaign",
        headers = { ["X-A"] = "a\r\nX-B: b" }, timeout = 5, connect_timeout = 1 } }
      assert.are.equal("transport", answer.err.kind)
      assert.is_false(answer.err.sent)
      assert.are.equal(0, emu:stats().requests)
    end)
  end)
end)

-- The libcurl transport against the same TLS front (a self-signed
-- certificate for "localhost"): verification is on by default, ca_file
-- trusts the certificate, ssl_verify = false is the explicit way out.
describe("libcurl over TLS", function()
  local campaign = require "campaign"
  local emu, srv, start_error

  setup(function()
    local ok, err = pcall(function()
      emu = emulator.start()
      srv = server.start { emu = emu }
    end)
    if not ok then start_error = err end
  end)

  teardown(function()
    if srv then srv:stop() end
    if emu then emu:stop() end
  end)

  local function client(extra)
    assert(srv, "the TLS server is not running: " .. tostring(start_error))
    local opts = { provider = "vapi", api_key = emu.keys.vapi,
      base_url = ("https://localhost:%d/vapi"):format(srv.tls_port), max_retries = 0 }
    for k, v in pairs(extra or {}) do opts[k] = v end
    return campaign.client(opts)
  end

  it("refuses a certificate it cannot verify", function()
    local _, err = client():list()
    assert.are.equal("transport", err.kind)
    assert.truthy(err.message:lower():find("certificate", 1, true), err.message)
    assert.is_nil(err.outcome_unknown)
  end)

  it("trusts the certificate given as ca_file", function()
    local page = assert(client({ ca_file = srv.prefix .. "/cert.pem" }):list())
    assert.is_table(page.results)
  end)

  it("checks the host name against the certificate", function()
    -- Same server, same trusted certificate, but reached as 127.0.0.1: the
    -- certificate names only localhost.
    local c = client({ ca_file = srv.prefix .. "/cert.pem",
      base_url = ("https://127.0.0.1:%d/vapi"):format(srv.tls_port) })
    local _, err = c:list()
    assert.are.equal("transport", err.kind)
    assert.truthy(err.message:find("127.0.0.1", 1, true), err.message)
    assert.is_nil(err.message:lower():find("refused", 1, true), err.message)
  end)

  it("skips verification only with ssl_verify = false", function()
    local page = assert(client({ ssl_verify = false }):list())
    assert.is_table(page.results)
  end)
end)
