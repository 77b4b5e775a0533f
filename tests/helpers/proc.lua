-- Child processes for the specs and the test helpers: the interpreter
-- running the suite, the repository root, shell commands with their exit
-- status (Lua 5.1's close() does not give it), files, temporary directories
-- and other processes seen through Linux's /proc.
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

-- s as one shell word.
function proc.shquote(s)
  return "'" .. (tostring(s):gsub("'", "'\\''")) .. "'"
end

-- Runs cmd in a shell; returns its exit status and its output (stdout and
-- stderr together). The subshell makes the redirection cover every command
-- of a list such as "cd dir && make".
function proc.sh(cmd)
  local p = assert(io.popen("(" .. cmd .. ") 2>&1; echo \"exit=$?\""))
  local out = p:read("*a")
  p:close()
  local code = tonumber(out:match("exit=(%d+)%s*$"))
  return code, (out:gsub("exit=%d+%s*$", ""))
end

-- The output of cmd without trailing white space, or nil if it failed.
function proc.capture(cmd)
  local code, out = proc.sh(cmd)
  return code == 0 and (out:gsub("%s+$", "")) or nil
end

function proc.tmpdir()
  local p = io.popen("mktemp -d")
  local d = p:read("*l")
  p:close()
  return d
end

-- The whole file, or nil if it cannot be read.
function proc.read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

function proc.write_file(path, s)
  local f = assert(io.open(path, "wb"))
  assert(f:write(s))
  f:close()
end

-- Alive and not a zombie (an exited daemon stays a zombie when init does
-- not reap it, as in some containers).
function proc.alive(pid)
  local status = pid and proc.read_file("/proc/" .. pid .. "/status")
  if not status then return false end
  local state = status:match("\nState:%s*(%a)")
  return state ~= "Z" and state ~= "X"
end

-- The command line of pid, arguments separated by spaces ("" once it is gone).
function proc.cmdline(pid)
  return ((proc.read_file("/proc/" .. pid .. "/cmdline") or ""):gsub("%z", " "))
end

-- The pids of pid's children.
function proc.children(pid)
  local list = {}
  for p in (proc.capture("ps -o pid= --ppid " .. pid) or ""):gmatch("%d+") do
    list[#list + 1] = tonumber(p)
  end
  return list
end

-- sig: a name such as "TERM" or "KILL".
function proc.signal(pid, sig)
  proc.sh("kill -" .. sig .. " " .. pid)
end

--- Runs the command-line tool with `args` (a shell string; VAPI_API_KEY set
-- to key) in the background from the checkout, in dir, and sends it a
-- Ctrl-C once emu holds `held` POSTs under way (fault `hold`); then lets
-- them go and waits for the tool's end. Returns its exit status (a
-- string), standard output and standard error.
function proc.interrupted(emu, key, args, dir, held)
  -- A shell runs the tool and keeps its exit status; the tool is its child.
  local shell = tonumber(proc.capture(("sh -c %s > /dev/null 2>&1 & echo $!"):format(proc.shquote(
    ("cd %s && VAPI_API_KEY=%s %s bin/campaign %s > %s/ctrl.out 2> %s/ctrl.err; "
      .. "echo $? > %s/ctrl.rc"):format(proc.shquote(proc.ROOT), key, proc.LUA, args, dir, dir,
      dir)))))
  local tool
  for _ = 1, 500 do
    tool = proc.children(shell)[1]
    if tool and emu:count { method = "POST" } >= held then break end
    os.execute("sleep 0.02")
  end
  assert(tool, "the tool did not start")
  proc.signal(tool, "INT")
  -- A batch looks for the Ctrl-C at least every second; then the requests
  -- under way may end (none more is sent once it has seen it).
  os.execute("sleep 1.5")
  emu:release()
  for _ = 1, 1000 do
    if proc.read_file(dir .. "/ctrl.rc") then break end
    os.execute("sleep 0.02")
  end
  return (proc.read_file(dir .. "/ctrl.rc") or ""):match("%d+"), proc.read_file(dir .. "/ctrl.out"),
    proc.read_file(dir .. "/ctrl.err")
end

return proc
