"""Alerts for a channel no longer configured: kept, reported loudly, discarded on purpose."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from typing import Any

import pytest

# Hooks read connections from env vars and need no metadata DB, but keep Airflow out of ~/airflow.
import tests.airflow_env  # noqa: F401  isort: skip

# Airflow sets up logging when first imported (configured_channels asks it for connections):
# import it here, not under caplog in the middle of a test, where it takes the records away.
from airflow.sdk import BaseHook  # noqa: F401  isort: skip
from sinorus import cli, health, pipeline
from sinorus import db as sdb
from sinorus.alerts import backlog, outbox
from sinorus.alerts import channels as ch
from tests.support.servers import LocalServer
from tests.test_alerts import clear_alert_env, enqueue, meeting, serve_slack, stored_event

pytestmark = pytest.mark.integration

WEBHOOK = "/services/T/B/backlog"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_alert_env(monkeypatch)
    monkeypatch.setenv("USER", "oncall-ana")


def slack_was_removed(db: Any, n: int = 2) -> list[int]:
    """Events alerted on slack and console while slack was set up; slack is gone now."""
    ids = []
    for _ in range(n):
        event_id = stored_event(db)
        enqueue(db, event_id, meeting(), channels=["slack", "console"])
        ids.append(event_id)
    return ids


def statuses(db: Any) -> list[tuple[Any, ...]]:
    with sdb.transaction(db) as cur:
        cur.execute(
            "SELECT channel, status, attempts, closed_by, closed_reason FROM alerts"
            " ORDER BY channel, id"
        )
        return list(cur.fetchall())


def test_send_keeps_and_names_alerts_waiting_for_an_unconfigured_channel(
    db: Any,
    server: LocalServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    slack_was_removed(db)
    assert ch.configured_channels() == ["console"]
    with caplog.at_level(logging.WARNING, logger="sinorus.alerts.outbox"):
        result = pipeline.send_alerts()  # the sinorus_alerts task's body, channels as configured
    assert (result["sent"], result["pending"], result["waiting"]) == (2, 2, {"slack": 2})
    json.dumps(result)  # an XCom value
    assert "2 alerts waiting for unconfigured channel slack" in caplog.text
    assert capsys.readouterr().out.count("sinorus-watch event #") == 2  # the console ones
    # Never tried, so never 'failed' by attempts: they wait as they were.
    assert [r[:3] for r in statuses(db) if r[0] == "slack"] == [("slack", "pending", 0)] * 2

    # The connection comes back: nothing was lost, each goes out once.
    serve_slack(server, monkeypatch, WEBHOOK)
    again = pipeline.send_alerts()
    assert (again["sent"], again["pending"], again["waiting"]) == (2, 0, {})
    assert server.hits(WEBHOOK) == 2


def test_maintenance_health_report_shows_them(db: Any, caplog: pytest.LogCaptureFixture) -> None:
    slack_was_removed(db, 3)
    outbox.send_pending(db, [ch.ConsoleChannel(stream=io.StringIO())])
    with caplog.at_level(logging.WARNING, logger="sinorus.health"):
        report = pipeline.feed_report()  # the maintenance DAG's feed_health task
    json.dumps(report)  # an XCom value
    alerts = report["alerts"]
    assert alerts["configured"] == ["console"]
    [waiting] = alerts["waiting"]
    assert (waiting["channel"], waiting["alerts"]) == ("slack", 3)
    assert dt.datetime.fromisoformat(waiting["oldest"]).tzinfo is not None
    assert alerts["channels"]["slack"] == {
        "configured": False,
        "pending": 3,
        "oldest_pending": waiting["oldest"],
    }
    assert alerts["channels"]["console"] == {"configured": True, "sent": 3}
    assert "3 alerts waiting for unconfigured channel slack since" in caplog.text
    # With slack configured the same rows are a normal backlog, not a waiting one.
    configured = health.feed_report(db, channels=["slack", "console"])["alerts"]
    assert configured["waiting"] == []
    assert configured["channels"]["slack"]["configured"] is True


def test_discard_command_closes_them_with_who_and_why(
    db: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    [first, _] = slack_was_removed(db)
    outbox.send_pending(db, [ch.ConsoleChannel(stream=io.StringIO())])
    assert cli.main(["alerts"]) == 0
    out = capsys.readouterr().out
    assert "slack    NO" in out and "2 alerts waiting for unconfigured channel slack" in out

    # Refused: no reason (argparse), nothing to say which rows.
    with pytest.raises(SystemExit):
        cli.main(["alerts", "discard", "--channel", "slack"])
    assert cli.main(["alerts", "discard", "--reason", "all of them"]) == 2
    assert "say which alerts" in capsys.readouterr().err

    one = ["--event", str(first), "--channel", "slack", "--reason", "workspace retired"]
    assert cli.main(["alerts", "discard", *one]) == 0
    assert capsys.readouterr().out.startswith("discarded 1 pending alerts")
    assert (
        cli.main(["alerts", "discard", "--channel", "slack", "--reason", "workspace retired"]) == 0
    )
    assert capsys.readouterr().out.startswith("discarded 1 pending alerts")
    assert cli.main(["alerts", "discard", "--channel", "slack", "--reason", "again"]) == 0
    assert capsys.readouterr().out.strip() == "discarded 0 pending alerts"
    assert statuses(db) == [
        ("console", "sent", 1, None, None),
        ("console", "sent", 1, None, None),
        ("slack", "discarded", 0, "oncall-ana", "workspace retired"),
        ("slack", "discarded", 0, "oncall-ana", "workspace retired"),
    ]
    # Gone from the backlog: nothing waits, and a configured slack would send nothing.
    summary = outbox.send_pending(db, [ch.ConsoleChannel(stream=io.StringIO())])
    assert (summary.pending, summary.waiting) == (0, {})
    assert cli.main(["alerts", "status"]) == 0
    out = capsys.readouterr().out
    assert "waiting" not in out and "discarded" in out


def test_discard_leaves_a_row_a_sender_is_delivering(db: Any, database_url: str) -> None:
    [held, free] = slack_was_removed(db)
    sender = sdb.connect(database_url)
    try:
        with sender.cursor() as cur:
            cur.execute(
                "SELECT id FROM alerts WHERE event_id = %s AND channel = 'slack' FOR UPDATE",
                (held,),
            )
        with sdb.transaction(db) as cur:
            ids = backlog.discard(cur, reason="retired", by="ops", channel="slack")
            cur.execute("SELECT id FROM alerts WHERE event_id = %s AND channel = 'slack'", (free,))
            assert ids == [cur.fetchone()[0]]
    finally:
        sender.rollback()
        sender.close()
    with pytest.raises(ValueError, match="needs a reason"), sdb.transaction(db) as cur:
        backlog.discard(cur, reason="  ", by="ops", channel="slack")
