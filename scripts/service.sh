#!/usr/bin/env bash
# seqconv as a service on one machine: a Prefect server (127.0.0.1 unless told) on SQLite or PostgreSQL, the `cpu`
# and `gpu` work pools (type process), one worker per pool, the deployments of prefect.yaml, and the automation that
# marks a run Crashed when its heartbeats stop (flows/lost_runs.py: its host was lost).
#
#   scripts/service.sh start               # server (SQLite), pools, deployments, automation, workers
#   scripts/service.sh auth                # writes an auth string to .service/auth (mode 600) unless one is there
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
# SEQCONV_API_HOST (127.0.0.1): the address the server listens on; any other (e.g. 0.0.0.0, for GPU workers on other
# machines) needs an auth string in .service/auth first (`auth`): with one there, the server asks every client for
# it (PREFECT_SERVER_API_AUTH_STRING) and the workers, the flow runs they start and this script's own Prefect
# commands send it (PREFECT_API_AUTH_STRING). SEQCONV_UI_API_URL: where a browser finds the API (default
# http://<SEQCONV_API_HOST, or this host's name for 0.0.0.0>:<port>/api).
# SEQCONV_GPUS="0 1" starts worker-gpu0 and worker-gpu1, named gpu-<host>-0 and gpu-<host>-1, each with its own
# CUDA_VISIBLE_DEVICES and taking one run at a time (--limit 1), so each GPU trains one model and the next waits.
# More GPU machines: run `prefect worker start --pool gpu --name <host>-<gpu> --limit 1` on each, with
# PREFECT_API_URL pointing at this server, PREFECT_API_AUTH_STRING from .service/auth, and the same checkout path
# and shared data/artifacts folders (see docs/service.md).
# A GPU pool's run refuses to train where TensorFlow sees no GPU (tasks.model.device): on a host without one (a test
# machine, a CPU-only pool kept on purpose) start with SEQCONV_ALLOW_CPU_ON_GPU_POOL=1, which the workers pass on.
# `status` ends with `seqconv doctor` for this host (and the image): TensorFlow's build, CUDA, the GPUs it sees.
#
# Containers (docs/service.md, "Containers"): SEQCONV_DOCKER=1 also creates the Docker pools docker-cpu and
# docker-gpu, builds the image (Dockerfile) and deploys prefect.docker.yaml with these defaults: SEQCONV_IMAGE
# (seqconv; a name with a registry, e.g. registry.example.com/seqconv, is pushed there), SEQCONV_IMAGE_TAG (latest),
# SEQCONV_BASE_IMAGE (python:3.11-slim), SEQCONV_GPU (1: the gpu extra and every GPU of the host requested; 0: a CPU
# image, no device request), SEQCONV_SHARED (the checkout: data/ and artifacts/ under it, mounted at the same path),
# SEQCONV_DOCKER_USER (the owner of SEQCONV_SHARED as uid:gid; root is refused), and starts one Docker worker a pool.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/.venv/bin
PORT=${SEQCONV_PORT:-4200}
SERVICE_DIR=${SEQCONV_SERVICE_DIR:-$ROOT/.service}
AUTH_FILE=$SERVICE_DIR/auth
# A running server's address is remembered, so that `run` and `status` find one started with SEQCONV_API_HOST.
API_HOST=${SEQCONV_API_HOST:-$(cat "$SERVICE_DIR/server.host" 2>/dev/null || echo 127.0.0.1)}
case "$API_HOST" in
  *[!0-9a-zA-Z.-]*|"") echo "error: SEQCONV_API_HOST=$API_HOST: expected an IPv4 address or a host name" >&2; exit 2 ;;
