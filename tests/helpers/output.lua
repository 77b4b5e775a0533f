-- busted output: the usual terminal report, then one line the CI reads,
-- "N passed, N failed". A pending (skipped) test is never counted as passed.
return function(options)
  local busted = require "busted"
  local handler = require("busted.outputHandlers.utfTerminal")(options)
  local subscribe = handler.subscribe
  handler.subscribe = function(self, opts)
    subscribe(self, opts)
    busted.subscribe({ "suite", "end" }, function()
      local failed = handler.failuresCount + handler.errorsCount + handler.pendingsCount
      if handler.pendingsCount > 0 then
        print(string.format("%d pending tests counted as failed", handler.pendingsCount))
      end
      print(string.format("%d passed, %d failed", handler.successesCount, failed))
      io.stdout:flush()
      if handler.pendingsCount > 0 then os.exit(1) end
      return nil, true
    end)
  end
  return handler
end
