-- Every Lua block of the README that can run here runs, as a user would run
-- it, against the provider emulator (tests/readme/run_block.lua sets the
-- scene), and its `expr --> value` lines check what expr gives. The blocks
-- for nginx cannot run outside it (examples/openresty's handler runs in
-- openresty_spec). A block that stops with an error fails, with its section.
local proc = require "helpers.proc"
local emulator = require "helpers.emulator"

-- The README's Lua blocks: {section = heading, text = code, line = n}.
local function blocks()
  local out, section, current, start = {}, nil, nil, nil
  local n = 0
  for line in io.lines(proc.ROOT .. "README.md") do
    n = n + 1
    if current then
      if line:find("^```") then
        out[#out + 1] = { section = section, text = table.concat(current, "\n"), line = start }
        current = nil
      else
        current[#current + 1] = line
      end
    elseif line:find("^```lua") then
      current, start = {}, n + 1
    elseif line:find("^#") then
      section = line
    end
  end
  return out
end

-- The provider a section is about (the client the block's `c` is).
local function provider_of(section, text)
  local named = text:match('provider = "(%a+)"')
  if named then return named end
  -- Atlas's own calls and ids.
  if text:find("attach_agent", 1, true) or text:find("RowKey", 1, true) then return "atlas" end
  for _, name in ipairs { "atlas", "smallest", "autocalls", "vapi" } do
    if section:lower():find(name, 1, true) then return name end
  end
  return "vapi"
end

-- campaigns.lua, which the plan/apply example reads: the README's own, the
-- block that starts "-- campaigns.lua" (a list of Vapi campaigns).
local CAMPAIGNS_FILE
for _, block in ipairs(blocks()) do
  if block.text:find("^%-%- campaigns%.lua") then CAMPAIGNS_FILE = block.text end
end
assert(CAMPAIGNS_FILE, "the README has no campaigns.lua block")

-- Blocks that need nginx (ngx, campaign.openresty) cannot run in a plain Lua.
local function needs_nginx(text)
  return text:find("ngx%.") or text:find("openresty") ~= nil
end

describe("the README's Lua blocks", function()
  local emu

  setup(function()
    emu = emulator.start()
  end)

  teardown(function()
    if emu then emu:stop() end
  end)

  local all = blocks()

  it("are there to run", function()
    assert.is_true(#all >= 20, "only " .. #all .. " Lua blocks found")
  end)

  for _, block in ipairs(all) do
    if not needs_nginx(block.text) then
      it(("run: %s (README.md:%d)"):format(block.section, block.line), function()
        emu:reset()
        local env = {}
        for name in pairs(require "campaign.providers") do
          local upper = name:upper()
          env[#env + 1] = ("%s_BASE_URL=%s %s_API_KEY=%s"):format(upper,
            proc.shquote(emu:url(name)), upper, proc.shquote(emu.keys[name]))
        end
        -- In a directory of its own, with the files the README's blocks read.
        local dir = proc.tmpdir()
        local file = dir .. "/block.lua"
        proc.write_file(file, block.text)
        proc.write_file(dir .. "/campaigns.lua", CAMPAIGNS_FILE)
        local root = proc.ROOT
        local cpath = (os.getenv("LUA_CPATH") or ""):gsub("^build/", root .. "build/")
        local code, out = proc.sh(("cd %s && %s LUA_PATH=%s LUA_CPATH=%s %s %s %s < %s 2>&1")
          :format(proc.shquote(dir), table.concat(env, " "),
            proc.shquote(root .. "lua/?.lua;" .. root .. "lua/?/init.lua;" .. root
              .. "tests/?.lua;;"),
            proc.shquote(cpath), proc.LUA,
            proc.shquote(proc.ROOT .. "tests/readme/run_block.lua"),
            provider_of(block.section, block.text), proc.shquote(file)))
        assert.are.equal(0, code, block.text .. "\n--- gave:\n" .. out)
      end)
    end
  end
end)
