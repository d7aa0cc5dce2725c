"""Fuzz the feed-to-article path (bytes -> parse_feed -> normalise -> extract -> detect).

    .venv/bin/python scripts/fuzz.py --seconds 600      # or: make fuzz FUZZ_SECONDS=600

Runs hypothesis in rounds of --batch examples with fresh random seeds until the time is up;
the first failing input is shrunk, printed, saved under --crashes and ends the run with 1.
The same target runs in CI at a small budget (tests/reliability/test_fuzz.py).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, given, settings  # noqa: E402

from tests.reliability.support import feed_to_article, fuzz_inputs, fuzz_seeds  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="time budget (default 60)")
    parser.add_argument("--batch", type=int, default=500, help="examples per round")
    parser.add_argument(
        "--seeds",
        type=Path,
        default=ROOT.parent / "shared" / "corpora",
        help="directory with feeds/*/* to start from (optional)",
    )
    parser.add_argument("--crashes", type=Path, default=ROOT / ".fuzz-crashes")
    args = parser.parse_args(argv)

    seeds = fuzz_seeds(args.seeds)
    failing: list[bytes] = []

    @settings(
        max_examples=args.batch,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(fuzz_inputs(seeds))
    def round_(data: bytes) -> None:
        try:
            feed_to_article(data)
        except BaseException:
            failing.append(data)
            raise

    end = time.monotonic() + args.seconds
    rounds = 0
    while time.monotonic() < end:
        rounds += 1
        try:
            round_()
        except Exception:
            traceback.print_exc()
            data = failing[-1] if failing else b""
            args.crashes.mkdir(parents=True, exist_ok=True)
            target = args.crashes / (hashlib.sha256(data).hexdigest()[:16] + ".bin")
            target.write_bytes(data)
            print(f"failing input ({len(data)} bytes) saved to {target}", file=sys.stderr)
            return 1
        print(f"round {rounds}: {rounds * args.batch} inputs, no failure", flush=True)
    print(f"fuzz: {rounds * args.batch} inputs from {len(seeds)} seeds in {args.seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
