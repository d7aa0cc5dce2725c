"""Helpers for the reliability suite: a generated news site, table checksums, a private
PostgreSQL cluster, and the figures the suite reports."""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import psycopg2
import psycopg2.extensions

# Storing events asks Airflow whether alert connections exist: keep Airflow out of ~/airflow.
import tests.airflow_env  # noqa: F401
from sinorus import db as sdb
from sinorus import feeds
from sinorus.fetch import FetchConfig, Fetcher
from tests.support.servers import LocalServer, Reply, Request

# Fixed once per process, so two runs inside one test see identical feeds and pages.
NOW = datetime.now(UTC).replace(microsecond=0)

# Sentences the detector reads as China–Russia events, one story per index modulo len.
STORIES = (
    "Chinese Foreign Minister Wang Yi held talks with Russian Foreign Minister Sergey Lavrov "
    "in Beijing on {weekday}, the two ministries said in statements after the meeting.",
    "Chinese President Xi Jinping held a phone call with Russian President Vladimir Putin on "
    "{weekday}, the Kremlin said, and the two leaders discussed trade and energy.",
    "Chinese Defence Minister Dong Jun met Russian Defence Minister Andrei Belousov in Moscow "
    "on {weekday} to discuss joint exercises planned for the coming months.",
    "Chinese Premier Li Qiang and Russian Prime Minister Mikhail Mishustin signed twelve "
    "cooperation agreements in Beijing on {weekday}, state media reported.",
)
FILLER = (
    "Officials described the exchange as constructive and said further contacts would follow. "
    "Analysts noted that the two governments have kept up a dense calendar of visits this year."
)


def story_page(index: int, published: datetime) -> bytes:
    """An article page whose text differs per index and reports one of STORIES."""
    weekday = published.strftime("%A")
    lead = STORIES[index % len(STORIES)].format(weekday=weekday)
    paragraphs = "".join(
        f"<p>{escape(lead) if i == 0 else FILLER} (Report {index}, part {i}.)</p>" for i in range(6)
    )
    title = f"Report {index}: {lead.split(',')[0][:80]}"
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title></head><body><nav>Home | World</nav>"
        f"<article><h1>{escape(title)}</h1>{paragraphs}</article>"
        "<footer>Copyright the outlet</footer></body></html>"
    ).encode()


def rss(items: list[tuple[str, str, str, datetime]], title: str = "Feed") -> bytes:
    """An RSS 2.0 document of (guid, link, title, published) items."""
    body = "".join(
        f"<item><guid isPermaLink='false'>{escape(guid)}</guid><link>{escape(link)}</link>"
        f"<title>{escape(t)}</title><description>Summary of {escape(t)}, long enough to stand "
        f"in for the article when its page is unusable.</description>"
        f"<pubDate>{format_datetime(when)}</pubDate></item>"
        for guid, link, t, when in items
    )
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
        f"<title>{escape(title)}</title><link>http://example.org/</link>{body}</channel></rss>"
    ).encode()


@dataclass
class Site:
    """A loopback news site: `n_feeds` feeds of `per_feed` items, each linking to a page."""

    server: LocalServer
    n_feeds: int = 4
    per_feed: int = 6
    etags: bool = False
    feed_paths: list[str] = field(default_factory=list)
    page_paths: list[str] = field(default_factory=list)
    entries: dict[str, list[str]] = field(default_factory=dict)  # feed url -> page urls

    def build(self) -> Site:
        n = 0
        for f in range(self.n_feeds):
            items = []
            for _ in range(self.per_feed):
                # Distinct publication minutes: detection reads articles in this order.
                when = NOW - timedelta(hours=2, minutes=n)
                path = f"/news/{f}/story-{n}.html"
                self.server.routes[path] = Reply(
                    200, story_page(n, when), {"Content-Type": "text/html; charset=utf-8"}
                )
                self.page_paths.append(path)
                items.append((f"guid-{n}", self.server.url(path), f"Story {n}", when))
                n += 1
            feed_path = f"/feeds/{f}.xml"
            body = rss(items, title=f"Feed {f}")
            self.server.routes[feed_path] = self._feed_route(body, f'"feed-{f}"')
            self.feed_paths.append(feed_path)
            self.entries[self.server.url(feed_path)] = [i[1] for i in items]
        return self

    def _feed_route(self, body: bytes, etag: str) -> Reply | Any:
        headers = {"Content-Type": "application/rss+xml"}
        if not self.etags:
            return Reply(200, body, headers)

        def handler(req: Request) -> Reply:
            if req.headers.get("if-none-match") == etag:
                return Reply(304, b"", {"ETag": etag})
            return Reply(200, body, headers | {"ETag": etag})

        return handler

    def specs(self) -> list[feeds.FeedSpec]:
        return [
            feeds.FeedSpec(f"Feed {i}", self.server.url(p), "en")
            for i, p in enumerate(self.feed_paths)
        ]


