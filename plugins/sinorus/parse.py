"""Feed bytes to normalised entries, with feedparser; keeps what a bozo feed still offers."""

from __future__ import annotations

import calendar
import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser

from sinorus import urls

# Real feeds carry dates from 1970 placeholders to typos decades ahead; neither is a date.
EARLIEST = datetime(1995, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=2)
MAX_TITLE = 1000
MAX_SUMMARY = 20_000

# Control characters, and bidi overrides/isolates that can disguise a title ("gnp.exe").
CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u2028\u2029\ufeff\u202a-\u202e\u2066-\u2069]"
)
TAG = re.compile(r"<[^>]{0,2000}>")
SPACE = re.compile(r"\s+")


@dataclass
class Entry:
    guid: str | None
    url: str  # canonical
    entry_url: str
    title: str | None
    author: str | None
    summary: str | None
    published: datetime | None


@dataclass
class ParsedFeed:
    entries: list[Entry] = field(default_factory=list)
    seen: int = 0
    bozo: str | None = None  # why the feed is ill-formed, when it is
    error: str | None = None  # set when the body is not a usable feed at all
    ttl_seconds: int | None = None
    title: str | None = None
    skipped: list[str] = field(default_factory=list)  # entries dropped, with the reason


def clean_text(value: Any, limit: int) -> str | None:
    """Plain text from a feed field: tags, entities and control characters removed."""
    if not isinstance(value, str):
        return None
    text = html.unescape(TAG.sub(" ", value))
    text = SPACE.sub(" ", CONTROL.sub("", text)).strip()
    return text[:limit] or None


def entry_date(entry: Any, now: datetime) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = dict.get(entry, key)  # plain lookup: no feedparser key aliasing
        if not parsed:
            continue
        try:
            when = datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
        except (OverflowError, ValueError, OSError, TypeError):
            continue
        if EARLIEST <= when <= now + FUTURE_SLACK:
            return when
    return None


def parse_feed(
    body: bytes,
    *,
    url: str,
    content_type: str | None = None,
    now: datetime | None = None,
) -> ParsedFeed:
    """Parse a fetched feed body; never raises for bad input."""
    now = now or datetime.now(UTC)
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    try:
        parsed = feedparser.parse(body, response_headers=headers, sanitize_html=False)
    except Exception as exc:  # feedparser itself is robust; a crash here must stay one feed's
        return ParsedFeed(error=f"feed parser failed: {type(exc).__name__}: {exc}")
    result = ParsedFeed(seen=len(parsed.entries), title=clean_text(parsed.feed.get("title"), 300))
    if parsed.get("bozo"):
        cause = parsed.get("bozo_exception")
        result.bozo = f"{type(cause).__name__}: {cause}"[:500] if cause else "ill-formed feed"
    if not parsed.entries and not parsed.get("version"):
        kind = (content_type or "").split(";")[0].strip() or "unknown type"
        result.error = f"not a feed ({kind}): {result.bozo or 'no RSS/Atom elements found'}"
        return result
    ttl = parsed.feed.get("ttl")
    if isinstance(ttl, str) and ttl.strip().isdigit():
        result.ttl_seconds = int(ttl.strip()) * 60
    seen_keys: set[str] = set()
    for raw in parsed.entries:
        entry = normalise_entry(raw, feed_url=url, now=now)
        if isinstance(entry, str):
            result.skipped.append(entry)
            continue
        keys = {entry.url} | ({entry.guid} if entry.guid else set())
        if keys & seen_keys:
            result.skipped.append(f"duplicate entry in feed: {entry.guid or entry.url}")
            continue
        seen_keys |= keys
        result.entries.append(entry)
    return result


def normalise_entry(raw: Any, *, feed_url: str, now: datetime) -> Entry | str:
    """An Entry, or the reason the entry cannot be used."""
    guid = clean_text(raw.get("id"), 2000)
    link = raw.get("link") if isinstance(raw.get("link"), str) else None
    if not link and guid and guid.startswith(("http://", "https://")):
        link = guid
    title = clean_text(raw.get("title"), MAX_TITLE)
    if not link:
        return f"entry without link: {title or guid or '(untitled)'}"[:300]
    canonical = urls.canonical_url(link.strip(), base=feed_url)
    if canonical is None:
        return f"entry link is not http(s): {link[:200]}"
    author = clean_text(raw.get("author"), 300)
    summary = None
    content = raw.get("content")
    if isinstance(content, list) and content and isinstance(content[0], dict):
        summary = clean_text(content[0].get("value"), MAX_SUMMARY)
    summary = summary or clean_text(raw.get("summary"), MAX_SUMMARY)
    return Entry(
        guid=guid,
        url=canonical,
        entry_url=link.strip()[:2000],
        title=title,
        author=author,
        summary=summary,
        published=entry_date(raw, now),
    )
