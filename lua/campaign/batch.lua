--- Batches: many requests at once through curl's multi interface (a custom
-- transport: one at a time), each with the retry rules of a single call and
-- every request at the client's pace (Client:create_many, :update_many).
-- @module campaign.batch

local core = require "campaign.core"
local base = require "campaign.class"
local errors = require "campaign.errors"

local type, pairs, ipairs, next, tostring, pcall, error, setmetatable = type, pairs, ipairs,
  next, tostring, pcall, error, setmetatable
local floor, min, max = math.floor, math.min, math.max
local format = string.format
local core_interrupted = core.interrupted
local raise, is_error = errors.raise, errors.is_error
local secrets = base.secrets
local new_error, refuse_blocking = base.new_error, base.refuse_blocking

local methods = {}

local MANY_OPTIONS = { concurrency = true, on_progress = true }

local function cancelled_error(client, op)
  return new_error(client, op, "cancelled", "not sent: the batch was cancelled")
end

-- One batch under way: its items in line (ready, from first_ready on),
-- waiting for a backoff (waiting[i] = when), or under way (inflight); the
-- state of each (see Client:_step) and the counts on_progress is told.
local Batch = {}
Batch.__index = Batch

local function new_batch(client, op, requests, results, set, concurrency, on_progress)
  local b = setmetatable({
    client = client, op = op, requests = requests, results = results, set = set,
    concurrency = concurrency, on_progress = on_progress, total = #requests,
    ready = {}, first_ready = 1, waiting = {}, states = {}, inflight = 0, done = 0,
    counts = { ok = 0, failed = 0, waiting = 0, sends = 0 },
    started = client:_now(), cancelled = false, raised = nil,
  }, Batch)
  for i = 1, b.total do
    if results[i] ~= nil then
      b.done = b.done + 1
      b.counts.failed = b.counts.failed + 1
    else
      b.ready[#b.ready + 1] = i
      b.states[i] = { sends = 0, retries = 0 }
    end
  end
  return b
end

-- A batch's progress: what on_progress gets as its third argument.
function Batch:info()
  local counts, t = self.counts, self.client:_now()
  local elapsed = t - self.started
  local finished = counts.ok + counts.failed
  local rate = elapsed > 0 and counts.sends / elapsed or 0
  local per_item = finished > 0 and elapsed / finished or nil
  local pace_rate = self.client._pace:current_rate(t)
  local left = self.total - finished
  return {
    ok = counts.ok, created = counts.ok, failed = counts.failed, waiting = counts.waiting,
    sent = counts.sends, rate = rate,
    eta = per_item and left * per_item or (pace_rate and left / pace_rate) or nil,
  }
end

-- Tells on_progress; false from it, or an error, cancels the batch.
function Batch:report()
  if not self.on_progress or self.cancelled then return end
  local ok, answer = pcall(self.on_progress, self.done, self.total, self:info())
  if not ok then
    self.cancelled, self.raised = true, { answer }
  elseif answer == false then
    self.cancelled = true
  end
end

function Batch:finish(i, value)
  self.results[i] = value
  self.done = self.done + 1
  local counts = self.counts
  if is_error(value) then counts.failed = counts.failed + 1 else counts.ok = counts.ok + 1 end
  self:report()
end

-- A custom transport has no multi interface: one request at a time.
function Batch:run_serial()
  local client, op = self.client, self.op
  for _, i in ipairs(self.ready) do
    if core_interrupted() then self.cancelled = true end
    if self.cancelled then
      self.results[i] = cancelled_error(client, op)
    else
      local state = self.states[i]
      local before = state.sends
      local body, err = client:_run_one(op, self.requests[i], self.set, state)
      self.counts.sends = self.counts.sends + state.sends - before
      self:finish(i, body or err)
    end
  end
end

-- Items whose backoff is over go back in line.
function Batch:requeue(t)
  for i, due in pairs(self.waiting) do
    if due <= t then
      self.waiting[i] = nil
      self.counts.waiting = self.counts.waiting - 1
      self.ready[#self.ready + 1] = i
    end
  end
end

-- Cancelled: nothing new; what waits in line or for a retry ends here, with
-- the error it was retried after or `cancelled`.
function Batch:drop_rest()
  local ready, states = self.ready, self.states
  for k = self.first_ready, #ready do
    local i = ready[k]
    self.results[i] = states[i].last_err or cancelled_error(self.client, self.op)
    self.done = self.done + 1
  end
  self.first_ready = #ready + 1
  for i in pairs(self.waiting) do
    self.results[i] = states[i].last_err
    self.done = self.done + 1
    self.waiting[i] = nil
  end
  self.counts.waiting = 0
end

-- Sends item i now.
function Batch:send(i)
  local client, state, req = self.client, self.states[i], self.requests[i]
  local set = self.set
  state.sends = state.sends + 1
  self.counts.sends = self.counts.sends + 1
  client:_before_attempt(self.op, req, state.sends)
  state.sent_at = client:_now()
  client._http:add(i, base.curl_request(req, set, state))
  self.inflight = self.inflight + 1
end

-- Starts what the concurrency and the pace allow. Returns how long the
-- pace holds the next item (0: not held).
function Batch:start_ready()
  local client, set, ready = self.client, self.set, self.ready
  while not self.cancelled and self.inflight < self.concurrency and self.first_ready <= #ready do
    local i = ready[self.first_ready]
    local state = self.states[i]
    local due = client._pace:take(client:_now())
    if due > 0 then
      -- An item that got a 429 waits at most max_wait for the limit.
      if not (state.limited_at and client:_now() + due - state.limited_at > set.max_wait) then
        return due
      end
      self.first_ready = self.first_ready + 1
      self:finish(i, client:_pace_error(self.op, state, due, set))
    else
      self.first_ready = self.first_ready + 1
      self:send(i)
    end
  end
  return 0
end

-- The answer of item i: done, back in line first (the pace holds it, and
-- every other), or waiting for its backoff.
function Batch:answered(i, r)
  local client = self.client
  local state = self.states[i]
  self.inflight = self.inflight - 1
  local body, err, delay, paced = client:_step(self.op, self.set, state,
    client.curl_attempt(state.sent_at, r))
  if not (err and delay and not self.cancelled) then
    return self:finish(i, body or err)
  end
  if paced then
    self.first_ready = self.first_ready - 1
    self.ready[self.first_ready] = i
  else
    self.waiting[i] = client:_now() + delay
    self.counts.waiting = self.counts.waiting + 1
  end
end

-- Waits for a transfer, the pace (`due`), or the next backoff to end.
function Batch:wait(due)
  local client = self.client
  local wait_for = 1
  if due > 0 then wait_for = min(wait_for, due) end
  for _, at in pairs(self.waiting) do wait_for = min(wait_for, max(0, at - client:_now())) end
  if self.inflight == 0 then
    if wait_for > 0 then client:_wait(wait_for) end
    return
  end
  for _, r in ipairs(client._http:wait(wait_for)) do self:answered(r.id, r) end
end

function Batch:run()
  if self.done > 0 then self:report() end
  if not self.client._http then return self:run_serial() end
  while self.done < self.total do
    -- Ctrl-C caught by core.catch_interrupt: stop sending, as a cancel.
    if core_interrupted() then self.cancelled = true end
    self:requeue(self.client:_now())
    if self.cancelled then self:drop_rest() end
    local due = self:start_ready()
    if self.done >= self.total then break end
    self:wait(due)
  end
end

-- Runs prepared requests (requests[i] = req, or results[i] already set to
-- the error that stopped it). on_progress returning false, or raising,
-- cancels: nothing new is sent, transfers under way complete, items never
-- sent get a `cancelled` error. Returns the results and the error
-- on_progress raised, if any.
function methods:_run_many(op, requests, results, set, concurrency, on_progress)
  if self._http then refuse_blocking(self) end
  local b = new_batch(self, op, requests, results, set, concurrency, on_progress)
  b:run()
  return results, b.raised
end

-- One batch at a time per client: a batch started from on_progress or a
-- hook would share the first one's transfers (and its ids).
function methods:_many(op, requests, results, set, concurrency, on_progress)
  self._in_batch = true
  local ok, value, raised = pcall(self._run_many, self, op, requests, results, set, concurrency,
    on_progress)
  self._in_batch = nil
  if not ok then error(value, 0) end
  -- An error on_progress raised, again, once every item has its result.
  if raised then error(raised[1], 0) end
  return value
end

-- The batch's options, checked: the call settings, concurrency, on_progress.
local function batch_options(self, op, items, opts)
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
  return set, concurrency, opts.on_progress
end

-- The list of a batch is a sequence 1..n: {a = fields} or a list with a
-- hole would be silently short.
local function check_sequence(self, op, items)
  local n = #items
  for k in next, items do
    if type(k) ~= "number" or k < 1 or k > n or k ~= floor(k) then
      raise(format("campaign %s %s_many: the list must be a sequence (items 1 to n): it has "
        .. "the key %s", self.provider, op, type(k) == "string" and format("%q", k)
        or tostring(k)))
    end
  end
end

-- The request of item i, or the error that stops it; raises for an item
-- that is not one at all, naming its place.
local function item_request(self, op, i, item)
  if op == "update" then
    local fields = type(item) == "table" and (item[2] or item.fields)
    if type(item) ~= "table" or fields == nil then
      raise(format("campaign %s update_many: item %d must be {id, fields}%s", self.provider, i,
        type(item) == "table" and " (it has no fields)" or format(" (got %s)", type(item))))
    end
    return self:prepare("update", fields, item[1] or item.id)
  end
  if type(item) ~= "table" then
    raise(format("campaign %s %s_many: item %d must be a table of fields (got %s)",
      self.provider, op, i, type(item)))
  end
  return self:prepare(op, item)
end

local function many(self, op, items, opts)
  local set, concurrency, on_progress = batch_options(self, op, items, opts)
  check_sequence(self, op, items)
  local requests, results = {}, {}
  local missing_key = not secrets[self]
  for i = 1, #items do
    local req, err = item_request(self, op, i, items[i])
    if req and missing_key then req, err = nil, self:_missing_key(op) end
    requests[i] = req or false
    results[i] = err
  end
  return self:_many(op, requests, results, set, concurrency, on_progress)
end

--- Creates many campaigns at once through curl's multi interface.
-- `list` holds the fields of each campaign; `opts.concurrency` (default 8),
-- `opts.on_progress(done, total, info)`. Returns the results in input order:
-- each the body, or the error table (see campaign.is_error).
function methods:create_many(list, opts)
  base.check_self(self, "create_many")
  return many(self, "create", list, opts)
end

--- Updates many campaigns at once: `list` holds `{id, fields}` pairs.
function methods:update_many(list, opts)
  base.check_self(self, "update_many")
  return many(self, "update", list, opts)
end

return methods
