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
from sinorus.alerts.rules import AlertRules, Mute, could_alert, load_rules, muted, should_alert
from sinorus.cluster import STATUS_RANK

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
CLOSED_BY = "sinorus"  # closed_by of rows the outbox itself withdrew

EVENT_QUERY = """
SELECT e.id, e.type, e.status, e.event_date, e.location, e.participants, e.people, e.level,
       e.round, e.headline, e.background, e.n_articles, e.n_outlets,
       (SELECT m.evidence FROM event_mentions m
         WHERE m.event_id = e.id
         ORDER BY m.background, m.status IS DISTINCT FROM e.status, m.confidence DESC, m.id
         LIMIT 1) AS evidence
  FROM events e
 WHERE e.id = %s
"""

# One line per article, earliest first; the same article mentioned twice is one source. A
# follow-up lists first the articles that report the status it announces.
SOURCES_QUERY = """
SELECT a.outlet, a.title, a.url, a.lang, a.published_at, a.site_name
  FROM articles a
 WHERE a.id IN (SELECT m.article_id FROM event_mentions m WHERE m.event_id = %(event)s)
 ORDER BY NOT EXISTS (SELECT 1 FROM event_mentions m
                       WHERE m.event_id = %(event)s AND m.article_id = a.id
                         AND m.status = %(status)s),
          a.published_at NULLS LAST, a.id
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


def event_sources(cur: Any, event_id: int, *, status: str | None = None) -> list[dict[str, Any]]:
    """The event's articles (outlet, title, url, lang, published_at) through event_mentions."""
    cur.execute(SOURCES_QUERY, {"event": event_id, "status": status})
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


# Follow-ups by kind and the status each announces ('update', the first of them, is "took
# place"). Each kind is sent at most once per event and channel (the unique key), and only
# forward in the order clustering merges reports in (cluster.STATUS_RANK: planned, postponed,
# cancelled, held): a report that moves an event back, or forth again, sends nothing new.
FOLLOW_UP_STATUS = {"update": "held", "postponed": "postponed", "cancelled": "cancelled"}
FOLLOW_UP_KIND = {status: kind for kind, status in FOLLOW_UP_STATUS.items()}
KINDS = ("new", *FOLLOW_UP_STATUS)


@dataclass(frozen=True)
class _Row:
    id: int
    channel: str
    kind: str
    status: str
    event_status: str | None


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
    # itself (alerts.event_status of the rows sent), so previous_status only feeds the log: a
    # re-run, a retry or a wrong previous status can neither duplicate an alert nor lose a
    # follow-up. Muted alerts are written as 'muted' rows (the audit trail) and not returned.
    rules = rules or load_rules()
    alerting = should_alert(event, rules)
    # A follow-up concerns an event some rule fits in another status (announced as planned,
    # now cancelled): only such events need the outbox read.
    if not alerting and not could_alert(event, rules):
        return []
    status = event.get("status")
    cur.execute(
        "SELECT id, channel, kind, status, event_status FROM alerts WHERE event_id = %s",
        (event_id,),
    )
    rows = [_Row(*row) for row in cur.fetchall()]
    if not alerting and not any(r.kind == "new" and r.status in ("pending", "sent") for r in rows):
        return []
    names = list(channels) if channels is not None else configured_channels()
    mute = muted(cur, event, outlets, now, rules=rules)
    queued: list[tuple[str, str]] = []
    for channel in names:
        mine = {r.kind: r for r in rows if r.channel == channel}
        new = mine.get("new")
        if new is None:
            if alerting and _insert(cur, event_id, channel, "new", status, mute):
                queued.append((channel, "new"))
        elif new.status == "muted":
            # The mute has lapsed or the event gained an unmuted outlet while still in the news.
            if alerting and mute is None:
                cur.execute(
                    "UPDATE alerts SET status = 'pending', event_status = %s, muted_by = NULL,"
                    " updated_at = now() WHERE id = %s AND status = 'muted'",
                    (status, new.id),
                )
                if cur.rowcount:
                    queued.append((channel, "new"))
        elif new.status in ("pending", "sent") and status in STATUS_RANK:
            kind = _follow_up(cur, event_id, mine, status, mute)
            if kind is not None:
                queued.append((channel, kind))
        # A 'new' row that failed or was closed was never read: nothing can follow it.
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


