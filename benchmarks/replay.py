"""A local replay of news feeds and article pages on loopback, for benchmarks."""

from __future__ import annotations

import html
import json
import os
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import lxml.html
from lxml import etree

from sinorus.extract import decode_html

ROOT = Path(__file__).resolve().parents[1]
# ../shared is read in place; it is never copied into the repository.
SHARED = Path(os.environ.get("SINORUS_BENCH_SHARED", str(ROOT.parent / "shared")))
ARTICLE_BYTES = 3000
DEFAULT_PUBLISHED = date(2024, 7, 3)

CANONICAL = re.compile(
    r"<link\b[^>]*\brel\s*=\s*[\"']?canonical[^>]*>|<meta\b[^>]*\bog:url\b[^>]*>", re.I
)
BODY_OPEN = re.compile(r"<body\b[^>]*>", re.I)
XML_DECL = re.compile(r"<\?xml[^>]*>")
FEED_PATH = re.compile(r"^/feed/(\d+)\.xml$")
PAGE_PATH = re.compile(r"^/a/(\d+)/(\d+)\.html$")


@dataclass(frozen=True)
class Story:
    """One article's text, shaped like a labelled dev record."""

    title: str
    text: str
    lang: str
    published: date


@dataclass(frozen=True)
class Template:
    """A real page split where the article is injected."""

    name: str
    head: str
    tail: str


@dataclass
class Corpus:
    stories: list[Story]
    templates: list[Template]
    source: str  # where the pages and texts came from, for the report

    def story(self, k: int) -> Story:
        return self.stories[k % len(self.stories)]

    def page(self, k: int) -> bytes:
        """The page of the k-th article: a real page's markup around a dev-shaped text."""
        story = self.story(k)
        template = self.templates[k % len(self.templates)]
        paras = "".join(
            f"<p>{html.escape(line.strip())}</p>\n"
            for line in story.text.split("\n")
            if line.strip()
        )
        return (template.head + paras + template.tail).encode("utf-8")


def _padded(records: list[dict[str, object]]) -> list[Story]:
    """Stories of about ARTICLE_BYTES each: a record, followed by others in its language."""
    by_lang: dict[str, list[str]] = {}
    for rec in records:
        by_lang.setdefault(str(rec["lang"]), []).append(str(rec["text"]))
    stories = []
    for rec in records:
        lang = str(rec["lang"])
        text = str(rec["text"])
        pool = by_lang[lang]
        start = pool.index(text)
        i = 1
        while len(text.encode("utf-8")) < ARTICLE_BYTES and len(pool) > 1:
            text += "\n" + pool[(start + i) % len(pool)]
            i += 1
            if i > len(pool):
                break
        text = text.encode("utf-8")[: ARTICLE_BYTES + 200].decode("utf-8", errors="ignore")
        title = str(rec.get("title") or "") or text.split("\n", 1)[0][:120]
        published = rec.get("published")
        day = date.fromisoformat(str(published)) if published else DEFAULT_PUBLISHED
        stories.append(Story(title=title, text=text, lang=lang, published=day))
    return stories


GENERATED_SENTENCES = (
    "Chinese President Xi Jinping held talks with Russian President Vladimir Putin in Moscow.",
    "The two leaders signed a joint statement on deepening their comprehensive partnership.",
    "Russian Foreign Minister Sergey Lavrov spoke by phone with Chinese Foreign Minister Wang Yi.",
    "Officials said the sides discussed energy supplies, grain exports and payment systems.",
    "The navies of China and Russia will hold a joint exercise in the Sea of Japan next month.",
    "Local markets closed higher on Tuesday as investors weighed the latest inflation data.",
    "The city council approved a new budget for road repairs and public transport.",
    "Weather forecasters expect heavy rain across the region over the weekend.",
)


def _generated_stories(n: int = 40) -> list[Story]:
    stories = []
    for k in range(n):
        lines = [GENERATED_SENTENCES[(k + i) % len(GENERATED_SENTENCES)] for i in range(30)]
        text = "\n".join(lines)[:ARTICLE_BYTES]
        stories.append(Story(f"Generated story {k}", text, "en", DEFAULT_PUBLISHED))
    return stories


def _generated_templates() -> list[Template]:
    nav = "".join(f'<li><a href="/section/{i}">Section {i}</a></li>' for i in range(40))
    head = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Generated outlet</title>"
        "<style>body{font-family:serif}</style></head><body><header><nav><ul>"
        + nav
        + "</ul></nav></header><main><article>"
    )
    tail = (
        "</article><aside><h2>Most read</h2><ul>"
        + "".join(f"<li><a href='/x/{i}'>Another headline {i}</a></li>" for i in range(20))
        + "</ul></aside></main><footer><p>Copyright generated outlet.</p></footer></body></html>"
    )
    return [Template("generated", head, tail)]


MARK = "<span>sinorus-bench-article</span>"


