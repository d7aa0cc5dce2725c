"""Follow-ups on the real PostgreSQL: an announced event later reported postponed, cancelled or
held sends one short message per real change, forward only, never twice, never a flap."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Sequence
from typing import Any

import psycopg2
import pytest

# Hooks read connections from env vars and need no metadata DB, but keep Airflow out of ~/airflow.
import tests.airflow_env  # noqa: F401
from sinorus import db as sdb
from sinorus import events
from sinorus.alerts import channels as ch
from sinorus.alerts import outbox, rules
from tests.test_alerts import (
    CLERK,
    SHOIGU,
    add_article,
    clear_alert_env,
    enqueue,
    meeting,
    stored_event,
)

pytestmark = pytest.mark.integration

FOOTER = re.compile(r"sinorus-watch event #\d+ \(\w+\)\n")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_alert_env(monkeypatch)


def rows(db: Any, event_id: int, channel: str = "console") -> list[tuple[Any, ...]]:
    """(kind, status, event_status, closed_reason) of one channel's rows, oldest first."""
    with sdb.transaction(db) as cur:
        cur.execute(
            "SELECT kind, status, event_status, closed_reason FROM alerts"
            " WHERE event_id = %s AND channel = %s ORDER BY id",
            (event_id, channel),
        )
        return list(cur.fetchall())


class Desk:
    """One analyst reading the console channel: every message the outbox sends, in order."""

    def __init__(self, db: Any, event_id: int) -> None:
        self.db, self.event_id = db, event_id
        self.stream = io.StringIO()
        self.read = 0

    def report(self, status: str, **overrides: Any) -> list[tuple[str, str]]:
        """A re-detection left the event at `status`: store it and enqueue, as the store does."""
        with sdb.transaction(self.db) as cur:
            cur.execute("UPDATE events SET status = %s WHERE id = %s", (status, self.event_id))
        return enqueue(
            self.db, self.event_id, meeting(status=status, **overrides), channels=["console"]
        )

    def send(self) -> list[str]:
        """Run the sender; the first line of each message it delivered."""
        outbox.send_pending(self.db, [ch.ConsoleChannel(stream=self.stream)])
        text = self.stream.getvalue()
        new, self.read = text[self.read :], len(text)
        return [m.split("\n", 1)[0] for m in messages(new)]


def announced(db: Any, status: str = "planned", **overrides: Any) -> Desk:
    """An event first announced (sent) as `status` on the console channel."""
    event = meeting(status=status, **overrides)
    desk = Desk(db, stored_event(db, event))
    assert enqueue(db, desk.event_id, event, channels=["console"]) == [("console", "new")]
    [line] = desk.send()
    assert line.startswith("Planned high-level" if status == "planned" else "High-level")
    return desk


def messages(text: str) -> list[str]:
    """Console output cut into messages, each ending at its "sinorus-watch event #N" line."""
    return [m.strip("\n") for m in FOOTER.split(text)[:-1]]


def titles(lines: Sequence[str]) -> list[str]:
    return [line.split(":", 1)[0] if ":" in line else line for line in lines]


# One follow-up per real change ------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "title"), [("postponed", "Postponed"), ("cancelled", "Cancelled")]
)
def test_planned_then_postponed_or_cancelled_sends_one_short_follow_up(
    db: Any, status: str, title: str
) -> None:
    desk = announced(db)
    assert desk.report(status) == [("console", status)]
    # The same report replayed, a retry of the task, a later article saying the same: nothing.
    assert desk.report(status) == []
    assert desk.report(status, n_outlets=3) == []
    [line] = desk.send()
    assert (
        line
        == f"{title}: High-level China–Russia meeting: Wang Yi – Sergei Shoigu, Moscow, 2 Dec 2025"
    )
    assert desk.send() == []
    assert rows(db, desk.event_id) == [
        ("new", "sent", "planned", None),
        (status, "sent", status, None),
    ]


def test_follow_ups_go_to_every_channel_that_had_the_first_alert(db: Any) -> None:
    planned = meeting(status="planned")
    event_id = stored_event(db, planned)
    enqueue(db, event_id, planned, channels=("slack", "email"))
    with sdb.transaction(db) as cur:
        cur.execute("UPDATE alerts SET status = 'sent' WHERE event_id = %s", (event_id,))
    queued = enqueue(db, event_id, meeting(status="cancelled"), channels=("slack", "email"))
    assert sorted(queued) == [("email", "cancelled"), ("slack", "cancelled")]