def _insert(
    cur: Any, event_id: int, channel: str, kind: str, status: Any, mute: Mute | None
) -> bool:
    """Write one outbox row; True when it is new and will be sent (not muted)."""
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
    return cur.fetchone() is not None and mute is None


def _follow_up(
    cur: Any, event_id: int, rows: Mapping[str, _Row], status: str, mute: Mute | None
) -> str | None:
    """Bring one channel's follow-ups in line with the event's status; the kind queued, if any."""
    new = rows["new"]
    pending = [rows[k] for k in FOLLOW_UP_STATUS if k in rows and rows[k].status == "pending"]
    if new.status == "pending" and _retarget_unsent(cur, new.id, status):
        # Not sent yet: the first alert will say the current status itself.
        for row in pending:
            _supersede(cur, row.id, f"the first alert, not sent yet, says {status}")
        return None
    # Sent, or being sent by a sender that holds the row: announced as its event_status.
    told = [STATUS_RANK.get(str(new.event_status))]
    told += [STATUS_RANK.get(str(r.event_status)) for r in rows.values() if r.status == "sent"]
    if told[0] is None:
        return None  # a row from before event_status was kept: nothing to compare with
    announced = max(rank for rank in told if rank is not None)
    rank = STATUS_RANK[status]
    kind = FOLLOW_UP_KIND.get(status) if rank > announced else None
    reason = f"event is {status} now, before this was sent"
    for row in pending:
        if row.kind != kind and not _supersede(cur, row.id, reason):
            # A sender holds it: it is being announced right now.
            announced = max(announced, STATUS_RANK.get(str(row.event_status), announced))
    target = rows.get(kind) if kind else None
    if kind is None or rank <= announced:
        if target is not None and target.status == "pending":
            _supersede(cur, target.id, reason)
        return None
    if target is None:
        return kind if _insert(cur, event_id, new.channel, kind, status, mute) else None
    if target.status == "superseded" or (target.status == "muted" and mute is None):
        # Superseded: the event is back at a status whose follow-up was withdrawn unsent.
        # Muted: the mute has lapsed while the event is still in the news, as for a first
        # alert. Either way that follow-up is now the one to send.
        cur.execute(
            "UPDATE alerts SET status = %s, event_status = %s, muted_by = %s, closed_at = NULL,"
            " closed_by = NULL, closed_reason = NULL, updated_at = now()"
            " WHERE id = %s AND status = %s",
            (
                "muted" if mute else "pending",
                status,
                mute.describe() if mute else None,
                target.id,
                target.status,
            ),
        )
        return kind if cur.rowcount and mute is None else None
    return None  # pending already, sent, still muted, failed or discarded: never twice


def _lock_pending(cur: Any, alert_id: int) -> bool:
    """Lock a row that is still pending, unless a sender holds it (it is being sent)."""
    # SKIP LOCKED: never wait on a sender's network call inside the store's transaction.
    cur.execute(
        "SELECT id FROM alerts WHERE id = %s AND status = 'pending' FOR UPDATE SKIP LOCKED",
        (alert_id,),
    )
    return cur.fetchone() is not None


def _retarget_unsent(cur: Any, alert_id: int, status: Any) -> bool:
    """Point a still-pending 'new' alert at the event's new status, unless a sender holds it."""
    if not _lock_pending(cur, alert_id):
        return False
    cur.execute(
        "UPDATE alerts SET event_status = %s, updated_at = now() WHERE id = %s",
        (status, alert_id),
    )
    return True


