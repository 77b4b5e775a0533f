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
local new_error = base.new_error

local Client = base.Client
for _, part in ipairs { "campaign.request", "campaign.send", "campaign.batch" } do
  for name, fn in pairs(require(part)) do Client[name] = fn end
end

--- Provider names, sorted.
M.providers = options.provider_names

M.Error = errors.Error

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

--- Closes the client's HTTP handle (also done by the garbage collector).
function Client:close()
  if self._http then self._http:close() end
end

--- Makes a client for one provider. Raises on wrong options.
function M.client(opts)
  return options.make(opts, Client, M._VERSION)
end

--- True when `value` is an error table of this module.
M.is_error = errors.is_error

--- `campaign.assert(c:get(id))`: like assert on every Lua (PUC Lua 5.1's
-- takes only a string message): the values when the first is true, else
-- raises the error's one line at the caller's line.
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
function M.create(opts, fields, call_opts)
  return M.client(opts):create(fields, call_opts)
end

--- One-shot update: `campaign.client(opts):update(id, fields)`.
function M.update(opts, id, fields, call_opts)
  return M.client(opts):update(id, fields, call_opts)
end

return M
