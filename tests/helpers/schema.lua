-- Bodies checked against a provider's official OpenAPI schema by
-- tests/tools/schema_check.py (Debian's python3-jsonschema).
local proc = require "helpers.proc"

local schema = {}

-- spec: a file under tests/schemas; args: the checker's arguments after the
-- spec (a schema name, or --path/--method/--query); bodies: JSON texts.
-- Returns whether every body passed, and the checker's report.
function schema.check(spec, args, bodies)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  for _, body in ipairs(bodies) do f:write(body, "\n") end
  f:close()
  local code, out = proc.sh(string.format("/usr/bin/python3 %stests/tools/schema_check.py "
    .. "%stests/schemas/%s %s < %s", proc.ROOT, proc.ROOT, spec, args, path))
  os.remove(path)
  return code == 0, out
end

return schema
