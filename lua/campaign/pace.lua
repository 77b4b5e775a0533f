--- The pace of one client: every request it sends, single calls and batch
-- items alike, takes its turn from one budget.
--
-- With a rate (requests per second) the turns are evenly spaced: one every
-- 1/rate seconds, no burst above it. A 429 (or a 503 with a retry time)
-- pauses every request until the provider's time. Without a rate the pace
-- is learned: none at first; on a 429, a little under the rate the provider
-- accepted over the last second (or under the pace that met the limit),
-- growing again with the time that passes without a 429.
--
-- `M.shared` keeps the same state in an nginx lua_shared_dict, for the
-- clients of every worker (client option shared_dict).
-- @module campaign.pace

local max, min, floor = math.max, math.min, math.floor

local M = {}

local Pace = {}
Pace.__index = Pace

-- The window over which accepted requests are counted, seconds.
local WINDOW = 1
-- After a 429 the learned rate is this share of what was accepted, or of
-- the pace that met the limit: less while probing, whose fast growth has
-- gone past the limit by the time a 429 comes back.
local BACK_OFF, BACK_OFF_PROBE = 0.9, 0.6
-- Fewer accepted requests than this in the window say little of the limit:
-- the learned rate then grows fast (PROBE per second: x16) until the next
-- 429, else slowly (HOLD per second: +1%), from the end of the pause.
local SAMPLE = 10
-- The floor of a 429's pause at its first in a row (doubled for each more),
-- and the longest pause without the provider's time.
local MIN_PAUSE, MAX_PAUSE = 0.05, 30
local PROBE, HOLD = 16, 1.01
-- Accepted answers are counted in buckets of this many seconds; a pace of
-- this process keeps the last SLOTS of them.
local BUCKET = 0.1
local SLOTS = math.ceil(WINDOW / BUCKET) + 1

--- A pace at `rate` requests per second, or learned when rate is nil (and
-- learn is not false: then only the pauses of 429s hold requests).
function M.new(rate, learn)
  return setmetatable({
    rate = rate,                 -- the configured rate, or nil
    learn = not rate and learn ~= false,
    base = nil,                  -- learned: the rate set at the last 429
    growth = HOLD,               -- learned: how fast it grows since, per second
    next_at = -math.huge,        -- the earliest time of the next request
    paused_until = -math.huge,   -- a 429's pause, for every request
    adjusted_at = -math.huge,    -- when the learned rate was last set
    streak = 0,                  -- 429s in a row
    streak_at = -math.huge,      -- when the last 429 came
    counts = {},                 -- answers that were not 429s, by BUCKET of time:
    buckets = {},                --   counts[i] of bucket number buckets[i]
  }, Pace)
end

--- Requests per second at `now`: the configured or learned rate (nil: no pace).
function Pace:current_rate(now)
  if self.rate then return self.rate end
  if not self.base then return nil end
  return self.base * self.growth ^ max(0, now - self.adjusted_at)
end

--- Seconds until the next request may go (0: now).
function Pace:delay(now)
  local at = max(self.next_at, self.paused_until)
  return at > now and at - now or 0
end

--- The turn of a request at `now`: taken when it is due (returns 0), else
-- the seconds until it is (nothing taken).
function Pace:take(now)
  local due = self:delay(now)
  if due > 0 then return due end
  local rate = self:current_rate(now)
  self.next_at = max(self.next_at, now) + (rate and 1 / rate or 0)
  return 0
end

-- Requests answered (not 429) in the last WINDOW seconds, counted by
-- buckets of BUCKET seconds (as the shared pace counts them): the current
-- bucket and the whole ones before it within the window. A ring of SLOTS
-- buckets, whatever the rate: nothing grows with the requests.
function Pace:_accepted(now)
  local n, from, last = 0, floor((now - WINDOW) / BUCKET) + 1, floor(now / BUCKET)
  local counts, buckets = self.counts, self.buckets
  for i = 1, SLOTS do
    local b = buckets[i]
    if b and b >= from and b <= last then n = n + counts[i] end
  end
  return n
end

--- A request answered without a 429 at `now`.
function Pace:ok(now)
  local b = floor(now / BUCKET)
  local i = b % SLOTS + 1
  if self.buckets[i] ~= b then self.buckets[i], self.counts[i] = b, 0 end
  self.counts[i] = self.counts[i] + 1
  self.streak = 0
end

