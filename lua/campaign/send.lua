--- Sending: one attempt through the transport, what it came to, and the
-- attempts of one call (retries, the client's pace, max_wait).
-- @module campaign.send

local core = require "campaign.core"
local base = require "campaign.class"
local providers = require "campaign.providers"
local errors = require "campaign.errors"
local redact = require "campaign.redact"
local cjson = require("cjson").new()

local type, pairs, ipairs, next, tostring, tonumber, pcall = type, pairs, ipairs, next, tostring,
  tonumber, pcall
local floor, random, min = math.floor, math.random, math.min
local concat, format = table.concat, string.format
local raise, unknown = errors.raise, errors.unknown
local redact_text, redact_headers = redact.text, redact.headers
local secrets = base.secrets
local new_error = base.new_error
local redacted_headers, wire_headers, refuse_blocking = base.redacted_headers, base.wire_headers,
  base.refuse_blocking
local curl_headers, own_transports = base.curl_headers, base.own_transports

local methods = {}

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

-- lua-cjson reads every number as a float under Lua 5.3+ (an Autocalls id
-- 1 came back as 1.0, and URLs made of it read ".../1.0"): integral values
-- within the exact range become integers again, at any depth.
local tointeger, math_type = math.tointeger, math.type
local EXACT = 2 ^ 53
local function integers(v, depth)
  if depth > 1000 then return v end
  for k, x in next, v do
    local t = type(x)
    if t == "number" then
      if math_type(x) == "float" and x == floor(x) and x > -EXACT and x < EXACT then
        v[k] = tointeger(x)
      end
    elseif t == "table" then
      integers(x, depth + 1)
    end
  end
  return v
end

local function decode_body(text, decode)
  if text == nil or text == "" then return nil, true end
  local ok, value = pcall(decode or cjson.decode, text)
  if not ok then return text, false end
  -- A decoder of the caller's own gives its values as they are.
  if not decode and tointeger and type(value) == "table" then integers(value, 0) end
  return value, true
end

local NON_IDEMPOTENT_OPS = { create = true, start = true }

function methods:_idempotent(op)
  if NON_IDEMPOTENT_OPS[op] then return false end
  local spec = self._ops[op]
  return spec.method == "GET" or spec.method == "PUT" or spec.method == "DELETE"
end

-- An attempt that got no answer: kind, message, and whether the request
-- may have reached the provider.
local function failed(started, kind, message, sent)
  return { started = started, kind = kind, message = message, sent = sent }
end

-- What a custom transport returned, as an attempt.
local function transport_attempt(started, ok, resp, err)
  if not ok then
    return failed(started, "transport", "the transport raised an error: " .. tostring(resp), true)
  end
  if type(resp) == "table" and type(resp.status) == "number" then
    -- Not NaN, 250.5 or 1e300: those would pass for a status or break the message.
    local s = resp.status
    if s == floor(s) and s >= 0 and s <= 999 then return { started = started, resp = resp } end
    return failed(started, "transport", "the transport returned an invalid HTTP status: "
      .. tostring(s), true)
  end
  if type(err) == "table" then
    local kind = (err.kind == "timeout") and "timeout" or "transport"
    return failed(started, kind, tostring(err.message or "transport error"), err.sent ~= false)
  end
  return failed(started, "transport", tostring(err or "the transport returned no response"), true)
end

--- The attempt record of a transfer the libcurl handle ended: {resp} or
-- {kind, message, sent}, with the time it started.
function methods.curl_attempt(started, r)
  if not r.kind then return { started = started, resp = r } end
  return failed(started, r.kind, r.message, r.sent)
end

-- One attempt through the transport: {started, resp} with the response
-- table, or {started, kind, message, sent} (whether the request may have
-- reached the provider).
function methods:_attempt(req, set)
  local started = self:_now()
  local transport = self.transport
  if not transport then
    refuse_blocking(self)
    local resp, kind, message, sent = self._http:perform(req.method, req.url, curl_headers(req),
      req.body, set.timeout, set.connect_timeout, not set.idempotent)
    if resp then return { started = started, resp = resp } end
    return failed(started, kind, message, sent)
  end
  local own = own_transports[transport]
  if own then
    return transport_attempt(started, pcall(own, req.method, req.url, wire_headers(self, req),
      req.body, set.timeout, set.connect_timeout, not set.idempotent))
  end
  local treq = { method = req.method, url = req.url, headers = req.headers, body = req.body,
    timeout = set.timeout, connect_timeout = set.connect_timeout,
    no_resend = not set.idempotent }
  return transport_attempt(started, pcall(transport, treq))
end

-- What one attempt came to: the decoded body, or an error with whether it
-- may be retried (and after how long, when the provider said so).
function methods:_outcome(op, attempt, idempotent)
  local key = secrets[self]
  local resp = attempt.resp
  if not resp then
    local err = new_error(self, op, attempt.kind, redact_text(attempt.message, key))
    if attempt.sent and not idempotent then
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

-- Their names, for the messages: a batch takes two more.
local CALL_NAMES = { "connect_timeout", "max_retries", "max_wait", "timeout" }
local MANY_NAMES = { "concurrency", "connect_timeout", "max_retries", "max_wait", "on_progress",
  "timeout" }

local EMPTY = {}

-- The method a route serves, as hooks name it (attach_agent_template is
-- attach_agent with template = true).
local function method_of(op)
  return (op:gsub("_template$", ""))
end

local function call_hook(hook, info)
  if hook then pcall(hook, info) end
end

-- Settings of one call: the client's, overridden by the call's options.
-- A call without options gets the client's settings of the operation, made
-- once (again if a client field changed since).
function methods:_settings(op, opts, extra)
  if opts == nil then
    local set = self._settings_of[op]
    if set and set.timeout == self.timeout and set.connect_timeout == self.connect_timeout
      and set.max_retries == self.max_retries and set.max_wait == self.max_wait then
      return set
    end
    set = self:_settings(op, EMPTY, extra)
    self._settings_of[op] = set
    return set
  end
  if type(opts) ~= "table" then
    raise(format("campaign %s %s: call options must be a table", self.provider, op))
  end
  for name in pairs(opts) do
    if not CALL_OPTIONS[name] and not (extra and extra[name]) then
      raise(format("campaign %s %s: %s", self.provider, op,
        unknown("call option", name, extra and MANY_NAMES or CALL_NAMES)))
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

-- No key: the client's configuration, not the caller's fields (kind
-- "config"; nothing was sent).
function methods:_missing_key(op)
  return new_error(self, op, "config", "api_key is missing: pass api_key to "
    .. "campaign.client or set " .. providers[self.provider].env)
end

function methods:_before_attempt(op, req, attempt)
  if self.on_request then
    call_hook(self.on_request, { provider = self.provider, op = method_of(op), attempt = attempt,
      method = req.method, url = redact_text(req.url, secrets[self]),
      headers = redacted_headers(wire_headers(self, req), self),
      body = redact_text(req.body, secrets[self]), dropped = req.dropped })
  end
end

-- The client's clock for its pace and waits: monotonic, and moved on by
-- the waits a `sleep` option cut short (a test's, or a tool's that does
-- something else meanwhile), so that the pace sees the time it asked for.
function methods:_now()
  return core.now() + self._skew
end

-- A sleep short by less than a timer's tick (nginx rounds ngx.sleep down to
-- the millisecond) is not cut short: the pace waits the rest. A shared pace
-- keeps the clock every process reads.
local TICK = 0.002

