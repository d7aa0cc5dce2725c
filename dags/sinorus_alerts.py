"""
### sinorus_alerts: send the alert outbox

Sends pending alerts (one per real-world event and channel) to Slack, email and the console.
Runs when `sinorus_ingest` updates the events Asset, and every 30 minutes as a safety net
(env `SINORUS_ALERTS_SCHEDULE`), so an alert left pending by a channel that was down goes out
once the channel is back.

* Slack: Airflow connection `sinorus_slack` (incoming webhook).
* Email: Airflow connection `sinorus_smtp` and env `SINORUS_ALERT_RECIPIENTS`.
* With neither configured, alerts go to the console channel (the task log).

**When the task fails**: the database is unreachable or an alert rule file is broken (the error
names it). A channel that is down does *not* fail the task: its alerts stay pending with the
error recorded in `alerts.last_error` and are retried on the next run. Clearing the task never
sends an alert twice. Alerts queued for a channel that is no longer configured are kept, not
tried: the result's `waiting` counts them per channel and the log says so; configure the channel
again, or close them with `sinorus alerts discard --channel NAME --reason "..."`.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Asset, AssetOrTimeSchedule, CronTriggerTimetable, dag, task

from sinorus import notify, settings

log = logging.getLogger(__name__)

EVENTS_ASSET = Asset(settings.EVENTS_ASSET_URI)
SAFETY_NET = os.environ.get("SINORUS_ALERTS_SCHEDULE") or "*/30 * * * *"

default_args = notify.default_args(execution_timeout=timedelta(minutes=15))


@dag(
    dag_id="sinorus_alerts",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable(SAFETY_NET, timezone="UTC"), assets=[EVENTS_ASSET]
    ),
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["sinorus", "alerts"],
    doc_md=__doc__,
)
def sinorus_alerts() -> None:
    @task
    def send_alerts() -> dict[str, Any]:
        """
        Deliver pending alerts, oldest first, one transaction each.

        Counts sent / failed / still pending per channel; a pending count that keeps growing means
        a channel is down (see `alerts.last_error`); `waiting` counts alerts for a channel that is
        no longer configured.
        """
        from sinorus import pipeline

        result = pipeline.send_alerts()
        log.info("alerts: %s", result)
        return result

    send_alerts()


sinorus_alerts()
