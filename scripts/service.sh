#!/usr/bin/env bash
# seqconv as a service on one machine: a Prefect server (127.0.0.1 only) on SQLite or PostgreSQL, the `cpu` and
# `gpu` work pools (type process), one worker per pool, and the deployments of prefect.yaml.
#
#   scripts/service.sh start               # server (SQLite), pools, workers, `prefect deploy --all`
#   DB=postgres scripts/service.sh start   # the same on a private PostgreSQL cluster that this script starts
#   scripts/service.sh run [DEPLOYMENT] [prefect deployment run options...]   # default train-all/train-all, --watch
#   scripts/service.sh status | stop       # stop: the workers, the server, then the PostgreSQL cluster if it runs
#   scripts/service.sh psql [psql options...]   # psql on the private cluster's `prefect` database
#
# Settings (environment): DB (sqlite: zero setup, the default; postgres: for several workers, without SQLite's
# `database is locked`), SEQCONV_PORT (4200), SEQCONV_SERVICE_DIR (.service: pids and logs), PREFECT_HOME (.prefect
# in the checkout: the SQLite database and cached results), for the workers SEQCONV_MIRROR and SEQCONV_JENA_FILES,
# SEQCONV_GPUS (e.g. "0 1": one gpu worker per listed GPU instead of one for all, see below), and for DB=postgres:
# SEQCONV_PG_DIR (.service/postgres: the cluster, its log, port and password), SEQCONV_PG_PORT
# (default: a free port, chosen at first start and kept), SEQCONV_PG_BIN (the folder holding initdb and pg_ctl),
# SEQCONV_PG_OS_USER (postgres: the cluster's owner when this runs as root, since PostgreSQL refuses root).
# SEQCONV_GPUS="0 1" starts worker-gpu0 and worker-gpu1, named gpu-<host>-0 and gpu-<host>-1, each with its own
# CUDA_VISIBLE_DEVICES and taking one run at a time (--limit 1), so each GPU trains one model and the next waits.
# More GPU machines: run `prefect worker start --pool gpu --name <host>-<gpu> --limit 1` on each, with
# PREFECT_API_URL pointing at this server and the same checkout path and shared data/artifacts folders (see docs/service.md).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/.venv/bin
PORT=${SEQCONV_PORT:-4200}
SERVICE_DIR=${SEQCONV_SERVICE_DIR:-$ROOT/.service}
export PREFECT_HOME=${PREFECT_HOME:-$ROOT/.prefect}
export PREFECT_API_URL=http://127.0.0.1:$PORT/api
export PREFECT_UI_API_URL=$PREFECT_API_URL  # else the UI asks port 4200 for its data, whatever PORT is
export PREFECT_SERVER_ANALYTICS_ENABLED=false
DB=${DB:-sqlite}
GPUS=${SEQCONV_GPUS:-}  # empty: one gpu worker, seeing every GPU, with no limit on concurrent runs
for gpu in $GPUS; do
  case "$gpu" in *[!0-9]*) echo "SEQCONV_GPUS=$GPUS: expected GPU numbers, e.g. \"0 1\"" >&2; exit 2 ;; esac
done
case "$DB" in sqlite|postgres) ;; *) echo "DB=$DB: expected sqlite or postgres" >&2; exit 2 ;; esac
# The cluster's folder is remembered, so that `stop` and `status` find one started with SEQCONV_PG_DIR elsewhere.
PG_DIR=${SEQCONV_PG_DIR:-$(cat "$SERVICE_DIR/postgres.dir" 2>/dev/null || echo "$SERVICE_DIR/postgres")}
PG_OWNER=${SEQCONV_PG_OS_USER:-postgres}

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

