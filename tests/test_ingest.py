"""The ingestion cycle against real feeds and pages on loopback and a real PostgreSQL."""

from __future__ import annotations

import gzip
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from sinorus import feeds, ingest
from sinorus.fetch import FetchConfig, Fetcher
from tests.support.servers import LocalServer, Reply, Request

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)


def rss(items: list[tuple[str, str, str]], *, ttl: int | None = None) -> bytes:
    """An RSS 2.0 feed of (guid, link, title) items."""
    body = "".join(
        f"<item><guid isPermaLink='false'>{guid}</guid><link>{link}</link><title>{title}</title>"
        f"<description>Summary of {title}, long enough to stand in for the article.</description>"
        f"<pubDate>{format_datetime(NOW - timedelta(hours=1))}</pubDate></item>"
        for guid, link, title in items
    )
    ttl_el = f"<ttl>{ttl}</ttl>" if ttl else ""
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Test</title>"
        f"<link>http://example.org/</link>{ttl_el}{body}</channel></rss>"
    ).encode()


PARAGRAPH = (
    "Chinese Foreign Minister Wang Yi held talks with Russian Security Council Secretary "
    "Sergei Shoigu in Moscow on Tuesday, the two sides said in statements after the meeting. "
)


def page(
    title: str, paragraphs: int = 6, canonical: str | None = None, charset: str = "utf-8"
) -> str:
    link = f"<link rel='canonical' href='{canonical}'>" if canonical else ""
    body = "".join(f"<p>{PARAGRAPH} Paragraph {i} of {title}.</p>" for i in range(paragraphs))
    return (
        f"<html><head><meta charset='{charset}'><title>{title}</title>{link}</head><body>"
        f"<nav>Home | World | Business</nav><article><h1>{title}</h1>{body}</article>"
        "<footer>Copyright the outlet</footer></body></html>"
    )


def conditional(body: bytes, etag: str, content_type: str = "application/rss+xml") -> object:
    def handler(req: Request) -> Reply:
        if req.headers.get("if-none-match") == etag:
            return Reply(304, b"", {"ETag": etag})
        return Reply(200, body, {"ETag": etag, "Content-Type": content_type})

    return handler


def fetcher_for(*servers: LocalServer) -> Fetcher:
    return Fetcher(
        FetchConfig(
            allow=tuple(f"127.0.0.1:{s.port}" for s in servers),
            retries=0,
            read_timeout=5,
            total_timeout=10,
        )
    )


def add_feeds(db, specs: list[feeds.FeedSpec]) -> list[int]:
    feeds.sync_feeds(db, specs)
    return feeds.due_feed_ids(db, NOW)


def rows(db, sql: str, *args: object) -> list[tuple]:
    with db.cursor() as cur:
        cur.execute(sql, args)
        result = cur.fetchall()
    db.commit()
    return result


