#!/usr/bin/env bash
# `make airflow`: Airflow standalone (api-server, scheduler, dag-processor, triggerer) on SQLite
# with the project's DAGs, on http://127.0.0.1:8080. Ctrl-C stops every component.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
cd "$ROOT"

export AIRFLOW_HOME="$ROOT/.airflow"
# standalone spawns its components as `airflow ...`: the venv's bin must come first.
export PATH="$VENV/bin:$PATH"
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="sqlite:///$AIRFLOW_HOME/airflow.db"
export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__PARALLELISM="${AIRFLOW__CORE__PARALLELISM:-4}"
export AIRFLOW__CORE__EXECUTOR=LocalExecutor
export AIRFLOW__API__HOST="${AIRFLOW__API__HOST:-127.0.0.1}"
export AIRFLOW__API__PORT="${AIRFLOW__API__PORT:-8080}"
export AIRFLOW__API__BASE_URL="${AIRFLOW__API__BASE_URL:-http://127.0.0.1:$AIRFLOW__API__PORT}"

# Airflow imports every .py file under its plugins folder as a plugin. plugins/ also holds the
# sinorus package (scripts with `if __name__ == "__main__"` would run), so unless plugins/ has an
# .airflowignore that skips it, Airflow gets a folder holding only the plugin module.
if [[ -f "$ROOT/plugins/.airflowignore" ]]; then
    export AIRFLOW__CORE__PLUGINS_FOLDER="$ROOT/plugins"
else
    mkdir -p "$AIRFLOW_HOME/plugins"
    for plugin in "$ROOT"/plugins/*.py; do
        [[ -e "$plugin" ]] && ln -sf "$plugin" "$AIRFLOW_HOME/plugins/"
    done
    export AIRFLOW__CORE__PLUGINS_FOLDER="$AIRFLOW_HOME/plugins"
fi
mkdir -p "$AIRFLOW_HOME"

# The sinorus database: SINORUS_DATABASE_URL if set, else the demo database of `make demo`.
if [[ -z "${SINORUS_DATABASE_URL:-}" ]]; then
    admin_url="$("$VENV/bin/python" scripts/ensure_postgres.py)"
    SINORUS_DATABASE_URL="${admin_url%/*}/sinorus_demo"
    "$VENV/bin/python" - "$admin_url" <<'PY'
import sys

import psycopg2

conn = psycopg2.connect(sys.argv[1], connect_timeout=10)
conn.autocommit = True
with conn.cursor() as cur:
    cur.execute("SELECT 1 FROM pg_database WHERE datname = 'sinorus_demo'")
    if cur.fetchone() is None:
        cur.execute("CREATE DATABASE sinorus_demo ENCODING UTF8 TEMPLATE template0")
conn.close()
PY
fi
export SINORUS_DATABASE_URL
export AIRFLOW_CONN_SINORUS_DB="$SINORUS_DATABASE_URL"
"$VENV/bin/sinorus" migrate

airflow db migrate >/dev/null
airflow pools set sinorus_fetch 4 "concurrent feed fetch batches of sinorus_ingest" >/dev/null

cat <<MSG
==> Airflow standalone: http://$AIRFLOW__API__HOST:$AIRFLOW__API__PORT/  (Ctrl-C stops it)
    login: admin; the password is printed below once it is generated, and kept in
    $AIRFLOW_HOME/simple_auth_manager_passwords.json.generated
    sinorus_db = $SINORUS_DATABASE_URL; DAGs are paused until you unpause them in the UI.
MSG
# A shell started in the background ignores SIGINT, and standalone needs SIGINT to stop its
# components: restore the default handler for the process that replaces this shell.
exec "$VENV/bin/python" -c '
import os, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
os.execvp("airflow", ["airflow", "standalone"])
'
