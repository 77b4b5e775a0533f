rockspec_format = "3.0"
package = "campaign"
version = "scm-1"
source = {
   url = "git+https://github.com/lua-campaign/lua-campaign.git",
}
description = {
   summary = "Voice-AI calling campaigns on Atlas, Autocalls.ai, Vapi and Smallest AI Atoms",
   detailed = [[
Create and manage calling campaigns from Lua. A C core checks each table
against every rule the provider documents, reports every problem with its
field path, builds the JSON with lua-cjson and sends it with libcurl.
]],
   license = "MIT",
}
dependencies = {
   "lua >= 5.1, < 5.5",
   "lua-cjson",    -- decodes the providers' answers
   "dkjson",       -- the command-line tool's output only (campaign.cli)
}
external_dependencies = {
   CURL = { header = "curl/curl.h", library = "curl" },
}
build = {
   type = "builtin",
   modules = {
      ["campaign.core"] = {
         sources = {
            "src/core.c", "src/redact.c", "src/http.c", "src/message.c", "src/transfer.c",
            "src/encode.c", "src/validate.c", "src/rules.c", "src/json.c",
            "src/numbers.c", "src/report.c", "src/write.c", "src/formats.c", "src/text.c",
            "src/hints.c",
            "src/provider_atlas.c", "src/provider_autocalls.c",
            "src/provider_smallest.c", "src/provider_vapi.c",
         },
         defines = { "_POSIX_C_SOURCE=200809L" },
         libraries = { "curl" },
         incdirs = { "$(CURL_INCDIR)" },
         libdirs = { "$(CURL_LIBDIR)" },
      },
      ["campaign"] = "lua/campaign/init.lua",
      ["campaign.providers"] = "lua/campaign/providers.lua",
      ["campaign.providers.vapi"] = "lua/campaign/providers/vapi.lua",
      ["campaign.providers.smallest"] = "lua/campaign/providers/smallest.lua",
      ["campaign.providers.autocalls"] = "lua/campaign/providers/autocalls.lua",
      ["campaign.providers.atlas"] = "lua/campaign/providers/atlas.lua",
      ["campaign.atlas"] = "lua/campaign/atlas.lua",
      ["campaign.templates"] = "lua/campaign/templates.lua",
      ["campaign.windows"] = "lua/campaign/windows.lua",
      ["campaign.openresty"] = "lua/campaign/openresty.lua",
      ["campaign.pace"] = "lua/campaign/pace.lua",
      ["campaign.errors"] = "lua/campaign/errors.lua",
      ["campaign.redact"] = "lua/campaign/redact.lua",
      ["campaign.class"] = "lua/campaign/class.lua",
      ["campaign.options"] = "lua/campaign/options.lua",
      ["campaign.request"] = "lua/campaign/request.lua",
      ["campaign.send"] = "lua/campaign/send.lua",
      ["campaign.batch"] = "lua/campaign/batch.lua",
      ["campaign.code"] = "lua/campaign/code.lua",
      ["campaign.cli"] = "lua/campaign/cli.lua",
      ["campaign.cli.args"] = "lua/campaign/cli/args.lua",
      ["campaign.cli.input"] = "lua/campaign/cli/input.lua",
      ["campaign.cli.output"] = "lua/campaign/cli/output.lua",
      ["campaign.cli.plan"] = "lua/campaign/cli/plan.lua",
      ["campaign.cli.query"] = "lua/campaign/cli/query.lua",
   },
   install = {
      bin = { campaign = "bin/campaign" },
   },
}
test = {
   type = "busted",
}