def test_cycle_stores_new_articles_and_second_cycle_costs_nothing(db, server: LocalServer) -> None:
    s = server
    s.routes["/a.html"] = Reply(200, page("First story").encode(), {"Content-Type": "text/html"})
    s.routes["/b.html"] = Reply(
        200,
        page("Second story", canonical=s.url("/b-canonical.html")).encode(),
        {"Content-Type": "text/html; charset=utf-8"},
    )
    s.routes["/c.html"] = Reply(404, b"<html>gone</html>", {"Content-Type": "text/html"})
    s.routes["/teaser.html"] = Reply(
        200,
        b"<html><body><p>Subscribe to continue reading.</p></body></html>",
        {"Content-Type": "text/html"},
    )
    feed = rss(
        [
            ("g1", s.url("/a.html?utm_source=rss&utm_medium=feed#top"), "First story"),
            ("g2", "/b.html", "Second story"),  # relative link
            ("g3", s.url("/c.html"), "Third story"),
            ("g4", s.url("/teaser.html"), "Paywalled story"),
            ("g1", s.url("/a.html"), "First story again"),  # duplicate guid in one feed
        ],
        ttl=30,
    )
    s.routes["/feed.xml"] = conditional(feed, '"v1"')
    s.routes["/broken.xml"] = Reply(500, b"oops")
    s.routes["/html.xml"] = Reply(
        200, b"<html><body>Not a feed</body></html>", {"Content-Type": "text/html"}
    )
    ids = add_feeds(
        db,
        [
            feeds.FeedSpec("Good", s.url("/feed.xml"), "en"),
            feeds.FeedSpec("Broken", s.url("/broken.xml"), "en"),
            feeds.FeedSpec("Html", s.url("/html.xml"), "en"),
        ],
    )
    fetcher = fetcher_for(s)
    first = ingest.fetch_feeds(db, ids, run_id="run-1", fetcher=fetcher)
    assert (first.ok, first.failed, first.new_articles) == (1, 2, 4)
    extracted = ingest.extract_pending(db, fetcher=fetcher)
    assert extracted.articles == 4

    articles = {
        g: rest
        for g, *rest in rows(
            db, "SELECT guid, url, extraction_status, body IS NOT NULL FROM articles"
        )
    }
    articles = {g: tuple(rest) for g, rest in articles.items()}
    assert articles["g1"] == (s.url("/a.html"), "page", True)  # tracking and fragment dropped
    assert articles["g2"] == (s.url("/b-canonical.html"), "page", True)  # page's canonical link
    assert articles["g3"][1:] == ("summary", True)  # 404 page: the feed summary stands in
    assert articles["g4"][1:] == ("summary", True)  # paywall teaser: same
    errors = dict(rows(db, "SELECT guid, extraction_error FROM articles WHERE guid IN ('g3','g4')"))
    assert "404" in errors["g3"]
    assert "paywall" in errors["g4"]

    log = {
        name: (status, error)
        for name, status, error in rows(
            db, "SELECT f.name, l.status, l.error FROM fetch_log l JOIN feeds f ON f.id = l.feed_id"
        )
    }
    assert log["Good"][0] == "ok" and "duplicate" in log["Good"][1]
    assert log["Broken"][0] == "failed" and "500" in log["Broken"][1]
    assert log["Html"][0] == "failed" and "not a feed" in log["Html"][1]
    health = {
        n: (f, e, t)
        for n, f, e, t in rows(
            db, "SELECT name, consecutive_failures, etag, ttl_seconds FROM feeds"
        )
    }
    assert health["Good"] == (0, '"v1"', 1800)
    assert health["Broken"][0] == 1

    page_hits = sum(s.hits(p) for p in ("/a.html", "/b.html", "/c.html", "/teaser.html"))
    second = ingest.fetch_feeds(db, ids, run_id="run-2", fetcher=fetcher)
    assert (second.not_modified, second.new_articles) == (1, 0)
    assert ingest.extract_pending(db, fetcher=fetcher).articles == 0
    assert sum(s.hits(p) for p in ("/a.html", "/b.html", "/c.html", "/teaser.html")) == page_hits
    assert rows(db, "SELECT count(*) FROM articles")[0][0] == 4
    assert dict(rows(db, "SELECT name, consecutive_failures FROM feeds"))["Broken"] == 2
    statuses = rows(db, "SELECT status FROM fetch_log WHERE run_id = 'run-2' ORDER BY feed_id")
    assert [r[0] for r in statuses] == ["not_modified", "failed", "failed"]


def test_retried_run_rewrites_its_own_log_row_and_no_article_twice(db, server: LocalServer) -> None:
    server.routes["/feed.xml"] = Reply(
        200, rss([("x1", server.url("/x.html"), "X")]), {"Content-Type": "application/rss+xml"}
    )
    ids = add_feeds(db, [feeds.FeedSpec("F", server.url("/feed.xml"), "en")])
    fetcher = fetcher_for(server)
    ingest.fetch_feeds(db, ids, run_id="same", fetcher=fetcher)
    ingest.fetch_feeds(db, ids, run_id="same", fetcher=fetcher)
    assert rows(db, "SELECT count(*) FROM fetch_log")[0][0] == 1
    assert rows(db, "SELECT count(*) FROM articles")[0][0] == 1


