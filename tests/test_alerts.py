"""The alert outbox and rules on the real PostgreSQL: enqueue, mutes, idempotence."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

# Hooks read connections from env vars and need no metadata DB, but keep Airflow out of ~/airflow.
import tests.airflow_env  # noqa: F401
from sinorus import db as sdb
from sinorus.alerts import outbox, rules
from tests.support.servers import LocalServer, Reply

pytestmark = pytest.mark.integration

NOW = dt.datetime(2025, 12, 2, 12, 0, tzinfo=dt.UTC)

WANG = {
    "name": "Wang Yi",
    "person_id": "wang-yi",
    "country": "CN",
    "role": "foreign_minister",
    "title": "Foreign Minister of China",
    "level": "minister",
}
SHOIGU = {
    "name": "Sergei Shoigu",
    "person_id": "sergei-shoigu",
    "country": "RU",
    "role": "security_council_secretary",
    "title": "Secretary of the Security Council",
    "level": "minister",
}
XI = {
    "name": "Xi Jinping",
    "person_id": "xi-jinping",
    "country": "CN",
    "role": "president",
    "level": "head_of_state",
}
PUTIN = {
    "name": "Vladimir Putin",
    "person_id": "vladimir-putin",
    "country": "RU",
    "role": "president",
    "level": "head_of_state",
}
CLERK = {"name": "Li Ming", "person_id": "li-ming", "country": "CN", "level": "working"}


def meeting(**overrides: Any) -> dict[str, Any]:
    """An alertable minister-level meeting, as the store passes it to enqueue."""
    event: dict[str, Any] = {
        "type": "meeting",
        "status": "held",
        "event_date": dt.date(2025, 12, 2),
        "location": "Moscow",
        "participants": [WANG, SHOIGU],
        "level": "minister",
        "round": None,
        "background": False,
        "n_articles": 1,
        "n_outlets": 1,
    }
    event.update(overrides)
    return event


def insert_event(cur: Any, event: Mapping[str, Any]) -> int:
    cur.execute(
        "INSERT INTO events (type, status, event_date, location, participants, people, level,"
        " round, background, n_articles, n_outlets)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (
            event["type"],
            event["status"],
            event.get("event_date"),
            event.get("location"),
            json.dumps(event.get("participants", [])),
            [p["person_id"] for p in event.get("participants", []) if "person_id" in p],
            event.get("level"),
            event.get("round"),
            event.get("background", False),
            event.get("n_articles", 1),
            event.get("n_outlets", 1),
        ),
    )
    event_id: int = cur.fetchone()[0]
    return event_id


def add_article(
    cur: Any, *, outlet: str, url: str, title: str, body: str, published: Any = NOW
) -> int:
    """An English article of `outlet` (its feed made on the way), extracted and unread."""
    cur.execute(
        "INSERT INTO feeds (url, name) VALUES (%s, %s) ON CONFLICT (url) DO UPDATE"
        " SET name = EXCLUDED.name RETURNING id",
        (f"https://{outlet}/rss", outlet),
    )
    feed_id = cur.fetchone()[0]
    cur.execute(
        "INSERT INTO articles (url, feed_id, outlet, title, published_at, lang, body,"
        " extraction_status) VALUES (%s, %s, %s, %s, %s, 'en', %s, 'page') RETURNING id",
        (url, feed_id, outlet, title, published, body),
    )
    article_id: int = cur.fetchone()[0]
    return article_id


def add_source(
    cur: Any,
    event_id: int,
    *,
    outlet: str,
    url: str,
    title: str,
    evidence: str,
    confidence: float = 0.9,
) -> int:
    """An article of `outlet` with one mention of the event."""
    article_id = add_article(cur, outlet=outlet, url=url, title=title, body=evidence)
    cur.execute(
        "INSERT INTO event_mentions (article_id, ordinal, event_id, type, status, evidence,"
        " confidence, detector_version) VALUES (%s, 0, %s, 'meeting', 'held', %s, %s, 'test')",
        (article_id, event_id, evidence, confidence),
    )
    return article_id


def stored_event(
    db: Any,
    event: Mapping[str, Any] | None = None,
    *,
    outlet: str = "tass.com",
    evidence: str = "Wang Yi held talks with Sergei Shoigu in Moscow on Tuesday.",
) -> int:
    """An events row with one source article, committed."""
    with sdb.transaction(db) as cur:
        event_id = insert_event(cur, event or meeting())
        add_source(
            cur,
            event_id,
            outlet=outlet,
            url=f"https://{outlet}/news/{event_id}",
            title="Wang Yi meets Shoigu",
            evidence=evidence,
        )
    return event_id


def alert_rows(db: Any, event_id: int | None = None) -> list[tuple[Any, ...]]:
    with sdb.transaction(db) as cur:
        cur.execute(
            "SELECT event_id, channel, kind, status, attempts, last_error, muted_by FROM alerts"
            " WHERE %s::bigint IS NULL OR event_id = %s ORDER BY event_id, channel, kind",
            (event_id, event_id),
        )
        return list(cur.fetchall())


def enqueue(
    db: Any,
    event_id: int,
    event: Mapping[str, Any],
    *,
    previous_status: str | None = None,
    outlets: Sequence[str] = ("tass.com",),
    channels: Sequence[str] = ("slack", "email"),
    alert_rules: rules.AlertRules | None = None,
    now: dt.datetime = NOW,
) -> list[tuple[str, str]]:
    with sdb.transaction(db) as cur:
        return outbox.enqueue(
            cur,
            event_id,
            event,
            previous_status=previous_status,
            outlets=outlets,
            channels=channels,
            rules=alert_rules or rules.load_rules(),
            now=now,
        )


# Settings that pick alert rules and channels; tests start without the developer's own.
ALERT_ENV = (
    "SINORUS_ALERT_RULES",
    "AIRFLOW_CONN_SINORUS_SLACK",
    "AIRFLOW_CONN_SINORUS_SMTP",
    "SINORUS_ALERT_RECIPIENTS",
    "SINORUS_CONSOLE_ALERTS",
    "SINORUS_ALERT_LOG",
    "SINORUS_ALERT_SENDER",
)


def clear_alert_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ALERT_ENV:
        monkeypatch.delenv(name, raising=False)


def serve_slack(server: LocalServer, monkeypatch: pytest.MonkeyPatch, path: str) -> LocalServer:
    """The loopback server as the sinorus_slack webhook at `path`, answering 200 ok."""
    server.routes[path] = Reply(200, b"ok")
    monkeypatch.setenv(
        "AIRFLOW_CONN_SINORUS_SLACK",
        json.dumps({"conn_type": "slackwebhook", "password": server.url(path)}),
    )
    return server


@pytest.fixture(autouse=True)
def _no_operator_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SINORUS_ALERT_RULES", raising=False)


# Rules ------------------------------------------------------------------------------------


def test_default_rule_alerts_minister_meetings_and_calls_held_or_planned() -> None:
    alert_rules = rules.load_rules()
    assert rules.should_alert(meeting(), alert_rules)
    assert rules.should_alert(meeting(type="call", status="planned"), alert_rules)
    assert rules.should_alert(meeting(level="head_of_state", participants=[XI, PUTIN]), alert_rules)


@pytest.mark.parametrize(
    "overrides",
    [
        {"level": "working", "participants": [CLERK, SHOIGU]},
        {"level": "senior_official"},
        {"type": "economic"},
        {"type": "agreement"},
        {"background": True},
        {"status": "cancelled"},
        {"level": None, "participants": [WANG]},  # one side only: no level to judge
        {"level": None, "participants": "not a list"},
    ],
)
def test_default_rule_ignores(overrides: dict[str, Any]) -> None:
    assert not rules.should_alert(meeting(**overrides), rules.load_rules())


def test_level_is_computed_from_participants_when_the_row_lacks_it() -> None:
    alert_rules = rules.load_rules()
    assert rules.should_alert(meeting(level=None), alert_rules)
    assert not rules.should_alert(meeting(level=None, participants=[CLERK, SHOIGU]), alert_rules)


def test_operator_file_replaces_rules_and_adds_mutes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "alerts.yaml"
    path.write_text(
        "rules:\n"
        "  - {types: [economic], min_level: head_of_government, statuses: [held]}\n"
        "mutes:\n"
        "  - {type: call, reason: too many calls this week}\n"
        "delivery: {max_attempts: 2}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("SINORUS_ALERT_RULES", str(path))
    loaded = rules.load_rules()
    assert loaded.max_attempts == 2
    assert loaded.channel_failures == 3  # untouched keys keep the shipped default
    assert [m.type for m in loaded.mutes] == ["call"]
    assert rules.should_alert(meeting(type="economic", level="head_of_government"), loaded)
    assert not rules.should_alert(meeting(), loaded)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules: {types: [meeting]}\n", "'rules' must be a list"),
        ("rules:\n  - {types: [meeting], min_level: chief}\n", "min_level 'chief'"),
        ("rules: []\nmutes:\n  - {reason: everything}\n", "needs person_id, type or outlet"),
        ("rules: []\nmutes:\n  - {type: call}\n", "needs a reason"),
        ("rules: []\nmutes:\n  - {type: call, reason: x, until: soon}\n", "not an ISO date"),
        ("rules: [\n", "cannot read alert rules"),
        ("rules:\n  - {types: [meeting], colour: red}\n", "unknown rule keys"),
    ],
)
def test_bad_rules_file_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "alerts.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(rules.AlertConfigError, match=message):
        rules.load_rules(path)


# Enqueue ----------------------------------------------------------------------------------


def test_enqueue_writes_one_new_row_per_channel(db: Any) -> None:
    event_id = stored_event(db)
    queued = enqueue(db, event_id, meeting(), channels=("slack", "email", "console"))
    assert sorted(queued) == [("console", "new"), ("email", "new"), ("slack", "new")]
    assert [(r[1], r[2], r[3], r[4]) for r in alert_rows(db, event_id)] == [
        ("console", "new", "pending", 0),
        ("email", "new", "pending", 0),
        ("slack", "new", "pending", 0),
    ]


def test_enqueue_twice_never_duplicates(db: Any) -> None:
    event_id = stored_event(db)
    assert len(enqueue(db, event_id, meeting())) == 2
    assert enqueue(db, event_id, meeting(), previous_status="held") == []
    assert enqueue(db, event_id, meeting(n_articles=5, n_outlets=3), previous_status="held") == []
    assert len(alert_rows(db, event_id)) == 2


def test_enqueue_rolls_back_with_the_callers_transaction(db: Any) -> None:
    event_id = stored_event(db)
    with pytest.raises(RuntimeError), sdb.transaction(db) as cur:
        outbox.enqueue(
            cur, event_id, meeting(), previous_status=None, outlets=["tass.com"], channels=["slack"]
        )
        raise RuntimeError("the store failed after enqueue")
    assert alert_rows(db, event_id) == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"level": "working", "participants": [CLERK, SHOIGU]},
        {"type": "economic"},
        {"background": True},
    ],
)
def test_enqueue_ignores_events_the_rule_does_not_alert(db: Any, overrides: dict[str, Any]) -> None:
    event = meeting(**overrides)
    event_id = stored_event(db, event)
    assert enqueue(db, event_id, event) == []
    assert alert_rows(db, event_id) == []


def test_planned_then_held_queues_one_update_after_the_new_was_sent(db: Any) -> None:
    planned = meeting(status="planned")
    event_id = stored_event(db, planned)
    assert len(enqueue(db, event_id, planned)) == 2
    with sdb.transaction(db) as cur:
        cur.execute("UPDATE alerts SET status = 'sent' WHERE event_id = %s", (event_id,))
    held = meeting(status="held")
    queued = enqueue(db, event_id, held, previous_status="planned")
    assert sorted(queued) == [("email", "update"), ("slack", "update")]
    # The same update replayed, or a later article about the held meeting: nothing more.
    assert enqueue(db, event_id, held, previous_status="planned") == []
    assert enqueue(db, event_id, held, previous_status="held") == []
    kinds = [(r[1], r[2], r[3]) for r in alert_rows(db, event_id)]
    assert kinds == [
        ("email", "new", "sent"),
        ("email", "update", "pending"),
        ("slack", "new", "sent"),
        ("slack", "update", "pending"),
    ]


def test_planned_then_held_before_sending_retargets_the_pending_new(db: Any) -> None:
    planned = meeting(status="planned")
    event_id = stored_event(db, planned)
    enqueue(db, event_id, planned)
    assert enqueue(db, event_id, meeting(status="held"), previous_status="planned") == []
    with sdb.transaction(db) as cur:
        cur.execute("SELECT kind, event_status FROM alerts WHERE event_id = %s", (event_id,))
        assert sorted(cur.fetchall()) == [("new", "held"), ("new", "held")]


def test_event_first_seen_held_never_gets_an_update(db: Any) -> None:
    event_id = stored_event(db)
    enqueue(db, event_id, meeting())
    with sdb.transaction(db) as cur:
        cur.execute("UPDATE alerts SET status = 'sent' WHERE event_id = %s", (event_id,))
    # A wrong previous_status from the caller cannot produce a follow-up: the outbox knows
    # it announced the event as held.
    assert enqueue(db, event_id, meeting(), previous_status="planned") == []
    assert [r[2] for r in alert_rows(db, event_id)] == ["new", "new"]


# Mutes ------------------------------------------------------------------------------------


def test_mute_by_person_with_expiry(db: Any) -> None:
    with sdb.transaction(db) as cur:
        mute = rules.add_mute(
            cur,
            person_id="sergei-shoigu",
            until=NOW + dt.timedelta(days=1),
            reason="Shoigu visit week: analysts follow it live",
            created_by="test",
        )
    event_id = stored_event(db)
    assert enqueue(db, event_id, meeting()) == []
    rows = alert_rows(db, event_id)
    assert [r[3] for r in rows] == ["muted", "muted"]
    assert f"alert_mutes #{mute.id}" in rows[0][6]
    assert "Shoigu visit week" in rows[0][6]

    # After the expiry, a new event with the same person alerts.
    later = NOW + dt.timedelta(days=2)
    other_id = stored_event(db)
    assert len(enqueue(db, other_id, meeting(), now=later)) == 2


def test_mute_by_type_from_yaml(db: Any, tmp_path: Path) -> None:
    path = tmp_path / "alerts.yaml"
    path.write_text("mutes:\n  - {type: call, reason: calls go to the daily digest}\n")
    alert_rules = rules.load_rules(path)
    call = meeting(type="call")
    call_id = stored_event(db, call)
    assert enqueue(db, call_id, call, alert_rules=alert_rules) == []
    assert [r[3] for r in alert_rows(db, call_id)] == ["muted", "muted"]
    meeting_id = stored_event(db)
    assert len(enqueue(db, meeting_id, meeting(), alert_rules=alert_rules)) == 2


def test_mute_by_outlet_silences_only_events_no_other_outlet_reports(db: Any) -> None:
    with sdb.transaction(db) as cur:
        rules.add_mute(cur, outlet="https://www.Example-Tabloid.com/", reason="unreliable")
        listed = rules.list_mutes(cur, now=NOW)
    assert [m.outlet for m in listed] == ["example-tabloid.com"]
    event_id = stored_event(db, outlet="example-tabloid.com")
    assert enqueue(db, event_id, meeting(), outlets=["example-tabloid.com"]) == []
    assert [r[3] for r in alert_rows(db, event_id)] == ["muted", "muted"]
    # A second outlet reports the same meeting: corroborated, the muted rows now go out.
    queued = enqueue(
        db,
        event_id,
        meeting(n_outlets=2),
        previous_status="held",
        outlets=["example-tabloid.com", "tass.com"],
    )
    assert sorted(queued) == [("email", "new"), ("slack", "new")]
    assert [r[3] for r in alert_rows(db, event_id)] == ["pending", "pending"]


def test_removed_and_expired_mutes_stop_muting(db: Any) -> None:
    with sdb.transaction(db) as cur:
        expired = rules.add_mute(
            cur, type="meeting", until=NOW - dt.timedelta(hours=1), reason="old"
        )
        current = rules.add_mute(cur, type="meeting", reason="for now")
        assert [m.id for m in rules.list_mutes(cur, now=NOW)] == [current.id]
        assert len(rules.list_mutes(cur, include_expired=True)) == 2
        assert rules.muted(cur, meeting(), ["tass.com"], NOW) == current
        assert rules.remove_mute(cur, current.id)
        assert not rules.remove_mute(cur, current.id)
        assert rules.muted(cur, meeting(), ["tass.com"], NOW) is None
        assert expired.id is not None


def test_add_mute_refuses_a_mute_of_everything(db: Any) -> None:
    with sdb.transaction(db) as cur, pytest.raises(rules.AlertConfigError):
        rules.add_mute(cur, reason="silence")


# Queries ----------------------------------------------------------------------------------


def test_sources_and_best_evidence_come_from_the_mentions(db: Any) -> None:
    event_id = stored_event(db, evidence="A weaker sentence.")
    with sdb.transaction(db) as cur:
        add_source(
            cur,
            event_id,
            outlet="xinhuanet.com",
            url="https://xinhuanet.com/a",
            title="Wang Yi, Shoigu hold talks",
            evidence="The strongest sentence.",
            confidence=0.99,
        )
        event = outbox.event_for_alert(cur, event_id)
        sources = outbox.event_sources(cur, event_id)
    assert event is not None
    assert event["evidence"] == "The strongest sentence."
    assert event["participants"][0]["name"] == "Wang Yi"
    assert [s["outlet"] for s in sources] == ["tass.com", "xinhuanet.com"]
    assert sources[1]["url"] == "https://xinhuanet.com/a"


# The `sinorus mute` command's functions --------------------------------------------------


def run_mute(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="sinorus mute")
    rules.configure_mute_parser(parser)
    args = parser.parse_args(argv)
    status: int = args.func(args)
    return status


def test_mute_command_adds_lists_and_removes(db: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_mute("--type", "call", "--until", "2099-01-01", "--reason", "digest only") == 0
    added = capsys.readouterr().out
    assert added.startswith("added alert_mutes #1: type=call until 2099-01-01T00:00:00+00:00")
    assert run_mute("--list") == 0
    assert "digest only" in capsys.readouterr().out
    with sdb.transaction(db) as cur:
        assert rules.muted(cur, meeting(type="call"), ["tass.com"], NOW) is not None
    assert run_mute("--remove", "1") == 0
    assert run_mute("--remove", "1") == 1
    assert run_mute("--person", "wang-yi") == 2  # no reason: refused, nothing written
    assert "needs a reason" in capsys.readouterr().err
    with sdb.transaction(db) as cur:
        assert rules.list_mutes(cur, include_expired=True) == []