--- A request sent at `sent` was answered 429 (or 503 with a retry time) at
-- `now`; `after` is the provider's time in seconds, or nil. `backoff` is
-- the pause without one (seconds, doubled for each 429 in a row, up to 30).
-- Returns the pause.
function Pace:limited(now, sent, after, backoff)
  -- A 429 for a request sent after the last one came is one more in a row;
  -- those under way together count once. The pause is the provider's time,
  -- but never below a floor that doubles with each 429 in a row: a provider
  -- answering "Retry-After: 0" (or nothing, with retry_delay = 0) again and
  -- again must not be asked again at once, for ever.
  if sent >= self.streak_at then self.streak = self.streak + 1 end
  self.streak_at = now
  local least = min(MAX_PAUSE, max(after and MIN_PAUSE or backoff, MIN_PAUSE)
    * 2 ^ (self.streak - 1))
  local pause = max(after or 0, least)
  self.paused_until = max(self.paused_until, now + pause)
  -- Once for the requests that were under way together: those sent before
  -- the last change say nothing of the new pace.
  if self.learn and sent >= self.adjusted_at then
    -- Paced already: a little under the pace that met the limit. Not yet:
    -- a little under what the provider accepted over the last second.
    local pace = self:current_rate(sent)
    if pace then
      self.base = pace * (self.growth == PROBE and BACK_OFF_PROBE or BACK_OFF)
      self.growth = HOLD
    else
      local accepted = self:_accepted(now)
      self.base = max(accepted, 1) / WINDOW * BACK_OFF
      self.growth = accepted >= SAMPLE and HOLD or PROBE
    end
    self.adjusted_at = self.paused_until
  end
  self.next_at = max(self.next_at, self.paused_until)
  return pause
end

------------------------------------------------------------------------
-- A pace shared by processes: every worker of an nginx, through a
-- lua_shared_dict (ngx.shared.DICT: get, set, add, delete, incr). The state
-- of a Pace lives in the dictionary; a turn and a 429 change it under a
-- lock of the dictionary (an `add` that only one process wins), so that
-- two workers never take the same turn. Times are CLOCK_MONOTONIC seconds,
-- which every process of the machine reads alike.

local Shared = setmetatable({}, { __index = Pace })
Shared.__index = Shared

-- The fields kept in the dictionary, in one value.
local FIELDS = { "next_at", "paused_until", "base", "growth", "adjusted_at", "streak",
  "streak_at" }
-- A lock a process died holding (it cannot: nothing yields under it) ends
-- after this many seconds; waiting for it, a process sleeps this long.
local LOCK_TTL, LOCK_SLEEP = 0.5, 0.001

local function encode_number(v)
  if v == nil then return "n" end
  return string.format("%.17g", v)
end

local function decode_number(text)
  if text == "n" then return nil end
  if text == "-inf" then return -math.huge end
  if text == "inf" then return math.huge end
  return tonumber(text)
end

--- A pace whose state is shared through `dict` under the name `name`
-- (clients with the same name share one budget). `sleep(seconds)` waits
-- while another process holds the lock.
function M.shared(dict, name, rate, learn, sleep)
  local self = M.new(rate, learn)
  self.counts, self.buckets = nil, nil
  self.dict, self.key, self.lock = dict, "pace " .. name, "pace-lock " .. name
  self.bucket_key = "pace-accepted " .. name .. " "
  self.sleep = sleep
  self.shared = true
  return setmetatable(self, Shared)
end

-- Reads the shared state into self (under the lock, self has it already:
-- the Pace methods call delay and current_rate in the middle of a change).
function Shared:_load()
  if self.holding then return end
  local text = self.dict:get(self.key)
  if not text then return end
  local i = 0
  for word in text:gmatch("%S+") do
    i = i + 1
    local field = FIELDS[i]
    if field then self[field] = decode_number(word) end
  end
end

function Shared:_store()
  local words = {}
  for i, field in ipairs(FIELDS) do words[i] = encode_number(self[field]) end
  local ok, err = self.dict:set(self.key, table.concat(words, " "))
  if not ok then error("campaign: the shared_dict could not keep the pace: " .. tostring(err), 0) end
end

-- Runs method(self, ...) on the shared state, under the lock.
function Shared:_locked(method, ...)
  local dict = self.dict
  while true do
    local ok, err = dict:add(self.lock, true, LOCK_TTL)
    if ok then break end
    if err ~= "exists" then
      error("campaign: the shared_dict could not keep the pace: " .. tostring(err), 0)
    end
    self.sleep(LOCK_SLEEP)
  end
  self:_load()
  self.holding = true
  local ok, result = pcall(method, self, ...)
  local stored, problem = true, nil
  if ok then stored, problem = pcall(self._store, self) end
  self.holding = false
  dict:delete(self.lock)
  if not ok then error(result, 0) end
  if not stored then error(problem, 0) end
  return result
end

function Shared:current_rate(now)
  self:_load()
  return Pace.current_rate(self, now)
end

function Shared:delay(now)
  self:_load()
  return Pace.delay(self, now)
end

function Shared:take(now)
  return self:_locked(Pace.take, now)
end

function Shared:limited(now, sent, after, backoff)
  return self:_locked(Pace.limited, now, sent, after, backoff)
end

-- Answers accepted in the last WINDOW seconds, from every process.
function Shared:_accepted(now)
  local n, last = 0, floor(now / BUCKET)
  for b = floor((now - WINDOW) / BUCKET) + 1, last do
    n = n + (self.dict:get(self.bucket_key .. b) or 0)
  end
  return n
end

function Shared:ok(now)
  local dict = self.dict
  -- The bucket of BUCKET seconds, kept for a few windows.
  dict:incr(self.bucket_key .. floor(now / BUCKET), 1, 0, 4 * WINDOW)
  -- A 429 in a row no more. Outside the lock: the worst a race does is
  -- keep a streak that a 429 of another process just counted.
  self:_load()
  if self.streak ~= 0 then
    self:_locked(function(s) s.streak = 0 end)
  end
end

return M
