--- The client options, checked, and the client made of them
-- (campaign.client).
-- @module campaign.options

local core = require "campaign.core"
local base = require "campaign.class"
local providers = require "campaign.providers"
local errors = require "campaign.errors"
local raise = errors.raise
local pace = require "campaign.pace"

local type, pairs, ipairs, tostring, tonumber, setmetatable, rawget = type, pairs, ipairs,
  tostring, tonumber, setmetatable, rawget
local concat, sort, format = table.concat, table.sort, string.format
local bad_header = base.bad_header

local M = {}

local OPTIONS = {
  "provider", "api_key", "base_url", "timeout", "connect_timeout", "max_retries",
  "retry_delay", "max_retry_delay", "transport", "ca_file", "ca_path", "proxy", "no_proxy",
  "user_agent", "headers", "ssl_verify", "paths", "passthrough", "legacy", "allow_http",
  "max_body", "sleep", "on_request", "on_response", "allow_blocking", "json_decode",
  "rate_limit", "max_wait", "shared_dict",
}
local OPTION_SET = {}
for _, name in ipairs(OPTIONS) do OPTION_SET[name] = true end

-- The most seconds a call or a batch item waits for the provider's limit.
local DEFAULT_MAX_WAIT = 120

-- Boolean options take booleans: "false", 0 or "no" would read as true.
local BOOLEAN_OPTIONS = { "allow_http", "ssl_verify", "passthrough", "legacy", "allow_blocking" }

-- Headers the transport writes itself, or that would only break a request.
local OWN_HEADERS = { host = "Host", ["content-length"] = "Content-Length",
  ["transfer-encoding"] = "Transfer-Encoding", connection = "Connection" }

-- Shorter keys cannot be kept out of errors and logs without cutting
-- ordinary words that happen to contain them.
local MIN_KEY = 8

