--- Create and manage voice-AI calling campaigns on Atlas, Autocalls.ai, Vapi
-- and Smallest AI Atoms.
--
-- The parts of a client: campaign.options (the options, checked, and the
-- client made of them), campaign.request (prepare), campaign.send (one call:
-- attempts, retries, the pace), campaign.batch (create_many, update_many);
-- campaign.class holds what they share.
-- @module campaign

local base = require "campaign.class"
local errors = require "campaign.errors"
local options = require "campaign.options"

local M = { _VERSION = "0.1.0" }

local type, pairs, getmetatable, setmetatable, rawget = type, pairs, getmetatable, setmetatable,
  rawget
local format = string.format
local raise = errors.raise
local new_error, check_self = base.new_error, base.check_self

local Client = base.Client
for _, part in ipairs { "campaign.request", "campaign.send", "campaign.batch", "campaign.code" } do
  for name, fn in pairs(require(part)) do Client[name] = fn end
end

--- Provider names, sorted.
-- @function providers
-- @treturn {string,...} e.g. `{"atlas", "autocalls", "smallest", "vapi"}`
M.providers = options.provider_names

--- The metatable of every error table (`nil, err` answers).
M.Error = errors.Error

--- The client of one provider.
-- @type Client

--- Creates a campaign.
-- @tparam table fields the provider's create fields
-- @tparam[opt] table opts call options: timeout, connect_timeout, max_retries, max_wait
-- @treturn table the provider's answer, or nil and the error table
function Client:create(fields, opts)
  check_self(self, "create")
  return self:_call("create", fields, nil, opts)
end
--- Updates a campaign (PATCH or PUT, as the provider defines).
-- @tparam string|number id the campaign
-- @tparam table fields the fields to change
-- @tparam[opt] table opts call options
-- @treturn table the provider's answer, or nil and the error table
function Client:update(id, fields, opts)
  check_self(self, "update")
  return self:_call("update", fields, id, opts)
end
--- Reads one campaign (Autocalls, which has no such call: found in the list).
-- @tparam string|number id the campaign
-- @tparam[opt] table opts call options
-- @treturn table the campaign, or nil and the error table
function Client:get(id, opts)
  check_self(self, "get")
  -- No get of its own (Autocalls): found in the list.
  if self._ops.get.via_list then return self:_get_via_list(id, opts) end
  return self:_call("get", nil, id, opts)
end
--- Lists campaigns.
-- @tparam[opt] table query the provider's documented filters, checked like fields
-- @tparam[opt] table opts call options
-- @treturn table the provider's answer (a page, or every campaign), or nil and the error
function Client:list(query, opts)
  check_self(self, "list")
  return self:_call("list", query, nil, opts)
end
--- Deletes a campaign.
-- @tparam string|number id the campaign
-- @tparam[opt] table opts call options
-- @treturn table the provider's answer, or nil and the error table
function Client:delete(id, opts)
  check_self(self, "delete")
  return self:_call("delete", nil, id, opts)
end
--- Starts (or resumes) a campaign, where the provider has such a call.
-- @tparam string|number id the campaign
-- @tparam[opt] table opts call options
-- @treturn table the provider's answer, or nil and the error table
function Client:start(id, opts)
  check_self(self, "start")
  return self:_call("start", nil, id, opts)
end
--- Stops, pauses or cancels a campaign, whichever the provider has.
-- @tparam string|number id the campaign
-- @tparam[opt] table opts call options
-- @treturn table the provider's answer, or nil and the error table
function Client:stop(id, opts)
  check_self(self, "stop")
  return self:_call("stop", nil, id, opts)