esac
case "$API_HOST" in 0.0.0.0) CONNECT_HOST=127.0.0.1; SEEN_AS=$(hostname) ;; *) CONNECT_HOST=$API_HOST; SEEN_AS=$API_HOST ;; esac
export PREFECT_HOME=${PREFECT_HOME:-$ROOT/.prefect}
export PREFECT_API_URL=http://$CONNECT_HOST:$PORT/api
# else the UI asks port 4200 of the browser's own machine for its data, whatever PORT and host are
export PREFECT_UI_API_URL=${SEQCONV_UI_API_URL:-http://$SEEN_AS:$PORT/api}
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
DOCKER=${SEQCONV_DOCKER:-0}
case "$DOCKER" in 0|1) ;; *) echo "SEQCONV_DOCKER=$DOCKER: expected 0 or 1" >&2; exit 2 ;; esac

started() { [ -f "$SERVICE_DIR/$1.pid" ] && kill -0 "$(cat "$SERVICE_DIR/$1.pid")" 2>/dev/null; }

# --- Who may use the API: one auth string, in a file only its owner may read, given to the server and its clients.
make_auth() {
  mkdir -p "$SERVICE_DIR"
  if [ -s "$AUTH_FILE" ]; then echo "auth string kept: $AUTH_FILE (delete it and restart to change it)"; return; fi
  (umask 077; echo "seqconv:$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$AUTH_FILE.part")
  mv "$AUTH_FILE.part" "$AUTH_FILE"  # whole or absent, never half-written
  echo "auth string written: $AUTH_FILE (mode 600); clients set PREFECT_API_AUTH_STRING=\$(cat $AUTH_FILE)"
}

load_auth() {  # exports PREFECT_API_AUTH_STRING from the auth file, if there is one; refuses one others may read
  [ -s "$AUTH_FILE" ] || return 0
  local mode; mode=$(stat -c %a "$AUTH_FILE")
  if [ "${mode: -2}" != 00 ]; then
    echo "error: $AUTH_FILE is readable by others (mode $mode): chmod 600 it, or delete it and run auth again" >&2
    exit 2
  fi
  PREFECT_API_AUTH_STRING=$(cat "$AUTH_FILE")
  export PREFECT_API_AUTH_STRING
}

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

launch_server() {  # database URL or "": secrets go through the server's environment, not its command line (ps)
  (
    if [ -n "$1" ]; then export PREFECT_SERVER_DATABASE_CONNECTION_URL=$1; fi
    # the server alone is told what to ask for; the workers and the commands below send it
    if [ -n "${PREFECT_API_AUTH_STRING:-}" ]; then export PREFECT_SERVER_API_AUTH_STRING=$PREFECT_API_AUTH_STRING; fi
    launch server "$BIN/prefect" server start --host "$API_HOST" --port "$PORT"
  )
}

# --- Containers: the image and the container pools' deployments (prefect.docker.yaml), built on this host.
docker_settings() {  # exports the settings prefect.docker.yaml reads, with their defaults
  export SEQCONV_IMAGE=${SEQCONV_IMAGE:-seqconv} SEQCONV_IMAGE_TAG=${SEQCONV_IMAGE_TAG:-latest}
  export SEQCONV_BASE_IMAGE=${SEQCONV_BASE_IMAGE:-python:3.11-slim} SEQCONV_GPU=${SEQCONV_GPU:-1}
  export SEQCONV_SHARED=${SEQCONV_SHARED:-$ROOT} SEQCONV_SERVICE=$SERVICE_DIR
  export SEQCONV_ALLOW_CPU_ON_GPU_POOL=${SEQCONV_ALLOW_CPU_ON_GPU_POOL:-0}
  case "$SEQCONV_GPU" in 0|1) ;; *) echo "error: SEQCONV_GPU=$SEQCONV_GPU: expected 0 or 1" >&2; exit 2 ;; esac
  [ -d "$SEQCONV_SHARED" ] || { echo "error: SEQCONV_SHARED=$SEQCONV_SHARED: no such folder" >&2; exit 2; }
  export SEQCONV_DOCKER_USER=${SEQCONV_DOCKER_USER:-$(stat -c %u:%g "$SEQCONV_SHARED")}
  case "$SEQCONV_DOCKER_USER" in
    0|0:*|root|root:*) echo "error: the containers would run as root (SEQCONV_DOCKER_USER=$SEQCONV_DOCKER_USER, the" \
      "owner of $SEQCONV_SHARED): set SEQCONV_DOCKER_USER to the uid:gid that owns its data/ and artifacts/" >&2; exit 2 ;;
  esac
}

