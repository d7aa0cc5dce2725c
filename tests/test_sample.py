"""The offline sample site: feeds and pages served on loopback as the pipeline will see them."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

import feedparser
import pytest
import requests
import trafilatura
import yaml

from sinorus.feeds import load_feed_list
from sinorus.sample import expected, render, serve, write_feeds_file
from sinorus.sample.server import SampleError, SampleServer, feed_list

NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


@pytest.fixture(scope="module")
def sample() -> Iterator[SampleServer]:
    with serve(now=NOW) as srv:
        yield srv


@pytest.fixture(scope="module")
def spec(sample: SampleServer) -> dict[str, Any]:
    return expected(sample.base, NOW)


def get(url: str, **headers: str) -> requests.Response:
    return requests.get(url, headers=headers, timeout=10)


def parse_feed(sample: SampleServer, path: str) -> Any:
    resp = get(sample.url(path))
    assert resp.status_code == 200
    headers = {k.lower(): v for k, v in resp.headers.items()}
    return feedparser.parse(resp.content, response_headers=headers)


def decoded(resp: requests.Response) -> str:
    """The text of a response, in the charset its header or its own <meta>/prolog declares."""
    match = re.search(r"charset=([\w-]+)", resp.headers.get("Content-Type", ""))
    if match is None:
        match = re.search(rb"""charset=["']?([\w-]+)""", resp.content[:1024])
        assert match is not None, "no charset declared anywhere"
        return resp.content.decode(match.group(1).decode())
    return resp.content.decode(match.group(1))


