"""A whole ingest cycle beside servers that hang, reset, trickle, loop or send gigabytes."""

from __future__ import annotations

import json
import multiprocessing
import resource
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from sinorus import db as sdb
from sinorus import feeds, ingest
from tests.reliability.support import NOW, Site, add_feeds, fetcher_for, query, record, rss
from tests.support import badservers
from tests.support.servers import LocalServer, Reply

pytestmark = pytest.mark.integration

GIGABYTE = 1 << 30
# Peak memory the cycle may add. The fetcher keeps at most max_bytes (5 MB) of one body,
# so a few concurrent capped bodies fit well inside; one whole gigabyte would not.
MAX_GROWTH_MB = 120


def gigabyte() -> Iterator[bytes]:
    chunk = b"<item>" + b"x" * 65_530
    for _ in range(GIGABYTE // len(chunk)):
        yield chunk


def cycle_in_child(url: str, ids: list[int], ports: list[int], out: str) -> None:
    """Run the cycle in a fresh process and report its peak-memory growth."""
    conn = sdb.connect(url)
    with fetcher_for(*ports, read_timeout=1.0, total_timeout=2.5) as fetcher:
        ingest.fetch_feeds(conn, ids[:0], run_id="warm-up", fetcher=fetcher)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        fetched = ingest.fetch_feeds(conn, ids, run_id="scheduled__bad", fetcher=fetcher)
        extracted = ingest.extract_pending(conn, fetcher=fetcher)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    conn.close()
    Path(out).write_text(
        json.dumps(
            {
                "growth_kb": after - before,
                "fetched": fetched.as_dict(),
                "extracted": extracted.as_dict(),
            }
        )
    )


def test_good_feeds_survive_every_kind_of_bad_server_in_bounded_memory(
    db, server: LocalServer, tmp_path: Path, database_url: str
) -> None:
    stop = threading.Event()
    with ExitStack() as stack:
        bad = {
            "hang": stack.enter_context(badservers.RawServer(badservers.hang(stop))),
            "reset": stack.enter_context(badservers.RawServer(badservers.reset)),
            "trickle": stack.enter_context(badservers.RawServer(badservers.trickle(0.2))),
            "gigabyte": stack.enter_context(
                badservers.RawServer(
                    badservers.stream(gigabyte, {"Content-Type": "application/rss+xml"})
                )
            ),
            "gzip-bomb": stack.enter_context(
                badservers.RawServer(
                    badservers.stream(
                        lambda: badservers.gzip_zeros(GIGABYTE),
                        {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"},
                    )
                )
            ),
        }
        stack.callback(stop.set)
        server.routes["/loop/a.xml"] = Reply(302, b"", {"Location": "/loop/b.xml"})
        server.routes["/loop/b.xml"] = Reply(302, b"", {"Location": "/loop/a.xml"})
        site = Site(server, n_feeds=2, per_feed=4).build()
        # A good feed whose entries link to the bad servers: their pages fail, not the feed.
        links = [(f"bad-{k}", s.url(f"/{k}.html"), f"Page on {k}", NOW) for k, s in bad.items()]
        server.routes["/feeds/bad-pages.xml"] = Reply(200, rss(links), {})
        specs = [
            *site.specs(),
            feeds.FeedSpec("Bad pages", server.url("/feeds/bad-pages.xml"), "en"),
            feeds.FeedSpec("loop", server.url("/loop/a.xml"), "en"),
            *(feeds.FeedSpec(k, s.url("/feed.xml"), "en") for k, s in bad.items()),
        ]
        ids = add_feeds(db, specs)
        out = tmp_path / "child.json"
        ports = [server.port, *(s.port for s in bad.values())]
        child = multiprocessing.get_context("spawn").Process(
            target=cycle_in_child, args=(database_url, ids, ports, str(out))
        )
        child.start()
        child.join(180)
        assert child.exitcode == 0, "the ingest cycle crashed"
    report = json.loads(out.read_text())

    log = dict(
        query(
            db,
            "SELECT f.name, l.status || ': ' || coalesce(l.error, '') FROM fetch_log l "
            "JOIN feeds f ON f.id = l.feed_id WHERE l.run_id = 'scheduled__bad'",
        )
    )
    assert len(log) == len(specs)
    for name in ("Feed 0", "Feed 1", "Bad pages"):
        assert log[name].startswith("ok"), log[name]
    expected = {
        "hang": "timed out",
        "trickle": "timed out",
        "reset": "connection",
        "loop": "redirect loop",
        "gigabyte": "cap",
        "gzip-bomb": "cap",
    }
    for name, words in expected.items():
        assert log[name].startswith("failed: ") and words in log[name], (name, log[name])

    good = query(
        db,
        "SELECT count(*) FROM articles a JOIN feeds f ON f.id = a.feed_id "
        "WHERE f.name LIKE 'Feed %%' AND a.extraction_status = 'page'",
    )
    assert good == [(8,)]  # every good article, with its page
    pages = dict(
        query(
            db,
            "SELECT a.guid, a.extraction_status || ': ' || coalesce(a.extraction_error, '') "
            "FROM articles a JOIN feeds f ON f.id = a.feed_id WHERE f.name = 'Bad pages'",
        )
    )
    assert len(pages) == len(bad)
    for guid, outcome in pages.items():
        # The page failed with its reason kept; the feed's summary stands in for it.
        assert outcome.startswith("summary: ") and len(outcome) > len("summary: "), (guid, outcome)
    growth_mb = report["growth_kb"] / 1024
    print(
        f"\nbad servers: {len(expected)} bad feeds and {len(bad)} bad pages recorded, "
        f"2 GB offered, peak memory grew {growth_mb:.1f} MB"
    )
    assert growth_mb < MAX_GROWTH_MB, report
    record(
        faults_injected=len(expected) + len(bad),
        faults_survived=len(expected) + len(bad),
        bad_inputs=len(expected) + len(bad),
        rows_lost=0,
    )
