--- Campaigns as code: every page of the list (Client:each, :list_all), the
-- id of any answer (Client:id_of), and a campaign made to match what is
-- declared, exactly once (Client:ensure, :plan, :apply). The provider's
-- list is the truth and the name is the identity; how a provider pages,
-- names its ids and updates is read from its module
-- (campaign.providers.<name>: pages, read_page, id_paths, listed, unlisted,
-- updates).
-- @module campaign.code

local base = require "campaign.class"
local errors = require "campaign.errors"
local providers = require "campaign.providers"
local cjson = require("cjson").new()

local type, pairs, ipairs, next, tostring, pcall = type, pairs, ipairs, next,
  tostring, pcall
local floor = math.floor
local concat, sort, format = table.concat, table.sort, string.format
local raise, is_error, suggest, unknown_name = errors.raise, errors.is_error, errors.suggest,
  errors.unknown
local new_error, check_self = base.new_error, base.check_self

local methods = {}

-- The most pages one listing reads: a server that always says "more"
-- must not keep a client reading for ever.
local MAX_PAGES = 100000

-- The wait before the second look that settles a create whose outcome is
-- unknown (seconds; option settle_wait).
local SETTLE_WAIT = 2

-- The most creates ensure sends for one campaign: a create whose outcome
-- is unknown, settled as absent, is sent again; this bounds the rounds.
local MAX_CREATES = 3

local function provider_of(client) return providers[client.provider] end

-- An id as text: 7, 7.0 and "7" are the same campaign.
local function id_text(id)
  if type(id) == "number" and id == floor(id) then return format("%d", id) end
  if id == nil then return nil end
  return tostring(id)
end

-- ---------------------------------------------------------------------------
-- Ids

-- The value at a dotted path ("data.id") of t.
local function at_path(t, path)
  local v = t
  for part in path:gmatch("[^.]+") do
    if type(v) ~= "table" then return nil end
    v = v[part]
  end
  return v
end

-- The id in an answer, and the table that holds it (the campaign).
local function find_id(client, body)
  local paths = provider_of(client).id_paths
  for _, wrapped in ipairs { false, true } do
    local t = body
    if wrapped then t = type(body.data) == "table" and body.data or nil end
    if t then
      for _, path in ipairs(paths) do
        local id = at_path(t, path)
        if (type(id) == "string" and id ~= "") or type(id) == "number" then
          local holder = t
          local head = path:match("^(.*)%.[^.]+$")
          if head then holder = at_path(t, head) end
          if type(id) == "number" and id == floor(id) and math.tointeger then
            id = math.tointeger(id) or id
          end
          return id, holder
        end
      end
    end
  end
end

--- The campaign id in any answer of this provider: a create, get, list
-- entry, update or lifecycle answer, wrapped or not (Vapi `id`, Smallest
-- `_id`, Autocalls `id` or `data.id`, Atlas `RowKey`).
-- @tparam table body an answer
-- @treturn string|number|nil the id, or nil when the answer holds none
function methods:id_of(body)
  check_self(self, "id_of")
  if type(body) ~= "table" then
    raise(format("campaign %s id_of: body must be a table (an answer; got %s)", self.provider,
      type(body)))
  end
  return (find_id(self, body))
end

-- ---------------------------------------------------------------------------
-- Every page

local function copy(t)
  local out = {}
  if t then for k, v in pairs(t) do out[k] = v end end
  return out
end

-- A listing under way: the query of the next page, the size it asks, the
-- ids seen (a campaign that moves between pages is given once).
local function new_listing(client, query, opts)
  if query ~= nil and type(query) ~= "table" then
    raise(format("campaign %s each: query must be a table", client.provider))
  end
  local spec = provider_of(client)
  local pages = spec.pages
  local q = copy(query)
  local size
  if pages then
    -- The caller's sort wins; the default (oldest first) keeps the pages
    -- stable while campaigns are created.
    if q.sortOrder == nil and q.sortField == nil and q.sortBy == nil then
      for k, v in pairs(pages.order or {}) do q[k] = v end
    end
    size = q[pages.size]
    if size == nil then
      size = pages.size_asked
      q[pages.size] = size
    end
    q[pages.page] = q[pages.page] or 1
  end
  return { client = client, spec = spec, query = q, size = size, opts = opts, seen = {},
    count = 0, pages = 0, done = false }
