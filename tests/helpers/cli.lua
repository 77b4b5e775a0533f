-- Runs bin/campaign as a child process, under the interpreter running the
-- suite, from the repository root, and keeps everything it printed so that
-- a spec can search it for keys at the end.
--
--   local cli = require("helpers.cli").new("lua-campaign-cli")
--   local r = cli:run({ "create", "--provider", "vapi", cli:file("c.json", fields) },
--     { env = { VAPI_API_KEY = key } })   --> {code, out, err}
--   cli.outputs, cli.tmp, cli:assert_no_key(keys), cli:close()
local cjson = require "cjson"
local proc = require "helpers.proc"

local M = {}
local Cli = {}
Cli.__index = Cli

M.ROOT = proc.ROOT:gsub("/$", "")
M.TOOL = M.ROOT .. "/bin/campaign"
-- Unset for every run unless given: the tool reads the key from them.
M.KEY_VARIABLES = {}
for name, provider in pairs(require "campaign.providers") do
  M.KEY_VARIABLES[#M.KEY_VARIABLES + 1] = provider.env
  -- And its base URL: a default for the tool as well.
  M.KEY_VARIABLES[#M.KEY_VARIABLES + 1] = name:upper() .. "_BASE_URL"
end
table.sort(M.KEY_VARIABLES)

-- name: the prefix of the temporary directory.
function M.new(name)
  local p = io.popen("mktemp -d \"${TMPDIR:-/tmp}/" .. name .. ".XXXXXX\"")
  local dir = p:read("*l")
  p:close()
  return setmetatable({ tmp = dir, outputs = {} }, Cli)
end

-- Writes content (a string, or a table as JSON) to a file of the temporary
-- directory; returns its path.
function Cli:file(name, content)
  local path = self.tmp .. "/" .. name
  proc.write_file(path, type(content) == "table" and cjson.encode(content) or content)
  return path
end

-- args: a list, quoted here. opts.env ({NAME = value}), opts.stdin (text),
-- opts.cmd (how to start the tool instead of LUA TOOL), opts.body_has_key
-- (stdout holds a key on purpose: not kept in outputs).
function Cli:run(args, opts)
  opts = opts or {}
  local parts = {}
  for _, a in ipairs(args) do parts[#parts + 1] = proc.shquote(a) end
  local env = { "env", "-u CAMPAIGN_LUA" }
  for _, name in ipairs(M.KEY_VARIABLES) do env[#env + 1] = "-u " .. name end
  for name, value in pairs(opts.env or {}) do env[#env + 1] = name .. "=" .. proc.shquote(value) end
  local stdin = opts.stdin and self:file("stdin.txt", opts.stdin) or "/dev/null"
  local cmd = table.concat(env, " ") .. " " .. (opts.cmd or (proc.LUA .. " " .. proc.shquote(M.TOOL)))
    .. " " .. table.concat(parts, " ")
  local tmp = self.tmp
  local out_path, err_path, rc_path = tmp .. "/out", tmp .. "/err", tmp .. "/rc"
  os.execute("cd " .. proc.shquote(M.ROOT) .. " && (" .. cmd .. ") <" .. proc.shquote(stdin) .. " >"
    .. out_path .. " 2>" .. err_path .. "; echo $? >" .. rc_path)
  local r = { code = tonumber(proc.read_file(rc_path)), out = proc.read_file(out_path) or "",
    err = proc.read_file(err_path) or "" }
  if not opts.body_has_key then self.outputs[#self.outputs + 1] = r.out end
  self.outputs[#self.outputs + 1] = r.err
  return r
end

-- stdout as JSON, or a failed assertion that shows both streams.
function M.json_of(r)
  local ok, v = pcall(cjson.decode, r.out)
  assert(ok, "stdout is not JSON: " .. r.out .. "\nstderr: " .. r.err)
  return v
end

-- Fails when a text any run printed holds one of keys (a table of them,
-- by any index): no run ever printed a key.
function Cli:assert_no_key(keys)
  for _, text in ipairs(self.outputs) do
    for _, key in pairs(keys) do
      assert(not text:find(key, 1, true), "a key was printed: " .. text)
    end
  end
end

function Cli:close()
  os.execute("rm -rf " .. proc.shquote(self.tmp))
end

return M
