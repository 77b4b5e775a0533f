-- Installing: `make install` with PREFIX and DESTDIR, and `luarocks make`
-- into a local tree, offline; then the module is required from where it was
-- installed (never from the checkout) by the interpreter running the suite.
local ROOT = debug.getinfo(1, "S").source:match("^@(.*)tests/[^/]*$") or "./"
if ROOT == "" then ROOT = "./" end

local function interpreter()
  local i = -1
  while arg and arg[i - 1] do i = i - 1 end
  return arg and arg[i] or "lua5.4"
end
local LUA = interpreter()
local IS_JIT = rawget(_G, "jit") ~= nil
local ABI = _VERSION:match("%d+%.%d+")
local LUA_VERSION = IS_JIT and "jit" or ABI

local function sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1; echo \"exit=$?\""))
  local out = p:read("*a")
  p:close()
  local code = tonumber(out:match("exit=(%d+)%s*$"))
  return code, out:gsub("exit=%d+%s*$", "")
end

local function tmpdir()
  local p = io.popen("mktemp -d")
  local d = p:read("*l")
  p:close()
  return d
end

-- Runs a snippet with only `share` and `lib` on the module paths.
local function run_from(share, lib)
  local code = [[
    local campaign = require "campaign"
    local core = "?"
    for template in package.cpath:gmatch("[^;]+") do
      local path = template:gsub("%?", "campaign/core")
      local f = io.open(path, "rb")
      if f then f:close(); core = path; break end
    end
    local c = campaign.client { provider = "vapi", api_key = "install-test-key" }
    local req = assert(c:prepare("create", { name = "x", assistantId = "a", phoneNumberId = "p",
      customers = { { number = "+14155550101" } } }))
    assert(require("campaign.templates"), "templates")
    print(campaign._VERSION, req.method, req.url, core)
  ]]
  local env = string.format("LUA_PATH='%s/?.lua;%s/?/init.lua;;' LUA_CPATH='%s/?.so;;'",
    share, share, lib)
  return sh(string.format("cd / && %s %s -e %q", env, LUA, code))
end

describe("installing", function()
  it("make install honours PREFIX and DESTDIR", function()
    local dest = tmpdir()
    local code, out = sh(string.format("cd %s && make -s install LUA_VERSION=%s DESTDIR=%s PREFIX=/opt/lc",
      ROOT, LUA_VERSION, dest))
    assert.are.equal(0, code, out)
    local share = dest .. "/opt/lc/share/lua/" .. ABI
    local lib = dest .. "/opt/lc/lib/lua/" .. ABI
    code, out = run_from(share, lib)
    sh("rm -rf " .. dest)
    assert.are.equal(0, code, out)
    assert.truthy(out:find("0.1.0\tPOST\thttps://api.vapi.ai/v2/campaign\t" .. lib .. "/campaign/core.so",
      1, true), out)
  end)

  it("luarocks make installs into a local tree, offline", function()
    local tree = tmpdir()
    local multiarch = io.popen("gcc -dumpmachine"):read("*l")
    -- luarocks builds in the source directory: build in a copy, not the checkout.
    local src = tmpdir()
    local code, out = sh(string.format("cd %s && cp -r src lua bin rockspec %s/", ROOT, src))
    assert.are.equal(0, code, out)
    code, out = sh(string.format(
      "cd %s && luarocks --lua-version=%s make --deps-mode=none --tree %s "
      .. "rockspec/campaign-scm-1.rockspec CURL_INCDIR=/usr/include/%s CURL_LIBDIR=/usr/lib/%s",
      src, ABI, tree, multiarch, multiarch))
    sh("rm -rf " .. src)
    assert.are.equal(0, code, out)
    local share = tree .. "/share/lua/" .. ABI
    local lib = tree .. "/lib/lua/" .. ABI
    code, out = run_from(share, lib)
    sh("rm -rf " .. tree)
    assert.are.equal(0, code, out)
    assert.truthy(out:find("0.1.0\tPOST\thttps://api.vapi.ai/v2/campaign\t" .. lib .. "/campaign/core.so",
      1, true), out)
  end)
end)
