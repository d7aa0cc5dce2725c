"""Detected mentions into `event_mentions`, clustered into `events`, alerts queued alongside."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import psycopg2.extensions
import psycopg2.extras
from psycopg2.extensions import cursor as Cursor

from sinorus import cluster
from sinorus import db as sdb
from sinorus.alerts import outbox
from sinorus.detect import detector
from sinorus.detect.model import DETECTOR_VERSION, Mention, Participant

log = logging.getLogger(__name__)

# Clustering reads and writes events as a whole; two writers at once would split one event in two.
CLUSTER_LOCK = 0x51_70_2D_43_4C_55_53_54
# Existing events a new mention may join: dated near it, or seen lately when it has no date.
CANDIDATE_WINDOW = timedelta(days=30)
READABLE = ("page", "summary", "title_only")


@dataclass
class DetectSummary:
    articles: int = 0
    mentions: int = 0
    new_events: int = 0
    updated_events: int = 0
    alerts_queued: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__ | {"errors": self.errors[:20]}


@dataclass
class _Article:
    id: int
    title: str | None
    body: str | None
    lang: str | None
    published: date | None


def detect_pending(
    conn: psycopg2.extensions.connection, *, limit: int = 2000, batch: int = 200
) -> DetectSummary:
    """Run the detector over articles it has not read yet and fold the results into events."""
    summary = DetectSummary()
    while summary.articles < limit:
        with sdb.transaction(conn) as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (CLUSTER_LOCK,))
            articles = _articles_to_read(cur, min(batch, limit - summary.articles))
            if not articles:
                break
            _detect_batch(cur, articles, summary)
    log.info(
        "detected %d mentions in %d articles: %d new events, %d updated, %d alerts queued",
        summary.mentions,
        summary.articles,
        summary.new_events,
        summary.updated_events,
        summary.alerts_queued,
    )
    return summary


def _articles_to_read(cur: Cursor, limit: int) -> list[_Article]:
    cur.execute(
        "SELECT id, title, body, lang, coalesce(published_at, fetched_at)::date FROM articles "
        "WHERE extraction_status = ANY(%s) AND detected_version IS DISTINCT FROM %s "
        "ORDER BY coalesce(published_at, fetched_at), id LIMIT %s FOR UPDATE SKIP LOCKED",
        (list(READABLE), DETECTOR_VERSION, limit),
    )
    return [_Article(*row) for row in cur.fetchall()]


def _detect_batch(cur: Cursor, articles: Sequence[_Article], summary: DetectSummary) -> None:
    found: list[tuple[_Article, int, Mention]] = []
    for article in articles:
        try:
            mentions = detector.detect(
                article.body or "",
                lang=article.lang,
                published=article.published,
                title=article.title,
            )
        except Exception as exc:  # one article's text must not stop the batch
            summary.errors.append(f"article {article.id}: {type(exc).__name__}: {exc}")
            log.exception("detector failed on article %s", article.id)
            mentions = []
        found += [(article, i, m) for i, m in enumerate(mentions)]
    ids = [a.id for a in articles]
    cur.execute("DELETE FROM event_mentions WHERE article_id = ANY(%s) RETURNING event_id", (ids,))
    touched = {row[0] for row in cur.fetchall() if row[0] is not None}
    dates = [m.event_date or a.published for a, _, m in found]
    candidates, event_ids = _candidate_events(
        cur, [d for d in dates if d], {m.type for _, _, m in found}
    )
    created: set[int] = set()
    rows: list[tuple[Any, ...]] = []
    for article, ordinal, mention in found:
        match = cluster.assign([(mention, article.published)], candidates)[0]
        if match is None:
            event_id = _insert_event(cur, mention)
            created.add(event_id)
            candidates.append(cluster.summarize([mention]))
            event_ids.append(event_id)
        else:
            event_id = event_ids[match]
            candidates[match] = _merge(candidates[match], mention)
        rows.append(_mention_row(article.id, ordinal, event_id, mention))
        touched.add(event_id)
    _insert_mentions(cur, rows)
    cur.execute(
        "UPDATE articles SET detected_version = %s WHERE id = ANY(%s)", (DETECTOR_VERSION, ids)
    )
    summary.articles += len(articles)
    summary.mentions += len(found)
    summary.new_events += len(created)
    summary.updated_events += len(touched - created)
    for event_id in sorted(touched):
        summary.alerts_queued += refresh_event(cur, event_id, is_new=event_id in created)


def _merge(record: cluster.EventRecord, mention: Mention) -> cluster.EventRecord:
    """The record as seen by later mentions in the same batch."""
    return cluster.summarize([*_record_mentions(record), mention])


def _record_mentions(record: cluster.EventRecord) -> list[Mention]:
    members = [m for m in record.mention_keys if isinstance(m, Mention)]
    if members:
        return members
    return [
        Mention(
            type=record.type,
            status=record.status,
            event_date=record.event_date,
            date_text=None,
            location=record.location,
            participants=list(record.participants),
            level=record.level,
            round=record.round,
            evidence=record.headline,
            highlights=[],
            confidence=1.0,
            cameo=record.cameo,
            plover=record.plover,
            background=record.background,
        )
    ]


EVENT_COLUMNS = (
    "id, type, status, event_date, location, participants, people, level, round, headline, "
    "cameo, plover, background"
)


def _record_from_row(row: Sequence[Any]) -> cluster.EventRecord:
    return cluster.EventRecord(
        type=row[1],
        status=row[2],
        event_date=row[3],
        location=row[4],
        participants=[Participant.from_dict(p) for p in row[5]],
        people=list(row[6]),
        level=row[7],
        round=row[8],
        headline=row[9] or "",
        cameo=row[10] or "",
        plover=row[11] or "",
        background=row[12],
        mention_keys=[],
    )


def _candidate_events(
    cur: Cursor, dates: Iterable[date], types: set[str]
) -> tuple[list[cluster.EventRecord], list[int]]:
    dates = list(dates)
    if not types:
        return [], []
    low = min(dates, default=date.today()) - CANDIDATE_WINDOW
    high = max(dates, default=date.today()) + CANDIDATE_WINDOW
    cur.execute(
        f"SELECT {EVENT_COLUMNS} FROM events WHERE type = ANY(%s) AND "
        "((event_date BETWEEN %s AND %s) OR (event_date IS NULL AND last_seen > now() - %s)) "
        "ORDER BY id",
        (list(types), low, high, CANDIDATE_WINDOW),
    )
    rows = cur.fetchall()
    return [_record_from_row(r) for r in rows], [r[0] for r in rows]


def _insert_event(cur: Cursor, mention: Mention) -> int:
    cur.execute(
        "INSERT INTO events (type, status) VALUES (%s, %s) RETURNING id",
        (mention.type, mention.status),
    )
    row = cur.fetchone()
    assert row is not None
    return int(row[0])


def _mention_row(article_id: int, ordinal: int, event_id: int, m: Mention) -> tuple[Any, ...]:
    return (
        article_id,
        ordinal,
        event_id,
        m.type,
        m.status,
        m.event_date,
        m.date_text,
        m.location,
        json.dumps([p.to_dict() for p in m.participants], ensure_ascii=False),
        m.level,
        m.round,
        m.evidence,
        json.dumps([list(h) for h in m.highlights]),
        m.confidence,
        m.cameo,
        m.plover,
        m.background,
        DETECTOR_VERSION,
    )


def _insert_mentions(cur: Cursor, rows: Sequence[tuple[Any, ...]]) -> None:
    if rows:
        psycopg2.extras.execute_values(
            cur,
            "INSERT INTO event_mentions (article_id, ordinal, event_id, type, status, event_date, "
            "date_text, location, participants, level, round, evidence, highlights, confidence, "
            "cameo, plover, background, detector_version) VALUES %s",
            rows,
        )


MENTION_COLUMNS = (
    "m.type, m.status, m.event_date, m.date_text, m.location, m.participants, m.level, m.round, "
    "m.evidence, m.highlights, m.confidence, m.cameo, m.plover, m.background"
)


def _mention_from_row(row: Sequence[Any]) -> Mention:
    return Mention(
        type=row[0],
        status=row[1],
        event_date=row[2],
        date_text=row[3],
        location=row[4],
        participants=[Participant.from_dict(p) for p in row[5]],
        level=row[6],
        round=row[7],
        evidence=row[8],
        highlights=[(int(a), int(b)) for a, b in row[9]],
        confidence=float(row[10]),
        cameo=row[11] or "",
        plover=row[12] or "",
        background=bool(row[13]),
    )


def refresh_event(cur: Cursor, event_id: int, *, is_new: bool = False) -> int:
    """Recompute an event from all its mentions and queue its alerts; returns alerts queued."""
    cur.execute(
        f"SELECT {MENTION_COLUMNS}, a.outlet, coalesce(a.content_hash, a.id::text), a.fetched_at, "
        "coalesce(a.site_name, a.outlet) "
        "FROM event_mentions m JOIN articles a ON a.id = m.article_id "
        "WHERE m.event_id = %s ORDER BY m.confidence DESC, m.id",
        (event_id,),
    )
    rows = cur.fetchall()
    cur.execute("SELECT status FROM events WHERE id = %s", (event_id,))
    previous = cur.fetchone()
    if not rows:
        # Re-detection took every mention away: forget the event unless an alert went out.
        cur.execute(
            "DELETE FROM events e WHERE id = %s AND NOT EXISTS "
            "(SELECT 1 FROM alerts WHERE event_id = e.id AND status = 'sent')",
            (event_id,),
        )
        return 0
    record = cluster.summarize([_mention_from_row(r) for r in rows])
    outlets = sorted({r[14] for r in rows if r[14]})
    # An outlet is a site (several may share a host); a story syndicated word for word under
    # other sites counts once, for the site that had it first.
    first_site: dict[str, str] = {}
    for r in sorted(rows, key=lambda r: r[16]):
        first_site.setdefault(r[15], r[17])
    sites = {site for site in first_site.values() if site}
    texts = set(first_site)
    first_seen = min(r[16] for r in rows)
    last_seen = max(r[16] for r in rows)
    cur.execute(
        "UPDATE events SET type = %s, status = %s, event_date = %s, location = %s, "
        "participants = %s, people = %s, level = %s, round = %s, headline = %s, cameo = %s, "
        "plover = %s, background = %s, n_articles = %s, n_outlets = %s, "
        "first_seen = least(first_seen, %s), last_seen = greatest(last_seen, %s), "
        "updated_at = now() WHERE id = %s",
        (
            record.type,
            record.status,
            record.event_date,
            record.location,
            json.dumps([p.to_dict() for p in record.participants], ensure_ascii=False),
            list(record.people),
            record.level,
            record.round,
            record.headline,
            record.cameo,
            record.plover,
            record.background,
            len(texts),
            len(sites),
            first_seen,
            last_seen,
            event_id,
        ),
    )
    event = {
        "id": event_id,
        "type": record.type,
        "status": record.status,
        "event_date": record.event_date,
        "location": record.location,
        "participants": [p.to_dict() for p in record.participants],
        "people": list(record.people),
        "level": record.level,
        "round": record.round,
        "headline": record.headline,
        "background": record.background,
        "n_articles": len(texts),
        "n_outlets": len(sites),
    }
    queued = outbox.enqueue(
        cur,
        event_id,
        event,
        previous_status=None if is_new or previous is None else previous[0],
        outlets=outlets,
    )
    return len(queued)


def recluster(conn: psycopg2.extensions.connection, *, days: int = 7) -> DetectSummary:
    """Detect and cluster the last days again from scratch, e.g. after the rules changed."""
    with sdb.transaction(conn) as cur:
        cur.execute(
            "UPDATE articles SET detected_version = NULL WHERE fetched_at > now() - %s",
            (timedelta(days=days),),
        )
    return detect_pending(conn, limit=1_000_000)