def test_postponed_then_held_says_it_took_place(db: Any) -> None:
    desk = announced(db)
    desk.report("postponed")
    assert titles(desk.send()) == ["Postponed"]
    assert desk.report("held") == [("console", "update")]
    assert titles(desk.send()) == ["Took place"]


def test_postponed_then_cancelled_says_cancelled(db: Any) -> None:
    desk = announced(db)
    desk.report("postponed")
    desk.send()
    assert desk.report("cancelled") == [("console", "cancelled")]
    assert titles(desk.send()) == ["Cancelled"]


def test_an_unsent_first_alert_is_retargeted_instead_of_followed(db: Any) -> None:
    planned = meeting(status="planned")
    desk = Desk(db, stored_event(db, planned))
    enqueue(db, desk.event_id, planned, channels=["console"])
    assert desk.report("postponed") == []
    assert rows(db, desk.event_id) == [("new", "pending", "postponed", None)]
    [line] = desk.send()
    assert line.startswith("High-level China–Russia meeting: Wang Yi") and "(postponed)" in line
    assert desk.report("postponed") == []
    assert desk.send() == []


def test_an_event_first_announced_as_held_is_never_followed(db: Any) -> None:
    desk = announced(db, status="held")
    # Clustering keeps held over any later report; even a status forced back sends nothing.
    for status in ("postponed", "cancelled", "planned", "held"):
        assert desk.report(status) == []
    assert desk.send() == []


# Flapping ---------------------------------------------------------------------------------


def test_postponed_then_held_before_the_follow_up_went_out_sends_only_took_place(
    db: Any,
) -> None:
    desk = announced(db)
    assert desk.report("postponed") == [("console", "postponed")]
    assert desk.report("held") == [("console", "update")]
    # Withdrawn in the store's transaction: 'pending' only ever counts what will go out.
    assert [r[:2] for r in rows(db, desk.event_id)] == [
        ("new", "sent"),
        ("postponed", "superseded"),
        ("update", "pending"),
    ]
    assert titles(desk.send()) == ["Took place"]
    kinds = [(r[0], r[1], r[3]) for r in rows(db, desk.event_id)]
    assert kinds == [
        ("new", "sent", None),
        ("postponed", "superseded", "superseded: event is held now, before this was sent"),
        ("update", "sent", None),
    ]


def test_a_flapping_event_sends_each_status_once_and_only_forward(db: Any) -> None:
    desk = announced(db)
    sent: list[str] = []
    # Reports and re-detections in the order a noisy week brings them, sending after each.
    for status in ("postponed", "planned", "postponed", "planned", "held", "postponed"):
        desk.report(status)
        sent += titles(desk.send())
    for status in ("cancelled", "held", "planned", "held"):
        desk.report(status)
        sent += titles(desk.send())
    assert sent == ["Postponed", "Took place"]
    assert [r[:2] for r in rows(db, desk.event_id)] == [
        ("new", "sent"),
        ("postponed", "sent"),
        ("update", "sent"),
    ]


def test_an_event_that_moves_back_before_sending_withdraws_then_revives_its_follow_up(
    db: Any,
) -> None:
    desk = announced(db)
    desk.report("cancelled")
    # Re-detection drops the cancellation report before the sender ran: nothing to say.
    assert desk.report("planned") == []
    assert desk.send() == []
    assert rows(db, desk.event_id)[1][:2] == ("cancelled", "superseded")
    # It is reported cancelled again: the withdrawn row (the only one the key allows) goes out.
    assert desk.report("cancelled") == [("console", "cancelled")]
    assert titles(desk.send()) == ["Cancelled"]
    assert rows(db, desk.event_id)[1] == ("cancelled", "sent", "cancelled", None)


def test_cancelled_overtakes_an_unsent_postponed(db: Any) -> None:
    desk = announced(db)
    desk.report("postponed")
    assert desk.report("cancelled") == [("console", "cancelled")]
    assert titles(desk.send()) == ["Cancelled"]
    assert [r[:2] for r in rows(db, desk.event_id)] == [
        ("new", "sent"),
        ("postponed", "superseded"),
        ("cancelled", "sent"),
    ]


# What cannot follow -----------------------------------------------------------------------


