#!/usr/bin/env bash
# seqconv as a service on one machine: a Prefect server (SQLite, 127.0.0.1 only), the `cpu` and `gpu` work pools
# (type process), one worker per pool, and the deployments of prefect.yaml.
#
#   scripts/service.sh start            # server, pools, workers, `prefect deploy --all`
#   scripts/service.sh run [DEPLOYMENT] [prefect deployment run options...]   # default train-all/train-all, --watch
#   scripts/service.sh status | stop
#
# Settings (environment): SEQCONV_PORT (4200), SEQCONV_SERVICE_DIR (.service: pids and logs), PREFECT_HOME
# (.prefect in the checkout: the server's database and cached results), and for the workers SEQCONV_MIRROR,
# SEQCONV_JENA_FILES. More GPU machines: run `prefect worker start --pool gpu` on each, with PREFECT_API_URL
# pointing at this server and the same checkout path and shared data/artifacts folders (see README).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/.venv/bin
PORT=${SEQCONV_PORT:-4200}
SERVICE_DIR=${SEQCONV_SERVICE_DIR:-$ROOT/.service}
export PREFECT_HOME=${PREFECT_HOME:-$ROOT/.prefect}
export PREFECT_API_URL=http://127.0.0.1:$PORT/api
export PREFECT_UI_API_URL=$PREFECT_API_URL  # else the UI asks port 4200 for its data, whatever PORT is
export PREFECT_SERVER_ANALYTICS_ENABLED=false
mkdir -p "$SERVICE_DIR"

started() { [ -f "$SERVICE_DIR/$1.pid" ] && kill -0 "$(cat "$SERVICE_DIR/$1.pid")" 2>/dev/null; }

launch() {  # name, command...: a background process in its own session, so `stop` can end its whole group
  local name=$1; shift
  if started "$name"; then echo "$name already running (pid $(cat "$SERVICE_DIR/$name.pid"))"; return; fi
  setsid "$@" >"$SERVICE_DIR/$name.log" 2>&1 < /dev/null &
  echo $! >"$SERVICE_DIR/$name.pid"
  echo "$name started (pid $!, log $SERVICE_DIR/$name.log)"
}

wait_for_server() {
  for _ in $(seq 1 180); do
    if "$BIN/python" -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=2)" \
        "$PREFECT_API_URL/health" 2>/dev/null; then return 0; fi
    started server || { echo "server exited: see $SERVICE_DIR/server.log" >&2; tail -20 "$SERVICE_DIR/server.log" >&2; exit 1; }
    sleep 1
  done
  echo "server did not answer at $PREFECT_API_URL within 180 s" >&2; exit 1
}

start() {
  make -C "$ROOT" --no-print-directory .venv/bin/.installed >/dev/null  # the project installed, as make run does
  launch server "$BIN/prefect" server start --host 127.0.0.1 --port "$PORT"
  wait_for_server
  for pool in cpu gpu; do
    "$BIN/prefect" work-pool inspect "$pool" >/dev/null 2>&1 || "$BIN/prefect" work-pool create "$pool" --type process >/dev/null
  done
  (cd "$ROOT" && "$BIN/prefect" --no-prompt deploy --all >"$SERVICE_DIR/deploy.log" 2>&1) \
    || { echo "prefect deploy failed: see $SERVICE_DIR/deploy.log" >&2; tail -30 "$SERVICE_DIR/deploy.log" >&2; exit 1; }
  launch worker-cpu bash -c "cd '$ROOT' && exec '$BIN/prefect' worker start --pool cpu --type process"
  launch worker-gpu bash -c "cd '$ROOT' && exec '$BIN/prefect' worker start --pool gpu --type process"
  echo "UI: http://127.0.0.1:$PORT  (deployments: $("$BIN/prefect" deployment ls 2>/dev/null | grep -c '/' || true) registered)"
}

stop() {
  for name in worker-gpu worker-cpu server; do
    if started "$name"; then
      local pid; pid=$(cat "$SERVICE_DIR/$name.pid")
      kill -TERM -- "-$pid" 2>/dev/null || true
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -KILL -- "-$pid" 2>/dev/null || true
      echo "$name stopped"
    fi
    rm -f "$SERVICE_DIR/$name.pid"
  done
}

status() {
  for name in server worker-cpu worker-gpu; do
    if started "$name"; then echo "$name: running (pid $(cat "$SERVICE_DIR/$name.pid"))"; else echo "$name: stopped"; fi
  done
  echo "API: $PREFECT_API_URL"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  run) shift; deployment=${1:-train-all/train-all}; shift || true
       "$BIN/prefect" deployment run "$deployment" --watch "$@" ;;
  *) sed -n '2,12p' "$0"; exit 2 ;;
esac
