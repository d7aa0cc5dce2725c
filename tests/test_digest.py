"""The weekly digest, built from seeded PostgreSQL and delivered to a real aiosmtpd server."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import smtplib
import socket
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg2.extensions
import pytest
from aiosmtpd.controller import Controller

# Hooks read connections from env vars and need no metadata DB, but keep Airflow out of ~/airflow.
import tests.airflow_env  # noqa: F401
from sinorus import digest
from tests.support import seed

pytestmark = pytest.mark.integration

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def seeded(db: psycopg2.extensions.connection) -> seed.Seeded:
    return seed.standard(db)


def test_collect_groups_the_week_by_type(
    db: psycopg2.extensions.connection, seeded: seed.Seeded
) -> None:
    got = digest.collect(db, until=seeded.today)
    ev = seeded.events
    # 7 days back: drill (1), consult (3), summit (5); the premiers (10) are last week's
    assert {t: [e["id"] for e in es] for t, es in got.groups.items()} == {
        "meeting": [ev["consult"], ev["summit"]],
        "military": [ev["drill"]],
    }
    assert list(got.groups) == ["meeting", "military"]  # the fixed type order
    assert got.total == 3
    assert got.since == seeded.today - dt.timedelta(days=6)
    assert got.subject.endswith(": 3 events")


def test_empty_week_says_so(db: psycopg2.extensions.connection, seeded: seed.Seeded) -> None:
    got = digest.collect(db, until=seeded.today - dt.timedelta(days=300))
    assert got.total == 0
    msg = digest.build_message(got, "digest@sinorus.test", ["a@sinorus.test"])
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None
    assert "No China–Russia cooperation events were detected this week." in body.get_content()


@dataclass
class Mailbox:
    messages: list[email.message.EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.messages.append(parsed)  # type: ignore[arg-type]
        return "250 OK"


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    """A real aiosmtpd server on loopback as the sinorus_smtp connection."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
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
                    "from_email": "digest@sinorus.test",
                    "retry_limit": 0,
                    "timeout": 5,
                },
            }
        ),
    )
    try:
        yield mailbox
    finally:
        controller.stop()


def test_digest_arrives_with_the_chart_inline(
    db: psycopg2.extensions.connection, seeded: seed.Seeded, smtp: Mailbox
) -> None:
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    recipients = ["analyst@sinorus.test"]
    msg = digest.weekly_message(
        db,
        "digest@sinorus.test",
        recipients,
        until=seeded.today,
        base_url="http://127.0.0.1:8080/sinorus",
    )
    with SmtpHook(smtp_conn_id="sinorus_smtp") as hook:
        client = hook._smtp_client
        assert isinstance(client, smtplib.SMTP)
        assert client.send_message(msg, to_addrs=recipients) == {}

    (got,) = smtp.messages
    assert got["Subject"] == msg["Subject"]
    assert "3 events" in got["Subject"]
    text = got.get_body(preferencelist=("plain",))
    html = got.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    plain = text.get_content()
    assert "Meetings (2)" in plain and "Joint military activity (1)" in plain
    assert plain.index("Meetings") < plain.index("Joint military activity")
    assert f"http://127.0.0.1:8080/sinorus/events/{seeded.events['summit']}" in plain
    assert "Xi Jinping (President, CN); Vladimir Putin (President, RU)" in plain

    markup = html.get_content()
    assert "<script>" not in markup
    assert "Navies &lt;script&gt;alert(1)&lt;/script&gt; &amp; friends" in markup

    (related,) = [p for p in got.walk() if p.get_content_type() == "multipart/related"]
    (image,) = [p for p in related.walk() if p.get_content_type() == "image/png"]
    cid = str(image["Content-ID"]).strip("<>")
    assert f'<img src="cid:{cid}"' in markup
    assert image.get_content_disposition() == "inline"
    png = image.get_content()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
    (svg,) = [p for p in got.walk() if p.get_content_type() == "image/svg+xml"]
    assert svg.get_filename() == "timeline.svg"
    assert svg.get_content_disposition() == "attachment"
    root = ET.fromstring(svg.get_content())
    bars = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "bar"]
    assert sum(int(b.get("data-count", "0")) for b in bars) == 5  # the last 12 weeks
