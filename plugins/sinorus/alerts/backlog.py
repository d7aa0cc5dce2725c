"""The outbox per channel, alerts no configured channel will send, and discarding them."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Sequence
from typing import Any

from sinorus.alerts.channels import configured_channels
from sinorus.alerts.outbox import KINDS

STATUSES = ("pending", "sent", "failed", "muted", "superseded", "discarded")
RECENT = dt.timedelta(days=7)

COUNTS_QUERY = """
SELECT channel, status, count(*), min(created_at)
  FROM alerts
 WHERE status IN ('pending', 'muted') OR updated_at > %s
 GROUP BY channel, status
 ORDER BY channel, status
"""


def outbox_report(
    cur: Any, configured: Sequence[str] | None = None, *, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Rows per channel and status (settled ones of the last week), and what waits unsendable."""
    names = list(configured) if configured is not None else configured_channels()
    now = now or dt.datetime.now(dt.UTC)
    cur.execute(COUNTS_QUERY, (now - RECENT,))
    channels: dict[str, dict[str, Any]] = {}
    for channel, status, count, oldest in cur.fetchall():
        entry = channels.setdefault(channel, {"configured": channel in names})
        entry[status] = count
        if status == "pending":
            entry["oldest_pending"] = oldest.isoformat()
    for name in names:
        channels.setdefault(name, {"configured": True})
    waiting = [
        {"channel": name, "alerts": entry["pending"], "oldest": entry["oldest_pending"]}
        for name, entry in sorted(channels.items())
        if not entry["configured"] and entry.get("pending")
    ]
    return {"configured": names, "channels": channels, "waiting": waiting}


def waiting_lines(report: dict[str, Any]) -> list[str]:
    """One sentence per unconfigured channel that has pending alerts."""
    return [
        f"{w['alerts']} alerts waiting for unconfigured channel {w['channel']} since "
        f"{w['oldest'][:16]}: configure it again, or discard them with `sinorus alerts discard "
        f"--channel {w['channel']} --reason ...`"
        for w in report["waiting"]
    ]


def discard(
    cur: Any,
    *,
    reason: str,
    by: str | None,
    channel: str | None = None,
    event_id: int | None = None,
    kind: str | None = None,
    alert_id: int | None = None,
) -> list[int]:
    """Close pending rows unsent, with who and why; returns their ids, oldest first."""
    if not reason or not reason.strip():
        raise ValueError("discarding alerts needs a reason")
    if channel is None and event_id is None and alert_id is None:
        raise ValueError("say which alerts: a channel, an event or an alert id")
    # SKIP LOCKED: a row a sender holds is being delivered right now; it is no longer pending.
    cur.execute(
        "UPDATE alerts SET status = 'discarded', closed_at = now(), closed_by = %(by)s,"
        " closed_reason = %(reason)s, updated_at = now()"
        " WHERE id IN (SELECT id FROM alerts WHERE status = 'pending'"
        "   AND (%(channel)s::text IS NULL OR channel = %(channel)s)"
        "   AND (%(event)s::bigint IS NULL OR event_id = %(event)s)"
        "   AND (%(kind)s::text IS NULL OR kind = %(kind)s)"
        "   AND (%(id)s::bigint IS NULL OR id = %(id)s)"
        "   FOR UPDATE SKIP LOCKED)"
        " RETURNING id",
        {
            "by": by,
            "reason": reason.strip(),
            "channel": channel,
            "event": event_id,
            "kind": kind,
            "id": alert_id,
        },
    )
    return sorted(row[0] for row in cur.fetchall())


# The `sinorus alerts` command ---------------------------------------------------------------


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """`sinorus alerts` prints the outbox per channel; `sinorus alerts discard` closes rows."""
    parser.set_defaults(func=alerts_cli, action="status")
    sub = parser.add_subparsers(dest="action")
    sub.add_parser("status", help="rows per channel and status (the default)")
    p = sub.add_parser("discard", help="close pending alerts unsent, recording who and why")
    p.add_argument("--channel", help="e.g. slack: its pending alerts")
    p.add_argument("--event", type=int, metavar="ID", help="only this event's pending alerts")
    p.add_argument("--kind", choices=KINDS, help="only alerts of this kind")
    p.add_argument("--id", type=int, metavar="ID", dest="alert_id", help="one alerts row")
    p.add_argument("--reason", required=True, help="why, kept on every row discarded")


def alerts_cli(args: argparse.Namespace) -> int:
    """Run `sinorus alerts` against the configured database; returns the exit status."""
    from sinorus import db as sdb

    conn = sdb.connect()
    try:
        with sdb.transaction(conn) as cur:
            if args.action == "discard":
                try:
                    ids = discard(
                        cur,
                        reason=args.reason,
                        by=os.environ.get("USER"),
                        channel=args.channel,
                        event_id=args.event,
                        kind=args.kind,
                        alert_id=args.alert_id,
                    )
                except ValueError as exc:
                    print(f"sinorus alerts discard: {exc}", file=sys.stderr)
                    return 2
                print(f"discarded {len(ids)} pending alerts" + (f": {ids}" if ids else ""))
                return 0
            report = outbox_report(cur)
    finally:
        conn.close()
    print(_status_table(report))
    for line in waiting_lines(report):
        print(line)
    return 0


def _status_table(report: dict[str, Any]) -> str:
    header = ["channel", "configured", *STATUSES, "oldest pending"]
    rows = [
        [
            name,
            "yes" if entry["configured"] else "NO",
            *(str(entry.get(status, 0)) for status in STATUSES),
            str(entry.get("oldest_pending", "-"))[:16],
        ]
        for name, entry in sorted(report["channels"].items())
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [header, ["-" * w for w in widths], *rows]
    note = "(sent, failed, superseded, discarded: changed in the last 7 days)"
    table = "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in lines)
    return "\n".join(line.rstrip() for line in table.splitlines()) + "\n" + note
