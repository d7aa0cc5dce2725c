"""The alert outbox: rows queued with the event's own transaction, delivered by send_pending.

Delivery and the crash window. `send_pending` handles one row per transaction: it claims the
oldest pending row with `SELECT … FOR UPDATE SKIP LOCKED`, renders it, hands it to the channel
and, as soon as the channel has accepted, marks it 'sent' and commits. The row lock is held
during the network call, so a concurrent sender skips the row (it never sends a row twice), and
a sender that dies loses its connection, which makes PostgreSQL release the lock and roll back:
there is no 'sending' state to go stale and no stale-claim timeout to tune.

The one window left is between the channel accepting a message and our COMMIT of 'sent'
(microseconds to milliseconds: one UPDATE and one COMMIT on an open connection). If the process
dies there, or the database connection drops at that moment, the row is still 'pending' and the
next run sends it again: delivery is at least once, so in that rare case an analyst gets the
same alert twice. We chose a possible duplicate over a possible loss; the alternative (commit
'sending' first, never resend an unconfirmed row) would silently drop alerts on every crash
during a slow webhook call, a much wider window.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg2.extensions

from sinorus import db as sdb
from sinorus.alerts.channels import Channel, build_channels, configured_channels
from sinorus.alerts.rules import AlertRules, load_rules, muted, should_alert

log = logging.getLogger(__name__)

__all__ = [
    "SendSummary",
    "configured_channels",
    "enqueue",
    "event_for_alert",
    "event_sources",
    "send_pending",
]

ERROR_CHARS = 2000

EVENT_QUERY = """
SELECT e.id, e.type, e.status, e.event_date, e.location, e.participants, e.people, e.level,
       e.round, e.headline, e.background, e.n_articles, e.n_outlets,
       (SELECT m.evidence FROM event_mentions m
         WHERE m.event_id = e.id
         ORDER BY m.background, m.confidence DESC, m.id
         LIMIT 1) AS evidence
  FROM events e
 WHERE e.id = %s
"""

# One line per article, earliest first; the same article mentioned twice is one source.
SOURCES_QUERY = """
SELECT a.outlet, a.title, a.url, a.lang, a.published_at, a.site_name
  FROM articles a
 WHERE a.id IN (SELECT m.article_id FROM event_mentions m WHERE m.event_id = %s)
 ORDER BY a.published_at NULLS LAST, a.id
"""

CLAIM_QUERY = """
SELECT id, event_id, channel, kind, attempts
  FROM alerts
 WHERE status = 'pending' AND channel = ANY(%s) AND NOT (id = ANY(%s::bigint[]))
 ORDER BY created_at, id
 LIMIT 1
   FOR UPDATE SKIP LOCKED
"""


def event_for_alert(cur: Any, event_id: int) -> dict[str, Any] | None:
    """The events row as a dict, with its best mention's evidence sentence."""
    cur.execute(EVENT_QUERY, (event_id,))
    row = cur.fetchone()
    if row is None:
        return None
    names = [d[0] for d in cur.description]
    return dict(zip(names, row, strict=True))


def event_sources(cur: Any, event_id: int) -> list[dict[str, Any]]:
    """The event's articles (outlet, title, url, lang, published_at) through event_mentions."""
    cur.execute(SOURCES_QUERY, (event_id,))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def enqueue(
    cur: Any,
    event_id: int,
    event: Mapping[str, Any],
    *,
    previous_status: str | None,
    outlets: Sequence[str],
    rules: AlertRules | None = None,
    channels: Sequence[str] | None = None,
    now: dt.datetime | None = None,
) -> list[tuple[str, str]]:
    """Queue the alerts an inserted or updated event calls for; return (channel, kind) queued."""
    # Runs inside the caller's transaction. What was already announced is read from the outbox
    # itself (alerts.event_status), so previous_status only feeds the log: a re-run, a retry or
    # a wrong previous status can neither duplicate an alert nor lose the "took place"
    # follow-up. Muted alerts are written as 'muted' rows (the audit trail) and not returned.
    rules = rules or load_rules()
    if not should_alert(event, rules):
        return []
    names = list(channels) if channels is not None else configured_channels()
    status = event.get("status")
    cur.execute(
        "SELECT id, channel, kind, status, event_status FROM alerts WHERE event_id = %s",
        (event_id,),
    )
    existing = {(row[1], row[2]): row for row in cur.fetchall()}
    mute = muted(cur, event, outlets, now, rules=rules)
    queued: list[tuple[str, str]] = []
    for channel in names:
        new = existing.get((channel, "new"))
        if new is None:
            kind = "new"
        elif new[3] == "muted":
            # The mute has lapsed or the event gained an unmuted outlet while still in the news.
            if mute is None:
                cur.execute(
                    "UPDATE alerts SET status = 'pending', event_status = %s, muted_by = NULL,"
                    " updated_at = now() WHERE id = %s AND status = 'muted'",
                    (status, new[0]),
                )
                if cur.rowcount:
                    queued.append((channel, "new"))
            continue
        elif status == "held" and new[4] == "planned" and (channel, "update") not in existing:
            if new[3] == "pending" and _retarget_unsent(cur, new[0], status):
                continue  # not sent yet: it will be rendered as held, no follow-up needed
            kind = "update"
        else:
            continue
        cur.execute(
            "INSERT INTO alerts (event_id, channel, kind, status, event_status, muted_by)"
            " VALUES (%s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (event_id, channel, kind) DO NOTHING RETURNING id",
            (
                event_id,
                channel,
                kind,
                "muted" if mute else "pending",
                status,
                mute.describe() if mute else None,
            ),
        )
        if cur.fetchone() is not None and mute is None:
            queued.append((channel, kind))
    if queued or mute:
        log.info(
            "event %s (%s -> %s): queued %s%s",
            event_id,
            previous_status,
            status,
            queued or "nothing",
            f", muted by {mute.describe()}" if mute else "",
        )
    return queued


