"""A worker SIGKILLed at random points of a cycle: articles and feed state commit together."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import random
import signal
import threading
from typing import Any

import pytest

from sinorus import db as sdb
from sinorus import events, ingest
from tests.reliability.support import (
    Site,
    add_feeds,
    checksum,
    fetcher_for,
    query,
    record,
    snapshot,
    wait_until,
)
from tests.support.servers import LocalServer, Reply, Request

pytestmark = pytest.mark.integration

RUN = "scheduled__kill"
KILLS = 6
CONTENT = ("articles", "event_mentions", "events", "alerts")


def worker(url: str, ids: list[int], port: int) -> None:
    """One ingest cycle in its own process, as an Airflow task runs it."""
    conn = sdb.connect(url)
    with fetcher_for(port, max_workers=2) as fetcher:
        ingest.fetch_feeds(conn, ids, run_id=RUN, fetcher=fetcher)
        ingest.extract_pending(conn, fetcher=fetcher)
    conn.close()


def detect_worker(url: str) -> None:
    conn = sdb.connect(url)
    events.detect_pending(conn, batch=5)
    conn.close()


class Killer:
    """Counts requests to the site and SIGKILLs the worker shortly after the n-th one."""

    def __init__(self, server: LocalServer, paths: list[str], rng: random.Random) -> None:
        self.rng = rng
        self.count = 0
        self.target = 0
        self.pid: int | None = None
        self.lock = threading.Lock()
        for path in paths:
            reply = server.routes[path]
            server.routes[path] = self._wrap(reply)

    def _wrap(self, reply: Any) -> Any:
        def handler(req: Request) -> Reply:
            with self.lock:
                self.count += 1
                if self.count == self.target and self.pid is not None:
                    # A little after the answer goes out: the kill lands while the worker
                    # parses, stores, or commits, wherever the delay happens to put it.
                    delay = self.rng.uniform(0.0, 0.03)
                    threading.Timer(delay, self._kill, args=(self.pid,)).start()
            return reply(req) if callable(reply) else reply

        return handler

    @staticmethod
    def _kill(pid: int) -> None:
        with contextlib.suppress(ProcessLookupError):  # it may have finished first
            os.kill(pid, signal.SIGKILL)


def feed_invariant(db, site: Site) -> int:
    """A feed's ETag is stored exactly when all of its entries are; returns feeds advanced."""
    stored = {r[0] for r in query(db, "SELECT entry_url FROM articles")}
    advanced = 0
    for url, etag in query(db, "SELECT url, etag FROM feeds"):
        links = set(site.entries[url])
        if etag is not None:
            advanced += 1
            assert links <= stored, f"{url}: ETag advanced, {len(links - stored)} entries missing"
        else:
            assert not links & stored, f"{url}: entries stored, ETag not advanced"
    urls = [r[0] for r in query(db, "SELECT url FROM articles")]
    assert len(urls) == len(set(urls))
    return advanced