def _supersede(cur: Any, alert_id: int, reason: str) -> bool:
    """Withdraw an unsent follow-up the event no longer calls for, unless a sender holds it."""
    if not _lock_pending(cur, alert_id):
        return False
    cur.execute(
        "UPDATE alerts SET status = 'superseded', closed_at = now(), closed_by = %s,"
        " closed_reason = %s, updated_at = now() WHERE id = %s",
        (CLOSED_BY, f"superseded: {reason}", alert_id),
    )
    return True


@dataclass
class SendSummary:
    sent: int = 0
    failed: int = 0  # rows that reached max_attempts in this call and are now 'failed'
    retry: int = 0  # rows whose attempt failed and that stay 'pending'
    muted: int = 0  # rows a mute added since they were queued now silences
    superseded: int = 0  # follow-ups withdrawn unsent: the event or its first alert moved on
    pending: int = 0  # rows still pending after this call, on every channel
    # Pending rows of channels this call could not use (not configured): kept, not tried.
    waiting: dict[str, int] = field(default_factory=dict)
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
            "superseded": self.superseded,
            "pending": self.pending,
            "waiting": self.waiting,
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
        elif outcome == "superseded":
            summary.superseded += 1
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
        cur.execute("SELECT channel, count(*) FROM alerts WHERE status = 'pending' GROUP BY 1")
        counts = dict(cur.fetchall())
    summary.pending = sum(counts.values())
    summary.waiting = {name: n for name, n in sorted(counts.items()) if name not in by_name}
    for name, n in summary.waiting.items():
        log.warning(
            "%d alerts waiting for unconfigured channel %s: they go out once it is configured"
            " again; `sinorus alerts discard --channel %s --reason ...` drops them",
            n,
            name,
            name,
        )
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
    """Send one claimed row and record the outcome: sent, retry, failed, muted or superseded."""
    event = event_for_alert(cur, event_id) or {"id": event_id}
    if kind in FOLLOW_UP_STATUS:
        stale = _stale_follow_up(cur, event_id, channel.name, kind, event.get("status"))
        if stale:
            _supersede(cur, alert_id, stale)
            log.info(
                "alert %s (event %s, %s, %s) superseded: %s",
                alert_id,
                event_id,
                channel.name,
                kind,
                stale,
            )
            return "superseded"
    sources = event_sources(cur, event_id, status=FOLLOW_UP_STATUS.get(kind))
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
    # event_status records what the message said: later follow-ups compare with it.
    cur.execute(
        "UPDATE alerts SET status = 'sent', attempts = attempts + 1, sent_at = now(),"
        " last_try_at = now(), last_error = NULL, updated_at = now(),"
        " event_status = coalesce(%s, event_status) WHERE id = %s",
        (event.get("status"), alert_id),
    )
    log.info("alert %s (event %s, %s, %s) sent", alert_id, event_id, channel.name, kind)
    return "sent"


def _stale_follow_up(cur: Any, event_id: int, channel: str, kind: str, status: Any) -> str | None:
    """Why a claimed follow-up must not go out now, or None when it still says something new."""
    # Checked again at send time: the event may have changed without an enqueue (a re-cluster,
    # a hand edit), or the first alert was sent late, saying the new status itself.
    target = FOLLOW_UP_STATUS[kind]
    if status != target:
        return f"event is {status} now, before this was sent"
    cur.execute(
        "SELECT kind, status, event_status FROM alerts"
        " WHERE event_id = %s AND channel = %s AND status = 'sent' AND kind <> %s",
        (event_id, channel, kind),
    )
    sent = cur.fetchall()
    if not any(row[0] == "new" for row in sent):
        return "the first alert on this channel was not sent: nothing to follow"
    said = max(sent, key=lambda row: STATUS_RANK.get(str(row[2]), -1))[2]
    if STATUS_RANK.get(str(said), -1) >= STATUS_RANK[target]:
        return f"this channel was already told the event is {said}"
    return None
