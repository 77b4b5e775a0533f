-- Wrong use raises at the caller's line, however deep in the module the
-- mistake is found, on every Lua (5.1 to 5.4, LuaJIT): the message starts
-- with this file's name and the line of the call. Run-time failures stay
-- `nil, err` (client_spec and the rest).
local campaign = require "campaign"
local windows = require "campaign.windows"
local templates = require "campaign.templates"
local openresty = require "campaign.openresty"

local KEY = "caller-line-test-key"
local HERE = debug.getinfo(1, "S").short_src

-- The error `fn` raises, and the line it was called from (the line of the
-- `where()` on the same line as the call).
local function where() return debug.getinfo(2, "l").currentline end

local function raised(fn)
  local ok, e = pcall(fn)
  assert.is_false(ok, "no error was raised")
  return tostring(e)
end

local function at(line, message)
  return HERE .. ":" .. line .. ": " .. message
end

describe("wrong use raises at the caller's line", function()
  local c = campaign.client { provider = "vapi", api_key = KEY }

  it("in a method call: fields, ids, queries, operations", function()
    local line, e
    line, e = where(), raised(function() c:create(5) end)
    assert.are.equal(at(line, "campaign vapi create: fields must be a table (got number)"), e)
    line, e = where(), raised(function() c:get({}) end)
    assert.are.equal(at(line, "campaign vapi get: id must be a string (got table)"), e)
    line, e = where(), raised(function() c:list(5) end)
    assert.are.equal(at(line, "campaign vapi list: query must be a table"), e)
    line, e = where(), raised(function() c:prepare("creat", {}) end)
    assert.truthy(e:find(at(line, "campaign vapi: unknown operation creat"), 1, true), e)
  end)

  it("in call options and batches", function()
    local line, e
    line, e = where(), raised(function() c:get("id-1", { timeout = "x" }) end)
    assert.truthy(e:find(at(line, "campaign vapi get: call option timeout must be a number"), 1,
      true), e)
    line, e = where(), raised(function() c:create_many(5) end)
    assert.are.equal(at(line, "campaign vapi create_many: the list must be a table"), e)
    line, e = where(), raised(function() c:create_many({}, { concurrency = 0 }) end)
    assert.are.equal(at(line, "campaign vapi create_many: concurrency must be a positive integer"),
      e)
    line, e = where(), raised(function() c:update_many({ 5 }) end)
    assert.are.equal(at(line, "campaign vapi update_many: item 1 must be {id, fields} (got number)"), e)
  end)

  it("in campaign.client and its options", function()
    local line, e
    line, e = where(), raised(function() campaign.client(5) end)
    assert.are.equal(at(line, "campaign.client: options must be a table"), e)
    line, e = where(), raised(function() campaign.client { provider = "vapi", api_key = KEY, timeout = -1 } end)
    assert.truthy(e:find(at(line, "campaign.client: timeout must be a number between"), 1, true), e)
    line, e = where(), raised(function() campaign.client { provider = "vapi", api_key = KEY, rate_limit = "x" } end)
    assert.truthy(e:find(at(line, "campaign.client: rate_limit must be"), 1, true), e)
    line, e = where(), raised(function() campaign.client { provider = "vapi", api_key = KEY, shared_dict = "d" } end)
    assert.truthy(e:find(at(line, "campaign.client: shared_dict needs nginx"), 1, true), e)
    line, e = where(), raised(function() campaign.create({ provider = "nobody" }, {}) end)
    assert.truthy(e:find(at(line, "campaign.client: unknown provider nobody"), 1, true), e)
  end)

  it("in the helpers: windows, templates, campaign.openresty", function()
    local line, e
    line, e = where(), raised(function() windows.to_autocalls({}, 5) end)
    assert.are.equal(at(line, "campaign.windows.to_autocalls: opts must be a table"), e)
    line, e = where(), raised(function() templates.list(5) end)
    assert.are.equal(at(line, "campaign.templates.list: filter must be a table"), e)
    line, e = where(), raised(function() openresty.options(5) end)
    assert.are.equal(at(line, "campaign.openresty: options must be a table"), e)
    line, e = where(), raised(function() openresty.transport() end)
    assert.truthy(e:find(at(line, "campaign.openresty: needs OpenResty"), 1, true), e)
  end)

  it("through pcall directly: the line of the pcall", function()
    local line = where(); local ok, e = pcall(c.create, c, 5)
    assert.is_false(ok)
    assert.are.equal(at(line, "campaign vapi create: fields must be a table (got number)"),
      tostring(e))
  end)

  it("from a function of the caller's, at that function's line", function()
    local function make(fields)
      local req = c:prepare("create", fields) -- the line below is this one + 0
      return req
    end
    local line = debug.getinfo(make, "S").linedefined + 1
    local e = raised(function() make(5) end)
    assert.are.equal(at(line, "campaign vapi create: fields must be a table (got number)"), e)
  end)
end)

describe("campaign.assert", function()
  it("returns every value when the first is true", function()
    local a, b, c = campaign.assert(1, 2, 3)
    assert.are.same({ 1, 2, 3 }, { a, b, c })
  end)

  it("raises the error's one line, a string, at the caller's line, on every Lua", function()
    local c = campaign.client { provider = "smallest", api_key = KEY }
    local line, e
    -- A run-time failure: nil, err (here Smallest has no update call).
    line, e = where(), raised(function() campaign.assert(c:update("id-1", { name = "x" })) end)
    assert.truthy(e:find(at(line, "campaign smallest update: Smallest AI Atoms has no update call"),
      1, true), e)
    local ok, value = pcall(campaign.assert, nil, "plain words")
    assert.is_false(ok)
    assert.are.equal("string", type(value))
    assert.truthy(value:find("plain words$"), value)
    ok, value = pcall(campaign.assert, false)
    assert.is_false(ok)
    assert.truthy(tostring(value):find("assertion failed!$"), tostring(value))
  end)
end)