function methods:_wait(seconds)
  local t0 = core.now()
  self._sleep(seconds)
  local short = seconds - (core.now() - t0)
  if short > TICK and not self._pace.shared then self._skew = self._skew + short end
end

-- The longest backoff between retries that are not about the rate limit.
local MAX_BACKOFF = 30

-- Interprets one attempt (see _attempt) for a call or a batch item. `state` holds
-- the item's sends (every attempt), retries (those max_retries counts: not
-- the rate limit's), limited_at (when its first 429 came), and the errors it
-- is retried after: last_err, and last_limited for a 429. Returns the
-- body; or the error and how long to wait before the next attempt (nil: no
-- more attempts), and whether that wait is the client's pace (every
-- request waits for it) rather than this item's backoff.
function methods:_step(op, set, state, attempt)
  local body, err, retry, wait, limited = self:_outcome(op, attempt, set.idempotent)
  local now, started, resp = self:_now(), attempt.started, attempt.resp
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
    call_hook(self.on_response, { provider = self.provider, op = method_of(op),
      attempt = state.sends,
      elapsed = now - started, status = resp and resp.status,
      headers = resp and redacted_headers(resp.headers or {}, self),
      body = resp and redact_text(resp.body, key), error = err, retry_in = delay })
  end
  if delay then state.last_err = err end
  return body, err, delay, paced
end

-- An error for a call that the client's pace would hold past max_wait.
function methods:_pace_error(op, state, due, set)
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
function methods:_run_one(op, req, set, state)
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
      local body, err, delay, paced = self:_step(op, set, state, self:_attempt(req, set))
      if not err then return body end
      if not delay then return nil, err end
      -- A paced wait is the pace's, taken at the top.
      if not paced then self:_wait(delay) end
    end
  end
end

function methods:_send(op, req, opts)
  if not secrets[self] then return nil, self:_missing_key(op) end
  local set = self:_settings(op, opts)
  return self:_run_one(op, req, set, { sends = 0, retries = 0, started = self:_now() })
end

function methods:_call(op, fields, id, opts)
  local req, err = self:prepare(op, fields, id)
  if not req then return nil, err end
  return self:_send(op, req, opts)
end

return methods
