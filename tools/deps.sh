#!/bin/sh
# The Debian packages that building, testing, the demo and make bench need
# (wrk drives the nginx benchmark).
#   sh tools/deps.sh          install the missing ones (as root)
#   sh tools/deps.sh --list   print them all
# LUA_VERSION picks the Lua: 5.1, 5.2, 5.3, 5.4 (default), jit, or "all".
#
# LuaJIT is OpenResty's branch: luajit2 and libluajit2-5.1-dev, the ones the
# nginx Lua module (libnginx-mod-http-lua) is linked with. Debian's other
# LuaJIT (luajit, libluajit-5.1-dev) conflicts with it: installing it would
# remove the nginx module the tests need. libluajit2-5.1-dev is always in
# the list: tests/openresty_spec.lua builds the LuaJIT core that nginx loads.
set -e
LUA_VERSION=${LUA_VERSION:-5.4}

lua_pkgs() {
  case "$1" in
    jit) echo "luajit2 libluajit2-5.1-dev" ;;
    5.1) echo "lua5.1 liblua5.1-0-dev" ;;
    5.2|5.3|5.4) echo "lua$1 liblua$1-dev" ;;
    *)
      echo "tools/deps.sh: unknown LUA_VERSION '$1' (5.1, 5.2, 5.3, 5.4, jit or all)" >&2
      exit 2
      ;;
  esac
}

if [ "$LUA_VERSION" = all ]; then
  LUA_PKGS=""
  for v in 5.1 5.2 5.3 5.4 jit; do LUA_PKGS="$LUA_PKGS $(lua_pkgs $v)"; done
else
  LUA_PKGS=$(lua_pkgs "$LUA_VERSION")
fi
PKGS="gcc make pkg-config libcurl4-openssl-dev lua-cjson lua-busted lua-socket
nginx libnginx-mod-http-lua libluajit2-5.1-dev openssl ca-certificates curl python3
python3-jsonschema valgrind cppcheck tzdata lua-check luarocks lua-ldoc lua-markdown lua-dkjson jq
clang libclang-rt-14-dev wrk $LUA_PKGS"

if [ "${1:-}" = "--list" ]; then
  echo $PKGS
  exit 0
fi
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "missing Debian packages:$missing" >&2
  echo "install them as root: apt-get install -y$missing" >&2
  exit 1
fi
echo "installing Debian packages:$missing"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
