-- The examples run: each against the emulator as if it were the provider,
-- and each without a base URL (showing the request only); the demo too.
local emulator = require "helpers.emulator"

local ROOT = debug.getinfo(1, "S").source:match("^@(.*)tests/[^/]*$") or "./"
if ROOT == "" then ROOT = "./" end

local function interpreter()
  local i = -1
  while arg and arg[i - 1] do i = i - 1 end
  return arg and arg[i] or "lua5.4"
end
local LUA = interpreter()

local function run(env, script)
  local p = assert(io.popen(("cd %s && %s %s %s 2>&1; echo \"exit=$?\""):format(ROOT, env, LUA, script)))
  local out = p:read("*a")
  p:close()
  return tonumber(out:match("exit=(%d+)%s*$")), out
end

local EXPECT = {
  vapi = { "created ", "renamed to Spring renewals (EU)", "status now cancelled" },
  batch = { "20/20 done", "19 created, 1 failed" },
  custom_transport = { "through a custom transport" },
  smallest = { "created campaign ", "status now running" },
  autocalls = { "Campaign created successfully", "Campaign started successfully" },
  atlas_outbound = { "created campaign ", "agent attached", "IsActive = true" },
  atlas_inbound = { "created campaign ", "agent attached" },
  atlas_web = { "created campaign ", "agent attached" },
  atlas_messages = { "created campaign ", "renamed to" },
}

describe("examples", function()
  local emu, env

  setup(function()
    emu = emulator.start()
    local parts = {}
    for _, p in ipairs({ "vapi", "smallest", "autocalls", "atlas" }) do
      parts[#parts + 1] = ("%s_BASE_URL=%s %s_API_KEY=%s"):format(p:upper(), emu:url(p), p:upper(),
        emu.keys[p])
    end
    env = table.concat(parts, " ")
  end)
  teardown(function() if emu then emu:stop() end end)

  for name, expected in pairs(EXPECT) do
    it(name .. ".lua runs against the provider", function()
      local code, out = run(env, "examples/" .. name .. ".lua")
      assert.are.equal(0, code, out)
      for _, text in ipairs(expected) do
        assert.truthy(out:find(text, 1, true), "missing '" .. text .. "' in:\n" .. out)
      end
      assert.is_nil(out:find("test-key", 1, true), "a key was printed:\n" .. out)
    end)

    it(name .. ".lua runs without a provider", function()
      local code, out = run("env -u VAPI_BASE_URL -u SMALLEST_BASE_URL -u AUTOCALLS_BASE_URL "
        .. "-u ATLAS_BASE_URL", "examples/" .. name .. ".lua")
      assert.are.equal(0, code, out)
      assert.truthy(out:find("BASE_URL", 1, true), out)
    end)
  end

  it("the demo runs the whole tour", function()
    local code, out = run("", "examples/demo.lua")
    assert.are.equal(0, code, out)
    for _, text in ipairs({ "1. prepare", "Authorization: [REDACTED]", "2. create", "status = cancelled",
      "6. mistakes", "customers[2].number", "tour: examples/atlas_messages.lua",
      "what the emulator received" }) do
      assert.truthy(out:find(text, 1, true), "missing '" .. text .. "' in the demo")
    end
  end)
end)
