"""PostgreSQL crashing in the middle of a load: the stage fails cleanly, the rerun completes.

A private cluster is started for these tests alone, so stopping it disturbs nobody else."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import psycopg2
import pytest

from sinorus import events, ingest, pipeline
from tests.reliability.support import (
    PrivatePostgres,
    Site,
    add_feeds,
    checksum,
    fetcher_for,
    private_postgres,
    query,
    record,
    snapshot,
)
from tests.support.servers import LocalServer, Reply, Request

pytestmark = pytest.mark.integration

RUN = "scheduled__db_fault"


@pytest.fixture
def pg() -> Iterator[PrivatePostgres]:
    yield from private_postgres()


def stop_on_request(pg: PrivatePostgres, reply: Reply) -> tuple[object, threading.Event]:
    """A route that crashes the cluster (once) before answering."""
    done = threading.Event()
    lock = threading.Lock()

    def handler(req: Request) -> Reply:
        with lock:
            if not done.is_set():
                pg.stop("immediate")
                done.set()
        return reply

    return handler, done


def assert_feed_state_matches_articles(conn, site: Site) -> int:
    """Each feed has advanced its state exactly when all its entries are stored."""
    rows = query(conn, "SELECT url, last_status FROM feeds")
    stored = {r[0] for r in query(conn, "SELECT entry_url FROM articles")}
    logged = {
        r[0] for r in query(conn, "SELECT f.url FROM fetch_log l JOIN feeds f ON f.id = l.feed_id")
    }
    advanced = 0
    for url, status in rows:
        links = set(site.entries[url])
        if status == "ok":
            advanced += 1
            assert links <= stored, f"{url}: state advanced but entries missing"
            assert url in logged
        else:
            assert not links & stored, f"{url}: entries stored without the feed state"
            assert url not in logged
    return advanced


def test_postgres_crash_mid_fetch_and_mid_extract_then_rerun_equals_undisturbed(
    db, server: LocalServer, pg: PrivatePostgres
) -> None:
    site = Site(server, n_feeds=4, per_feed=6).build()

    # The reference: the same cycle on the shared database with nothing going wrong.
    ids = add_feeds(db, site.specs())
    with fetcher_for(server.port) as fetcher:
        ingest.fetch_feeds(db, ids, run_id=RUN, fetcher=fetcher)
        ingest.extract_pending(db, fetcher=fetcher)
    events.detect_pending(db)
    undisturbed = snapshot(db)
    assert len(undisturbed["articles"]) == 24

    # 1. The cluster crashes when the third feed is requested.
    conn = pg.connect()
    ids = add_feeds(conn, site.specs())
    third = site.feed_paths[2]
    original = server.routes[third]
    assert isinstance(original, Reply)
    server.routes[third], crashed = stop_on_request(pg, original)
    with fetcher_for(server.port, max_workers=1) as fetcher, pytest.raises(psycopg2.Error):
        ingest.fetch_feeds(conn, ids, run_id=RUN, fetcher=fetcher)
    assert crashed.is_set()
    conn.close()
    pg.start()
    server.routes[third] = original
    conn = pg.connect()
    advanced = assert_feed_state_matches_articles(conn, site)
    assert 0 < advanced < 4, advanced  # the crash landed mid-batch
    with fetcher_for(server.port) as fetcher:
        ingest.fetch_feeds(conn, ids, run_id=RUN, fetcher=fetcher)  # the task's retry
    assert assert_feed_state_matches_articles(conn, site) == 4

    # 2. The cluster crashes when the tenth page is requested during extraction.
    tenth = site.page_paths[9]
    page_reply = server.routes[tenth]
    assert isinstance(page_reply, Reply)
    server.routes[tenth], crashed = stop_on_request(pg, page_reply)
    with fetcher_for(server.port, max_workers=1) as fetcher, pytest.raises(psycopg2.Error):
        ingest.extract_pending(conn, fetcher=fetcher)
    assert crashed.is_set()
    conn.close()
    pg.start()
    server.routes[tenth] = page_reply
    conn = pg.connect()
    # No half-extracted article: each is still pending with no body, or fully extracted.
    states = query(
        conn, "SELECT extraction_status, body IS NOT NULL, content_hash IS NOT NULL FROM articles"
    )
    assert {s for s in states} <= {("pending", False, False), ("page", True, True)}
    assert ("pending", False, False) in states and ("page", True, True) in states
    with fetcher_for(server.port) as fetcher:
        ingest.extract_pending(conn, fetcher=fetcher)
    events.detect_pending(conn)
    recovered = snapshot(conn)
    conn.close()
    assert recovered == undisturbed, (checksum(undisturbed), checksum(recovered))
    record(faults_injected=2, faults_survived=2, rows_lost=0)


def test_unreachable_postgres_fails_the_stage_with_a_clear_error(
    pg: PrivatePostgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    pg.stop("immediate")
    monkeypatch.setenv("SINORUS_DATABASE_URL", pg.url)
    with pytest.raises(psycopg2.OperationalError) as err:
        pipeline.fetch_batch([1], "scheduled__down")
    assert str(pg.port) in str(err.value)  # the message says which server was unreachable
    with pytest.raises(psycopg2.OperationalError):
        pipeline.extract_articles()
    record(faults_injected=1, faults_survived=1)
