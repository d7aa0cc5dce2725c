"""Property-based tests: feed entry normalisation, feed parsing of generated RSS/Atom with
arbitrary Unicode, and the detector on arbitrary text never raise and keep their contracts."""

from __future__ import annotations

import os
import time
from datetime import UTC, date, datetime
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sinorus import parse
from sinorus.detect import detector
from sinorus.detect.model import LEVELS, STATUSES, TYPES
from tests.reliability.support import record

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
EXAMPLES = {"tried": 0}
FEED_URL = "http://news.example/feed.xml"
# SINORUS_PROPERTY_EXAMPLES raises the budget for a long run on demand.
EXAMPLES_PER_TEST = int(os.environ.get("SINORUS_PROPERTY_EXAMPLES") or 150)
PROFILE = settings(
    max_examples=EXAMPLES_PER_TEST, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
# Words that steer generated text into the detector's deeper paths.
WORDS = [
    "Xi Jinping",
    "Putin",
    "Wang Yi",
    "Lavrov",
    "Шойгу",
    "Лавров",
    "习近平",
    "普京",
    "王毅",
    "held talks",
    "met",
    "phone call",
    "will visit",
    "signed",
    "joint exercise",
    "visa-free",
    "переговоры",
    "встретился",
    "会谈",
    "通电话",
    "Beijing",
    "Moscow",
    "Москве",
    "在北京",
    "on Tuesday",
    "next week",
    "yesterday",
    "May 7-10",
    "20th round",
    "2024",
    "31 December",
    "China",
    "Russia",
    "Chinese",
    "Russian",
    "President",
    "Foreign Minister",
    ".",
    ",",
    "\n",
    "!",
    "?",
    "。",
    "«",
    "»",
    "(",
    ")",
    "\u202e",
    "\u200b",
    "\x00",
]


@pytest.fixture(scope="module", autouse=True)
def _report_examples() -> Any:
    yield
    record(bad_inputs=EXAMPLES["tried"])


def tried() -> None:
    EXAMPLES["tried"] += 1


feed_text = st.text(max_size=80)
struct_times = st.one_of(
    st.none(),
    st.tuples(
        st.integers(-5, 100_000),
        st.integers(-3, 15),
        st.integers(-3, 40),
        st.integers(-3, 30),
        st.integers(-3, 70),
        st.integers(-3, 70),
        st.integers(0, 8),
        st.integers(0, 400),
        st.integers(-1, 1),
    ).map(lambda t: time.struct_time(t)),
    st.text(max_size=10),
    st.integers(),
)
any_value = st.one_of(
    st.none(), feed_text, st.integers(), st.lists(feed_text, max_size=2), st.booleans()
)
links = st.one_of(
    feed_text,
    st.builds(
        lambda scheme, host, path: f"{scheme}://{host}/{path}",
        st.sampled_from(["http", "https", "HTTP", "ftp", "javascript", "data", ""]),
        st.one_of(
            st.sampled_from(["example.org", "пример.рф", "例子.中国", "[::1]", "a..b"]), feed_text
        ),
        feed_text,
    ),
)


def check_entry(entry: parse.Entry | str) -> None:
    if isinstance(entry, str):
        assert entry  # a reason, never empty
        return
    assert entry.url.startswith(("http://", "https://")), entry.url
    for text, limit in ((entry.title, parse.MAX_TITLE), (entry.summary, parse.MAX_SUMMARY)):
        if text is not None:
            assert 0 < len(text) <= limit
            assert not parse.CONTROL.search(text), ascii(text)
            assert text == text.strip()
    if entry.published is not None:
        assert parse.EARLIEST <= entry.published <= NOW + parse.FUTURE_SLACK


@PROFILE
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "id": any_value,
            "link": st.one_of(links, any_value),
            "title": any_value,
            "author": any_value,
            "summary": any_value,
            "content": st.one_of(
                any_value, st.lists(st.fixed_dictionaries({"value": any_value}), max_size=2)
            ),
            "published_parsed": struct_times,
            "updated_parsed": struct_times,
            "created_parsed": struct_times,
        },
    )
)
def test_normalise_entry_never_raises_and_keeps_its_contract(raw: dict[str, Any]) -> None:
    tried()
    check_entry(parse.normalise_entry(raw, feed_url=FEED_URL, now=NOW))


