"""`python -m sinorus.sample`: serve the offline sample until Ctrl-C (used by `make demo`)."""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Sequence
from datetime import datetime

from sinorus.sample.server import serve, write_feeds_file


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sinorus.sample", description=__doc__)
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--feeds-out", help="write a feed list of the sample feeds to this file")
    parser.add_argument(
        "--now", help="serve dates relative to this ISO datetime instead of the current time"
    )
    args = parser.parse_args(argv)
    now = datetime.fromisoformat(args.now) if args.now else None
    try:
        server = serve(args.port, now)
    except OSError as exc:
        print(f"sinorus.sample: cannot listen on 127.0.0.1:{args.port}: {exc}", file=sys.stderr)
        return 2
    if args.feeds_out:
        written = write_feeds_file(args.feeds_out, server.base)
        print(f"feed list written to {written}", flush=True)
    print(f"serving the offline sample at {server.base}/ (Ctrl-C to stop)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
