"""One ingestion cycle: due feeds fetched and parsed, new entries stored, their pages extracted."""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg2.extensions

from sinorus import db as sdb
from sinorus import extract, feeds, parse, store, urls, workers
from sinorus.fetch import Fetcher, FetchResult

log = logging.getLogger(__name__)

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"


@dataclass
class FetchSummary:
    feeds: int = 0
    ok: int = 0
    not_modified: int = 0
    failed: int = 0
    entries_seen: int = 0
    new_articles: int = 0
    failures: list[str] = field(default_factory=list)  # "feed name: error", for the log

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "failures"} | {
            "failed_feeds": self.failures[:20]
        }


def fetch_feeds(
    conn: psycopg2.extensions.connection,
    feed_ids: Sequence[int],
    *,
    run_id: str,
    fetcher: Fetcher | None = None,
    now: datetime | None = None,
    jitter: float = 0.0,
    on_feed: Callable[[int], None] | None = None,
) -> FetchSummary:
    """Poll the given feeds; each feed commits on its own, together with the entries it produced."""
    own = fetcher is None
    fetcher = fetcher or Fetcher()
    summary = FetchSummary()
    try:
        with conn, conn.cursor() as cur:
            rows = {row.id: row for row in store.feed_rows(cur, feed_ids)}
        requests = [
            (row.id, row.url, {"etag": row.etag, "last_modified": row.last_modified})
            for row in rows.values()
        ]
        started = now or datetime.now(UTC)
        # A 304 (or the same bytes again) brings nothing to store but the check itself, so those
        # are written together after the loop: a commit per unchanged feed was most of a quiet
        # run's own time. Should the run die first, those feeds are only asked again next time.
        unchanged: list[tuple[store.FeedRow, FetchResult, bool]] = []
        for feed_id, result in fetcher.get_many(requests, jitter=jitter, accept=FEED_ACCEPT):
            same = _same_body(rows[feed_id], result)
            if result.outcome == "not_modified" or same:
                unchanged.append((rows[feed_id], result, same))
                outcome: dict[str, Any] = {"status": "not_modified"}
            else:
                with sdb.transaction(conn) as cur:
                    outcome = _record_feed(
                        cur, rows[feed_id], result, run_id=run_id, started=started, same=False
                    )
            summary.feeds += 1
            if on_feed:
                on_feed(summary.feeds)
            summary.entries_seen += outcome.get("items_seen", 0)
            summary.new_articles += outcome.get("new_items", 0)
            status = outcome["status"]
            if status == "ok":
                summary.ok += 1
            elif status == "not_modified":
                summary.not_modified += 1
            else:
                summary.failed += 1
                summary.failures.append(f"{rows[feed_id].name}: {outcome.get('error')}")
        if unchanged:
            with sdb.transaction(conn) as cur:
                for feed, result, same in unchanged:
                    _record_feed(cur, feed, result, run_id=run_id, started=started, same=same)
    finally:
        if own:
            fetcher.close()
    log.info(
        "feeds: %d polled, %d ok, %d not modified, %d failed; %d entries seen, %d new articles",
        summary.feeds,
        summary.ok,
        summary.not_modified,
        summary.failed,
        summary.entries_seen,
        summary.new_articles,
    )
    for failure in summary.failures:
        log.warning("feed failed: %s", failure)
    return summary


def _body_hash(result: FetchResult) -> str | None:
    return hashlib.sha256(result.body).hexdigest() if result.body is not None else None


def _same_body(feed: store.FeedRow, result: FetchResult) -> bool:
    """A server that ignores conditional GET but sends the same bytes: nothing new to parse."""
    return (
        result.outcome == "ok"
        and feed.body_hash is not None
        and _body_hash(result) == feed.body_hash
    )


