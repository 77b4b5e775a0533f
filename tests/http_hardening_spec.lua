-- The libcurl transport (src/http.c) against raw-socket servers on the
-- loopback (tests/helpers/raw_http.lua):
--  * a request that must not be repeated (create, start) is never sent a
--    second time by libcurl when a reused keep-alive connection dies before
--    any answer, with a body or without one, one at a time or in a batch;
--    requests that are safe to repeat still are, transparently;
--  * what curl reads from Lua memory (the request body) is held by the
--    transfer until it ends, and a request table's metamethods or a
--    finalizer cannot pull the handle away from under a call.
-- The suite runs under valgrind too (make valgrind): a read of freed memory
-- fails it there.
local campaign = require "campaign"
local core = require "campaign.core"
local rawserver = require "helpers.rawserver"
local fixtures = require "helpers.fixtures"

local KEY = "a-long-test-key-1234"
local ID = "60d0fe4f5311236168a109ca"
local BASE_PATH = "/atoms/v1"
local CREATE = fixtures.smallest()

local function smallest(srv, extra)
  local opts = { provider = "smallest", api_key = KEY, base_url = srv.url .. BASE_PATH,
    retry_delay = 0.01, timeout = 10 }
  for k, v in pairs(extra or {}) do opts[k] = v end
  return campaign.client(opts)
end

-- The error never shows the key, whichever way it is printed.
local function no_key(err)
  assert.is_nil(tostring(err):find(KEY, 1, true))
  assert.is_nil(tostring(err.message):find(KEY, 1, true))
end

-- Waits on a handle until n transfers have ended; their results by id.
local function wait_all(h, n)
  local results, got = {}, 0
  for _ = 1, 300 do
    for _, r in ipairs(h:wait(0.1)) do
      assert.is_nil(results[r.id], "a transfer ended twice")
      results[r.id] = r
      got = got + 1
    end
    if got >= n then break end
  end
  assert.are.equal(n, got)
  return results
end

describe("http: a request that must not be repeated, on a keep-alive connection that dies", function()
  local srv

  before_each(function() srv = rawserver.start("hostile") end)
  after_each(function()
    if srv then srv:stop() end
    srv = nil
  end)

  it("a start (POST without a body) is not sent a second time: outcome unknown", function()
    local c = smallest(srv)
    assert(c:start(ID))
    local body, err = c:start(ID)
    assert.is_nil(body)
    no_key(err)
    assert.are.equal("transport", err.kind)
    assert.is_true(err.outcome_unknown)
    assert.are.equal(1, err.attempts)
    local path = BASE_PATH .. "/campaign/" .. ID .. "/start"
    assert.are.equal(2, srv:count("POST", path))
    -- Both over the same connection: the second was the one that died.
    local reqs = srv:requests()
    assert.are.same({ 1, 1 }, { reqs[1].conn, reqs[1].nth })
    assert.are.same({ 1, 2 }, { reqs[2].conn, reqs[2].nth })
    c:close()
  end)

  it("a create (POST with a body) is not sent a second time: outcome unknown", function()
    local c = smallest(srv)
    assert(c:create(CREATE))
    local body, err = c:create(CREATE)
    assert.is_nil(body)
    no_key(err)
    assert.are.equal("transport", err.kind)
    assert.is_true(err.outcome_unknown)
    assert.are.equal(2, srv:count("POST", BASE_PATH .. "/campaign"))
    c:close()
  end)

  it("a get is sent again by libcurl over a fresh connection, transparently", function()
    -- No retries of the client's own: only libcurl's can make the second get succeed.
    local c = smallest(srv, { max_retries = 0 })
    assert(c:get(ID))
    local body, err = c:get(ID)
    assert.is_nil(err)
    assert.are.equal(ID, body._id)
    local reqs = srv:requests()
    assert.are.equal(3, srv:count("GET", BASE_PATH .. "/campaign/" .. ID))
    assert.are.same({ 1, 2 }, { reqs[2].conn, reqs[2].nth })
    assert.are.same({ 2, 1 }, { reqs[3].conn, reqs[3].nth })
    c:close()
  end)

  it("perform: a POST without a body reports sent = true when libcurl would send it again", function()
    local h = core.http {}
    local req = { method = "POST", url = srv.url .. "/start", no_resend = true, timeout = 10 }
    assert.are.equal(200, assert(h:perform(req)).status)
    local resp, kind, message, sent = h:perform(req)
    assert.is_nil(resp)
    assert.are.equal("transport", kind)
    assert.are.equal("string", type(message))
    assert.is_true(sent)
    assert.are.equal(2, srv:count("POST"))
    h:close()
  end)

  it("batches (add, wait): a POST without a body is not sent again, a GET is", function()
    local h = core.http {}
    h:add(1, { method = "POST", url = srv.url .. "/start", no_resend = true, timeout = 10 })
    assert.are.equal(200, wait_all(h, 1)[1].status)
    h:add(2, { method = "POST", url = srv.url .. "/start", no_resend = true, timeout = 10 })
    local r = wait_all(h, 1)[2]
    assert.is_nil(r.body)
    assert.are.equal("transport", r.kind)
    assert.is_true(r.sent)
    assert.are.equal(2, srv:count("POST"))
    h:close()

    local g = core.http {}
    g:add(3, { method = "GET", url = srv.url .. "/get", timeout = 10 })
    assert.are.equal(200, wait_all(g, 1)[3].status)
    g:add(4, { method = "GET", url = srv.url .. "/get", timeout = 10 })
    assert.are.equal(200, wait_all(g, 1)[4].status)
    assert.are.equal(3, srv:count("GET"))
    g:close()
  end)

  it("create_many: a create on a connection that dies is not sent again", function()
    local c = smallest(srv)
    local results = c:create_many({ CREATE, CREATE }, { concurrency = 1 })
    assert.is_false(campaign.is_error(results[1]))
    assert.is_true(campaign.is_error(results[2]))
    no_key(results[2])
    assert.are.equal("transport", results[2].kind)
    assert.is_true(results[2].outcome_unknown)
    assert.are.equal(2, srv:count("POST", BASE_PATH .. "/campaign"))
    c:close()
  end)
end)

