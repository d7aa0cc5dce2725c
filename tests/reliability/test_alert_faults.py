"""Alert delivery under faults: senders killed after Slack accepted, Slack 429 and timeouts,
SMTP dropping the connection. Nothing is lost; duplicates stay inside the documented window."""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import random
import re
import signal
import socket
import threading
from collections import Counter
from typing import Any

import pytest

import tests.airflow_env  # noqa: F401  (Airflow hooks read connections from env vars)
from sinorus import db as sdb
from sinorus.alerts import channels as ch
from sinorus.alerts import outbox
from tests.reliability.support import free_port, query, record, wait_until
from tests.support.badservers import RawServer
from tests.support.servers import LocalServer, Reply, Request
from tests.test_alerts import clear_alert_env, enqueue, meeting, serve_slack, stored_event

pytestmark = pytest.mark.integration

WEBHOOK = "/services/T0/B0/reliability"
SOURCE = re.compile(r"tass\.com/news/(\d+)")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_alert_env(monkeypatch)


@pytest.fixture
def slack(server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> LocalServer:
    return serve_slack(server, monkeypatch, WEBHOOK)


def pending_events(db: Any, n: int) -> list[int]:
    ids = []
    for _ in range(n):
        event_id = stored_event(db)
        assert enqueue(db, event_id, meeting(), channels=["slack"]) == [("slack", "new")]
        ids.append(event_id)
    return ids


def statuses(db: Any) -> Counter[str]:
    return Counter(s for (s,) in query(db, "SELECT status FROM alerts"))


def sender(url: str) -> None:
    outbox.send_pending(sdb.connect(url), [ch.SlackChannel()])


def test_senders_killed_right_after_slack_accepted_lose_nothing_and_resend_once_per_crash(
    db: Any, slack: LocalServer, database_url: str
) -> None:
    # Imported here, before forking, so each sender does not pay for Airflow's imports again.
    from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook  # noqa: F401

    ids = pending_events(db, 8)
    rng = random.Random(7)
    accepted: list[int] = []  # event ids whose message the webhook answered 200 to
    lock = threading.Lock()
    state: dict[str, Any] = {"pid": None, "target": 0, "count": 0}

    def kill(pid: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)

    def webhook(req: Request) -> Reply:
        with lock:
            accepted.append(int(SOURCE.search(req.body.decode())[1]))  # type: ignore[index]
            state["count"] += 1
            if state["count"] == state["target"] and state["pid"]:
                # Right after the 200 leaves: the sender is between "accepted" and "committed".
                threading.Timer(rng.uniform(0, 0.004), kill, args=(state["pid"],)).start()
        return Reply(200, b"ok")

    slack.routes[WEBHOOK] = webhook
    ctx = multiprocessing.get_context("fork")
    kills = rounds = 0
    while statuses(db)["pending"] and rounds < 20:
        rounds += 1
        state["count"], state["target"] = 0, rng.randint(1, 3)
        child = ctx.Process(target=sender, args=(database_url,))
        child.start()
        state["pid"] = child.pid
        child.join(60)
        state["pid"] = None
        kills += child.exitcode == -signal.SIGKILL
    assert statuses(db) == Counter({"sent": len(ids)})
    per_event = Counter(accepted)
    assert set(per_event) == set(ids)  # nothing lost
    duplicates = sum(n - 1 for n in per_event.values())
    # Each crash in the window resends the one alert in flight, once: never more than that.
    assert duplicates <= kills, (per_event, kills)
    print(
        f"\nalert crash window: {kills} senders killed right after a 200, "
        f"{duplicates} duplicate deliveries (at most one per crash), 0 of {len(ids)} alerts lost"
    )
    record(
        faults_injected=kills,
        faults_survived=kills,
        duplicate_alerts=duplicates,
        alert_kills=kills,
        alerts_lost=0,
    )


def test_slack_429_then_recovery_sends_once(db: Any, slack: LocalServer) -> None:
    pending_events(db, 1)
    slack.routes[WEBHOOK] = Reply(429, b"rate_limited", {"Retry-After": "1"})
    summary = outbox.send_pending(db, [ch.SlackChannel()])
    assert (summary.sent, summary.retry) == (0, 1)
    [(status, error)] = query(db, "SELECT status, last_error FROM alerts")
    assert status == "pending" and "429" in error
    slack.routes[WEBHOOK] = Reply(200, b"ok")
    assert outbox.send_pending(db, [ch.SlackChannel()]).sent == 1
    assert outbox.send_pending(db, [ch.SlackChannel()]).sent == 0
    assert statuses(db) == Counter({"sent": 1})
    record(faults_injected=1, faults_survived=1, duplicate_alerts=0)


def test_slack_timing_out_leaves_the_alert_pending_then_sends_once(
    db: Any, slack: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    pending_events(db, 1)
    # The channel waits TIMEOUT_SECONDS (20 s) for Slack; shortened so the test stays quick.
    monkeypatch.setattr(ch, "TIMEOUT_SECONDS", 0.5)
    release = threading.Event()

    def silent(req: Request) -> Reply:
        release.wait(10)
        return Reply(503, b"too late")

    slack.routes[WEBHOOK] = silent
    try:
        summary = outbox.send_pending(db, [ch.SlackChannel()])
    finally:
        release.set()
    assert (summary.sent, summary.retry) == (0, 1)
    [(status, error)] = query(db, "SELECT status, last_error FROM alerts")
    assert status == "pending" and "timed out" in error.lower(), error
    slack.routes[WEBHOOK] = Reply(200, b"ok")
    assert outbox.send_pending(db, [ch.SlackChannel()]).sent == 1
    assert outbox.send_pending(db, [ch.SlackChannel()]).sent == 0
    ok = [r for r in slack.requests if r.path == WEBHOOK]
    assert len(ok) == 2  # one timed out (Slack may or may not have shown it), one accepted
    record(faults_injected=1, faults_survived=1)


def smtp_env(monkeypatch: pytest.MonkeyPatch, port: int) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_SINORUS_SMTP",
        json.dumps(
            {
                "conn_type": "smtp",
                "host": "127.0.0.1",
                "port": port,
                "extra": {
                    "disable_ssl": True,
                    "disable_tls": True,
                    "from_email": "alerts@sinorus.test",
                    "retry_limit": 0,
                    "timeout": 3,
                },
            }
        ),
    )
    monkeypatch.setenv("SINORUS_ALERT_RECIPIENTS", "analyst@sinorus.test")


def smtp_drops_after(stage: bytes) -> Any:
    """An SMTP server that talks until the client sends `stage`, then drops the connection."""

    def handler(conn: socket.socket) -> None:
        conn.settimeout(5)
        conn.sendall(b"220 sinorus.test ESMTP\r\n")
        buffer = b""
        while True:
            data = conn.recv(4096)
            if not data:
                return
            buffer += data
            while b"\r\n" in buffer:
                line, buffer = buffer.split(b"\r\n", 1)
                verb = line.split(b" ", 1)[0].upper()
                if verb.startswith(stage):
                    return  # hang up mid-conversation
                if verb in (b"EHLO", b"HELO"):
                    conn.sendall(b"250 sinorus.test\r\n")
                elif verb == b"DATA":
                    conn.sendall(b"354 go on\r\n")
                else:
                    conn.sendall(b"250 ok\r\n")

    return handler


@pytest.mark.parametrize("stage", [b"EHLO", b"MAIL", b"DATA"])
def test_smtp_dropping_the_connection_leaves_the_alert_pending(
    db: Any, monkeypatch: pytest.MonkeyPatch, stage: bytes
) -> None:
    event_id = stored_event(db)
    enqueue(db, event_id, meeting(), channels=["email"])
    with RawServer(smtp_drops_after(stage)) as dropping:
        smtp_env(monkeypatch, dropping.port)
        summary = outbox.send_pending(db, [ch.EmailChannel()])
    assert (summary.sent, summary.retry) == (0, 1)
    [(status, error)] = query(db, "SELECT status, last_error FROM alerts")
    assert status == "pending" and error
    # The mail server is back: the alert goes out, once.
    from aiosmtpd.controller import Controller

    received: list[bytes] = []

    class Box:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append(envelope.original_content)
            return "250 OK"

    port = free_port()
    controller = Controller(Box(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        smtp_env(monkeypatch, port)
        assert outbox.send_pending(db, [ch.EmailChannel()]).sent == 1
        assert outbox.send_pending(db, [ch.EmailChannel()]).sent == 0
    finally:
        controller.stop()
    assert len(received) == 1
    record(faults_injected=1, faults_survived=1)


def test_a_sender_killed_between_delivery_and_commit_resends_exactly_that_alert_once(
    db: Any, slack: LocalServer, database_url: str
) -> None:
    from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook  # noqa: F401

    ids = pending_events(db, 3)
    locker = sdb.connect(database_url)
    accepted: list[int] = []

    def webhook(req: Request) -> Reply:
        accepted.append(int(SOURCE.search(req.body.decode())[1]))  # type: ignore[index]
        if len(accepted) == 1:
            # SHARE lets the sender keep its claimed row but makes its UPDATE to 'sent' wait:
            # the sender is held exactly between "Slack accepted" and "marked sent".
            with locker.cursor() as cur:
                cur.execute("LOCK TABLE alerts IN SHARE MODE")
        return Reply(200, b"ok")

    slack.routes[WEBHOOK] = webhook
    child = multiprocessing.get_context("fork").Process(target=sender, args=(database_url,))
    child.start()
    try:

        def held_before_commit() -> bool:
            return bool(
                query(
                    db,
                    "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND query LIKE 'UPDATE alerts SET status = ''sent''%%'",
                )
            )

        assert wait_until(held_before_commit, 60), "the sender never reached the window"
        os.kill(child.pid or 0, signal.SIGKILL)
        child.join(30)
    finally:
        locker.rollback()
        locker.close()
    assert child.exitcode == -signal.SIGKILL
    assert statuses(db) == Counter({"pending": 3})  # the delivered one too: not marked
    assert outbox.send_pending(db, [ch.SlackChannel()]).sent == 3
    per_event = Counter(accepted)
    assert per_event[accepted[0]] == 2  # the one alert in the window went out twice
    assert all(per_event[i] == 1 for i in ids if i != accepted[0])  # every other once
    assert statuses(db) == Counter({"sent": 3})
    record(faults_injected=1, faults_survived=1, alerts_lost=0, duplicate_alerts=1, alert_kills=1)
