"""Detection by several processes: the same mentions and events as by one, even if a worker dies."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import threading
import time
from typing import Any

import psycopg2.extensions
import pytest

from sinorus import db as sdb
from sinorus import events
from tests.conftest import shared_path
from tests.support import seed
from tests.test_ingest import _children, _cmdline, _zombie

Connection = psycopg2.extensions.connection


@pytest.fixture
def backlog(db: Connection, monkeypatch: pytest.MonkeyPatch) -> int:
    """The labelled corpus's real articles, waiting for the detector; a pool from 30 of them."""
    lines = shared_path("eval", "dev.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    with sdb.transaction(db) as cur:
        for i, record in enumerate(records):
            published = record.get("published")
            seed.add_article(
                cur,
                url=f"https://news.example/{i}",
                outlet="news.example",
                title=record.get("title") or "",
                lang=record.get("lang") or "en",
                published=dt.datetime.fromisoformat(published)
                if published
                else dt.datetime(2025, 5, 1, tzinfo=dt.UTC),
                body=record["text"],
            )
    # Small chunks and a low threshold, so a test-sized backlog is spread over the workers.
    monkeypatch.setattr(events, "POOL_MIN_ARTICLES", 30)
    monkeypatch.setattr(events, "CHUNK", 3)
    return len(records)


def snapshot(db: Connection) -> tuple[list[tuple[Any, ...]], set[frozenset[tuple[int, int]]]]:
    """Every mention, and which mentions each event holds (event ids differ between runs)."""
    with sdb.transaction(db) as cur:
        cur.execute(
            "SELECT article_id, ordinal, type, status, event_date, evidence, event_id "
            "FROM event_mentions ORDER BY article_id, ordinal"
        )
        rows = cur.fetchall()
    groups: dict[int, set[tuple[int, int]]] = {}
    for row in rows:
        groups.setdefault(row[-1], set()).add((row[0], row[1]))
    return [row[:-1] for row in rows], {frozenset(g) for g in groups.values()}


def forget(db: Connection) -> None:
    """Back to nothing detected, so the same backlog can be read again."""
    with sdb.transaction(db) as cur:
        cur.execute("DELETE FROM alerts")
        cur.execute("DELETE FROM event_mentions")
        cur.execute("DELETE FROM events")
        cur.execute("UPDATE articles SET detected_version = NULL")


def test_several_processes_find_what_one_finds(db: Connection, backlog: int) -> None:
    one = events.detect_pending(db, processes=1, batch=40)
    alone = snapshot(db)
    forget(db)
    three = events.detect_pending(db, processes=3, batch=40)
    assert (three.articles, three.mentions, three.errors) == (backlog, one.mentions, [])
    assert one.mentions > 50 and len(alone[1]) > 10
    assert snapshot(db) == alone


def test_a_killed_detection_worker_loses_nothing(db: Connection, backlog: int) -> None:
    one = events.detect_pending(db, processes=1, batch=40)
    alone = snapshot(db)
    forget(db)
    me = os.getpid()
    before = {p for p in _children(me) if "spawn_main" in _cmdline(p)}
    killed: list[int] = []

    def kill_a_worker() -> None:
        for _ in range(1000):  # bounded wait for the pool's workers to appear
            found = sorted({p for p in _children(me) if "spawn_main" in _cmdline(p)} - before)
            if found:
                # Chunks are queued at it by now, while it still loads the rules (about 0.5 s).
                time.sleep(0.2)
                os.kill(found[0], signal.SIGKILL)
                killed.append(found[0])
                return
            time.sleep(0.01)

    killer = threading.Thread(target=kill_a_worker)
    killer.start()
    three = events.detect_pending(db, processes=3, batch=40)
    killer.join()
    assert killed
    assert (three.articles, three.mentions, three.errors) == (backlog, one.mentions, [])
    assert snapshot(db) == alone
    # The other worker is gone too: one left waiting for work would keep the task from exiting.
    survivors = {p for p in _children(me) if "spawn_main" in _cmdline(p) and not _zombie(p)}
    assert not survivors - before, survivors
