"""Run the reliability suite and print the figures for the README's Reliability section.

    .venv/bin/python scripts/reliability_report.py [extra pytest arguments]

Each test of tests/reliability adds what it injected or tried to a JSON-lines file
(SINORUS_RELIABILITY_FIGURES); this script runs the suite, sums those lines and prints them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        figures = Path(tmp) / "figures.jsonl"
        env = os.environ | {"SINORUS_RELIABILITY_FIGURES": str(figures)}
        command = [
            str(ROOT / ".venv" / "bin" / "pytest"),
            "tests/reliability",
            "-n",
            "2",
            "--dist",
            "loadfile",
            "-q",
            *argv,
        ]
        status = subprocess.run(command, cwd=ROOT, env=env, check=False).returncode
        totals: Counter[str] = Counter()
        if figures.exists():
            for line in figures.read_text(encoding="utf-8").splitlines():
                totals.update(json.loads(line))
    kills = totals["alert_kills"]
    window = f"{totals['duplicate_alerts']} resent after {kills} kills right after delivery"
    print()
    print("Reliability (tests/reliability, `make test` runs it):")
    print(f"- faults injected: {totals['faults_injected']}, survived: {totals['faults_survived']}")
    print(f"- bad inputs tried: {totals['bad_inputs']}")
    print(f"- rows lost: {totals['rows_lost']}, rows duplicated: {totals['rows_duplicated']}")
    print(f"- alerts lost: {totals['alerts_lost']}; duplicate alerts: {window}")
    print(f"- blocked SSRF attempts: {totals['ssrf_blocked']}")
    print(f"- pytest exit status: {status}")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
