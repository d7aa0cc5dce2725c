"""The `sinorus` command: one subcommand per stage, each a thin call into the package."""

from __future__ import annotations

import argparse
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


def cmd_detect(args: argparse.Namespace) -> int:
    from sinorus.detect import detector

    return detector.cli(args)


def cmd_eval(args: argparse.Namespace) -> int:
    from sinorus import evaluate

    return evaluate.cli(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sinorus", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("migrate", help="apply pending SQL migrations")
    p.set_defaults(func=cmd_migrate)

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
