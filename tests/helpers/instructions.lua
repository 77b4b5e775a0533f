--- The Lua VM instructions a function runs, counted by a debug hook: a cost
-- that does not depend on the machine or its load, for specs that check
-- that work stays bounded. Work done in C functions is not counted.
--
--   local instructions = require "helpers.instructions"
--   local n, stopped = instructions.count(function() ... end, 1e6)
--
-- Past `limit` the hook raises an error inside fn, again at each of its
-- steps, so that runaway work ends at once; `stopped` is then true. Under
-- LuaJIT the compiler is off while counting: compiled code calls no hook.
local M = {}

-- The hook runs every STEP instructions: counts are multiples of it.
local STEP = 100

function M.count(fn, limit)
  local jit = rawget(_G, "jit")
  local old_hook, old_mask, old_count = debug.gethook()
  local steps, stopped = 0, false
  if jit then
    jit.flush()
    jit.off()
  end
  debug.sethook(function()
    steps = steps + 1
    if limit and steps * STEP > limit then
      stopped = true
      error(("more than %d Lua instructions"):format(limit), 2)
    end
  end, "", STEP)
  local ok, err = pcall(fn)
  if old_hook then debug.sethook(old_hook, old_mask, old_count) else debug.sethook() end
  if jit then jit.on() end
  if not ok and not stopped then error(err, 0) end
  return steps * STEP, stopped
end

return M
