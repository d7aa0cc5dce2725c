"""
### sinorus_maintenance: feed health, retention, re-clustering

Daily housekeeping (env `SINORUS_MAINTENANCE_SCHEDULE`, default 03:17 UTC):

1. `feed_health`: lists enabled feeds that have failed for a day or more and feeds that have
   produced no new item for a week, and the alert outbox per channel and status (the oldest
   pending alert, alerts waiting for an unconfigured channel); all in the task log and its
   return value (XCom).
2. `prune_fetch_log`: deletes `fetch_log` rows older than 90 days (env
   `SINORUS_FETCH_LOG_DAYS`). Articles and their bodies are kept.
3. `recluster`: detects and clusters the last 7 days again (env `SINORUS_RECLUSTER_DAYS`), so
   rule or gazetteer changes reach recent events.

**When a task fails**: each task is independent and idempotent; fix the cause named in the log
(usually the `sinorus_db` connection) and clear the task. A long feed-health list is not a
failure: disable or fix those feeds in the feed list.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import dag, task

from sinorus import notify

log = logging.getLogger(__name__)

SCHEDULE = os.environ.get("SINORUS_MAINTENANCE_SCHEDULE") or "17 3 * * *"

default_args = notify.default_args(
    execution_timeout=timedelta(hours=1),
    retry_delay=timedelta(minutes=5),
    max_retry_delay=timedelta(minutes=30),
)


def _days(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(name) or default))
    except ValueError:
        return default


@dag(
    dag_id="sinorus_maintenance",
    schedule=None if SCHEDULE.lower() == "none" else SCHEDULE,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["sinorus", "maintenance"],
    doc_md=__doc__,
)
def sinorus_maintenance() -> None:
    @task
    def feed_health() -> dict[str, Any]:
        """
        Report enabled feeds failing for a day or more, feeds silent for a week, and the outbox.

        Read-only; fails only when the database is unreachable.
        """
        from sinorus import pipeline

        return pipeline.feed_report()

    @task
    def prune_fetch_log() -> dict[str, Any]:
        """
        Delete fetch_log rows older than the retention period (articles are kept).

        If it fails (database unreachable), clear it: a second run deletes nothing more.
        """
        from sinorus import pipeline

        return pipeline.prune_fetch_log(days=_days("SINORUS_FETCH_LOG_DAYS", 90))

    @task
    def recluster() -> dict[str, Any]:
        """
        Detect and cluster the last days again so rule changes reach recent events.

        Idempotent (events upsert on their cluster keys, alerts are never queued twice): if it
        fails, fix the rule or gazetteer file named in the error and clear it.
        """
        from sinorus import pipeline

        result = pipeline.recluster(days=_days("SINORUS_RECLUSTER_DAYS", 7))
        log.info("recluster: %s", result)
        return result

    feed_health()
    prune_fetch_log()
    recluster()


sinorus_maintenance()
