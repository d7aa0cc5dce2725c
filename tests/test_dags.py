"""The DAG files: they import cleanly, follow the project's policy and touch nothing at import."""

from __future__ import annotations

import ast
import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest

import tests.airflow_env as airflow_env

DAG_FILES = sorted(airflow_env.DAGS.glob("*.py"))
DAG_IDS = {"sinorus_ingest", "sinorus_alerts", "sinorus_maintenance"}
# Modules a DAG file must not pull in at parse time: the parser re-imports files every 30 s.
HEAVY = ("trafilatura", "feedparser", "psycopg2", "lxml", "sinorus.pipeline", "sinorus.fetch")


@pytest.fixture(scope="module")
def dagbag():  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(airflow_env.DAGS))


def test_every_dag_file_imports_without_errors(dagbag) -> None:  # type: ignore[no-untyped-def]
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == DAG_IDS
    assert len(DAG_FILES) == len(DAG_IDS)


@pytest.mark.parametrize("dag_id", sorted(DAG_IDS))
def test_dag_policy(dagbag, dag_id: str) -> None:  # type: ignore[no-untyped-def]
    dag = dagbag.dags[dag_id]
    assert dag is not None
    assert "sinorus" in dag.tags
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert dag.doc_md and "When" in dag.doc_md and "fail" in dag.doc_md
    for task in dag.tasks:
        assert task.owner == "sinorus", task.task_id
        assert task.retries == 2, task.task_id
        assert task.retry_exponential_backoff > 1, task.task_id
        assert task.max_retry_delay is not None, task.task_id
        assert task.on_failure_callback, task.task_id
        assert task.doc_md and "fail" in task.doc_md.lower(), task.task_id


def test_ingest_wiring(dagbag) -> None:  # type: ignore[no-untyped-def]
    dag = dagbag.dags["sinorus_ingest"]
    order = ["load_feeds", "fetch_feeds", "extract_articles", "detect_events", "publish"]
    assert set(dag.task_ids) == set(order)
    for upstream, downstream in itertools.pairwise(order):
        assert downstream in dag.get_task(upstream).downstream_task_ids
    assert dag.get_task("fetch_feeds").pool == "sinorus_fetch"
    # No feed due still extracts the articles left pending by an earlier run.
    assert dag.get_task("extract_articles").trigger_rule == "none_failed"
    outlets = dag.get_task("publish").outlets
    assert [a.uri for a in outlets] == ["postgres://sinorus-db:5432/sinorus/public/events"]


def test_alerts_runs_on_the_events_asset_or_a_timetable(dagbag) -> None:  # type: ignore[no-untyped-def]
    ingest = dagbag.dags["sinorus_ingest"]
    alerts = dagbag.dags["sinorus_alerts"]
    assert type(alerts.timetable).__name__ == "AssetOrTimeSchedule"
    produced = {a.uri for a in ingest.get_task("publish").outlets}
    consumed = {a.uri for a in alerts.timetable.asset_condition.objects}
    assert consumed == produced
    assert alerts.task_ids == ["send_alerts"]


def test_maintenance_tasks(dagbag) -> None:  # type: ignore[no-untyped-def]
    dag = dagbag.dags["sinorus_maintenance"]
    assert set(dag.task_ids) == {"feed_health", "prune_fetch_log", "recluster"}


def test_schedule_comes_from_the_environment() -> None:
    code = (
        "import tests.airflow_env, runpy;"
        "g = runpy.run_path('dags/sinorus_ingest.py');"
        "print(g['SCHEDULE'])"
    )
    env = os.environ | {"SINORUS_INGEST_SCHEDULE": "*/5 * * * *"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=airflow_env.ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "*/5 * * * *"


def test_importing_dag_files_touches_no_database_and_no_heavy_module() -> None:
    # A closed port: any connection attempt at import time would raise and fail the import.
    code = (
        "import sys, runpy, tests.airflow_env\n"
        "for path in sys.argv[1:]:\n"
        "    runpy.run_path(path)\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    env = os.environ | {
        "SINORUS_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none?connect_timeout=1",
        "AIRFLOW_CONN_SINORUS_DB": "postgres://nobody@127.0.0.1:9/none",
    }
    out = subprocess.run(
        [sys.executable, "-c", code, *map(str, DAG_FILES)],
        cwd=airflow_env.ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert "HEAVY []" in out.stdout, out.stdout


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_dag_files_import_only_airflow_sdk_and_light_modules(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    modules = {
        (n.module or "") if isinstance(n, ast.ImportFrom) else a.name for n in top for a in n.names
    }
    allowed = {"__future__", "logging", "os", "datetime", "typing", "airflow.sdk", "sinorus"}
    assert modules <= allowed, modules - allowed