--- Provider names, sorted.
function M.provider_names()
  local names = {}
  for name in pairs(providers) do names[#names + 1] = name end
  sort(names)
  return names
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

local RATE_KEYS = { "requests", "per" }

-- rate_limit: requests per second, {requests = N, per = seconds}, false (no
-- pace), or nil: the provider's documented limit, else learned (nil).
local function rate_option(value, provider)
  if value == nil then return provider.rate_limit end
  if value == false then return false end
  local rate
  if type(value) == "number" then
    rate = value
  elseif type(value) == "table" then
    for k in pairs(value) do
      if k ~= "requests" and k ~= "per" then
        local hint = type(k) == "string" and core.suggest(k, RATE_KEYS)
        local shown = tostring(k)
        if #shown > 60 then shown = shown:sub(1, 60) .. "..." end
        raise(format("campaign.client: rate_limit has the unknown key %s (%sit is "
          .. "{requests = N, per = seconds})", shown, hint and format("did you mean %s? ", hint)
          or ""))
      end
    end
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

-- Options of calls, not of the client: named when given to campaign.client.
local CALL_OPTIONS = { "concurrency", "on_progress",
  concurrency = "create_many, update_many and apply",
  on_progress = "create_many, update_many and apply" }

-- The options' names and simple values. Returns the provider.
local function check_options(opts)
  if type(opts) ~= "table" then
    raise("campaign.client: options must be a table")
  end
  for name in pairs(opts) do
    if not OPTION_SET[name] then
      local hint = type(name) == "string" and core.suggest(name, OPTIONS)
      local shown = tostring(name)
      if #shown > 60 then shown = shown:sub(1, 60) .. "..." end
      -- An option of the calls that run many (or of one call) given here.
      local call = not hint and type(name) == "string" and core.suggest(name, CALL_OPTIONS)
      raise(format("campaign.client: unknown option %s%s", shown,
        hint and format(" (did you mean %s?)", hint)
        or call and format(" (%s is an option of %s, given with the call: "
          .. "c:create_many(list, {%s = ...}))", call, CALL_OPTIONS[call], call) or ""))
    end
  end
  local provider = providers[opts.provider]
  if not provider then
    raise("campaign.client: " .. errors.unknown("provider", opts.provider, M.provider_names()))
  end
  check_number_option(opts, "timeout", 0.001, 86400)
  check_number_option(opts, "connect_timeout", 0.001, 86400)
  check_number_option(opts, "max_retries", 0, 100)
  check_number_option(opts, "retry_delay", 0, 3600)
  check_number_option(opts, "max_retry_delay", 0, 86400)
  check_number_option(opts, "max_wait", 0, 86400)
  for _, option in ipairs(BOOLEAN_OPTIONS) do
    local v = opts[option]
    if v ~= nil and type(v) ~= "boolean" then
      raise(format("campaign.client: %s must be true or false (got a %s)", option, type(v)))
    end
  end
  local phase = not opts.transport and not opts.allow_blocking and base.blocking_phase()
  if phase then raise("campaign.client: " .. format(base.BLOCKING, phase)) end
  for _, fn in ipairs({ "transport", "sleep", "on_request", "on_response", "json_decode" }) do
    if opts[fn] ~= nil and type(opts[fn]) ~= "function" then
      raise(format("campaign.client: %s must be a function", fn))
    end
  end
  return provider
end

-- The key: the option, else the provider's environment variable; nil if none.
local function api_key(opts, provider)
  local key = opts.api_key
  if key == nil then key = os.getenv(provider.env) end
  if key == nil then return nil end
  if type(key) ~= "string" then raise("campaign.client: api_key must be a string") end
  if key:find("[%z\r\n]") then
    raise("campaign.client: api_key contains CR, LF or NUL")
  end
  if key == "" then return nil end
  if #key < MIN_KEY then
    raise(format("campaign.client: api_key is too short (%d characters; at least %d): "
      .. "provider keys are longer, and a shorter one could not be told apart from "
      .. "ordinary text when it is kept out of errors and logs", #key, MIN_KEY))
  end
  return key
end

-- The base URL without its last "/", and whether it must be reached
-- directly (plain http to a loopback host: never through a proxy).
local function base_url(opts, name, provider)
  local url = opts.base_url
  if url == nil then
    -- <PROVIDER>_BASE_URL (VAPI_BASE_URL, ...): beside the key variable.
    url = os.getenv(name:upper() .. "_BASE_URL")
    if url == "" then url = nil end
  end
  url = url or provider.base_url
  if type(url) ~= "string" then raise("campaign.client: base_url must be a string") end
  local base_text, url_err = core.url(url, "")
  if not base_text then raise("campaign.client: " .. url_err) end
  base_text = base_text:gsub("/$", "")
  -- The URL is never quoted in these messages: it may hold a secret.
  local parts = core.url_parts(base_text)
  if parts.user then
    raise("campaign.client: base_url must not hold a user name or password (user:password@): "
      .. "they would travel and be shown with every request; give the key as api_key")
  end
  if parts.query or parts.fragment then
    raise("campaign.client: base_url must not have a query (?...) or a fragment (#...): "
      .. "the routes are appended to its path")
  end
  if parts.scheme ~= "http" or opts.allow_http then return base_text, false end
  -- Plain http is allowed without allow_http only when the bytes stay on
  -- this machine: to a loopback host, directly (never through a proxy).
  if not loopback(parts.host) then
    raise("campaign.client: base_url must use https (plain http is only allowed for "
      .. "loopback hosts, or with allow_http = true)")
  end
  if opts.proxy ~= nil and opts.proxy ~= "" then
    raise("campaign.client: plain http to a loopback host through a proxy would carry the "
      .. "key in clear text off this machine: use https, drop proxy, or set allow_http = true")
  end
  return base_text, true
end

-- The option `paths` applied to the operations.
local function apply_paths(ops, paths)
  if type(paths) ~= "table" then raise("campaign.client: paths must be a table") end
  for op, path in pairs(paths) do
    if not ops[op] then
      local known = {}
      for name in pairs(ops) do known[#known + 1] = name end
      sort(known)
      local hint = type(op) == "string" and core.suggest(op, known)
      local shown = tostring(op)
      if #shown > 60 then shown = shown:sub(1, 60) .. "..." end
      raise(format("campaign.client: paths.%s is not an operation (%soperations: %s)", shown,
        hint and format("did you mean %s? ", hint) or "", concat(known, ", ")))
    end
    if type(path) ~= "string" or path:sub(1, 1) ~= "/" or path:find("[%c ?#]") then
      raise(format("campaign.client: paths.%s must be a string starting with / "
        .. "(no spaces, control characters, ? or #)", op))
    end
    ops[op].path = path
    if ops[op].unsupported then
      ops[op].unsupported = nil
      ops[op].method = ops[op].method or "POST"
    elseif ops[op].via_list then
      -- A route of its own (a white-label host that has one) is used as given.
      ops[op].via_list = nil
      ops[op].method = ops[op].method or "GET"
    end
  end
end

-- The client's operations: the provider's, with legacy routes and `paths`
-- applied, URLs and schemas worked out once here, not on every call.
local function operations(opts, name, provider, base_text)
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
  if opts.paths ~= nil then apply_paths(ops, opts.paths) end
  for _, spec in pairs(ops) do
    spec.schema = spec.schema and core.schema(spec.schema) or spec.schema
    spec.query = spec.query and core.schema(spec.query) or spec.query
    if spec.path then
      local head, tail = spec.path:match("^(.-){id}(.*)$")
      spec.has_id = head ~= nil or spec.body ~= nil
      spec.id_in_path = head ~= nil
      spec.url_head, spec.url_tail = head and base_text .. head, tail
      spec.url = base_text .. spec.path
    end
  end
  return ops
end

-- The caller's extra headers, checked, added with set_header.
local function extra_headers(given_headers, provider, set_header)
  if type(given_headers) ~= "table" then raise("campaign.client: headers must be a table") end
  local given = {}
  for hname, value in pairs(given_headers) do
    local problem = bad_header(hname, value)
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

-- The request headers: {plain = ..., json = ...} (json: with a body).
local function request_headers(opts, provider, key, user_agent)
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
  if opts.headers ~= nil then extra_headers(opts.headers, provider, set_header) end
  if key then set_header(provider.auth_header, provider.auth_prefix .. key) end
  local body_headers = {}
  for hname, value in pairs(headers) do body_headers[hname] = value end
  if not by_name["content-type"] then body_headers["Content-Type"] = "application/json" end
  return { plain = headers, json = body_headers }
end

--- Makes a client of `class` from the options (raises on wrong ones).
function M.make(opts, class, version)
  local provider = check_options(opts)
  local name = opts.provider
  local rate = rate_option(opts.rate_limit, provider)
  local dict = opts.shared_dict ~= nil and shared_dict_option(opts.shared_dict)
  local key = api_key(opts, provider)
  local base_text, direct = base_url(opts, name, provider)
  local ops = operations(opts, name, provider, base_text)
  local user_agent = opts.user_agent or ("lua-campaign/" .. version)
  local headers = request_headers(opts, provider, key, user_agent)
  local sleep = opts.sleep or core.sleep
  local self = setmetatable({
    provider = name,
    base_url = base_text,
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
    _base = base_text,
    _unwrap = provider.unwrap,
    _normalize = provider.normalize,
    _known = provider.normalize and provider.known_texts,
    _sleep = sleep,
    _skew = 0,
    -- false: no pace of its own, but a 429 still pauses the client.
    _pace = dict and pace.shared(dict, name .. " " .. base_text, rate or nil, rate ~= false, sleep)
      or pace.new(rate or nil, rate ~= false),
    _decode = opts.json_decode,
    _allow_blocking = opts.allow_blocking and true or false,
    _id_value = provider.id_kind == "integer" and tonumber or function(id) return id end,
    _settings_of = {},   -- the settings of calls without options, by operation
  }, class)
  if not opts.transport then
    self._http = core.http({
      ssl_verify = opts.ssl_verify ~= false,
      ca_file = opts.ca_file, ca_path = opts.ca_path,
      -- "": no proxy at all, not even one from the environment.
      proxy = direct and "" or opts.proxy, no_proxy = opts.no_proxy,
      user_agent = user_agent, max_body = opts.max_body,
    })
    self._http:headers(base.PLAIN_HEADERS, headers.plain)
    self._http:headers(base.JSON_HEADERS, headers.json)
  end
  self._request_mt = base.request_mt(self)
  base.secrets[self] = key
  base.header_templates[self] = headers
  base.fixed_headers[headers.plain], base.fixed_headers[headers.json] = true, true
  return self
end

return M
