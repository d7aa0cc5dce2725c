"""Detected mentions into `event_mentions`, clustered into `events`, alerts queued alongside."""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import psycopg2.extensions
import psycopg2.extras
from psycopg2.extensions import cursor as Cursor

from sinorus import cluster, workers
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


# A backlog this large is read by several processes (SINORUS_DETECT_PROCESSES); a worker takes
# about 0.5 s to start and load the rules, which a few hundred articles repay.
POOL_MIN_ARTICLES = 400
# Articles a worker is handed at a time, and chunks kept queued per worker.
CHUNK = 20
QUEUED_PER_WORKER = 2


def detect_processes() -> int:
    """Processes that run the detector, the task's own included: SINORUS_DETECT_PROCESSES, else
    one per core (max 4)."""
    return workers.processes("SINORUS_DETECT_PROCESSES")


def detect_pending(
    conn: psycopg2.extensions.connection,
    *,
    limit: int = 2000,
    batch: int = 200,
    processes: int | None = None,
) -> DetectSummary:
    """Run the detector over articles it has not read yet and fold the results into events.

    The detector is pure CPU: with a backlog of POOL_MIN_ARTICLES or more, `processes`
    processes read each batch (this one and spawned workers); clustering and the database
    stay in this process, batch by batch, under the clustering lock.
    """
    summary = DetectSummary()
    total = detect_processes() if processes is None else processes
    with sdb.transaction(conn) as cur:
        backlog = _backlog(cur, min(limit, POOL_MIN_ARTICLES))
    if backlog == 0:
        return summary
    count = total - 1 if backlog >= POOL_MIN_ARTICLES else 0
    with workers.pool(count, _load_rules) as pool:
        reader = _Reader(pool, count)
        while summary.articles < limit:
            with sdb.transaction(conn) as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", (CLUSTER_LOCK,))
                articles = _articles_to_read(cur, min(batch, limit - summary.articles))
                if not articles:
                    break
                _detect_batch(cur, articles, reader.read(articles), summary)
    log.info(
        "detected %d mentions in %d articles: %d new events, %d updated, %d alerts queued",
        summary.mentions,
        summary.articles,
        summary.new_events,
        summary.updated_events,
        summary.alerts_queued,
    )
    return summary


_UNREAD = "extraction_status = ANY(%s) AND detected_version IS DISTINCT FROM %s"


def _backlog(cur: Cursor, up_to: int) -> int:
    """Articles waiting for the detector, counted up to `up_to`."""
    cur.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM articles WHERE {_UNREAD} LIMIT %s) waiting",
        (list(READABLE), DETECTOR_VERSION, up_to),
    )
    row = cur.fetchone()
    return int(row[0]) if row else 0


def _articles_to_read(cur: Cursor, limit: int) -> list[_Article]:
    cur.execute(
        "SELECT id, title, body, lang, coalesce(published_at, fetched_at)::date FROM articles "
        f"WHERE {_UNREAD} "
        "ORDER BY coalesce(published_at, fetched_at), id LIMIT %s FOR UPDATE SKIP LOCKED",
        (list(READABLE), DETECTOR_VERSION, limit),
    )
    return [_Article(*row) for row in cur.fetchall()]


# What the detector made of one article: its mentions, or why it failed.
_Reading = list[Mention] | str


def _read_chunk(articles: Sequence[_Article]) -> list[_Reading]:
    """Run the detector over some articles; pure, so it can run in a worker process."""
    out: list[_Reading] = []
    for article in articles:
        try:
            out.append(
                detector.detect(
                    article.body or "",
                    lang=article.lang,
                    published=article.published,
                    title=article.title,
                )
            )
        except Exception as exc:  # one article's text must not stop the batch
            log.exception("detector failed on article %s", article.id)
            out.append(f"{type(exc).__name__}: {exc}")
    return out


def _load_rules() -> None:
    """A worker's warm-up: load the rules and gazetteer before the first chunk arrives."""
    detector.default_detector()