# --- PostgreSQL: a private cluster, run with initdb and pg_ctl on its own folder (not Debian's pg_createcluster and
# pg_ctlcluster, whose clusters are the machine's, configured in /etc), listening on 127.0.0.1 only, with a password.
pg_bindir() {  # prints the folder holding initdb and pg_ctl, or says how to install them
  local initdb=${SEQCONV_PG_BIN:+$SEQCONV_PG_BIN/initdb}
  [ -n "$initdb" ] || initdb=$(command -v initdb || true)
  # Debian keeps the server programs off PATH, in one folder per major version: take the newest.
  [ -n "$initdb" ] || initdb=$(ls -1d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$initdb" ] || [ ! -x "$initdb" ] || [ ! -x "$(dirname "$(readlink -f "$initdb")")/pg_ctl" ]; then
    echo "DB=postgres needs the PostgreSQL server programs (initdb, pg_ctl):" \
      "not found${SEQCONV_PG_BIN:+ in SEQCONV_PG_BIN=$SEQCONV_PG_BIN}." >&2
    echo "Install Debian's package:  sudo apt-get install -y postgresql   (or set SEQCONV_PG_BIN to their folder)" >&2
    return 1
  fi
  dirname "$(readlink -f "$initdb")"
}

as_owner() {  # runs a PostgreSQL program as the cluster's owner, from a folder that owner may enter
  if [ "$(id -u)" = 0 ]; then (cd / && runuser -u "$PG_OWNER" -- "$@"); else (cd / && "$@"); fi
}

pg_running() {
  [ -f "$PG_DIR/data/postmaster.pid" ] && as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1
}

pg_sql() {  # database, psql options...: as the cluster's superuser `prefect`, over TCP
  local db=$1; shift
  PGPASSWORD=$(cat "$PG_DIR/password") "$PG_BIN/psql" -h 127.0.0.1 -p "$(cat "$PG_DIR/port")" -U prefect -d "$db" "$@"
}

free_port() {  # prints the port given if it is free on 127.0.0.1 (0: none given), else a free one
  "$BIN/python" -c '
import socket, sys
for port in (int(sys.argv[1]), 0):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        print(s.getsockname()[1])
        break' "$1"
}

pg_start() {
  PG_BIN=$(pg_bindir) || exit 1
  if [ "$(id -u)" = 0 ] && ! id -u "$PG_OWNER" >/dev/null 2>&1; then
    echo "PostgreSQL refuses to run as root, and user $PG_OWNER does not exist: set SEQCONV_PG_OS_USER" >&2; exit 1
  fi
  mkdir -p "$PG_DIR"
  echo "$PG_DIR" >"$SERVICE_DIR/postgres.dir"
  if [ "$(id -u)" = 0 ]; then chown "$PG_OWNER:" "$PG_DIR"; fi
  chmod 700 "$PG_DIR"
  if ! as_owner test -w "$PG_DIR"; then
    echo "$PG_OWNER cannot write $PG_DIR (a folder above it private to root?): set SEQCONV_PG_DIR elsewhere" >&2
    exit 1
  fi
  if [ ! -f "$PG_DIR/data/PG_VERSION" ]; then
    # One password per cluster, in a file only its owner (and root) may read; only the server is given it.
    (umask 077; head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$PG_DIR/password")
    if [ "$(id -u)" = 0 ]; then chown "$PG_OWNER:" "$PG_DIR/password"; fi
    as_owner "$PG_BIN/initdb" -D "$PG_DIR/data" -U prefect --pwfile="$PG_DIR/password" --auth=scram-sha-256 \
        -E UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 \
      || { echo "initdb failed: see $PG_DIR/initdb.log" >&2; tail -20 "$PG_DIR/initdb.log" >&2; exit 1; }
  fi
  if pg_running; then
    echo "postgres already running (pid $(head -n 1 "$PG_DIR/data/postmaster.pid"), 127.0.0.1:$(cat "$PG_DIR/port"))"
  else
    local port; port=$(free_port "${SEQCONV_PG_PORT:-$(cat "$PG_DIR/port" 2>/dev/null || echo 0)}")
    if [ -n "${SEQCONV_PG_PORT:-}" ] && [ "$port" != "$SEQCONV_PG_PORT" ]; then
      echo "SEQCONV_PG_PORT=$SEQCONV_PG_PORT: something else listens there" >&2; exit 1
    fi
    echo "$port" >"$PG_DIR/port"
    # TCP on 127.0.0.1 only and no Unix socket, so nothing meets the machine's own cluster in /run/postgresql.
    as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w -t 120 \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=''" start >/dev/null \
      || { echo "postgres did not start: see $PG_DIR/postgres.log" >&2; tail -20 "$PG_DIR/postgres.log" >&2; exit 1; }
    echo "postgres started (pid $(head -n 1 "$PG_DIR/data/postmaster.pid"), 127.0.0.1:$port, log $PG_DIR/postgres.log)"
  fi
  head -n 1 "$PG_DIR/data/postmaster.pid" >"$SERVICE_DIR/postgres.pid"  # pg_ctl makes it a session leader
  if [ "$(pg_sql postgres -tAc "SELECT count(*) FROM pg_database WHERE datname = 'prefect'")" = 0 ]; then
    pg_sql postgres -qc "CREATE DATABASE prefect"
  fi
}

pg_stop() {
  if [ -f "$PG_DIR/data/PG_VERSION" ] && PG_BIN=$(pg_bindir 2>/dev/null) && pg_running; then
    as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 60 stop >/dev/null && echo "postgres stopped"
  fi
  rm -f "$SERVICE_DIR/postgres.pid"
}

start() {
  make -C "$ROOT" --no-print-directory .venv/bin/.installed >/dev/null  # the project installed, as make run does
  mkdir -p "$SERVICE_DIR"
  local running_on; running_on=$(cat "$SERVICE_DIR/server.db" 2>/dev/null || echo sqlite)
  if started server && [ "$running_on" != "$DB" ]; then
    echo "the server already runs on $running_on, not DB=$DB: stop it first" >&2; exit 1
  fi
  if [ "$DB" = postgres ]; then
    pg_start
    # Only the server is given the database's address and password: not the workers, nor the flow runs they start.
    # PREFECT_SERVER_DATABASE_CONNECTION_URL is Prefect 3's name; PREFECT_API_DATABASE_CONNECTION_URL, in its docs'
    # examples, is an alias that the server name outranks, so the server name can't be overridden by a stray alias.
    local url="postgresql+asyncpg://prefect:$(cat "$PG_DIR/password")@127.0.0.1:$(cat "$PG_DIR/port")/prefect"
    launch server env PREFECT_SERVER_DATABASE_CONNECTION_URL="$url" \
      "$BIN/prefect" server start --host 127.0.0.1 --port "$PORT"
  else
    launch server "$BIN/prefect" server start --host 127.0.0.1 --port "$PORT"
  fi
  echo "$DB" >"$SERVICE_DIR/server.db"
  wait_for_server
  for pool in cpu gpu; do
    "$BIN/prefect" work-pool inspect "$pool" >/dev/null 2>&1 || "$BIN/prefect" work-pool create "$pool" --type process >/dev/null
  done
  (cd "$ROOT" && "$BIN/prefect" --no-prompt deploy --all >"$SERVICE_DIR/deploy.log" 2>&1) \
    || { echo "prefect deploy failed: see $SERVICE_DIR/deploy.log" >&2; tail -30 "$SERVICE_DIR/deploy.log" >&2; exit 1; }
  launch worker-cpu bash -c "cd '$ROOT' && exec '$BIN/prefect' worker start --pool cpu --type process"
  if [ -z "$GPUS" ]; then
    launch worker-gpu bash -c "cd '$ROOT' && exec '$BIN/prefect' worker start --pool gpu --type process"
  fi
  for gpu in $GPUS; do  # the flow runs a worker starts inherit its environment, CUDA_VISIBLE_DEVICES included
    launch "worker-gpu$gpu" env CUDA_VISIBLE_DEVICES="$gpu" bash -c "cd '$ROOT' && exec '$BIN/prefect' worker start \
      --pool gpu --type process --name 'gpu-$(hostname)-$gpu' --limit 1"
  done
  local deployments; deployments=$("$BIN/prefect" deployment ls 2>/dev/null | grep -c '/' || true)
  echo "UI: http://127.0.0.1:$PORT  (database $DB; deployments: $deployments registered)"
}

workers() {  # the gpu workers this service started (worker-gpu, or worker-gpu0, worker-gpu1, ...), then worker-cpu
  local pidfile
  for pidfile in "$SERVICE_DIR"/worker-gpu*.pid; do [ -f "$pidfile" ] && basename "$pidfile" .pid; done
  echo worker-cpu
}

stop() {
  for name in $(workers) server; do
    if started "$name"; then
      local pid; pid=$(cat "$SERVICE_DIR/$name.pid")
      kill -TERM -- "-$pid" 2>/dev/null || true
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -KILL -- "-$pid" 2>/dev/null || true
      echo "$name stopped"
    fi
    rm -f "$SERVICE_DIR/$name.pid"
  done
  pg_stop  # last: the server writes to it until it stops
}

status() {
  for name in server $(workers); do
    if started "$name"; then echo "$name: running (pid $(cat "$SERVICE_DIR/$name.pid"))"; else echo "$name: stopped"; fi
  done
  if [ -f "$PG_DIR/data/PG_VERSION" ]; then
    if PG_BIN=$(pg_bindir 2>/dev/null) && pg_running; then
      echo "postgres: running (pid $(head -n 1 "$PG_DIR/data/postmaster.pid"), 127.0.0.1:$(cat "$PG_DIR/port")," \
        "data $PG_DIR/data)"
    else
      echo "postgres: stopped (data $PG_DIR/data)"
    fi
  fi
  if started server; then
    case "$(cat "$SERVICE_DIR/server.db" 2>/dev/null)" in
      postgres) echo "database: postgres (127.0.0.1:$(cat "$PG_DIR/port")/prefect)" ;;
      *) echo "database: sqlite ($PREFECT_HOME/prefect.db)" ;;
    esac
  fi
  echo "API: $PREFECT_API_URL"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  run) shift; deployment=${1:-train-all/train-all}; shift || true
       "$BIN/prefect" deployment run "$deployment" --watch "$@" ;;
  psql) shift; PG_BIN=$(pg_bindir) || exit 1
        pg_running || { echo "postgres is not running (data $PG_DIR/data)" >&2; exit 1; }
        pg_sql prefect "$@" ;;
  pg-bindir) pg_bindir ;;  # where the PostgreSQL programs are, or how to install them (the e2e test asks)
  *) sed -n '2,21p' "$0"; exit 2 ;;
esac