def test_same_story_under_two_urls_shares_content_hash(db, server: LocalServer) -> None:
    text = page("Syndicated").encode()
    for path in ("/one.html", "/two.html"):
        server.routes[path] = Reply(200, text, {"Content-Type": "text/html"})
    server.routes["/feed.xml"] = Reply(
        200,
        rss(
            [
                ("s1", server.url("/one.html"), "Syndicated"),
                ("s2", server.url("/two.html"), "Syndicated"),
            ]
        ),
        {"Content-Type": "application/rss+xml"},
    )
    ids = add_feeds(db, [feeds.FeedSpec("F", server.url("/feed.xml"), "en")])
    fetcher = fetcher_for(server)
    ingest.fetch_feeds(db, ids, run_id="r", fetcher=fetcher)
    ingest.extract_pending(db, fetcher=fetcher)
    hashes = rows(db, "SELECT count(*), count(DISTINCT content_hash) FROM articles")
    assert hashes == [(2, 1)]


@pytest.mark.parametrize(
    ("charset", "text"),
    [
        (
            "windows-1251",
            "Министр иностранных дел России Сергей Лавров провёл переговоры в Пекине. ",
        ),
        ("koi8-r", "Секретарь Совета безопасности Сергей Шойгу прибыл в Пекин на консультации. "),
        (
            "gbk",
            "中国外交部长王毅在莫斯科同俄罗斯联邦安全会议秘书绍伊古举行第二十轮中俄战略安全磋商。",
        ),
        ("gb18030", "国务院总理李强同俄罗斯总理米舒斯京举行中俄总理第三十次定期会晤。"),
    ],
)
def test_pages_decode_in_their_declared_charset(
    db, server: LocalServer, charset: str, text: str
) -> None:
    body = "".join(f"<p>{text}{i}</p>" for i in range(12))
    html = (
        f"<html><head><meta charset='{charset}'><title>T</title></head>"
        f"<body><article>{body}</article></body></html>"
    )
    server.routes["/p.html"] = Reply(200, html.encode(charset), {"Content-Type": "text/html"})
    server.routes["/feed.xml"] = Reply(
        200, rss([("c1", server.url("/p.html"), "T")]), {"Content-Type": "application/rss+xml"}
    )
    ids = add_feeds(db, [feeds.FeedSpec("F", server.url("/feed.xml"), None)])
    fetcher = fetcher_for(server)
    ingest.fetch_feeds(db, ids, run_id="r", fetcher=fetcher)
    ingest.extract_pending(db, fetcher=fetcher)
    body_text, status, lang = rows(db, "SELECT body, extraction_status, lang FROM articles")[0]
    assert status == "page"
    assert text[:20] in body_text
    assert lang == ("zh" if charset.startswith("gb") else "ru")


