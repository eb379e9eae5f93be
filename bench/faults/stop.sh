#!/usr/bin/env bash
# Stop what start.sh started.
cd "$(dirname "$0")/../.."
for name in web worker simulator; do
  [ -f "instance/drill/$name.pid" ] && kill "$(cat "instance/drill/$name.pid")" 2>/dev/null
done
pkill -f "flask worker" 2>/dev/null
redis-cli -p 6380 shutdown nosave 2>/dev/null || true
echo stopped
