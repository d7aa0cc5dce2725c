"""
### sinorus_ingest: feeds → articles → events

Polls the due RSS/Atom feeds, extracts the new articles' pages, detects China–Russia cooperation
events in them, clusters reports of one real event and loads everything into PostgreSQL. The
last task updates the Asset `postgres://sinorus-db:5432/sinorus/public/events`, which starts
`sinorus_alerts`.

* Schedule: every 10 minutes (env `SINORUS_INGEST_SCHEDULE`: a cron expression, `@hourly`, or
  `none` to run only when triggered). One run at a time, no catch-up.
* Feed list: the Airflow Variable `sinorus_feeds` (a path to a feeds YAML file), else env
  `SINORUS_FEEDS`, else the list shipped in the package.
* Database: env `SINORUS_DATABASE_URL`, else the Airflow connection `sinorus_db`.
* Fetch tasks run in the pool `sinorus_fetch` (create it: `airflow pools set sinorus_fetch 4
  "concurrent feed fetch batches"`).

**When a task fails**: read its log (the failure notice in Slack/email links to it). Every task
is idempotent, so *Clear* the failed task (or the run) once the cause is fixed: rows are keyed on
run id, feed and URL, so a rerun adds nothing twice. A feed that keeps failing does not fail the
run; it shows in the `sinorus_maintenance` feed-health report.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Asset, dag, task

from sinorus import notify, settings

log = logging.getLogger(__name__)

EVENTS_ASSET = Asset(settings.EVENTS_ASSET_URI)
SCHEDULE = os.environ.get("SINORUS_INGEST_SCHEDULE") or "*/10 * * * *"

FETCH_DOC = """
Poll one batch of feeds (conditional GET) and store their new entries.

A single bad feed is recorded in `fetch_log` and does not fail the task; a failure here means the
database or the whole network path is down. Clearing it is safe: the fetch log is keyed on
(run id, feed) and articles on their URL.
"""

default_args = notify.default_args(execution_timeout=timedelta(minutes=30))


@dag(
    dag_id="sinorus_ingest",
    schedule=None if SCHEDULE.lower() == "none" else SCHEDULE,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["sinorus", "ingest"],
    doc_md=__doc__,
)
def sinorus_ingest() -> None:
    @task
    def load_feeds(feeds_file: str = "", ti: Any = None) -> list[list[int]]:
        """
        Sync the feed list into the `feeds` table and return the due feeds in batches.

        Its counts are in the log and in the XCom `summary`. Fails when the feed list is
        unreadable or the database is unreachable: fix the file named in the error (Variable
        `sinorus_feeds` / env `SINORUS_FEEDS`) or the `sinorus_db` connection.
        """
        from sinorus import pipeline

        result = pipeline.load_feeds(feeds_file or None)
        batches: list[list[int]] = result.pop("batches")
        log.info("feeds: %s; %d batches", result, len(batches))
        if ti is not None:
            ti.xcom_push(key="summary", value=result)
        return batches

    # A mapped task does not take its docstring as doc_md, so it is given explicitly.
    @task(pool="sinorus_fetch", max_active_tis_per_dagrun=4, doc_md=FETCH_DOC)
    def fetch_feeds(feed_ids: list[int], run_id: str | None = None) -> dict[str, Any]:
        """Poll one batch of feeds and store their new entries."""
        from sinorus import pipeline

        result = pipeline.fetch_batch(feed_ids, run_id or "manual")
        log.info("batch of %d feeds: %s", len(feed_ids), result)
        return result

    @task(trigger_rule="none_failed")
    def extract_articles() -> dict[str, Any]:
        """
        Download and extract the pages of articles still pending (runs even when no feed was due).

        Pages that cannot be fetched fall back to the feed summary; a failure means the database
        is down. Clearing it resumes where it stopped.
        """
        from sinorus import pipeline

        result = pipeline.extract_articles()
        log.info("extraction: %s", result)
        return result

    @task
    def detect_events() -> dict[str, Any]:
        """
        Detect cooperation events in newly extracted articles, cluster them and queue alerts.

        A failure after a rule or gazetteer change points at the YAML data named in the error;
        the work of one article commits with its events, so clearing the task is safe.
        """
        from sinorus import pipeline

        result = pipeline.detect_events()
        log.info("detection: %s", result)
        return result

    @task(outlets=[EVENTS_ASSET])
    def publish() -> dict[str, Any]:
        """
        Report what the events table holds and mark the events Asset updated (starts alerts).

        Read-only; a failure means the database is unreachable.
        """
        from sinorus import pipeline

        result = pipeline.publish()
        log.info("events: %s", result)
        return result

    loaded = load_feeds(feeds_file="{{ var.value.get('sinorus_feeds', '') }}")
    fetched = fetch_feeds.expand(feed_ids=loaded)
    fetched >> extract_articles() >> detect_events() >> publish()


sinorus_ingest()