def _record_feed(
    cur: psycopg2.extensions.cursor,
    feed: store.FeedRow,
    result: FetchResult,
    *,
    run_id: str,
    started: datetime,
    same: bool,
) -> dict[str, Any]:
    """Parse one feed's response and store everything it produced, in the caller's transaction.

    `same`: a 200 with the bytes the feed sent last time (fetch_feeds has compared them)."""
    now = datetime.now(UTC)
    base: dict[str, Any] = {"http_status": result.status, "ms": result.elapsed_ms}
    fields: dict[str, Any]
    parsed: parse.ParsedFeed | None = None
    if result.outcome == "ok" and result.body is not None and not same:
        parsed = parse.parse_feed(
            result.body, url=result.final_url, content_type=result.headers.get("content-type")
        )
    if result.outcome == "not_modified" or same:
        fields = base | {"status": "not_modified"}
        store.feed_succeeded(
            cur,
            feed.id,
            now=now,
            next_due=feeds.next_due(now, failures=0, ttl_seconds=feed.ttl_seconds),
            # The feed answered 200 with what it sent last time: healthy, nothing new.
            status="ok" if same else "not_modified",
            http_status=result.status,
            etag=result.etag or feed.etag,
            last_modified=result.last_modified or feed.last_modified,
            ttl_seconds=feed.ttl_seconds,
            new_items=0,
            body_hash=feed.body_hash,
        )
    elif parsed is not None and parsed.error is None:
        fresh = store.unknown_entries(cur, feed.id, parsed.entries)
        created = store.insert_entries(cur, feed.id, feed.lang, urls.host_of, fresh)
        ttl = max(filter(None, [parsed.ttl_seconds, result.max_age]), default=None)
        skipped = "; ".join(parsed.skipped[:5]) if parsed.skipped else None
        fields = base | {
            "status": "ok",
            "items_seen": parsed.seen,
            "new_items": len(created),
            "bytes": len(result.body or b""),
            "bozo": parsed.bozo,
            "error": f"{len(parsed.skipped)} entries skipped: {skipped}" if skipped else None,
        }
        store.feed_succeeded(
            cur,
            feed.id,
            now=now,
            next_due=feeds.next_due(now, failures=0, ttl_seconds=ttl),
            status="ok",
            http_status=result.status,
            etag=result.etag,
            last_modified=result.last_modified,
            ttl_seconds=ttl,
            new_items=len(created),
            body_hash=_body_hash(result),
        )
    else:
        error = parsed.error if parsed is not None else result.error
        status = "refused" if result.outcome == "refused" else "failed"
        fields = base | {
            "status": status,
            "error": error or result.outcome,
            "bytes": len(result.body or b""),
            "bozo": parsed.bozo if parsed else None,
        }
        store.feed_failed(
            cur,
            feed.id,
            now=now,
            next_due=feeds.next_due(now, failures=feed.consecutive_failures + 1, ttl_seconds=None),
            status=status,
            http_status=result.status,
            error=str(fields["error"]),
        )
    store.log_fetch(cur, run_id, feed.id, started, **fields)
    return fields


@dataclass
class ExtractSummary:
    articles: int = 0
    statuses: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {"articles": self.articles, **dict(self.statuses)}


# Below this many pages a worker process costs more to start than it saves.
POOL_MIN_ARTICLES = 20
# Pages queued per worker, so it never idles while the task process parses a long page of its
# own (with 2, a worker sat idle for 16 % of a 200-page run; with 4, 2 %).
QUEUED_PER_WORKER = 4


def extract_processes() -> int:
    """Processes that parse pages, the task's own included: SINORUS_EXTRACT_PROCESSES, else one
    per core (max 4)."""
    return workers.processes("SINORUS_EXTRACT_PROCESSES")


@contextmanager
def _extraction_pool(count: int, articles: int) -> Iterator[ProcessPoolExecutor | None]:
    # Below POOL_MIN_ARTICLES pages a worker costs more to start than it saves.
    with workers.pool(count if articles >= POOL_MIN_ARTICLES else 0, extract.warm_up) as pool:
        yield pool


def extract_pending(
    conn: psycopg2.extensions.connection,
    *,
    fetcher: Fetcher | None = None,
    limit: int = 500,
    processes: int | None = None,
) -> ExtractSummary:
    """Download and extract the pages of articles that are waiting; commit each on its own.

    trafilatura is CPU-bound, so `processes` processes parse pages: this one and a pool of
    `processes - 1` spawned workers. Each worker keeps QUEUED_PER_WORKER pages queued; this
    process parses the pages that arrive while the workers' queues are full, and a thread of
    its own writes each result as it comes back. Parsing here too, rather than a worker per
    core, saves a worker's start-up, which is most of the cost of a cycle of a few dozen pages.
    """
    own = fetcher is None
    fetcher = fetcher or Fetcher()
    summary = ExtractSummary()
    try:
        with conn, conn.cursor() as cur:
            pending = {a.id: a for a in store.pending_articles(cur, limit)}
        if not pending:
            return summary
        requests: list[tuple[int, str, dict[str, str | None]]] = [
            (a.id, a.url, {}) for a in pending.values()
        ]
        total = extract_processes() if processes is None else processes
        with _Saver(conn, summary) as saver, _extraction_pool(total - 1, len(pending)) as pool:
            in_flight: dict[Future[_Parsed], tuple[store.PendingArticle, FetchResult]] = {}
            queue_cap = QUEUED_PER_WORKER * (total - 1)
            left = len(pending)
            for article_id, result in fetcher.get_many(requests, accept=PAGE_ACCEPT):
                article = pending[article_id]
                left -= 1
                if in_flight:
                    _drain(saver, in_flight, timeout=0)
                # Near the end, queue no more at the workers than this process has pages left
                # to parse, so both finish together instead of this one waiting at the end.
                if pool is not None and len(in_flight) < min(queue_cap, left):
                    try:
                        in_flight[pool.submit(_parse_page, article, result)] = (article, result)
                        continue
                    except BrokenProcessPool:
                        # A worker died (killed, out of memory): its pages are recorded as
                        # failed by _drain; the task parses the rest itself.
                        log.warning("extraction workers died; parsing the remaining pages here")
                        pool = None
                saver.save(article, _parse_page(article, result))
            while in_flight:
                _drain(saver, in_flight)
    finally:
        if own:
            fetcher.close()
    log.info("extracted %d articles: %s", summary.articles, dict(summary.statuses))
    return summary


