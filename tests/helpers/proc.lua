-- Child processes for the specs: the interpreter running the suite, the
-- repository root, shell commands with their exit status (Lua 5.1's
-- close() does not give it), and temporary directories.
local proc = {}

-- lua5.1 .. lua5.4 or luajit: child processes run under the same Lua.
proc.LUA = rawget(_G, "jit") and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))

-- The repository root, with a trailing slash, from this file's path.
proc.ROOT = (function()
  local src = debug.getinfo(1, "S").source:gsub("^@", "")
  local dir = src:match("^(.*)/[^/]*$") or "."
  local p = io.popen("cd '" .. dir .. "/../..' && pwd -P")
  local root = p:read("*l")
  p:close()
  return root .. "/"
end)()

-- Runs cmd in a shell; returns its exit status and its output (stdout and
-- stderr together).
function proc.sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1; echo \"exit=$?\""))
  local out = p:read("*a")
  p:close()
  local code = tonumber(out:match("exit=(%d+)%s*$"))
  return code, (out:gsub("exit=%d+%s*$", ""))
end

function proc.tmpdir()
  local p = io.popen("mktemp -d")
  local d = p:read("*l")
  p:close()
  return d
end

return proc
