"""The benchmark at its tiny size: it runs end to end and writes well-formed results."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REQUIRED = (
    "cycle_vs_extraction",
    "rerun_vs_first",
    "detector_articles_per_s",
    "fetch_vs_serial",
    "peak_rss_mb",
    "growth_16x_vs_1x",
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def results(admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    out = tmp_path_factory.mktemp("bench") / "results.json"
    env = os.environ | {"SINORUS_BENCH_ADMIN_URL": admin_url}
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--size", "tiny", "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "cycle_vs_extraction" in run.stdout  # the table is printed
    data: dict[str, object] = json.loads(out.read_text(encoding="utf-8"))
    return data


def test_required_keys_are_finite_numbers(results: dict[str, object]) -> None:
    for key in REQUIRED:
        value = results[key]
        assert isinstance(value, int | float) and not isinstance(value, bool), key
        assert math.isfinite(value), key
        assert value > 0, key


def test_machine_info_and_verdicts(results: dict[str, object]) -> None:
    machine = results["machine"]
    assert isinstance(machine, dict)
    assert isinstance(machine["cpu_count"], int) and machine["cpu_count"] >= 1
    assert machine["python"].startswith("3.")
    assert machine["platform"]
    met = results["met"]
    assert isinstance(met, dict)
    assert set(met) == set(REQUIRED)
    assert all(isinstance(v, bool) for v in met.values())


def test_the_replay_did_real_work(results: dict[str, object]) -> None:
    details = results["details"]
    assert isinstance(details, dict)
    cycle = details["cycle_1x"]
    # Every replayed entry became an article and was read by the detector.
    assert cycle["rows"]["articles"] == details["extraction_baseline"]["articles"]
    assert cycle["first"]["detected"]["articles"] == cycle["rows"]["articles"]
    # The rerun found nothing new: ETag feeds answered 304, the others only known guids.
    assert cycle["rerun"]["fetched"]["new_articles"] == 0
    assert cycle["rerun"]["fetched"]["not_modified"] >= 1
    growth = details["growth"]
    assert growth["16x"]["articles"] == 16 * growth["1x"]["articles"]
    assert results["peak_rss_articles"] == growth["16x"]["articles"]