end

-- Reads the next page: its new campaigns, or nil and the error.
local function next_page(l)
  local client, spec = l.client, l.spec
  local body, err = client:list(l.query, l.opts)
  if not body then return nil, err end
  l.pages = l.pages + 1
  local items, more, server_size, total = spec.read_page(body)
  if type(items) ~= "table" then
    return nil, new_error(client, "list", "decode", "the answer to list holds no list of "
      .. "campaigns where the provider documents one", { body = body })
  end
  local out = {}
  for _, c in ipairs(items) do
    local id = type(c) == "table" and id_text((find_id(client, c)))
    if not id or not l.seen[id] then
      if id then l.seen[id] = true end
      out[#out + 1] = c
    end
  end
  l.count = l.count + #items
  local pages = spec.pages
  if not pages then
    l.done = true
    return out
  end
  if more == nil then
    -- No flag: the total, else a full page, says whether another follows.
    if total then more = l.count < total else more = #items >= (server_size or l.size) end
  end
  if not more or #items == 0 or l.pages >= MAX_PAGES then
    l.done = true
    return out
  end
  -- A server that capped the size: the next pages are counted in its size
  -- (page 2 of 25 is items 26..50, whatever was asked).
  local used = server_size or #items
  if used > 0 and used < l.size then
    l.size = used
    l.query[pages.size] = used
  end
  l.query[pages.page] = l.query[pages.page] + 1
  return out
end

--- Every campaign, across pages, as each provider pages its list (Vapi
-- `page`/`limit` and `metadata.hasNextPage`, Smallest `page`/`offset` and
-- `pagination.hasMore`; Autocalls and Atlas answer everything at once).
-- A page size the server caps below what was asked is followed. On a page
-- that fails the iterator gives `false, err` once, then ends.
-- @tparam[opt] table query the provider's filters (a page size in it is the size asked)
-- @tparam[opt] table opts call options
-- @treturn function an iterator of campaigns: `for camp, err in c:each(query)`
function methods:each(query, opts)
  check_self(self, "each")
  local l = new_listing(self, query, opts)
  local buffer, i, failed = {}, 0, false
  return function()
    while true do
      if failed then return nil end
      i = i + 1
      if buffer[i] ~= nil then return buffer[i] end
      if l.done then return nil end
      local page, err = next_page(l)
      if not page then
        failed = true
        return false, err
      end
      buffer, i = page, 0
    end
  end
end

--- Every campaign, across pages, as a list (see each).
-- @tparam[opt] table query the provider's filters
-- @tparam[opt] table opts call options
-- @treturn table the campaigns, or nil and the error table
function methods:list_all(query, opts)
  check_self(self, "list_all")
  local l = new_listing(self, query, opts)
  local all = {}
  while not l.done do
    local page, err = next_page(l)
    if not page then return nil, err end
    for _, c in ipairs(page) do all[#all + 1] = c end
  end
  return all
end

-- Client:get where the provider has no get (Autocalls): the list, searched.
function methods:_get_via_list(id, opts)
  local _, bad = self:prepare("get", nil, id)
  if bad then return nil, bad end
  local all, err = self:list_all(nil, opts)
  if not all then
    err.op = "get"
    return nil, err
  end
  local wanted = id_text(id)
  for _, c in ipairs(all) do
    if type(c) == "table" and id_text((find_id(self, c))) == wanted then return c end
  end
  return nil, new_error(self, "get", "http", format("HTTP 404 Not Found: no campaign %s in "
    .. "the list", wanted), { status = 404 })
end

-- ---------------------------------------------------------------------------
-- Differences

local function empty(v) return v == nil or (type(v) == "table" and next(v) == nil) end

local function same(a, b, depth)
  if empty(a) and empty(b) then return true end
  if type(a) ~= type(b) then return false end
  if type(a) ~= "table" then return a == b end
  if depth > 100 then return false end
  for k, v in pairs(a) do
    if not same(v, b[k], depth + 1) then return false end
  end
  for k, v in pairs(b) do
    if a[k] == nil and not empty(v) then return false end
  end
  return true
end

-- The fields as the provider is sent them (shorthands resolved), or nil
-- and the validation error.
local function desired(client, fields, op)
  local req, err = client:prepare("create", fields)
  if not req then
    err.op = op
    return nil, err
  end
  local ok, value = pcall(cjson.decode, req.body)
  if not ok or type(value) ~= "table" then
    return nil, new_error(client, op, "validation", "the fields cannot be read back")
  end
  return value
end

-- What differs between the declared fields (as sent) and the listed
-- campaign: {field, from, to, updatable} each, sorted by field; and
-- whether every difference can be updated now.
local function differences(client, want, campaign)
  local spec = provider_of(client)
  local have = spec.listed and spec.listed(campaign) or campaign
  local unlisted = spec.unlisted or {}
  local updates = spec.updates
  local allowed = updates and (not updates.allowed or updates.allowed(campaign))
  local changes, all_updatable = {}, true
  for k, v in pairs(want) do
    if not unlisted[k] and not same(v, have[k], 0) then
      local updatable = allowed and (not updates.fields or updates.fields[k] == true) or false
      changes[#changes + 1] = { field = k, from = have[k], to = v, updatable = updatable }
      if not updatable then all_updatable = false end
    end
  end
  sort(changes, function(a, b) return a.field < b.field end)
  return changes, all_updatable
end

-- The update that brings the campaign to the declared fields: the whole
-- body (a full update), or the updatable fields that differ (a partial
-- one); nil when nothing can be updated.
local function update_fields(client, fields, changes)
  local updates = provider_of(client).updates
  if not updates then return nil end
  local any = false
  for _, ch in ipairs(changes) do if ch.updatable then any = true end end
  if not any then return nil end
  if not updates.partial then return fields end
  local patch = {}
  for _, ch in ipairs(changes) do
    if ch.updatable then
      local given = fields[ch.field]
      if given == nil then given = ch.to end
      patch[ch.field] = given
    end
  end
  return patch
end

local function conflict_error(client, op, name, matches)
  local ids = {}
  for _, c in ipairs(matches) do ids[#ids + 1] = (find_id(client, c)) end
  local shown = {}
  for i, id in ipairs(ids) do shown[i] = id_text(id) or "?" end
  return new_error(client, op, "conflict", format("%d campaigns are named %q (%s): the name "
    .. "is the identity; rename or delete all but one", #matches, name, concat(shown, ", ")),
    { name = name, ids = ids })
end

-- Campaigns by name: {name = {campaign, ...}}.
local function by_name(all)
  local map = {}
  for _, c in ipairs(all) do
    if type(c) == "table" and type(c.name) == "string" then
      local list = map[c.name]
      if not list then list = {}; map[c.name] = list end
      list[#list + 1] = c
    end
  end
  return map
end

-- ---------------------------------------------------------------------------
-- Options

local CALL_OPTION = { timeout = true, connect_timeout = true, max_retries = true,
  max_wait = true }

-- Splits opts into the call options and the rest (checked against `own`).
local function split_options(client, method, opts, own)
  if opts == nil then return nil, {} end
  if type(opts) ~= "table" then
    raise(format("campaign %s %s: options must be a table", client.provider, method))
  end
  local call, rest = {}, {}
  for k, v in pairs(opts) do
    if CALL_OPTION[k] then
      call[k] = v
    elseif own[k] then
      rest[k] = v
    else
      local names = {}
      for n in pairs(CALL_OPTION) do names[#names + 1] = n end
      for n in pairs(own) do names[#names + 1] = n end
      sort(names)
      raise(format("campaign %s %s: %s", client.provider, method, unknown_name("option", k, names)))
    end
  end
  local wait = rest.settle_wait
  if wait ~= nil and (type(wait) ~= "number" or wait ~= wait or wait < 0 or wait > 600) then
    raise(format("campaign %s %s: settle_wait must be a number of seconds between 0 and 600",
      client.provider, method))
  end
  if next(call) == nil then call = nil end
  return call, rest
end

-- ---------------------------------------------------------------------------
-- Exactly once

-- The campaigns named `name` once a create's outcome is unknown: a first
-- look, and when it shows none, a second after `wait` seconds. Returns
-- the list (empty: surely absent), or nil and the error of the listing.
local function settle(client, names, call_opts, wait)
  local found
  for look = 1, 2 do
    if look == 2 then client:_wait(wait) end
    local all, err = client:list_all(nil, call_opts)
    if not all then return nil, err end
    found = by_name(all)
    local missing = false
    for _, name in ipairs(names) do
      if not found[name] then missing = true end
    end
    if not missing then break end
  end
  return found
end

-- The error of a create whose outcome stays unknown: the listing that
-- would have settled it failed.
local function unsettled(err, list_err)
  err.settle_error = list_err
  err.message = err.message .. "; listing to settle it failed: " .. list_err.message
  return err
end

local function created(client, body, settled)
  local id, holder = find_id(client, body)
  return { action = "created", id = id, campaign = holder or body, settled = settled or nil }
end

-- Creates the campaign `name` once: sent, and when its outcome is unknown,
-- settled by listing (found: that is the result; surely absent: sent again).
-- `first` is the error of a create already sent, if any.
local function create_once(client, op, name, fields, call_opts, wait, first)
  local err = first
  for round = 1, MAX_CREATES do
    if not err then
      local body
      body, err = client:create(fields, call_opts)
      if body then return created(client, body, round > 1) end
    end
    err.op = op
    if not err.outcome_unknown then return nil, err end
    local found, list_err = settle(client, { name }, call_opts, wait)
    if not found then return nil, unsettled(err, list_err) end
    local matches = found[name]
    if matches and #matches > 1 then return nil, conflict_error(client, op, name, matches) end
    if matches then
      local result = created(client, matches[1], true)
      return result
    end
    if round == MAX_CREATES then return nil, err end
    err = nil
  end
end

-- ---------------------------------------------------------------------------
-- ensure

local function check_name(client, op, fields)
  if type(fields) ~= "table" then
    raise(format("campaign %s %s: fields must be a table (got %s)", client.provider, op,
      type(fields)))
  end
end

-- The result for a listed campaign: unchanged, or what differs (updated
-- when every difference could be, else drift).
local function compare(client, want, campaign)
  local changes, all_updatable = differences(client, want, campaign)
  local id = find_id(client, campaign)
  if #changes == 0 then return { action = "unchanged", id = id, campaign = campaign } end
  return { action = all_updatable and "update" or "drift", id = id, campaign = campaign,
    changes = changes }
end

--- Makes sure exactly one campaign with this name exists, with these fields.
-- The name is the identity (exact match). None: created, exactly once (a
-- create whose outcome is unknown is settled by listing: found, it is the
-- result; not found, a second look after `settle_wait` seconds (2), then
-- created again). One: unchanged, or updated where the provider can update
-- what differs (Atlas: full update; Vapi: while not in progress), else
-- `drift` (left alone). Two or more: `err.kind == "conflict"` with `err.ids`.
-- @tparam table fields the create fields (with `name`)
-- @tparam[opt] table opts call options, and `settle_wait` (seconds, 2)
-- @treturn table `{action, id, campaign, changes}` (action `created`,
-- `updated`, `unchanged` or `drift`), or nil and the error table
function methods:ensure(fields, opts)
  check_self(self, "ensure")
  check_name(self, "ensure", fields)
  local call_opts, own = split_options(self, "ensure", opts, { settle_wait = true })
  local wait = own.settle_wait or SETTLE_WAIT
  local want, err = desired(self, fields, "ensure")
  if not want then return nil, err end
  local name = want.name
  if type(name) ~= "string" then
    return nil, base.single_problem(self, "ensure", "name", "is required: the name is the "
      .. "campaign's identity")
  end
  local all
  all, err = self:list_all(nil, call_opts)
  if not all then
    err.op = "ensure"
    return nil, err
  end
  local matches = by_name(all)[name]
  if not matches then return create_once(self, "ensure", name, fields, call_opts, wait) end
  if #matches > 1 then return nil, conflict_error(self, "ensure", name, matches) end
  local result = compare(self, want, matches[1])
  if result.action ~= "update" and result.action ~= "drift" then return result end
  local patch = update_fields(self, fields, result.changes)
  if patch then
    local body
    body, err = self:update(result.id, patch, call_opts)
    if not body then
      err.op = "ensure"
      return nil, err
    end
    result.campaign = body
  end
  if result.action == "update" then result.action = "updated" end
  return result
end

-- ---------------------------------------------------------------------------
-- plan and apply

--- What applying `list` would do, from one listing; sends nothing else.
-- @tparam {table,...} list the create fields of each campaign (names distinct)
-- @tparam[opt] table opts call options of the listing
-- @treturn table the plan: a step per campaign, in order, `{action, name, fields, id,
-- campaign, changes, ids}` (action `create`, `update`, `unchanged`, `drift` or
-- `conflict`), or nil and the error table (`err.index`: the item)
function methods:plan(list, opts)
  check_self(self, "plan")
  if type(list) ~= "table" then
    raise(format("campaign %s plan: the list must be a table", self.provider))
  end
  local n = #list
  for k in next, list do
    if type(k) ~= "number" or k < 1 or k > n or k ~= floor(k) then
      raise(format("campaign %s plan: the list must be a sequence (items 1 to n): it has the "
        .. "key %s", self.provider, type(k) == "string" and format("%q", k) or tostring(k)))
    end
  end
  local call_opts = split_options(self, "plan", opts, {})
  local wants, first_of = {}, {}
  for i = 1, n do
    if type(list[i]) ~= "table" then
      raise(format("campaign %s plan: item %d must be a table of fields (got %s)",
        self.provider, i, type(list[i])))
    end
    local want, err = desired(self, list[i], "plan")
    if not want then
      err.index = i
      err.message = format("item %d: %s", i, err.message)
      return nil, err
    end
    local name = want.name
    if type(name) ~= "string" then
      local e = base.single_problem(self, "plan", "name", "is required: the name is the "
        .. "campaign's identity")
      e.index, e.message = i, format("item %d: %s", i, e.message)
      return nil, e
    end
    if first_of[name] then
      return nil, new_error(self, "plan", "validation", format("item %d: the name %q is also "
        .. "item %d's: the name is the identity", i, name, first_of[name]), { index = i })
    end
    first_of[name] = i
    wants[i] = want
  end
  local all, err = self:list_all(nil, call_opts)
  if not all then
    err.op = "plan"
    return nil, err
  end
  local named = by_name(all)
  local plan = {}
  for i = 1, n do
    local name = wants[i].name
    local matches = named[name]
    local step
    if not matches then
      step = { action = "create" }
    elseif #matches > 1 then
      local e = conflict_error(self, "plan", name, matches)
      step = { action = "conflict", ids = e.ids, campaigns = matches, error = e }
    else
      step = compare(self, wants[i], matches[1])
    end
    step.index, step.name, step.fields = i, name, list[i]
    plan[i] = step
  end
  return plan
end

local APPLY_OPTIONS = { concurrency = true, on_progress = true, settle_wait = true }
-- The actions of a plan's steps.
local PLAN_ACTIONS = { "conflict", "create", "drift", "unchanged", "update" }

--- Carries a plan out through the batch machinery (concurrency, progress,
-- the client's pace): creates (exactly once, as ensure) and updates; a
-- conflict gives its error, drift and unchanged send nothing. A step
-- carried out is marked (`step.applied`): applying the same plan again
-- sends nothing for it.
-- @tparam table plan what Client:plan returned
-- @tparam[opt] table opts `concurrency` (8), `on_progress(done, total, info)`
-- (false cancels), `settle_wait` (2), call options
-- @treturn {table,...} a result per step, in order: `{action, id, campaign, changes}`
-- (action `created`, `updated`, `unchanged` or `drift`) or the error table
function methods:apply(plan, opts)
  check_self(self, "apply")
  if type(plan) ~= "table" then
    raise(format("campaign %s apply: the plan must be a table (what plan returned)",
      self.provider))
  end
  for i, step in ipairs(plan) do
    if type(step) ~= "table" or type(step.action) ~= "string" or step.index ~= i then
      raise(format("campaign %s apply: step %d is not a step of a plan (make the plan with "
        .. "c:plan(list))", self.provider, i))
    end
  end
  if self._in_batch then
    raise(format("campaign %s apply: a batch is already running on this client (from its "
      .. "on_progress or a hook?): apply after it returns, or use another client",
      self.provider))
  end
  local call_opts, own = split_options(self, "apply", opts, APPLY_OPTIONS)
  local wait = own.settle_wait or SETTLE_WAIT
  local concurrency = own.concurrency or 8
  if type(concurrency) ~= "number" or concurrency < 1 or concurrency ~= floor(concurrency) then
    raise(format("campaign %s apply: concurrency must be a positive integer", self.provider))
  end
  local on_progress = own.on_progress
  if on_progress ~= nil and type(on_progress) ~= "function" then
    raise(format("campaign %s apply: on_progress must be a function", self.provider))
  end

  local results = {}
  local batches = { create = { steps = {}, requests = {}, results = {} },
    update = { steps = {}, requests = {}, results = {} } }
  local missing_key = not base.secrets[self]
  for i, step in ipairs(plan) do
    local action = step.action
    if step.applied then
      results[i] = { action = "unchanged", id = step.applied.id,
        campaign = step.applied.campaign }
    elseif action == "conflict" then
      results[i] = step.error or new_error(self, "apply", "conflict", format("several campaigns "
        .. "are named %q", tostring(step.name)), { name = step.name, ids = step.ids })
    elseif action == "unchanged" or (action == "drift" and not update_fields(self, step.fields,
        step.changes or {})) then
      results[i] = { action = action, id = step.id, campaign = step.campaign,
        changes = step.changes }
    elseif action == "create" or action == "update" or action == "drift" then
      local op = action == "create" and "create" or "update"
      local b = batches[op]
      local req, err
      if op == "create" then
        req, err = self:prepare("create", step.fields)
      else
        req, err = self:prepare("update", update_fields(self, step.fields, step.changes), step.id)
      end
      if req and missing_key then req, err = nil, self:_missing_key(op) end
      local k = #b.steps + 1
      b.steps[k], b.requests[k], b.results[k] = i, req or false, err
    else
      local hint = suggest(action, PLAN_ACTIONS)
      raise(format("campaign %s apply: step %d has the unknown action %q (%sactions: %s)",
        self.provider, i, action, hint and format("did you mean %s? ", hint) or "",
        concat(PLAN_ACTIONS, ", ")))
    end
  end

  local total = #batches.create.steps + #batches.update.steps
  local offset = 0
  for _, op in ipairs { "create", "update" } do
    local b = batches[op]
    if #b.steps > 0 then
      local progress
      if on_progress then
        local before = offset
        progress = function(done, _, info) return on_progress(before + done, total, info) end
      end
      local set = self:_settings(op, call_opts)
      self:_many(op, b.requests, b.results, set, concurrency, progress)
      offset = offset + #b.steps
    end
  end

  -- Creates whose outcome is unknown: settled by listing, all at once.
  local unknown, unknown_names = {}, {}
  for k, i in ipairs(batches.create.steps) do
    local r = batches.create.results[k]
    if is_error(r) then
      r.op = "apply"
      if r.outcome_unknown then
        unknown[#unknown + 1] = k
        unknown_names[#unknown_names + 1] = plan[i].name
      end
      results[i] = r
    else
      results[i] = created(self, r)
    end
  end
  if #unknown > 0 then
    local found, list_err = settle(self, unknown_names, call_opts, wait)
    for _, k in ipairs(unknown) do
      local i = batches.create.steps[k]
      local step, err = plan[i], results[i]
      if not found then
        results[i] = unsettled(err, list_err)
      else
        local matches = found[step.name]
        if matches and #matches > 1 then
          results[i] = conflict_error(self, "apply", step.name, matches)
        elseif matches then
          results[i] = created(self, matches[1], true)
        else
          -- Surely absent: sent again, one at a time, by ensure's rule.
          local r, e = create_once(self, "apply", step.name, step.fields, call_opts, wait)
          results[i] = r or e
        end
      end
    end
  end
  for k, i in ipairs(batches.update.steps) do
    local r = batches.update.results[k]
    local step = plan[i]
    if is_error(r) then
      r.op = "apply"
      results[i] = r
    else
      results[i] = { action = step.action == "update" and "updated" or "drift", id = step.id,
        campaign = r, changes = step.changes }
    end
  end
  for i, step in ipairs(plan) do
    local r = results[i]
    if not is_error(r) and r.action ~= "unchanged" and r.action ~= "drift" then
      step.applied = r
    end
  end
  return results
end

return methods
