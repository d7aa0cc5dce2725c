"""send_pending against a real loopback Slack webhook, a real aiosmtpd server and the console."""

from __future__ import annotations

import email
import email.policy
import io
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

# Hooks read connections from env vars and need no metadata DB, but keep Airflow out of ~/airflow.
import tests.airflow_env  # noqa: F401
from sinorus import db as sdb
from sinorus.alerts import channels as ch
from sinorus.alerts import outbox, rules
from tests.support.servers import LocalServer, Reply, Request
from tests.test_alerts import (
    NOW,
    PUTIN,
    XI,
    add_source,
    alert_rows,
    clear_alert_env,
    enqueue,
    meeting,
    serve_slack,
    stored_event,
)

pytestmark = pytest.mark.integration

WEBHOOK = "/services/T/B/X"
HOSTILE_TITLE = "Talks <script>alert(1)</script> & more"
HOSTILE_EVIDENCE = "Wang Yi met Shoigu & said <b>friendship</b> <!channel>."


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_alert_env(monkeypatch)


@pytest.fixture
def slack(server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> LocalServer:
    """The loopback server as the sinorus_slack webhook, answering 200 ok."""
    return serve_slack(server, monkeypatch, WEBHOOK)


@dataclass
class Mailbox:
    messages: list[email.message.EmailMessage] = field(default_factory=list)
    envelopes: list[Any] = field(default_factory=list)
    refuse: bool = False

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return "554 5.7.1 refused by policy"
        self.envelopes.append(envelope)
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.messages.append(parsed)  # type: ignore[arg-type]
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    """A real aiosmtpd server on loopback as the sinorus_smtp connection."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    monkeypatch.setenv(
        "AIRFLOW_CONN_SINORUS_SMTP",
        json.dumps(
            {
                "conn_type": "smtp",
                "host": "127.0.0.1",
                "port": controller.port,
                "extra": {
                    "disable_ssl": True,
                    "disable_tls": True,
                    "from_email": "alerts@sinorus.test",
                    "retry_limit": 0,
                    "timeout": 5,
                },
            }
        ),
    )
    monkeypatch.setenv("SINORUS_ALERT_RECIPIENTS", "analyst@sinorus.test, desk@sinorus.test")
    try:
        yield mailbox
    finally:
        controller.stop()


def hostile_event(db: Any) -> int:
    event = meeting(level="head_of_state", participants=[XI, PUTIN], location="Beijing & Moscow")
    event_id = stored_event(db, event, evidence=HOSTILE_EVIDENCE)
    with sdb.transaction(db) as cur:
        cur.execute("UPDATE articles SET title = %s", (HOSTILE_TITLE,))
        cur.execute("UPDATE articles SET url = url || '?a=1&b=<2>|x'")
    return event_id


def slack_payloads(server: LocalServer) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in server.requests if r.path == WEBHOOK]


# Slack ------------------------------------------------------------------------------------


def test_send_pending_posts_escaped_block_kit_to_the_webhook(db: Any, slack: LocalServer) -> None:
    event_id = hostile_event(db)
    enqueue(db, event_id, meeting(level="head_of_state"), channels=["slack"])
    summary = outbox.send_pending(db, [ch.SlackChannel()], now=NOW)
    assert (summary.sent, summary.pending, summary.by_channel) == (1, 0, {"slack": {"sent": 1}})
    [payload] = slack_payloads(slack)
    blocks = payload["blocks"]
    assert blocks[0]["type"] == "header"
    assert "Head-of-state" in blocks[0]["text"]["text"]
    assert "Xi Jinping – Vladimir Putin" in blocks[0]["text"]["text"]
    mrkdwn = json.dumps([b for b in blocks if b["type"] != "header"])
    assert "<script>" not in mrkdwn
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in mrkdwn
    assert "&lt;!channel&gt;" in mrkdwn and "<!channel>" not in mrkdwn
    assert "Shoigu &amp; said" in mrkdwn
    assert "Beijing &amp; Moscow" in mrkdwn
    # The link's URL cannot close the link early or open a new one.
    sources = next(b for b in blocks if "*Sources*" in b.get("text", {}).get("text", ""))
    link = sources["text"]["text"].split("\n")[1]
    assert link.startswith("• <https://tass.com/news/")
    assert "?a=1&amp;b=%3C2%3E%7Cx|tass.com: Talks" in link
    assert link.count("|") == 1 and link.count("<") == 1 and link.count(">") == 1
    row = alert_rows(db, event_id)[0]
    assert (row[3], row[4], row[5]) == ("sent", 1, None)


def test_webhook_down_leaves_row_pending_then_sends_once_when_it_recovers(
    db: Any, slack: LocalServer
) -> None:
    event_id = stored_event(db)
    enqueue(db, event_id, meeting(), channels=["slack"])
    slack.routes[WEBHOOK] = Reply(500, b"internal_error")
    summary = outbox.send_pending(db, [ch.SlackChannel()], now=NOW)
    assert (summary.sent, summary.retry, summary.pending) == (0, 1, 1)
    [row] = alert_rows(db, event_id)
    assert (row[3], row[4]) == ("pending", 1)
    assert "500" in row[5] and "internal_error" in row[5]
    assert slack.hits(WEBHOOK) == 1  # no hidden client-side retries

    slack.routes[WEBHOOK] = Reply(200, b"ok")
    assert outbox.send_pending(db, [ch.SlackChannel()], now=NOW).sent == 1
    assert outbox.send_pending(db, [ch.SlackChannel()], now=NOW).sent == 0
    assert slack.hits(WEBHOOK) == 2
    [row] = alert_rows(db, event_id)
    assert (row[3], row[4], row[5]) == ("sent", 2, None)


def test_row_becomes_failed_after_max_attempts(db: Any, slack: LocalServer, tmp_path: Path) -> None:
    path = tmp_path / "alerts.yaml"
    path.write_text("delivery: {max_attempts: 2}\n")
    alert_rules = rules.load_rules(path)
    event_id = stored_event(db)
    enqueue(db, event_id, meeting(), channels=["slack"])
    slack.routes[WEBHOOK] = Reply(404, b"no_service")
    first = outbox.send_pending(db, [ch.SlackChannel()], rules=alert_rules)
    second = outbox.send_pending(db, [ch.SlackChannel()], rules=alert_rules)
    third = outbox.send_pending(db, [ch.SlackChannel()], rules=alert_rules)
    assert (first.retry, second.failed, third.failed, third.pending) == (1, 1, 0, 0)
    [row] = alert_rows(db, event_id)
    assert (row[3], row[4]) == ("failed", 2)
    assert slack.hits(WEBHOOK) == 2


def test_a_channel_that_keeps_failing_is_left_for_the_next_run(db: Any, slack: LocalServer) -> None:
    for _ in range(5):
        event_id = stored_event(db)
        enqueue(db, event_id, meeting(), channels=["slack"])
    slack.routes[WEBHOOK] = Reply(503, b"down")
    summary = outbox.send_pending(db, [ch.SlackChannel()])
    # Three consecutive failures (the shipped channel_failures) and the run stops trying.
    assert (summary.retry, summary.pending, slack.hits(WEBHOOK)) == (3, 5, 3)
    assert sorted(r[4] for r in alert_rows(db)) == [0, 0, 1, 1, 1]


def test_concurrent_senders_never_send_one_row_twice(
    db: Any, slack: LocalServer, database_url: str
) -> None:
    ids = []
    for _ in range(12):
        event_id = stored_event(db)
        enqueue(db, event_id, meeting(), channels=["slack"])
        ids.append(event_id)

    def slow_ok(request: Request) -> Reply:
        return Reply(200, b"ok", delay=0.05)

    slack.routes[WEBHOOK] = slow_ok
    results: list[outbox.SendSummary] = []
    errors: list[BaseException] = []

    def run() -> None:
        conn = sdb.connect(database_url)
        try:
            results.append(outbox.send_pending(conn, [ch.SlackChannel()]))
        except BaseException as exc:
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    posted = [p["blocks"][-1]["elements"][0]["text"] for p in slack_payloads(slack)]
    assert sorted(posted) == sorted(f"sinorus-watch event #{i} (new)" for i in ids)
    assert sum(r.sent for r in results) == 12
    assert all(r[3] == "sent" and r[4] == 1 for r in alert_rows(db))


def test_mute_added_after_queueing_silences_the_pending_row(db: Any, slack: LocalServer) -> None:
    event_id = stored_event(db)
    enqueue(db, event_id, meeting(), channels=["slack"])
    with sdb.transaction(db) as cur:
        rules.add_mute(cur, person_id="wang-yi", reason="flood of Wang Yi stories")
    summary = outbox.send_pending(db, [ch.SlackChannel()], now=NOW)
    assert (summary.sent, summary.muted) == (0, 1)
    assert slack.hits(WEBHOOK) == 0
    [row] = alert_rows(db, event_id)
    assert row[3] == "muted" and "flood of Wang Yi" in row[6]


def test_update_rows_render_as_took_place(db: Any, slack: LocalServer) -> None:
    planned = meeting(status="planned")
    event_id = stored_event(db, planned)
    enqueue(db, event_id, planned, channels=["slack"])
    outbox.send_pending(db, [ch.SlackChannel()])
    with sdb.transaction(db) as cur:
        cur.execute("UPDATE events SET status = 'held' WHERE id = %s", (event_id,))
    enqueue(db, event_id, meeting(status="held"), previous_status="planned", channels=["slack"])
    assert outbox.send_pending(db, [ch.SlackChannel()]).sent == 1
    first, second = slack_payloads(slack)
    assert first["blocks"][0]["text"]["text"].startswith("Planned high-level China–Russia meeting")
    assert second["blocks"][0]["text"]["text"].startswith("Took place: High-level China–Russia")


def test_a_postponement_reaches_slack_and_email_as_one_escaped_follow_up(
    db: Any, slack: LocalServer, smtp: Mailbox
) -> None:
    planned = meeting(status="planned", level="head_of_state", participants=[XI, PUTIN])
    event_id = stored_event(db, planned)
    enqueue(db, event_id, planned, channels=["slack", "email"])
    both = [ch.SlackChannel(), ch.EmailChannel()]
    assert outbox.send_pending(db, both).sent == 2
    with sdb.transaction(db) as cur:
        article = add_source(
            cur,
            event_id,
            outlet="ria.ru",
            url="https://ria.ru/n/1?a=1&b=<2>",
            title=HOSTILE_TITLE,
            evidence=HOSTILE_EVIDENCE + " The summit was postponed.",
            confidence=0.5,  # weaker than the plan's sentence, yet the one that says it
        )
        cur.execute(
            "UPDATE event_mentions SET status = 'postponed' WHERE article_id = %s", (article,)
        )
        cur.execute("UPDATE events SET status = 'postponed' WHERE id = %s", (event_id,))
    later = meeting(status="postponed", level="head_of_state", participants=[XI, PUTIN])
    queued = enqueue(db, event_id, later, channels=["slack", "email"])
    assert sorted(queued) == [("email", "postponed"), ("slack", "postponed")]
    summary = outbox.send_pending(db, both)
    assert (summary.sent, summary.pending) == (2, 0)
    assert outbox.send_pending(db, both).sent == 0

    _, follow_up = slack_payloads(slack)
    title = "Postponed: Head-of-state China–Russia meeting: Xi Jinping – Vladimir Putin, Moscow"
    assert follow_up["blocks"][0]["text"]["text"] == ":rotating_light: " + title + ", 2 Dec 2025"
    mrkdwn = json.dumps(follow_up["blocks"][1:])
    assert "&lt;!channel&gt;" in mrkdwn and "<!channel>" not in mrkdwn
    assert "The summit was postponed." in mrkdwn
    sources = next(
        b for b in follow_up["blocks"] if "*Sources*" in b.get("text", {}).get("text", "")
    )
    first = sources["text"]["text"].split("\n")[1]
    assert first.startswith("• <https://ria.ru/n/1?a=1&amp;b=%3C2%3E|ria.ru: Talks &lt;script&gt;")

    _, mail = smtp.messages
    assert mail["Subject"] == title + ", 2 Dec 2025"
    page = mail.get_body(("html",)).get_content()
    assert "<script>" not in page and "&lt;!channel&gt;" in page
    assert "The summit was postponed." in mail.get_body(("plain",)).get_content()


# Email ------------------------------------------------------------------------------------


def test_send_pending_delivers_text_and_html_mail(db: Any, smtp: Mailbox) -> None:
    event_id = hostile_event(db)
    enqueue(db, event_id, meeting(level="head_of_state"), channels=["email"])
    summary = outbox.send_pending(db, [ch.EmailChannel()], now=NOW)
    assert summary.sent == 1
    [envelope] = smtp.envelopes
    assert envelope.mail_from == "alerts@sinorus.test"
    assert envelope.rcpt_tos == ["analyst@sinorus.test", "desk@sinorus.test"]
    [msg] = smtp.messages
    assert msg["Subject"].startswith("Head-of-state China–Russia meeting: Xi Jinping – Vladimir")
    text = msg.get_body(("plain",)).get_content()
    page = msg.get_body(("html",)).get_content()
    assert HOSTILE_TITLE in text and HOSTILE_EVIDENCE in text
    assert "<script>" not in page and "<!channel>" not in page
    assert "Talks &lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page
    assert "&lt;b&gt;friendship&lt;/b&gt;" in page
    assert 'href="https://tass.com/news/' in page and "?a=1&amp;b=&lt;2&gt;|x" in page
    for part in (text, page):
        assert "Head-of-state" in part and "Vladimir Putin" in part and "President" in part


def test_smtp_refusing_leaves_row_pending(db: Any, smtp: Mailbox) -> None:
    event_id = stored_event(db)
    enqueue(db, event_id, meeting(), channels=["email"])
    smtp.refuse = True
    summary = outbox.send_pending(db, [ch.EmailChannel()])
    assert (summary.sent, summary.retry, summary.pending) == (0, 1, 1)
    [row] = alert_rows(db, event_id)
    assert (row[3], row[4]) == ("pending", 1)
    assert "554" in row[5]
    smtp.refuse = False
    assert outbox.send_pending(db, [ch.EmailChannel()]).sent == 1
    assert len(smtp.messages) == 1


def test_smtp_server_absent_leaves_row_pending(db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_SINORUS_SMTP",
        json.dumps(
            {
                "conn_type": "smtp",
                "host": "127.0.0.1",
                "port": free_port(),
                "extra": {"disable_ssl": True, "disable_tls": True, "retry_limit": 0},
            }
        ),
    )
    event_id = stored_event(db)
    enqueue(db, event_id, meeting(), channels=["email"])
    summary = outbox.send_pending(db, [ch.EmailChannel(recipients=["a@sinorus.test"])])
    assert summary.retry == 1
    [row] = alert_rows(db, event_id)
    assert row[3] == "pending" and "refused" in row[5].lower()


# Console and configuration ----------------------------------------------------------------


def test_console_channel_prints_and_appends_to_the_log(
    db: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log_path = tmp_path / "alerts.log"
    monkeypatch.setenv("SINORUS_ALERT_LOG", str(log_path))
    event_id = stored_event(db)
    enqueue(db, event_id, meeting(), channels=["console"])
    stream = io.StringIO()
    assert outbox.send_pending(db, [ch.ConsoleChannel(stream=stream)]).sent == 1
    printed = stream.getvalue()
    assert printed.startswith("High-level China–Russia meeting: Wang Yi – Sergei Shoigu, Moscow")
    assert "Sergei Shoigu, Secretary of the Security Council" in printed
    assert "tass.com: Wang Yi meets Shoigu <https://tass.com/news/" in printed
    assert log_path.read_text(encoding="utf-8") == printed


def test_rows_of_channels_not_given_stay_pending(db: Any) -> None:
    event_id = stored_event(db)
    enqueue(db, event_id, meeting(), channels=["slack", "console"])
    summary = outbox.send_pending(db, [ch.ConsoleChannel(stream=io.StringIO())])
    assert (summary.sent, summary.pending) == (1, 1)
    assert [(r[1], r[3]) for r in alert_rows(db, event_id)] == [
        ("console", "sent"),
        ("slack", "pending"),
    ]


def test_configured_channels_follow_connections_and_env(
    smtp: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ch.configured_channels() == ["email"]
    monkeypatch.delenv("SINORUS_ALERT_RECIPIENTS")
    assert ch.configured_channels() == ["console"]  # SMTP without recipients is not email
    monkeypatch.setenv("AIRFLOW_CONN_SINORUS_SLACK", '{"conn_type": "slackwebhook"}')
    assert ch.configured_channels() == ["slack"]
    monkeypatch.setenv("SINORUS_CONSOLE_ALERTS", "1")
    assert ch.configured_channels() == ["slack", "console"]
    assert [c.name for c in ch.build_channels(["slack", "email"])] == ["slack", "email"]
    with pytest.raises(ch.ChannelError, match="unknown alert channel 'pager'"):
        ch.build_channels(["pager"])


def test_default_channels_when_nothing_is_configured(db: Any) -> None:
    event_id = stored_event(db)
    with sdb.transaction(db) as cur:
        queued = outbox.enqueue(
            cur, event_id, meeting(), previous_status=None, outlets=["tass.com"]
        )
    assert queued == [("console", "new")]


# The crash window -------------------------------------------------------------------------

CHILD_SENDER = """
import sys
from sinorus import db as sdb
from sinorus.alerts import channels, outbox
outbox.send_pending(sdb.connect(sys.argv[1]), [channels.SlackChannel()])
"""


def test_a_sender_killed_mid_send_leaves_no_stale_claim(
    db: Any, slack: LocalServer, database_url: str
) -> None:
    event_id = stored_event(db)
    enqueue(db, event_id, meeting(), channels=["slack"])
    arrived, release = threading.Event(), threading.Event()

    def hang_first(request: Request) -> Reply:
        if not arrived.is_set():
            arrived.set()
            release.wait(60)
            return Reply(500, b"gone")
        return Reply(200, b"ok")

    slack.routes[WEBHOOK] = hang_first
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD_SENDER, database_url],
        cwd=Path(__file__).resolve().parents[1],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert arrived.wait(60), "the child sender never reached the webhook"
        child.kill()
    finally:
        child.wait()
        release.set()
    # The dead sender's connection is gone, so PostgreSQL releases its row lock: take it and
    # let go (this waits for the server to notice, never for a claim timeout).
    with sdb.transaction(db) as cur:
        cur.execute("SET LOCAL lock_timeout = '30s'")
        cur.execute(
            "SELECT status, attempts FROM alerts WHERE event_id = %s FOR UPDATE", (event_id,)
        )
        assert cur.fetchone() == ("pending", 0)
    assert outbox.send_pending(db, [ch.SlackChannel()]).sent == 1
    [row] = alert_rows(db, event_id)
    assert (row[3], row[4]) == ("sent", 1)


def test_a_crash_after_the_channel_accepted_resends_rather_than_loses(db: Any) -> None:
    event_id = stored_event(db)
    enqueue(db, event_id, meeting(), channels=["console"])
    delivered: list[int] = []

    class DiesAfterDelivery:
        name = "console"

        def send(self, event: Any, sources: Any, kind: str) -> None:
            delivered.append(event["id"])
            raise SystemExit("process killed before 'sent' was committed")

    with pytest.raises(SystemExit):
        outbox.send_pending(db, [DiesAfterDelivery()])
    [row] = alert_rows(db, event_id)
    assert (row[3], row[4]) == ("pending", 0)  # at least once: the documented duplicate
    assert outbox.send_pending(db, [ch.ConsoleChannel(stream=io.StringIO())]).sent == 1
    assert delivered == [event_id]