def test_gzip_feed_and_failure_backoff_grows_but_never_disables(db, server: LocalServer) -> None:
    server.routes["/gz.xml"] = Reply(
        200,
        gzip.compress(rss([("z1", server.url("/z.html"), "Z")])),
        {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"},
    )
    server.routes["/dead.xml"] = Reply(410, b"gone")
    ids = add_feeds(
        db,
        [
            feeds.FeedSpec("Gz", server.url("/gz.xml"), "en"),
            feeds.FeedSpec("Dead", server.url("/dead.xml"), "en"),
        ],
    )
    fetcher = fetcher_for(server)
    dead = [i for i in ids if rows(db, "SELECT name FROM feeds WHERE id = %s", i)[0][0] == "Dead"]
    waits = []
    for n in range(4):
        ingest.fetch_feeds(db, ids if n == 0 else dead, run_id=f"r{n}", fetcher=fetcher)
        checked, due = rows(
            db, "SELECT last_checked_at, next_due_at FROM feeds WHERE name = 'Dead'"
        )[0]
        waits.append((due - checked).total_seconds())
    assert rows(db, "SELECT count(*) FROM articles")[0][0] == 1
    assert waits == sorted(waits) and waits[-1] > 2.5 * waits[0]
    enabled, failures = rows(
        db, "SELECT enabled, consecutive_failures FROM feeds WHERE name = 'Dead'"
    )[0]
    assert enabled and failures == 4


@pytest.mark.parametrize("processes", [1, 2, 3])
def test_extraction_in_worker_processes_stores_the_same_rows(
    db, server: LocalServer, processes: int
) -> None:
    n = ingest.POOL_MIN_ARTICLES + 4  # enough for the pool to be used
    items = []
    for i in range(n):
        path = f"/p{i}.html"
        if i % 6 == 5:
            server.routes[path] = Reply(404, b"gone")
        else:
            server.routes[path] = Reply(
                200, page(f"Story {i}").encode(), {"Content-Type": "text/html"}
            )
        items.append((f"w{i}", server.url(path), f"Story {i}"))
    server.routes["/feed.xml"] = Reply(200, rss(items), {"Content-Type": "application/rss+xml"})
    ids = add_feeds(db, [feeds.FeedSpec("F", server.url("/feed.xml"), "en")])
    fetcher = fetcher_for(server)
    ingest.fetch_feeds(db, ids, run_id="r", fetcher=fetcher)
    summary = ingest.extract_pending(db, fetcher=fetcher, processes=processes)
    assert summary.articles == n
    assert dict(summary.statuses) == {"page": n - n // 6, "summary": n // 6}
    stored = rows(
        db,
        "SELECT guid, extraction_status, length(body) > 100, content_hash IS NOT NULL, "
        "extraction_error IS NULL FROM articles ORDER BY guid",
    )
    expected = sorted(
        (f"w{i}", "summary" if i % 6 == 5 else "page", i % 6 != 5, True, i % 6 != 5)
        for i in range(n)
    )
    assert stored == expected


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _extract_in_child(database_url: str, port: int) -> None:
    from sinorus import db as sdb

    conn = sdb.connect(database_url)
    fetcher = Fetcher(FetchConfig(allow=(f"127.0.0.1:{port}",), retries=0))
    ingest.extract_pending(conn, fetcher=fetcher, processes=3)  # two workers beside the task


def test_extraction_workers_exit_when_their_task_is_killed(
    db, server: LocalServer, database_url: str
) -> None:
    n = ingest.POOL_MIN_ARTICLES + 10
    items = []
    for i in range(n):
        # Slow pages keep the task busy long enough to be killed with its pool running.
        server.routes[f"/s{i}.html"] = Reply(
            200, page(f"Slow {i}").encode(), {"Content-Type": "text/html"}, delay=0.5
        )
        items.append((f"s{i}", server.url(f"/s{i}.html"), f"Slow {i}"))
    server.routes["/feed.xml"] = Reply(200, rss(items), {"Content-Type": "application/rss+xml"})
    ids = add_feeds(db, [feeds.FeedSpec("F", server.url("/feed.xml"), "en")])
    ingest.fetch_feeds(db, ids, run_id="r", fetcher=fetcher_for(server))
    child = multiprocessing.get_context("fork").Process(
        target=_extract_in_child, args=(database_url, server.port)
    )
    child.start()
    workers: set[int] = set()
    for _ in range(200):  # until the pool's workers exist (bounded; no timing asserted)
        workers = {p for p in _children(child.pid) if "spawn" in _cmdline(p)}
        if len(workers) >= 2:
            break
        time.sleep(0.1)
    assert len(workers) >= 2
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    for _ in range(100):
        alive = {p for p in workers if Path(f"/proc/{p}").exists() and not _zombie(p)}
        if not alive:
            break
        time.sleep(0.1)
    assert not alive, f"pool workers outlived their killed task: {alive}"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _slow_feed(db, server: LocalServer, n: int, delay: float) -> list[int]:
    items = []
    for i in range(n):
        server.routes[f"/k{i}.html"] = Reply(
            200, page(f"Paged {i}").encode(), {"Content-Type": "text/html"}, delay=delay
        )
        items.append((f"k{i}", server.url(f"/k{i}.html"), f"Paged {i}"))
    server.routes["/feed.xml"] = Reply(200, rss(items), {"Content-Type": "application/rss+xml"})
    ids = add_feeds(db, [feeds.FeedSpec("F", server.url("/feed.xml"), "en")])
    ingest.fetch_feeds(db, ids, run_id="r", fetcher=fetcher_for(server))
    return ids


def test_a_killed_extraction_worker_costs_only_its_own_pages(db, server: LocalServer) -> None:
    n = ingest.POOL_MIN_ARTICLES + 10
    # Pages trickle in (two connections, 0.1 s each) so the worker dies with pages still to come.
    _slow_feed(db, server, n, delay=0.1)
    me = os.getpid()
    before = {p for p in _children(me) if "spawn_main" in _cmdline(p)}
    killed: list[int] = []

    def kill_the_worker() -> None:
        for _ in range(500):  # bounded wait for the pool's worker to appear
            found = {p for p in _children(me) if "spawn_main" in _cmdline(p)} - before
            if found:
                time.sleep(0.3)  # it has pages queued by now
                for pid in found:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_the_worker)
    killer.start()
    summary = ingest.extract_pending(db, fetcher=fetcher_for(server), processes=2)
    killer.join()
    assert killed
    assert summary.articles == n
    by_status = dict(
        rows(db, "SELECT extraction_status, count(*) FROM articles GROUP BY 1 ORDER BY 1")
    )
    assert sum(by_status.values()) == n and set(by_status) <= {"page", "summary"}
    lost = rows(
        db,
        "SELECT extraction_status, body IS NOT NULL FROM articles WHERE extraction_error LIKE %s",
        "extraction worker failed%",
    )
    # Only the pages queued at the dead worker fall back to their feed summary; the task
    # parsed every later page itself.
    assert len(lost) <= ingest.QUEUED_PER_WORKER
    assert all(row == ("summary", True) for row in lost)
    assert by_status.get("page", 0) == n - len(lost)


MAIN_SCRIPT = """
import sys
with open(sys.argv[1], "a", encoding="utf-8") as marker:
    marker.write(__name__ + "\\n")
if __name__ == "__main__":
    from sinorus import db, ingest
    from sinorus.fetch import FetchConfig, Fetcher

    fetcher = Fetcher(FetchConfig(allow=("127.0.0.1:" + sys.argv[3],), retries=0))
    print(ingest.extract_pending(db.connect(sys.argv[2]), fetcher=fetcher, processes=3).articles)
"""


def test_extraction_workers_do_not_import_the_task_s_main_module(
    db, server: LocalServer, database_url: str, tmp_path: Path
) -> None:
    # In an Airflow task __main__ is the `airflow` command: a worker importing it would load
    # all of Airflow before its first page.
    n = ingest.POOL_MIN_ARTICLES + 4
    _slow_feed(db, server, n, delay=0.0)
    script, marker = tmp_path / "task.py", tmp_path / "imported"
    script.write_text(MAIN_SCRIPT, encoding="utf-8")
    out = subprocess.run(
        [sys.executable, str(script), str(marker), database_url, str(server.port)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(n)]
    assert marker.read_text(encoding="utf-8").split() == ["__main__"]


def test_same_bytes_without_validators_are_not_parsed_again(db, server: LocalServer) -> None:
    body = rss([("n1", server.url("/n1.html"), "One")])
    server.routes["/plain.xml"] = Reply(200, body, {"Content-Type": "application/rss+xml"})
    ids = add_feeds(db, [feeds.FeedSpec("Plain", server.url("/plain.xml"), "en")])
    fetcher = fetcher_for(server)
    first = ingest.fetch_feeds(db, ids, run_id="r1", fetcher=fetcher)
    second = ingest.fetch_feeds(db, ids, run_id="r2", fetcher=fetcher)
    assert (first.ok, first.new_articles) == (1, 1)
    assert (second.not_modified, second.ok, second.entries_seen) == (1, 0, 0)
    assert server.hits("/plain.xml") == 2  # fetched both times, parsed once
    server.routes["/plain.xml"] = Reply(
        200,
        rss([("n1", server.url("/n1.html"), "One"), ("n2", server.url("/n2.html"), "Two")]),
        {"Content-Type": "application/rss+xml"},
    )
    third = ingest.fetch_feeds(db, ids, run_id="r3", fetcher=fetcher)
    assert (third.ok, third.new_articles) == (1, 1)
    statuses = rows(db, "SELECT run_id, status FROM fetch_log ORDER BY run_id")
    assert statuses == [("r1", "ok"), ("r2", "not_modified"), ("r3", "ok")]
