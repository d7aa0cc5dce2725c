"""The DAGs run through real Airflow task execution (`dag.test()`) on the offline sample.

Real PostgreSQL, the sample served on loopback, a real aiosmtpd server and a loopback HTTP
server as the Slack webhook; connections come from AIRFLOW_CONN_* like in production.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg2.extensions
import pytest
from aiosmtpd.controller import Controller

import tests.airflow_env as airflow_env  # sets AIRFLOW_HOME etc. before airflow is imported
from sinorus.sample import serve, write_feeds_file
from tests.support.servers import LocalServer, Reply, Request

pytestmark = [pytest.mark.airflow, pytest.mark.integration]

WEBHOOK = "/services/T000/B000/XXXX"
MEETING_PERSON = "Shoigu"  # the sample's meeting reported by three outlets in English and Russian
TABLES = ["feeds", "fetch_log", "articles", "events", "event_mentions", "alerts"]


@dataclass
class Mailbox:
    messages: list[email.message.EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self.lock:
            self.messages.append(parsed)  # type: ignore[arg-type]
        return "250 OK"

    def texts(self) -> list[str]:
        """Subject and every text part of each message, decoded."""
        out = []
        with self.lock:
            for msg in self.messages:
                parts = [str(msg["Subject"])]
                for part in msg.walk():
                    if part.get_content_maintype() == "text":
                        parts.append(part.get_content())
                out.append("\n".join(parts))
        return out


@dataclass
class Webhook:
    """The Slack webhook: answers `status`, or `fail_on` for messages containing that text."""

    server: LocalServer
    fail_on: str | None = None
    accepted: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def __call__(self, req: Request) -> Reply:
        text = json.dumps(json.loads(req.body or b"{}"), ensure_ascii=False)
        if self.fail_on is not None and self.fail_on in text:
            self.refused.append(text)
            return Reply(500, b"internal_error")
        self.accepted.append(text)
        return Reply(200, b"ok")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def dags() -> dict[str, Any]:
    airflow_env.migrate_metadata_db()
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(airflow_env.DAGS))
    assert bag.import_errors == {}
    return dict(bag.dags)


@pytest.fixture
def mailbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=_free_port())
    controller.start()
    conn = {
        "conn_type": "smtp",
        "host": "127.0.0.1",
        "port": controller.port,
        "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "alerts@sinorus.test"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_SINORUS_SMTP", json.dumps(conn))
    monkeypatch.setenv("SINORUS_ALERT_RECIPIENTS", "analysts@sinorus.test")
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
def webhook(server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> Webhook:
    hook = Webhook(server)
    server.routes[WEBHOOK] = hook
    conn = {"conn_type": "slackwebhook", "password": server.url(WEBHOOK)}
    monkeypatch.setenv("AIRFLOW_CONN_SINORUS_SLACK", json.dumps(conn))
    return hook


@pytest.fixture
def sample(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> Iterator[Path]:
    """The offline sample on loopback, its feed list, and the fetcher allowed to reach it."""
    srv = serve(port=0)
    feeds = write_feeds_file(tmp_path / "feeds.yaml", srv.base)
    monkeypatch.setenv("SINORUS_FEEDS", str(feeds))
    monkeypatch.setenv("SINORUS_FETCH_ALLOW", f"127.0.0.1:{srv.port}")
    monkeypatch.setenv("SINORUS_DATABASE_URL", database_url)
    monkeypatch.delenv("SINORUS_CONSOLE_ALERTS", raising=False)
    try:
        yield feeds
    finally:
        srv.stop()


def run(dag: Any, run_after: datetime | None = None) -> Any:
    """One DAG run in-process; returns the DagRun after it finished."""
    return dag.test(run_after=run_after) if run_after else dag.test()


def forget_run(dag_run: Any) -> None:
    """Drop a finished run from Airflow's metadata so dag.test() can run the same run_id again."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        session.query(DagRun).filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id).delete()


def states(dag_run: Any) -> dict[str, str]:
    return {
        f"{ti.task_id}[{ti.map_index}]" if ti.map_index >= 0 else ti.task_id: str(ti.state)
        for ti in dag_run.get_task_instances()
    }


def fingerprint(conn: psycopg2.extensions.connection) -> dict[str, tuple[int, str]]:
    """Row count and a checksum of the natural keys of every pipeline table."""
    keys = {
        "feeds": "url",
        "fetch_log": "run_id || '/' || feed_id",
        "articles": "url || '/' || coalesce(content_hash, '')",
        "events": "id::text || '/' || type || '/' || n_outlets || '/' || n_articles",
        "event_mentions": "event_id || '/' || article_id",
        "alerts": "event_id || '/' || channel || '/' || kind || '/' || status",
    }
    out = {}
    with conn, conn.cursor() as cur:
        for table in TABLES:
            cur.execute(f"SELECT {keys[table]} FROM {table} ORDER BY 1")
            rows = [r[0] for r in cur.fetchall()]
            out[table] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
    return out


