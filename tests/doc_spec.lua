-- make doc renders the API reference from the LDoc comments: every public
-- function with its parameters and results, the Client class, no tag left
-- as text, no warning (with the packages the deps step installs).
local proc = require "helpers.proc"

describe("make doc", function()
  local code, out, page

  setup(function()
    code, out = proc.sh("cd " .. proc.shquote(proc.ROOT) .. " && env -u MAKEFLAGS -u MAKELEVEL "
      .. "-u MFLAGS make --no-print-directory doc 2>&1")
    page = proc.read_file(proc.ROOT .. "build/doc/modules/campaign.html") or ""
  end)

  it("runs without a warning", function()
    assert.are.equal(0, code, out)
    for line in out:gmatch("[^\n]+") do
      assert.is_nil(line:lower():find("warning", 1, true), line)
      assert.is_nil(line:find("not found", 1, true), line)
    end
  end)

  it("renders the Client class and every public function, with parameters and results", function()
    assert.truthy(page:find("Class Client", 1, true), "no Client class")
    for _, name in ipairs { "Client:create(fields[, opts])", "Client:update(id, fields[, opts])",
      "Client:get(id[, opts])", "Client:list([query[, opts]])", "Client:delete(id[, opts])",
      "Client:start(id[, opts])", "Client:stop(id[, opts])",
      "Client:attach_agent(campaign_id[, fields[, opts]])", "Client:prepare(op[, fields[, id]])",
      "Client:create_many(list[, opts])", "Client:update_many(list[, opts])", "Client:close()",
      "client(opts)", "create(opts, fields[, call_opts])",
      "update(opts, id, fields[, call_opts])", "is_error(value)", "assert(v[, err])",
      "providers()" } do
      assert.truthy(page:find("<strong>" .. name .. "</strong>", 1, true), name)
    end
    assert.truthy(page:find("Parameters:", 1, true))
    assert.truthy(page:find("Returns:", 1, true))
  end)

  it("leaves no tag as text, in any page", function()
    local p = io.popen("cat " .. proc.shquote(proc.ROOT .. "build/doc/modules") .. "/*.html")
    local all = p:read("*a")
    p:close()
    for _, tag in ipairs { "@return", "@param", "@tparam", "@treturn", "@function", "@type",
      "@section", "@module" } do
      assert.is_nil(all:find(tag, 1, true), tag)
    end
  end)
end)
