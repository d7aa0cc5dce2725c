"""Writes to PostgreSQL: new entries, fetch outcomes, feed state, extracted articles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg2.extensions
import psycopg2.extras
from psycopg2.extensions import cursor as Cursor

from sinorus.extract import Extracted
from sinorus.parse import Entry


@dataclass
class FeedRow:
    id: int
    url: str
    name: str
    lang: str | None
    etag: str | None
    last_modified: str | None
    ttl_seconds: int | None
    consecutive_failures: int
    body_hash: str | None = None


def feed_rows(cur: Cursor, ids: Sequence[int]) -> list[FeedRow]:
    cur.execute(
        "SELECT id, url, name, lang, etag, last_modified, ttl_seconds, consecutive_failures, "
        "body_hash FROM feeds WHERE id = ANY(%s) ORDER BY id",
        (list(ids),),
    )
    return [FeedRow(*row) for row in cur.fetchall()]


def unknown_entries(cur: Cursor, feed_id: int, entries: Sequence[Entry]) -> list[Entry]:
    """Entries the database has neither by canonical URL nor by this feed's guid."""
    if not entries:
        return []
    cur.execute(
        "SELECT url, NULL FROM articles WHERE url = ANY(%(urls)s) OR entry_url = ANY(%(raw)s) "
        "UNION ALL SELECT NULL, guid FROM articles "
        "WHERE feed_id = %(feed)s AND guid = ANY(%(guids)s)",
        {
            "urls": [e.url for e in entries],
            "raw": [e.entry_url for e in entries],
            "guids": [e.guid for e in entries if e.guid],
            "feed": feed_id,
        },
    )
    known_urls, known_guids = set(), set()
    for url, guid in cur.fetchall():
        known_urls.add(url)
        known_guids.add(guid)
    return [
        e
        for e in entries
        if e.url not in known_urls
        and e.entry_url not in known_urls
        and not (e.guid and e.guid in known_guids)
    ]


def insert_entries(
    cur: Cursor, feed_id: int, lang: str | None, outlet_of: Any, entries: Sequence[Entry]
) -> list[int]:
    """Store new entries as articles awaiting extraction; returns the ids created."""
    if not entries:
        return []
    rows = [
        (
            e.url,
            e.entry_url,
            feed_id,
            outlet_of(e.url),
            e.guid,
            e.title,
            e.author,
            e.summary,
            e.published,
            lang,
            "pending",
        )
        for e in entries
    ]
    created = psycopg2.extras.execute_values(
        cur,
        "INSERT INTO articles (url, entry_url, feed_id, outlet, guid, title, author, summary, "
        "published_at, lang, extraction_status) VALUES %s "
        "ON CONFLICT (url) DO NOTHING RETURNING id",
        rows,
        fetch=True,
    )
    return [row[0] for row in created]


def log_fetch(cur: Cursor, run_id: str, feed_id: int, started: datetime, **fields: Any) -> None:
    """One fetch-log row per feed per run; a retried run updates its own row."""
    columns = ["status", "http_status", "items_seen", "new_items", "bytes", "ms", "bozo", "error"]
    values = [fields.get(c) for c in columns]
    values[2] = values[2] or 0
    values[3] = values[3] or 0
    cur.execute(
        "INSERT INTO fetch_log (run_id, feed_id, started_at, "
        + ", ".join(columns)
        + ") VALUES (%s, %s, %s, "
        + ", ".join(["%s"] * len(columns))
        + ") ON CONFLICT (run_id, feed_id) DO UPDATE SET "
        + ", ".join(f"{c} = EXCLUDED.{c}" for c in ["started_at", *columns])
        # A retry that finds the feed unchanged since this run's own success keeps the record of
        # what the run found; a retry after a failure replaces it.
        + " WHERE NOT (EXCLUDED.status = 'not_modified' AND fetch_log.status = 'ok')",
        [run_id, feed_id, started, *values],
    )


def feed_succeeded(
    cur: Cursor,
    feed_id: int,
    *,
    now: datetime,
    next_due: datetime,
    status: str,
    http_status: int | None,
    etag: str | None,
    last_modified: str | None,
    ttl_seconds: int | None,
    new_items: int,
    body_hash: str | None,
) -> None:
    cur.execute(
        "UPDATE feeds SET etag = %s, last_modified = %s, ttl_seconds = %s, body_hash = %s, "
        "last_checked_at = %s, last_ok_at = %s, "
        "last_new_at = CASE WHEN %s > 0 THEN %s ELSE last_new_at END, "
        "last_status = %s, http_status = %s, consecutive_failures = 0, last_error = NULL, "
        "next_due_at = %s, updated_at = now() WHERE id = %s",
        (
            etag,
            last_modified,
            ttl_seconds,
            body_hash,
            now,
            now,
            new_items,
            now,
            status,
            http_status,
            next_due,
            feed_id,
        ),
    )


def feed_failed(
    cur: Cursor,
    feed_id: int,
    *,
    now: datetime,
    next_due: datetime,
    status: str,
    http_status: int | None,
    error: str,
) -> None:
    cur.execute(
        "UPDATE feeds SET last_checked_at = %s, last_status = %s, http_status = %s, "
        "consecutive_failures = consecutive_failures + 1, last_error = %s, next_due_at = %s, "
        "updated_at = now() WHERE id = %s",
        (now, status, http_status, error, next_due, feed_id),
    )


@dataclass
class PendingArticle:
    id: int
    url: str
    entry_url: str | None
    title: str | None
    summary: str | None
    published_at: datetime | None
    lang: str | None


def pending_articles(cur: Cursor, limit: int) -> list[PendingArticle]:
    cur.execute(
        "SELECT id, url, entry_url, title, summary, published_at, lang FROM articles "
        "WHERE extraction_status = 'pending' ORDER BY id LIMIT %s",
        (limit,),
    )
    return [PendingArticle(*row) for row in cur.fetchall()]


def save_extraction(
    cur: Cursor,
    article: PendingArticle,
    ex: Extracted,
    *,
    canonical: str | None,
    outlet: str,
    now: datetime,
) -> str:
    """Store one extraction; returns its status ('duplicate' when known by its canonical URL)."""
    if canonical and canonical != article.url:
        cur.execute("SELECT id FROM articles WHERE url = %s", (canonical,))
        row = cur.fetchone()
        if row is not None:
            cur.execute(
                "UPDATE articles SET extraction_status = 'duplicate', duplicate_of = %s, "
                "extraction_error = %s, fetched_at = %s WHERE id = %s",
                (row[0], f"same page as article {row[0]} ({canonical})", now, article.id),
            )
            return "duplicate"
    cur.execute(
        "UPDATE articles SET url = %s, outlet = %s, title = %s, author = %s, "
        "published_at = coalesce(published_at, %s), lang = %s, body = %s, content_hash = %s, "
        "extraction_status = %s, extraction_error = %s, site_name = %s, fetched_at = %s "
        "WHERE id = %s",
        (
            canonical or article.url,
            outlet,
            article.title or ex.title,
            ex.author,
            ex.published,
            ex.lang,
            ex.body,
            ex.content_hash,
            ex.status,
            ex.error,
            ex.site_name,
            now,
            article.id,
        ),
    )
    return ex.status
