"""Quality gate: the detector's evaluation on the labelled dev corpus, with pinned floors.

Floors sit at (or just under) what the detector reaches today; lower one only on purpose,
with the reason in the commit message.
"""

from __future__ import annotations

from typing import Any

import pytest

from sinorus.evaluate import evaluate, read_jsonl
from tests.conftest import shared_path

pytestmark = pytest.mark.quality


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    records, problems = read_jsonl(shared_path("eval", "dev.jsonl"))
    assert problems == []
    return evaluate(records)


FLOORS = {
    "precision": 0.97,
    "recall": 0.96,
    "status_accuracy": 0.94,
    "date_accuracy": 0.90,
    "level_accuracy": 0.95,
}


@pytest.mark.parametrize(("metric", "floor"), sorted(FLOORS.items()))
def test_metric_floor(result: dict[str, Any], metric: str, floor: float) -> None:
    assert result[metric] >= floor, f"{metric} {result[metric]} fell below {floor}"


def test_clustering_floor(result: dict[str, Any]) -> None:
    assert result["clustering"]["f1"] >= 0.94


def test_alert_floors(result: dict[str, Any]) -> None:
    assert result["alerts"]["precision"] >= 0.95
    assert result["alerts"]["recall"] >= 0.95


def test_relevance_floors(result: dict[str, Any]) -> None:
    assert result["relevance"]["precision"] >= 0.97
    assert result["relevance"]["recall"] >= 0.97


def test_russian_and_chinese_recall_close_to_english(result: dict[str, Any]) -> None:
    en = result["by_lang"]["en"]["recall"]
    for lang in ("ru", "zh"):
        assert result["by_lang"][lang]["recall"] >= en - 0.10, (lang, result["by_lang"][lang])


def test_no_record_crashes_the_detector(result: dict[str, Any]) -> None:
    assert result["errors"] == []