def meeting_event(conn: psycopg2.extensions.connection) -> dict[str, Any]:
    """The single event of the three-outlet meeting; fails if it is missing or split."""
    with conn, conn.cursor() as cur:
        cur.execute(
            "SELECT id, headline, n_outlets FROM events "
            "WHERE type = 'meeting' AND headline ILIKE %s AND n_outlets >= 2",
            (f"%{MEETING_PERSON}%",),
        )
        rows = cur.fetchall()
        assert len(rows) == 1, rows
        event_id, headline, n_outlets = rows[0]
        cur.execute(
            "SELECT DISTINCT a.lang FROM articles a JOIN event_mentions m ON m.article_id = a.id "
            "WHERE m.event_id = %s",
            (event_id,),
        )
        langs = {r[0] for r in cur.fetchall()}
    return {"id": event_id, "headline": headline, "n_outlets": n_outlets, "langs": langs}


def alert(conn: psycopg2.extensions.connection, event_id: int, channel: str) -> dict[str, Any]:
    with conn, conn.cursor() as cur:
        cur.execute(
            "SELECT status, attempts, last_error FROM alerts WHERE event_id = %s AND channel = %s",
            (event_id, channel),
        )
        rows = cur.fetchall()
    assert len(rows) == 1, rows
    return dict(zip(["status", "attempts", "last_error"], rows[0], strict=True))


def sent_count(conn: psycopg2.extensions.connection, channel: str) -> int:
    with conn, conn.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM alerts WHERE channel = %s AND status = 'sent'", (channel,)
        )
        n: int = cur.fetchone()[0]
    return n


def test_one_meeting_one_alert_per_channel_and_reruns_add_nothing(
    dags: dict[str, Any],
    db: psycopg2.extensions.connection,
    sample: Path,
    mailbox: Mailbox,
    webhook: Webhook,
) -> None:
    ingest, alerts = dags["sinorus_ingest"], dags["sinorus_alerts"]
    run_after = datetime.now(UTC).replace(microsecond=0)

    first = run(ingest, run_after)
    assert first.state == "success", states(first)
    assert any(k.startswith("fetch_feeds[") for k in states(first))
    summary = _xcom(first, "load_feeds", key="summary")
    assert summary["listed"] == summary["due"] == len(_xcom(first, "load_feeds")[0]) == 7
    meeting = meeting_event(db)
    assert meeting["n_outlets"] == 3
    assert meeting["langs"] == {"en", "ru"}
    after_first = fingerprint(db)

    # The same run again (same run_id), as when a run is cleared after its fetch tasks had
    # committed: the feeds are made due again so every stage really writes a second time.
    with db, db.cursor() as cur:
        cur.execute("UPDATE feeds SET next_due_at = NULL, etag = NULL, last_modified = NULL")
    forget_run(first)
    again = run(ingest, run_after)
    assert again.run_id == first.run_id
    assert again.state == "success", states(again)
    assert any(k.startswith("fetch_feeds[") for k in states(again))
    assert fingerprint(db) == after_first

    sent = run(alerts)
    assert sent.state == "success", states(sent)
    about_meeting = [t for t in mailbox.texts() if MEETING_PERSON in t]
    assert len(about_meeting) == 1
    assert len([t for t in webhook.accepted if MEETING_PERSON in t]) == 1
    assert alert(db, meeting["id"], "slack")["status"] == "sent"
    assert alert(db, meeting["id"], "email")["status"] == "sent"
    # Every other alert went out exactly once too: one message per sent outbox row.
    assert len(mailbox.messages) == sent_count(db, "email")
    assert len(webhook.accepted) == sent_count(db, "slack")

    # A later cycle finds nothing new to say.
    mails, posts = len(mailbox.messages), len(webhook.accepted)
    later = run(ingest, run_after + timedelta(minutes=10))
    assert later.state == "success", states(later)
    assert run(alerts).state == "success"
    assert (len(mailbox.messages), len(webhook.accepted)) == (mails, posts)
    assert meeting_event(db)["id"] == meeting["id"]


