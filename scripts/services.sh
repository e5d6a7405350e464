#!/usr/bin/env bash
# Make sure PostgreSQL and Redis are reachable for the test suite; print the
# DATABASE_URL / REDIS_URL to use as `export` lines (eval'd by the Makefile).
# Order of preference for PostgreSQL: $DATABASE_URL as given; the local cluster on
# 127.0.0.1:5432 (started when installed but stopped); else the embedded pgserver
# (no DATABASE_URL: stitch/settings.py starts it under var/).
set -u

say() { echo "services: $*" >&2; }

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

if [ -n "${DATABASE_URL:-}" ]; then
  echo "export DATABASE_URL='$DATABASE_URL'"
elif command -v pg_isready >/dev/null 2>&1 && { pg_up || {
  [ -d /etc/postgresql ] && say "starting the local PostgreSQL cluster" &&
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start >&2 &&
    sleep 1 && pg_up; }; }; then
  echo "export DATABASE_URL='postgres://postgres@127.0.0.1:5432/stitch'"
else
  say "no PostgreSQL on 127.0.0.1:5432; using the embedded pgserver under var/"
  echo "unset DATABASE_URL"
fi

redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; }
if [ -n "${REDIS_URL:-}" ]; then
  echo "export TEST_REDIS_URL='$REDIS_URL'"
else
  if ! redis_up; then
    if command -v redis-server >/dev/null 2>&1; then
      say "starting redis-server on 127.0.0.1:6379"
      mkdir -p /var/lib/redis /var/log/redis 2>/dev/null
      redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/ci.log >&2
      for _ in 1 2 3 4 5 6 7 8 9 10; do redis_up && break; sleep 0.5; done
    fi
  fi
  if ! redis_up; then
    say "ERROR: Redis is not reachable on 127.0.0.1:6379 and could not be started."
    say "Install it (apt-get install redis-server) or set REDIS_URL."
    exit 1
  fi
  echo "export TEST_REDIS_URL='redis://127.0.0.1:6379/0'"
fi
