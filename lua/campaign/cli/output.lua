--- The command-line tool's output: messages on standard error and JSON on
-- standard output, the key hidden in both, and the way a run ends early.
-- Part of `campaign.cli`.
-- @module campaign.cli.output

local format, concat, sort, rep = string.format, table.concat, table.sort, string.rep
local floor = math.floor

local M = {}

M.PROGRAM = "campaign"
M.EXIT = { OK = 0, PROVIDER = 1, INVALID = 2, UNSUPPORTED = 3, NOT_CONFIRMED = 4, USAGE = 64,
  SOFTWARE = 70, INTERRUPTED = 130 }
local EXIT, PROGRAM = M.EXIT, M.PROGRAM

-- Raised (as a table with this metatable) to end the run with a code.
local Exit = {}
M.Exit = Exit

-- Loaded with the module (M.load): dkjson, and the module's redaction.
local dkjson, redact_text, redact_value
local NULL                                         -- dkjson.null, once loaded

-- Loads dkjson and campaign.redact; nil and the reason when dkjson
-- is missing.
function M.load()
  local ok, dk = pcall(require, "dkjson")
  if not ok then return nil, dk end
  local redact = require "campaign.redact"
  redact_text, redact_value = redact.text, redact.value
  dkjson, NULL = dk, dk.null
  return true
end

-- ---------------------------------------------------------------------------
-- A run's streams

local Out = {}
Out.__index = Out

local function is_tty(fd)
  local r = os.execute("test -t " .. fd)
  return r == true or r == 0
end

local function stderr_is_tty() return is_tty(2) end
local function stdin_is_tty() return is_tty(0) end

local function never() return false end

-- env: stdin, stdout, stderr (objects with :read and :write), getenv,
-- interrupted and catch_interrupt (as campaign.core's), tty (whether
-- standard error is a terminal), stdin_tty (whether standard input is
-- one); each optional.
function M.new(env)
  env = env or {}
  local stdin, stderr = env.stdin or io.stdin, env.stderr or io.stderr
  return setmetatable({
    stdin = stdin, stdout = env.stdout or io.stdout, stderr = stderr,
    getenv = env.getenv or os.getenv,
    interrupted = env.interrupted, catch_interrupt = env.catch_interrupt,
    tty = env.tty or (stderr == io.stderr and stderr_is_tty or never),
    stdin_tty = env.stdin_tty or (stdin == io.stdin and stdin_is_tty or never),
    key = nil,                                     -- the key in use, once read
    text = false,                                  -- stdout is text, not JSON (plan, apply)
  }, Out)
end

local function flush(f)
  if f.flush then f:flush() end
end

function Out:flush()
  flush(self.stdout)
end

-- ---------------------------------------------------------------------------
-- The key

