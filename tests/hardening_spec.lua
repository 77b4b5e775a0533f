-- A hostile server, a short key or a careless option never turns the client
-- against its user: plain http only where the bytes stay on this machine,
-- base URLs that cannot smuggle a host or a query, boolean options that are
-- booleans, headers merged by name, redaction that hides the key in every
-- form without touching the caller's data, an unreadable 2xx to a create
-- that says the campaign may exist, one batch at a time per client, and the
-- count of every validation problem.
local campaign = require "campaign"
local cjson = require "cjson"
local emulator = require "helpers.emulator"
local rawserver = require "helpers.rawserver"
local proc = require "helpers.proc"
local fixtures = require "helpers.fixtures"

local KEY = "hardening-key-7Qz/+="
local FIELDS = fixtures.vapi()

-- Every string in v (keys too, at any depth, without recursion: bodies may
-- nest deeper than the C stack allows), and v itself.
local function strings_of(v)
  local list, stack, seen = {}, { v }, {}
  while #stack > 0 do
    local x = table.remove(stack)
    if type(x) == "string" then
      list[#list + 1] = x
    elseif type(x) == "table" and not seen[x] then
      seen[x] = true
      for k, y in pairs(x) do stack[#stack + 1] = k; stack[#stack + 1] = y end
    end
  end
  return list
end

-- The key in any of the forms a provider may echo it in.
local function forms(key)
  local json_slash = key:gsub("/", "\\/")
  local first_u = ("\\u%04x"):format(key:byte(1)) .. key:sub(2):gsub("/", "\\/")
  -- \u escapes name code points: a UTF-8 sequence is one escape.
  local all_u = key:gsub("[%z\1-\127\194-\244][\128-\191]*", function(ch)
    local cp = ch:byte(1)
    if #ch > 1 then
      cp = cp % (2 ^ (7 - #ch))
      for i = 2, #ch do cp = cp * 64 + ch:byte(i) % 64 end
    end
    return ("\\u%04X"):format(cp)
  end)
  local percent = key:gsub("[^%w]", function(ch) return ("%%%02X"):format(ch:byte()) end)
  return { key, json_slash, first_u, all_u, percent }
end

local function assert_no_key(v, key)
  for _, s in ipairs(strings_of(v)) do
    for _, form in ipairs(forms(key or KEY)) do
      assert.is_nil(s:find(form, 1, true), "the key (as " .. form .. ") in: " .. s:sub(1, 200))
    end
  end
end

local function raises(pattern, fn)
  local ok, msg = pcall(fn)
  assert.is_false(ok, "expected an error matching " .. pattern)
  msg = tostring(msg)
  assert.is_truthy(msg:find(pattern), msg)
  return msg
end

describe("hardening", function()
  describe("base_url and plain http", function()
    it("reads the host as curl does: a user-info part cannot pass for loopback", function()
      local msg = raises("user name or password", function()
        campaign.client { provider = "vapi", api_key = KEY,
          base_url = "http://127.0.0.1:x@api.example.com" }
      end)
      assert.is_nil(msg:find("example", 1, true))
      -- Still refused with allow_http: credentials in the URL would travel and print.
      raises("user name or password", function()
        campaign.client { provider = "vapi", api_key = KEY, allow_http = true,
          base_url = "http://127.0.0.1:x@api.example.com" }
      end)
    end)

    it("refuses credentials in the URL and never shows them", function()
      local plain = "plainkey-0123456789"
      for _, url in ipairs { "http://user:" .. KEY .. "@127.0.0.1:9/vapi",
        "http://user:" .. plain .. "@127.0.0.1:9/vapi", "https://" .. plain .. "@api.vapi.ai",
        "https://api.vapi.ai\\@evil.example" } do
        local msg = raises("base_url", function()
          campaign.client { provider = "vapi", api_key = KEY, base_url = url }
        end)
        assert.is_truthy(msg:find("user name or password", 1, true) or msg:find("not a URL", 1, true),
          msg)
        assert_no_key(msg)
        assert_no_key(msg, plain)
      end
    end)

    it("refuses plain http to hosts that only look local", function()
      -- curl reads no address in "127.0.0.256": it looks the name up.
      for _, url in ipairs { "http://127.0.0.1.example.com/", "http://localhost.example.com/",
        "http://[::ffff:7f00:1]/", "http://10.0.0.1/", "http://0.0.0.0/", "http://127.0.0.256/",
        "http://127.0.0.999:1/", "http://127.1.2.99999/" } do
        raises("must use https", function()
          campaign.client { provider = "vapi", api_key = KEY, base_url = url }
        end)
      end
    end)

    it("takes loopback in the forms curl reads as loopback", function()
      for _, url in ipairs { "http://127.0.0.1:1/v", "http://127.1:1/v", "http://LOCALHOST:1/v",
        "http://127.0.0.01:1/v", "http://127.0.0.2:1/v", "http://[::1]:1/v" } do
        local c = campaign.client { provider = "vapi", api_key = KEY, base_url = url }
        assert.is_truthy(tostring(c):find("http://", 1, true))
      end
    end)

    it("sends to [::1] (IPv6 loopback), as documented", function()
      local srv = rawserver.start("canned", { host = "::1", status = 200,
        body = '{"id":"abc","name":"six"}' })
      local ok, err = pcall(function()
        local c = campaign.client { provider = "vapi", api_key = KEY, base_url = srv.url .. "/vapi",
          max_retries = 0 }
        local body = assert(c:get("abc"))
        assert.are.equal("six", body.name)
        local seen = srv:texts()
        assert.are.equal(1, #seen)
        assert.is_truthy(seen[1]:find("^GET /vapi/v2/campaign/abc HTTP/1.1\n"), seen[1])
      end)
      srv:stop()
      assert(ok, err)
    end)

    it("refuses a base URL with a query or a fragment", function()
      for _, url in ipairs { "https://api.vapi.ai/?x=1", "https://api.vapi.ai/v#frag",
        "http://127.0.0.1:1/vapi?token=" .. KEY } do
        local msg = raises("query", function()
          campaign.client { provider = "vapi", api_key = KEY, base_url = url }
        end)
        assert_no_key(msg)
      end
    end)

    it("refuses paths with a query or a fragment", function()
      for _, path in ipairs { "/v2/campaign?x=1", "/v2/campaign#x" } do
        raises("no spaces, control characters, %? or #", function()
          campaign.client { provider = "vapi", api_key = KEY, paths = { create = path } }
        end)
      end
    end)

    describe("through a proxy", function()
      local target, proxy, script

      setup(function()
        target = rawserver.start("canned", { status = 200, body = '{"id":"abc","via":"target"}' })
        proxy = rawserver.start("canned", { status = 200, body = '{"id":"abc","via":"proxy"}' })
        script = proc.tmpdir() .. "/get.lua"
        proc.write_file(script, [[
          local campaign = require "campaign"
          local opts = { provider = "vapi", api_key = arg[1], base_url = arg[2], max_retries = 0,
            timeout = 5 }
          if arg[3] == "allow" then opts.allow_http = true end
          local body, err = campaign.client(opts):get("abc")
          io.write(body and ("via " .. body.via) or tostring(err))
        ]])
      end)

      teardown(function()
        target:stop()
        proxy:stop()
      end)

      local function run(env, allow)
        return proc.sh(("%s %s %s %s %s %s"):format(env, proc.LUA, proc.shquote(script),
          proc.shquote(KEY), proc.shquote(target.url .. "/vapi"), allow or ""))
      end

      it("plain http to loopback goes direct, never to a proxy from the environment", function()
        local env = ("http_proxy=%s HTTP_PROXY=%s all_proxy=%s ALL_PROXY=%s"):format(
          proxy.url, proxy.url, proxy.url, proxy.url)
        local before_target, before_proxy = #target:texts(), #proxy:texts()
        local code, out = run(env)
        assert.are.equal(0, code, out)
        assert.are.equal("via target", out)
        assert.are.equal(before_proxy, #proxy:texts())
        assert.are.equal(before_target + 1, #target:texts())
        -- The control: with allow_http the environment's proxy is used, and
        -- it gets the key; that is what the exemption must not allow.
        code, out = run(env, "allow")
        assert.are.equal(0, code, out)
        assert.are.equal("via proxy", out)
        local got = proxy:texts()
        assert.is_truthy(got[#got]:find(KEY, 1, true))
      end)

      it("refuses plain http to loopback with a proxy option, unless allow_http", function()
        raises("through a proxy", function()
          campaign.client { provider = "vapi", api_key = KEY, base_url = target.url .. "/vapi",
            proxy = proxy.url }
        end)
        local before = #proxy:texts()
        local c = campaign.client { provider = "vapi", api_key = KEY, base_url = target.url .. "/vapi",
          proxy = proxy.url, allow_http = true, max_retries = 0 }
        assert.are.equal("proxy", assert(c:get("abc")).via)
        assert.are.equal(before + 1, #proxy:texts())
      end)
    end)
  end)

  describe("boolean options", function()
    for _, option in ipairs { "allow_http", "ssl_verify", "passthrough", "legacy", "allow_blocking" } do
      it(option .. " takes only true or false", function()
        for _, bad in ipairs { "false", "true", 0, 1, "no", {} } do
          raises(option .. " must be true or false", function()
            campaign.client { provider = "vapi", api_key = KEY, [option] = bad }
          end)
        end
        campaign.client { provider = "vapi", api_key = KEY, [option] = false }
      end)
    end

    it("the same for the OpenResty transport and attach_agent's template", function()
      local openresty = require "campaign.openresty"
      raises("ssl_verify must be true or false", function() openresty.transport { ssl_verify = "false" } end)
      raises("ssl_verify must be true or false", function()
        openresty.options({ provider = "vapi", ssl_verify = 0 })
      end)
      local atlas = campaign.client { provider = "atlas", api_key = KEY, transport = function()
        error("nothing is sent")
      end }
      raises("template must be true or false", function()
        atlas:attach_agent("c1", {}, { template = "false" })
      end)
    end)

    it('allow_http = "false" no longer turns plain http on', function()
      raises("allow_http must be true or false", function()
        campaign.client { provider = "vapi", api_key = KEY, base_url = "http://api.example.com",
          allow_http = "false" }
      end)
      raises("must use https", function()
        campaign.client { provider = "vapi", api_key = KEY, base_url = "http://api.example.com",
          allow_http = false }
      end)
    end)
  end)

  describe("headers", function()
    local emu

    setup(function() emu = emulator.start() end)
    teardown(function() if emu then emu:stop() end end)
    before_each(function() emu:reset() end)

    local function client(headers)
      return campaign.client { provider = "vapi", api_key = emu.keys.vapi,
        base_url = emu:url("vapi"), headers = headers }
    end

    it("are merged by name, whatever the case: one header on the wire", function()
      local c = client { ["user-agent"] = "my-agent/1", ["accept"] = "application/json; q=1",
        ["content-type"] = "application/json; charset=utf-8", ["X-Trace"] = "t1" }
      assert(c:create(FIELDS))
      local h = emu:last().headers
      assert.are.equal("my-agent/1", h["user-agent"])
      assert.are.equal("application/json; q=1", h["accept"])
      assert.are.equal("application/json; charset=utf-8", h["content-type"])
      assert.are.equal("t1", h["x-trace"])
      assert(c:get(emu:campaigns("vapi")[1].id))
      assert.are.equal("my-agent/1", emu:last().headers["user-agent"])
    end)

    it("cannot carry the key a second way, or be given twice", function()
      raises("carries the API key", function() client { authorization = "Bearer other-key-123" } end)
      raises("given twice", function() client { ["X-A"] = "1", ["x-a"] = "2" } end)
      local atlas = raises("carries the API key", function()
        campaign.client { provider = "atlas", api_key = KEY, headers = { ["API-KEY"] = "x" } }
      end)
      assert_no_key(atlas)
    end)

    it("refuses the headers the transport writes", function()
      for _, name in ipairs { "Host", "content-length", "Transfer-Encoding", "CONNECTION" } do
        raises("written by the transport", function() client { [name] = "x" } end)
      end
    end)
  end)

  describe("redaction", function()
    local emu

    setup(function() emu = emulator.start() end)
    teardown(function() if emu then emu:stop() end end)
    before_each(function()
      emu:reset()
      emu:set_keys { vapi = KEY }
    end)

    local function client(extra)
      local opts = { provider = "vapi", api_key = KEY, base_url = emu:url("vapi"), max_retries = 0 }
      for k, v in pairs(extra or {}) do opts[k] = v end
      return campaign.client(opts)
    end

    it("refuses keys shorter than 8 characters, without showing them", function()
      for _, key in ipairs { "qwzx", "Q", "1234567" } do
        local msg = raises("api_key is too short", function()
          campaign.client { provider = "vapi", api_key = key }
        end)
        assert.is_nil(msg:find(key, 1, true))
      end
      campaign.client { provider = "vapi", api_key = "12345678" }
    end)

    it("returns success bodies exactly as sent, even where they hold the key", function()
      local c = client()
      local name = KEY .. " campaign"
      local created = assert(c:create(fixtures.vapi { name = name,
        customers = { { number = "+14155550101", name = "test" } } }))
      assert.are.equal(name, created.name)
      assert.are.equal(name, assert(c:get(created.id)).name)
      local list = assert(c:list())
      assert.are.equal(name, list.results[1].name)
    end)

    it("a short word that is part of a key is left alone in bodies and messages", function()
      -- The old rule cut every "test" out of the answers of a client whose key was "test".
      emu:set_keys { vapi = "test-test" }
      local c = campaign.client { provider = "vapi", api_key = "test-test", base_url = emu:url("vapi") }
      local created = assert(c:create(fixtures.vapi { name = "test campaign" }))
      assert.are.equal("test campaign", created.name)
      local _, err = c:create(fixtures.vapi { name = "test", test = true })
      assert.is_truthy(err.message:find('"test"', 1, true), err.message)
    end)

    it("hides the key in every form a provider may echo it, in errors and hooks", function()
      local logged, decoded_texts = {}, {}
      local body = '{"message":"bad key ' .. table.concat(forms(KEY), " and ") .. '",'
        .. '"detail":{"deeper":["' .. forms(KEY)[3] .. '"]}}'
      emu:fault { provider = "vapi", method = "POST", status = 401, body = body,
        headers = { ["X-Echo"] = forms(KEY)[2], ["X-" .. forms(KEY)[5]:gsub("%%", "")] = "1" } }
      local c = client {
        on_request = function(info) logged[#logged + 1] = info end,
        on_response = function(info)
          logged[#logged + 1] = info
          logged[#logged + 1] = tostring(info.error)
        end,
        json_decode = function(text)
          decoded_texts[#decoded_texts + 1] = text
          return cjson.decode(text)
        end,
      }
      local _, err = c:create(fixtures.vapi { name = "x " .. KEY })
      assert.are.equal("http", err.kind)
      assert.are.equal(401, err.status)
      assert.is_truthy(err.message:find("bad key [REDACTED]", 1, true), err.message)
      assert_no_key(err)
      assert_no_key(tostring(err))
      assert_no_key(logged)
      assert_no_key(decoded_texts)
      assert.are.equal(1, #decoded_texts)
      -- The request itself carried the caller's fields as given.
      assert.are.equal("x " .. KEY, emu:last().json.name)
    end)

    it("hides the key at any depth of an error body", function()
      local depth = 1500
      local text = ('{"a":'):rep(depth) .. '"' .. forms(KEY)[2] .. '"' .. ("}"):rep(depth)
      for _, decode in ipairs { false, true } do
        emu:fault { provider = "vapi", method = "GET", status = 400, body = text }
        local c = client(decode and {
          json_decode = function(s) return require("dkjson").decode(s, 1, nil) end } or nil)
        local _, err = c:get("abc")
        assert.are.equal("http", err.kind)
        assert_no_key(err)
        local deepest = err.body
        for _ = 1, depth do
          if type(deepest) ~= "table" then break end
          deepest = deepest.a
        end
        -- lua-cjson stops at 1000 levels (the raw text is kept); dkjson decodes it all.
        assert.are.equal(decode and "[REDACTED]" or text:gsub(forms(KEY)[2]:gsub("%p", "%%%0"),
          "[REDACTED]"), deepest)
      end
    end)

    it("hides the key behind a percent sign, and a key holding a percent escape", function()
      -- "%4f..." is a percent escape to a URL decoder, not to JSON: read both ways.
      local uuid = "4f3c2a1b-9d8e-4c7b-a6f5-0e1d2c3b4a59"
      emu:set_keys { vapi = uuid }
      emu:fault { provider = "vapi", method = "GET", status = 401,
        body = '{"message":"invalid key %' .. uuid:sub(1, -2) .. '\\u0039"}' }
      local c = campaign.client { provider = "vapi", api_key = uuid, base_url = emu:url("vapi"),
        max_retries = 0 }
      local _, err = c:get("abc")
      assert.are.equal(401, err.status)
      assert_no_key(err, uuid)
      assert.are.equal("invalid key %[REDACTED]", err.body.message)
      local core = require "campaign.core"
      assert.are.equal('"[R]"', core.redact('"abc\\/%41defgh"', "abc/%41defgh", "[R]"))
    end)

    it("hides the part of the key a message cuts short", function()
      local uuid = "4f3c2a1b-9d8e-4c7b-a6f5-0e1d2c3b4a59"
      local c = campaign.client { provider = "vapi", api_key = uuid }
      local _, err = c:prepare("create", fixtures.vapi { name = "x",
        ["Authorization_Bearer_" .. uuid] = 1 })
      assert.are.equal("validation", err.kind)
      for _, s in ipairs(strings_of(err)) do assert.is_nil(s:find(uuid:sub(1, 8), 1, true), s) end
      _, err = c:get(("k"):rep(40) .. uuid .. "/")
      assert.are.equal("validation", err.kind)
      for _, s in ipairs(strings_of(err)) do assert.is_nil(s:find(uuid:sub(1, 8), 1, true), s) end
    end)

    it("hides the key in header values a transport gives as lists", function()
      local logged
      local c = campaign.client { provider = "vapi", api_key = KEY, max_retries = 0,
        on_response = function(info) logged = info end,
        transport = function()
          return { status = 401, headers = { ["x-echo"] = { "Bearer " .. KEY, { KEY } } }, body = "{}" }
        end }
      local _, err = c:get("abc")
      assert.are.equal(401, err.status)
      assert_no_key(err)
      assert_no_key(logged)
      assert.are.equal("Bearer [REDACTED]", err.headers["x-echo"][1])
    end)

    it("copies header tables that hold themselves in bounded time (found by fuzzing)", function()
      local cyclic = {}
      for i = 1, 12 do cyclic[i] = cyclic end
      local c = campaign.client { provider = "vapi", api_key = KEY, max_retries = 0,
        on_response = function() end,
        transport = function() return { status = 502, headers = { cyclic, KEY }, body = "" } end }
      local _, err = c:get("abc")
      assert.are.equal(502, err.status)
      assert_no_key(err)
    end)

    it("tostring of a request and of the client never show the key", function()
      local url_key = "hardening-url-safe-key-42"
      local path_key = campaign.client { provider = "vapi", api_key = url_key,
        base_url = "https://gw.example.com/" .. url_key }
      assert.is_nil(tostring(path_key):find(url_key, 1, true), tostring(path_key))
      local c = client()
      local req = assert(c:prepare("create", fixtures.vapi { name = KEY }))
      assert.are.equal(KEY, cjson.decode(req.body).name)   -- the caller's own request
      assert_no_key(tostring(req))
      assert_no_key(tostring(c))
    end)
  end)

  describe("core.redact", function()
    local core = require "campaign.core"

    -- JSON's reading of a string body, for the check: the escapes decoded.
    local function json_unescape(s)
      local ok, v = pcall(cjson.decode, '"' .. s .. '"')
      return ok and v or nil
    end

    it("hides every escaped form and leaves text without the key exactly as it was", function()
      math.randomseed(20261202)
      local key = "Ke/y+=" .. string.char(0xC3, 0xA9) .. "9"
      local pieces = { "K", "e", "/", "\\/", "y", "+", "=", "9", "\\u00e9", string.char(0xC3, 0xA9),
        "\\u004B", "%2F", "%4b", "x", " ", "\\\\", "\\n", "\\", "%", "\\u", "\\ud83d\\ude00" }
      local redacted = 0
      for _ = 1, 3000 do
        local parts = {}
        for i = 1, math.random(0, 24) do parts[i] = pieces[math.random(#pieces)] end
        if math.random(4) == 1 then parts[#parts + 1] = forms(key)[math.random(5)] end
        local text = table.concat(parts)
        local out = core.redact(text, key, "[R]")
        for _, form in ipairs(forms(key)) do
          assert.is_nil(out:find(form, 1, true), ("%q -> %q"):format(text, out))
        end
        local decoded = json_unescape(out)
        if decoded then assert.is_nil(decoded:find(key, 1, true), ("%q -> %q"):format(text, out)) end
        if out ~= text then
          redacted = redacted + 1
        else
          -- Untouched: neither the text nor its JSON reading holds the key.
          local read = json_unescape(text)
          assert.is_nil(text:find(key, 1, true))
          if read then assert.is_nil(read:find(key, 1, true), ("%q"):format(text)) end
        end
      end
      assert.is_true(redacted > 500)
    end)

    it("takes linear time on near-matches (a long body against a long key)", function()
      local key = ("k"):rep(100000) .. "!"
      local text = ("k"):rep(1000000) .. "\\/" .. ("k"):rep(1000)
      assert.are.equal(text, core.redact(text, key, "[R]"))
      assert.are.equal("a[R]b", core.redact("a" .. key .. "b", key, "[R]"))
    end)
  end)

  describe("an unreadable answer to a create", function()
    local emu, c

    setup(function() emu = emulator.start() end)
    teardown(function() if emu then emu:stop() end end)
    before_each(function()
      emu:reset()
      c = campaign.client { provider = "vapi", api_key = emu.keys.vapi, base_url = emu:url("vapi"),
        max_retries = 0 }
    end)

    for _, case in ipairs {
      { "HTML", "<html><body>Created</body></html>", "text/html" },
      { "truncated JSON", '{"id": "abc", "na', "application/json" },
    } do
      it("(" .. case[1] .. ") says the campaign may exist", function()
        emu:fault { provider = "vapi", method = "POST", status = 201, body = case[2], after = true,
          headers = { ["Content-Type"] = case[3] } }
        local body, err = c:create(FIELDS)
        assert.is_nil(body)
        assert.are.equal("decode", err.kind)
        assert.is_true(err.outcome_unknown)
        assert.is_truthy(err.message:find("outcome unknown", 1, true), err.message)
        assert.are.equal(1, #emu:campaigns("vapi"))
      end)
    end

    it("on a read, it is a decode error with nothing unknown", function()
      local id = assert(c:create(FIELDS)).id
      emu:fault { provider = "vapi", method = "GET", status = 200, body = "<html></html>" }
      local _, err = c:get(id)
      assert.are.equal("decode", err.kind)
      assert.is_nil(err.outcome_unknown)
    end)

    it("on a Smallest start, the start may have happened", function()
      emu:set_keys { smallest = "smallest-test-key" }
      local s = campaign.client { provider = "smallest", api_key = "smallest-test-key",
        base_url = emu:url("smallest"), max_retries = 0 }
      emu:fault { provider = "smallest", method = "POST", status = 202, body = "<html>",
        headers = { ["Content-Type"] = "text/html" } }
      local _, err = s:start("60d0fe4f5311236168a109ca")
      assert.are.equal("decode", err.kind)
      assert.is_true(err.outcome_unknown)
    end)
  end)

  describe("batches", function()
    local emu, c

    setup(function() emu = emulator.start() end)
    teardown(function() if emu then emu:stop() end end)
    before_each(function()
      emu:reset()
      c = campaign.client { provider = "vapi", api_key = emu.keys.vapi, base_url = emu:url("vapi") }
    end)

    local function list_of(n, prefix)
      local list = {}
      for i = 1, n do
        list[i] = fixtures.vapi { name = prefix .. i }
      end
      return list
    end

    it("a batch started from on_progress is refused; the running one ends whole", function()
      local nested = {}
      local results = c:create_many(list_of(6, "outer "), { concurrency = 3,
        on_progress = function()
          local ok, msg = pcall(c.create_many, c, list_of(2, "inner "))
          nested[#nested + 1] = ok and "ran" or msg
        end })
      assert.are.equal(6, #nested)
      for _, msg in ipairs(nested) do
        assert.is_truthy(tostring(msg):find("a batch is already running on this client", 1, true),
          tostring(msg))
      end
      for i = 1, 6 do
        assert.is_false(campaign.is_error(results[i]), tostring(results[i]))
        assert.are.equal("outer " .. i, results[i].name)
      end
      assert.are.equal(6, #emu:campaigns("vapi"))
      -- The client takes a batch again once the first returned, also after one that raised.
      assert.has_error(function()
        c:create_many(list_of(2, "again "), { on_progress = function() error("stop here") end })
      end)
      local again = c:create_many(list_of(2, "after "))
      assert.are.equal("after 2", again[2].name)
    end)

    it("the same with a custom transport, and from update_many", function()
      local t = campaign.client { provider = "vapi", api_key = emu.keys.vapi,
        base_url = emu:url("vapi"), transport = function(req)
          return { status = 201, headers = {}, body = '{"id":"x","name":"' .. req.url:sub(-1) .. '"}' }
        end }
      local refused = 0
      t:create_many(list_of(2, "t "), { on_progress = function()
        if not pcall(t.update_many, t, { { "x", { name = "n" } } }) then refused = refused + 1 end
      end })
      assert.are.equal(2, refused)
    end)
  end)

  describe("validation problems", function()
    it("are counted past the 100 that are listed", function()
      local customers = {}
      for i = 1, 150 do customers[i] = { number = "bad-" .. i } end
      local c = campaign.client { provider = "vapi", api_key = KEY }
      local _, err = c:prepare("create", fixtures.vapi { name = "many", customers = customers })
      assert.are.equal("validation", err.kind)
      assert.are.equal(100, #err.errors)
      assert.are.equal(150, err.count)
      assert.is_truthy(err.message:find("99 more listed in err.errors, and 50 more problems "
        .. "only counted: err.count = 150", 1, true), err.message)
      local _, one = c:prepare("create", fixtures.vapi { name = "one",
        customers = { { number = "bad" } } })
      assert.are.equal(1, one.count)
      assert.are.equal(1, #one.errors)
    end)

    it("quote no key, even when the key was put in a field", function()
      local c = campaign.client { provider = "vapi", api_key = KEY }
      local _, err = c:prepare("create", fixtures.vapi { name = "k", customers = { { number = KEY } } })
      assert.are.equal("validation", err.kind)
      assert_no_key(err)
      assert_no_key(tostring(err))
    end)
  end)

  describe("query numbers", function()
    it("are written exactly", function()
      local c = campaign.client { provider = "vapi", api_key = KEY, passthrough = true }
      local req = assert(c:prepare("list", { limit = 10, page = 2, x = 123456789012345, y = 0.1,
        z = 2 ^ 53, w = 1 / 3 }))
      local q = req.url:match("%?(.*)$")
      assert.is_truthy(q:find("x=123456789012345", 1, true), q)
      assert.is_truthy(q:find("y=0.1&", 1, true), q)
      assert.is_truthy(q:find("z=9007199254740992", 1, true), q)
      local w = q:match("w=([^&]+)")
      assert.are.equal(1 / 3, tonumber(w))
    end)
  end)
end)
