#!/bin/sh
# The Debian packages that building, testing and the demo need.
#   sh tools/deps.sh          install the missing ones (as root)
#   sh tools/deps.sh --list   print them all
set -e
LUA_VERSION=${LUA_VERSION:-5.4}
case "$LUA_VERSION" in
  jit) LUA_PKGS="luajit libluajit2-5.1-dev" ;;
  *) LUA_PKGS="lua$LUA_VERSION liblua$LUA_VERSION-dev" ;;
esac
PKGS="gcc make pkg-config libcurl4-openssl-dev lua-cjson lua-busted lua-socket
nginx libnginx-mod-http-lua curl python3 python3-jsonschema valgrind tzdata lua-check
$LUA_PKGS"

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
