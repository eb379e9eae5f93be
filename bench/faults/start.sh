#!/usr/bin/env bash
# The fault drill's processes: what `make run` starts, each on its own (no honcho), so one can be
# stopped or killed while the others go on. Logs and pids in instance/drill/. Stop with stop.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
export HOTLINE_ENV=development WEB_PORT=5000 SIM_PORT=5001 HOTLINE_URL=http://127.0.0.1:5000
export REDIS_URL=redis://127.0.0.1:6380/0
mkdir -p instance/drill
# Later commands (flask worker started again by drill.py) read the same settings from .env.
printf "HOTLINE_ENV=development\nREDIS_URL=%s\n" "$REDIS_URL" > .env
bin=$PWD/.venv/bin
redis-server --port 6380 --bind 127.0.0.1 --save "" --appendonly no --dir "$PWD/instance" \
  --daemonize yes --pidfile "$PWD/instance/redis.pid" --logfile "$PWD/instance/redis.log"
for _ in $(seq 50); do redis-cli -p 6380 ping >/dev/null 2>&1 && break; sleep 0.1; done
$bin/flask db upgrade >/dev/null
$bin/flask seed --demo >/dev/null
start() { name=$1; shift; nohup "$@" >"instance/drill/$name.log" 2>&1 & echo $! >"instance/drill/$name.pid"; }
start web $bin/gunicorn --bind 127.0.0.1:5000 --workers 2 --access-logfile - \
  --access-logformat '%(h)s "%(m)s %(U)s" %(s)s %(M)sms' 'hotline:create_app()'
start worker $bin/flask worker
start simulator $bin/flask --app simulator:create_app run --port 5001
sleep 3
echo "started: web :5000, worker, simulator :5001, redis :6380 (logs in instance/drill/)"
