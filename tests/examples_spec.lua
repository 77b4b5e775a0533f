-- The examples run: each against the emulator as if it were the provider,
-- and each without a base URL (showing the request only); the demo too.
local emulator = require "helpers.emulator"

local proc = require "helpers.proc"

local ROOT, LUA = proc.ROOT, proc.LUA

local function run(env, script)
  return proc.sh(("cd %s && %s %s %s"):format(ROOT, env, LUA, script))
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
