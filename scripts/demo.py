"""`make demo`: the whole pipeline through Airflow on the offline sample, in one command.

Finds or starts PostgreSQL, (re)creates the `sinorus_demo` database, serves the offline sample on
127.0.0.1, runs the DAGs `sinorus_ingest` then `sinorus_alerts` with real Airflow task execution
(`dag.test()`, metadata in .airflow/airflow.db), and prints the events found and the alerts sent
to the console channel. Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
AIRFLOW_HOME = ROOT / ".airflow"
DEMO_DB = "sinorus_demo"
BIN = Path(sys.executable).parent


def airflow_env(home: Path = AIRFLOW_HOME) -> dict[str, str]:
    """Settings for a local Airflow on SQLite with the project's DAGs."""
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


def admin_url() -> str:
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "ensure_postgres.py")],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        sys.exit(f"demo: no PostgreSQL: {out.stderr.strip()}")
    return out.stdout.strip()


def fresh_database(admin: str, name: str) -> str:
    """Drop and create the demo database, so every demo starts from the same state."""
    import psycopg2

    conn = psycopg2.connect(admin, connect_timeout=10)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cur.execute(f'CREATE DATABASE "{name}" ENCODING UTF8 TEMPLATE template0')
    finally:
        conn.close()
    return admin.rsplit("/", 1)[0] + "/" + name


def run(cmd: list[str], what: str) -> None:
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        sys.exit(f"demo: {what} failed:\n{out.stdout}{out.stderr}")


def run_dag(dag: Any) -> Any:
    started = time.monotonic()
    dag_run = dag.test()
    tis = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    step(f"{dag.dag_id}: {dag_run.state} in {time.monotonic() - started:.0f} s  {tis}")
    if str(dag_run.state) != "success":
        sys.exit(f"demo: {dag.dag_id} did not succeed; see the task logs above")
    return dag_run


def report(database_url: str, alert_log: Path) -> None:
    import psycopg2

    conn = psycopg2.connect(database_url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(
                "SELECT (SELECT count(*) FROM feeds), (SELECT count(*) FROM articles),"
                " (SELECT count(*) FROM events)"
            )
            feeds, articles, events = cur.fetchone()
            cur.execute(
                "SELECT id, type, status, n_outlets, headline FROM events"
                " ORDER BY n_outlets DESC, event_date DESC NULLS LAST, id"
            )
            rows = cur.fetchall()
            cur.execute("SELECT channel, status, count(*) FROM alerts GROUP BY 1, 2 ORDER BY 1, 2")
            alerts = cur.fetchall()
    finally:
        conn.close()
    print(f"\n{feeds} feeds, {articles} articles, {events} events\n")
    print(f"{'id':>4}  {'type':<10} {'status':<8} {'outlets':>7}  headline")
    for event_id, kind, status, outlets, headline in rows:
        print(f"{event_id:>4}  {kind:<10} {status:<8} {outlets:>7}  {headline}")
    print("\nalerts: " + (", ".join(f"{c} {s}: {n}" for c, s, n in alerts) or "none"))
    text = alert_log.read_text(encoding="utf-8") if alert_log.exists() else ""
    print(f"\n--- alerts sent to the console channel ({alert_log}) ---\n{text or '(none)'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/demo.py", description=__doc__)
    parser.add_argument("--database", default=DEMO_DB, help="demo database name (recreated)")
    args = parser.parse_args(argv)

    AIRFLOW_HOME.mkdir(exist_ok=True)
    os.environ.update(airflow_env())
    # Sample news must never reach real channels: alerts go to the console only.
    for name in ("AIRFLOW_CONN_SINORUS_SLACK", "AIRFLOW_CONN_SINORUS_SMTP"):
        os.environ.pop(name, None)
    os.environ["SINORUS_ALERT_RECIPIENTS"] = ""
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")

    step("PostgreSQL")
    database_url = fresh_database(admin_url(), args.database)
    os.environ["SINORUS_DATABASE_URL"] = database_url
    print(f"    database: {database_url}")
    run([str(BIN / "sinorus"), "migrate"], "sinorus migrate")

    from sinorus.sample import serve, write_feeds_file

    sample = serve(port=0, now=datetime.now(UTC))
    try:
        feeds = write_feeds_file(AIRFLOW_HOME / "demo-feeds.yaml", sample.base)
        os.environ["SINORUS_FEEDS"] = str(feeds)
        os.environ["SINORUS_FETCH_ALLOW"] = f"127.0.0.1:{sample.port}"
        alert_log = AIRFLOW_HOME / "demo-alerts.log"
        alert_log.unlink(missing_ok=True)
        os.environ["SINORUS_ALERT_LOG"] = str(alert_log)
        step(f"offline sample served at {sample.base}/ (feed list {feeds})")

        step("Airflow metadata database (.airflow/airflow.db)")
        run([str(BIN / "airflow"), "db", "migrate"], "airflow db migrate")
        run(
            [str(BIN / "airflow"), "pools", "set", "sinorus_fetch", "4", "feed fetch batches"],
            "airflow pools set",
        )

        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(dag_folder=str(ROOT / "dags"))
        if bag.import_errors:
            sys.exit(f"demo: DAG import errors: {bag.import_errors}")
        step("running sinorus_ingest (fetch, extract, detect, cluster, load)")
        run_dag(bag.dags["sinorus_ingest"])
        step("running sinorus_alerts (the events Asset's consumer)")
        # The console channel also writes to stdout; the report prints the alert log once.
        with contextlib.redirect_stdout(io.StringIO()):
            alerts_run = bag.dags["sinorus_alerts"].test()
        step(f"sinorus_alerts: {alerts_run.state}")
        if str(alerts_run.state) != "success":
            sys.exit("demo: sinorus_alerts did not succeed; see the task logs above")
    finally:
        sample.stop()

    report(database_url, alert_log)
    print(
        "\nNext: `make airflow` shows these runs in the Airflow UI at http://127.0.0.1:8080/ "
        f"(connection sinorus_db = {database_url})."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
