"""The same ingest run twice, and a stage retried after partial work, leave identical tables."""

from __future__ import annotations

import pytest

from sinorus import events, ingest
from tests.reliability.support import (
    Site,
    add_feeds,
    checksum,
    fetcher_for,
    query,
    record,
    snapshot,
)
from tests.support.servers import LocalServer

pytestmark = pytest.mark.integration


def cycle(db, site: Site, ids: list[int], run_id: str) -> None:
    with fetcher_for(site.server.port) as fetcher:
        ingest.fetch_feeds(db, ids, run_id=run_id, fetcher=fetcher)
        ingest.extract_pending(db, fetcher=fetcher)
    events.detect_pending(db)


def test_the_same_run_executed_twice_leaves_identical_tables(db, server: LocalServer) -> None:
    site = Site(server, n_feeds=3, per_feed=5).build()
    ids = add_feeds(db, site.specs())
    cycle(db, site, ids, "scheduled__1")
    first = snapshot(db)
    assert len(first["articles"]) == 15
    assert first["event_mentions"], "the generated stories should produce mentions"
    pages_before = sum(server.hits(p) for p in site.page_paths)
    cycle(db, site, ids, "scheduled__1")  # Airflow "clear": the same run id again
    second = snapshot(db)
    assert second == first, (checksum(first), checksum(second))
    # Known articles are not downloaded again.
    assert sum(server.hits(p) for p in site.page_paths) == pages_before
    record(faults_injected=1, faults_survived=1, rows_lost=0)


def test_a_stage_retried_after_partial_work_matches_an_undisturbed_run(
    db, server: LocalServer
) -> None:
    site = Site(server, n_feeds=3, per_feed=5).build()
    ids = add_feeds(db, site.specs())
    cycle(db, site, ids, "scheduled__2")
    undisturbed = snapshot(db)

    # Start again from nothing; this time each stage stops half way and is retried.
    with db.cursor() as cur:
        cur.execute(
            "TRUNCATE alerts, event_mentions, events, articles, fetch_log, feeds "
            "RESTART IDENTITY CASCADE"
        )
    db.commit()
    ids = add_feeds(db, site.specs())
    with fetcher_for(server.port) as fetcher:
        ingest.fetch_feeds(db, ids[:1], run_id="scheduled__2", fetcher=fetcher)
        ingest.fetch_feeds(db, ids, run_id="scheduled__2", fetcher=fetcher)  # the retry
        ingest.extract_pending(db, fetcher=fetcher, limit=4)
        ingest.extract_pending(db, fetcher=fetcher)
    events.detect_pending(db, limit=3, batch=2)
    events.detect_pending(db)
    events.detect_pending(db)  # nothing left: must change nothing
    retried = snapshot(db)
    assert retried == undisturbed, (checksum(undisturbed), checksum(retried))
    assert query(db, "SELECT count(*) FROM articles WHERE extraction_status = 'pending'") == [(0,)]
    record(faults_injected=1, faults_survived=1, rows_lost=0)
