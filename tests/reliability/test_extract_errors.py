"""A page that yields no article is recorded with the reason, like every other failure."""

from __future__ import annotations

import pytest

from sinorus import extract, feeds, ingest
from tests.reliability.support import NOW, add_feeds, fetcher_for, query, rss
from tests.support.servers import LocalServer, Reply

pytestmark = pytest.mark.integration

# Markup from which trafilatura extracts nothing at all (it returns no document).
NO_DOCUMENT = b"<item<link<</link<description>!</description<"


def test_a_page_with_no_document_records_why_the_summary_was_used() -> None:
    ex = extract.extract_article(
        NO_DOCUMENT, url="http://x.example/a", entry_summary="The feed's summary."
    )
    assert ex.status == "summary"
    assert ex.error, "the page was fetched but not used, and nothing says why"


def test_through_ingest_the_reason_is_stored(db, server: LocalServer) -> None:
    server.routes["/page"] = Reply(200, NO_DOCUMENT, {"Content-Type": "text/html"})
    server.routes["/feed.xml"] = Reply(200, rss([("g", server.url("/page"), "Story", NOW)]), {})
    ids = add_feeds(db, [feeds.FeedSpec("F", server.url("/feed.xml"), "en")])
    with fetcher_for(server.port) as fetcher:
        ingest.fetch_feeds(db, ids, run_id="r", fetcher=fetcher)
        ingest.extract_pending(db, fetcher=fetcher)
    [(status, error)] = query(db, "SELECT extraction_status, extraction_error FROM articles")
    assert status == "summary" and error
