"""Read-side queries shared by the CLI, the web pages and the weekly digest."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psycopg2
import psycopg2.extensions
import psycopg2.extras

from sinorus import db as sdb
from sinorus import settings
from sinorus.detect.model import LEVELS as LEVELS  # re-exported for the CLI and pages
from sinorus.detect.model import STATUSES as STATUSES
from sinorus.detect.model import TYPES as TYPES

# LEVELS is highest first: "minister" as a filter means minister or any level above it.
READ_ONLY_OPTIONS = "-c default_transaction_read_only=on"

DURATION = re.compile(r"^\s*(\d+)\s*([dwmy])\s*$", re.IGNORECASE)
DAYS_PER_UNIT = {"d": 1, "w": 7, "m": 30, "y": 365}


class FilterError(ValueError):
    """A filter value the user typed cannot be understood; the message says what is accepted."""


def connect_readonly(url: str | None = None) -> psycopg2.extensions.connection:
    """SINORUS_READONLY_DATABASE_URL when set, else the normal database; writes are refused."""
    target = url or settings.env("SINORUS_READONLY_DATABASE_URL") or sdb.database_url()
    # Read-only at the session level even for the reader role: a view page must never write.
    conn = psycopg2.connect(target, connect_timeout=10, options=READ_ONLY_OPTIONS)
    conn.set_client_encoding("UTF8")
    return conn


def levels_at_or_above(level: str) -> tuple[str, ...]:
    if level not in LEVELS:
        raise FilterError(f"unknown level {level!r}; one of: {', '.join(LEVELS)}")
    return LEVELS[: LEVELS.index(level) + 1]


def parse_since(value: str | None, today: dt.date | None = None) -> dt.date | None:
    """'30d', '8w', '6m', '1y' back from today, or an ISO date; empty means no bound."""
    if value is None or not value.strip():
        return None
    today = today or dt.date.today()
    match = DURATION.match(value)
    if match:
        return today - dt.timedelta(
            days=int(match.group(1)) * DAYS_PER_UNIT[match.group(2).lower()]
        )
    return parse_date(value)


def parse_date(value: str | None) -> dt.date | None:
    if value is None or not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise FilterError(f"not a date: {value!r}; use YYYY-MM-DD or e.g. 30d, 8w, 6m") from None


@dataclass(frozen=True)
class EventFilter:
    """What the events list shows; every field left None means no restriction."""

    since: dt.date | None = None
    until: dt.date | None = None
    type: str | None = None
    level: str | None = None
    status: str | None = None
    text: str | None = None
    limit: int = 200

    def check(self) -> EventFilter:
        """Raise FilterError for a value no event could have."""
        if self.type and self.type not in TYPES:
            raise FilterError(f"unknown type {self.type!r}; one of: {', '.join(TYPES)}")
        if self.status and self.status not in STATUSES:
            raise FilterError(f"unknown status {self.status!r}; one of: {', '.join(STATUSES)}")
        if self.level:
            levels_at_or_above(self.level)
        if self.limit < 1:
            raise FilterError("limit must be at least 1")
        return self


def _like(text: str) -> str:
    return "%" + re.sub(r"([\\%_])", r"\\\1", text) + "%"


EVENT_COLUMNS = """
e.id, e.type, e.status, e.event_date, e.location, e.participants, e.level, e.round, e.headline,
e.background, e.first_seen, e.last_seen, e.n_articles, e.n_outlets,
participants_text(e.participants) AS participants_text,
EXISTS (SELECT 1 FROM alerts al WHERE al.event_id = e.id AND al.status = 'sent') AS alerted
"""

EVENTS = f"""
SELECT {EVENT_COLUMNS}
FROM events e
WHERE (%(since)s::date IS NULL OR coalesce(e.event_date, e.first_seen::date) >= %(since)s)
  AND (%(until)s::date IS NULL OR coalesce(e.event_date, e.first_seen::date) <= %(until)s)
  AND (%(type)s::text IS NULL OR e.type = %(type)s)
  AND (%(levels)s::text[] IS NULL OR e.level = ANY (%(levels)s))
  AND (%(status)s::text IS NULL OR e.status = %(status)s)
  AND (%(text)s::text IS NULL
       OR e.headline ILIKE %(like)s OR e.location ILIKE %(like)s
       OR participants_text(e.participants) ILIKE %(like)s
       OR EXISTS (SELECT 1 FROM event_mentions m JOIN articles a ON a.id = m.article_id
                   WHERE m.event_id = e.id
                     AND (m.evidence ILIKE %(like)s OR a.title ILIKE %(like)s
                          OR a.search @@ plainto_tsquery('simple', %(text)s))))