-- A success body is the caller's own data and is printed as the provider
-- sent it; everything else the tool prints (messages, errors, --dry-run and
-- --check output) goes through redact, which replaces the key as written
-- and in the escaped forms a provider may give it (JSON's \/ and \uXXXX),
-- and its pieces cut at "...": campaign.redact, as the module's errors.
function Out:redact(s)
  if not redact_text then return s end
  return redact_text(s, self.key)
end

-- A copy of v (strings, tables of them) with the key hidden in every string.
function Out:redact_value(v)
  if not redact_value then return v end
  return redact_value(v, self.key)
end

-- ---------------------------------------------------------------------------
-- Messages

function Out:say(s)
  self.stderr:write(self:redact(s), "\n")
end

-- A line of text on standard output (plan and apply), the key hidden;
-- flushed, so that it comes before what follows on standard error (a
-- question, a message) even when standard output is a pipe.
function Out:line(s)
  self.stdout:write(self:redact(s), "\n")
  flush(self.stdout)
end

-- Ends the run with `code` after saying `message` (caught in cli.main).
function Out:quit(code, message)
  if message then self:say(PROGRAM .. ": " .. message) end
  error(setmetatable({ code = code }, Exit), 0)
end

function Out:usage_error(message)
  self:say(PROGRAM .. ": " .. message)
  self:say("Try 'campaign --help'.")
  self:quit(EXIT.USAGE)
end

-- ---------------------------------------------------------------------------
-- JSON

-- Output goes through dkjson (Debian's lua-dkjson): lua-cjson 2.1.0 writes
-- every empty table as {}, while dkjson keeps the lists it decoded (and the
-- ones the tool marks) lists. The client decodes the providers' answers with
-- it too (the json_decode option), so [] stays [].
local LIST_MT = { __jsontype = "array" }

function M.list(t)
  return setmetatable(t, LIST_MT)
end

function M.decode_keeping_lists(text)
  local value, _, problem = dkjson.decode(text, 1, dkjson.null)
  if problem then error(problem, 0) end
  return value
end

-- A number as dkjson would not write it (tostring: 14 digits), but as the
-- shortest text that reads back to it.
local function exact_number(n)
  if n ~= n or n == math.huge or n == -math.huge or tonumber(tostring(n)) == n then return n end
  for digits = 15, 17 do
    local text = format("%." .. digits .. "g", n)
    if tonumber(text) == n then
      return setmetatable({}, { __tojson = function() return text end })
    end
  end
  return n
end

-- A copy of v (metatables kept: they mark lists) with its numbers exact.
local function exact_numbers(v, copies)
  if type(v) == "number" then return exact_number(v) end
  if type(v) ~= "table" then return v end
  if copies[v] then return copies[v] end
  local copy = setmetatable({}, getmetatable(v))
  copies[v] = copy
  for k, x in pairs(v) do copy[k] = exact_numbers(x, copies) end
  return copy
end

-- Every string key in v, sorted, once each.
local function key_order(v)
  local seen, order = {}, {}
  local function keys_of(t)
    for k, child in pairs(t) do
      if type(k) == "string" then order[#order + 1] = k end
      if type(child) == "table" and not seen[child] then
        seen[child] = true
        keys_of(child)
      end
    end
  end
  if type(v) == "table" then keys_of(v) end
  sort(order)
  local unique, last = {}, nil
  for _, k in ipairs(order) do
    if k ~= last then unique[#unique + 1] = k end
    last = k
  end
  return unique
end

-- A copy of v as the tool prints it: lua-cjson's null as JSON's null and,
-- under Lua 5.3+, where lua-cjson reads every number as a float, whole
-- numbers as integers (5, not 5.0). Metatables are kept: they mark lists.
local cjson_null
function M.plain(v)
  if type(v) == "number" then
    return math.tointeger and v == floor(v) and math.tointeger(v) or v
  end
  if type(v) == "userdata" then
    cjson_null = cjson_null or require("cjson").null
    if v == cjson_null then return NULL end
  end
  if type(v) ~= "table" or v == NULL then return v end
  local copy = setmetatable({}, getmetatable(v))
  for k, x in pairs(v) do copy[k] = M.plain(x) end
  return copy
end

-- Keys sorted, so that output can be compared and diffed; numbers exact.
local function encode(v)
  v = exact_numbers(v, {})
  return dkjson.encode(v, { keyorder = key_order(v) })
end

-- stdout. A success body is printed as the provider sent it (decoded and
-- encoded again); errors, --check and --dry-run output with the key hidden,
-- in every string and in the JSON text.
function Out:shown_json(value)
  return self:redact(encode(self:redact_value(value)))
end

function Out:print_json(value)
  self.stdout:write(self:shown_json(value), "\n")
end

function Out:print_body(body)
  self.stdout:write(encode(body), "\n")
end

-- A batch's results in input order: bodies as sent, errors hidden.
function Out:print_results(results, is_body)
  local parts = {}
  for i = 1, #results do
    parts[i] = is_body[i] and encode(results[i]) or self:shown_json(results[i])
  end
  self.stdout:write("[", concat(parts, ","), "]\n")
end

-- Input that cannot be read as campaigns (nothing is sent): exit 2, with
-- the same {"error": ...} object on standard output as any invalid input
-- (unless standard output is text).
function Out:invalid_input(message)
  self:say(PROGRAM .. ": " .. message)
  if not self.text then self:print_json({ error = { kind = "validation", message = message } }) end
  self:quit(EXIT.INVALID)
end

-- ---------------------------------------------------------------------------
-- Errors

-- How many problems an error found: err.count (the module lists at most 100
-- in err.errors and only counts the rest), else as many as are listed.
local function problem_count(err)
  local listed = type(err.errors) == "table" and #err.errors or 0
  local count = tonumber(err.count) or listed
  if count < listed then count = listed end
  return count, listed
end

-- A validation error's message is its first problem and a summary of the
-- others, which points Lua callers to err.errors and err.count: here they
-- are .error.errors and .error.count.
local function json_message(err)
  local message = tostring(err.message)
  local first = err.kind == "validation" and type(err.errors) == "table" and err.errors[1]
  if not first then return message end
  local head = (first.field ~= "" and (first.field .. " ") or "") .. first.message
  if message:sub(1, #head) ~= head then return message end
  local summary = message:sub(#head + 1):gsub(" in err%.errors", ""):gsub("err%.(%a+)", "error.%1")
  return head .. summary
end

function M.error_object(err)
  local e = { kind = err.kind, message = json_message(err) }
  if err.errors and #err.errors > 0 then
    local problems = M.list({})
    for i, p in ipairs(err.errors) do
      problems[i] = { field = p.field, message = p.message }
    end
    e.errors = problems
    e.count = (problem_count(err))
  end
  e.status = err.status
  e.retry_after = err.retry_after
  if err.outcome_unknown then e.outcome_unknown = true end
  return { error = e }
end

function M.exit_code_of(err)
  if err.kind == "validation" then return EXIT.INVALID end
  if err.kind == "unsupported" then return EXIT.UNSUPPORTED end
  return EXIT.PROVIDER
end

-- Worse of two exit codes: a provider error outranks an operation the
-- provider does not have, which outranks invalid input.
function M.worse(a, b)
  for _, code in ipairs({ EXIT.PROVIDER, EXIT.UNSUPPORTED, EXIT.INVALID }) do
    if a == code or b == code then return code end
  end
  return EXIT.OK
end

-- An error on standard error (or through `say`, a function of a line): a
-- validation error as one line per problem, others as the error and its
-- problems indented.
function Out:report(label, err, say)
  if not say then say = function(s) self:say(s) end end
  local prefix = label and (label .. ": ") or ""
  local count, listed = problem_count(err)
  local more = count > listed
    and format("and %d more problem%s", count - listed, count - listed == 1 and "" or "s")
  if err.kind == "validation" and listed > 0 then
    for _, p in ipairs(err.errors) do
      say(prefix .. (p.field ~= "" and (p.field .. ": ") or "") .. p.message)
    end
    if more then say(prefix .. more) end
    return
  end
  say(prefix .. tostring(err))
  for _, p in ipairs(err.errors or {}) do
    say(prefix .. "  " .. p.field .. ": " .. p.message)
  end
  if more then say(prefix .. "  " .. more) end
  if err.outcome_unknown then
    say(prefix .. "  the request may have reached the provider: look the campaign up "
      .. "(campaign list) before trying again")
  end
end

-- ---------------------------------------------------------------------------
-- Requests and progress

-- The request as the tool shows it: headers with the key hidden, the body
-- decoded (with its lists kept).
local SECRET_HEADERS = { authorization = true, ["api-key"] = true, ["x-api-key"] = true }
function Out:shown_request(req)
  local headers = {}
  for name, value in pairs(req.headers) do
    if SECRET_HEADERS[name:lower()] or self:redact(value) ~= value then value = "[REDACTED]" end
    headers[name] = value
  end
  -- The body as it would be sent, byte for byte (its names in the order
  -- the request writer gives them), inside the JSON printed.
  local body = NULL
  if req.body then
    local text = self:redact(req.body)
    body = setmetatable({}, { __tojson = function() return text end })
  end
  return { method = req.method, url = req.url, headers = headers, body = body }
end

-- --verbose: each attempt's request and answer on standard error, curl
-- style ("> " and "< " lines), one block each, from the client's
-- on_request and on_response hooks. What they get is already redacted (the
-- key's header reads [REDACTED], the key is hidden in URLs, headers and
-- bodies, also escaped); it goes through Out:redact once more.

-- name: value lines, sorted by name (a header with several values: joined).
local function header_lines(headers)
  local names, lines = {}, {}
  for name in pairs(headers or {}) do names[#names + 1] = tostring(name) end
  sort(names, function(a, b) return a:lower() < b:lower() end)
  for _, name in ipairs(names) do
    local value = headers[name]
    if type(value) == "table" then
      local values = {}
      for i, v in ipairs(value) do values[i] = tostring(v) end
      value = concat(values, ", ")
    end
    lines[#lines + 1] = name .. ": " .. tostring(value)
  end
  return lines
end

-- The block: each line of head, the headers, a blank line and the body,
-- after mark ("> " or "< "); then an empty line.
local function block(mark, head, headers, body)
  local lines = {}
  for _, line in ipairs(head) do lines[#lines + 1] = mark .. line end
  for _, line in ipairs(header_lines(headers)) do lines[#lines + 1] = mark .. line end
  if body and body ~= "" then
    lines[#lines + 1] = mark:gsub("%s+$", "")
    for line in (body:gsub("\r?\n$", "") .. "\n"):gmatch("([^\n]*)\n") do
      lines[#lines + 1] = mark .. line:gsub("\r$", "")
    end
  end
  return concat(lines, "\n") .. "\n\n"
end

-- on_request and on_response hooks that write to standard error.
function Out:verbose_hooks()
  local function write(text)
    self.stderr:write(self:redact(text))
    flush(self.stderr)
  end
  local function on_request(i)
    write(block("> ", { format("%s %s, attempt %d", i.provider, i.op, i.attempt),
      format("%s %s", i.method, i.url) }, i.headers, i.body))
  end
  local function on_response(i)
    local head = format("%s %s, attempt %d: ", i.provider, i.op, i.attempt)
    if i.status then
      head = head .. format("HTTP %d", i.status)
    elseif i.error then
      head = head .. format("%s: %s", tostring(i.error.kind), tostring(i.error.message))
    end
    head = head .. format(", %.3f s", i.elapsed or 0)
    if i.retry_in then head = head .. format("; again in %.1f s", i.retry_in) end
    write(block("< ", { head }, i.headers, i.body))
  end
  return on_request, on_response
end

-- A progress bar on standard error, for a batch's on_progress.
function Out:progress_bar(verb)
  local width, stderr = 30, self.stderr
  return function(done, total, info)
    local filled = floor(width * done / total)
    local extra = ""
    if info then
      extra = format("  %.1f/s", info.rate or 0)
      if info.eta and done < total then extra = extra .. format("  %ds left", floor(info.eta + 0.5)) end
      if info.waiting > 0 then extra = extra .. format("  %d waiting", info.waiting) end
    end
    stderr:write(format("\r%s [%s%s] %d/%d%s\27[K", verb, rep("#", filled),
      rep(".", width - filled), done, total, extra))
    if done == total then stderr:write("\r\27[K") end
    flush(stderr)
  end
end

-- Clears the progress bar's line.
function Out:clear_line()
  self.stderr:write("\r\27[K")
end

-- The progress bar of a batch (an on_progress function), when it is drawn:
-- standard error is a terminal, and neither --no-progress nor --verbose.
function Out:batch_progress(o, verb)
  if o["no-progress"] or o.verbose or not self.tty() then return nil end
  return self:progress_bar(verb)
end

-- Runs fn() with Ctrl-C caught (campaign.core's catch_interrupt, or env's):
-- a batch then stops sending and lets the requests under way complete.
-- Returns what fn returned, and whether a Ctrl-C came.
function Out:catching_interrupt(fn)
  local core = require "campaign.core"
  local catch = self.catch_interrupt or core.catch_interrupt
  catch(true)
  local ok, value = pcall(fn)
  local interrupted = (self.interrupted or core.interrupted)()
  catch(false)
  if not ok then error(value, 0) end
  return value, interrupted
end

return M