@dataclass
class _Parsed:
    extracted: extract.Extracted
    canonical: str | None


def _parse_page(article: store.PendingArticle, result: FetchResult) -> _Parsed:
    """Extract one page; pure, so it can run in a worker process."""
    page = result.body if result.ok else None
    ex = extract.extract_article(
        page,
        url=result.final_url or article.url,
        encoding=result.encoding,
        entry_title=article.title,
        entry_summary=article.summary,
        entry_lang=article.lang,
        page_error=None if result.ok else (result.error or result.outcome),
    )
    canonical = None
    if page is not None:
        canonical = urls.canonical_from_html(page, result.final_url or article.url)
    if canonical is None and result.ok and result.final_url and result.final_url != article.url:
        canonical = urls.canonical_url(result.final_url)
    return _Parsed(ex, canonical)


def _drain(
    saver: _Saver,
    in_flight: dict[Future[_Parsed], tuple[store.PendingArticle, FetchResult]],
    *,
    timeout: float | None = None,
) -> None:
    """Save the worker results that are ready (waiting up to `timeout` for the first one)."""
    done, _ = wait(in_flight, timeout=timeout, return_when=FIRST_COMPLETED)
    for future in done:
        article, _ = in_flight.pop(future)
        try:
            parsed = future.result()
        except Exception as exc:  # a worker that died or raised: record, keep the summary
            log.warning("extraction of article %s failed in a worker: %s", article.id, exc)
            parsed = _Parsed(
                extract.extract_article(
                    None,
                    url=article.url,
                    entry_title=article.title,
                    entry_summary=article.summary,
                    entry_lang=article.lang,
                    page_error=f"extraction worker failed: {type(exc).__name__}: {exc}"[:500],
                ),
                None,
            )
        saver.save(article, parsed)


class _Saver:
    """Writes extraction results from a thread of its own, each page in its own transaction.

    A save is a round trip, a full-text update and a commit (about 2 ms): done on the thread
    that also parses and feeds the workers, it held back both. The database call releases the
    GIL, so the parsing goes on meanwhile. The first error stops the saving and is raised to
    the caller, at its next save or on leaving the block; pages not yet saved stay pending.
    """

    def __init__(self, conn: psycopg2.extensions.connection, summary: ExtractSummary) -> None:
        self._conn = conn
        self._summary = summary
        self._queue: queue.SimpleQueue[tuple[store.PendingArticle, _Parsed] | None] = (
            queue.SimpleQueue()
        )
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="extraction-saver", daemon=True)

    def __enter__(self) -> _Saver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None and exc[0] is None:
            raise self._error

    def save(self, article: store.PendingArticle, parsed: _Parsed) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put((article, parsed))

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is not None:
                continue  # drain what is queued; the caller raises the first error
            try:
                _save(self._conn, *item, self._summary)
            except BaseException as exc:  # handed to the caller, raised there
                self._error = exc


def _save(
    conn: psycopg2.extensions.connection,
    article: store.PendingArticle,
    parsed: _Parsed,
    summary: ExtractSummary,
) -> None:
    with sdb.transaction(conn) as cur:
        status = store.save_extraction(
            cur,
            article,
            parsed.extracted,
            canonical=parsed.canonical,
            outlet=urls.host_of(parsed.canonical or article.url),
            now=datetime.now(UTC),
        )
    summary.articles += 1
    summary.statuses[status] += 1


def run_id_now() -> str:
    return (
        "manual__"
        + datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        + f"_{time.monotonic_ns() % 1000:03d}"
    )
