"""Article pages to body text and metadata with trafilatura, falling back to the feed summary."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import charset_normalizer
import trafilatura
from trafilatura.settings import set_date_params

from sinorus.detect.text import guess_lang as script_lang
from sinorus.parse import clean_text

# A page body shorter than this is a teaser, an error page or a wall, not the article.
MIN_BODY_CHARS = 400
MIN_BODY_CHARS_CJK = 150
MAX_BODY_CHARS = 200_000

# Signs that the page is a wall in front of the article, in the languages we read.
WALL = re.compile(
    r"subscribe to (continue|read)|subscribers only|to continue reading|sign in to read|"
    r"accept (all )?cookies|enable javascript|are you a robot|access denied|"
    r"подпишитесь|только для подписчиков|чтобы продолжить чтение|"
    r"订阅后|登录后阅读|付费阅读|请开启javascript",
    re.IGNORECASE,
)
META_CHARSET = re.compile(
    rb"""<meta[^>]{0,200}charset\s*=\s*["']?\s*([A-Za-z0-9_\-]{2,40})""", re.I
)
XML_ENCODING = re.compile(rb"""<\?xml[^>]{0,100}encoding\s*=\s*["']([A-Za-z0-9_\-]{2,40})""")
# Pages that declare the old narrow Chinese charsets often use characters only the wider one has.
CHARSET_WIDER = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "big5": "big5hkscs"}
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


@dataclass
class Extracted:
    status: str  # page | summary | title_only
    body: str | None
    title: str | None
    author: str | None
    published: datetime | None
    lang: str | None
    error: str | None  # why the page was not used, when it was not
    content_hash: str | None
    site_name: str | None = None


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    name = name.strip().lower()
    name = CHARSET_WIDER.get(name, name)
    try:
        "".encode(name)
    except LookupError:
        return None
    return name


def trafilatura_options() -> dict[str, Any]:
    """How we call trafilatura (the benchmark's baseline calls it the same way)."""
    return {
        "with_metadata": True,
        "include_comments": False,
        "include_tables": False,
        # htmldate's extensive search made dateparser compile every language's rules on first
        # use and cost about 40% of a cycle; the feed's own date comes first anyway.
        "date_extraction_params": set_date_params(extensive=False),
    }


def warm_up() -> None:
    """Pay trafilatura's first-use set-up (lazy imports, compiled patterns) on a tiny page."""
    text = "Warm-up paragraph with enough words to count as an article body. " * 8
    trafilatura.bare_extraction(
        f"<html><head><title>w</title></head><body><article><p>{text}</p></article></body></html>",
        url="http://127.0.0.1/warm-up",
        **trafilatura_options(),
    )


def decode_html(body: bytes, declared: str | None = None) -> str:
    """Decode a page: the HTTP charset, then the page's own declaration, then detection."""
    head = body[:4096]
    meta = META_CHARSET.search(head) or XML_ENCODING.search(head)
    candidates = [_codec(declared), _codec(meta.group(1).decode("ascii")) if meta else None]
    for codec in candidates:
        if codec:
            try:
                return body.decode(codec)
            except UnicodeDecodeError:
                continue
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(body[:200_000]).best()
    if best is not None and best.encoding:
        return body.decode(best.encoding, errors="replace")
    return body.decode("utf-8", errors="replace")


def guess_lang(text: str, default: str | None = None) -> str | None:
    """The script decides Russian, Chinese or Hindi; Latin-script text keeps the feed's language."""
    if not any(ch.isalpha() for ch in text[:2000]):
        return default
    found = script_lang(text)  # the detector's own reading, so both stages agree
    if found == "en":
        return default if default not in (None, "ru", "zh", "hi") else "en"
    return found


def content_hash(text: str) -> str:
    """A hash of the text that survives whitespace, case and punctuation differences."""
    norm = unicodedata.normalize("NFKC", text).lower()
    norm = re.sub(r"[\W_]+", " ", norm).strip()
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()


def _usable(body: str | None) -> str | None:
    """None when the body is usable as the article, else the reason it is not."""
    if not body:
        return "no article text found on the page"
    cjk = len(CJK.findall(body[:2000])) > 200
    minimum = MIN_BODY_CHARS_CJK if cjk else MIN_BODY_CHARS
    if len(body) < minimum:
        if WALL.search(body):
            return f"page is a paywall or consent wall ({len(body)} chars)"
        return f"page text too short ({len(body)} chars < {minimum})"
    if WALL.search(body[:600]) and len(body) < 3 * minimum:
        return f"page is a paywall or consent wall ({len(body)} chars)"
    return None


def _as_datetime(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value[:10])
    except ValueError:
        return None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def extract_article(
    page: bytes | None,
    *,
    url: str,
    encoding: str | None = None,
    entry_title: str | None = None,
    entry_summary: str | None = None,
    entry_lang: str | None = None,
    page_error: str | None = None,
) -> Extracted:
    """Body and metadata of one article; the feed's summary when the page is unusable."""
    doc = None
    error = page_error
    if page is not None:
        try:
            html = decode_html(page, encoding)
            doc = trafilatura.bare_extraction(html, url=url, **trafilatura_options())
        except Exception as exc:  # trafilatura/lxml on hostile markup: one article's problem
            error = f"extraction failed: {type(exc).__name__}: {exc}"[:500]
    body = getattr(doc, "text", None) if doc is not None else None
    if doc is not None:
        error = _usable(body)
    elif page is not None and error is None:
        error = "no article text found on the page"
    page_title = clean_text(getattr(doc, "title", None), 1000) if doc is not None else None
    title = page_title or entry_title
    author = getattr(doc, "author", None) if doc is not None else None
    published = _as_datetime(getattr(doc, "date", None)) if doc is not None else None
    site_name = getattr(doc, "sitename", None) if doc is not None else None
    if error is None and body:
        status = "page"
        text = body[:MAX_BODY_CHARS]
    elif entry_summary:
        status, text = "summary", entry_summary
    else:
        status, text = "title_only", None
        error = error or "no page and no summary"
    lang = guess_lang(" ".join(filter(None, [title, text])), entry_lang) or entry_lang
    return Extracted(
        status=status,
        body=text,
        title=title[:1000] if title else None,
        author=author[:300] if author else None,
        published=published,
        lang=lang,
        error=error,
        content_hash=content_hash(text) if text else None,
        site_name=site_name[:200] if site_name and status == "page" else None,
    )
