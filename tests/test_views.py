"""The analysts' views and the read-only role, on real PostgreSQL with seeded rows."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import psycopg2.errors
import psycopg2.extensions
import psycopg2.extras
import pytest

from sinorus import db as sdb
from tests.support import seed

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]


def rows(conn: psycopg2.extensions.connection, sql: str) -> list[dict[str, Any]]:
    with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute(sql)
        out = [dict(r) for r in cur.fetchall()]
    conn.rollback()
    return out


@pytest.fixture
def seeded(db: psycopg2.extensions.connection) -> seed.Seeded:
    return seed.standard(db)


def test_recent_high_level_meetings(
    db: psycopg2.extensions.connection, seeded: seed.Seeded
) -> None:
    got = rows(db, "SELECT * FROM recent_high_level_meetings")
    ev = seeded.events
    # agreement, senior officials, recalled background, 200 days old and military are left out
    assert [r["event_id"] for r in got] == [ev["summit"], ev["call"]]
    summit, call = got
    assert summit["participants"] == "Xi Jinping (President, CN); Vladimir Putin (President, RU)"
    assert summit["outlets"].split(", ") == sorted(["tass.com", "news.cn", "ria.ru"])
    assert summit["n_outlets"] == 3
    assert summit["alerted"] is True
    assert summit["location"] == "Moscow"
    # a pending alert is not an alert anyone has seen; a missing title falls back to the role
    assert call["alerted"] is False
    assert call["participants"] == (
        "Wang Yi (Foreign Minister, CN); Sergey Lavrov (foreign minister, RU)"
    )
    assert call["event_date"] == seeded.today - dt.timedelta(days=20)


def test_event_timeline_monthly(db: psycopg2.extensions.connection, seeded: seed.Seeded) -> None:
    got = rows(db, "SELECT month, type, events FROM event_timeline_monthly")
    days = {"summit": 5, "call": 20, "premiers": 10, "consult": 3, "old": 200, "drill": 1}
    types = {
        "summit": "meeting",
        "call": "call",
        "premiers": "agreement",
        "consult": "meeting",
        "old": "meeting",
        "drill": "military",
    }
    expected = Counter(
        ((seeded.today - dt.timedelta(days=d)).replace(day=1), types[k]) for k, d in days.items()
    )
    assert {(r["month"], r["type"]): r["events"] for r in got} == dict(expected)
    assert [(r["month"], r["type"]) for r in got] == sorted(expected)


def test_who_met_whom(db: psycopg2.extensions.connection, seeded: seed.Seeded) -> None:
    got = rows(db, "SELECT * FROM who_met_whom")
    pairs = {(r["cn_person_id"], r["ru_person_id"]): r for r in got}
    # planned consultations and the recalled meeting do not count; military is not a meeting
    assert set(pairs) == {("wang_yi", "sergey_lavrov"), ("xi_jinping", "vladimir_putin")}
    wang = pairs[("wang_yi", "sergey_lavrov")]
    assert (wang["cn_name"], wang["ru_name"]) == ("Wang Yi", "Sergey Lavrov")
    assert wang["events"] == 2
    assert wang["last_date"] == seeded.today - dt.timedelta(days=20)
    assert pairs[("xi_jinping", "vladimir_putin")]["events"] == 1
    assert got[0]["cn_person_id"] == "wang_yi"


def test_events_by_outlet(db: psycopg2.extensions.connection, seeded: seed.Seeded) -> None:
    got = {
        r["outlet"]: (r["events"], r["mentions"])
        for r in rows(db, "SELECT * FROM events_by_outlet")
    }
    assert got == {
        "tass.com": (4, 4),
        "news.cn": (2, 2),
        "ria.ru": (1, 1),
        "mid.ru": (1, 1),
        "example.org": (1, 1),
    }


def test_feed_health(db: psycopg2.extensions.connection, seeded: seed.Seeded) -> None:
    got = {r["feed_id"]: r for r in rows(db, "SELECT * FROM feed_health")}
    broken, tass = got[seeded.feeds["broken"]], got[seeded.feeds["tass"]]
    assert broken["status"] == "failed"
    assert broken["consecutive_failures"] == 3
    assert broken["last_error"] == "HTTP 503 <html>"  # the newest fetch-log error, not an older one
    assert broken["new_items_last_day"] == 0
    assert tass["status"] == "ok"
    assert tass["last_error"] is None
    assert tass["new_items_last_day"] == 1
    assert tass["last_success"] is not None
    assert list(got) == [seeded.feeds["broken"], seeded.feeds["tass"]]  # failing feeds first


def test_views_survive_odd_participants(db: psycopg2.extensions.connection) -> None:
    """Hand-edited rows with a non-array or partial participants value still list."""
    today = seed.server_today(db)
    with sdb.transaction(db) as cur:
        seed.add_event(cur, type_="meeting", day=today, people=[], level="minister")
        cur.execute(
            "INSERT INTO events (type, status, event_date, level, participants) VALUES "
            "('call', 'held', current_date, 'head_of_state', '{\"name\": \"x\"}'), "
            "('call', 'held', current_date, 'head_of_state', '[{\"country\": \"CN\"}, 3]')"
        )
    got = rows(db, "SELECT participants FROM recent_high_level_meetings ORDER BY event_id")
    assert [r["participants"] for r in got] == [None, None, "? (CN)"]
    assert rows(db, "SELECT * FROM who_met_whom") == []


@pytest.fixture
def reader_url(database_url: str, admin_url: str) -> Iterator[str]:
    """A login role that is only a member of sinorus_reader, dropped afterwards."""
    name = f"sinorus_test_reader_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE ROLE "{name}" LOGIN IN ROLE sinorus_reader')
    parts = urlsplit(database_url)
    host = parts.netloc.rsplit("@", 1)[-1]
    try:
        yield urlunsplit(parts._replace(netloc=f"{name}@{host}"))
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP ROLE IF EXISTS "{name}"')
        admin.close()


def test_reader_role_can_select_but_not_write(
    db: psycopg2.extensions.connection, seeded: seed.Seeded, reader_url: str
) -> None:
    reader = psycopg2.connect(reader_url)
    try:
        for view in (
            "recent_high_level_meetings",
            "event_timeline_monthly",
            "who_met_whom",
            "events_by_outlet",
            "feed_health",
            "events",
            "event_mentions",
            "articles",
        ):
            assert rows(reader, f"SELECT count(*) AS n FROM {view}")[0]["n"] > 0, view
        writes = [
            "INSERT INTO events (type, status) VALUES ('call', 'held')",
            f"UPDATE feeds SET enabled = false WHERE id = {seeded.feeds['tass']}",
            "DELETE FROM alerts",
        ]
        for sql in writes:
            with pytest.raises(psycopg2.errors.InsufficientPrivilege), reader.cursor() as cur:
                cur.execute(sql)
            reader.rollback()
    finally:
        reader.close()
    assert rows(db, "SELECT count(*) AS n FROM events WHERE NOT background")[0]["n"] == 6


def test_reader_role_reads_tables_created_later(
    db: psycopg2.extensions.connection, reader_url: str
) -> None:
    """Default privileges cover tables a later migration adds."""
    table = f"later_{uuid.uuid4().hex[:8]}"
    with sdb.transaction(db) as cur:
        cur.execute(f"CREATE TABLE {table} (x integer)")
        cur.execute(f"INSERT INTO {table} VALUES (7)")
    reader = psycopg2.connect(reader_url)
    try:
        assert rows(reader, f"SELECT x FROM {table}") == [{"x": 7}]
    finally:
        reader.close()
        with sdb.transaction(db) as cur:
            cur.execute(f"DROP TABLE {table}")


def test_role_block_tolerates_an_existing_role(db: psycopg2.extensions.connection) -> None:
    """Another database's migration may have created the cluster-wide role first."""
    text = (ROOT / "sql" / "0004_analyst_views.sql").read_text(encoding="utf-8")
    start = text.index("DO $$")
    block = text[start : text.index("$$;", start) + 3]
    with sdb.transaction(db) as cur:
        cur.execute(block)
        cur.execute(block)
        cur.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = 'sinorus_reader'")
        assert cur.fetchone() == (False,)
