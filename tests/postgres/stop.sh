#!/usr/bin/env bash
# Stops and removes the server tests/postgres/start.sh started.
set -euo pipefail
# su keeps the working directory, which the postgres user may not enter.
cd /
dir=${BACINO_PG_DIR:?run eval "$(tests/postgres/start.sh)" first}
bin=/usr/lib/postgresql/15/bin
if [ "$(id -u)" = 0 ]; then
  su postgres -s /bin/bash -c "$bin/pg_ctl -D $dir/data -m fast -w stop" >/dev/null || true
else
  "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
fi
rm -rf "$dir"
