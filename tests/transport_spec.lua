-- Faults injected by the emulator, against the libcurl transport: for each,
-- the error kind and fields, how many requests the provider received (a
-- create is never received twice unless the first surely failed), and the
-- waits the client asked for. Every error string and log line of this file
-- is kept and searched for the API key at the end.
local campaign = require "campaign"
local cjson = require "cjson"
local emulator = require "helpers.emulator"
local fixtures = require "helpers.fixtures"

local KEY = "vapi-transport-key-7d1f0c9e2b"
local SMALLEST_KEY = "smallest-transport-key-4a8e"

local FIELDS = fixtures.vapi()
local SMALLEST = fixtures.smallest()

describe("transport faults", function()
  local emu, c, log

  local function record(line) log[#log + 1] = line end

  local function client(extra)
    local opts = { provider = "vapi", api_key = KEY, base_url = emu:url("vapi"),
      retry_delay = 0.01, max_retries = 2, timeout = 5,
      on_request = function(info) record(cjson.encode(info)) end,
      on_response = function(info)
        local copy = {}
        for k, v in pairs(info) do copy[k] = k == "error" and tostring(v) or v end
        record(cjson.encode(copy))
      end }
    for k, v in pairs(extra or {}) do opts[k] = v end
    return campaign.client(opts)
  end

  local function check_err(err)
    record(tostring(err))
    record(err.message)
    if type(err.body) == "string" then record(err.body) end
    return err
  end

  -- A client whose waits are recorded instead of slept.
  local function recording(extra)
    local sleeps = {}
    local opts = { sleep = function(seconds) sleeps[#sleeps + 1] = seconds end }
    for k, v in pairs(extra or {}) do opts[k] = v end
    return client(opts), sleeps
  end

  setup(function()
    emu = emulator.start()
    log = {}
  end)

  teardown(function()
    if emu then emu:stop() end
  end)

  before_each(function()
    emu:reset()
    emu:set_keys({ vapi = KEY, smallest = SMALLEST_KEY })
    c = client()
  end)

  local function a_campaign()
    return assert(c:create(FIELDS)).id
  end

  describe("server errors", function()
    for _, status in ipairs({ 500, 502, 503, 504 }) do
      it(status .. " on create: not repeated, outcome unknown", function()
        emu:fault { provider = "vapi", method = "POST", status = status, times = -1 }
        local _, err = c:create(FIELDS)
        check_err(err)
        assert.are.equal("http", err.kind)
        assert.are.equal(status, err.status)
        assert.is_true(err.outcome_unknown)
        assert.are.equal(1, err.attempts)
        assert.are.equal(1, emu:count { method = "POST" })
      end)

      it(status .. " on update (PATCH): not repeated, outcome unknown", function()
        local id = a_campaign()
        emu:fault { provider = "vapi", method = "PATCH", status = status, times = -1 }
        local _, err = c:update(id, { name = "x" })
        check_err(err)
        assert.is_true(err.outcome_unknown)
        assert.are.equal(1, emu:count { method = "PATCH" })
      end)

      it(status .. " on get, list and delete: retried max_retries times", function()
        local id = a_campaign()
        for _, call in ipairs({ { "GET", function() return c:get(id) end },
          { "GET", function() return c:list() end },
          { "DELETE", function() return c:delete(id) end } }) do
          emu:reset()
          emu:set_keys({ vapi = KEY })
          emu:fault { provider = "vapi", method = call[1], status = status, times = -1 }
          local _, err = call[2]()
          check_err(err)
          assert.are.equal(status, err.status)
          assert.is_nil(err.outcome_unknown)
          assert.are.equal(3, err.attempts)
          assert.are.equal(3, emu:count { method = call[1] })
        end
      end)

      it(status .. " on start (Smallest, POST): not repeated", function()
        local s = campaign.client { provider = "smallest", api_key = SMALLEST_KEY,
          base_url = emu:url("smallest"), retry_delay = 0.01 }
        local created = assert(s:create(SMALLEST))
        emu:fault { provider = "smallest", method = "POST", path = "/start$", status = status, times = -1 }
        local _, err = s:start(created._id)
        check_err(err)
        assert.is_true(err.outcome_unknown)
        assert.are.equal(1, emu:count { provider = "smallest", path = "/campaign/" .. created._id .. "/start" })
      end)
    end

    it("a get that fails once is retried and succeeds", function()
      local id = a_campaign()
      emu:fault { provider = "vapi", method = "GET", status = 502 }
      assert.are.equal(id, assert(c:get(id)).id)
      assert.are.equal(2, emu:count { method = "GET" })
    end)

    it("503 with Retry-After is retried for create, which is then received twice", function()
      emu:fault { provider = "vapi", method = "POST", status = 503, headers = { ["Retry-After"] = "0" } }
      assert.is_string(assert(c:create(FIELDS)).id)
      assert.are.equal(2, emu:count { method = "POST" })
      assert.are.equal(1, #emu:campaigns("vapi"))
    end)

    it("an HTML error page is kept as text", function()
      emu:fault { provider = "vapi", method = "POST", status = 500,
        headers = { ["Content-Type"] = "text/html" }, body = "<html><h1>Internal error</h1></html>" }
      local _, err = c:create(FIELDS)
      check_err(err)
      assert.are.equal("HTTP 500 Internal Server Error", err.message)
      assert.are.equal("<html><h1>Internal error</h1></html>", err.body)
    end)
  end)

  describe("rate limits", function()
    it("429 without Retry-After backs off and retries a create", function()
      emu:fault { provider = "vapi", method = "POST", status = 429 }
      assert(c:create(FIELDS))
      assert.are.equal(2, emu:count { method = "POST" })
    end)

    it("429 with Retry-After waits that long", function()
      local waiting, sleeps = recording()
      emu:fault { provider = "vapi", method = "POST", status = 429, headers = { ["Retry-After"] = "1" } }
      assert(waiting:create(FIELDS))
      -- One wait: what was left of the provider's second once the 429 was read.
      assert.are.equal(1, #sleeps)
      assert.is_true(sleeps[1] > 0.9 and sleeps[1] <= 1, tostring(sleeps[1]))
      assert.are.equal(2, emu:count { method = "POST" })
    end)

    it("a Retry-After longer than max_retry_delay is returned, not waited", function()
      local patient, sleeps = recording({ max_retry_delay = 2 })
      emu:fault { provider = "vapi", method = "POST", status = 429, headers = { ["Retry-After"] = "120" } }
      local _, err = patient:create(FIELDS)
      assert.are.same({}, sleeps)
      check_err(err)
      assert.are.equal(429, err.status)
      assert.are.equal(120, err.retry_after)
      assert.are.equal(1, err.attempts)
    end)

    it("Retry-After as an HTTP date", function()
      local patient = client({ max_retry_delay = 0.5 })
      local date = os.date("!%a, %d %b %Y %H:%M:%S GMT", os.time() + 30)
      emu:fault { provider = "vapi", method = "POST", status = 429, headers = { ["Retry-After"] = date } }
      local _, err = patient:create(FIELDS)
      check_err(err)
      assert.is_true(err.retry_after >= 25 and err.retry_after <= 31, "retry_after " .. err.retry_after)
    end)

    it("Smallest's retry_after in the body", function()
      local s = campaign.client { provider = "smallest", api_key = SMALLEST_KEY,
        base_url = emu:url("smallest"), max_retry_delay = 1 }
      emu:fault { provider = "smallest", method = "POST", status = 429,
        json = { status = false, error = "Rate limit exceeded", code = "RATE_LIMIT_EXCEEDED", retry_after = 60 } }
      local _, err = s:create(SMALLEST)
      check_err(err)
      assert.are.equal(60, err.retry_after)
      assert.are.equal("HTTP 429 Too Many Requests: Rate limit exceeded", err.message)
      assert.are.equal(1, emu:count { provider = "smallest" })
    end)

    it("per-call max_wait for 429s, max_retries for the rest", function()
      -- A 429 is the provider's pace: max_retries does not count it, max_wait bounds it.
      emu:fault { provider = "vapi", method = "POST", status = 429, times = -1 }
      local _, err = c:create(FIELDS, { max_retries = 0, max_wait = 0 })
      check_err(err)
      assert.are.equal(1, err.attempts)
      assert.are.equal(1, emu:count { method = "POST" })
      emu:clear_faults()
      local id = assert(c:create(FIELDS)).id
      emu:fault { provider = "vapi", method = "GET", status = 500, times = -1 }
      _, err = c:get(id, { max_retries = 0 })
      check_err(err)
      assert.are.equal(1, err.attempts)
      assert.are.equal(1, emu:count { method = "GET" })
    end)
  end)

  describe("connections", function()
    it("refused: retried, and a create too, since nothing was sent", function()
      local closed = client({ base_url = "http://127.0.0.1:" .. (emu.port + 1) .. "/vapi" })
      local _, err = closed:create(FIELDS)
      check_err(err)
      assert.are.equal("transport", err.kind)
      assert.is_nil(err.outcome_unknown)
      assert.are.equal(3, err.attempts)
    end)

    it("reset before the response: a create is not repeated", function()
      emu:fault { provider = "vapi", method = "POST", action = "drop", after = true, times = -1 }
      local _, err = c:create(FIELDS)
      check_err(err)
      assert.are.equal("transport", err.kind)
      assert.is_true(err.outcome_unknown)
      assert.are.equal(1, emu:count { method = "POST" })
      assert.are.equal(1, #emu:campaigns("vapi"))
    end)

    it("reset before the response: a get is retried", function()
      local id = a_campaign()
      emu:fault { provider = "vapi", method = "GET", action = "drop", times = -1 }
      local _, err = c:get(id)
      check_err(err)
      assert.are.equal("transport", err.kind)
      assert.are.equal(3, err.attempts)
      -- libcurl itself sends a get once more when a reused connection died
      -- before any answer (the first attempt here): that is safe for a get.
      assert.are.equal(4, emu:count { method = "GET" })
    end)

    it("a create on a reused connection that dies is not sent again by libcurl", function()
      assert(c:create(FIELDS))
      emu:fault { provider = "vapi", method = "POST", action = "drop", after = true }
      local _, err = c:create(FIELDS)
      check_err(err)
      assert.are.equal("transport", err.kind)
      assert.is_true(err.outcome_unknown)
      assert.are.equal(2, emu:count { method = "POST" })
      assert.are.equal(2, #emu:campaigns("vapi"))
    end)

    it("a create after a long idle spell goes over a fresh connection", function()
      assert(c:create(FIELDS))
      local socket = require "socket"
      socket.sleep(2.2)
      assert(c:create(FIELDS))
      local reqs = emu:requests()
      assert.are_not.equal(reqs[1].connection, reqs[2].connection)
      assert(c:create(FIELDS))
      assert.are.equal(reqs[2].connection, emu:last().connection)
    end)

    it("reset in the middle of the body: a create is not repeated", function()
      emu:fault { provider = "vapi", method = "POST", action = "reset_mid_body", after = true }
      local _, err = c:create(FIELDS)
      check_err(err)
      assert.are.equal("transport", err.kind)
      assert.is_true(err.outcome_unknown)
      assert.are.equal(1, emu:count { method = "POST" })
    end)
  end)

  describe("timeouts", function()
    it("slow headers end in a timeout within the limit", function()
      -- Held 3 s at most: past the call's timeout (0.5 s), short of the client's (5 s).
      emu:fault { provider = "vapi", method = "POST", hold = 3 }
      local created, err = c:create(FIELDS, { timeout = 0.5 })
      assert.is_nil(created, "answered after the hold: the call's timeout was not applied")
      check_err(err)
      assert.are.equal("timeout", err.kind)
      assert.is_true(err.outcome_unknown)
      local sent = emu:requests()
      assert.are.equal(1, #sent)
      -- The client gave up while the emulator still held the create.
      assert.is_nil(sent[1].answered)
      assert.are.equal(1, emu:release())
      -- And an answer held for less than the timeout is taken.
      emu:reset()
      emu:set_keys({ vapi = KEY })
      emu:fault { provider = "vapi", method = "POST", hold = 0.2 }
      assert(c:create(FIELDS, { timeout = 1 }))
      assert.are.equal(1, emu:count { method = "POST", status = 201 })
    end)

    it("a trickling body ends in a timeout within the limit", function()
      -- The whole body would take 40 s to trickle: only a timeout for the
      -- whole transfer, not one per read, ends it.
      local id = a_campaign()
      emu:fault { provider = "vapi", method = "GET", status = 200, body_size = 4000,
        action = "trickle", trickle_bytes = 10, trickle_interval = 0.1, times = -1 }
      local _, err = c:get(id, { timeout = 0.5, max_retries = 1 })
      check_err(err)
      assert.are.equal("timeout", err.kind)
      assert.are.equal(2, err.attempts)
      assert.are.equal(2, emu:count { method = "GET" })
    end)

    it("connect_timeout: a connect left unanswered is a timeout, retried since nothing was sent", function()
      -- A listener whose accept queue is full: further SYNs go unanswered.
      local socket = require "socket"
      local server = socket.tcp()
      assert(server:bind("127.0.0.1", 0))
      assert(server:listen(0))
      local _, port = server:getsockname()
      local filler = socket.tcp()
      filler:settimeout(0.2)
      assert(filler:connect("127.0.0.1", port))
      local far = client({ base_url = "http://127.0.0.1:" .. port .. "/vapi",
        connect_timeout = 0.3, max_retries = 1 })
      local _, err = far:create(FIELDS)
      filler:close()
      server:close()
      check_err(err)
      assert.are.equal("timeout", err.kind)
      assert.is_nil(err.outcome_unknown)
      assert.are.equal(2, err.attempts)
      -- Whether connect_timeout (0.3 s) or timeout (5 s) ended each attempt
      -- only the time tells: libcurl words either as "Connection timed out
      -- after T milliseconds", or says "Failed to connect" or "Connection
      -- timeout" for the first.
    end)
  end)

  describe("bodies", function()
    it("invalid JSON with 201", function()
      emu:fault { provider = "vapi", method = "POST", status = 201, body = '{"id": "c-1",' , after = true }
      local _, err = c:create(FIELDS)
      check_err(err)
      assert.are.equal("decode", err.kind)
      assert.are.equal(201, err.status)
      assert.are.equal('{"id": "c-1",', err.body)
      assert.are.equal(1, emu:count { method = "POST" })
    end)

    it("an empty body with 201", function()
      emu:fault { provider = "vapi", method = "POST", status = 201, body = "", after = true }
      local _, err = c:create(FIELDS)
      check_err(err)
      assert.are.equal("decode", err.kind)
      assert.truthy(err.message:find("HTTP 201 with an empty body", 1, true))
      assert.are.equal(1, emu:count { method = "POST" })
    end)

    it("an empty body is fine where nothing is expected back", function()
      local id = a_campaign()
      emu:fault { provider = "vapi", method = "DELETE", status = 204, body = "", after = true }
      assert.are.same({}, assert(c:delete(id)))
    end)

    it("a body over the cap is a transport error", function()
      local capped = client({ max_body = 64 * 1024 })
      emu:fault { provider = "vapi", method = "GET", status = 200, body_size = 1024 * 1024, times = -1 }
      local _, err = capped:list()
      check_err(err)
      assert.are.equal("transport", err.kind)
      assert.truthy(err.message:find("larger than the limit of 65536 bytes", 1, true))
    end)

    it("a redirect to another host is not followed", function()
      emu:fault { provider = "vapi", method = "POST", action = "redirect",
        location = "https://attacker.example/v2/campaign" }
      local _, err = c:create(FIELDS)
      check_err(err)
      assert.are.equal(302, err.status)
      assert.truthy(err.message:find("not followed", 1, true))
      assert.are.equal(1, emu:count())
    end)
  end)

  describe("hooks", function()
    it("on_request and on_response see every attempt, redacted", function()
      local seen = {}
      local h = client({
        on_request = function(info) seen[#seen + 1] = { "request", info } end,
        on_response = function(info) seen[#seen + 1] = { "response", info } end,
      })
      emu:fault { provider = "vapi", method = "POST", status = 429, headers = { ["Retry-After"] = "0" } }
      assert(h:create(FIELDS))
      assert.are.equal(4, #seen)
      assert.are.equal("request", seen[1][1])
      assert.are.equal("[REDACTED]", seen[1][2].headers.Authorization)
      assert.are.equal(1, seen[1][2].attempt)
      assert.are.equal(429, seen[2][2].status)
      -- "Retry-After: 0": the client still pauses its floor of 0.05 s.
      local retry_in = seen[2][2].retry_in
      assert.is_true(retry_in > 0 and retry_in <= 0.05 + 1e-9, tostring(retry_in))
      assert.are.equal(2, seen[3][2].attempt)
      assert.are.equal(201, seen[4][2].status)
      assert.is_number(seen[4][2].elapsed)
      for _, entry in ipairs(seen) do record(cjson.encode(entry[2])) end
    end)

    it("a hook that raises does not break the call", function()
      local h = client({ on_request = function() error("logger down") end })
      assert(h:create(FIELDS))
    end)
  end)

  it("no error string or log line of this file contains an API key", function()
    assert.is_true(#log > 50, "only " .. #log .. " lines were collected")
    for _, line in ipairs(log) do
      assert.is_nil(line:find(KEY, 1, true), line)
      assert.is_nil(line:find(SMALLEST_KEY, 1, true), line)
    end
  end)
end)

describe("proxies", function()
  local emu

  setup(function() emu = emulator.start() end)
  teardown(function() if emu then emu:stop() end end)
  before_each(function() emu:reset() end)

  it("sends through the proxy option", function()
    -- The emulator plays the proxy: it gets the absolute URL and serves it.
    local c = campaign.client { provider = "vapi", api_key = emu.keys.vapi,
      base_url = "http://vapi.invalid/vapi", allow_http = true, proxy = emu.base, max_retries = 0 }
    local created = assert(c:create(FIELDS))
    assert.is_string(created.id)
    assert.are.equal("/v2/campaign", emu:last().path)
    assert.are.equal("vapi.invalid", emu:last().headers.host)
  end)

  it("honours no_proxy", function()
    local c = campaign.client { provider = "vapi", api_key = emu.keys.vapi,
      base_url = "http://vapi.invalid/vapi", allow_http = true, proxy = emu.base,
      no_proxy = "vapi.invalid", max_retries = 0, connect_timeout = 2 }
    local _, err = c:create(FIELDS)
    assert.are.equal("transport", err.kind)
    assert.is_nil(err.outcome_unknown)
    assert.are.equal(0, emu:count())
  end)

  it("takes the proxy from the environment like curl", function()
    local proc = require "helpers.proc"
    local code, out = proc.sh(("http_proxy=%s %s -e 'local c = require(\"campaign\").client{provider = \"vapi\", "
      .. "api_key = \"%s\", base_url = \"http://vapi.invalid/vapi\", allow_http = true, max_retries = 0} "
      .. "local body, err = c:list() print(body and \"listed\" or tostring(err))'"):format(emu.base,
      proc.LUA, emu.keys.vapi))
    assert.are.equal(0, code, out)
    assert.are.equal("listed\n", out)
    assert.are.equal(1, emu:count { method = "GET" })
  end)
end)