describe("http: what curl reads belongs to the transfer", function()
  local srv

  before_each(function() srv = rawserver.start("echo") end)
  after_each(function()
    if srv then srv:stop() end
    srv = nil
  end)

  local SIZE = 100000

  it("bodies held only by their request tables arrive whole after garbage collection", function()
    local h = core.http {}
    local n = 8
    for i = 1, n do
      h:add(i, { method = "POST", url = srv.url .. "/echo/" .. i, no_resend = true, timeout = 20,
        headers = { ["Content-Type"] = "application/octet-stream" },
        body = string.rep("x", SIZE) .. tostring(i) })
    end
    for _ = 1, 3 do collectgarbage("collect") end
    -- Fresh strings of the same size take the memory the bodies had, if it was freed.
    local filler = {}
    for i = 1, 4 * n do filler[i] = string.rep("y", SIZE) .. tostring(i) end
    local results = wait_all(h, n)
    for i = 1, n do
      local r = results[i]
      assert.are.equal(200, r.status, tostring(r.message))
      assert.is_true(r.body == string.rep("x", SIZE) .. tostring(i), "body " .. i .. " arrived changed")
    end
    local reqs = srv:requests()
    assert.are.equal(n, #reqs)
    for _, r in ipairs(reqs) do
      local i = tonumber(r.path:match("^/echo/(%d+)$"))
      assert.are.equal(SIZE + #tostring(i), r.length)
    end
    assert.are.equal(4 * n, #filler)
    h:close()
  end)

  it("perform: a request table whose __index would close the handle", function()
    local h = core.http {}
    local looked = {}
    local req = setmetatable({ method = "POST", url = srv.url .. "/p", body = "abc", timeout = 10 },
      { __index = function(_, k)
        looked[#looked + 1] = k
        h:close()
      end })
    local ok, resp = pcall(h.perform, h, req)
    -- The request table is read raw: the handle stays open and the call works.
    assert.is_true(ok, tostring(resp))
    assert.are.same({}, looked)
    assert.are.equal(200, resp.status)
    assert.are.equal("abc", resp.body)
    assert.are.equal(200, assert(h:perform { method = "GET", url = srv.url .. "/again" }).status)
    h:close()
    h:close()
    assert.has_error(function() h:perform { method = "GET", url = srv.url .. "/closed" } end,
      "campaign: the HTTP handle is closed")
  end)

  it("add: a request table whose __index would close the handle", function()
    local h = core.http {}
    local looked = {}
    -- One transfer already under way: the new one comes from a grown pool.
    h:add(1, { method = "GET", url = srv.url .. "/first", timeout = 10 })
    local req = setmetatable({ method = "POST", url = srv.url .. "/a", body = "def", timeout = 10,
        headers = setmetatable({}, { __index = function() h:close() end }) },
      { __index = function(_, k)
        looked[#looked + 1] = k
        h:close()
      end })
    local ok, problem = pcall(h.add, h, 2, req)
    assert.is_true(ok, tostring(problem))
    assert.are.same({}, looked)
    local results = wait_all(h, 2)
    assert.are.equal(200, results[1].status)
    assert.are.equal("def", results[2].body)
    h:close()
    assert.has_error(function() h:wait(0.1) end, "campaign: the HTTP handle is closed")
    assert.has_error(function() h:add(3, { method = "GET", url = srv.url .. "/x" }) end,
      "campaign: the HTTP handle is closed")
  end)

  it("a finalizer that closes the handle in the middle of calls: no crash, closed after", function()
    -- An object whose finalizer makes a new one, `left` times, then closes
    -- the handle. With the collector set to run a whole cycle at each of its
    -- checks, each link lives about one check: the close lands at a different
    -- point of the call (reading the request, pushing the result) from one
    -- round to the next.
    local newproxy = rawget(_G, "newproxy")
    local function closer(h, left)
      local function fin()
        if left > 0 then closer(h, left - 1) else h:close() end
      end
      if newproxy then -- Lua 5.1, LuaJIT: tables have no __gc
        local p = newproxy(true)
        getmetatable(p).__gc = fin
        return p
      end
      return setmetatable({}, { __gc = fin })
    end
    local v54 = _VERSION == "Lua 5.4"
    local function eager()
      local saved = { collectgarbage("setpause", 0), collectgarbage("setstepmul", v54 and 1000 or 1e6) }
      -- 5.4 keeps the step multiplier in a byte: larger steps instead.
      if v54 then collectgarbage("incremental", 0, 0, 24) end
      collectgarbage("collect")
      return saved
    end
    local function calm(saved)
      collectgarbage("setpause", saved[1])
      collectgarbage("setstepmul", saved[2])
      if v54 then collectgarbage("incremental", 0, 0, 13) end
    end

    local outcomes = {}
    for _, left in ipairs({ 0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 14, 16 }) do
      for call = 1, 3 do
        local h = core.http {}
        h:add(1, { method = "POST", url = srv.url .. "/f", body = string.rep("z", 5000), timeout = 10 })
        local req = call == 1 and { method = "POST", url = srv.url .. "/g", body = "q", timeout = 10 }
          or { method = "GET", url = srv.url .. "/h", timeout = 10 }
        local saved = eager()
        closer(h, left)
        local good, res
        if call == 1 then
          good, res = pcall(h.perform, h, req)
        elseif call == 2 then
          good, res = pcall(h.add, h, 2, req)
        else
          good, res = pcall(h.wait, h, 5)
        end
        calm(saved)
        outcomes[#outcomes + 1] = { good = good, res = res, call = call }
        h:close()
        assert.has_error(function() h:wait(0) end, "campaign: the HTTP handle is closed")
      end
    end
    for _ = 1, 20 do collectgarbage("collect") end
    for _, o in ipairs(outcomes) do
      if not o.good then
        -- A clean error: the handle was closed under the call.
        assert.are.equal("string", type(o.res))
        assert.truthy(o.res:find("closed", 1, true), o.res)
      elseif o.call == 1 then
        assert.are.equal(200, o.res.status)
        assert.are.equal("q", o.res.body)
      elseif o.call == 3 then
        for _, r in ipairs(o.res) do
          assert.are.equal(1, r.id)
          assert.are.equal(string.rep("z", 5000), r.body)
        end
      end
    end
  end)
end)