def fetcher_for(*ports: int, **overrides: Any) -> Fetcher:
    """A fetcher allowed to reach these loopback ports, with short limits and no retries."""
    config: dict[str, Any] = {
        "allow": tuple(f"127.0.0.1:{p}" for p in ports),
        "retries": 0,
        "connect_timeout": 2.0,
        "read_timeout": 2.0,
        "total_timeout": 4.0,
    } | overrides
    return Fetcher(FetchConfig(**config))


def add_feeds(conn: psycopg2.extensions.connection, specs: list[feeds.FeedSpec]) -> list[int]:
    feeds.sync_feeds(conn, specs)
    return feeds.due_feed_ids(conn, datetime.now(UTC) + timedelta(days=1))


def query(conn: psycopg2.extensions.connection, sql: str, *args: object) -> list[tuple[Any, ...]]:
    with conn.cursor() as cur:
        cur.execute(sql, args)
        rows = list(cur.fetchall())
    conn.commit()
    return rows


# What the database holds, without ids, timestamps or run ids. Foreign keys are replaced by the
# natural key they point at (a feed's url, an article's url), so two databases compare equal
# when they hold the same facts. fetch_log.new_items and ms are left out: a retried run's row
# says what that attempt newly stored and how long it took, which legitimately differs.
SNAPSHOT_QUERIES = {
    "feeds": (
        "SELECT url, name, lang, enabled, tags, etag, last_modified, ttl_seconds, last_status, "
        "http_status, consecutive_failures, last_error FROM feeds"
    ),
    "fetch_log": (
        "SELECT f.url, l.status, l.http_status, l.items_seen, l.bytes, l.bozo, l.error "
        "FROM fetch_log l JOIN feeds f ON f.id = l.feed_id"
    ),
    "articles": (
        "SELECT a.url, a.entry_url, f.url, a.outlet, a.guid, a.title, a.author, a.summary, "
        "a.published_at, a.lang, a.body, a.content_hash, a.extraction_status, "
        "a.extraction_error, d.url, a.detected_version, a.site_name "
        "FROM articles a LEFT JOIN feeds f ON f.id = a.feed_id "
        "LEFT JOIN articles d ON d.id = a.duplicate_of"
    ),
    "event_mentions": (
        "SELECT a.url, m.ordinal, e.headline, m.type, m.status, m.event_date, m.date_text, "
        "m.location, m.participants::text, m.level, m.round, m.evidence, m.highlights::text, "
        "m.confidence, m.cameo, m.plover, m.background, m.detector_version "
        "FROM event_mentions m JOIN articles a ON a.id = m.article_id "
        "LEFT JOIN events e ON e.id = m.event_id"
    ),
    "events": (
        "SELECT type, status, event_date, location, participants::text, people, level, round, "
        "headline, cameo, plover, background, n_articles, n_outlets FROM events"
    ),
    "alerts": (
        "SELECT e.headline, al.channel, al.kind, al.status, al.attempts, al.last_error, "
        "al.event_status, al.muted_by FROM alerts al JOIN events e ON e.id = al.event_id"
    ),
}


def snapshot(
    conn: psycopg2.extensions.connection, tables: tuple[str, ...] | None = None
) -> dict[str, list[str]]:
    """Every listed table's rows as sorted text (a multiset), ids and timestamps left out."""
    out: dict[str, list[str]] = {}
    for table in tables or tuple(SNAPSHOT_QUERIES):
        rows = query(conn, SNAPSHOT_QUERIES[table])
        out[table] = sorted(repr(tuple(r)) for r in rows)
    return out


def checksum(snap: dict[str, list[str]]) -> dict[str, str]:
    """A short digest per table, for messages and for the figures."""
    return {
        table: hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16]
        for table, rows in snap.items()
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (Debian: postgresql)")
    return found