class PageCheck(HTMLParser):
    """Checks that tags nest and close, and collects what an extractor would look for."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.meta: dict[str, str] = {}
        self.canonical: str | None = None
        self.times: list[str] = []
        self.paragraphs: list[str] = []
        self._in_p = False
        self._article_at: list[int] = []
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "meta" and ("property" in a or "name" in a):
            self.meta[a.get("property") or a["name"]] = a.get("content", "")
        if tag == "link" and a.get("rel") == "canonical":
            self.canonical = a.get("href")
        if tag == "time":
            self.times.append(a.get("datetime", ""))
        if tag in VOID:
            return
        # Chinese sites wrap the story in <div class="article"> rather than <article>
        if tag == "article" or a.get("class") == "article":
            self._article_at.append(len(self.stack))
        if tag == "p" and self._article_at:
            self._in_p, self._text = True, []
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()
        if self._article_at and self._article_at[-1] == len(self.stack):
            self._article_at.pop()
        if tag == "p" and self._in_p:
            self._in_p = False
            self.paragraphs.append("".join(self._text).strip())

    def handle_data(self, data: str) -> None:
        if self._in_p:
            self._text.append(data)


def check_page(text: str) -> PageCheck:
    page = PageCheck()
    page.feed(text)
    page.close()
    assert not page.errors, page.errors
    assert not page.stack, f"unclosed: {page.stack}"
    return page


def words(paragraphs: list[str], lang: str) -> int:
    text = " ".join(paragraphs)
    if lang == "zh":
        # a Chinese "word" is on average about two characters
        return len(re.findall(r"[\u4e00-\u9fff]", text)) // 2
    return len(text.split())


def article_pages(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for a in spec["articles"] if a["url"] and "page_404" not in a.get("edge", [])]


# --- feeds -----------------------------------------------------------------------------------


def test_every_sample_feed_yields_its_entries(sample: SampleServer, spec: dict[str, Any]) -> None:
    feeds = {f["name"]: f for f in feed_list(sample.base)}
    assert set(feeds) == {f["name"] for f in spec["feeds"]}
    for want in spec["feeds"]:
        parsed = parse_feed(sample, feeds[want["name"]]["url"].removeprefix(sample.base))
        assert len(parsed.entries) == want["entries"], want["name"]
        assert bool(parsed.bozo) == want["bozo"], (want["name"], parsed.get("bozo_exception"))


def test_feed_entries_match_the_expected_articles(
    sample: SampleServer, spec: dict[str, Any]
) -> None:
    links: set[str] = set()
    guids: set[str] = set()
    for feed in feed_list(sample.base):
        parsed = parse_feed(sample, feed["url"].removeprefix(sample.base))
        for entry in parsed.entries:
            if entry.get("link"):
                links.add(urljoin(feed["url"], entry.link))
            guids.add(entry.get("id", ""))
    for article in spec["articles"]:
        if article["url"] is None:
            assert article["guid"] in guids
        else:
            assert article.get("entry_url", article["url"]) in {
                *links,
                *(link.removeprefix(sample.base) for link in links),
            }, article["id"]


def test_russian_feed_is_windows_1251_and_reads_back(sample: SampleServer) -> None:
    resp = get(sample.url("/feeds/vestnik-evrazii.xml"))
    assert resp.headers["Content-Type"] == "application/rss+xml; charset=windows-1251"
    assert resp.content.startswith(b'<?xml version="1.0" encoding="windows-1251"?>')
    assert "Шойгу".encode("cp1251") in resp.content
    with pytest.raises(UnicodeDecodeError):
        resp.content.decode("utf-8")
    parsed = parse_feed(sample, "/feeds/vestnik-evrazii.xml")
    assert parsed.encoding.lower() in {"windows-1251", "cp1251"}
    assert "Ван И и Шойгу" in parsed.entries[0].title
    assert "Совбеза" in parsed.entries[0].summary


def test_utf8_feeds_read_back_in_russian_and_chinese(sample: SampleServer) -> None:
    sk = parse_feed(sample, "/feeds/sibirsky-kurier.xml")
    assert any("Мишустиным" in e.summary for e in sk.entries)
    df = parse_feed(sample, "/feeds/dongfang-shibao.xml")
    assert df.entries[0].title == "王毅同俄罗斯外长拉夫罗夫通电话"
    assert df.feed.language == "zh"


def test_feed_dates_are_relative_to_the_servers_now(sample: SampleServer) -> None:
    parsed = parse_feed(sample, "/feeds/northern-wire.xml")
    first = parsed.entries[0]
    assert datetime(*first.published_parsed[:6], tzinfo=UTC) == NOW - timedelta(days=1)
    atom = parse_feed(sample, "/feeds/eastern-herald.atom")
    days = sorted((NOW - datetime(*e.updated_parsed[:6], tzinfo=UTC)).days for e in atom.entries)
    assert days == [1, 1, 2, 2, 2, 3, 5]


def test_edge_case_entries_are_in_their_feeds(sample: SampleServer) -> None:
    nw = parse_feed(sample, "/feeds/northern-wire.xml")
    links = [e.link for e in nw.entries]
    assert any("utm_source=rss" in link and link.endswith("#comments") for link in links)
    assert "/nw/news/zenit-beat-shandong-in-friendly.html" in links
    sk = parse_feed(sample, "/feeds/sibirsky-kurier.xml")
    ids = [e.id for e in sk.entries]
    assert len(ids) - len(set(ids)) == 1, "one guid must appear twice"
    linkless = [e for e in sk.entries if not e.get("link")]
    assert [e.id for e in linkless] == ["sk-brief-trade-10m"]
    assert len(linkless[0].summary.split()) > 30


def test_broken_feeds_are_bozo_but_one_still_gives_entries(sample: SampleServer) -> None:
    pl = parse_feed(sample, "/feeds/pacific-ledger.xml")
    assert pl.bozo
    assert pl.entries[0].title.startswith("China & Russia coast guards")
    assert pl.entries[1].link == sample.url("/pl/asia/bolshoi-ballet-opens-shanghai-tour.html")
    so = get(sample.url("/feeds/steppe-observer.xml"))
    assert so.status_code == 200 and so.headers["Content-Type"].startswith("text/html")
    parsed = feedparser.parse(so.content)
    assert parsed.bozo and not parsed.entries


# --- pages -----------------------------------------------------------------------------------


def test_article_pages_are_well_formed_with_metadata(
    sample: SampleServer, spec: dict[str, Any]
) -> None:
    pages = article_pages(spec)
    assert len(pages) >= 24
    for article in pages:
        resp = get(article["url"])
        assert resp.status_code == 200, article["id"]
        page = check_page(decoded(resp))
        assert page.canonical == article["url"], article["id"]
        assert page.meta["og:title"] and page.meta["author"], article["id"]
        published = datetime.fromisoformat(page.meta["article:published_time"])
        assert published.date().isoformat() == article["published"], article["id"]
        assert page.times and page.times[0] == page.meta["article:published_time"]
        count = words(page.paragraphs, article["lang"])
        if "paywall" in article.get("edge", []):
            assert count < 60, article["id"]
        else:
            assert 150 <= count <= 600, (article["id"], count)


def test_chinese_pages_are_gb_encoded_and_declared_only_in_meta(
    sample: SampleServer, spec: dict[str, Any]
) -> None:
    for article in (a for a in spec["articles"] if a["lang"] == "zh"):
        resp = get(article["url"])
        assert resp.headers["Content-Type"] == "text/html"
        with pytest.raises(UnicodeDecodeError):
            resp.content.decode("utf-8")
        text = decoded(resp)
        assert "王毅" in text or "俄罗斯" in text
    df1 = next(a for a in spec["articles"] if a["id"] == "df1")
    call = decoded(get(df1["url"]))
    assert "拉夫罗夫通电话" in call and "2026年11月23日" in call


def test_russian_pages_carry_genitive_dates(sample: SampleServer) -> None:
    resp = get(sample.url("/ve/politika/van-i-i-shojgu-proveli-konsultacii.html"))
    assert resp.headers["Content-Type"] == "text/html; charset=windows-1251"
    text = resp.content.decode("cp1251")
    assert "24 ноября 2026 года" in text
    assert "провели во вторник, 24 ноября," in text  # NOW - 1 day, in the accusative


def test_syndicated_copies_share_their_body(sample: SampleServer) -> None:
    bodies = []
    for path in (
        "/nw/news/china-russia-joint-air-patrol-sea-of-japan.html",
        "/eh/world/joint-bomber-patrol-sea-of-japan.html",
    ):
        page = check_page(get(sample.url(path)).text)
        assert page.canonical == sample.url(path)
        bodies.append([p for p in page.paragraphs if len(p.split()) > 20])
    assert bodies[0] == bodies[1] and len(bodies[0]) >= 4


def test_nothing_served_keeps_a_placeholder(sample: SampleServer) -> None:
    for path, res in sample.resources.items():
        resp = get(sample.url(path))
        assert resp.status_code == res.status, path
        text = resp.content.decode(res.charset)
        assert not re.search(r"\{\{[A-Z]", text), path
        assert "127.0.0.1:" + str(sample.port) in text or "BASE" not in text


def test_missing_pages_answer_404(sample: SampleServer) -> None:
    gone = get(sample.url("/ve/politika/transsib-gotovitsya-k-zime.html"))
    assert gone.status_code == 404 and "Not Found" in gone.text
    assert "ETag" not in gone.headers
    assert get(sample.url("/no/such/page.html")).status_code == 404


def test_tracking_parameters_do_not_change_the_page(sample: SampleServer) -> None:
    path = "/nw/news/gazprom-cnpc-sign-additional-gas-supply-contract.html"
    plain = get(sample.url(path))
    tracked = get(sample.url(path + "?utm_source=rss&utm_medium=feed"))
    assert tracked.status_code == 200 and tracked.content == plain.content


# --- HTTP caching ----------------------------------------------------------------------------


def test_conditional_get_answers_304(sample: SampleServer) -> None:
    url = sample.url("/feeds/northern-wire.xml")
    first = get(url)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    again = get(url, **{"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == etag
    assert get(url, **{"If-Modified-Since": modified}).status_code == 304
    assert get(url, **{"If-None-Match": '"stale"'}).status_code == 200
    earlier = "Mon, 02 Nov 2026 08:00:00 GMT"
    assert get(url, **{"If-Modified-Since": earlier}).status_code == 200
    # a changed ETag wins over a matching date
    both = get(url, **{"If-None-Match": '"stale"', "If-Modified-Since": modified})
    assert both.status_code == 200 and both.content == first.content


def test_etags_differ_between_resources_and_head_has_no_body(sample: SampleServer) -> None:
    a = get(sample.url("/feeds/northern-wire.xml")).headers["ETag"]
    b = get(sample.url("/feeds/eastern-herald.atom")).headers["ETag"]
    assert a != b
    head = requests.head(sample.url("/feeds/eastern-herald.atom"), timeout=10)
    assert head.status_code == 200 and head.content == b"" and head.headers["ETag"] == b


# --- rendering, feeds file, expectations ----------------------------------------------------


def test_render_fills_every_format() -> None:
    now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    text = (
        "{{BASE}}|{{RFC822:-2}}|{{ISO:-2}}|{{DATE_EN:-2}}|{{DATE_RU:-2}}|{{DATE_ZH:-2}}"
        "|{{WEEKDAY_EN:-2}}|{{DATE_EN:+5}}|{{DATE:+0}}|{{DAY_RU:+37}}"
    )
    assert render(text, "http://127.0.0.1:9", now).split("|") == [
        "http://127.0.0.1:9",
        "Mon, 23 Nov 2026 09:00:00 GMT",
        "2026-11-23T09:00:00+00:00",
        "23 November 2026",
        "23 ноября 2026 года",
        "2026年11月23日",
        "Monday",
        "30 November 2026",
        "2026-11-25",
        "1 января",
    ]
    with pytest.raises(SampleError, match="TOMORROW"):
        render("{{TOMORROW}}", "", now)


def test_naive_now_is_taken_as_utc() -> None:
    with serve(now=datetime(2026, 3, 1, 23, 30)) as srv:
        assert srv.now == datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
        text = get(srv.url("/feeds/northern-wire.xml")).text
        assert "Sun, 01 Mar 2026 23:30:00 GMT" in text  # lastBuildDate is "now"


def test_write_feeds_file_lists_the_loopback_feeds(sample: SampleServer, tmp_path: Any) -> None:
    path = write_feeds_file(tmp_path / "conf" / "feeds.yaml", sample.base)
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    feeds = doc["feeds"]
    assert len(feeds) == 7
    assert {f["lang"] for f in feeds} == {"en", "ru", "zh"}
    for feed in feeds:
        assert feed["url"].startswith(sample.base + "/feeds/")
        assert "sample" in feed["tags"]
        assert get(feed["url"]).status_code == 200
    assert len({f["name"] for f in feeds}) == 7
    specs = load_feed_list(path)
    assert [s.url for s in specs] == [f["url"] for f in feeds]
    assert all(s.enabled for s in specs)


def test_expectations_are_consistent(spec: dict[str, Any]) -> None:
    articles = {a["id"]: a for a in spec["articles"]}
    assert len(articles) == len(spec["articles"])
    events = {e["id"]: e for e in spec["events"]}
    for event in spec["events"]:
        assert event["type"] in {"meeting", "call", "agreement", "military", "policy", "economic"}
        assert event["articles"] and set(event["articles"]) <= set(articles), event["id"]
        for aid in event["articles"]:
            assert event["id"] in {x["event"] for x in articles[aid]["expect"]}
    for article in spec["articles"]:
        if article["expect"] == "none":
            assert article["reason"], article["id"]
            continue
        for found in article["expect"]:
            assert events[found["event"]]["type"] == found["type"], article["id"]
            assert article["id"] in events[found["event"]]["articles"]
        for edge in article.get("edge", []):
            assert edge in spec["edge_cases"], edge
    meeting = events["wang-yi-shoigu-security-consultations-20"]
    assert len(meeting["articles"]) == 3
    assert {articles[a]["lang"] for a in meeting["articles"]} == {"en", "ru"}
    assert meeting["date"] == "2026-11-24" and meeting["alert"]
    statuses = {x["status"] for a in ("nw2", "eh2") for x in articles[a]["expect"]}
    assert statuses >= {"planned", "held"}
    assert articles["nw2"]["published"] < articles["eh2"]["published"]


def test_every_article_page_served_is_in_the_expectations(
    sample: SampleServer, spec: dict[str, Any]
) -> None:
    known = {a["url"] for a in spec["articles"]}
    served = {
        sample.url(path)
        for path, res in sample.resources.items()
        if path.endswith(".html") and res.status == 200
    }
    assert served <= known, sorted(served - known)


def test_the_command_serves_and_writes_the_feed_list(tmp_path: Any) -> None:
    out = tmp_path / "feeds.yaml"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sinorus.sample", "--port", "0", "--feeds-out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline(), proc.stdout.readline()]
        base = re.search(r"http://127\.0\.0\.1:\d+", lines[1])
        assert base is not None, lines
        feeds = yaml.safe_load(out.read_text(encoding="utf-8"))["feeds"]
        assert feeds[0]["url"].startswith(base.group(0))
        assert get(feeds[0]["url"]).status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""


def test_syndicated_copies_extract_to_the_same_text(sample: SampleServer) -> None:
    texts = [
        trafilatura.extract(get(sample.url(path)).content)
        for path in (
            "/nw/news/china-russia-joint-air-patrol-sea-of-japan.html",
            "/eh/world/joint-bomber-patrol-sea-of-japan.html",
        )
    ]
    assert texts[0] and texts[0] == texts[1]


def test_gb_pages_extract_to_readable_chinese(sample: SampleServer) -> None:
    resp = get(sample.url("/df/guoji/wangyi-lavrov-tongdianhua.html"))
    text = trafilatura.extract(resp.content)
    assert text is not None and "拉夫罗夫" in text and "本站使用Cookie" not in text


def test_the_paywall_page_leaves_only_a_teaser(sample: SampleServer, spec: dict[str, Any]) -> None:
    paywalled = next(a for a in spec["articles"] if "paywall" in a.get("edge", []))
    text = trafilatura.extract(get(paywalled["url"]).content) or ""
    assert len(text.split()) < 80 and "Subscribe to continue reading" in text
    atom = parse_feed(sample, "/feeds/eastern-herald.atom")
    entry = next(e for e in atom.entries if e.link == paywalled["url"])
    assert len(entry.summary.split()) > 50 and "Likhachev" in entry.summary
