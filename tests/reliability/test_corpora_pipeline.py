"""Every corpus feed (real and malformed) and every corpus page through the whole pipeline:
fetch, extract, detect, cluster. No crash, and every feed and article ends with an outcome."""

from __future__ import annotations

import json
from xml.sax.saxutils import escape

import pytest

from sinorus import events, feeds, ingest
from tests.conftest import shared_path
from tests.reliability.support import NOW, add_feeds, fetcher_for, query, record
from tests.support.servers import LocalServer, Reply

pytestmark = pytest.mark.integration

STUB_PAGE = (
    b"<html><head><title>Moved</title></head><body><p>This story has moved.</p></body></html>"
)


def test_every_corpus_feed_and_page_ends_as_a_recorded_outcome(db, server: LocalServer) -> None:
    feed_root = shared_path("corpora", "feeds")
    html_root = shared_path("corpora", "html")
    feed_files = sorted(p for p in feed_root.glob("*/*") if p.name != "index.json")
    cases = [json.loads(line) for line in (html_root / "expected.jsonl").read_text().splitlines()]
    pages = sorted(html_root.glob("*.html"))

    specs = []
    for i, path in enumerate(feed_files):
        headers = {"Content-Type": "text/html" if path.suffix == ".html" else "application/xml"}
        if path.suffix == ".gz":
            headers["Content-Encoding"] = "gzip"
        server.routes[f"/corpus/{i}"] = Reply(200, path.read_bytes(), headers)
        specs.append(feeds.FeedSpec(path.name, server.url(f"/corpus/{i}"), None))
    # One more feed lists every corpus page, served on loopback under its own name.
    urls = {c["file"]: c["url"] or c["file"] for c in cases}
    items = []
    for page in pages:
        server.routes[f"/html/{page.name}"] = Reply(
            200, page.read_bytes(), {"Content-Type": "text/html"}
        )
        items.append(
            f"<item><title>{escape(page.stem)}</title><link>{server.url('/html/' + page.name)}"
            f"</link><guid isPermaLink='false'>{escape(urls.get(page.name, page.name))}</guid>"
            f"<pubDate>{NOW.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate></item>"
        )
    server.routes["/pages.xml"] = Reply(
        200,
        (
            "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Pages"
            "</title>" + "".join(items) + "</channel></rss>"
        ).encode(),
        {"Content-Type": "application/rss+xml"},
    )
    specs.append(feeds.FeedSpec("corpus pages", server.url("/pages.xml"), None))
    server.routes["/elsewhere"] = Reply(200, STUB_PAGE, {"Content-Type": "text/html"})

    ids = add_feeds(db, specs)
    with fetcher_for(server.port) as fetcher:
        summary = ingest.fetch_feeds(db, ids, run_id="corpora", fetcher=fetcher)
        # The real feeds link to the open web; nothing may leave this machine, so their
        # entries are pointed at a loopback stub before their pages are fetched.
        with db.cursor() as cur:
            cur.execute(
                "UPDATE articles SET url = %s || '/elsewhere?u=' || md5(url) WHERE url NOT LIKE %s",
                (server.base, server.base + "/%"),
            )
        db.commit()
        outside = query(db, "SELECT url FROM articles WHERE url NOT LIKE %s", server.base + "/%")
        assert outside == []
        extracted = ingest.extract_pending(db, fetcher=fetcher, limit=5000)
    detected = events.detect_pending(db, limit=5000)

    log = dict(
        query(db, "SELECT f.name, l.status FROM fetch_log l JOIN feeds f ON f.id = l.feed_id")
    )
    assert set(log) == {s.name for s in specs}  # every feed has its outcome
    assert summary.ok + summary.failed + summary.not_modified == len(specs)
    assert log["corpus pages"] == "ok"
    outcomes = query(
        db, "SELECT extraction_status, count(*), count(extraction_error) FROM articles GROUP BY 1"
    )
    by_status = {s: (n, errors) for s, n, errors in outcomes}
    assert "pending" not in by_status  # every article was read
    assert set(by_status) <= {"page", "summary", "title_only", "duplicate"}
    total = sum(n for n, _ in by_status.values())
    assert total == extracted.articles == summary.new_articles
    assert detected.articles == total - by_status.get("duplicate", (0, 0))[0]
    assert detected.errors == []
    [(from_pages,)] = query(
        db,
        "SELECT count(*) FROM articles a JOIN feeds f ON f.id = a.feed_id "
        "WHERE f.name = 'corpus pages' AND a.extraction_status <> 'pending'",
    )
    assert from_pages == len(pages)  # every corpus page went through extraction and detection
    print(
        f"\ncorpora through the pipeline: {len(feed_files)} feeds ({summary.ok} ok, "
        f"{summary.failed} failed), {len(pages)} pages, {total} articles {dict(by_status)}, "
        f"{detected.mentions} mentions"
    )
    record(bad_inputs=len(feed_files) + len(pages))
