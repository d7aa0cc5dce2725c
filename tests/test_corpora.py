"""Real feeds and pages from public test suites (../shared/corpora) through the pipeline."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sinorus import extract, feeds, ingest
from sinorus.fetch import FetchConfig, Fetcher
from tests.conftest import shared_path
from tests.support.figures import report_figure
from tests.support.servers import LocalServer, Reply

pytestmark = pytest.mark.integration


def corpus_feeds() -> list[Path]:
    root = shared_path("corpora", "feeds")
    return sorted(p for p in root.glob("*/*") if p.name != "index.json")


def test_every_corpus_feed_ends_as_a_recorded_outcome(db, server: LocalServer) -> None:
    files = corpus_feeds()
    specs = []
    for i, path in enumerate(files):
        headers = {"Content-Type": "application/xml"}
        if path.suffix == ".gz":
            headers["Content-Encoding"] = "gzip"
        if path.suffix == ".html":
            headers["Content-Type"] = "text/html"
        server.routes[f"/f{i}"] = Reply(200, path.read_bytes(), headers)
        specs.append(feeds.FeedSpec(path.name, server.url(f"/f{i}"), None))
    feeds.sync_feeds(db, specs)
    ids = feeds.due_feed_ids(db, datetime.now(UTC))
    fetcher = Fetcher(FetchConfig(allow=(f"127.0.0.1:{server.port}",), retries=0))
    summary = ingest.fetch_feeds(db, ids, run_id="corpus", fetcher=fetcher)
    with db.cursor() as cur:
        cur.execute(
            "SELECT f.name, l.status, l.items_seen, l.new_items, l.bozo, l.error "
            "FROM fetch_log l JOIN feeds f ON f.id = l.feed_id"
        )
        log = {row[0]: row[1:] for row in cur.fetchall()}
    db.rollback()
    assert set(log) == {p.name for p in files}  # every feed has its outcome row
    assert summary.ok + summary.failed + summary.not_modified == len(files)
    # Real news feeds parse with their entries; the HTML page is recognised as not a feed.
    for name in ("guardian-us-2018.xml", "oren-ru-windows1251.xml", "techcrunch.xml"):
        assert log[name][0] == "ok" and log[name][2] > 0, (name, log[name])
    assert log["nfp-notafeed.html"][0] == "failed"
    assert "not a feed" in log["nfp-notafeed.html"][4]
    failed_or_bozo = [n for n, row in log.items() if row[0] != "ok" or row[3]]
    report_figure(
        f"corpus feeds: {len(files)} served, {summary.ok} ok, {summary.failed} failed, "
        f"{len(failed_or_bozo)} failed or bozo, {summary.new_articles} articles stored"
    )
    with db.cursor() as cur:
        cur.execute(
            "SELECT title FROM articles a JOIN feeds f ON f.id = a.feed_id "
            "WHERE f.name = 'oren-ru-windows1251.xml' LIMIT 3"
        )
        titles = [r[0] for r in cur.fetchall()]
    db.rollback()
    assert titles and all(any("\u0400" <= ch <= "\u04ff" for ch in t) for t in titles)


def test_extraction_hit_rate_on_corpus_pages() -> None:
    root = shared_path("corpora", "html")
    cases = [json.loads(line) for line in (root / "expected.jsonl").read_text().splitlines()]
    with_hits = with_total = without_clean = without_total = pages_used = 0
    for case in cases:
        ex = extract.extract_article((root / case["file"]).read_bytes(), url=case["url"])
        body = ex.body or ""
        pages_used += ex.status == "page"
        with_total += len(case["with"])
        with_hits += sum(s in body for s in case["with"])
        without_total += len(case["without"])
        without_clean += sum(s not in body for s in case["without"])
    recall = with_hits / with_total
    cleanliness = without_clean / without_total
    report_figure(
        f"extraction on {len(cases)} corpus pages: {pages_used} used as article body; "
        f"expected snippets found {with_hits}/{with_total} ({recall:.1%}); "
        f"boilerplate kept out {without_clean}/{without_total} ({cleanliness:.1%})"
    )
    # Floors pinned just under what trafilatura reaches here; lower them only on purpose.
    assert recall >= FLOOR_RECALL
    assert cleanliness >= FLOOR_CLEAN


FLOOR_RECALL = 0.92
FLOOR_CLEAN = 0.92