deploy_docker() {  # the image built from the Dockerfile, and prefect.docker.yaml's deployments
  command -v docker >/dev/null && docker info >/dev/null 2>&1 \
    || { echo "error: SEQCONV_DOCKER=1 needs a running Docker daemon (docker info fails)" >&2; exit 1; }
  docker_settings
  for pool in docker-cpu docker-gpu; do
    "$BIN/prefect" work-pool inspect "$pool" >/dev/null 2>&1 || "$BIN/prefect" work-pool create "$pool" --type docker >/dev/null
  done
  # This host's copy of the file: no push for an image without a registry (it stays in this host's daemon), no
  # device request for a CPU image (a daemon without the NVIDIA runtime refuses one).
  "$BIN/python" - "$ROOT/prefect.docker.yaml" "$SERVICE_DIR/prefect.docker.yaml" <<'PY'
import os, sys, yaml
spec = yaml.safe_load(open(sys.argv[1]))
first = os.environ["SEQCONV_IMAGE"].split("/")[0]
if "/" not in os.environ["SEQCONV_IMAGE"] or not ("." in first or ":" in first or first == "localhost"):
    spec.pop("push", None)
if os.environ["SEQCONV_GPU"] == "0":
    for deployment in spec["deployments"]:
        deployment["work_pool"]["job_variables"]["container_create_kwargs"].pop("device_requests", None)
with open(sys.argv[2] + ".part", "w") as f:
    yaml.safe_dump(spec, f, sort_keys=False)
os.replace(sys.argv[2] + ".part", sys.argv[2])
PY
  (cd "$ROOT" && "$BIN/prefect" --no-prompt deploy --prefect-file "$SERVICE_DIR/prefect.docker.yaml" --all \
      >"$SERVICE_DIR/deploy-docker.log" 2>&1) \
    || { echo "prefect deploy (containers) failed: see $SERVICE_DIR/deploy-docker.log" >&2
         tail -30 "$SERVICE_DIR/deploy-docker.log" >&2; exit 1; }
  echo "$SEQCONV_IMAGE:$SEQCONV_IMAGE_TAG" >"$SERVICE_DIR/docker.image"
  echo "image $SEQCONV_IMAGE:$SEQCONV_IMAGE_TAG built; containers run as $SEQCONV_DOCKER_USER with $SEQCONV_SHARED"
}

