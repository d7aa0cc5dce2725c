"""Feed and alert-outbox health as operators and analysts read it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg2.extensions
import psycopg2.extras

log = logging.getLogger(__name__)

FAILING_FOR = timedelta(days=1)
SILENT_FOR = timedelta(days=7)

FEED_HEALTH = """
SELECT f.id, f.name, f.url, f.lang, f.enabled, f.last_status, f.http_status,
       f.consecutive_failures, f.last_checked_at, f.last_ok_at, f.last_new_at, f.next_due_at,
       f.last_error,
       (SELECT count(*) FROM articles a
         WHERE a.feed_id = f.id AND a.fetched_at > now() - interval '1 day') AS new_24h
FROM feeds f
ORDER BY f.enabled DESC, f.consecutive_failures DESC, f.name
"""


def feed_health(conn: psycopg2.extensions.connection) -> list[dict[str, Any]]:
    with conn, conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute(FEED_HEALTH)
        return [dict(row) for row in cur.fetchall()]


def feed_report(
    conn: psycopg2.extensions.connection,
    *,
    now: datetime | None = None,
    channels: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Feeds failing for a day or more, feeds with no new item for a week, the alert outbox."""
    now = now or datetime.now(UTC)
    rows = [r for r in feed_health(conn) if r["enabled"] and r["last_checked_at"] is not None]
    failing = [
        {"id": r["id"], "name": r["name"], "url": r["url"], "error": r["last_error"]}
        for r in rows
        if r["consecutive_failures"]
        and (r["last_ok_at"] is None or now - r["last_ok_at"] >= FAILING_FOR)
    ]
    silent = [
        {"id": r["id"], "name": r["name"], "url": r["url"], "last_new_at": r["last_new_at"]}
        for r in rows
        if (r["last_new_at"] or r["last_ok_at"] or r["last_checked_at"]) < now - SILENT_FOR
    ]
    for feed in failing:
        log.warning(
            "feed failing for a day or more: %s (%s): %s", feed["name"], feed["url"], feed["error"]
        )
    for feed in silent:
        log.warning("feed with no new item for a week: %s (%s)", feed["name"], feed["url"])
    log.info("feeds: %d enabled, %d failing, %d silent", len(rows), len(failing), len(silent))
    # The maintenance DAG's daily report: the place an operator looks for what is stuck.
    alerts = alert_report(conn, channels=channels, now=now)
    return {"enabled": len(rows), "failing": failing, "silent": silent, "alerts": alerts}


def alert_report(
    conn: psycopg2.extensions.connection,
    *,
    channels: Sequence[str] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The outbox per channel and status, and the alerts waiting for an unconfigured channel."""
    from sinorus.alerts import backlog

    with conn, conn.cursor() as cur:
        report = backlog.outbox_report(cur, channels, now=now)
    for line in backlog.waiting_lines(report):
        log.warning("%s", line)
    failed = sum(entry.get("failed", 0) for entry in report["channels"].values())
    if failed:
        log.warning("%d alerts failed for good in the last week (see alerts.last_error)", failed)
    return report


def prune_fetch_log(conn: psycopg2.extensions.connection, *, days: int) -> int:
    """Delete fetch-log rows older than `days`; articles are kept. Returns rows deleted."""
    with conn, conn.cursor() as cur:
        cur.execute(
            "DELETE FROM fetch_log WHERE started_at < now() - make_interval(days => %s)", (days,)
        )
        deleted: int = cur.rowcount
    log.info("deleted %d fetch_log rows older than %d days", deleted, days)
    return deleted
