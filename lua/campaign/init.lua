--- Create and manage voice-AI calling campaigns on Atlas, Autocalls.ai, Vapi
-- and Smallest AI Atoms.
-- @module campaign

local core = require "campaign.core"
local core_encode, core_interrupted = core.encode, core.interrupted
local providers = require "campaign.providers"
local errors = require "campaign.errors"
local redact = require "campaign.redact"
local pace_module = require("campaign.pace")
local pace_new, pace_shared = pace_module.new, pace_module.shared
local cjson = require("cjson").new()
local cjson_encode = cjson.encode

local M = { _VERSION = "0.1.0" }

local type, pairs, ipairs, tostring, setmetatable = type, pairs, ipairs, tostring, setmetatable
local error, pcall = error, pcall
local floor, random, min = math.floor, math.random, math.min
local concat, sort, format = table.concat, table.sort, string.format


local redact_text, redact_headers = redact.text, redact.headers

-- Keys are kept out of the client table so that printing or iterating a
-- client never shows them.
local secrets = setmetatable({}, { __mode = "k" })
-- The request headers of each client, key included: {plain, json}.
local header_templates = setmetatable({}, { __mode = "k" })

--- Provider names, sorted.
function M.providers()
  local names = {}
  for name in pairs(providers) do names[#names + 1] = name end
  sort(names)
  return names
end

-- ---------------------------------------------------------------------------
-- Errors

M.Error = errors.Error
local is_error, raise = errors.is_error, errors.raise

local function new_error(client, op, kind, message, extra)
  return errors.new(client and client.provider, op, kind, message, extra)
end

local function validation_error(client, op, problems)
  return errors.validation(client and client.provider, op, problems, client and secrets[client])
end

local function single_problem(client, op, field, message)
  return validation_error(client, op, { { field = field, message = message } })
end

-- ---------------------------------------------------------------------------
-- Requests

-- A printable copy with the credentials hidden.
local function redacted_headers(headers, client)
  return redact.printable_headers(headers, client and secrets[client],
    client and providers[client.provider].auth_header:lower())
end

-- The headers a request goes out with: its own once the caller looked at
-- them (and may have changed them), else the client's.
local function wire_headers(client, req)
  return rawget(req, "headers") or header_templates[client][rawget(req, "body") and "json" or "plain"]
end

local function request_text(req, client)
  local headers = redacted_headers(req.headers, client)
  local names = {}
  for name in pairs(headers) do names[#names + 1] = name end
  sort(names)
  local lines = { req.method .. " " .. redact_text(req.url, client and secrets[client]) }
  for _, name in ipairs(names) do lines[#lines + 1] = name .. ": " .. headers[name] end
  if req.body then
    lines[#lines + 1] = ""
    lines[#lines + 1] = redact_text(req.body, client and secrets[client])
  end
  return concat(lines, "\n")
end

-- A header name is an HTTP token; a value has no control characters.
local function bad_header(name, value)
  if type(name) ~= "string" or not name:find("^[%w!#$%%&'*+.^_`|~-]+$") then
    return "header names must be HTTP tokens"
  end
  if type(value) ~= "string" then
    return "header " .. name .. " must be a string"
  end
  if value:find("[%z\r\n]") then
    return "header " .. name .. " contains CR, LF or NUL"
  end
end

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

local Client = {}
Client.__index = Client
Client.__tostring = function(c)
  return format("campaign.client(%s, %s)", c.provider, redact_text(c.base_url, secrets[c]))
end

--- Builds the request an operation would send, without sending it.
-- @return req `{method, url, headers, body}`, or nil and an error
function Client:prepare(op, fields, id)
  local spec = self._ops[op]
  if not spec then
    raise(format("campaign %s: unknown operation %s", self.provider, tostring(op)))
  end
  if spec.unsupported then
    return nil, new_error(self, op, "unsupported", spec.unsupported)
  end
  local url, body, clean_id
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
    if not ok then return nil, validation_error(self, op, problems) end
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
    if type(fields) ~= "table" then
      raise(format("campaign %s %s: fields must be a table (got %s)", self.provider, op,
        type(fields)))
    end
    local normalize = self._normalize
    if normalize then
      local err
      fields, err = normalize(op, fields, self.passthrough and PASSTHROUGH_ON or PASSTHROUGH_OFF)
      if not fields then return nil, validation_error(self, op, err) end
    end
    local problems, message
    body, problems, message = core_encode(spec.schema, fields, self.passthrough, cjson_encode)
    if not body then
      if problems then return nil, validation_error(self, op, problems) end
      return nil, single_problem(self, op, "", "cannot be encoded as JSON: " .. tostring(message))
    end
  elseif spec.body then
    body = cjson.encode(spec.body(self._id_value(clean_id)))
  end
  return setmetatable({ method = spec.method, url = url, body = body }, self._request_mt)
end

-- ---------------------------------------------------------------------------
-- Sending, retries

-- Operations whose success must carry the campaign: an empty 2xx is an error.
local BODY_EXPECTED = { create = true, update = true, get = true, list = true }
local RETRY_STATUS_IDEMPOTENT = { [500] = true, [502] = true, [503] = true, [504] = true }

local function header(headers, name)
  if not headers then return nil end
  local v = headers[name]
  if v then return v end
  for k, value in pairs(headers) do
    if type(k) == "string" and k:lower() == name then return value end
  end
end

local MONTHS = { Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6, Jul = 7, Aug = 8,
  Sep = 9, Oct = 10, Nov = 11, Dec = 12 }

-- Retry-After: delta-seconds or an HTTP date; or the body's retry_after.
local function retry_after_of(resp, decoded)
  local value = header(resp.headers, "retry-after")
  if type(value) == "string" then
    local secs = value:match("^%s*(%d+)%s*$")
    if secs then return tonumber(secs) end
    -- An HTTP date has a 4-digit year: a longer one made os.time raise.
    local d, mon, y, h, mi, s = value:match("^%a+, (%d%d?) (%a+) (%d%d%d%d) (%d%d):(%d%d):(%d%d) GMT$")
    if d and MONTHS[mon] then
      local t = os.time({ year = tonumber(y), month = MONTHS[mon], day = tonumber(d),
        hour = tonumber(h), min = tonumber(mi), sec = tonumber(s), isdst = false })
      local now = os.time(os.date("!*t"))
      return t and math.max(0, t - now) or nil
    end
  end
  if type(decoded) == "table" then
    local body_value = decoded.retry_after or decoded.retryAfter
    if type(body_value) == "number" and body_value >= 0 then return body_value end
  end
end

-- The provider's own words from an error body, and per-field errors when
-- it gives them (Laravel {errors = {field = {...}}}, or a list of strings).
local function provider_message(decoded)
  if type(decoded) ~= "table" then return nil end
  local parts, fields = {}, nil
  local msg = decoded.message
  if type(msg) == "string" then
    parts[#parts + 1] = msg
  elseif type(msg) == "table" then
    for _, m in ipairs(msg) do
      if type(m) == "string" then parts[#parts + 1] = m end
    end
  end
  if #parts == 0 and type(decoded.error) == "string" then parts[#parts + 1] = decoded.error end
  local errs = decoded.errors
  if type(errs) == "table" then
    if #errs > 0 then
      if #parts == 0 then
        for _, m in ipairs(errs) do
          if type(m) == "string" then parts[#parts + 1] = m end
        end
      end
    else
      fields = {}
      for field, list in pairs(errs) do
        if type(field) == "string" then
          local texts = {}
          if type(list) == "table" then
            for _, m in ipairs(list) do texts[#texts + 1] = tostring(m) end
          else
            texts[1] = tostring(list)
          end
          fields[#fields + 1] = { field = field, message = concat(texts, "; ") }
        end
      end
      errors.sort(fields)
      if #fields == 0 then fields = nil end
    end
  end
  if #parts == 0 then return nil, fields end
  return concat(parts, "; "), fields
end

local REASONS = { [301] = "Moved Permanently", [302] = "Found", [303] = "See Other",
  [307] = "Temporary Redirect", [308] = "Permanent Redirect", [400] = "Bad Request",
  [401] = "Unauthorized", [403] = "Forbidden", [404] = "Not Found", [409] = "Conflict",
  [422] = "Unprocessable Entity",
  [429] = "Too Many Requests", [500] = "Internal Server Error", [502] = "Bad Gateway",
  [503] = "Service Unavailable", [504] = "Gateway Timeout" }

local function decode_body(text, decode)
  if text == nil or text == "" then return nil, true end
  local ok, value = pcall(decode or cjson.decode, text)
  if ok then return value, true end
  return text, false
end

local NON_IDEMPOTENT_OPS = { create = true, start = true }

function Client:_idempotent(op)
  if NON_IDEMPOTENT_OPS[op] then return false end
  local spec = self._ops[op]
  return spec.method == "GET" or spec.method == "PUT" or spec.method == "DELETE"
end

-- Inside nginx, libcurl would stop the worker (every request it serves)
-- while it waits: only nginx's init phases (and ngx.run_worker_thread,
-- which reports "init") may use it. Returns the phase that forbids it.
local function blocking_phase()
  local ngx = rawget(_G, "ngx")
  if type(ngx) ~= "table" or type(ngx.get_phase) ~= "function" then return nil end
  local ok, phase = pcall(ngx.get_phase)
  if not ok or phase == "init" or phase == "init_worker" or phase == "exit_worker" then
    return nil
  end
  return tostring(phase)
end
local BLOCKING = "the libcurl transport would block the nginx worker in the %s phase: use "
  .. 'require("campaign.openresty").client(opts), or set allow_blocking = true'
local function refuse_blocking(client)
  local phase = not client._allow_blocking and blocking_phase()
  if phase then raise(format("campaign %s: " .. BLOCKING, client.provider, phase)) end
end

-- One attempt through the transport: a response table, or nil and
-- kind, message, sent (whether the request may have reached the provider).
function Client:_attempt(req, timeout, connect_timeout, idempotent)
  local transport = self.transport
  if not transport then
    refuse_blocking(self)
    return self._http:perform({ method = req.method, url = req.url, headers = wire_headers(self, req),
      body = req.body, timeout = timeout, connect_timeout = connect_timeout,
      no_resend = not idempotent })
  end
  local treq = { method = req.method, url = req.url, headers = req.headers, body = req.body,
    timeout = timeout, connect_timeout = connect_timeout, no_resend = not idempotent }
  local ok, resp, err = pcall(transport, treq)
  if not ok then
    return nil, "transport", "the transport raised an error: " .. tostring(resp), true
  end
  if type(resp) == "table" and type(resp.status) == "number" then
    -- Not NaN, 250.5 or 1e300: those would pass for a status or break the message.
    local s = resp.status
    if s == floor(s) and s >= 0 and s <= 999 then return resp end
    return nil, "transport", "the transport returned an invalid HTTP status: " .. tostring(s), true
  end
  if type(err) == "table" then
    local kind = (err.kind == "timeout") and "timeout" or "transport"
    return nil, kind, tostring(err.message or "transport error"), err.sent ~= false
  end
  return nil, "transport", tostring(err or "the transport returned no response"), true
end

-- What one attempt came to: the decoded body, or an error with whether it
-- may be retried (and after how long, when the provider said so).
function Client:_outcome(op, resp, kind, message, sent, idempotent)
  local key = secrets[self]
  if not resp then
    local err = new_error(self, op, kind, redact_text(message, key))
    if sent and not idempotent then
      err.outcome_unknown = true
      return nil, err, false
    end
    return nil, err, true
  end
  local status = resp.status
  if status >= 200 and status < 300 then
    -- A success body is the caller's own data: decoded exactly as sent.
    local text = resp.body
    local decoded, ok = decode_body(text, self._decode)
    -- A JSON string, number, boolean or null is no campaign: success is a table.
    if ok and decoded ~= nil and type(decoded) ~= "table" then
      if BODY_EXPECTED[op] then ok = false else decoded = nil end
    end
    if not ok or (decoded == nil and BODY_EXPECTED[op]) then
      local err = new_error(self, op, "decode", format("HTTP %d with %s: the provider accepted "
        .. "the request but its answer cannot be read", status,
        decoded == nil and "an empty body" or "a body that is not a JSON object or list"),
        { status = status, body = redact_text(text, key),
          headers = redact_headers(resp.headers, key) })
      if not idempotent then
        -- The provider acted: the campaign exists (or started), unseen.
        err.outcome_unknown = true
        err.message = err.message .. format(" (outcome unknown: the %s may have taken effect; "
          .. "look before repeating it)", op)
      end
      return nil, err, false
    end
    if decoded == nil then decoded = {} end
    local unwrap = self._unwrap
    if unwrap and type(decoded) == "table" and type(decoded[unwrap]) == "table" then
      decoded = decoded[unwrap]
    end
    return decoded
  end
  -- An error body is shown in errors and logs: the key is taken out of the
  -- text before anything reads it (escaped forms and any depth included).
  local text = redact_text(resp.body, key)
  local headers = redact_headers(resp.headers, key)
  local decoded = decode_body(text, self._decode)
  local words, fields = provider_message(decoded)
  local line = format("HTTP %d %s", status, REASONS[status] or ""):gsub(" $", "")
  if words then
    line = line .. ": " .. words
  elseif status >= 300 and status < 400 then
    local location = header(headers, "location")
    line = line .. ": redirect" .. (location and (" to " .. location) or "")
      .. " not followed (the API key must not travel with it)"
  end
  local err = new_error(self, op, "http", line, { status = status, body = decoded,
    errors = fields, headers = headers })
  local after = retry_after_of(resp, decoded)
  if status == 429 or status == 503 then err.retry_after = after end
  -- 429, and a 503 that says when to come back, mean the request was not
  -- processed; 500/502/503/504 may come after the provider acted.
  if status == 429 or (status == 503 and after) then
    return nil, err, true, after, true
  elseif RETRY_STATUS_IDEMPOTENT[status] then
    if idempotent then return nil, err, true, after end
    err.outcome_unknown = true
  end
  return nil, err, false
end

-- The ranges of the client options of the same names.
local CALL_OPTIONS = { timeout = { 0.001, 86400 }, connect_timeout = { 0.001, 86400 },
  max_retries = { 0, 100 }, max_wait = { 0, 86400 } }

local function call_hook(hook, info)
  if hook then pcall(hook, info) end
end

-- Settings of one call: the client's, overridden by the call's options.
function Client:_settings(op, opts, extra)
  opts = opts or {}
  if type(opts) ~= "table" then
    raise(format("campaign %s %s: call options must be a table", self.provider, op))
  end
  for name in pairs(opts) do
    if not CALL_OPTIONS[name] and not (extra and extra[name]) then
      raise(format("campaign %s %s: unknown call option %s (known: connect_timeout, "
        .. "max_retries, max_wait, timeout%s)", self.provider, op, tostring(name),
        extra and ", concurrency, on_progress" or ""))
    end
  end
  local set = { timeout = opts.timeout, connect_timeout = opts.connect_timeout,
    max_retries = opts.max_retries, max_wait = opts.max_wait }
  -- Checked as the client's are: a max_retries of 1e9 would retry for ever.
  for name, range in pairs(CALL_OPTIONS) do
    local v = set[name]
    if v ~= nil and (type(v) ~= "number" or v ~= v or v < range[1] or v > range[2]) then
      raise(format("campaign %s %s: call option %s must be a number between %s and %s",
        self.provider, op, name, range[1], range[2]))
    end
    if v == nil then set[name] = self[name] end
  end
  set.idempotent = self:_idempotent(op)
  return set
end

function Client:_missing_key(op)
  return single_problem(self, op, "api_key", "is missing: pass api_key to "
    .. "campaign.client or set " .. providers[self.provider].env)
end

function Client:_before_attempt(op, req, attempt)
  if self.on_request then
    call_hook(self.on_request, { provider = self.provider, op = op, attempt = attempt,
      method = req.method, url = redact_text(req.url, secrets[self]),
      headers = redacted_headers(req.headers, self),
      body = redact_text(req.body, secrets[self]) })
  end
end

-- The client's clock for its pace and waits: monotonic, and moved on by
-- the waits a `sleep` option cut short (a test's, or a tool's that does
-- something else meanwhile), so that the pace sees the time it asked for.
function Client:_now()
  return core.now() + self._skew
end

-- A sleep short by less than a timer's tick (nginx rounds ngx.sleep down to
-- the millisecond) is not cut short: the pace waits the rest. A shared pace
-- keeps the clock every process reads.
local TICK = 0.002

function Client:_wait(seconds)
  local t0 = core.now()
  self._sleep(seconds)
  local short = seconds - (core.now() - t0)
  if short > TICK and not self._pace.shared then self._skew = self._skew + short end
end

-- The longest backoff between retries that are not about the rate limit.
local MAX_BACKOFF = 30

-- Interprets one attempt's result for a call or a batch item. `state` holds
-- the item's sends (every attempt), retries (those max_retries counts: not
-- the rate limit's), limited_at (when its first 429 came), and the errors it
-- is retried after: last_err, and last_limited for a 429. Returns the
-- body; or the error and how long to wait before the next attempt (nil: no
-- more attempts), and whether that wait is the client's pace (every
-- request waits for it) rather than this item's backoff.
function Client:_step(op, set, state, started, resp, kind, message, sent)
  local body, err, retry, wait, limited = self:_outcome(op, resp, kind, message, sent,
    set.idempotent)
  local now = self:_now()
  local delay, paced
  if err then
    err.attempts = state.sends
    if limited then
      -- Pacing, not failure: every request of the client waits for the
      -- provider's time, and this one goes back in line.
      local pause = self._pace:limited(now, started, wait, self.retry_delay)
      state.limited_at = state.limited_at or now
      local due = self._pace:delay(now)
      if now + due - state.limited_at <= set.max_wait then
        delay, paced = due, true
        state.last_limited = err
      else
        err.retry_after = err.retry_after or pause
      end
    elseif retry and state.retries < set.max_retries then
      state.retries = state.retries + 1
      delay = min(MAX_BACKOFF, self.retry_delay * 2 ^ (state.retries - 1) * (0.5 + random() * 0.5))
      if wait then delay = wait <= set.max_wait and wait or nil end
    end
  else
    self._pace:ok(now)
  end
  if self.on_response then
    local key = secrets[self]
    call_hook(self.on_response, { provider = self.provider, op = op, attempt = state.sends,
      elapsed = now - started, status = resp and resp.status,
      headers = resp and redacted_headers(resp.headers or {}, self),
      body = resp and redact_text(resp.body, key), error = err, retry_in = delay })
  end
  if delay then state.last_err = err end
  return body, err, delay, paced
end

-- An error for a call that the client's pace would hold past max_wait.
function Client:_pace_error(op, state, due, set)
  local err = state.last_limited or new_error(self, op, "http", format("HTTP 429 Too Many "
    .. "Requests: not sent: the client's rate limit would hold it %.1f s, past max_wait (%g s)",
    due, set.max_wait), { status = 429 })
  err.retry_after = due
  err.attempts = state.sends
  return err
end

-- One call, or one batch item through a custom transport: attempts until
-- there is a body or a final error. The pace's waits count against max_wait
-- from state.started (a single call waits for its turn) or, for a batch
-- item, from its first 429 (see _run_many).
function Client:_run_one(op, req, set, state)
  local pace = self._pace
  while true do
    -- The turn, when it is due: other coroutines of an nginx worker (and
    -- other workers, with a shared_dict) take theirs while this one waits.
    local due = pace:take(self:_now())
    if due > 0 then
      local since = state.limited_at or state.started
      if since and self:_now() + due - since > set.max_wait then
        return nil, self:_pace_error(op, state, due, set)
      end
      self:_wait(due)
    else
      state.sends = state.sends + 1
      self:_before_attempt(op, req, state.sends)
      local started = self:_now()
      local resp, kind, message, sent = self:_attempt(req, set.timeout, set.connect_timeout,
        set.idempotent)
      local body, err, delay, paced = self:_step(op, set, state, started, resp, kind, message, sent)
      if not err then return body end
      if not delay then return nil, err end
      -- A paced wait is the pace's, taken at the top.
      if not paced then self:_wait(delay) end
    end
  end
end

function Client:_send(op, req, opts)
  if not secrets[self] then return nil, self:_missing_key(op) end
  local set = self:_settings(op, opts)
  return self:_run_one(op, req, set, { sends = 0, retries = 0, started = self:_now() })
end

function Client:_call(op, fields, id, opts)
  local req, err = self:prepare(op, fields, id)
  if not req then return nil, err end
  return self:_send(op, req, opts)
end

--- Creates a campaign. @return body | nil, err
function Client:create(fields, opts) return self:_call("create", fields, nil, opts) end
--- Updates a campaign (PATCH or PUT, as the provider defines).
function Client:update(id, fields, opts) return self:_call("update", fields, id, opts) end
--- Reads one campaign.
function Client:get(id, opts) return self:_call("get", nil, id, opts) end
--- Lists campaigns; `query` holds the provider's filters.
function Client:list(query, opts) return self:_call("list", query, nil, opts) end
--- Deletes a campaign.
function Client:delete(id, opts) return self:_call("delete", nil, id, opts) end
--- Starts (or resumes) a campaign, where the provider has such a call.
function Client:start(id, opts) return self:_call("start", nil, id, opts) end
--- Stops, pauses or cancels a campaign, whichever the provider has.
function Client:stop(id, opts) return self:_call("stop", nil, id, opts) end
--- Attaches an agent to a campaign (Atlas): POST /agent/{campaignId} with an
-- inline configuration, or POST /agent/new/{campaignId} (template-driven)
-- with `opts.template = true`. `fields` (default `{}`) is sent as given: the
-- bodies are not published, so only JSON-ability is checked.
function Client:attach_agent(campaign_id, fields, opts)
  local template = type(opts) == "table" and opts.template
  if template ~= nil and type(template) ~= "boolean" then
    raise(format("campaign %s attach_agent: call option template must be true or false",
      self.provider))
  end
  local op = template and "attach_agent_template" or "attach_agent"
  if not self._ops[op] then
    return nil, new_error(self, op, "unsupported",
      format("%s has no call to attach an agent to a campaign", self.provider))
  end
  if fields == nil then fields = {} end
  local call_opts = opts
  if type(opts) == "table" and opts.template ~= nil then
    call_opts = {}
    for k, v in pairs(opts) do
      if k ~= "template" then call_opts[k] = v end
    end
  end
  return self:_call(op, fields, campaign_id, call_opts)
end

-- ---------------------------------------------------------------------------
-- Batches

local MANY_OPTIONS = { concurrency = true, on_progress = true }


-- A batch's progress: what on_progress gets as its third argument.
local function progress_info(counts, total, started, pace, t)
  local elapsed = t - started
  local finished = counts.ok + counts.failed
  local rate = elapsed > 0 and counts.sends / elapsed or 0
  local per_item = finished > 0 and elapsed / finished or nil
  local pace_rate = pace:current_rate(t)
  return {
    ok = counts.ok, created = counts.ok, failed = counts.failed, waiting = counts.waiting,
    sent = counts.sends, rate = rate,
    eta = per_item and (total - finished) * per_item
      or (pace_rate and (total - finished) / pace_rate) or nil,
  }
end

local function cancelled_error(client, op)
  return new_error(client, op, "cancelled", "not sent: the batch was cancelled")
end

-- Runs prepared requests (requests[i] = req, or results[i] already set to
-- the error that stopped it) `concurrency` at a time through curl's multi
-- interface (a custom transport: one at a time), each with the retry rules
-- of a single call and every request at the client's pace. on_progress
-- returning false, or raising, cancels: nothing new is sent, transfers under
-- way complete, items never sent get a `cancelled` error. Returns the
-- results and the error on_progress raised, if any.
function Client:_run_many(op, requests, results, set, concurrency, on_progress)
  local total = #requests
  local http, pace = self._http, self._pace
  if http then refuse_blocking(self) end
  local ready, waiting, states = {}, {}, {}
  local counts = { ok = 0, failed = 0, waiting = 0, sends = 0 }
  local inflight, first_ready, batch_started = 0, 1, self:_now()
  local cancelled, raised = false, nil

  local function report(done)
    if not on_progress or cancelled then return end
    local ok, answer = pcall(on_progress, done, total,
      progress_info(counts, total, batch_started, pace, self:_now()))
    if not ok then
      cancelled, raised = true, { answer }
    elseif answer == false then
      cancelled = true
    end
  end

  local done = 0
  local function finish(i, value)
    results[i] = value
    done = done + 1
    if is_error(value) then counts.failed = counts.failed + 1 else counts.ok = counts.ok + 1 end
    report(done)
  end

  for i = 1, total do
    if results[i] ~= nil then
      done = done + 1
      counts.failed = counts.failed + 1
    else
      ready[#ready + 1] = i
      states[i] = { sends = 0, retries = 0 }
    end
  end
  if done > 0 then report(done) end

  -- A custom transport has no multi interface: one request at a time.
  if not http then
    for _, i in ipairs(ready) do
      if core_interrupted() then cancelled = true end
      if cancelled then
        results[i] = cancelled_error(self, op)
      else
        local before = states[i].sends
        local body, err = self:_run_one(op, requests[i], set, states[i])
        counts.sends = counts.sends + states[i].sends - before
        finish(i, body or err)
      end
    end
    return results, raised
  end

  while done < total do
    -- Ctrl-C caught by core.catch_interrupt: stop sending, as a cancel.
    if core_interrupted() then cancelled = true end
    local t = self:_now()
    -- Items whose backoff is over go back in line.
    for i, due in pairs(waiting) do
      if due <= t then
        waiting[i] = nil
        counts.waiting = counts.waiting - 1
        ready[#ready + 1] = i
      end
    end
    if cancelled then
      -- Nothing new: what waits in line or for a retry ends here.
      for k = first_ready, #ready do
        local i = ready[k]
        results[i] = states[i].last_err or cancelled_error(self, op)
        done = done + 1
      end
      first_ready = #ready + 1
      for i in pairs(waiting) do
        results[i] = states[i].last_err
        done = done + 1
        waiting[i] = nil
      end
      counts.waiting = 0
    end
    -- Start what the concurrency and the pace allow.
    local due = 0
    while not cancelled and inflight < concurrency and first_ready <= #ready do
      local i = ready[first_ready]
      local state = states[i]
      due = pace:take(self:_now())
      if due > 0 then
        -- An item that got a 429 waits at most max_wait for the limit.
        if state.limited_at and self:_now() + due - state.limited_at > set.max_wait then
          first_ready = first_ready + 1
          finish(i, self:_pace_error(op, state, due, set))
          due = 0
        else
          break
        end
      else
        first_ready = first_ready + 1
        local req = requests[i]
        state.sends = state.sends + 1
        counts.sends = counts.sends + 1
        self:_before_attempt(op, req, state.sends)
        state.sent_at = self:_now()
        http:add(i, { method = req.method, url = req.url, headers = wire_headers(self, req),
          body = req.body, timeout = set.timeout, connect_timeout = set.connect_timeout,
          no_resend = not set.idempotent })
        inflight = inflight + 1
      end
    end
    if done >= total then break end
    -- Wait for a transfer, the pace, or the next backoff to end.
    local wait_for = 1
    if due > 0 then wait_for = min(wait_for, due) end
    for _, at in pairs(waiting) do wait_for = min(wait_for, math.max(0, at - self:_now())) end
    if inflight == 0 then
      if wait_for > 0 then self:_wait(wait_for) end
    else
      for _, r in ipairs(http:wait(wait_for)) do
        local i = r.id
        local state = states[i]
        inflight = inflight - 1
        local resp = r.status and r.headers and r
        local body, err, delay, paced = self:_step(op, set, state, state.sent_at, resp, r.kind,
          r.message, r.sent)
        if err and delay and not cancelled then
          if paced then
            -- Back in line, first: the pace holds it (and every other).
            first_ready = first_ready - 1
            ready[first_ready] = i
          else
            waiting[i] = self:_now() + delay
            counts.waiting = counts.waiting + 1
          end
        else
          finish(i, body or err)
        end
      end
    end
  end
  return results, raised
end

-- One batch at a time per client: a batch started from on_progress or a
-- hook would share the first one's transfers (and its ids).
function Client:_many(op, requests, results, set, concurrency, on_progress)
  self._in_batch = true
  local ok, value, raised = pcall(self._run_many, self, op, requests, results, set, concurrency,
    on_progress)
  self._in_batch = nil
  if not ok then error(value, 0) end
  -- An error on_progress raised, again, once every item has its result.
  if raised then error(raised[1], 0) end
  return value
end

local function many(self, op, items, opts)
  if type(items) ~= "table" then
    raise(format("campaign %s %s_many: the list must be a table", self.provider, op))
  end
  if self._in_batch then
    raise(format("campaign %s %s_many: a batch is already running on this client (from its "
      .. "on_progress or a hook?): start the next one after it returns, or use another client",
      self.provider, op))
  end
  local set = self:_settings(op, opts, MANY_OPTIONS)
  opts = opts or {}
  local concurrency = opts.concurrency or 8
  if type(concurrency) ~= "number" or concurrency < 1 or concurrency ~= floor(concurrency) then
    raise(format("campaign %s %s_many: concurrency must be a positive integer", self.provider,
      op))
  end
  if opts.on_progress ~= nil and type(opts.on_progress) ~= "function" then
    raise(format("campaign %s %s_many: on_progress must be a function", self.provider, op))
  end
  local requests, results = {}, {}
  local missing_key = not secrets[self]
  for i = 1, #items do
    local item = items[i]
    local req, err
    if op == "update" then
      if type(item) ~= "table" then
        raise(format("campaign %s update_many: item %d must be {id, fields}", self.provider, i))
      end
      req, err = self:prepare("update", item[2] or item.fields, item[1] or item.id)
    else
      req, err = self:prepare(op, item)
    end
    if req and missing_key then req, err = nil, self:_missing_key(op) end
    requests[i] = req or false
    results[i] = err
  end
  return self:_many(op, requests, results, set, concurrency, opts.on_progress)
end

--- Creates many campaigns at once through curl's multi interface.
-- `list` holds the fields of each campaign; `opts.concurrency` (default 8),
-- `opts.on_progress(done, total)`. Returns the results in input order: each
-- the body, or the error table (see campaign.is_error).
function Client:create_many(list, opts) return many(self, "create", list, opts) end

--- Updates many campaigns at once: `list` holds `{id, fields}` pairs.
function Client:update_many(list, opts) return many(self, "update", list, opts) end

--- Closes the client's HTTP handle (also done by the garbage collector).
function Client:close()
  if self._http then self._http:close() end
end

-- ---------------------------------------------------------------------------
-- Construction

local OPTIONS = {
  "provider", "api_key", "base_url", "timeout", "connect_timeout", "max_retries",
  "retry_delay", "max_retry_delay", "transport", "ca_file", "ca_path", "proxy", "no_proxy",
  "user_agent", "headers", "ssl_verify", "paths", "passthrough", "legacy", "allow_http",
  "max_body", "sleep", "on_request", "on_response", "allow_blocking", "json_decode",
  "rate_limit", "max_wait", "shared_dict",
}
local OPTION_SET = {}
for _, name in ipairs(OPTIONS) do OPTION_SET[name] = true end

local function closest(name, list)
  local best, best_d
  -- Levenshtein distance, small strings only: it takes time #name * #candidate.
  if #name > 48 then return nil end
  for _, candidate in ipairs(list) do
    local a, b = name:lower(), candidate:lower()
    local prev = {}
    for j = 0, #b do prev[j] = j end
    for i = 1, #a do
      local cur = { [0] = i }
      for j = 1, #b do
        local cost = a:byte(i) == b:byte(j) and 0 or 1
        cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
      end
      prev = cur
    end
    local d = prev[#b]
    if not best_d or d < best_d then best, best_d = candidate, d end
  end
  if best_d and best_d <= math.max(2, floor(#name / 3)) then return best end
end

-- shared_dict: the name of a lua_shared_dict through which every nginx
-- worker's client of this provider and base URL shares one pace.
local function shared_dict_option(name)
  if type(name) ~= "string" then
    raise("campaign.client: shared_dict must be the name of a lua_shared_dict (a string)")
  end
  local ngx = rawget(_G, "ngx")
  local shared = type(ngx) == "table" and ngx.shared
  if not shared then
    raise("campaign.client: shared_dict needs nginx with its Lua module (use "
      .. "campaign.openresty): ngx.shared is not available here")
  end
  local dict = shared[name]
  if not dict then
    raise(format("campaign.client: shared_dict: nginx.conf declares no lua_shared_dict %q "
      .. "(add: lua_shared_dict %s 1m;)", name, name))
  end
  return dict
end

-- The most seconds a call or a batch item waits for the provider's limit.
local DEFAULT_MAX_WAIT = 120

-- rate_limit: requests per second, {requests = N, per = seconds}, false (no
-- pace), or nil: the provider's documented limit, else learned (nil).
local function rate_option(value, provider)
  if value == nil then return provider.rate_limit end
  if value == false then return false end
  local rate
  if type(value) == "number" then
    rate = value
  elseif type(value) == "table" then
    local n, per = value.requests, value.per
    if type(n) == "number" and type(per) == "number" and per > 0 then rate = n / per end
  end
  if type(rate) ~= "number" or rate ~= rate or rate <= 0 or rate > 1e6 then
    raise("campaign.client: rate_limit must be requests per second (a number above 0), "
      .. "{requests = N, per = seconds}, or false")
  end
  return rate
end

local function check_number_option(opts, name, lo, hi)
  local v = opts[name]
  if v ~= nil and (type(v) ~= "number" or v ~= v or v < lo or v > hi) then
    raise(format("campaign.client: %s must be a number between %s and %s", name, lo, hi))
  end
end

local schema_set
local function known_schemas()
  if not schema_set then
    schema_set = {}
    for _, name in ipairs(core.schemas()) do schema_set[name] = true end
  end
  return schema_set
end

-- Hosts whose bytes stay on this machine: 127.0.0.0/8, ::1 and localhost
-- (which curl resolves to them itself). host is as curl reads it: IPv4
-- numbers normalised ("127.1" is "127.0.0.1"), IPv6 in brackets.
local function loopback(host)
  host = host:lower()
  if host == "localhost" or host == "[::1]" then return true end
  -- Four numbers of 0 to 255 written plainly: curl made an address of it.
  -- Anything else ("127.0.0.256") is a name it would look up.
  local a, b, c, d = host:match("^(127)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then return false end
  for _, part in ipairs { b, c, d } do
    if #part > 3 or tonumber(part) > 255 or (#part > 1 and part:sub(1, 1) == "0") then
      return false
    end
  end
  return true
end

-- Boolean options take booleans: "false", 0 or "no" would read as true.
local BOOLEAN_OPTIONS = { "allow_http", "ssl_verify", "passthrough", "legacy", "allow_blocking" }

-- Headers the transport writes itself, or that would only break a request.
local OWN_HEADERS = { host = "Host", ["content-length"] = "Content-Length",
  ["transfer-encoding"] = "Transfer-Encoding", connection = "Connection" }

-- Shorter keys cannot be kept out of errors and logs without cutting
-- ordinary words that happen to contain them.
local MIN_KEY = 8

--- Makes a client for one provider. Raises on wrong options.
function M.client(opts)
  if type(opts) ~= "table" then
    raise("campaign.client: options must be a table")
  end
  for name in pairs(opts) do
    if not OPTION_SET[name] then
      local hint = type(name) == "string" and closest(name, OPTIONS)
      local shown = tostring(name)
      if #shown > 60 then shown = shown:sub(1, 60) .. "..." end
      raise(format("campaign.client: unknown option %s%s", shown,
        hint and format(" (did you mean %s?)", hint) or ""))
    end
  end
  local name = opts.provider
  local provider = providers[name]
  if not provider then
    raise(format("campaign.client: unknown provider %s (known: %s)", tostring(name),
      concat(M.providers(), ", ")))
  end
  check_number_option(opts, "timeout", 0.001, 86400)
  check_number_option(opts, "connect_timeout", 0.001, 86400)
  check_number_option(opts, "max_retries", 0, 100)
  check_number_option(opts, "retry_delay", 0, 3600)
  check_number_option(opts, "max_retry_delay", 0, 86400)
  check_number_option(opts, "max_wait", 0, 86400)
  local rate = rate_option(opts.rate_limit, provider)
  local dict = opts.shared_dict ~= nil and shared_dict_option(opts.shared_dict)
  for _, option in ipairs(BOOLEAN_OPTIONS) do
    local v = opts[option]
    if v ~= nil and type(v) ~= "boolean" then
      raise(format("campaign.client: %s must be true or false (got a %s)", option, type(v)))
    end
  end
  local phase = not opts.transport and not opts.allow_blocking and blocking_phase()
  if phase then raise("campaign.client: " .. format(BLOCKING, phase)) end
  for _, fn in ipairs({ "transport", "sleep", "on_request", "on_response", "json_decode" }) do
    if opts[fn] ~= nil and type(opts[fn]) ~= "function" then
      raise(format("campaign.client: %s must be a function", fn))
    end
  end

  local key = opts.api_key
  if key == nil then key = os.getenv(provider.env) end
  if key ~= nil then
    if type(key) ~= "string" then raise("campaign.client: api_key must be a string") end
    if key:find("[%z\r\n]") then
      raise("campaign.client: api_key contains CR, LF or NUL")
    end
    if key == "" then key = nil end
    if key and #key < MIN_KEY then
      raise(format("campaign.client: api_key is too short (%d characters; at least %d): "
        .. "provider keys are longer, and a shorter one could not be told apart from "
        .. "ordinary text when it is kept out of errors and logs", #key, MIN_KEY))
    end
  end

  local base_url = opts.base_url or provider.base_url
  if type(base_url) ~= "string" then raise("campaign.client: base_url must be a string") end
  local base, url_err = core.url(base_url, "")
  if not base then raise("campaign.client: " .. url_err) end
  base = base:gsub("/$", "")
  -- The URL is never quoted in these messages: it may hold a secret.
  local parts = core.url_parts(base)
  if parts.user then
    raise("campaign.client: base_url must not hold a user name or password (user:password@): "
      .. "they would travel and be shown with every request; give the key as api_key")
  end
  if parts.query or parts.fragment then
    raise("campaign.client: base_url must not have a query (?...) or a fragment (#...): "
      .. "the routes are appended to its path")
  end
  -- Plain http is allowed without allow_http only when the bytes stay on
  -- this machine: to a loopback host, directly (never through a proxy).
  local direct = false
  if parts.scheme == "http" and not opts.allow_http then
    if not loopback(parts.host) then
      raise("campaign.client: base_url must use https (plain http is only allowed for "
        .. "loopback hosts, or with allow_http = true)")
    end
    if opts.proxy ~= nil and opts.proxy ~= "" then
      raise("campaign.client: plain http to a loopback host through a proxy would carry the "
        .. "key in clear text off this machine: use https, drop proxy, or set allow_http = true")
    end
    direct = true
  end

  local ops = {}
  local known = known_schemas()
  local legacy = opts.legacy and provider.legacy_paths or {}
  if opts.legacy and not provider.legacy_paths then
    raise(format("campaign.client: provider %s has no legacy routes", name))
  end
  for op, spec in pairs(provider.ops) do
    local copy = {}
    for k, v in pairs(spec) do copy[k] = v end
    copy.path = legacy[op] or copy.path
    if (copy.schema and not known[copy.schema]) or (copy.query and not known[copy.query]) then
      copy.unsupported = format("%s %s is not available in this build of lua-campaign",
        name, op)
    end
    ops[op] = copy
  end
  if opts.paths ~= nil then
    if type(opts.paths) ~= "table" then raise("campaign.client: paths must be a table") end
    for op, path in pairs(opts.paths) do
      if not ops[op] then raise(format("campaign.client: paths.%s is not an operation", tostring(op))) end
      if type(path) ~= "string" or path:sub(1, 1) ~= "/" or path:find("[%c ?#]") then
        raise(format("campaign.client: paths.%s must be a string starting with / "
          .. "(no spaces, control characters, ? or #)", op))
      end
      ops[op].path = path
      if ops[op].unsupported then
        ops[op].unsupported = nil
        ops[op].method = ops[op].method or "POST"
      end
    end
  end
  -- URLs and schemas are worked out once here, not on every call.
  for _, spec in pairs(ops) do
    spec.schema = spec.schema and core.schema(spec.schema) or spec.schema
    spec.query = spec.query and core.schema(spec.query) or spec.query
    if spec.path then
      local head, tail = spec.path:match("^(.-){id}(.*)$")
      spec.has_id = head ~= nil or spec.body ~= nil
      spec.id_in_path = head ~= nil
      spec.url_head, spec.url_tail = head and base .. head, tail
      spec.url = base .. spec.path
    end
  end

  local user_agent = opts.user_agent or ("lua-campaign/" .. M._VERSION)
  local problem = bad_header("User-Agent", user_agent)
  if problem then raise("campaign.client: " .. problem) end
  -- Header names are case-insensitive: one name, one header on the wire.
  local headers, by_name = {}, {}
  local function set_header(hname, value)
    local lname = hname:lower()
    if by_name[lname] then headers[by_name[lname]] = nil end
    headers[hname], by_name[lname] = value, hname
  end
  set_header("Accept", "application/json")
  set_header("User-Agent", user_agent)
  if opts.headers ~= nil then
    if type(opts.headers) ~= "table" then raise("campaign.client: headers must be a table") end
    local given = {}
    for hname, value in pairs(opts.headers) do
      problem = bad_header(hname, value)
      if problem then raise("campaign.client: " .. problem) end
      local lname = hname:lower()
      if OWN_HEADERS[lname] then
        raise(format("campaign.client: headers: %s is written by the transport and cannot be set",
          OWN_HEADERS[lname]))
      end
      if lname == provider.auth_header:lower() then
        raise(format("campaign.client: headers: %s carries the API key: give the key as api_key",
          provider.auth_header))
      end
      if given[lname] then
        raise(format("campaign.client: headers: %s is given twice (names are case-insensitive)",
          hname))
      end
      given[lname] = true
      set_header(hname, value)
    end
  end
  if key then set_header(provider.auth_header, provider.auth_prefix .. key) end
  local body_headers = {}
  for hname, value in pairs(headers) do body_headers[hname] = value end
  if not by_name["content-type"] then body_headers["Content-Type"] = "application/json" end

  local sleep = opts.sleep or core.sleep
  local self = setmetatable({
    provider = name,
    base_url = base,
    timeout = opts.timeout or 30,
    connect_timeout = opts.connect_timeout or 10,
    max_retries = opts.max_retries or 2,
    retry_delay = opts.retry_delay or 0.5,
    -- max_retry_delay (a longer Retry-After was returned, not waited) is
    -- what max_wait now says for the whole wait.
    max_wait = opts.max_wait or opts.max_retry_delay or DEFAULT_MAX_WAIT,
    passthrough = opts.passthrough and true or false,
    transport = opts.transport,
    on_request = opts.on_request,
    on_response = opts.on_response,
    _ops = ops,
    _base = base,
    _unwrap = provider.unwrap,
    _normalize = provider.normalize,
    _sleep = sleep,
    _skew = 0,
    -- false: no pace of its own, but a 429 still pauses the client.
    _pace = dict and pace_shared(dict, name .. " " .. base, rate or nil, rate ~= false, sleep)
      or pace_new(rate or nil, rate ~= false),
    _decode = opts.json_decode,
    _allow_blocking = opts.allow_blocking and true or false,
    _id_value = provider.id_kind == "integer" and tonumber or function(id) return id end,
  }, Client)
  if not opts.transport then
    self._http = core.http({
      ssl_verify = opts.ssl_verify ~= false,
      ca_file = opts.ca_file, ca_path = opts.ca_path,
      -- "": no proxy at all, not even one from the environment.
      proxy = direct and "" or opts.proxy, no_proxy = opts.no_proxy,
      user_agent = user_agent, max_body = opts.max_body,
    })
  end
  -- req.headers is made when it is first looked at: sending uses the
  -- client's template as it is.
  self._request_mt = {
    __tostring = function(req) return request_text(req, self) end,
    __index = function(req, k)
      if k ~= "headers" then return nil end
      local h = {}
      for n, v in next, wire_headers(self, req) do h[n] = v end
      rawset(req, "headers", h)
      return h
    end,
  }
  secrets[self] = key
  header_templates[self] = { plain = headers, json = body_headers }
  return self
end

--- True when `value` is an error table of this module.
M.is_error = errors.is_error

--- `campaign.assert(c:get(id))`: like assert on every Lua (PUC Lua 5.1's
-- takes only a string message): the values when the first is true, else
-- raises the error's one line at the caller's line.
M.assert = errors.assert

--- One-shot create: `campaign.client(opts):create(fields)`.
function M.create(opts, fields, call_opts)
  return M.client(opts):create(fields, call_opts)
end

--- One-shot update: `campaign.client(opts):update(id, fields)`.
function M.update(opts, id, fields, call_opts)
  return M.client(opts):update(id, fields, call_opts)
end

return M