def test_sigkill_at_random_points_loses_and_duplicates_nothing(
    db, server: LocalServer, database_url: str
) -> None:
    site = Site(server, n_feeds=4, per_feed=15, etags=True).build()
    ids = add_feeds(db, site.specs())
    worker(database_url, ids, server.port)
    events.detect_pending(db)
    undisturbed = snapshot(db, CONTENT)
    etags = query(db, "SELECT url, etag FROM feeds ORDER BY url")
    assert len(undisturbed["articles"]) == 60

    with db.cursor() as cur:
        cur.execute(
            "TRUNCATE alerts, event_mentions, events, articles, fetch_log, feeds "
            "RESTART IDENTITY CASCADE"
        )
    db.commit()
    ids = add_feeds(db, site.specs())
    rng = random.Random(20261125)
    killer = Killer(server, site.feed_paths + site.page_paths, rng)
    total_requests = len(site.feed_paths) + len(site.page_paths)
    ctx = multiprocessing.get_context("fork")
    kills = 0
    for attempt in range(KILLS):
        killer.count = 0
        # Half the kills while feeds are stored, half while pages are extracted.
        low, high = (1, len(ids)) if attempt % 2 == 0 else (len(ids) + 1, total_requests)
        killer.target = rng.randint(low, high)
        child = ctx.Process(target=worker, args=(database_url, ids, server.port))
        child.start()
        killer.pid = child.pid
        child.join(120)
        killer.pid = None
        assert child.exitcode in (0, -signal.SIGKILL), child.exitcode
        kills += child.exitcode == -signal.SIGKILL
        feed_invariant(db, site)
        statuses = query(db, "SELECT DISTINCT extraction_status FROM articles")
        assert {s for (s,) in statuses} <= {"pending", "page"}
    assert kills >= KILLS // 2, f"only {kills} of {KILLS} workers were killed mid-cycle"

    worker(database_url, ids, server.port)  # the final, undisturbed attempt
    # Detection killed inside a batch: the outbox table is held, so the worker stops at its
    # first alert, after writing that batch's events and mentions, and is killed there.
    locker = sdb.connect(database_url)
    with locker.cursor() as cur:
        cur.execute("LOCK TABLE alerts IN SHARE MODE")
    child = ctx.Process(target=detect_worker, args=(database_url,))
    child.start()
    try:

        def mid_batch() -> bool:
            return bool(
                query(
                    db,
                    "SELECT a.pid FROM pg_stat_activity a WHERE a.wait_event_type = 'Lock' "
                    "AND a.query LIKE 'INSERT INTO alerts%%' AND EXISTS (SELECT 1 FROM pg_locks "
                    "l WHERE l.pid = a.pid AND l.relation = 'event_mentions'::regclass "
                    "AND l.mode = 'RowExclusiveLock')",
                )
            )

        assert wait_until(mid_batch, 60), "the detect worker never reached its first alert"
        Killer._kill(child.pid or 0)
        child.join(30)
    finally:
        locker.rollback()
        locker.close()
    assert child.exitcode == -signal.SIGKILL
    detect_kills = 1
    # Batches before the killed one are complete; the killed one left nothing behind.
    orphans = query(
        db,
        "SELECT count(*) FROM articles a WHERE a.detected_version IS NULL AND EXISTS "
        "(SELECT 1 FROM event_mentions m WHERE m.article_id = a.id)",
    )
    assert orphans == [(0,)]
    events.detect_pending(db)
    print(f"\nkilled {kills} ingest workers and {detect_kills} detect worker mid-batch")
    assert feed_invariant(db, site) == len(ids)
    recovered = snapshot(db, CONTENT)
    assert recovered == undisturbed, (checksum(undisturbed), checksum(recovered))
    assert query(db, "SELECT url, etag FROM feeds ORDER BY url") == etags
    kills += detect_kills
    record(faults_injected=kills, faults_survived=kills, rows_lost=0, rows_duplicated=0)


def fetch_one(url: str, ids: list[int], port: int) -> None:
    conn = sdb.connect(url)
    with fetcher_for(port) as fetcher:
        ingest.fetch_feeds(conn, ids, run_id=RUN, fetcher=fetcher)
    conn.close()


def test_a_worker_killed_after_storing_articles_before_advancing_the_feed_stores_nothing(
    db, server: LocalServer, database_url: str
) -> None:
    site = Site(server, n_feeds=1, per_feed=5, etags=True).build()
    [feed_id] = add_feeds(db, site.specs())
    # Hold the feed's row: the worker can insert its articles, then waits at the UPDATE of
    # the feed's state, inside the same transaction. That is where it gets killed.
    locker = sdb.connect(database_url)
    with locker.cursor() as cur:
        # NO KEY: the articles' foreign key check (KEY SHARE) passes; the UPDATE waits.
        cur.execute("SELECT id FROM feeds WHERE id = %s FOR NO KEY UPDATE", (feed_id,))
    child = multiprocessing.get_context("fork").Process(
        target=fetch_one, args=(database_url, [feed_id], server.port)
    )
    child.start()
    try:

        def waiting_with_articles_written() -> bool:
            rows = query(
                db,
                "SELECT a.pid FROM pg_stat_activity a WHERE a.wait_event_type = 'Lock' "
                "AND a.query LIKE 'UPDATE feeds SET etag%%' AND EXISTS (SELECT 1 FROM pg_locks l "
                "WHERE l.pid = a.pid AND l.relation = 'articles'::regclass "
                "AND l.mode = 'RowExclusiveLock')",
            )
            return bool(rows)

        assert wait_until(waiting_with_articles_written, 60), "the worker never got there"
        os.kill(child.pid or 0, signal.SIGKILL)
        child.join(30)
    finally:
        locker.rollback()
        locker.close()
    assert child.exitcode == -signal.SIGKILL
    assert query(db, "SELECT count(*) FROM articles") == [(0,)]
    assert query(db, "SELECT etag, last_status FROM feeds") == [(None, None)]
    assert query(db, "SELECT count(*) FROM fetch_log") == [(0,)]
    fetch_one(database_url, [feed_id], server.port)  # the retry stores everything
    assert len(query(db, "SELECT id FROM articles")) == 5
    assert query(db, "SELECT etag FROM feeds") == [('"feed-0"',)]
    record(faults_injected=1, faults_survived=1, rows_lost=0)
