-- The OpenResty transport's HTTP/1.1 on the wire, under every Lua: nginx's
-- socket is replaced by one that plays a scripted answer, cut into reads of
-- every size (one byte at a time included), so that each way an answer can
-- arrive is read the same. tests/openresty_spec.lua runs it in nginx.
local openresty = require "campaign.openresty"
local fixtures = require "helpers.fixtures"

-- A socket class whose answer is `chunks` (strings, one per read; a read
-- of fewer bytes takes part of one), then `ending` ("closed" by default).
-- Everything done to it is written in `log`.
local function scripted(log, chunks, ending, reused)
  local sock = { chunks = {}, log = log }
  for i, c in ipairs(chunks) do sock.chunks[i] = c end
  function sock.settimeout(_, ms) log.timeouts[#log.timeouts + 1] = ms end
  function sock.connect(_, host, port, opts)
    log.connects[#log.connects + 1] = { host = host, port = port, pool = opts and opts.pool }
    return 1
  end
  function sock.getreusedtimes() return reused or 0 end
  function sock.sslhandshake() return true end
  function sock.send(_, data)
    local parts = {}
    if type(data) == "table" then
      for i = 1, #data do parts[i] = tostring(data[i]) end
    else
      parts[1] = data
    end
    log.sent[#log.sent + 1] = table.concat(parts)
    return #log.sent[#log.sent]
  end
  function sock.receiveany(self, size)
    log.reads = log.reads + 1
    local c = table.remove(self.chunks, 1)
    if not c then return nil, ending or "closed" end
    if #c > size then
      table.insert(self.chunks, 1, c:sub(size + 1))
      c = c:sub(1, size)
    end
    return c
  end
  function sock.setkeepalive(_, ms, size)
    log.kept[#log.kept + 1] = { ms = ms, size = size }
    return 1
  end
  function sock.close() log.closed = log.closed + 1 end
  return sock
end

-- The answer text cut into pieces of n bytes (n = nil: whole).
local function cut(text, n)
  if text == "" then return {} end
  if not n then return { text } end
  local list = {}
  for i = 1, #text, n do list[#list + 1] = text:sub(i, i + n - 1) end
  return list
end

local SIZES = { false, 1, 2, 3, 7, 64 }

describe("the OpenResty transport on the wire", function()
  local log, answers

  -- Each connection made plays the next answer of `answers`:
  -- {text, n = piece size, ending = ..., reused = times}.
  before_each(function()
    log = { sent = {}, connects = {}, timeouts = {}, kept = {}, closed = 0, reads = 0 }
    answers = {}
    _G.ngx = { socket = { tcp = function()
      local a = assert(table.remove(answers, 1), "no answer scripted for this connection")
      return scripted(log, cut(a[1], a.n or nil), a.ending, a.reused)
    end } }
  end)

  after_each(function()
    _G.ngx = nil
  end)

  local function answer(text, extra)
    local a = { text }
    for k, v in pairs(extra or {}) do a[k] = v end
    answers[#answers + 1] = a
  end

  local function request(extra)
    local req = { method = "GET", url = "http://api.example.com:8080/v2/campaign/abc",
      headers = { Authorization = "Bearer k", Accept = "application/json" },
      timeout = 5, connect_timeout = 1 }
    for k, v in pairs(extra or {}) do req[k] = v end
    return req
  end

  local function send(req, transport_opts)
    return openresty.transport(transport_opts)(req)
  end

  -- The same answer read whole and in pieces of every size: the same result.
  local function each_size(text, check, req, extra)
    for _, n in ipairs(SIZES) do
      log.kept, log.closed = {}, 0
      local a = { n = n or nil }
      for k, v in pairs(extra or {}) do a[k] = v end
      answer(text, a)
      local resp, err = send(req or request())
      check(resp, err, n)
    end
  end

  describe("writes", function()
    it("the request in one send: request line, Host, the headers, Content-Length, the body", function()
      answer("HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}")
      local resp = assert(send(request { method = "POST", body = '{"a":1}',
        headers = { ["Content-Type"] = "application/json", Host = "evil", Connection = "x" } }))
      assert.are.equal(201, resp.status)
      assert.are.equal(1, #log.sent)
      assert.are.equal("POST /v2/campaign/abc HTTP/1.1\r\nHost: api.example.com:8080\r\n"
        .. "Content-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}", log.sent[1])
      assert.are.same({ host = "api.example.com", port = 8080,
        pool = "campaign:http:api.example.com:api.example.com:8080:verify:fresh" }, log.connects[1])
    end)

    it("no Content-Length without a body, 0 for a POST without one", function()
      answer("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
      answer("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
      assert(send(request { headers = {} }))
      assert(send(request { method = "POST", headers = {} }))
      assert.are.equal("GET /v2/campaign/abc HTTP/1.1\r\nHost: api.example.com:8080\r\n\r\n",
        log.sent[1])
      assert.are.equal("POST /v2/campaign/abc HTTP/1.1\r\nHost: api.example.com:8080\r\n"
        .. "Content-Length: 0\r\n\r\n", log.sent[2])
    end)

    it("the path and query of the URL; / when it has none; localhost as 127.0.0.1", function()
      answer("HTTP/1.1 204 No Content\r\n\r\n")
      answer("HTTP/1.1 204 No Content\r\n\r\n")
      assert(send(request { url = "https://Localhost?page=2#frag", headers = {} }))
      assert(send(request { url = "http://[::1]:9/a%20b?x=1", headers = {} }))
      assert.are.equal("GET /?page=2 HTTP/1.1\r\nHost: Localhost\r\n\r\n", log.sent[1])
      assert.are.same({ host = "127.0.0.1", port = 443,
        pool = "campaign:https:localhost:127.0.0.1:443:verify:any" }, log.connects[1])
      assert.are.equal("GET /a%20b?x=1 HTTP/1.1\r\nHost: [::1]:9\r\n\r\n", log.sent[2])
      assert.are.equal("[::1]", log.connects[2].host)
    end)

    it("refuses, before connecting, what cannot be sent", function()
      for _, case in ipairs {
        { { url = "ftp://x/y" }, "only http:// and https:// URLs can be sent" },
        { { url = "http://u:p@x/y" }, "credentials in the URL are not supported" },
        { { url = "http://x:0/y" }, "the URL has an invalid port" },
        { { url = "http://x/a b" }, "the URL contains spaces or control characters" },
        { { method = "get" }, "the method must be an upper-case HTTP method" },
        { { headers = { ["X-A"] = "a\r\nX-B: b" } }, "header X-A must be a string without CR, LF or NUL" },
        { { headers = { ["X A"] = "a" } }, "header names must be HTTP tokens" },
        { { method = "POST", body = 5 }, "the body must be a string" },
      } do
        local resp, err = send(request(case[1]))
        assert.is_nil(resp)
        assert.are.same({ kind = "transport", message = case[2], sent = false }, err)
      end
      assert.are.equal(0, #log.connects)
    end)
  end)

  describe("reads", function()
    it("status and headers: names in lower case, values trimmed, repeats joined; bare LF too", function()
      local text = "HTTP/1.1 200 OK\r\nContent-Type: application/json \r\nSet-Cookie: a=1\r\n"
        .. "set-cookie:b=2\r\nX-Empty:\r\nnot a header\r\nX-Tab:\tv\t\r\nContent-Length: 7\r\n\r\n"
        .. '{"a":1}'
      each_size(text, function(resp)
        assert.are.equal(200, resp.status)
        assert.are.same({ ["content-type"] = "application/json", ["set-cookie"] = "a=1, b=2",
          ["x-empty"] = "", ["x-tab"] = "v", ["content-length"] = "7" }, resp.headers)
        assert.are.equal('{"a":1}', resp.body)
        assert.are.equal(1, #log.kept)
      end)
      each_size((text:gsub("\r\n", "\n")), function(resp)
        assert.are.equal(200, resp.status)
        assert.are.equal("a=1, b=2", resp.headers["set-cookie"])
        assert.are.equal('{"a":1}', resp.body)
      end)
    end)

    it("the head and a body framed by Content-Length in one read when they come together", function()
      answer("HTTP/1.1 201 Created\r\nContent-Length: 10\r\n\r\n{\"id\":\"x\"}")
      local resp = assert(send(request()))
      assert.are.equal('{"id":"x"}', resp.body)
      assert.are.equal(1, log.reads)
      assert.are.same({ { ms = 60000, size = 32 } }, log.kept)
      assert.are.equal(0, log.closed)
    end)

    it("skips 1xx interim answers", function()
      each_size("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\nX-A: 1\r\n\r\n"
        .. "HTTP/1.1 201 Created\r\nX-B: 2\r\nContent-Length: 2\r\n\r\nok", function(resp)
        assert.are.equal(201, resp.status)
        assert.are.same({ ["x-b"] = "2", ["content-length"] = "2" }, resp.headers)
        assert.are.equal("ok", resp.body)
      end)
    end)

    it("a chunked body, with extensions and a trailer", function()
      local text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"
        .. "5;ext=1\r\nhello\r\n1\r\n \r\n0a\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n"
      each_size(text, function(resp)
        assert.are.equal("hello 0123456789", resp.body)
        assert.are.equal(1, #log.kept)
      end)
    end)

    it("a body ended by closing the connection, which is not kept", function()
      each_size("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n\r\nuntil the end", function(resp)
        assert.are.equal("until the end", resp.body)
        assert.are.equal(0, #log.kept)
        assert.are.equal(1, log.closed)
      end)
    end)

    it("no body for HEAD, 204 and 304", function()
      answer("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n")
      local resp = assert(send(request { method = "HEAD" }))
      assert.are.equal("", resp.body)
      assert.are.equal("50", resp.headers["content-length"])
      for _, status in ipairs { 204, 304 } do
        answer(("HTTP/1.1 %d X\r\n\r\n"):format(status))
        resp = assert(send(request()))
        assert.are.equal(status, resp.status)
        assert.are.equal("", resp.body)
      end
      assert.are.equal(3, #log.kept)
    end)

    it("keeps the connection only when the answer is read to its end and nothing more came", function()
      for _, case in ipairs {
        { "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", false },
        { "HTTP/1.1 200 OK\r\nConnection: Keep-Alive, Close\r\nContent-Length: 2\r\n\r\nok", false },
        { "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n", false },
        { "HTTP/1.1 200 OK\r\nConnection: closed-captions\r\nContent-Length: 2\r\n\r\nok", true },
      } do
        log.kept, log.closed = {}, 0
        answer(case[1])
        local resp = assert(send(request()))
        assert.are.equal("ok", resp.body)
        assert.are.equal(case[2] and 1 or 0, #log.kept, case[1])
        assert.are.equal(case[2] and 0 or 1, log.closed, case[1])
      end
    end)

    it("a request that must not be sent twice goes to a pool of connections idle for less than 2 s", function()
      answer("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
      assert(send(request { method = "POST", no_resend = true }, { keepalive_timeout = 30 }))
      assert.are.same({ { ms = 2000, size = 32 } }, log.kept)
      assert.truthy(log.connects[1].pool:find(":fresh$"))
    end)
  end)

  describe("fails", function()
    local function fails(text, message)
      each_size(text, function(resp, err)
        assert.is_nil(resp)
        assert.are.same({ kind = "transport", sent = true, message = message }, err)
        assert.are.equal(0, #log.kept)
      end)
    end

    it("on an answer that is not HTTP", function()
      fails("SSH-2.0-OpenSSH\r\n\r\n", "failed reading the response from api.example.com: "
        .. "the server did not answer with HTTP")
    end)

    it("on a Content-Length that is not a number, or that is given twice differently", function()
      local message = "failed reading the response body from api.example.com: the response has "
        .. "an invalid Content-Length"
      fails("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", message)
      fails("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok", message)
    end)

    it("on a malformed chunk", function()
      local message = "failed reading the response body from api.example.com: the response has "
        .. "a malformed chunk"
      fails("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", message)
      fails("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokX\r\n0\r\n\r\n", message)
      fails("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n2\r\nok\r\n0\r\n\r\n", message)
    end)

    it("on a body over max_body, however it is framed", function()
      local message = "failed reading the response body from api.example.com: the response body "
        .. "is larger than the limit of 10 bytes"
      local big = ("x"):rep(11)
      for _, text in ipairs {
        "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n" .. big,
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nxxxxxx\r\n5\r\nxxxxx\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\n\r\n" .. big,
      } do
        answer(text, { n = 4 })
        local resp, err = send(request(), { max_body = 10 })
        assert.is_nil(resp)
        assert.are.equal(message, err.message)
      end
      -- And one of exactly max_body bytes is read.
      answer("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n" .. big:sub(2))
      assert.are.equal(10, #assert(send(request(), { max_body = 10 })).body)
    end)

    it("on headers over 256 KiB", function()
      local long = "HTTP/1.1 200 OK\r\n" .. ("X-A: " .. ("a"):rep(1000) .. "\r\n"):rep(300)
      answer(long .. "\r\n", { n = 4096 })
      local resp, err = send(request())
      assert.is_nil(resp)
      assert.are.equal("failed reading the response from api.example.com: the response headers "
        .. "are larger than 256 KiB", err.message)
      answer("HTTP/1.1 200 OK\r\nX-A: " .. ("a"):rep(300 * 1024), { n = 65536 })
      resp, err = send(request())
      assert.is_nil(resp)
      assert.truthy(err.message:find("larger than 256 KiB", 1, true), err.message)
    end)

    it("on a timeout: kind timeout, sent", function()
      answer("HTTP/1.1 200 OK\r\n", { ending = "timeout" })
      local resp, err = send(request())
      assert.is_nil(resp)
      assert.are.same({ kind = "timeout", sent = true,
        message = "timed out reading the response from api.example.com" }, err)
      answer("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", { ending = "timeout" })
      resp, err = send(request())
      assert.is_nil(resp)
      assert.are.same({ kind = "timeout", sent = true,
        message = "timed out reading the response body from api.example.com" }, err)
    end)

    it("a truncated answer is a transport error", function()
      answer("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
      local resp, err = send(request())
      assert.is_nil(resp)
      assert.are.same({ kind = "transport", sent = true,
        message = "failed reading the response body from api.example.com: closed" }, err)
    end)
  end)

  describe("a pooled connection found dead before any answer", function()
    it("is given up and the request sent again on a new one when it may be (GET), body and all", function()
      answer("", { reused = 3 })
      answer("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
      local resp = assert(send(request { method = "DELETE", body = "{}" }))
      assert.are.equal("ok", resp.body)
      assert.are.equal(2, #log.sent)
      assert.are.equal(log.sent[1], log.sent[2])
      assert.truthy(log.sent[2]:find("\r\n\r\n{}$"))
    end)

    it("but a create is never sent twice: the outcome is unknown", function()
      answer("", { reused = 3 })
      local resp, err = send(request { method = "POST", body = "{}", no_resend = true })
      assert.is_nil(resp)
      assert.are.same({ kind = "transport", sent = true,
        message = "failed reading the response from api.example.com: closed" }, err)
      assert.are.equal(1, #log.sent)
    end)

    it("nor once it had begun to answer", function()
      answer("HTTP/1.1 2", { reused = 3 })
      local resp, err = send(request())
      assert.is_nil(resp)
      assert.are.equal("failed reading the response from api.example.com: closed", err.message)
      assert.are.equal(1, #log.sent)
    end)
  end)

  describe("in a client", function()
    it("is called with the request's values and the client's own headers, which it keeps", function()
      local c = openresty.client { provider = "vapi", api_key = "wire-test-key-123",
        base_url = "http://127.0.0.1:9/vapi", sleep = function() end }
      for i = 1, 3 do
        answer('HTTP/1.1 201 Created\r\nContent-Length: 11\r\n\r\n{"id":"c' .. i .. '"}')
      end
      for i = 1, 3 do
        local body = assert(c:create(fixtures.vapi()))
        assert.are.equal("c" .. i, body.id)
      end
      assert.are.equal(3, #log.sent)
      assert.are.equal(log.sent[1], log.sent[3])
      assert.truthy(log.sent[1]:find("^POST /vapi/v2/campaign HTTP/1.1\r\nHost: 127.0.0.1:9\r\n"))
      assert.truthy(log.sent[1]:find("\r\nAuthorization: Bearer wire-test-key-123\r\n", 1, true))
      assert.truthy(log.sent[1]:find("\r\nContent-Type: application/json\r\n", 1, true))
      -- A request the caller looked at (and may have changed) goes with its own headers.
      local req = assert(c:prepare("create", fixtures.vapi()))
      req.headers["X-Extra"] = "1"
      answer('HTTP/1.1 201 Created\r\nContent-Length: 11\r\n\r\n{"id":"c4"}')
      local resp = assert(c.transport(req))
      assert.are.equal(201, resp.status)
      assert.truthy(log.sent[4]:find("\r\nX-Extra: 1\r\n", 1, true))
    end)
  end)
end)
