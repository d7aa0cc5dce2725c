"""Print the detector's throughput in articles per second on 3 KB synthetic articles.

Usage: python benchmarks/bench_detector.py [--articles N]
The articles mix event sentences (en/ru/zh) with ordinary news filler, written for this script.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import date

from sinorus.detect.detector import default_detector

EVENTS = [
    "Chinese President Xi Jinping held talks with Russian President Vladimir Putin on Tuesday.",
    "Foreign Minister Wang Yi will meet his Russian counterpart Sergei Lavrov in Moscow next week.",
    "Chinese and Russian navies began a joint exercise in the Sea of Japan on Monday.",
    "Путин провёл телефонный разговор с Си Цзиньпином во вторник.",
    "国家主席习近平在北京同俄罗斯总统普京举行会谈。",
    "Indian Prime Minister Narendra Modi met Vladimir Putin in New Delhi on Friday.",
]
FILLER = [
    "Markets were calm as investors weighed the outlook for interest rates and inflation.",
    "The ministry said the new rules would take effect at the start of next quarter.",
    "Officials declined to comment on the report, citing the ongoing review.",
    "Analysts expect exports to recover slowly as demand in Europe remains weak.",
    "The company reported a rise in revenue, driven by strong sales of its new models.",
    "Rain is expected across the region on Thursday, forecasters said.",
    "Экономисты ожидают замедления инфляции во втором полугодии.",
    "分析人士认为，今年的经济增长将保持稳定。",
]


def article(rng: random.Random, size: int = 3000) -> str:
    parts: list[str] = []
    while sum(len(p) + 1 for p in parts) < size:
        parts.append(rng.choice(EVENTS) if rng.random() < 0.15 else rng.choice(FILLER))
    return " ".join(parts)[:size]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=500)
    args = parser.parse_args()
    rng = random.Random(7)  # noqa: S311 - a fixed mix of filler, not a secret
    texts = [article(rng) for _ in range(args.articles)]
    detector = default_detector()
    detector.detect("warm-up", lang="en", published=None)
    started = time.perf_counter()
    cpu_started = time.process_time()
    found = 0
    for text in texts:
        found += len(detector.detect(text, lang=None, published=date(2025, 6, 11)))
    cpu = time.process_time() - cpu_started
    seconds = time.perf_counter() - started
    # CPU time is the figure to compare: on a shared machine wall time includes others' work.
    print(
        f"{len(texts) / cpu:.0f} articles per CPU second, {len(texts) / seconds:.0f} articles/s"
        f" wall ({len(texts)} articles of 3 KB, {found} mentions)"
    )


if __name__ == "__main__":
    main()