class _Reader:
    """Reads batches with the task process and the pool's workers side by side."""

    def __init__(self, pool: ProcessPoolExecutor | None, count: int) -> None:
        self.pool = pool
        self.cap = QUEUED_PER_WORKER * count

    def read(self, articles: Sequence[_Article]) -> list[_Reading]:
        chunks = [articles[i : i + CHUNK] for i in range(0, len(articles), CHUNK)]
        done: dict[int, list[_Reading]] = {}
        in_flight: dict[Future[list[_Reading]], int] = {}
        for k, chunk in enumerate(chunks):
            self._collect(in_flight, chunks, done, block=False)
            # Queue no more at the workers than this process has chunks left to read, so both
            # finish together.
            if self.pool is not None and len(in_flight) < min(self.cap, len(chunks) - k - 1):
                try:
                    in_flight[self.pool.submit(_read_chunk, chunk)] = k
                    continue
                except BrokenProcessPool:
                    log.warning("detection workers died; reading the rest here")
                    self.pool = None
            done[k] = _read_chunk(chunk)
        while in_flight:
            self._collect(in_flight, chunks, done, block=True)
        return [reading for k in range(len(chunks)) for reading in done[k]]

    def _collect(
        self,
        in_flight: dict[Future[list[_Reading]], int],
        chunks: Sequence[Sequence[_Article]],
        done: dict[int, list[_Reading]],
        *,
        block: bool,
    ) -> None:
        ready, _ = wait(in_flight, timeout=None if block else 0, return_when=FIRST_COMPLETED)
        for future in ready:
            k = in_flight.pop(future)
            try:
                done[k] = future.result()
            except Exception as exc:  # the worker died (killed, out of memory)
                # The detector is pure and bounded, so reading the chunk here is safe.
                log.warning("a detection worker failed (%s); reading its articles here", exc)
                done[k] = _read_chunk(chunks[k])


def _detect_batch(
    cur: Cursor,
    articles: Sequence[_Article],
    readings: Sequence[_Reading],
    summary: DetectSummary,
) -> None:
    found: list[tuple[_Article, int, Mention]] = []
    for article, reading in zip(articles, readings, strict=True):
        if isinstance(reading, str):
            summary.errors.append(f"article {article.id}: {reading}")
            continue
        found += [(article, i, m) for i, m in enumerate(reading)]
    ids = [a.id for a in articles]
    cur.execute("DELETE FROM event_mentions WHERE article_id = ANY(%s) RETURNING event_id", (ids,))
    touched = {row[0] for row in cur.fetchall() if row[0] is not None}
    dates = [m.event_date or a.published for a, _, m in found]
    candidates, event_ids = _candidate_events(
        cur, [d for d in dates if d], {m.type for _, _, m in found}
    )
    # Events born in this batch get their ids in one round trip once clustering is done; until
    # then a new event is known by a negative key (-1 for the first).
    born: list[Mention] = []
    assigned: list[tuple[int, int, int, Mention]] = []
    for article, ordinal, mention in found:
        match = cluster.assign([(mention, article.published)], candidates)[0]
        if match is None:
            born.append(mention)
            key = -len(born)
            candidates.append(cluster.summarize([mention]))
            event_ids.append(key)
        else:
            key = event_ids[match]
            candidates[match] = _merge(candidates[match], mention)
        assigned.append((article.id, ordinal, key, mention))
    new_ids = _insert_events(cur, born)

    def real(key: int) -> int:
        return new_ids[-key - 1] if key < 0 else key

    _insert_mentions(cur, [_mention_row(a, o, real(k), m) for a, o, k, m in assigned])
    touched |= {real(k) for _, _, k, _ in assigned}
    created = set(new_ids)
    cur.execute(
        "UPDATE articles SET detected_version = %s WHERE id = ANY(%s)", (DETECTOR_VERSION, ids)
    )
    summary.articles += len(articles)
    summary.mentions += len(found)
    summary.new_events += len(created)
    summary.updated_events += len(touched - created)
    summary.alerts_queued += refresh_events(cur, sorted(touched), created=created)


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


def _insert_events(cur: Cursor, mentions: Sequence[Mention]) -> list[int]:
    """Insert one event per mention (filled in by refresh_events); their ids, in order."""
    if not mentions:
        return []
    cur.execute(
        "SELECT nextval(pg_get_serial_sequence('events', 'id')) FROM generate_series(1, %s)",
        (len(mentions),),
    )
    ids = sorted(int(row[0]) for row in cur.fetchall())
    psycopg2.extras.execute_values(
        cur,
        "INSERT INTO events (id, type, status) VALUES %s",
        [(i, m.type, m.status) for i, m in zip(ids, mentions, strict=True)],
    )
    return ids


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


# The UPDATE's VALUES rows, typed so that NULLs and empty arrays need no guessing.
_EVENT_UPDATE = (
    "UPDATE events e SET type = v.type, status = v.status, event_date = v.event_date, "
    "location = v.location, participants = v.participants, people = v.people, "
    "level = v.level, round = v.round, headline = v.headline, cameo = v.cameo, "
    "plover = v.plover, background = v.background, n_articles = v.n_articles, "
    "n_outlets = v.n_outlets, first_seen = least(e.first_seen, v.first_seen), "
    "last_seen = greatest(e.last_seen, v.last_seen), updated_at = now() "
    "FROM (VALUES %s) AS v (id, type, status, event_date, location, participants, people, "
    "level, round, headline, cameo, plover, background, n_articles, n_outlets, first_seen, "
    "last_seen) WHERE e.id = v.id"
)
_EVENT_UPDATE_ROW = (
    "(%s::bigint, %s::text, %s::text, %s::date, %s::text, %s::jsonb, %s::text[], %s::text, "
    "%s::integer, %s::text, %s::text, %s::text, %s::boolean, %s::integer, %s::integer, "
    "%s::timestamptz, %s::timestamptz)"
)


