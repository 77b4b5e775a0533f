-- Installing: `make install` with PREFIX and DESTDIR, and `luarocks make`
-- into a local tree, offline; then the module is required from where it was
-- installed (never from the checkout) by the interpreter running the suite.
local proc = require "helpers.proc"

local ROOT, LUA, sh, tmpdir = proc.ROOT, proc.LUA, proc.sh, proc.tmpdir
local IS_JIT = rawget(_G, "jit") ~= nil
local ABI = _VERSION:match("%d+%.%d+")
local LUA_VERSION = IS_JIT and "jit" or ABI
local MODULES

-- The Lua modules of the checkout, by name, from lua/: {"campaign", ...}.
local function checkout_modules()
  local list = {}
  local p = io.popen("cd " .. proc.shquote(ROOT .. "lua") .. " && find . -name '*.lua' | sort")
  for path in p:lines() do
    local name = path:gsub("^%./", ""):gsub("%.lua$", ""):gsub("/init$", ""):gsub("/", ".")
    list[#list + 1] = name
  end
  p:close()
  return list
end
MODULES = checkout_modules()

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
    assert(require("campaign.cli").main, "campaign.cli")
    -- Every module of the checkout is installed: those not loaded by now too.
    for name in (...):gmatch("%S+") do assert(require(name), name) end
    print(campaign._VERSION, req.method, req.url, core)
  ]]
  local env = string.format("LUA_PATH='%s/?.lua;%s/?/init.lua;;' LUA_CPATH='%s/?.so;;'",
    share, share, lib)
  local script = tmpdir() .. "/run.lua"
  proc.write_file(script, code)
  return sh(string.format("cd / && %s %s %s %s", env, LUA, script,
    proc.shquote(table.concat(MODULES, " "))))
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
    -- The installed tool, with the installed module only.
    local env = string.format("LUA_PATH='%s/?.lua;%s/?/init.lua;;' LUA_CPATH='%s/?.so;;'", share, share, lib)
    local tool = dest .. "/opt/lc/bin/campaign"
    local file = dest .. "/c.lua"
    proc.write_file(file, 'return { name = "x", assistantId = "a", phoneNumberId = "p", '
      .. 'customers = { { number = "+14155550101" } } }')
    local tool_code, tool_out = sh(string.format("cd / && %s VAPI_API_KEY=install-test-key %s %s create "
      .. "--provider vapi --dry-run %s", env, LUA, tool, file))
    sh("rm -rf " .. dest)
    assert.are.equal(0, code, out)
    assert.truthy(out:find("0.1.0\tPOST\thttps://api.vapi.ai/v2/campaign\t" .. lib .. "/campaign/core.so",
      1, true), out)
    assert.are.equal(0, tool_code, tool_out)
    assert.truthy(tool_out:find('"url":"https://api.vapi.ai/v2/campaign"', 1, true), tool_out)
    assert.is_nil(tool_out:find("install-test-key", 1, true), tool_out)
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

  it("the rockspec names every C file and every Lua module of the checkout", function()
    local spec = {}
    local chunk = assert(loadfile(ROOT .. "rockspec/campaign-scm-1.rockspec", "t", spec))
    if setfenv then setfenv(chunk, spec) end
    chunk()
    local modules, sources = {}, {}
    for name, where in pairs(spec.build.modules) do
      if name == "campaign.core" then
        for _, file in ipairs(where.sources) do sources[#sources + 1] = file end
      else
        modules[#modules + 1] = name
      end
    end
    table.sort(modules)
    table.sort(sources)
    local want = {}
    for _, name in ipairs(MODULES) do want[#want + 1] = name end
    table.sort(want)
    assert.are.same(want, modules)
    local c_files = {}
    local p = io.popen("cd " .. proc.shquote(ROOT) .. " && ls src/*.c | sort")
    for file in p:lines() do c_files[#c_files + 1] = file end
    p:close()
    table.sort(c_files)
    assert.are.same(c_files, sources)
  end)
end)