class PrivatePostgres:
    """A throwaway PostgreSQL cluster on a free loopback port, which a test may stop at will."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="sinorus-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.stops = 0

    def _run(self, args: list[str]) -> None:
        if os.geteuid() == 0:
            # initdb refuses to run as root: the machine's postgres user owns the cluster.
            args = ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(f"'{a}'" for a in args)]
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def init(self) -> PrivatePostgres:
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        initdb = _pg_bin("initdb")
        self._run(
            [
                initdb,
                "-U",
                "postgres",
                "-D",
                str(self.data),
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        )
        return self.start()

    def start(self) -> PrivatePostgres:
        opts = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=20"
        )
        log = str(self.dir / "log")
        self._run([_pg_bin("pg_ctl"), "-D", str(self.data), "-o", opts, "-l", log, "-w", "start"])
        return self

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server; 'immediate' is a crash: no checkpoint, connections cut."""
        self.stops += 1
        self._run([_pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"])

    def running(self) -> bool:
        try:
            psycopg2.connect(self.url, connect_timeout=2).close()
        except psycopg2.OperationalError:
            return False
        return True

    def connect(self) -> psycopg2.extensions.connection:
        return sdb.connect(self.url)

    def destroy(self) -> None:
        if self.running():
            self.stop("fast")
        shutil.rmtree(self.dir, ignore_errors=True)


def private_postgres() -> Iterator[PrivatePostgres]:
    """Generator for a fixture: an initialised, started, migrated cluster, removed after."""
    pg = PrivatePostgres().init()
    try:
        conn = pg.connect()
        sdb.migrate(conn)
        conn.close()
        yield pg
    finally:
        pg.destroy()


# Figures: each test adds what it injected or tried; scripts/reliability_report.py sums them.
FIGURES_ENV = "SINORUS_RELIABILITY_FIGURES"


def record(**counts: int) -> None:
    """Add to the suite's figures (a JSON-lines file named by the env var, when set)."""
    target = os.environ.get(FIGURES_ENV)
    line = json.dumps(counts, sort_keys=True)
    print(f"\nreliability figures: {line}")
    if target:
        with Path(target).open("a", encoding="utf-8") as out:
            out.write(line + "\n")


def wait_until(predicate: Any, seconds: float = 30.0) -> bool:
    """Poll a condition (for a subprocess to reach a state); not a timing assertion."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


# Fuzzing the feed-to-article path ---------------------------------------------------------

FUZZ_FEED_URL = "http://fuzz.example/feed.xml"
FUZZ_NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
EXTRACT_STATUSES = {"page", "summary", "title_only"}


def feed_to_article(data: bytes) -> int:
    """Bytes as a feed, its entries normalised, the same bytes as each entry's page, the
    article's text through the detector; checks each stage's contract, returns mentions."""
    from sinorus import extract, parse
    from sinorus.detect import detector

    parsed = parse.parse_feed(data, url=FUZZ_FEED_URL, now=FUZZ_NOW)
    assert parsed.error is None or isinstance(parsed.error, str)
    found = 0
    for entry in parsed.entries[:3]:
        assert entry.url.startswith(("http://", "https://"))
        for page in (data, None):
            ex = extract.extract_article(
                page,
                url=entry.url,
                entry_title=entry.title,
                entry_summary=entry.summary,
                page_error=None if page is not None else "no page",
            )
            assert ex.status in EXTRACT_STATUSES
            assert ex.body is None or len(ex.body) <= max(extract.MAX_BODY_CHARS, 20_000)
            assert (ex.body is None) == (ex.content_hash is None)
            if page is None:
                assert ex.status != "page" and ex.error == "no page"
            mentions = detector.detect(
                ex.body or "", lang=ex.lang, published=FUZZ_NOW.date(), title=ex.title
            )
            for m in mentions:
                for start, end in m.highlights:
                    assert 0 <= start < end <= len(m.evidence)
            found += len(mentions)
    return found


FUZZ_SEED_FEED = (
    b"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Seed</title>"
    b"<item><title>Wang Yi holds talks with Lavrov</title><link>http://fuzz.example/a</link>"
    b"<guid>a</guid><pubDate>Thu, 19 Nov 2026 09:00:00 +0000</pubDate><description>"
    b"Chinese Foreign Minister Wang Yi held talks with Russian Foreign Minister Sergey Lavrov "
    b"in Beijing on Wednesday.</description></item></channel></rss>"
)


def fuzz_seeds(shared: Path | None = None) -> list[bytes]:
    """Seed inputs: one built-in feed, plus the shared corpora's feeds when present."""
    seeds = [FUZZ_SEED_FEED]
    if shared is not None and shared.is_dir():
        for path in sorted(shared.glob("feeds/*/*")):
            if path.suffix in (".xml", ".html") and path.stat().st_size < 20_000:
                seeds.append(path.read_bytes())
    return seeds


def fuzz_inputs(seeds: list[bytes]) -> Any:
    """A hypothesis strategy: raw bytes, or a seed mutated by splices, flips and inserts."""
    from hypothesis import strategies as st

    tokens = st.sampled_from(
        [
            b"<item>",
            b"</item>",
            b"<![CDATA[",
            b"]]>",
            b"&amp;",
            b"&#x202E;",
            b"&#0;",
            b"<!DOCTYPE rss [<!ENTITY e 'x'>]>",
            b"&e;",
            b"<link>",
            b"</link>",
            b"\xff\xfe",
            b"\xef\xbb\xbf",
            b"<entry>",
            b"<title>",
            b"</title>",
            b"\x00",
            b"\xe4\xb9\xa0",
            b"encoding='utf-16'",
            b"<pubDate>",
            b"9999",
            b"http://",
            b"javascript:",
        ]
    )
    edit = st.tuples(
        st.integers(0, 1 << 16), st.integers(0, 64), st.one_of(st.binary(max_size=16), tokens)
    )

    def mutate(seed: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
        data = bytearray(seed)
        for position, cut, insert in edits:
            at = position % (len(data) + 1)
            data[at : at + cut] = insert
        return bytes(data)

    mutated = st.builds(mutate, st.sampled_from(seeds), st.lists(edit, max_size=8))
    return st.one_of(st.binary(max_size=4000), mutated, mutated)
