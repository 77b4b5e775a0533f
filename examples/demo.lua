-- make demo: the main job, with no API key and no network.
--
-- Starts the local provider emulator (nginx on 127.0.0.1), shows what
-- `prepare` builds for a Vapi campaign, creates it, renames it, reads it
-- back, cancels it, and shows what a bad campaign gets instead of a request.
local campaign = require "campaign"
local emulator = require "helpers.emulator"

local function title(text)
  print(("\n== %s %s"):format(text, ("="):rep(math.max(0, 66 - #text))))
end

local function show(value, indent)
  indent = indent or "  "
  if type(value) ~= "table" then
    print(indent .. tostring(value))
    return
  end
  local keys = {}
  for k in pairs(value) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  for _, k in ipairs(keys) do
    local v = value[k]
    if type(v) == "table" then
      print(indent .. tostring(k) .. ":")
      show(v, indent .. "  ")
    else
      print(indent .. tostring(k) .. " = " .. tostring(v))
    end
  end
end

local emu = emulator.start()
local ok, failure = pcall(function()
  local c = campaign.client {
    provider = "vapi",
    api_key = emu.keys.vapi,        -- the emulator's test key
    base_url = emu:url("vapi"),     -- instead of https://api.vapi.ai
  }

  local fields = {
    name = "Spring renewals",
    assistantId = "3f1c2a9e-8d4b-4c6f-9a7e-1b2c3d4e5f60",
    phoneNumberId = "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d",
    schedulePlan = { earliestAt = "2026-12-01T09:00:00Z", latestAt = "2026-12-01T17:00:00Z" },
    customers = {
      { number = "+14155550101", name = "Ada Lovelace" },
      { number = "+442071838750", name = "Charles Babbage", externalId = "crm-42" },
    },
  }

  title("1. prepare: the request create would send (key redacted)")
  print(tostring(campaign.assert(c:prepare("create", fields))))

  title("2. create: the campaign the provider answered with")
  local created = campaign.assert(c:create(fields))
  show({ id = created.id, name = created.name, status = created.status,
    customers = #created.customers })

  title("3. update: rename it (PATCH)")
  local updated = campaign.assert(c:update(created.id, { name = "Spring renewals (EU)" }))
  show({ id = updated.id, name = updated.name })

  title("4. stop: cancel it")
  local stopped = campaign.assert(c:stop(created.id))
  show({ id = stopped.id, status = stopped.status })

  title("5. get: read it back")
  local got = campaign.assert(c:get(created.id))
  show({ id = got.id, name = got.name, status = got.status })

  title("6. mistakes: nothing is sent, every problem is listed")
  local _, err = c:create({
    name = "Broken",
    assistantID = "3f1c2a9e-8d4b-4c6f-9a7e-1b2c3d4e5f60",
    phoneNumberId = "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d",
    customers = { { number = "+14155550101" }, { number = "415 555 0102" } },
    maxConcurrency = 0,
  })
  print("  " .. tostring(err))
  for _, problem in ipairs(err.errors) do
    print(("    %-22s %s"):format(problem.field, problem.message))
  end

  -- The tour: every example script, sent to the emulator as if it were the
  -- provider (each reads <PROVIDER>_BASE_URL and <PROVIDER>_API_KEY).
  local lua = arg and arg[-1] or "lua5.4"
  local i = -1
  while arg and arg[i - 1] do i = i - 1; lua = arg[i] end
  local dir = (debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "examples")
  local env = {}
  for _, p in ipairs({ "vapi", "smallest", "autocalls", "atlas" }) do
    env[#env + 1] = ("%s_BASE_URL=%s %s_API_KEY=%s"):format(p:upper(), emu:url(p), p:upper(), emu.keys[p])
  end
  env = table.concat(env, " ")
  for _, example in ipairs({ "vapi", "batch", "custom_transport", "smallest", "autocalls",
    "atlas_outbound", "atlas_inbound", "atlas_web", "atlas_messages" }) do
    title("tour: examples/" .. example .. ".lua")
    local p = io.popen(("%s %s %s/%s.lua 2>&1"):format(env, lua, dir, example))
    local out = p:read("*a")
    p:close()
    -- The prepared request is shown above; here, what happened.
    local shown = out:match("\n\n(.*)$") or out
    for line in shown:gmatch("[^\n]+") do print("  " .. line) end
  end

  title("what the emulator received")
  local counts, order = {}, {}
  for _, r in ipairs(emu:requests()) do
    local path = r.path:gsub("/[%x%-]+", function(seg) return #seg > 16 and "/{id}" or seg end)
    local key = ("%-6s /%s%s"):format(r.method, r.provider, path)
    if not counts[key] then order[#order + 1] = key end
    counts[key] = (counts[key] or 0) + 1
  end
  for _, key in ipairs(order) do print(("  %4d  %s"):format(counts[key], key)) end
end)
emu:stop()
if not ok then
  io.stderr:write("demo failed: ", tostring(failure), "\n")
  os.exit(1)
end
