--- Building requests: what an operation would send, checked, without
-- sending it (Client:prepare).
-- @module campaign.request

local core = require "campaign.core"
local base = require "campaign.class"
local providers = require "campaign.providers"
local errors = require "campaign.errors"
local raise, unknown = errors.raise, errors.unknown

local type, next, pairs, tostring, tonumber, setmetatable = type, next, pairs, tostring,
  tonumber, setmetatable
local floor = math.floor
local sort, format = table.sort, string.format
local core_encode, core_json = core.encode, core.json
local new_error, validation_error, single_problem = base.new_error, base.validation_error,
  base.single_problem

local methods = {}

-- Ids become part of the URL path: only characters that cannot change it.
local function check_id(client, op, id)
  local provider = providers[client.provider]
  if type(id) == "number" then
    if id ~= floor(id) or id < 0 or id >= 1e14 then
      return nil, single_problem(client, op, "id", "must be a non-negative integer below 10^14")
    end
    return format("%d", id)
  end
  if type(id) ~= "string" then
    raise(format("campaign %s %s: id must be a string (got %s)", client.provider, op, type(id)))
  end
  local shown = format("%q", #id > 60 and id:sub(1, 60) .. "..." or id)
  if id == "" then
    return nil, single_problem(client, op, "id", "must not be empty")
  end
  if #id > 200 then
    return nil, single_problem(client, op, "id", "is longer than 200 characters")
  end
  -- "." and ".." are dot segments: curl (and servers) would drop them from the path.
  if not id:find("^[%w%-_.:~]+$") or id:find("..", 1, true) or id == "." then
    return nil, single_problem(client, op, "id", shown .. " would change the request path: "
      .. "an id may contain only letters, digits and - _ . : ~")
  end
  if provider.id_kind == "integer" and not id:find("^%d+$") then
    return nil, single_problem(client, op, "id", shown .. " must be an integer id")
  end
  return id
end

-- A number as the shortest text that reads back to it (a query value is
-- text: it must name the same number); nil for NaN and infinities.
local function number_text(v)
  if v ~= v or v == math.huge or v == -math.huge then return nil end
  if math.type and math.type(v) == "integer" then return format("%d", v) end
  if v == floor(v) and v > -2^53 and v < 2^53 then return format("%d", v) end
  for digits = 15, 17 do
    local text = format("%." .. digits .. "g", v)
    if tonumber(text) == v then return text end
  end
  return format("%.17g", v)
end

local function query_pairs(query)
  local list = {}
  -- Raw, as the validator read it: a __pairs must not change what is sent.
  for name, value in next, query do
    local v = value
    if type(v) == "number" then
      v = number_text(v)
      if not v then return nil, name end
    elseif type(v) == "string" or type(v) == "boolean" then
      v = tostring(v)
    else
      -- A table (or null) let through by passthrough: tostring would send
      -- "table: 0x..." (or run its __tostring).
      return nil, name
    end
    list[#list + 1] = { name, v }
  end
  sort(list, function(a, b) return a[1] < b[1] end)
  return list
end

-- The options normalize steps are given (read only).
local PASSTHROUGH_ON, PASSTHROUGH_OFF = { passthrough = true }, { passthrough = false }

-- A validation error, with what only the provider can add to its problems
-- (its explain: Atlas says how a full update is done).
local function invalid(client, op, problems)
  local explain = providers[client.provider].explain
  if explain then explain(op, problems) end
  return validation_error(client, op, problems)
end

-- Fields that are not a table are wrong use: raised.
local function check_table(client, op, fields)
  if type(fields) ~= "table" then
    raise(format("campaign %s %s: fields must be a table (got %s)", client.provider, op,
      type(fields)))
  end
end

-- The error for fields the walk refused (raised when they are not a table).
local function refused(client, op, fields, problems)
  check_table(client, op, fields)
  return invalid(client, op, problems)
end

-- The body of an operation that takes fields: body, or nil and the error;
-- third, the names of the fields the provider's step dropped (or nil).
-- That step (shorthands, checks of JSON in strings) runs first, unless it
-- keeps the texts it found good (known): then the walk hands the fields
-- back (nil) only when they need it.
local function write_body(client, op, schema, fields, handed_back)
  local normalize, known, passthrough = client._normalize, client._known, client.passthrough
  local body, problems, dropped
  if normalize and not known then
    fields, problems, dropped = normalize(op, fields, passthrough and PASSTHROUGH_ON
      or PASSTHROUGH_OFF)
    if not fields then return nil, invalid(client, op, problems) end
  end
  -- handed_back: a walk with known has just given these fields back.
  if not handed_back then body, problems = core_encode(schema, fields, passthrough, known) end
  if body == nil then
    fields, problems, dropped = normalize(op, fields, passthrough and PASSTHROUGH_ON
      or PASSTHROUGH_OFF)
    if not fields then return nil, invalid(client, op, problems) end
    body, problems = core_encode(schema, fields, passthrough)
  end
  if body then return body, nil, dropped end
  return nil, refused(client, op, fields, problems)
end

-- The request of an operation whose only input is its fields (create), when
-- the walk of its writer (core.writer) did not make it: nil, the provider's
-- step is due; false, the fields were refused.
local function fields_only_slow(client, op, spec, fields, made, problems)
  if made == false then return nil, refused(client, op, fields, problems) end
  local body, err, dropped = write_body(client, op, spec.schema, fields, true)
  if not body then return nil, err end
  return setmetatable({ method = spec.method, url = spec.url, body = body, dropped = dropped },
    client._request_mt)
end

--- Builds the request an operation would send, without sending it.
-- @return req `{method, url, headers, body, dropped}`, or nil and an error
function methods:prepare(op, fields, id)
  local spec = self._ops[op]
  -- The common call (create): one walk makes the request.
  local write = spec and spec.fields_only
  if write then
    local req, problems = write(fields, self.passthrough)
    if req then return req end
    return fields_only_slow(self, op, spec, fields, req, problems)
  end
  if not spec then
    local known = {}
    for name in pairs(self._ops) do known[#known + 1] = name end
    sort(known)
    raise(format("campaign %s: %s", self.provider, unknown("operation", op, known)))
  end
  if spec.unsupported then
    return nil, new_error(self, op, "unsupported", spec.unsupported)
  end
  -- An operation the provider has not (Autocalls' get) made of another
  -- (its list): the request is that one's.
  if spec.via_list then
    local _, err = check_id(self, op, id)
    if err then return nil, err end
    return self:prepare(spec.via_list)
  end
  local url, body, clean_id, dropped
  if spec.has_id then
    local err
    clean_id, err = check_id(self, op, id)
    if not clean_id then return nil, err end
    url = spec.id_in_path and (spec.url_head .. clean_id .. spec.url_tail) or spec.url
  else
    url = spec.url
  end
  if spec.query then
    if fields ~= nil and type(fields) ~= "table" then
      raise(format("campaign %s %s: query must be a table", self.provider, op))
    end
    local query = fields or {}
    local ok, problems = core.validate(spec.query, query, self.passthrough)
    if not ok then return nil, invalid(self, op, problems) end
    local list, bad = query_pairs(query)
    if not list then
      return nil, single_problem(self, op, tostring(bad), "cannot be sent in a query string: "
        .. "give a string, a finite number or a boolean")
    end
    local err
    url, err = core.url(url, "", list)
    if not url then return nil, single_problem(self, op, "", err) end
  end
  if spec.schema then
    check_table(self, op, fields)
    if not spec.has_id and not spec.query and (self._known or not self._normalize) then
      spec.fields_only = core.writer(spec.schema, spec.method, spec.url, self._request_mt,
        self._known)
      return self:prepare(op, fields)
    end
    local err
    body, err, dropped = write_body(self, op, spec.schema, fields)
    if not body then return nil, err end
  elseif spec.body then
    -- The providers' fixed bodies ({status = "cancelled"} and the like):
    -- always valid, written as any other.
    body = assert(core_json(spec.body(self._id_value(clean_id))))
  end
  return setmetatable({ method = spec.method, url = url, body = body, dropped = dropped },
    self._request_mt)
end

return methods
