"""Where alerts go: Slack (incoming webhook), email (SMTP) and the console, one small interface."""

from __future__ import annotations

import re
import smtplib
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, TextIO

from sinorus import settings
from sinorus.alerts import render

SLACK_CONN_ID = "sinorus_slack"
SMTP_CONN_ID = "sinorus_smtp"
DEFAULT_SENDER = "sinorus-watch@localhost"
TIMEOUT_SECONDS = 20


class ChannelError(RuntimeError):
    """A channel is not configured well enough to send; the message says what is missing."""


class Channel(Protocol):
    name: str

    def send(
        self, event: Mapping[str, Any], sources: Sequence[Mapping[str, Any]], kind: str
    ) -> None:
        """Deliver one alert; raise when the channel did not accept it."""


class SlackChannel:
    """Posts Block Kit messages to the webhook of the Airflow connection sinorus_slack."""

    name = "slack"

    def __init__(self, conn_id: str = SLACK_CONN_ID, *, max_sources: int = 8) -> None:
        self.conn_id = conn_id
        self.max_sources = max_sources

    def send(
        self, event: Mapping[str, Any], sources: Sequence[Mapping[str, Any]], kind: str
    ) -> None:
        from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook

        payload = render.slack_blocks(event, sources, kind, max_sources=self.max_sources)
        # No client-side retries: a retried POST after a reset can post twice, and the
        # outbox already retries on the next run.
        hook = SlackWebhookHook(
            slack_webhook_conn_id=self.conn_id, timeout=TIMEOUT_SECONDS, retry_handlers=[]
        )
        hook.send_dict(payload)  # raises unless the webhook answered 200


def recipients_from_env() -> list[str]:
    """SINORUS_ALERT_RECIPIENTS split on commas, semicolons or spaces."""
    raw = settings.env("SINORUS_ALERT_RECIPIENTS") or ""
    return [r for r in re.split(r"[,;\s]+", raw) if r]


class EmailChannel:
    """Sends multipart (text + HTML) mail through the Airflow connection sinorus_smtp."""

    name = "email"

    def __init__(
        self,
        conn_id: str = SMTP_CONN_ID,
        *,
        recipients: Sequence[str] | None = None,
        sender: str | None = None,
        max_sources: int = 8,
    ) -> None:
        self.conn_id = conn_id
        self.recipients = list(recipients) if recipients is not None else recipients_from_env()
        self.sender = sender or settings.env("SINORUS_ALERT_SENDER")
        self.max_sources = max_sources

    def send(
        self, event: Mapping[str, Any], sources: Sequence[Mapping[str, Any]], kind: str
    ) -> None:
        from airflow.providers.smtp.hooks.smtp import SmtpHook

        if not self.recipients:
            raise ChannelError("no recipients: set SINORUS_ALERT_RECIPIENTS")
        with SmtpHook(smtp_conn_id=self.conn_id) as hook:
            sender = self.sender or hook.from_email or DEFAULT_SENDER
            msg = render.email_message(
                event, sources, kind, sender, self.recipients, max_sources=self.max_sources
            )
            # The hook's own send_email_smtp builds HTML-only mail and re-sends the whole
            # message up to five times on any error (duplicates); we send once, ourselves,
            # on the client the hook logged in with.
            client = hook._smtp_client
            if not isinstance(client, smtplib.SMTP):
                raise ChannelError(f"connection {self.conn_id!r} gave no SMTP client")
            refused = client.send_message(msg, from_addr=sender, to_addrs=self.recipients)
            if refused:
                raise ChannelError(f"recipients refused: {sorted(refused)}")


class ConsoleChannel:
    """Prints alerts to stdout and appends them to SINORUS_ALERT_LOG when that is set."""

    name = "console"

    def __init__(
        self,
        *,
        stream: TextIO | None = None,
        log_path: str | Path | None = None,
        max_sources: int = 8,
    ) -> None:
        self.stream = stream
        path = log_path or settings.env("SINORUS_ALERT_LOG")
        self.log_path = Path(path) if path else None
        self.max_sources = max_sources

    def send(
        self, event: Mapping[str, Any], sources: Sequence[Mapping[str, Any]], kind: str
    ) -> None:
        text = render.console_text(event, sources, kind, max_sources=self.max_sources)
        stream = self.stream or sys.stdout
        stream.write(text + "\n")
        stream.flush()
        if self.log_path:
            with self.log_path.open("a", encoding="utf-8") as log:
                log.write(text + "\n")


_LOOKUPS: dict[str, tuple[float, bool]] = {}
LOOKUP_SECONDS = 300.0


def _connection_exists(conn_id: str) -> bool:
    """Whether an Airflow connection is defined (env var, secrets backend or metadata DB)."""
    if settings.env(f"AIRFLOW_CONN_{conn_id.upper()}"):
        return True
    # The store asks once per event; in a worker every lookup is an API call, so remember.
    checked = _LOOKUPS.get(conn_id)
    if checked and time.monotonic() - checked[0] < LOOKUP_SECONDS:
        return checked[1]
    try:
        from airflow.sdk import BaseHook

        BaseHook.get_connection(conn_id)
        found = True
    except Exception:  # Airflow absent, no such connection, or no way to ask: not configured
        found = False
    _LOOKUPS[conn_id] = (time.monotonic(), found)
    return found


def configured_channels() -> list[str]:
    """Channels with a configuration: slack, email, and console when neither (or asked for)."""
    names = []
    if _connection_exists(SLACK_CONN_ID):
        names.append("slack")
    if recipients_from_env() and _connection_exists(SMTP_CONN_ID):
        names.append("email")
    if not names or settings.env("SINORUS_CONSOLE_ALERTS") in ("1", "true", "yes"):
        names.append("console")
    return names


def build_channels(names: Sequence[str], *, max_sources: int = 8) -> list[Channel]:
    """Channel objects for channel names; unknown names are a configuration error."""
    made: list[Channel] = []
    for name in names:
        if name == "slack":
            made.append(SlackChannel(max_sources=max_sources))
        elif name == "email":
            made.append(EmailChannel(max_sources=max_sources))
        elif name == "console":
            made.append(ConsoleChannel(max_sources=max_sources))
        else:
            raise ChannelError(f"unknown alert channel {name!r} (slack, email, console)")
    return made