def _retarget_unsent(cur: Any, alert_id: int, status: Any) -> bool:
    """Point a still-pending 'new' alert at the event's new status, unless a sender holds it."""
    # SKIP LOCKED: never wait on a sender's network call inside the store's transaction.
    cur.execute(
        "SELECT id FROM alerts WHERE id = %s AND status = 'pending' FOR UPDATE SKIP LOCKED",
        (alert_id,),
    )
    if cur.fetchone() is None:
        return False
    cur.execute(
        "UPDATE alerts SET event_status = %s, updated_at = now() WHERE id = %s",
        (status, alert_id),
    )
    return True


@dataclass
class SendSummary:
    sent: int = 0
    failed: int = 0  # rows that reached max_attempts in this call and are now 'failed'
    retry: int = 0  # rows whose attempt failed and that stay 'pending'
    muted: int = 0  # rows a mute added since they were queued now silences
    pending: int = 0  # rows still pending after this call, on every channel
    by_channel: dict[str, dict[str, int]] = field(default_factory=dict)

    def count(self, channel: str, outcome: str) -> None:
        per = self.by_channel.setdefault(channel, {})
        per[outcome] = per.get(outcome, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "failed": self.failed,
            "retry": self.retry,
            "muted": self.muted,
            "pending": self.pending,
            "by_channel": self.by_channel,
        }


def send_pending(
    conn: psycopg2.extensions.connection,
    channels: Sequence[Channel] | None = None,
    *,
    limit: int = 100,
    now: dt.datetime | None = None,
    rules: AlertRules | None = None,
) -> SendSummary:
    """Send up to `limit` pending alerts, oldest first, one transaction per alert."""
    rules = rules or load_rules()
    if channels is None:
        channels = build_channels(configured_channels(), max_sources=rules.max_sources)
    by_name = {c.name: c for c in channels}
    summary = SendSummary()
    tried: list[int] = []
    failures: Counter[str] = Counter()
    for _ in range(limit):
        usable = [name for name in by_name if failures[name] < rules.channel_failures]
        if not usable:
            break
        with sdb.transaction(conn) as cur:
            cur.execute(CLAIM_QUERY, (usable, tried))
            row = cur.fetchone()
            if row is None:
                break
            alert_id, event_id, channel_name, kind, attempts = row
            tried.append(alert_id)
            outcome = _deliver(
                cur, by_name[channel_name], alert_id, event_id, kind, attempts, now, rules
            )
        summary.count(channel_name, outcome)
        if outcome == "sent":
            summary.sent += 1
            failures[channel_name] = 0
        elif outcome == "muted":
            summary.muted += 1
        else:
            summary.failed += outcome == "failed"
            summary.retry += outcome == "retry"
            failures[channel_name] += 1
            if failures[channel_name] == rules.channel_failures:
                log.warning(
                    "channel %s failed %d times in a row: leaving its alerts for the next run",
                    channel_name,
                    failures[channel_name],
                )
    with sdb.transaction(conn) as cur:
        cur.execute("SELECT count(*) FROM alerts WHERE status = 'pending'")
        summary.pending = cur.fetchone()[0]
    log.info("alerts: %s", summary.as_dict())
    return summary


def _deliver(
    cur: Any,
    channel: Channel,
    alert_id: int,
    event_id: int,
    kind: str,
    attempts: int,
    now: dt.datetime | None,
    rules: AlertRules,
) -> str:
    """Send one claimed row and record the outcome on it: sent, retry, failed or muted."""
    event = event_for_alert(cur, event_id) or {"id": event_id}
    sources = event_sources(cur, event_id)
    mute = muted(cur, event, [s["outlet"] for s in sources if s["outlet"]], now, rules=rules)
    if mute is not None:
        cur.execute(
            "UPDATE alerts SET status = 'muted', muted_by = %s, updated_at = now() WHERE id = %s",
            (mute.describe(), alert_id),
        )
        return "muted"
    try:
        channel.send(event, sources, kind)
    except Exception as exc:  # any failure of any channel leaves the row for a later run
        error = f"{type(exc).__name__}: {exc}"[:ERROR_CHARS]
        outcome = "failed" if attempts + 1 >= rules.max_attempts else "retry"
        cur.execute(
            "UPDATE alerts SET attempts = attempts + 1, last_error = %s, last_try_at = now(),"
            " updated_at = now(), status = %s WHERE id = %s",
            (error, "failed" if outcome == "failed" else "pending", alert_id),
        )
        log.warning("alert %s (event %s, %s) not sent: %s", alert_id, event_id, channel.name, error)
        return outcome
    cur.execute(
        "UPDATE alerts SET status = 'sent', attempts = attempts + 1, sent_at = now(),"
        " last_try_at = now(), last_error = NULL, updated_at = now() WHERE id = %s",
        (alert_id,),
    )
    log.info("alert %s (event %s, %s, %s) sent", alert_id, event_id, channel.name, kind)
    return "sent"