def rss_item(title: str, link: str, date_text: str, guid: str) -> str:
    return (
        f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
        f"<guid isPermaLink='false'>{escape(guid)}</guid><pubDate>{escape(date_text)}</pubDate>"
        f"<description>{escape(title)}</description></item>"
    )


def atom_entry(title: str, link: str, date_text: str, guid: str) -> str:
    return (
        f"<entry><title type='html'>{escape(title)}</title><link href={quoteattr(link)}/>"
        f"<id>{escape(guid)}</id><updated>{escape(date_text)}</updated>"
        f"<content type='html'>{escape(title)}</content></entry>"
    )


dates_text = st.one_of(
    feed_text,
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)).map(
        lambda d: d.strftime("%a, %d %b %Y %H:%M:%S +0000")
    ),
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)).map(
        lambda d: d.isoformat() + "Z"
    ),
)
items = st.lists(st.tuples(feed_text, links, dates_text, feed_text), max_size=6)


@PROFILE
@given(
    kind=st.sampled_from(["rss", "atom"]),
    channel_title=feed_text,
    entries=items,
    encoding=st.sampled_from(["utf-8", "utf-16", "windows-1251", "gb18030"]),
    content_type=st.sampled_from([None, "application/rss+xml", "text/html", "text/plain"]),
)
def test_parse_feed_on_generated_rss_and_atom_never_raises(
    kind: str,
    channel_title: str,
    entries: list[tuple[str, str, str, str]],
    encoding: str,
    content_type: str | None,
) -> None:
    tried()
    if kind == "rss":
        body = (
            f"<rss version='2.0'><channel><title>{escape(channel_title)}</title>"
            + "".join(rss_item(*e) for e in entries)
            + "</channel></rss>"
        )
    else:
        body = (
            f"<feed xmlns='http://www.w3.org/2005/Atom'><title>{escape(channel_title)}</title>"
            + "".join(atom_entry(*e) for e in entries)
            + "</feed>"
        )
    data = f"<?xml version='1.0' encoding='{encoding}'?>{body}".encode(encoding, "replace")
    result = parse.parse_feed(data, url=FEED_URL, content_type=content_type, now=NOW)
    assert result.error is None or result.error.startswith(("not a feed", "feed parser failed"))
    assert len(result.entries) + len(result.skipped) == result.seen or result.error
    keys: set[str] = set()
    for entry in result.entries:
        check_entry(entry)
        assert entry.url not in keys and (entry.guid is None or entry.guid not in keys)
        keys |= {entry.url} | ({entry.guid} if entry.guid else set())


@PROFILE
@given(st.binary(max_size=2000))
def test_parse_feed_on_arbitrary_bytes_never_raises(data: bytes) -> None:
    tried()
    result = parse.parse_feed(b"<?xml version='1.0'?><rss>" + data, url=FEED_URL, now=NOW)
    for entry in result.entries:
        check_entry(entry)


detector_text = st.lists(st.one_of(st.text(max_size=30), st.sampled_from(WORDS)), max_size=40).map(
    " ".join
)


@settings(
    max_examples=EXAMPLES_PER_TEST + 50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    text=detector_text,
    title=st.one_of(st.none(), detector_text),
    lang=st.sampled_from([None, "en", "ru", "zh", "de", ""]),
    published=st.one_of(st.none(), st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))),
)
def test_detector_never_raises_and_its_spans_lie_within_the_evidence(
    text: str, title: str | None, lang: str | None, published: date | None
) -> None:
    tried()
    mentions = detector.detect(text, lang=lang, published=published, title=title)
    for m in mentions:
        assert m.type in TYPES and m.status in STATUSES
        assert m.level is None or m.level in LEVELS
        assert 0.0 <= m.confidence <= 1.0
        assert m.evidence
        for start, end in m.highlights:
            assert 0 <= start < end <= len(m.evidence), (m.highlights, m.evidence)
