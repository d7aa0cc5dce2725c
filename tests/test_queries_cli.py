"""The read-side queries and `sinorus events` / `sinorus event ID` against seeded PostgreSQL."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import uuid

import psycopg2
import psycopg2.errors
import psycopg2.extensions
import pytest

from sinorus import cli_events, queries
from tests.support import seed

pytestmark = pytest.mark.integration


@pytest.fixture
def seeded(db: psycopg2.extensions.connection) -> seed.Seeded:
    return seed.standard(db)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="sinorus")
    cli_events.add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    code = int(args.func(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_levels_at_or_above() -> None:
    assert queries.levels_at_or_above("head_of_state") == ("head_of_state",)
    assert queries.levels_at_or_above("minister") == (
        "head_of_state",
        "head_of_government",
        "minister",
    )
    with pytest.raises(queries.FilterError, match="unknown level"):
        queries.levels_at_or_above("king")


def test_parse_since() -> None:
    today = dt.date(2025, 5, 31)
    assert queries.parse_since("30d", today) == dt.date(2025, 5, 1)
    assert queries.parse_since("2w", today) == dt.date(2025, 5, 17)
    assert queries.parse_since("2025-01-02", today) == dt.date(2025, 1, 2)
    assert queries.parse_since("", today) is None
    with pytest.raises(queries.FilterError, match="not a date"):
        queries.parse_since("last tuesday", today)


def test_list_events_filters(db: psycopg2.extensions.connection, seeded: seed.Seeded) -> None:
    ev = seeded.events
    ids = [e["id"] for e in queries.list_events(db)]
    # newest event date first, background and old ones included when nothing filters them
    assert ids == [
        ev["drill"],
        ev["consult"],
        ev["summit"],
        ev["premiers"],
        ev["call"],
        ev["recalled"],
        ev["old"],
    ]

    def pick(**kw: object) -> list[int]:
        return [e["id"] for e in queries.list_events(db, queries.EventFilter(**kw))]  # type: ignore[arg-type]

    since = seeded.today - dt.timedelta(days=30)
    assert pick(type="meeting", since=since) == [ev["consult"], ev["summit"]]
    assert pick(level="head_of_government") == [ev["summit"], ev["premiers"]]
    assert pick(level="minister", type="meeting") == [ev["summit"], ev["recalled"], ev["old"]]
    assert pick(status="planned") == [ev["consult"]]
    assert pick(until=seeded.today - dt.timedelta(days=100)) == [ev["old"]]
    # free text reaches participants, evidence, article titles and the full-text index
    assert pick(text="lavrov") == [ev["call"], ev["recalled"], ev["old"]]
    assert pick(text="Power of Siberia") == [ev["summit"]]
    assert pick(text="普京") == [ev["summit"]]
    assert pick(text="50%_off") == []
    assert pick(text="<script>") == [ev["drill"]]
    assert pick(limit=2) == [ev["drill"], ev["consult"]]


def test_bad_filters_are_refused(db: psycopg2.extensions.connection) -> None:
    with pytest.raises(queries.FilterError, match="unknown type"):
        queries.list_events(db, queries.EventFilter(type="party"))
    with pytest.raises(queries.FilterError, match="unknown status"):
        queries.list_events(db, queries.EventFilter(status="maybe"))


def test_get_event_with_mentions(db: psycopg2.extensions.connection, seeded: seed.Seeded) -> None:
    event = queries.get_event(db, seeded.events["summit"])
    assert event is not None
    assert event["alerted"] is True
    mentions = event["mentions"]
    assert [m["outlet"] for m in mentions] == ["tass.com", "news.cn", "ria.ru"]  # by confidence
    assert mentions[1]["lang"] == "zh"
    assert mentions[1]["highlights"] == [[4, 7], [17, 19], [21, 23]]
    assert queries.get_event(db, 999_999) is None


def test_weekly_counts(db: psycopg2.extensions.connection, seeded: seed.Seeded) -> None:
    today = seeded.today
    got = queries.weekly_counts(db, today - dt.timedelta(days=60), today)
    total = sum(n for _, _, n in got)
    assert total == 5  # recalled background and the 200-day-old meeting are out
    assert all(week.weekday() == 0 for week, _, _ in got)
    drill_week = today - dt.timedelta(days=1 + (today - dt.timedelta(days=1)).weekday())
    assert (drill_week, "military", 1) in got


def test_readonly_connection_refuses_writes(database_url: str, seeded: seed.Seeded) -> None:
    conn = queries.connect_readonly(database_url)
    try:
        with pytest.raises(psycopg2.errors.ReadOnlySqlTransaction), conn.cursor() as cur:
            cur.execute("UPDATE events SET headline = 'x'")
        conn.rollback()
        assert len(queries.list_events(conn)) == 7
    finally:
        conn.close()


def test_cli_events_json(capsys: pytest.CaptureFixture[str], seeded: seed.Seeded) -> None:
    code, out, _ = run(capsys, "events", "--format", "json", "--level", "minister")
    assert code == 0
    got = json.loads(out)
    ev = seeded.events
    assert [e["id"] for e in got] == [ev["drill"], ev["summit"], ev["premiers"], ev["call"]]
    summit = got[1]
    assert summit["event_date"] == (seeded.today - dt.timedelta(days=5)).isoformat()
    assert summit["alerted"] is True
    assert summit["n_outlets"] == 3
    assert [p["person_id"] for p in summit["participants"]] == ["xi_jinping", "vladimir_putin"]
    assert got[0]["headline"] == seed.SCRIPT_TITLE


def test_cli_events_csv(capsys: pytest.CaptureFixture[str], seeded: seed.Seeded) -> None:
    code, out, _ = run(capsys, "events", "--format", "csv", "--type", "meeting", "--since", "10d")
    assert code == 0
    records = list(csv.DictReader(io.StringIO(out)))
    assert [int(r["id"]) for r in records] == [seeded.events["consult"], seeded.events["summit"]]
    summit = records[1]
    assert summit["place"] == "Moscow"
    assert summit["alerted"] == "yes"
    assert summit["outlets"] == "3"
    assert "Xi Jinping (President, CN)" in summit["participants"]
    assert records[0]["status"] == "planned"


def test_cli_events_table_and_errors(
    capsys: pytest.CaptureFixture[str], seeded: seed.Seeded
) -> None:
    code, out, _ = run(capsys, "events", "--type", "call")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["id", "date", "type"]
    assert len(lines) == 3 and "Wang Yi" in lines[2]
    code, out, _ = run(capsys, "events", "--type", "economic")
    assert (code, out.strip()) == (0, "no events match")
    code, _, err = run(capsys, "events", "--since", "yesterday-ish")
    assert code == 2 and "not a date" in err


def test_cli_event(capsys: pytest.CaptureFixture[str], seeded: seed.Seeded) -> None:
    code, out, _ = run(capsys, "event", str(seeded.events["summit"]), "--format", "json")
    assert code == 0
    got = json.loads(out)
    assert [m["url"] for m in got["mentions"]] == [
        "https://tass.com/politics/1",
        "https://news.cn/world/2",
        "https://ria.ru/3",
    ]
    assert got["mentions"][2]["title"] == "Путин провел переговоры с Си"
    assert got["mentions"][0]["evidence"].startswith("Putin and Xi held talks")
    assert got["mentions"][0]["confidence"] == pytest.approx(0.95)

    code, out, _ = run(capsys, "event", str(seeded.events["drill"]))
    assert code == 0
    assert "example.org [en]" in out
    assert "https://example.org/drill?a=1&b=2" in out
    assert "confidence: 0.70" in out

    code, _, err = run(capsys, "event", "424242")
    assert code == 1 and "no event with id 424242" in err


def test_cli_reports_an_unreachable_database(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SINORUS_READONLY_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    code, out, err = run(capsys, "events")
    assert (code, out) == (2, "")
    assert err.startswith("sinorus events: cannot read the database:")
    code, _, err = run(capsys, "event", "1")
    assert code == 2 and err.startswith("sinorus event: cannot read the database:")


def test_cli_reports_a_missing_schema(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, admin_url: str
) -> None:
    name = f"sinorus_empty_cli_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        monkeypatch.setenv(
            "SINORUS_READONLY_DATABASE_URL", admin_url.rsplit("/", 1)[0] + "/" + name
        )
        code, _, err = run(capsys, "events", "--format", "json")
        assert code == 2 and "run `sinorus migrate`" in err
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
