#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 15 with PostGIS on 127.0.0.1:PORT (default
# 55432) in a fresh directory, trusting local connections; prints
#   export BACINO_TEST_POSTGRES=postgres://postgres@127.0.0.1:PORT/postgres
#   export BACINO_PG_DIR=DIR
# for `eval`. Stop it with tests/postgres/stop.sh. As root it runs the server
# as the `postgres` user (initdb refuses root). Needs Debian's postgresql-15
# and postgresql-15-postgis-3.
set -euo pipefail
# su keeps the working directory, which the postgres user may not enter.
cd /
port=${1:-55432}
bin=/usr/lib/postgresql/15/bin
[ -x "$bin/initdb" ] || { echo "no $bin/initdb: apt-get install postgresql-15 postgresql-15-postgis-3" >&2; exit 1; }
dir=$(mktemp -d /tmp/bacino-pg.XXXXXX)
as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$dir"
as_pg "$bin/initdb -D $dir/data -A trust -U postgres" >/dev/null
as_pg "$bin/pg_ctl -D $dir/data -o '-k $dir -p $port -c listen_addresses=127.0.0.1 -c fsync=on' -l $dir/log -w start" >/dev/null
echo "export BACINO_TEST_POSTGRES=postgres://postgres@127.0.0.1:$port/postgres"
echo "export BACINO_PG_DIR=$dir"
