#!/usr/bin/env bash
# Make sure PostgreSQL and Redis are reachable for the test suite; print the
# DATABASE_URL / REDIS_URL to use as `export` lines (eval'd by the Makefile).
# Messages go to stderr; a non-zero exit means the suite cannot run.
#
# PostgreSQL, in order of preference: $DATABASE_URL as given; the local server on
# 127.0.0.1:5432 (a Debian cluster is started when installed but stopped); else the
# embedded pgserver (no DATABASE_URL: stitch/settings.py starts it under var/).
# Redis: $REDIS_URL as given; 127.0.0.1:6379 (redis-server started when installed).
set -u
cd "$(dirname "$0")/.."

say() { echo "services: $*" >&2; }
PY=.venv/bin/python
[ -x "$PY" ] || PY=python3

# Plain TCP probe: works without pg_isready / redis-cli installed.
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

LOCAL_PG="postgres://postgres@127.0.0.1:5432/postgres"
# A real login, not just an open port: the suite needs trust (or URL) auth to work.
pg_login() { "$PY" -c "import psycopg,sys; psycopg.connect(sys.argv[1], connect_timeout=3).close()" "$1" 2>/dev/null; }

pg_start_local() {
  command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ] || return 1
  local version
  version="$(ls /etc/postgresql | sort -V | tail -1)"
  [ -n "$version" ] || return 1
  say "starting the local PostgreSQL $version cluster"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || return 1
  for _ in $(seq 1 20); do port_open 5432 && return 0; sleep 0.5; done
  return 1
}

if [ -n "${DATABASE_URL:-}" ]; then
  echo "export DATABASE_URL='$DATABASE_URL'"
elif { port_open 5432 || pg_start_local; } && pg_login "$LOCAL_PG"; then
  echo "export DATABASE_URL='postgres://postgres@127.0.0.1:5432/stitch'"
else
  say "no usable PostgreSQL on 127.0.0.1:5432; using the embedded pgserver under var/"
  echo "unset DATABASE_URL"
fi

redis_up() {
  if command -v redis-cli >/dev/null 2>&1; then
    redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1
  else
    port_open 6379
  fi
}

if [ -n "${REDIS_URL:-}" ]; then
  echo "export TEST_REDIS_URL='$REDIS_URL'"
  exit 0
fi
if ! redis_up && command -v redis-server >/dev/null 2>&1; then
  say "starting redis-server on 127.0.0.1:6379"
  mkdir -p var/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir "$PWD/var/redis" --logfile "$PWD/var/redis/redis.log" >&2
  for _ in $(seq 1 20); do redis_up && break; sleep 0.5; done
fi
if ! redis_up; then
  say "ERROR: Redis is not reachable on 127.0.0.1:6379 and could not be started."
  say "Install it (apt-get install redis-server) or set REDIS_URL."
  exit 1
fi
echo "export TEST_REDIS_URL='redis://127.0.0.1:6379/0'"