def test_slack_down_leaves_the_alert_pending_until_the_webhook_answers(
    dags: dict[str, Any],
    db: psycopg2.extensions.connection,
    sample: Path,
    mailbox: Mailbox,
    webhook: Webhook,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The feed list from the Airflow Variable wins over SINORUS_FEEDS (here a missing file).
    monkeypatch.setenv("AIRFLOW_VAR_SINORUS_FEEDS", str(sample))
    monkeypatch.setenv("SINORUS_FEEDS", str(sample.parent / "missing.yaml"))
    # Only the meeting's message is refused, so the channel's consecutive-failure cut-off
    # cannot skip it before it is tried.
    webhook.fail_on = MEETING_PERSON
    assert run(dags["sinorus_ingest"]).state == "success"
    meeting = meeting_event(db)

    assert run(dags["sinorus_alerts"]).state == "success"
    slack = alert(db, meeting["id"], "slack")
    assert slack["status"] == "pending"
    assert slack["attempts"] == 1
    assert slack["last_error"] and "500" in slack["last_error"]
    assert len(webhook.refused) == 1
    assert alert(db, meeting["id"], "email")["status"] == "sent"

    webhook.fail_on = None
    assert run(dags["sinorus_alerts"]).state == "success"
    slack = alert(db, meeting["id"], "slack")
    assert slack["status"] == "sent"
    assert slack["attempts"] == 2
    assert len([t for t in webhook.accepted if MEETING_PERSON in t]) == 1
    assert len([t for t in mailbox.texts() if MEETING_PERSON in t]) == 1


@pytest.mark.parametrize("slack_up", [True, False], ids=["slack-up", "slack-down"])
def test_a_failed_task_notifies_operators_by_slack_and_email(
    slack_up: bool,
    dags: dict[str, Any],
    db: psycopg2.extensions.connection,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    mailbox: Mailbox,
    webhook: Webhook,
    database_url: str,
) -> None:
    broken = tmp_path / "feeds.yaml"
    broken.write_text("feeds: [this is: not, a feed list\n", encoding="utf-8")
    monkeypatch.setenv("SINORUS_FEEDS", str(broken))
    monkeypatch.setenv("SINORUS_DATABASE_URL", database_url)
    dag = dags["sinorus_ingest"]
    # No retries here: dag.test() would otherwise wait out the retry delays.
    monkeypatch.setattr(dag.get_task("load_feeds"), "retries", 0)
    if not slack_up:
        webhook.fail_on = "sinorus_ingest"

    result = run(dag)
    assert result.state == "failed"
    assert states(result)["load_feeds"] == "failed"
    # A notifier that is down must not keep the other one from telling the operators.
    assert len(mailbox.messages) == 1
    assert "sinorus_ingest.load_feeds" in str(mailbox.messages[0]["Subject"])
    if not slack_up:
        assert len(webhook.refused) == 1 and not webhook.accepted
        return
    assert len(webhook.accepted) == 1
    post = webhook.accepted[0]
    assert "sinorus_ingest.load_feeds" in post
    assert "FeedListError" in post and str(broken) in post
    assert "/dags/sinorus_ingest/runs/" in post and "/tasks/load_feeds" in post
    body = mailbox.texts()[0]
    assert "sinorus_ingest.load_feeds" in body and "FeedListError" in body
    assert "/dags/sinorus_ingest/runs/" in body


def test_maintenance_prunes_old_fetch_log_and_reports_feed_health(
    dags: dict[str, Any],
    db: psycopg2.extensions.connection,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SINORUS_DATABASE_URL", database_url)
    now = datetime.now(UTC)
    with db, db.cursor() as cur:
        cur.execute(
            "INSERT INTO feeds (url, name, consecutive_failures, last_status, last_checked_at,"
            " last_ok_at, last_new_at, last_error) VALUES"
            " ('http://127.0.0.1:9/a.xml', 'failing', 30, 'failed', %s, %s, %s, 'HTTP 503'),"
            " ('http://127.0.0.1:9/b.xml', 'silent', 0, 'ok', %s, %s, %s, NULL),"
            " ('http://127.0.0.1:9/c.xml', 'healthy', 0, 'ok', %s, %s, %s, NULL) RETURNING id",
            (
                now,
                now - timedelta(days=3),
                now - timedelta(days=3),
                now,
                now,
                now - timedelta(days=10),
                now,
                now,
                now - timedelta(hours=1),
            ),
        )
        feed_id = cur.fetchone()[0]
        for days, run_id in ((120, "old-1"), (91, "old-2"), (89, "recent-1"), (0, "recent-2")):
            cur.execute(
                "INSERT INTO fetch_log (run_id, feed_id, started_at, status)"
                " VALUES (%s, %s, %s, 'ok')",
                (run_id, feed_id, now - timedelta(days=days)),
            )

    result = run(dags["sinorus_maintenance"])
    assert result.state == "success", states(result)
    with db, db.cursor() as cur:
        cur.execute("SELECT run_id FROM fetch_log ORDER BY run_id")
        assert [r[0] for r in cur.fetchall()] == ["recent-1", "recent-2"]
    report = _xcom(result, "feed_health")
    assert [f["name"] for f in report["failing"]] == ["failing"]
    assert [f["name"] for f in report["silent"]] == ["silent"]


def _xcom(dag_run: Any, task_id: str, key: str = "return_value") -> Any:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        value = session.scalar(
            XComModel.get_many(
                run_id=dag_run.run_id, dag_ids=dag_run.dag_id, task_ids=task_id, key=key
            ).with_only_columns(XComModel.value)
        )
    return json.loads(value) if isinstance(value, str | bytes) else value
