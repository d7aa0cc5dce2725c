"""Figures that tests measure (hit rates, counts), shown together at the end of the run."""

from __future__ import annotations

import os
from pathlib import Path

FIGURES_DIR = Path(__file__).resolve().parents[2] / ".artifacts" / "figures"


def report_figure(line: str) -> None:
    """Record one line for the run's closing summary (works under pytest-xdist)."""
    FIGURES_DIR.mkdir(parents=True, exist_ok=True)
    with (FIGURES_DIR / f"{os.getpid()}.txt").open("a", encoding="utf-8") as out:
        out.write(line.strip() + "\n")


def collected() -> list[str]:
    if not FIGURES_DIR.exists():
        return []
    lines: list[str] = []
    for path in sorted(FIGURES_DIR.glob("*.txt")):
        lines += path.read_text(encoding="utf-8").splitlines()
    return sorted(lines)


def clear() -> None:
    if FIGURES_DIR.exists():
        for path in FIGURES_DIR.glob("*.txt"):
            path.unlink()
