#!/usr/bin/env bash
# The typed profile end to end through the CLI, as a user runs it: a table
# of every type (pg.sql, mysql.sql) in a scratch database on the machine's
# PostgreSQL and MariaDB, exported with --type-profile typed, and every file
# printed by parquet-wasm (arrow-rs), a reader that is not Go: its schema
# (the Arrow type each column reads as) and every row. The scratch databases
# are dropped at the end. Needs `make tools` (parquet-wasm).
#
#   bash bench/typed/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/usr/local/go/bin:$PATH"
db=snapexport_typed_check
work=$(mktemp -d)
cleanup() {
  psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $db" || true
  mysql -h 127.0.0.1 -u root -e "DROP DATABASE IF EXISTS $db" || true
  rm -rf "$work"
}
trap cleanup EXIT
modules=${SNAPEXPORT_NODE_MODULES:-$(go env GOPATH)/lib/snapexport-node/node_modules}

go build -o "$work/snapexport" ./cmd/snapexport
psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE $db"
psql -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres -d "$db" -f bench/typed/pg.sql
mysql -h 127.0.0.1 -u root -e "CREATE DATABASE $db"
mysql -h 127.0.0.1 -u root "$db" < bench/typed/mysql.sql

for src in "postgres://postgres@127.0.0.1:5432/$db" "mysql://root@127.0.0.1:3306/$db"; do
  id="typed-${src%%:*}"
  "$work/snapexport" start-export-task --export-task-identifier "$id" --source-arn "$src" \
    --s3-bucket-name "file://$work/out" --type-profile typed --progress none > "$work/$id.json"
  grep -E '"Status": "COMPLETE"' "$work/$id.json" >/dev/null || { cat "$work/$id.json"; exit 1; }
  for f in $(find "$work/out/$id" -name '*.parquet' | sort); do
    echo "== $id: ${f#"$work/out/"}"
    node bench/typed/dump.cjs "$modules" "$f"
  done
done