@pytest.mark.parametrize("first", ["failed", "discarded"])
def test_nothing_follows_a_first_alert_the_channel_never_delivered(db: Any, first: str) -> None:
    planned = meeting(status="planned")
    desk = Desk(db, stored_event(db, planned))
    enqueue(db, desk.event_id, planned, channels=["console"])
    with sdb.transaction(db) as cur:
        cur.execute(
            "UPDATE alerts SET status = %s, closed_reason = 'test' WHERE event_id = %s",
            (first, desk.event_id),
        )
    assert desk.report("postponed") == []
    assert desk.report("held") == []
    assert [r[0] for r in rows(db, desk.event_id)] == ["new"]


def test_a_muted_first_alert_gets_no_follow_up_and_is_released_only_as_a_first_alert(
    db: Any,
) -> None:
    planned = meeting(status="planned")
    desk = Desk(db, stored_event(db, planned))
    with sdb.transaction(db) as cur:
        mute = rules.add_mute(cur, person_id="wang-yi", reason="Wang Yi week")
    assert enqueue(db, desk.event_id, planned, channels=["console"]) == []
    assert desk.report("postponed") == []
    with sdb.transaction(db) as cur:
        assert mute.id is not None and rules.remove_mute(cur, mute.id)
    assert desk.report("postponed") == []  # no rule announces a postponed meeting first
    assert desk.report("held") == [("console", "new")]
    assert [r[:3] for r in rows(db, desk.event_id)] == [("new", "pending", "held")]


def test_events_no_rule_alerts_on_get_no_follow_up(db: Any) -> None:
    low = {"level": "working", "participants": [CLERK, SHOIGU]}
    desk = Desk(db, stored_event(db, meeting(status="planned", **low)))
    for status in ("planned", "postponed", "cancelled"):
        assert desk.report(status, **low) == []
    assert rows(db, desk.event_id) == []


def test_a_postponed_event_never_announced_is_not_announced(db: Any) -> None:
    desk = Desk(db, stored_event(db, meeting(status="postponed")))
    assert desk.report("postponed") == []
    assert desk.report("cancelled") == []
    assert rows(db, desk.event_id) == []
    # Held later: the shipped rule alerts on it, as a first alert.
    assert desk.report("held") == [("console", "new")]


def test_a_mute_silences_follow_ups_too(db: Any) -> None:
    desk = announced(db)
    with sdb.transaction(db) as cur:
        rules.add_mute(cur, person_id="wang-yi", reason="Wang Yi week")
    assert desk.report("cancelled") == []
    assert desk.send() == []
    [_, cancelled] = rows(db, desk.event_id)
    assert cancelled[:2] == ("cancelled", "muted")


def test_a_muted_follow_up_is_released_when_the_mute_lapses_and_the_event_is_still_news(
    db: Any,
) -> None:
    desk = announced(db)
    with sdb.transaction(db) as cur:
        mute = rules.add_mute(cur, person_id="wang-yi", reason="Wang Yi week")
    assert desk.report("cancelled") == []
    with sdb.transaction(db) as cur:
        assert mute.id is not None and rules.remove_mute(cur, mute.id)
    # A new report of the cancellation after the mute is gone: the follow-up goes out, once.
    assert desk.report("cancelled") == [("console", "cancelled")]
    assert titles(desk.send()) == ["Cancelled"]
    assert desk.report("cancelled") == []
    assert desk.send() == []
    assert [r[:2] for r in rows(db, desk.event_id)] == [("new", "sent"), ("cancelled", "sent")]


def test_follow_ups_roll_back_with_the_events_transaction(db: Any) -> None:
    desk = announced(db)
    with pytest.raises(RuntimeError), sdb.transaction(db) as cur:
        outbox.enqueue(
            cur,
            desk.event_id,
            meeting(status="postponed"),
            previous_status="planned",
            outlets=["tass.com"],
            channels=["console"],
        )
        raise RuntimeError("the store failed after enqueue")
    assert [r[0] for r in rows(db, desk.event_id)] == ["new"]


# Checked again when sending ---------------------------------------------------------------


def test_a_follow_up_the_event_no_longer_has_is_superseded_at_send_time(db: Any) -> None:
    desk = announced(db)
    desk.report("postponed")
    # A hand edit or a re-cluster that did not reach the outbox.
    with sdb.transaction(db) as cur:
        cur.execute("UPDATE events SET status = 'planned' WHERE id = %s", (desk.event_id,))
    summary = outbox.send_pending(db, [ch.ConsoleChannel(stream=desk.stream)])
    assert (summary.sent, summary.superseded) == (0, 1)
    assert desk.stream.getvalue().count("sinorus-watch event #") == 1  # the first alert only
    assert rows(db, desk.event_id)[1][1:] == (
        "superseded",
        "postponed",
        "superseded: event is planned now, before this was sent",
    )