ORDER BY coalesce(e.event_date, e.first_seen::date) DESC, e.first_seen DESC, e.id DESC
LIMIT %(limit)s
"""

EVENT = f"SELECT {EVENT_COLUMNS} FROM events e WHERE e.id = %s"

MENTIONS = """
SELECT m.id, m.article_id, coalesce(a.site_name, a.outlet) AS outlet, a.lang, a.title, a.url,
       a.published_at, m.type, m.status,
       m.event_date, m.evidence, m.highlights, m.confidence
FROM event_mentions m
JOIN articles a ON a.id = m.article_id
WHERE m.event_id = %s
ORDER BY m.confidence DESC, a.published_at NULLS LAST, m.id
"""

WEEKLY = """
SELECT date_trunc('week', coalesce(e.event_date, e.first_seen::date))::date AS week, e.type,
       count(*) AS events
FROM events e
WHERE NOT e.background
  AND coalesce(e.event_date, e.first_seen::date) BETWEEN %s AND %s
GROUP BY 1, 2
ORDER BY 1, 2
"""

FEED_HEALTH = "SELECT * FROM feed_health"


def _fetch(
    conn: psycopg2.extensions.connection, sql: str, params: Mapping[str, Any] | tuple[Any, ...]
) -> list[dict[str, Any]]:
    with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute(sql, params)
        rows = [dict(row) for row in cur.fetchall()]
    conn.rollback()  # end the read transaction so a long-lived connection holds no snapshot
    return rows


def list_events(
    conn: psycopg2.extensions.connection, flt: EventFilter | None = None
) -> list[dict[str, Any]]:
    """Events matching the filter, newest first."""
    flt = (flt or EventFilter()).check()
    text = (flt.text or "").strip() or None
    params = {
        "since": flt.since,
        "until": flt.until,
        "type": flt.type or None,
        "levels": list(levels_at_or_above(flt.level)) if flt.level else None,
        "status": flt.status or None,
        "text": text,
        "like": _like(text) if text else None,
        "limit": flt.limit,
    }
    return _fetch(conn, EVENTS, params)


def get_event(conn: psycopg2.extensions.connection, event_id: int) -> dict[str, Any] | None:
    """One event with its mentions (outlet, language, headline, link, evidence, confidence)."""
    found = _fetch(conn, EVENT, (event_id,))
    if not found:
        return None
    event = found[0]
    event["mentions"] = _fetch(conn, MENTIONS, (event_id,))
    return event


def weekly_counts(
    conn: psycopg2.extensions.connection, since: dt.date, until: dt.date
) -> list[tuple[dt.date, str, int]]:
    """(Monday of the week, type, events) for events dated between since and until."""
    rows = _fetch(conn, WEEKLY, (since, until))
    return [(r["week"], r["type"], int(r["events"])) for r in rows]


def feed_health(conn: psycopg2.extensions.connection) -> list[dict[str, Any]]:
    """The feed_health view: failing feeds first."""
    return _fetch(conn, FEED_HEALTH, ())


def role_label(person: Mapping[str, Any]) -> str:
    """A participant's title, else their role in words."""
    title = str(person.get("title") or "").strip()
    if title:
        return title
    return str(person.get("role") or "").replace("_", " ").strip()