def refresh_events(cur: Cursor, event_ids: Sequence[int], *, created: Collection[int] = ()) -> int:
    """Recompute events from all their mentions and queue their alerts; returns alerts queued.

    One query reads every mention, one writes every event: a batch touches hundreds of events,
    and a round trip per event was most of the time spent outside the detector.
    """
    if not event_ids:
        return 0
    cur.execute(
        f"SELECT {MENTION_COLUMNS}, a.outlet, coalesce(a.content_hash, a.id::text), a.fetched_at, "
        "coalesce(a.site_name, a.outlet), m.event_id "
        "FROM event_mentions m JOIN articles a ON a.id = m.article_id "
        "WHERE m.event_id = ANY(%s) ORDER BY m.event_id, m.confidence DESC, m.id",
        (list(event_ids),),
    )
    by_event: dict[int, list[tuple[Any, ...]]] = {}
    for row in cur.fetchall():
        by_event.setdefault(row[18], []).append(row)
    cur.execute("SELECT id, status FROM events WHERE id = ANY(%s)", (list(event_ids),))
    previous: dict[int, str] = dict(cur.fetchall())
    gone = [e for e in event_ids if e not in by_event]
    if gone:
        # Re-detection took every mention away: forget the event unless an alert went out.
        cur.execute(
            "DELETE FROM events e WHERE id = ANY(%s) AND NOT EXISTS "
            "(SELECT 1 FROM alerts WHERE event_id = e.id AND status = 'sent')",
            (gone,),
        )
    refreshed = [_summarize_event(e, by_event[e]) for e in event_ids if e in by_event]
    psycopg2.extras.execute_values(
        cur,
        _EVENT_UPDATE,
        [values for _, values, _ in refreshed],
        template=_EVENT_UPDATE_ROW,
        page_size=500,
    )
    queued = 0
    for event, _, outlets in refreshed:
        event_id = event["id"]
        queued += len(
            outbox.enqueue(
                cur,
                event_id,
                event,
                previous_status=None if event_id in created else previous.get(event_id),
                outlets=outlets,
            )
        )
    return queued


def _summarize_event(
    event_id: int, rows: Sequence[Sequence[Any]]
) -> tuple[dict[str, Any], tuple[Any, ...], list[str]]:
    """The event as its mentions describe it: (for the alert rules, UPDATE row, outlets)."""
    record = cluster.summarize([_mention_from_row(r) for r in rows])
    outlets = sorted({r[14] for r in rows if r[14]})
    # An outlet is a site (several may share a host); a story syndicated word for word under
    # other sites counts once, for the site that had it first.
    first_site: dict[str, str] = {}
    for r in sorted(rows, key=lambda r: r[16]):
        first_site.setdefault(r[15], r[17])
    sites = {site for site in first_site.values() if site}
    texts = set(first_site)
    participants = [p.to_dict() for p in record.participants]
    values = (
        event_id,
        record.type,
        record.status,
        record.event_date,
        record.location,
        json.dumps(participants, ensure_ascii=False),
        list(record.people),
        record.level,
        record.round,
        record.headline,
        record.cameo,
        record.plover,
        record.background,
        len(texts),
        len(sites),
        min(r[16] for r in rows),
        max(r[16] for r in rows),
    )
    event = {
        "id": event_id,
        "type": record.type,
        "status": record.status,
        "event_date": record.event_date,
        "location": record.location,
        "participants": participants,
        "people": list(record.people),
        "level": record.level,
        "round": record.round,
        "headline": record.headline,
        "background": record.background,
        "n_articles": len(texts),
        "n_outlets": len(sites),
    }
    return event, values, outlets


def recluster(conn: psycopg2.extensions.connection, *, days: int = 7) -> DetectSummary:
    """Detect and cluster the last days again from scratch, e.g. after the rules changed."""
    with sdb.transaction(conn) as cur:
        cur.execute(
            "UPDATE articles SET detected_version = NULL WHERE fetched_at > now() - %s",
            (timedelta(days=days),),
        )
    return detect_pending(conn, limit=1_000_000)
