--- Starts and stops the test nginx of tests/openresty_spec.lua: Debian's
-- nginx with its Lua module, loading lua-campaign from the checkout (the
-- LuaJIT build of the C core), on 127.0.0.1 with a plain and a TLS port.
--
--   local server = require "openresty.server"
--   local srv = server.start { emu = emu }       -- the provider emulator
--   srv.port, srv.tls_port, srv:error_log()
--   srv:stop()
--
-- helpers/nginx.lua runs it: a temp prefix for every file nginx writes,
-- random free ports, a detached watchdog that stops nginx when the test
-- process is gone. Runs under Lua 5.1 to 5.4 and LuaJIT.
local socket = require "socket"
local nginx = require "helpers.nginx"
local proc = require "helpers.proc"

local M = {}

local PREFIX_NAME = "lua-campaign-openresty."

--- The repository root, from this file's path.
function M.root()
  return (proc.ROOT:gsub("/$", ""))
end

-- Inherits pid, prefix, port, stop() and error_log() from helpers.nginx.
local Server = setmetatable({}, { __index = nginx.Server })
Server.__index = Server

-- One HTTP/1.0 exchange with the server (the answer ends when the connection
-- closes). Returns status, body.
function Server:get(path)
  local c = assert(socket.connect("127.0.0.1", self.port))
  c:settimeout(5)
  c:send("GET " .. path .. " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
  local text = c:receive("*a") or ""
  c:close()
  return tonumber(text:match("^HTTP/%d%.%d (%d+)")), text:match("\r\n\r\n(.*)$")
end

-- A certificate for "localhost", trusted by the server's Lua sockets.
local function make_certificate(prefix)
  local code, out = proc.sh("cd " .. proc.shquote(prefix) .. " && openssl req -x509 -newkey ec "
    .. "-pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout key.pem -out cert.pem -days 2 "
    .. "-subj /CN=localhost -addext subjectAltName=DNS:localhost")
  if code ~= 0 then
    return nil, "openresty server: openssl could not make a certificate: " .. out
  end
  return true
end

--- Starts the server. opts.emu: a started emulator (helpers.emulator);
-- opts.workers: nginx worker processes (1).
function M.start(opts)
  local root = M.root()
  local template = assert(proc.read_file(root .. "/tests/openresty/nginx.conf.in"))
  local srv, err = nginx.start {
    name = "openresty server",
    template = template,
    vars = { ROOT = root, EMU_BASE = opts.emu.base, VAPI_KEY = opts.emu.keys.vapi,
      WORKERS = tostring(opts.workers or 1) },
    prefix_name = PREFIX_NAME,
    ports = { "PORT", "TLS_PORT" },
    -- LUA_PATH and LUA_CPATH (set by make test) would leak into nginx's ";;".
    unset_env = { "LUA_PATH", "LUA_CPATH" },
    setup = make_certificate,
    ready = function(s) return s:get("/ping") == 200 end,
    class = Server,
  }
  if not srv then error(err) end
  srv.tls_port = srv.ports[2]
  srv.root = root
  return srv
end

return M
