"""The pipeline's stages as plain functions: what the DAG tasks and `sinorus run` call."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sinorus import db as sdb
from sinorus import feeds, ingest, settings
from sinorus.fetch import FetchConfig, Fetcher

log = logging.getLogger(__name__)

FEED_BATCH = 25


def load_feeds(
    feeds_file: str | Path | None = None, *, batch_size: int = FEED_BATCH, force: bool = False
) -> dict[str, Any]:
    """Sync the feed list into the database; return the due feeds (all, with force) in batches."""
    specs = feeds.load_feed_list(feeds_file)
    conn = sdb.connect()
    try:
        counts = feeds.sync_feeds(conn, specs)
        due = feeds.due_feed_ids(conn, datetime.now(UTC), force=force)
    finally:
        conn.close()
    log.info("feed list: %s; %d due now", counts, len(due))
    return counts | {"due": len(due), "batches": feeds.batches(due, batch_size)}


def fetch_batch(feed_ids: list[int], run_id: str, *, jitter: float | None = None) -> dict[str, Any]:
    """Poll one batch of feeds and store their new entries.

    Each request starts after a random pause of up to `jitter` seconds (SINORUS_FETCH_JITTER,
    default 0), so that feeds sharing a schedule do not all hit their servers at once.
    """
    if jitter is None:
        jitter = float(settings.env("SINORUS_FETCH_JITTER") or 0)
    conn = sdb.connect()
    fetcher = Fetcher(FetchConfig.from_env())
    try:
        return ingest.fetch_feeds(
            conn, feed_ids, run_id=run_id, fetcher=fetcher, jitter=jitter
        ).as_dict()
    finally:
        fetcher.close()
        conn.close()


def extract_articles(limit: int = 1000) -> dict[str, Any]:
    """Download and extract the pages of new articles."""
    conn = sdb.connect()
    fetcher = Fetcher(FetchConfig.from_env())
    try:
        return ingest.extract_pending(conn, fetcher=fetcher, limit=limit).as_dict()
    finally:
        fetcher.close()
        conn.close()


def ingest_cycle(
    feeds_file: str | Path | None = None,
    *,
    run_id: str | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Fetch every due feed and extract the new articles: the `sinorus fetch` command."""
    t0 = time.monotonic()
    run_id = run_id or ingest.run_id_now()
    loaded = load_feeds(feeds_file, force=force)
    due = [feed_id for batch in loaded["batches"] for feed_id in batch]
    # One pass over every due feed: the fetcher's pool and per-host limits do the batching.
    conn = sdb.connect()
    fetcher = Fetcher(FetchConfig.from_env())
    try:
        fetched = ingest.fetch_feeds(
            conn,
            due,
            run_id=run_id,
            fetcher=fetcher,
            on_feed=(lambda done: progress("feeds", done, len(due))) if progress else None,
        ).as_dict()
    finally:
        fetcher.close()
        conn.close()
    extracted = extract_articles()
    if progress:
        progress("articles", extracted.get("articles", 0), extracted.get("articles", 0))
    return {
        "run_id": run_id,
        "feeds": fetched,
        "extracted": extracted,
        "seconds": round(time.monotonic() - t0, 2),
    }


def detect_events(limit: int = 5000) -> dict[str, Any]:
    """Detect events in newly extracted articles, cluster them and queue alerts."""
    from sinorus import events

    conn = sdb.connect()
    try:
        return events.detect_pending(conn, limit=limit).as_dict()
    finally:
        conn.close()


def publish() -> dict[str, Any]:
    """Totals an operator reads after a run: what the events table now holds."""
    conn = sdb.connect()
    try:
        with conn, conn.cursor() as cur:
            cur.execute(
                "SELECT count(*), count(*) FILTER (WHERE first_seen > now() - interval '1 day'), "
                "(SELECT count(*) FROM alerts WHERE status = 'pending') FROM events"
            )
            total, last_day, pending = cur.fetchone()
    finally:
        conn.close()
    result = {"events": total, "events_last_24h": last_day, "alerts_pending": pending}
    log.info("events table: %s", result)
    return result


def send_alerts(limit: int = 100) -> dict[str, Any]:
    """Send what is pending in the alert outbox."""
    from sinorus.alerts import outbox

    conn = sdb.connect()
    try:
        return outbox.send_pending(conn, limit=limit).as_dict()
    finally:
        conn.close()


def recluster(days: int = 7) -> dict[str, Any]:
    """Detect and cluster the last days again (after rule or gazetteer changes)."""
    from sinorus import events

    conn = sdb.connect()
    try:
        return events.recluster(conn, days=days).as_dict()
    finally:
        conn.close()


def run_cycle(
    feeds_file: str | Path | None = None, *, send: bool = True, force: bool = False
) -> dict[str, Any]:
    """One whole cycle without a scheduler: fetch, extract, detect, cluster, load, alert."""
    t0 = time.monotonic()
    conn = sdb.connect()
    try:
        sdb.migrate(conn)
    finally:
        conn.close()
    result = ingest_cycle(feeds_file, force=force)
    result["detected"] = detect_events()
    result["published"] = publish()
    if send:
        result["alerts"] = send_alerts()
    result["seconds"] = round(time.monotonic() - t0, 2)
    return result


def feed_report() -> dict[str, Any]:
    """Feeds failing for a day and feeds silent for a week, for the maintenance DAG."""
    from sinorus import health

    conn = sdb.connect()
    try:
        report = health.feed_report(conn)
    finally:
        conn.close()
    for key in ("failing", "silent"):
        for feed in report[key]:
            feed.update({k: str(v) for k, v in feed.items() if isinstance(v, datetime)})
    return report


def prune_fetch_log(days: int = 90) -> dict[str, Any]:
    """Drop fetch-log rows older than `days` (articles are kept)."""
    from sinorus import health

    conn = sdb.connect()
    try:
        return {"deleted": health.prune_fetch_log(conn, days=days), "days": days}
    finally:
        conn.close()
