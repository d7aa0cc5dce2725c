"""A whole cycle over the offline sample: feeds to events to alerts, twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sinorus import pipeline
from sinorus.sample import server as sample

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[sample.SampleServer]:
    with sample.serve(port=0, now=NOW) as srv:
        monkeypatch.setenv("SINORUS_FETCH_ALLOW", f"127.0.0.1:{srv.port}")
        monkeypatch.setenv("SINORUS_ALERT_LOG", str(tmp_path / "alerts.log"))
        monkeypatch.setenv("SINORUS_CONSOLE_ALERTS", "1")
        for var in ("AIRFLOW_CONN_SINORUS_SLACK", "AIRFLOW_CONN_SINORUS_SMTP"):
            monkeypatch.delenv(var, raising=False)
        yield srv


def query(db, sql: str, *args: object) -> list[tuple]:
    with db.cursor() as cur:
        cur.execute(sql, args)
        out = cur.fetchall()
    db.commit()
    return out


def test_sample_cycle_finds_each_event_once_and_alerts_once(
    db, site: sample.SampleServer, tmp_path: Path
) -> None:
    feeds_file = sample.write_feeds_file(tmp_path / "feeds.yaml", site.base)
    expected = sample.expected(site.base, NOW)
    first = pipeline.run_cycle(feeds_file)
    assert first["feeds"]["failed"] == 1  # the HTML maintenance page served as a feed
    assert first["detected"]["errors"] == []

    key = next(e for e in expected["events"] if e["id"].startswith("wang-yi-shoigu"))
    rows = query(
        db,
        "SELECT id, n_articles, n_outlets, level, round, location, event_date::text, status "
        "FROM events WHERE type = 'meeting' AND 'sergei-shoigu' = ANY(people) AND NOT background",
    )
    assert len(rows) == 1, rows  # three reports in two languages, one event
    event_id, n_articles, n_outlets, level, round_, location, day, status = rows[0]
    assert (n_articles, n_outlets) == (3, 3)
    assert (level, round_, location, status) == ("minister", 20, "Moscow", "held")
    assert day == key["date"]

    alerts = query(db, "SELECT event_id, channel, kind, status FROM alerts ORDER BY id")
    assert [(a[1], a[2], a[3]) for a in alerts if a[0] == event_id] == [("console", "new", "sent")]
    # Every event the sample says must alert did, once; nothing else alerted.
    alerted = query(
        db,
        "SELECT e.type, e.people FROM alerts a JOIN events e ON e.id = a.event_id "
        "WHERE a.kind = 'new'",
    )
    assert len(alerted) == sum(1 for e in expected["events"] if e["alert"])
    assert all(t in ("meeting", "call") for t, _ in alerted)
    log = (tmp_path / "alerts.log").read_text(encoding="utf-8")
    assert "Shoigu" in log

    # A cycle right after finds no feed due; forced, it gets 304s, finds nothing, sends nothing.
    assert pipeline.run_cycle(feeds_file)["feeds"]["feeds"] == 0
    hits_before = dict(site.hits)
    second = pipeline.run_cycle(feeds_file, force=True)
    assert second["feeds"]["new_articles"] == 0
    assert second["feeds"]["not_modified"] == first["feeds"]["ok"]
    assert second["extracted"]["articles"] == 0
    assert second["alerts"]["sent"] == 0
    pages = [p for p in site.hits if p.endswith(".html")]
    assert all(site.hits[p] == hits_before.get(p) for p in pages)
    assert query(db, "SELECT count(*) FROM alerts")[0][0] == len(alerts)


def test_negative_articles_raise_no_alert(db, site: sample.SampleServer, tmp_path: Path) -> None:
    feeds_file = sample.write_feeds_file(tmp_path / "feeds.yaml", site.base)
    expected = sample.expected(site.base, NOW)
    pipeline.run_cycle(feeds_file, send=False)
    negatives = [a["url"] for a in expected["articles"] if a.get("expect") == "none"]
    assert negatives
    rows = query(
        db,
        "SELECT a.url FROM alerts al JOIN event_mentions m ON m.event_id = al.event_id "
        "JOIN articles a ON a.id = m.article_id WHERE a.url = ANY(%s)",
        negatives,
    )
    assert rows == []
