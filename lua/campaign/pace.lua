--- The pace of one client: every request it sends, single calls and batch
-- items alike, takes its turn from one budget.
--
-- With a rate (requests per second) the turns are evenly spaced: one every
-- 1/rate seconds, no burst above it. A 429 (or a 503 with a retry time)
-- pauses every request until the provider's time. Without a rate the pace
-- is learned: none at first; on a 429, a little under the rate the provider
-- accepted over the last second (or under the pace that met the limit),
-- growing again with the time that passes without a 429.
-- @module campaign.pace

local max, min = math.max, math.min

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
    accepted = {},               -- times of recent answers that were not 429s
    first = 1,
    last = 0,
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

--- A request goes at `now`.
function Pace:take(now)
  local rate = self:current_rate(now)
  self.next_at = max(self.next_at, now) + (rate and 1 / rate or 0)
end

-- Requests answered (not 429) in the last WINDOW seconds.
function Pace:_accepted(now)
  local list, first = self.accepted, self.first
  while first <= self.last and list[first] < now - WINDOW do
    list[first] = nil
    first = first + 1
  end
  self.first = first
  return self.last - first + 1
end

--- A request answered without a 429 at `now`.
function Pace:ok(now)
  self.last = self.last + 1
  self.accepted[self.last] = now
  self:_accepted(now)
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
  local floor = min(MAX_PAUSE, max(after and MIN_PAUSE or backoff, MIN_PAUSE)
    * 2 ^ (self.streak - 1))
  local pause = max(after or 0, floor)
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

return M
