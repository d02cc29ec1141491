#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster on a Unix socket for the store's PostgreSQL tests and
# print the SQLAlchemy URL to use. Prints nothing (and the tests skip PostgreSQL) if no server
# can be had. Usage: eval "$(bash .ci/postgres.sh start)"; ...; bash .ci/postgres.sh stop
set -uo pipefail
DIR=${BENCH_PG_DIR:-/tmp/bench-ci-pg}
PORT=${BENCH_PG_PORT:-55439}
find_bin() {
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && { echo "$d"; return 0; }; done
  command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
  return 1
}
case "${1:-start}" in
start)
  BIN=$(find_bin) || {
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >/dev/null 2>&1
    fi
    BIN=$(find_bin) || { echo "postgres: no server available, PostgreSQL tests will skip" >&2; exit 0; }
  }
  RUN=()
  if [ "$(id -u)" = 0 ]; then  # the server refuses to run as root
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres >/dev/null 2>&1
    RUN=(runuser -u postgres --)
  fi
  rm -rf "$DIR" && mkdir -p "$DIR/data" "$DIR/sock"
  [ "$(id -u)" = 0 ] && chown -R postgres "$DIR"
  "${RUN[@]}" "$BIN/initdb" -D "$DIR/data" -U bench --auth=trust >/dev/null 2>&1 \
    || { echo "postgres: initdb failed, PostgreSQL tests will skip" >&2; exit 0; }
  "${RUN[@]}" "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w -t 60 \
    -o "-k $DIR/sock -p $PORT -c listen_addresses=''" start >/dev/null 2>&1 \
    || { echo "postgres: server did not start, PostgreSQL tests will skip" >&2; exit 0; }
  echo "export BENCH_TEST_PG_URL='postgresql+psycopg://bench@/postgres?host=$DIR/sock&port=$PORT'"
  ;;
stop)
  BIN=$(find_bin) || exit 0
  RUN=()
  [ "$(id -u)" = 0 ] && RUN=(runuser -u postgres --)
  [ -d "$DIR/data" ] && "${RUN[@]}" "$BIN/pg_ctl" -D "$DIR/data" -m fast stop >/dev/null 2>&1
  rm -rf "$DIR"
  ;;
esac
