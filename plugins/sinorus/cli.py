"""The `sinorus` command: one subcommand per stage, each a thin call into the package."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

from sinorus import db as sdb


def cmd_migrate(args: argparse.Namespace) -> int:
    conn = sdb.connect()
    try:
        applied = sdb.migrate(conn)
    finally:
        conn.close()
    print("applied: " + ", ".join(applied) if applied else "database is up to date")
    return 0


def _progress(stage: str, done: int, total: int) -> None:
    width = 30
    filled = width * done // total if total else width
    bar = "#" * filled + "." * (width - filled)
    end = "\n" if done >= total else ""
    print(f"\r{stage:>8} [{bar}] {done}/{total}", end=end, file=sys.stderr, flush=True)


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


def cmd_fetch(args: argparse.Namespace) -> int:
    from sinorus import pipeline

    result = pipeline.ingest_cycle(args.feeds, progress=_progress, force=args.force)
    f, x = result["feeds"], result["extracted"]
    rows = [
        ["feeds polled", f.get("feeds", 0)],
        ["ok", f.get("ok", 0)],
        ["not modified", f.get("not_modified", 0)],
        ["failed", f.get("failed", 0)],
        ["entries seen", f.get("entries_seen", 0)],
        ["new articles", f.get("new_articles", 0)],
        ["pages extracted", x.get("page", 0)],
        ["summary fallback", x.get("summary", 0) + x.get("title_only", 0)],
        ["duplicates", x.get("duplicate", 0)],
        ["seconds", result["seconds"]],
    ]
    print(_table([[str(a), str(b)] for a, b in rows], ["", "count"]))
    for failure in f.get("failed_feeds", []):
        print(f"failed: {failure}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from sinorus import pipeline

    result = pipeline.run_cycle(args.feeds, send=not args.no_alerts, force=args.force)
    print(json.dumps(result, indent=2, default=str, ensure_ascii=False))
    return 0


def cmd_feeds(args: argparse.Namespace) -> int:
    from sinorus import health

    conn = sdb.connect()
    try:
        rows = health.feed_health(conn)
    finally:
        conn.close()
    header = ["id", "name", "status", "fails", "last ok", "new 24h", "next due", "last error"]
    table = [
        [
            str(r["id"]),
            r["name"][:30],
            r["last_status"] or "never",
            str(r["consecutive_failures"]),
            r["last_ok_at"].strftime("%Y-%m-%d %H:%M") if r["last_ok_at"] else "-",
            str(r["new_24h"]),
            r["next_due_at"].strftime("%Y-%m-%d %H:%M") if r["next_due_at"] else "now",
            (r["last_error"] or "")[:60],
        ]
        for r in rows
    ]
    print(_table(table, header))
    return 0


def cmd_detect(args: argparse.Namespace) -> int:
    from sinorus.detect import detector

    return int(detector.cli(args))


def cmd_eval(args: argparse.Namespace) -> int:
    from sinorus import evaluate

    return int(evaluate.cli(args))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sinorus", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("migrate", help="apply pending SQL migrations")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("fetch", help="run one ingestion cycle: feeds to stored articles")
    p.add_argument("--feeds", help="feed list YAML (default: SINORUS_FEEDS or the shipped list)")
    p.add_argument("--force", action="store_true", help="poll every enabled feed, due or not")
    p.set_defaults(func=cmd_fetch)

    p = sub.add_parser(
        "run", help="one whole cycle without a scheduler: fetch, extract, detect, load, alert"
    )
    p.add_argument("--feeds", help="feed list YAML (default: SINORUS_FEEDS or the shipped list)")
    p.add_argument("--no-alerts", action="store_true", help="queue alerts but do not send them")
    p.add_argument("--force", action="store_true", help="poll every enabled feed, due or not")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("feeds", help="print each feed's health")
    p.set_defaults(func=cmd_feeds)

    from sinorus import cli_events
    from sinorus.alerts import backlog, rules

    cli_events.add_commands(sub)

    p = sub.add_parser("mute", help="mute alerts by person, type or outlet; --list; --remove ID")
    rules.configure_mute_parser(p)

    p = sub.add_parser("alerts", help="the alert outbox per channel; discard pending alerts")
    backlog.configure_parser(p)

    p = sub.add_parser("detect", help="print the events a text or HTML file reports, as JSON")
    p.add_argument("file", help="text or HTML file ('-' for standard input)")
    p.add_argument("--published", help="publication date YYYY-MM-DD (resolves relative dates)")
    p.add_argument("--lang", help="ISO 639-1 language code (guessed when absent)")
    p.set_defaults(func=cmd_detect)

    p = sub.add_parser("eval", help="measure the detector on a labelled JSONL corpus")
    p.add_argument("file", help="labelled corpus, one JSON record a line")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_eval)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args.func(args))
    except sdb.ConfigError as exc:
        print(f"sinorus: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