def test_a_first_alert_sent_late_carries_the_status_and_its_follow_up_is_dropped(
    db: Any, database_url: str
) -> None:
    planned = meeting(status="planned")
    desk = Desk(db, stored_event(db, planned))
    enqueue(db, desk.event_id, planned, channels=["console"])
    # A sender holds the first alert (mid-send) while the postponement is stored, so it
    # cannot be retargeted and a follow-up is queued; then that send fails.
    sender = sdb.connect(database_url)
    try:
        with sender.cursor() as cur:
            cur.execute("SELECT id FROM alerts WHERE event_id = %s FOR UPDATE", (desk.event_id,))
        assert desk.report("postponed") == [("console", "postponed")]
    finally:
        sender.rollback()
        sender.close()
    # The next run sends the first alert as it now reads; the follow-up would repeat it.
    [line] = desk.send()
    assert line.startswith("High-level China–Russia meeting") and "(postponed)" in line
    assert rows(db, desk.event_id) == [
        ("new", "sent", "postponed", None),
        (
            "postponed",
            "superseded",
            "postponed",
            "superseded: this channel was already told the event is postponed",
        ),
    ]


def test_the_database_refuses_a_closed_row_without_a_reason(db: Any) -> None:
    desk = announced(db)
    with pytest.raises(psycopg2.errors.CheckViolation), sdb.transaction(db) as cur:
        cur.execute("UPDATE alerts SET status = 'discarded' WHERE event_id = %s", (desk.event_id,))
    with pytest.raises(psycopg2.errors.CheckViolation), sdb.transaction(db) as cur:
        cur.execute("UPDATE alerts SET kind = 'rescheduled' WHERE event_id = %s", (desk.event_id,))


# Through the detector and the store -------------------------------------------------------

PLANNED = (
    "Chinese Foreign Minister Wang Yi will visit Moscow next week for talks with Russian "
    "Foreign Minister Sergei Lavrov, the ministry said."
)
POSTPONED = (
    "Russian Foreign Minister Sergei Lavrov and Chinese Foreign Minister Wang Yi have postponed "
    "their talks in Moscow, the ministry said."
)


def report(db: Any, outlet: str, text: str, published: dt.date) -> None:
    """An article as ingestion leaves it: extracted, not yet read by the detector."""
    with sdb.transaction(db) as cur:
        url = f"https://{outlet}/n/{published}"
        add_article(cur, outlet=outlet, url=url, title=text[:60], body=text, published=published)


def test_a_detected_postponement_sends_one_follow_up_through_detection_and_reclustering(
    db: Any,
) -> None:
    report(db, "tass.com", PLANNED, dt.date(2025, 12, 1))
    events.detect_pending(db)
    stream = io.StringIO()
    console = [ch.ConsoleChannel(stream=stream)]
    with sdb.transaction(db) as cur:
        cur.execute("SELECT id, status FROM events")
        [(event_id, status)] = cur.fetchall()
    assert status == "planned"
    assert outbox.send_pending(db, console).sent == 1

    report(db, "xinhuanet.com", POSTPONED, dt.date(2025, 12, 7))
    detected = events.detect_pending(db)
    assert (detected.new_events, detected.alerts_queued) == (0, 1)
    assert outbox.send_pending(db, console).sent == 1
    [_, follow_up] = messages(stream.getvalue())
    assert follow_up.startswith("Postponed: High-level China–Russia meeting: Wang Yi – Sergey")
    assert "have postponed their talks" in follow_up  # the sentence that says so, not the plan
    assert follow_up.index("xinhuanet.com") < follow_up.index("tass.com")

    # The nightly re-cluster and a replayed detection find the same event: nothing more.
    events.recluster(db, days=36500)
    events.detect_pending(db)
    assert outbox.send_pending(db, console).sent == 0
    with sdb.transaction(db) as cur:
        cur.execute("SELECT event_id, kind, status FROM alerts ORDER BY id")
        assert cur.fetchall() == [(event_id, "new", "sent"), (event_id, "postponed", "sent")]
