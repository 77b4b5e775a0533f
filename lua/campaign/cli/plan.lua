--- The command-line tool's campaigns as code: `campaign plan FILE...`
-- shows what applying the campaigns of the FILEs would change, from one
-- listing of the provider (Client:plan); `campaign apply FILE...` shows
-- it, asks, and carries it out (Client:apply). Part of `campaign.cli`.
--
-- A line per campaign: `+` create, `~` update (with what differs), `=`
-- unchanged, `!` drift or conflict; then a summary. On standard output,
-- or with --json on standard error, standard output then holding JSON.
-- @module campaign.cli.plan

local output = require "campaign.cli.output"
local errors = require "campaign.errors"

local format, concat = string.format, table.concat
local floor = math.floor

local M = {}

local EXIT, PROGRAM = output.EXIT, output.PROGRAM
local error_object, exit_code_of, worse = output.error_object, output.exit_code_of, output.worse
local is_error = errors.is_error

-- How a step is marked, in the plan and in apply's results.
local MARK = { create = "+", update = "~", unchanged = "=", drift = "!", conflict = "!" }
local ACTIONS = { "create", "update", "unchanged", "drift", "conflict" }

-- The most a value of a change takes (bytes of its JSON).
local VALUE_WIDTH = 40

-- ---------------------------------------------------------------------------
-- Text

local function plural(n, word)
  return format("%d %s%s", n, word, n == 1 and "" or "s")
end

-- An id as text: 7.0 (a float of lua-cjson under Lua 5.3+) is 7.
local function id_text(id)
  if type(id) == "number" and id == floor(id) and id > -2 ^ 53 and id < 2 ^ 53 then
    return format("%d", id)
  end
  return tostring(id)
end

-- The JSON text of a string cut to `width` bytes at most, between whole
-- escapes and whole UTF-8 characters, and ended with ...".
local function cut_string(text, width)
  local i, stop = 2, 1
  while i < #text do
    local b, len = text:byte(i), 1
    if b == 92 then                                -- \uXXXX, or \ and one character
      len = text:byte(i + 1) == 117 and 6 or 2
    elseif b >= 0xC0 then
      len = b >= 0xF0 and 4 or b >= 0xE0 and 3 or 2
    end
    if i + len - 1 > width - 4 then break end
    stop, i = i + len - 1, i + len
  end
  return text:sub(1, stop) .. '..."'
end

-- A value of a change, short: its JSON when that fits in VALUE_WIDTH; else
-- a string cut short, a list or an object by its size. (none) when absent.
local function shown_value(out, v)
  if v == nil then return "(none)" end
  v = output.plain(v)
  local text = out:shown_json(v)
  if #text <= VALUE_WIDTH then return text end
  if type(v) == "string" then return cut_string(text, VALUE_WIDTH) end
  if type(v) == "table" then
    local n = 0
    for _ in pairs(v) do n = n + 1 end
    if n == #v then return "[" .. plural(n, "item") .. "]" end
    return "{" .. plural(n, "field") .. "}"
  end
  return text:sub(1, VALUE_WIDTH - 3) .. "..."
end

-- A campaign's name as it is, or as a JSON string when a line would hide
-- part of it (control characters, blanks at either end, nothing at all).
local function shown_name(out, name)
  if name:find("^%S") and name:find("%S$") and not name:find("%c") then return name end
  return out:shown_json(name)
end

local function updatable_count(step)
  local n = 0
  for _, ch in ipairs(step.changes or {}) do
    if ch.updatable then n = n + 1 end
  end
  return n
end

-- What differs, "field old -> new" each. A drift step marks the fields
-- apply still updates.
local function changes_text(out, step)
  local mixed = step.action == "drift" and updatable_count(step) > 0
  local parts = {}
  for i, ch in ipairs(step.changes) do
    parts[i] = format("%s %s -> %s%s", ch.field, shown_value(out, ch.from), shown_value(out, ch.to),
      mixed and ch.updatable and " (updated)" or "")
  end
  return concat(parts, "; ")
end

local function head(out, step)
  return MARK[step.action] .. " " .. shown_name(out, step.name)
end