start() {
  if [ "$API_HOST" != 127.0.0.1 ] && [ ! -s "$AUTH_FILE" ]; then
    echo "error: SEQCONV_API_HOST=$API_HOST lets other machines reach the API, and there is no auth string in" \
      "$AUTH_FILE: run \`scripts/service.sh auth\` to write one (readable by you only), then start again" >&2
    exit 2
  fi
  make -C "$ROOT" --no-print-directory .venv/bin/.installed >/dev/null  # the project installed, as make run does
  mkdir -p "$SERVICE_DIR"
  load_auth
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
    launch_server "$url"
  else
    launch_server ""
  fi
  echo "$DB" >"$SERVICE_DIR/server.db"
  echo "$API_HOST" >"$SERVICE_DIR/server.host"
  wait_for_server
  for pool in cpu gpu; do
    "$BIN/prefect" work-pool inspect "$pool" >/dev/null 2>&1 || "$BIN/prefect" work-pool create "$pool" --type process >/dev/null
  done
  (cd "$ROOT" && "$BIN/prefect" --no-prompt deploy --all >"$SERVICE_DIR/deploy.log" 2>&1) \
    || { echo "prefect deploy failed: see $SERVICE_DIR/deploy.log" >&2; tail -30 "$SERVICE_DIR/deploy.log" >&2; exit 1; }
  (cd "$ROOT" && "$BIN/python" -m flows.lost_runs) \
    || { echo "the lost-run automation could not be created (above)" >&2; exit 1; }
  if [ "$DOCKER" = 1 ]; then
    deploy_docker
    for pool in docker-cpu docker-gpu; do
      launch "worker-$pool" bash -c "cd '$ROOT' && exec '$BIN/prefect' worker start --pool $pool --type docker"
    done
  fi
  launch worker-cpu bash -c "cd '$ROOT' && exec '$BIN/prefect' worker start --pool cpu --type process"
  if [ -z "$GPUS" ]; then
    launch worker-gpu bash -c "cd '$ROOT' && exec '$BIN/prefect' worker start --pool gpu --type process"
  fi
  for gpu in $GPUS; do  # the flow runs a worker starts inherit its environment, CUDA_VISIBLE_DEVICES included
    launch "worker-gpu$gpu" env CUDA_VISIBLE_DEVICES="$gpu" bash -c "cd '$ROOT' && exec '$BIN/prefect' worker start \
      --pool gpu --type process --name 'gpu-$(hostname)-$gpu' --limit 1"
  done
  local deployments; deployments=$("$BIN/prefect" deployment ls 2>/dev/null | grep -c '/' || true)
  echo "UI: ${PREFECT_UI_API_URL%/api}  (database $DB; deployments: $deployments registered;" \
    "auth: $([ -s "$AUTH_FILE" ] && echo "on, $AUTH_FILE" || echo off))"
}

workers() {  # the gpu workers this service started (worker-gpu, or worker-gpu0, worker-gpu1, ...), then worker-cpu
  local pidfile
  for pidfile in "$SERVICE_DIR"/worker-gpu*.pid "$SERVICE_DIR"/worker-docker-*.pid; do
    [ -f "$pidfile" ] && basename "$pidfile" .pid
  done
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
  rm -f "$SERVICE_DIR/server.host"
  if [ -f "$SERVICE_DIR/docker.image" ]; then  # the containers its Docker workers started, if any still run
    local containers; containers=$(docker ps -q --filter "label=seqconv.service=$SERVICE_DIR" 2>/dev/null || true)
    if [ -n "$containers" ]; then docker kill $containers >/dev/null 2>&1 || true; echo "containers stopped"; fi
    rm -f "$SERVICE_DIR/docker.image"
  fi
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
  echo "API: $PREFECT_API_URL (auth: $([ -s "$AUTH_FILE" ] && echo "on, $AUTH_FILE" || echo off))"
  # What each kind of worker here trains on (other hosts: run `seqconv doctor` there, or the image's below)
  echo "this host (seqconv doctor):"
  "$BIN/seqconv" doctor 2>&1 | sed 's/^/  /' || true
  if [ -f "$SERVICE_DIR/docker.image" ]; then
    local image; image=$(cat "$SERVICE_DIR/docker.image")
    local gpus=; if docker info 2>/dev/null | grep -qi 'runtimes:.*nvidia'; then gpus="--gpus all"; fi
    echo "the image $image${gpus:+ (--gpus all)}:"
    docker run --rm $gpus "$image" seqconv doctor 2>&1 | sed 's/^/  /' || true
  fi
}

case "${1:-}" in
  start) start ;;
  auth) make_auth ;;
  stop) stop ;;
  status) status ;;
  run) shift; load_auth; deployment=${1:-train-all/train-all}; shift || true
       "$BIN/prefect" deployment run "$deployment" --watch "$@" ;;
  psql) shift; PG_BIN=$(pg_bindir) || exit 1
        pg_running || { echo "postgres is not running (data $PG_DIR/data)" >&2; exit 1; }
        pg_sql prefect "$@" ;;
  pg-bindir) pg_bindir ;;  # where the PostgreSQL programs are, or how to install them (the e2e test asks)
  *) sed -n '2,29p' "$0"; exit 2 ;;
esac
