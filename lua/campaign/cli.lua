--- The command-line tool `campaign` (bin/campaign runs it): creates and
-- manages campaigns from a shell. Usage: `campaign --help`.
--
--    local cli = require "campaign.cli"
--    os.exit(cli.main(arg))
--
-- @module campaign.cli

local output = require "campaign.cli.output"
local args = require "campaign.cli.args"
local input = require "campaign.cli.input"
local query = require "campaign.cli.query"
local plan_apply = require "campaign.cli.plan"

local format, concat = string.format, table.concat

local M = {}

local PROGRAM, EXIT = output.PROGRAM, output.EXIT
local error_object, exit_code_of, worse = output.error_object, output.exit_code_of, output.worse

-- ---------------------------------------------------------------------------
-- Usage

local USAGE = [[
Usage: campaign COMMAND --provider NAME [options] [FILE...]

${about}

Commands:
  create FILE...        create a campaign from each FILE; several FILEs, or a
                        list of campaigns in one FILE, run as one batch
  update --id ID FILE   change campaign ID with the fields in FILE; without
                        --id, each item is {"id": ID, "fields": {...}} (batch)
  get --id ID           show one campaign
  list [FILE]           list campaigns; filters from --query or a FILE
  delete --id ID        delete a campaign
  start --id ID         start or resume a campaign
  stop --id ID          stop, pause or cancel a campaign
  attach-agent --id ID [FILE]
                        attach an agent to campaign ID (atlas: a campaign
                        cannot call without one), configured by the fields in
                        FILE (none: {}); --template: the template-driven agent
  plan FILE...          what apply would do with the campaigns in the FILEs
                        (one listing, nothing else sent): a line each, with
                        + create, ~ update (what differs), = unchanged,
                        ! drift (what the provider cannot update) or
                        ! conflict (several campaigns have the name)
  apply FILE...         print the plan, ask (--yes: do not), then create and
                        update what differs; again, it changes nothing; with
                        a conflict, it applies nothing

FILE is JSON, or a Lua data file that returns a table (it runs with no access
to any global: no os, io, require); "-" reads standard input, JSON or Lua
told apart by the content.

Options:
${provider}
  --id ID               the campaign (update, get, delete, start, stop,
                        attach-agent)
${api_key_file}
  --dry-run             print the request(s) as JSON, key hidden; send nothing
  --check               validate only: list the problems (100 at most, then
                        how many more); exit 2 if any
  --base-url URL        the provider's base URL (white-label, proxy, test)
  --timeout SECONDS     time limit of one request (default 30)
  --connect-timeout SECONDS
                        time limit to connect to the provider (default 10)
  --allow-http          allow a plain http:// base URL to any host: the key
                        then travels unencrypted (loopback needs no option)
  --max-retries N       HTTP retries (default 2)
  --concurrency N       requests at once in a batch or apply (default 8)
${rates}
  --max-wait SECONDS    the longest a request waits for the provider's rate
                        limit before it fails with the 429 (default 120)
  --query NAME=VALUE    a filter for list; repeatable
  --passthrough         send fields this release does not know
  --template            attach-agent: the agent of the campaign's template
                        (POST /agent/new/ID) rather than one configured inline
  --yes                 apply without asking (needed when standard input is
                        not a terminal)
  --json                plan, apply: JSON on standard output (a step per
                        campaign), the text on standard error
${legacy}
  --verbose             each request and each answer on standard error (every
                        attempt: method, URL, headers, body; status, headers,
                        body), the key hidden; no progress bar
  --no-progress         no progress bar for batches and apply
  -h, --help            show this help
  --version             show the version

There is no --api-key option: a key on the command line can be read by every
user of the machine (ps, /proc) and stays in the shell's history.

Output: JSON on standard output (the provider's answer; for a batch, a list
in input order, with {"error": {...}} in place of each item that failed);
messages on standard error. plan and apply print text (JSON with --json).

Examples:
  campaign create --provider vapi spring.json
  campaign create --provider vapi --verbose spring.json 2> trace.txt
  campaign attach-agent --provider atlas --id ID --template
  campaign attach-agent --provider atlas --id ID agent.json
  campaign list --provider vapi --connect-timeout 3 --timeout 60
  campaign list --provider vapi --allow-http --base-url http://gateway:8080
  campaign plan --provider vapi campaigns.lua
  campaign apply --provider vapi --yes campaigns/*.json

Exit status: 0 success; 1 provider or network error (http, transport,
timeout, decode); 2 invalid input (validation), or a plan with a conflict;
3 the provider has no such operation (unsupported: update on smallest,
attach-agent but on atlas); 4 apply not confirmed (nothing applied);
64 usage error, or apply without --yes where nobody can answer (standard
input not a terminal); 70 the tool cannot run (module not found, internal
error); 130 interrupted (Ctrl-C).
]]

local WIDTH = 78
local OPTION_COLUMN = "                        "

-- text in lines of WIDTH at most, the first starting with head, the others
-- with indent.
local function wrap(text, head, indent)
  local lines, line, fresh = {}, head, true
  for word in text:gmatch("%S+") do
    if not fresh and #line + 1 + #word > WIDTH then
      lines[#lines + 1] = line
      line, fresh = indent, true
    end
    line = fresh and line .. word or line .. " " .. word
    fresh = false
  end
  lines[#lines + 1] = line
  return concat(lines, "\n")
end

-- The help, with the providers, their key variables and their default
-- rates from the registry (campaign.providers).
local function usage()
  local names, registry = args.providers()
  local variables, rates, legacy = {}, {}, {}
  for i, name in ipairs(names) do
    variables[i] = "$" .. args.key_variable(registry, name)
    if registry[name].legacy_paths then legacy[#legacy + 1] = name end
    local rate = registry[name].rate_limit
    if rate then rates[#rates + 1] = format("%s %s", name, rate) end
  end
  rates[#rates + 1] = #rates > 0 and "others learned from 429s" or "learned from 429s"
  local parts = {
    about = wrap("Creates and manages voice-AI calling campaigns on " .. args.either(names, "and")
      .. ", with the checks of the lua-campaign module.", "", ""),
    provider = wrap(args.either(names, "or") .. " (required)", "  --provider NAME       ",
      OPTION_COLUMN),
    api_key_file = wrap("read the API key from the first line of PATH; default: "
      .. args.either(variables, "or"), "  --api-key-file PATH   ", OPTION_COLUMN),
    rates = wrap("requests per second at most (0: no limit), for single calls and batches "
      .. "alike; default: " .. concat(rates, ", "), "  --rate N              ", OPTION_COLUMN),
    legacy = wrap(args.either(legacy, "and") .. " only: the unversioned /campaign routes",
      "  --legacy              ", OPTION_COLUMN),
  }
  return (USAGE:gsub("%${([%w_]+)}", parts))
end

-- ---------------------------------------------------------------------------
-- The command line

local COMMANDS = { "create", "update", "get", "list", "delete", "start", "stop", "attach-agent",
  "plan", "apply" }
local COMMAND_SET = {}
for _, name in ipairs(COMMANDS) do COMMAND_SET[name] = true end
local NEEDS_ID = { get = true, delete = true, start = true, stop = true }
-- Campaigns as code: the FILEs hold campaigns to create or bring up to date.
local AS_CODE = { plan = true, apply = true }

-- The command and the options that go with it, or a usage error.
local function check_command(out, o)
  local command = o.command
  if not command then out:usage_error("missing COMMAND (" .. concat(COMMANDS, ", ") .. ")") end
  if not COMMAND_SET[command] then
    local hint = args.suggest(command, COMMANDS)
    out:usage_error(format("unknown command (the COMMAND given is not shown; commands: %s)%s",
      concat(COMMANDS, ", "), hint and format("; did you mean %s?", hint) or ""))
  end
  if not o.provider then
    out:usage_error(format("missing --provider NAME (%s)", args.either((args.providers()), "or")))
  end
  if o["dry-run"] and o.check then out:usage_error("--dry-run and --check do not go together") end
  if #o.query > 0 and command ~= "list" then out:usage_error("--query is only for list") end
  if o.template and command ~= "attach-agent" then
    out:usage_error("--template is only for attach-agent")
  end
  if o.yes and command ~= "apply" then out:usage_error("--yes is only for apply") end
  if o.json and not AS_CODE[command] then
    out:usage_error("--json is only for plan and apply (the other commands always print JSON)")
  end
  if AS_CODE[command] and o["dry-run"] then
    out:usage_error(command .. " takes no --dry-run: plan is apply's dry run (it sends nothing but "
      .. "the listing)")
  end
  if o.id and command ~= "update" and command ~= "attach-agent" and not NEEDS_ID[command] then
    out:usage_error(command .. " takes no --id")
  end
  if command == "attach-agent" then
    if not o.id then out:usage_error("attach-agent needs --id CAMPAIGN_ID") end
    if #o.files > 1 then out:usage_error("attach-agent takes at most one FILE") end
  end
  if NEEDS_ID[command] then
    if not o.id then out:usage_error(command .. " needs --id ID") end
    if #o.files > 0 then out:usage_error(command .. " takes no FILE") end
  end
  if (command == "create" or command == "update" or AS_CODE[command]) and #o.files == 0 then
    out:usage_error(command .. " needs a FILE (- for standard input)")
  end
  if command == "list" and #o.files > 1 then out:usage_error("list takes at most one FILE") end
  local stdin_seen = false
  for _, path in ipairs(o.files) do
    if path == "-" then
      if stdin_seen then out:usage_error("standard input (-) can be read only once") end
      stdin_seen = true
    end
  end
end

-- The numbers of the options that take one.
local function numbers(out, o)
  return {
    timeout = args.number(out, o, "timeout", false, 0.001, 86400),
    connect_timeout = args.number(out, o, "connect-timeout", false, 0.001, 86400),
    max_retries = args.number(out, o, "max-retries", true, 0, 100),
    concurrency = args.number(out, o, "concurrency", true, 1, 10000),
    rate = args.number(out, o, "rate", false, 0, 1000000, "a number of requests per second"),
    max_wait = args.number(out, o, "max-wait", false, 0, 86400),
  }
end

-- ---------------------------------------------------------------------------
-- The module

local function load_module(out)
  local ok, campaign = pcall(require, "campaign")
  if not ok then
    out:quit(EXIT.SOFTWARE, "cannot load the campaign module (build it with make, or install "
      .. "it): " .. tostring(campaign))
  end
  local loaded, problem = output.load()
  if not loaded then
    out:quit(EXIT.SOFTWARE, "cannot load dkjson (Debian: apt-get install lua-dkjson): "
      .. tostring(problem))
  end
  return campaign
end

local function version_text(campaign)
  local lua = rawget(_G, "jit") and rawget(_G, "jit").version or _VERSION
  return format("campaign %s (lua-campaign, %s)", campaign._VERSION, lua)
end

-- The key, from --api-key-file, else the provider's environment variable
-- (out.key); where it came from, and that variable.
local function read_key(out, o)
  local _, registry = args.providers()
  local env_name = args.key_variable(registry, o.provider)
  if o["api-key-file"] then
    out.key = input.read_key_file(out, o["api-key-file"])
    return "the file given to --api-key-file", env_name
  end
  local key = out.getenv(env_name)
  if key == "" then key = nil end
  out.key = key
  return env_name, env_name
end

local function new_client(out, campaign, o, n)
  local on_request, on_response
  if o.verbose then on_request, on_response = out:verbose_hooks() end
  -- --rate 0: no pace at all.
  local rate = n.rate
  if rate == 0 then rate = false end
  local ok, client = pcall(campaign.client, {
    provider = o.provider, api_key = out.key, base_url = o["base-url"], timeout = n.timeout,
    connect_timeout = n.connect_timeout, allow_http = o["allow-http"] or nil,
    max_retries = n.max_retries, passthrough = o.passthrough or nil, legacy = o.legacy or nil,
    json_decode = output.decode_keeping_lists, max_wait = n.max_wait,
    rate_limit = rate, on_request = on_request, on_response = on_response,
  })
  if ok then return client end
  -- Wrong use raises at the caller's line, which the user need not see.
  local message = tostring(client):gsub("^[^\n]-:%d+: ", ""):gsub("^campaign%.client: ", "")
  return nil, message
end

-- The provider, checked against the registry; the key; the client.
local function connect(out, campaign, o, n)
  local known = campaign.providers()
  local is_known = false
  for _, name in ipairs(known) do is_known = is_known or name == o.provider end
  if not is_known then
    local hint = args.suggest(o.provider, known)
    out:usage_error(format("unknown provider (the --provider value is not shown; known: %s)%s",
      concat(known, ", "), hint and format("; did you mean %s?", hint) or ""))
  end
  local key_source, env_name = read_key(out, o)
  local client, message = new_client(out, campaign, o, n)
  if not client then
    -- A key the module refuses (too short, a line break in it): say where it
    -- came from; the key itself is never shown.
    if message:find("^api_key") then
      out:usage_error(format("the API key in %s is refused: %s", key_source, message))
    end
    out:usage_error(message)
  end
  local sending = not o["dry-run"] and not o.check
  if sending and not out.key then
    out:usage_error(format("no API key: set %s, or use --api-key-file PATH", env_name))
  elseif o["dry-run"] and not out.key then
    out:say(format("%s: note: no API key (%s is not set): sent like this, the request "
      .. "would be refused", PROGRAM, env_name))
  end
  return client
end

-- The items of the command (FILEs, --id, --query), each with the arguments
-- of its call; and whether they are a batch.
local function items_of(out, o, client, texts)
  local command = o.command
  local items, batch = {}, false
  if command == "create" or command == "update" or command == "list" or AS_CODE[command]
    or (command == "attach-agent" and #o.files > 0) then
    items, batch = input.read_items(out, o, command)
  end
  -- A plan is a list, of one campaign too.
  if AS_CODE[command] then return items, true end
  if command == "attach-agent" then
    if batch then
      out:invalid_input(items[1].label:gsub("%[1%]$", "") .. ": holds a list; attach-agent takes "
        .. "the fields of one agent")
    end
    return { { id = o.id, fields = items[1] and items[1].fields or {}, label = items[1] and items[1].label } },
      false
  end
  if command == "update" then input.update_pairs(out, o, items) end
  if command == "list" then
    local base = items[1] and items[1].fields
    items = { { label = items[1] and items[1].label, fields = query.typed_query(client, base, texts) } }
  elseif NEEDS_ID[command] then
    items = { { id = o.id } }
  end
  return items, batch
end

-- ---------------------------------------------------------------------------
-- Running

-- attach-agent's operation in the provider's registry, with or without
-- --template.
local function agent_op(o)
  return o.template and "attach_agent_template" or "attach_agent"
end

-- Every item prepared, nothing sent: the results to print ({valid = true}
-- with check, else the request; or the error), the exit code and how many
-- are valid. The problems are said on standard error.
local function prepare_each(out, o, client, items, batch, hidden, check)
  local command = o.command
  local with_fields = command == "create" or command == "update" or command == "list"
    or command == "attach-agent" or AS_CODE[command]
  local op = AS_CODE[command] and "create" or command
  local results, code, valid = output.list({}), EXIT.OK, 0
  for i, item in ipairs(items) do
    local fields
    if with_fields then fields = item.fields end
    local req, err
    if command ~= "attach-agent" then
      req, err = client:prepare(op, fields, item.id)
    elseif require("campaign.providers")[o.provider].ops[agent_op(o)] then
      req, err = client:prepare(agent_op(o), fields, item.id)
    else
      -- No such call: the library's unsupported error (nothing is sent).
      req, err = client:attach_agent(item.id, fields, { template = o.template or nil })
      assert(not req and err.kind == "unsupported", "attach-agent: no unsupported error")
    end
    err = query.hide(err, hidden)
    if req then
      valid = valid + 1
      results[i] = check and { valid = true } or out:shown_request(req)
    else
      code = worse(code, exit_code_of(err))
      out:report(batch and item.label or nil, err)
      results[i] = check and { valid = false, error = error_object(err).error } or error_object(err)
    end
  end
  return results, code, valid
end

-- prepare_each's results printed (a batch: a list, and how many are
-- valid); the exit code.
local function show_prepared(out, results, code, valid, batch)
  if not batch then
    out:print_json(results[1])
    return code
  end
  if not out.text then out:print_json(results) end
  out:say(format("%d valid, %d invalid", valid, #results - valid))
  return code
end

-- --check and --dry-run: prepare only.
local function prepare_only(out, o, client, items, batch, hidden)
  local results, code, valid = prepare_each(out, o, client, items, batch, hidden, o.check)
  return show_prepared(out, results, code, valid, batch)
end

-- plan and apply: every campaign is checked first (all the problems of all
-- of them, nothing sent); then the plan, from one listing.
local function as_code(out, o, client, items, n, hidden)
  local results, code, valid = prepare_each(out, o, client, items, true, hidden, true)
  if code ~= EXIT.OK or o.check then return show_prepared(out, results, code, valid, true) end
  return plan_apply[o.command](out, o, client, items, n)
end

-- One call, its answer printed.
local function send_one(out, o, client, item, hidden)
  local command = o.command
  local body, err
  if command == "attach-agent" then
    body, err = client:attach_agent(item.id, item.fields, { template = o.template or nil })
  elseif command == "create" then
    body, err = client:create(item.fields)
  elseif command == "update" then
    body, err = client:update(item.id, item.fields)
  elseif command == "list" then
    body, err = client:list(item.fields)
  else
    body, err = client[command](client, item.id)
  end
  if not body then
    err = query.hide(err, hidden)
    out:report(nil, err)
    out:print_json(error_object(err))
    return exit_code_of(err)
  end
  out:print_body(body)
  return EXIT.OK
end

-- A batch's calls. Ctrl-C stops sending: the requests under way complete
-- (they may create campaigns), then every item's result is printed and the
-- exit is 130. A second Ctrl-C stops at once.
local function run_batch(out, o, client, items, concurrency)
  local command = o.command
  local many_items = {}
  for i, item in ipairs(items) do
    many_items[i] = command == "create" and item.fields or { id = item.id, fields = item.fields }
  end
  local on_progress = out:batch_progress(o, command == "create" and "creating" or "updating")
  local results, interrupted = out:catching_interrupt(function()
    return client[command .. "_many"](client, many_items,
      { concurrency = concurrency, on_progress = on_progress })
  end)
  if on_progress and interrupted then out:clear_line() end
  return results, interrupted
end

-- A batch: every item's result in order, then a summary.
local function send_batch(out, o, client, items, concurrency, campaign)
  local results, interrupted = run_batch(out, o, client, items, concurrency)
  local verb = o.command == "create" and "created" or "updated"
  local shown, is_body, code, failed, unsent, unknown = {}, {}, EXIT.OK, 0, 0, {}
  for i, r in ipairs(results) do
    if campaign.is_error(r) then
      if r.kind == "cancelled" then
        unsent = unsent + 1
      else
        failed = failed + 1
        code = worse(code, exit_code_of(r))
        out:report(items[i].label, r)
        if r.outcome_unknown then unknown[#unknown + 1] = items[i].label end
      end
      shown[i] = error_object(r)
    else
      shown[i], is_body[i] = r, true
    end
  end
  out:print_results(shown, is_body)
  local summary = format("%d %s, %d failed", #results - failed - unsent, verb, failed)
  if interrupted then
    out:say(format("interrupted: %s, %d not sent%s", summary, unsent, #unknown > 0
      and ("; may have been " .. verb .. " (look before sending again): " .. concat(unknown, ", "))
      or ""))
    return EXIT.INTERRUPTED
  end
  out:say(summary)
  return code
end

local function run(out, argv)
  local o = args.parse(out, argv)
  if o.help then
    out.stdout:write(usage())
    return EXIT.OK
  end
  if o.version then
    out.stdout:write(version_text(load_module(out)), "\n")
    return EXIT.OK
  end
  check_command(out, o)
  out.text = AS_CODE[o.command] and not o.json or false
  local n = numbers(out, o)
  local texts, hidden = query.parse(out, o)
  local campaign = load_module(out)
  local client = connect(out, campaign, o, n)
  local items, batch = items_of(out, o, client, texts)
  if AS_CODE[o.command] then return as_code(out, o, client, items, n, hidden) end
  if o["dry-run"] or o.check then return prepare_only(out, o, client, items, batch, hidden) end
  if not batch then return send_one(out, o, client, items[1], hidden) end
  return send_batch(out, o, client, items, n.concurrency, campaign)
end

--- Runs the tool. argv: the arguments, a list of strings (as `arg`); env
-- (optional) replaces what the tool reads and writes: `stdin`, `stdout`,
-- `stderr` (objects with :read and :write, as io's), `getenv` (as
-- os.getenv), `interrupted` and `catch_interrupt` (as campaign.core's:
-- Ctrl-C during a batch), `tty` (a function: whether stderr is a
-- terminal, for the progress bar; by default, false unless stderr is
-- io.stderr and a terminal), `stdin_tty` (a function: whether stdin is a
-- terminal, where apply asks its question; by default, false unless
-- stdin is io.stdin and a terminal).
-- @return the exit status: 0 success, 1 provider error, 2 invalid input
-- or a plan with a conflict, 3 unsupported operation, 4 apply not
-- confirmed, 64 usage error, 70 internal error, 130 interrupted
function M.main(argv, env)
  local out = output.new(env)
  local ok, result = xpcall(function() return run(out, argv or {}) end, function(e)
    if getmetatable(e) == output.Exit then return e end
    return debug.traceback(tostring(e), 2)
  end)
  out:flush()
  if ok then return result end
  if getmetatable(result) == output.Exit then return result.code end
  if tostring(result):find("interrupted!", 1, true) then
    -- Ctrl-C: the interpreter's SIGINT error. A batch may be partly done.
    out:say(PROGRAM .. ": interrupted")
    return EXIT.INTERRUPTED
  end
  out:say(PROGRAM .. ": internal error: " .. tostring(result))
  return EXIT.SOFTWARE
end

M.EXIT = EXIT

return M