--- A step of a plan as one line: its mark, the campaign's name, and what
-- differs (update, drift) or the ids that share the name (conflict).
function M.step_line(out, step)
  local line = head(out, step)
  if step.action == "conflict" then
    local ids = {}
    for i, id in ipairs(step.ids or {}) do ids[i] = id_text(id) end
    return format("%s: conflict: %d campaigns have this name (%s)", line,
      #(step.campaigns or ids), concat(ids, ", "))
  end
  if not step.changes or #step.changes == 0 then return line end
  return format("%s: %s%s", line, step.action == "drift" and "drift: " or "", changes_text(out, step))
end

local function counts(plan)
  local n = {}
  for _, action in ipairs(ACTIONS) do n[action] = 0 end
  for _, step in ipairs(plan) do n[step.action] = n[step.action] + 1 end
  return n
end

--- The plan's summary line.
function M.summary(plan)
  local n = counts(plan)
  return format("plan: %d to create, %d to update, %d unchanged, %d drift, %s", n.create, n.update,
    n.unchanged, n.drift, plural(n.conflict, "conflict"))
end

-- Whether applying the step sends anything (a drift step: what it can update).
local function writes(step)
  return step.action == "create" or step.action == "update"
    or (step.action == "drift" and updatable_count(step) > 0)
end

-- The text goes to standard output, or to standard error with --json.
local function writer(out)
  if out.text then return function(s) out:line(s) end end
  return function(s) out:say(s) end
end

-- ---------------------------------------------------------------------------
-- JSON

-- A step as JSON: {name, action, id, changes, ids, error}.
local function entry(step)
  local e = { name = step.name, action = step.action, id = step.id }
  if step.changes then
    local changes = output.list({})
    for i, ch in ipairs(step.changes) do
      changes[i] = { field = ch.field, from = ch.from, to = ch.to, updatable = ch.updatable }
    end
    e.changes = changes
  end
  if step.action == "conflict" then
    local ids = output.list({})
    for i, id in ipairs(step.ids or {}) do ids[i] = id end
    e.ids = ids
    if step.error then e.error = error_object(step.error).error end
  end
  return e
end

-- The plan as JSON, with apply's result of each step when there are any:
-- `result` (created, updated, unchanged, drift) and the id, or the error.
local function print_entries(out, plan, results)
  local list = output.list({})
  for i, step in ipairs(plan) do
    local e, r = entry(step), results and results[i]
    if is_error(r) then
      e.error = error_object(r).error
    elseif r then
      e.result = r.action
      if e.id == nil then e.id = r.id end
    end
    list[i] = output.plain(e)
  end
  out:print_json(list)
end

-- ---------------------------------------------------------------------------
-- plan

-- Lua's "item N" in the plan's errors, as the FILE and place of item N.
local function relabel(message, items)
  message = message:gsub("^item %d+: ", "")
  return (message:gsub("item (%d+)'s", function(i)
    local item = items[tonumber(i)]
    return item and (item.label .. "'s") or nil
  end))
end

-- The plan of the items (checked already); or the run ends with the
-- error: a listing that failed, a name missing or given twice.
local function make_plan(out, client, items)
  local list = {}
  for i, item in ipairs(items) do list[i] = item.fields end
  local plan, err = client:plan(list)
  if plan then return plan end
  local item = err.index and items[err.index]
  if item then err.message = relabel(err.message, items) end
  out:report(item and item.label or nil, err)
  if not out.text then out:print_json(error_object(err)) end
  out:quit(exit_code_of(err))
end

local function show_plan(out, plan)
  local write = writer(out)
  for _, step in ipairs(plan) do write(M.step_line(out, step)) end
  write(M.summary(plan))
end

--- `campaign plan FILE...`: the plan, printed; exit 0, or 2 when a name
-- is shared by several campaigns (conflict).
function M.plan(out, _, client, items)
  local plan = make_plan(out, client, items)
  show_plan(out, plan)
  if not out.text then print_entries(out, plan) end
  return counts(plan).conflict > 0 and EXIT.INVALID or EXIT.OK
end

-- ---------------------------------------------------------------------------
-- apply

-- Applies nothing when a name of the FILEs is shared: which of those
-- campaigns is the one declared cannot be told.
local function refuse_conflicts(out, plan)
  local names = {}
  for _, step in ipairs(plan) do
    if step.action == "conflict" then names[#names + 1] = shown_name(out, step.name) end
  end
  if not out.text then print_entries(out, plan) end
  out:say(format("%s: apply: nothing applied: several campaigns are named %s; a name is a "
    .. "campaign's identity: rename or delete all but one of each, then apply again", PROGRAM,
    concat(names, ", ")))
  return EXIT.INVALID
end

--- Whether to apply: asked on the terminal, true when the answer is y or
-- yes. --yes: not asked. Standard input not a terminal and no --yes: the
-- run ends (exit 64), since nobody can answer. (Campaigns typed on the
-- terminal as FILE -, ended with Ctrl-D, leave it open to the answer: io's
-- read clears the end of file first.)
function M.confirm(out, o)
  if o.yes then return true end
  if not out.stdin_tty() then
    out:usage_error("apply: standard input is not a terminal, so the changes cannot be "
      .. "confirmed: pass --yes to apply them without asking")
  end
  out.stderr:write("Apply these changes? [y/N] ")
  if out.stderr.flush then out.stderr:flush() end
  local answer = out.stdin:read("*l")
  if answer == nil then out.stderr:write("\n") end
  answer = answer and answer:match("^%s*(.-)%s*$"):lower()
  return answer == "y" or answer == "yes"
end

-- Client:apply with the batch options, Ctrl-C caught as for a batch.
local function carry_out(out, o, client, plan, n)
  local on_progress = out:batch_progress(o, "applying")
  local results, interrupted = out:catching_interrupt(function()
    return client:apply(plan, { concurrency = n.concurrency, on_progress = on_progress })
  end)
  if on_progress and interrupted then out:clear_line() end
  return results, interrupted
end

-- The fields a drift step left as they are.
local function left_as_is(step)
  local fields = {}
  for _, ch in ipairs(step.changes or {}) do
    if not ch.updatable then fields[#fields + 1] = ch.field end
  end
  return concat(fields, ", ")
end

-- A line per step that sent something (created, updated, failed, not
-- sent), then the summary; the exit code.
local function show_results(out, plan, results, interrupted)
  local write = writer(out)
  local n = { created = 0, updated = 0, failed = 0, unsent = 0 }
  local code, unknown = EXIT.OK, {}
  for i, step in ipairs(plan) do
    local r, line = results[i], head(out, step)
    if is_error(r) and r.kind == "cancelled" then
      n.unsent = n.unsent + 1
      write(line .. ": not sent")
    elseif is_error(r) then
      n.failed = n.failed + 1
      code = worse(code, exit_code_of(r))
      out:report(line .. ": failed", r, write)
      if r.outcome_unknown then unknown[#unknown + 1] = shown_name(out, step.name) end
    elseif writes(step) then
      local what = step.action == "create" and "created" or "updated"
      n[what] = n[what] + 1
      write(format("%s: %s%s%s", line, what, r.id ~= nil and (", id " .. id_text(r.id)) or "",
        step.action == "drift" and ("; drift left as is: " .. left_as_is(step)) or ""))
    end
  end
  local summary = format("%d created, %d updated, %d failed", n.created, n.updated, n.failed)
  if interrupted then
    write(format("interrupted: %s, %d not sent%s", summary, n.unsent, #unknown > 0
      and ("; may have been created (a new plan shows them): " .. concat(unknown, ", ")) or ""))
    return EXIT.INTERRUPTED
  end
  write("apply: " .. summary)
  return code
end

--- `campaign apply FILE...`: the plan, printed; nothing applied when a
-- name is shared (exit 2); when there is anything to change, confirmed
-- (M.confirm; exit 4 when not) and carried out, each result and a
-- summary printed.
function M.apply(out, o, client, items, n)
  local plan = make_plan(out, client, items)
  show_plan(out, plan)
  if counts(plan).conflict > 0 then return refuse_conflicts(out, plan) end
  local any = false
  for _, step in ipairs(plan) do any = any or writes(step) end
  if not any then
    writer(out)("apply: nothing to change")
    -- Unchanged and drift steps send nothing: their results, as JSON.
    if not out.text then print_entries(out, plan, client:apply(plan)) end
    return EXIT.OK
  end
  if not M.confirm(out, o) then
    if not out.text then print_entries(out, plan) end
    out:say(PROGRAM .. ": apply: not confirmed (the answer was not y or yes): nothing applied")
    return EXIT.NOT_CONFIRMED
  end
  local results, interrupted = carry_out(out, o, client, plan, n)
  local code = show_results(out, plan, results, interrupted)
  if not out.text then print_entries(out, plan, results) end
  return code
end

return M
