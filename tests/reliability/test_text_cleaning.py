"""Titles with control characters and bidirectional overrides are stored cleaned, whether
they came from the feed or from the page."""

from __future__ import annotations

import re

import pytest

from sinorus import feeds, ingest
from tests.reliability.support import NOW, add_feeds, fetcher_for, query, record
from tests.support.servers import LocalServer, Reply

pytestmark = pytest.mark.integration

# C0/C1 controls (tab, newline and carriage return become spaces anyway) and the bidi
# embedding, override and isolate characters that can make a title read backwards.
UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

PUBDATE = NOW.strftime("%a, %d %b %Y %H:%M:%S +0000")
FEED_TITLES = {
    "rlo-raw": "Lavrov meets Wang Yi \u202egnp.exe\u202c in Moscow",
    "rlo-ref": "Lavrov meets Wang Yi &#x202E;gnp.exe&#x202C; in Moscow",
    "isolates": "Talks &#x2067;\u05e9\u05dc\u05d5\u05dd&#x2069; ended",
    "escape": "Red \x1b[31malert\x1b[0m title",  # a terminal escape, ill-formed XML
    "c1": "C1 &#x85;control&#x9b; chars",
}


def page(title: str) -> bytes:
    paragraphs = "".join(
        f"<p>Paragraph {i}: the ministers discussed trade, energy and transport links.</p>"
        for i in range(12)
    )
    return (
        f"<html><head><meta charset='utf-8'><title>{title}</title></head><body><article>"
        f"<h1>{title}</h1>{paragraphs}</article></body></html>"
    ).encode()


def test_control_and_bidi_characters_are_removed_from_stored_titles(
    db, server: LocalServer
) -> None:
    items = []
    for key, title in FEED_TITLES.items():
        server.routes[f"/p/{key}"] = Reply(200, page("Plain page title"), {})
        items.append(
            f"<item><guid isPermaLink='false'>{key}</guid><title>{title}</title>"
            f"<link>{server.url('/p/' + key)}</link><pubDate>{PUBDATE}</pubDate></item>"
        )
    # No title in the feed: the page's own title, with an override in it, is stored.
    server.routes["/p/page-title"] = Reply(
        200, page("Xi meets Putin &#x202E;txt.exe&#x202C; \u2066x\u2069"), {}
    )
    items.append(
        "<item><guid isPermaLink='false'>page-title</guid>"
        f"<link>{server.url('/p/page-title')}</link></item>"
    )
    body = (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>t</title>"
        + "".join(items)
        + "</channel></rss>"
    ).encode()
    server.routes["/feed.xml"] = Reply(200, body, {"Content-Type": "application/rss+xml"})
    ids = add_feeds(db, [feeds.FeedSpec("Titles", server.url("/feed.xml"), "en")])
    with fetcher_for(server.port) as fetcher:
        ingest.fetch_feeds(db, ids, run_id="titles", fetcher=fetcher)
        ingest.extract_pending(db, fetcher=fetcher)
    rows = query(db, "SELECT guid, title FROM articles ORDER BY guid")
    assert {g for g, _ in rows} == {*FEED_TITLES, "page-title"}
    dirty = {g: t for g, t in rows if t is None or UNSAFE.search(t)}
    assert dirty == {}, {g: ascii(t) for g, t in dirty.items()}
    titles = dict(rows)
    assert "gnp.exe" in titles["rlo-raw"]  # the text stays; only the override goes
    assert "Xi meets Putin" in titles["page-title"]
    record(bad_inputs=len(rows))
