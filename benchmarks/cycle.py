"""One pipeline cycle in a process of its own, so its peak RSS is its own: JSON in, JSON out."""

from __future__ import annotations

import json
import logging
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

T_START = time.monotonic()

from sinorus import db as sdb  # noqa: E402 - imports are timed as start-up
from sinorus import events, feeds, ingest, pipeline  # noqa: E402
from sinorus.alerts import channels  # noqa: E402
from sinorus.detect import detector  # noqa: E402
from sinorus.fetch import FetchConfig, Fetcher  # noqa: E402

# How far ahead the rerun looks, so every feed is due again (beyond the longest TTL honoured).
RERUN_AHEAD = feeds.MAX_TTL + timedelta(hours=1)
EXTRACT_CHUNK = 1000


def _drain_extract(conn: Any, fetcher: Fetcher) -> dict[str, int]:
    """Extract until nothing is pending; `sinorus run` stops after one chunk of 1000."""
    totals: dict[str, int] = {}
    while True:
        part = ingest.extract_pending(conn, fetcher=fetcher, limit=EXTRACT_CHUNK).as_dict()
        for key, value in part.items():
            totals[key] = totals.get(key, 0) + int(value)
        if part.get("articles", 0) == 0:
            return totals


def peak_rss_mb() -> float:
    """The process's peak RSS so far (VmHWM), to see which stage raised it; 0 off Linux."""
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def one_cycle(
    conn: Any, fetcher: Fetcher, specs: list[feeds.FeedSpec], now: datetime
) -> dict[str, Any]:
    """sync, fetch (in the CLI's batches), parse, store, extract, detect, cluster, load."""
    stages: dict[str, float] = {}
    cpu: dict[str, float] = {}
    peak: dict[str, float] = {"start": peak_rss_mb()}
    t, c = time.monotonic(), time.process_time()
    feeds.sync_feeds(conn, specs)
    due = feeds.due_feed_ids(conn, now)
    fetched: dict[str, int] = {}
    run_id = ingest.run_id_now()
    for batch in feeds.batches(due, pipeline.FEED_BATCH):
        part = ingest.fetch_feeds(conn, batch, run_id=run_id, fetcher=fetcher).as_dict()
        for key, value in part.items():
            if isinstance(value, int):
                fetched[key] = fetched.get(key, 0) + value
    stages["fetch_parse_store_s"] = time.monotonic() - t
    cpu["fetch_parse_store_s"] = time.process_time() - c
    peak["fetch_parse_store"] = peak_rss_mb()
    t, c = time.monotonic(), time.process_time()
    extracted = _drain_extract(conn, fetcher)
    stages["download_extract_s"] = time.monotonic() - t
    cpu["download_extract_s"] = time.process_time() - c
    peak["download_extract"] = peak_rss_mb()
    t, c = time.monotonic(), time.process_time()
    detected = events.detect_pending(conn, limit=10**9).as_dict()
    stages["detect_cluster_load_s"] = time.monotonic() - t
    cpu["detect_cluster_load_s"] = time.process_time() - c
    peak["detect_cluster_load"] = peak_rss_mb()
    return {
        "seconds": sum(stages.values()),
        "cpu_seconds": sum(cpu.values()),
        "stages": {k: round(v, 3) for k, v in stages.items()},
        "stages_cpu": {k: round(v, 3) for k, v in cpu.items()},
        "peak_rss_mb_after": peak,
        "feeds_due": len(due),
        "fetched": fetched,
        "extracted": extracted,
        "detected": {k: v for k, v in detected.items() if k != "errors"},
        "detect_errors": len(detected.get("errors", [])),
    }


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    job = json.loads(sys.stdin.read())
    specs = [feeds.FeedSpec(name=f["name"], url=f["url"], lang=f.get("lang")) for f in job["feeds"]]
    config = FetchConfig(allow=tuple(job["allow"]), **job.get("fetch", {}))
    # The gazetteer and rules load once per process; timed apart from the cycle.
    t = time.monotonic()
    detector.default_detector()
    warmup = time.monotonic() - t
    # The first alert asks Airflow for its connections, importing Airflow: already loaded in
    # an Airflow worker, so kept out of the cycle and reported apart (`sinorus run` pays it).
    t = time.monotonic()
    channels.configured_channels()
    channel_lookup = time.monotonic() - t
    startup = time.monotonic() - T_START
    conn = sdb.connect(job["database_url"])
    fetcher = Fetcher(config)
    try:
        first = one_cycle(conn, fetcher, specs, datetime.now(UTC))
        rerun = None
        if job.get("rerun"):
            rerun = one_cycle(conn, fetcher, specs, datetime.now(UTC) + RERUN_AHEAD)
        with conn, conn.cursor() as cur:
            cur.execute(
                "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM event_mentions), "
                "(SELECT count(*) FROM events), (SELECT count(*) FROM alerts)"
            )
            row = cur.fetchone()
    finally:
        fetcher.close()
        conn.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    # Linux reports ru_maxrss in KiB (macOS in bytes).
    divisor = 1024 * 1024 if sys.platform == "darwin" else 1024
    out = {
        "first": first,
        "rerun": rerun,
        "startup_s": round(startup, 3),
        "detector_warmup_s": round(warmup, 3),
        "alert_channel_lookup_s": round(channel_lookup, 3),
        "rows": dict(zip(("articles", "mentions", "events", "alerts"), row or (), strict=False)),
        "peak_rss_mb": round(usage.ru_maxrss / divisor, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
