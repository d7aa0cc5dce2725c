"""`sinorus events` and `sinorus event ID`: the events list and one event, read-only."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import sys
from typing import Any

import psycopg2
import psycopg2.errors

from sinorus import queries

FORMATS = ("table", "json", "csv")
LIST_COLUMNS = (
    ("id", "id"),
    ("date", "event_date"),
    ("type", "type"),
    ("status", "status"),
    ("level", "level"),
    ("participants", "participants_text"),
    ("place", "location"),
    ("round", "round"),
    ("outlets", "n_outlets"),
    ("articles", "n_articles"),
    ("first seen", "first_seen"),
    ("alerted", "alerted"),
    ("headline", "headline"),
)


def _plain(value: Any) -> Any:
    """A value as JSON carries it: dates as ISO text."""
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(_plain(value))


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


def event_json(event: dict[str, Any]) -> dict[str, Any]:
    """An event (and its mentions, when present) with JSON-ready values."""
    out = {k: _plain(v) for k, v in event.items() if k != "mentions"}
    if "mentions" in event:
        out["mentions"] = [{k: _plain(v) for k, v in m.items()} for m in event["mentions"]]
    return out


def render_events(events: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps([event_json(e) for e in events], ensure_ascii=False, indent=2)
    header = [name for name, _ in LIST_COLUMNS]
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(header)
        for e in events:
            writer.writerow([_cell(e.get(key)) for _, key in LIST_COLUMNS])
        return buf.getvalue().rstrip("\n")
    rows = [[_cell(e.get(key)) for _, key in LIST_COLUMNS] for e in events]
    # A terminal table stays readable only with long text cut short.
    for row in rows:
        row[5] = row[5][:70]
        row[-1] = row[-1][:60]
    return _table(rows, header) if rows else "no events match"


def render_event(event: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(event_json(event), ensure_ascii=False, indent=2)
    lines = [
        f"event {event['id']}: {event.get('headline') or ''}".rstrip(),
        f"  {event['type']}, {event['status']}, {_cell(event.get('event_date')) or 'undated'}"
        + (f", {event['location']}" if event.get("location") else "")
        + (f", round {event['round']}" if event.get("round") else ""),
        f"  participants: {event.get('participants_text') or '-'}",
        f"  level: {event.get('level') or '-'}; outlets: {event.get('n_outlets')}; "
        f"articles: {event.get('n_articles')}; first seen {_cell(event.get('first_seen'))}; "
        f"alerted: {_cell(event.get('alerted'))}",
        "",
    ]
    for m in event["mentions"]:
        lines += [
            f"- {m.get('outlet') or '?'} [{m.get('lang') or '?'}] {m.get('title') or ''}".rstrip(),
            f"  {m.get('url')}",
            f"  evidence: {m.get('evidence')}",
            f"  confidence: {float(m.get('confidence') or 0):.2f}",
        ]
    if not event["mentions"]:
        lines.append("no mentions")
    return "\n".join(lines)


def _database_problem(command: str, exc: psycopg2.Error) -> int:
    if isinstance(exc, psycopg2.errors.UndefinedTable | psycopg2.errors.UndefinedFunction):
        hint = "the database has no sinorus schema yet; run `sinorus migrate`"
    else:
        hint = str(exc).strip()
    print(f"sinorus {command}: cannot read the database: {hint}", file=sys.stderr)
    return 2


def cmd_events(args: argparse.Namespace) -> int:
    try:
        flt = queries.EventFilter(
            since=queries.parse_since(args.since),
            until=queries.parse_date(args.until),
            type=args.type,
            level=args.level,
            status=args.status,
            text=args.text,
            limit=args.limit,
        ).check()
    except queries.FilterError as exc:
        print(f"sinorus events: {exc}", file=sys.stderr)
        return 2
    try:
        conn = queries.connect_readonly()
        try:
            events = queries.list_events(conn, flt)
        finally:
            conn.close()
    except psycopg2.Error as exc:
        return _database_problem("events", exc)
    print(render_events(events, args.format))
    return 0


def cmd_event(args: argparse.Namespace) -> int:
    try:
        conn = queries.connect_readonly()
        try:
            event = queries.get_event(conn, args.id)
        finally:
            conn.close()
    except psycopg2.Error as exc:
        return _database_problem("event", exc)
    if event is None:
        print(f"sinorus event: no event with id {args.id}", file=sys.stderr)
        return 1
    print(render_event(event, args.format))
    return 0


def add_commands(sub: Any) -> None:
    """Register `events` and `event` on the main parser's subparsers."""
    p = sub.add_parser("events", help="list detected events, newest first")
    p.add_argument("--since", default="30d", help="30d, 8w, 6m or YYYY-MM-DD (default 30d)")
    p.add_argument("--until", help="last event date to list, YYYY-MM-DD")
    p.add_argument("--type", choices=queries.TYPES, help="event type")
    p.add_argument("--level", choices=queries.LEVELS, help="this level or higher")
    p.add_argument("--status", choices=queries.STATUSES, help="held, planned, ...")
    p.add_argument("--text", help="words in headline, evidence, titles or participants")
    p.add_argument("--limit", type=int, default=200, help="at most this many (default 200)")
    p.add_argument("--format", choices=FORMATS, default="table")
    p.set_defaults(func=cmd_events)

    p = sub.add_parser("event", help="one event with every article that reported it")
    p.add_argument("id", type=int, help="event id (from `sinorus events`)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_event)