end
--- Attaches an agent to a campaign (Atlas): POST /agent/{campaignId} with an
-- inline configuration, or POST /agent/new/{campaignId} (template-driven)
-- with `opts.template = true`. `fields` (default `{}`) is sent as given: the
-- bodies are not published, so only JSON-ability is checked.
-- @tparam string campaign_id the campaign
-- @tparam[opt] table fields the agent's configuration (default `{}`)
-- @tparam[opt] table opts call options, and `template = true`
-- @treturn table the provider's answer, or nil and the error table
function Client:attach_agent(campaign_id, fields, opts)
  check_self(self, "attach_agent")
  local template = type(opts) == "table" and opts.template
  if template ~= nil and type(template) ~= "boolean" then
    raise(format("campaign %s attach_agent: call option template must be true or false",
      self.provider))
  end
  local op = template and "attach_agent_template" or "attach_agent"
  if not self._ops[op] then
    return nil, new_error(self, "attach_agent", "unsupported",
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
  local body, err = self:_call(op, fields, campaign_id, call_opts)
  -- The route is an inner matter: the error names the method called.
  if err then err.op = "attach_agent" end
  return body, err
end

--- Builds the request an operation would send, without sending it.
-- @function Client:prepare
-- @tparam string op "create", "update", "get", "list", "delete", "start", "stop"
-- @tparam[opt] table fields the fields (or the query of list)
-- @tparam[opt] string|number id the campaign, for the operations on one
-- @treturn table `{method, url, headers, body}` (`tostring` hides the key), or nil and
-- the error table

--- Creates many campaigns at once through curl's multi interface, at the
-- client's pace.
-- @function Client:create_many
-- @tparam {table,...} list the fields of each campaign
-- @tparam[opt] table opts `concurrency` (8), `on_progress(done, total, info)` (return
-- false to cancel), and the call options
-- @treturn {table,...} a result per item, in input order: the body or the error table

--- Updates many campaigns at once.
-- @function Client:update_many
-- @tparam {table,...} list `{id, fields}` pairs
-- @tparam[opt] table opts as for create_many
-- @treturn {table,...} a result per item, in input order

--- Every campaign, across pages (each provider's pagination followed, a
-- capped page size too). A page that fails gives `false, err` once, then
-- the iteration ends.
-- @function Client:each
-- @tparam[opt] table query the provider's filters (a page size in it is the size asked)
-- @tparam[opt] table opts call options
-- @treturn function an iterator: `for camp, err in c:each(query) do ... end`

--- Every campaign, across pages, as a list.
-- @function Client:list_all
-- @tparam[opt] table query the provider's filters
-- @tparam[opt] table opts call options
-- @treturn table the campaigns, or nil and the error table

--- The campaign id in any answer of the provider (Vapi `id`, Smallest `_id`,
-- Autocalls `id` or `data.id`, Atlas `RowKey`).
-- @function Client:id_of
-- @tparam table body an answer
-- @treturn string|number|nil the id, or nil when the answer holds none

--- Makes sure exactly one campaign with this name exists with these fields:
-- created (exactly once: a create whose outcome is unknown is settled by
-- listing, and a second look after `settle_wait` seconds), updated where
-- the provider can, else reported as drift.
-- @function Client:ensure
-- @tparam table fields the create fields (`name` is the identity)
-- @tparam[opt] table opts call options, `settle_wait` (seconds, default 2)
-- @treturn table `{action, id, campaign, changes}` (action `created`, `updated`,
-- `unchanged` or `drift`), or nil and the error table (kind `conflict`: `err.ids`)

--- What applying a list of campaigns would do, from one listing; sends
-- nothing else.
-- @function Client:plan
-- @tparam {table,...} list the create fields of each campaign, names distinct
-- @tparam[opt] table opts call options of the listing
-- @treturn table a step per campaign `{action, name, fields, id, campaign, changes, ids}`
-- (action `create`, `update`, `unchanged`, `drift` or `conflict`), or nil and the error

--- Carries a plan out through the batch machinery, creates exactly once.
-- @function Client:apply
-- @tparam table plan what Client:plan returned
-- @tparam[opt] table opts `concurrency` (8), `on_progress`, `settle_wait` (2), call options
-- @treturn {table,...} a result per step, in order: `{action, id, campaign, changes}` or
-- the error table

--- Closes the client's HTTP handle (also done by the garbage collector).
function Client:close()
  check_self(self, "close")
  if self._http then self._http:close() end
end

--- Making clients, one-shot calls, errors.
-- @section functions

--- Makes a client for one provider (see the README for every option).
-- @tparam table opts `provider` (required), `api_key`, `base_url`, `rate_limit`, ...
-- @treturn Client
function M.client(opts)
  return options.make(opts, Client, M._VERSION)
end

--- True when `value` is an error table of this module.
-- @function is_error
-- @param value anything
-- @treturn boolean
M.is_error = errors.is_error

--- `campaign.assert(c:get(id))`: like assert on every Lua (PUC Lua 5.1's
-- takes only a string message): the values when the first is true, else
-- raises the error's one line at the caller's line.
-- @function assert
-- @param v a first answer
-- @param[opt] err the error table (or a message)
-- @return v and what follows it
M.assert = errors.assert

-- The mark of a JSON array: a metatable whose __jsontype is "array" (the
-- walk that writes bodies reads it raw, and only for an empty table; dkjson
-- marks the lists it decodes the same way).
local ARRAY_MT = { __jsontype = "array" }

--- Marks `t` (default: a new table) as a JSON array, so that it is sent as
-- `[]` when empty; a table with items 1..n is sent as a list anyway. Returns `t`.
-- Raises when `t` is not a table, or has a metatable of its own that is not
-- such a mark.
function M.array(t)
  if t == nil then t = {} end
  if type(t) ~= "table" then
    raise(format("campaign.array: expected a table (got %s)", type(t)))
  end
  local mt = getmetatable(t)
  if mt == nil then return setmetatable(t, ARRAY_MT) end
  if type(mt) == "table" and rawget(mt, "__jsontype") == "array" then return t end
  raise("campaign.array: the table has a metatable of its own; give it __jsontype = \"array\" instead")
end

--- One-shot create: `campaign.client(opts):create(fields)`.
-- @tparam table opts client options
-- @tparam table fields the create fields
-- @tparam[opt] table call_opts call options
-- @treturn table the provider's answer, or nil and the error table
function M.create(opts, fields, call_opts)
  return M.client(opts):create(fields, call_opts)
end

--- One-shot update: `campaign.client(opts):update(id, fields)`.
-- @tparam table opts client options
-- @tparam string|number id the campaign
-- @tparam table fields the fields to change
-- @tparam[opt] table call_opts call options
-- @treturn table the provider's answer, or nil and the error table
function M.update(opts, id, fields, call_opts)
  return M.client(opts):update(id, fields, call_opts)
end

return M
