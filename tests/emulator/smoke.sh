#!/bin/sh
# Self-check of the provider emulator: runs smoke.lua under every installed
# Lua (one after the other, then two at once), then makes sure no emulator
# nginx is left running.
#   sh tests/emulator/smoke.sh
set -u
here=$(cd "$(dirname "$0")" && pwd)
status=0
found=""

for lua in lua5.4 lua5.3 lua5.2 lua5.1 luajit; do
    command -v "$lua" >/dev/null 2>&1 || continue
    found="$found $lua"
    echo "== $lua"
    "$lua" "$here/smoke.lua" || status=1
done

if [ -z "$found" ]; then
    echo "no Lua interpreter found" >&2
    exit 1
fi

# Two test processes with their own emulators at the same time.
first=$(echo "$found" | awk '{print $1}')
last=$(echo "$found" | awk '{print $NF}')
echo "== $first and $last in parallel"
"$first" "$here/smoke.lua" > /tmp/emu-smoke-a.$$ 2>&1 &
a=$!
"$last" "$here/smoke.lua" > /tmp/emu-smoke-b.$$ 2>&1 &
b=$!
wait $a || status=1
wait $b || status=1
cat /tmp/emu-smoke-a.$$ /tmp/emu-smoke-b.$$
rm -f /tmp/emu-smoke-a.$$ /tmp/emu-smoke-b.$$

# Exited masters may linger as zombies when init does not reap; those are
# not running, so only non-zombie ones count (hence ps, not pgrep).
# shellcheck disable=SC2009
left=$(ps -eo stat=,args= | grep 'nginx: master process' | grep 'lua-campaign-emu\.' | grep -v '^Z' || true)
if [ -n "$left" ]; then
    echo "emulator nginx still running:" >&2
    echo "$left" >&2
    status=1
fi

[ $status -eq 0 ] && echo "smoke: OK" || echo "smoke: FAILED" >&2
exit $status