def _template(name: str, text: str) -> Template | None:
    """Cut a page where its own article paragraphs stood, so the injected text takes their place."""
    text = CANONICAL.sub("", XML_DECL.sub("", text))
    # The page's own charset declaration would contradict the UTF-8 we serve.
    text = re.sub(r"<meta\b[^>]*charset[^>]*>", "", text, flags=re.I)
    try:
        doc = lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError):
        return None
    paras = [e for e in doc.iter("p") if len(e.text_content().strip()) >= 60]
    if paras:
        parent = Counter(e.getparent() for e in paras).most_common(1)[0][0]
        own = [e for e in paras if e.getparent() is parent]
        own[0].addprevious(lxml.html.fragment_fromstring(MARK))
        for e in own:
            parent.remove(e)
        page = lxml.html.tostring(doc, encoding="unicode")
    else:
        match = BODY_OPEN.search(text)
        if match is None:
            return None
        page = text[: match.end()] + MARK + text[match.end() :]
    head, _, tail = page.partition(MARK)
    return Template(name, head, tail)


def _templates(directory: Path) -> list[Template]:
    found = (
        _template(p.name, decode_html(p.read_bytes())) for p in sorted(directory.glob("*.html"))
    )
    return [t for t in found if t is not None]


def load_corpus() -> Corpus:
    """Real pages and dev texts from ../shared when present, else generated ones."""
    pages_dir = SHARED / "corpora" / "html"
    dev = SHARED / "eval" / "dev.jsonl"
    notes = []
    templates = _templates(pages_dir) if pages_dir.is_dir() else []
    if templates:
        notes.append(f"{len(templates)} real pages from {pages_dir}")
    else:
        templates = _generated_templates()
        notes.append("generated pages (../shared/corpora/html absent)")
    if dev.is_file():
        records = [json.loads(line) for line in dev.read_text("utf-8").splitlines() if line]
        stories = _padded(records)
        notes.append(f"{len(stories)} texts from {dev}")
    else:
        stories = _generated_stories()
        notes.append("generated texts (../shared/eval/dev.jsonl absent)")
    return Corpus(stories, templates, "; ".join(notes))


@dataclass(frozen=True)
class Layout:
    """Which feeds the replay serves: feed i has `items` entries; half support ETag."""

    feeds: int
    items: int
    first_feed: int = 0

    def feed_ids(self) -> range:
        return range(self.first_feed, self.first_feed + self.feeds)


FEED_LAST_MODIFIED = "Wed, 03 Jul 2024 08:00:00 GMT"


def feed_xml(corpus: Corpus, base: str, feed: int, items: int) -> bytes:
    """An RSS 2.0 document whose items link to this replay's article pages."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>',
        f"<title>Replay feed {feed}</title><link>{base}/</link>",
        "<description>Benchmark replay</description>",
    ]
    for j in range(items):
        k = feed * items + j
        story = corpus.story(k)
        when = datetime(story.published.year, story.published.month, story.published.day, 9)
        summary = story.text[:300]
        parts.append(
            "<item>"
            f"<title>{html.escape(story.title)}</title>"
            f"<link>{base}/a/{feed}/{j}.html</link>"
            f'<guid isPermaLink="false">replay-{feed}-{j}</guid>'
            f"<pubDate>{format_datetime(when.replace(tzinfo=UTC), usegmt=True)}</pubDate>"
            f"<description>{html.escape(summary)}</description>"
            "</item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


class ReplayServer:
    """A threaded HTTP server on 127.0.0.1 serving feeds and pages after a fixed latency."""

    def __init__(self, corpus: Corpus, items: int, *, latency: float = 0.0) -> None:
        self.corpus = corpus
        self.items = items
        self.latency = latency
        self.requests = 0
        self.not_modified = 0
        self._lock = threading.Lock()
        replay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # The headers and the body leave in two writes; with Nagle's algorithm on, the
            # body's last segment waited for the client's delayed ACK (40 ms on Linux) on a
            # reused connection, which web servers avoid (TCP_NODELAY) and the replay should too.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                status, body, headers = replay.respond(self.path, self.headers.get("If-None-Match"))
                if replay.latency:
                    time.sleep(replay.latency)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 256

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.port = int(self.httpd.server_address[1])
        self.base = f"http://127.0.0.1:{self.port}"
        # A short poll, so that stopping two hundred servers takes seconds, not minutes.
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def respond(self, path: str, if_none_match: str | None) -> tuple[int, bytes, dict[str, str]]:
        """Status, body and headers for one GET."""
        with self._lock:
            self.requests += 1
        if match := FEED_PATH.match(path):
            feed = int(match.group(1))
            headers = {"Content-Type": "application/rss+xml; charset=utf-8"}
            # Every other feed has no validators, so a rerun also takes the known-guid path.
            if feed % 2 == 0:
                etag = f'"feed-{feed}-v1"'
                headers |= {"ETag": etag, "Last-Modified": FEED_LAST_MODIFIED}
                if if_none_match == etag:
                    with self._lock:
                        self.not_modified += 1
                    return 304, b"", headers
            return 200, feed_xml(self.corpus, self.base, feed, self.items), headers
        if match := PAGE_PATH.match(path):
            feed, j = int(match.group(1)), int(match.group(2))
            if j >= self.items:
                return 404, b"no such article", {"Content-Type": "text/plain"}
            body = self.corpus.page(feed * self.items + j)
            return 200, body, {"Content-Type": "text/html; charset=utf-8"}
        return 404, b"not found", {"Content-Type": "text/plain"}

    def feed_url(self, feed: int) -> str:
        return f"{self.base}/feed/{feed}.xml"

    def start(self) -> ReplayServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
