"""The evaluator's arithmetic on small synthetic records with a scripted detector."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

from sinorus.cluster import summarize
from sinorus.detect.model import Mention, Participant
from sinorus.evaluate import DEFAULT_ALERT_RULE, alert_rule_matches, evaluate, read_jsonl

XI = Participant("Xi Jinping", "xi-jinping", "CN", "president", "President", "head_of_state")
PUTIN = Participant(
    "Vladimir Putin", "vladimir-putin", "RU", "president", "President", "head_of_state"
)
WANG = Participant("Wang Yi", "wang-yi", "CN", "foreign_minister", "FM", "minister")
LAVROV = Participant("Sergey Lavrov", "sergey-lavrov", "RU", "foreign_minister", "FM", "minister")
ENVOY = Participant("Envoy", "envoy", "RU", None, None, "working")


def mention(
    who: list[Participant],
    day: date | None,
    type_: str = "meeting",
    status: str = "held",
    level: str | None = "head_of_state",
    background: bool = False,
) -> Mention:
    return Mention(
        type=type_,
        status=status,
        event_date=day,
        date_text="stated" if day else None,
        location=None,
        participants=who,
        level=level,
        round=None,
        evidence="evidence",
        highlights=[],
        confidence=0.9,
        cameo="040",
        plover="CONSULT",
        background=background,
    )


def gold(
    event_id: str,
    who: list[str],
    type_: str = "meeting",
    level: str | None = "head_of_state",
    status: str = "held",
    day: str | None = "2025-05-08",
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": type_,
        "status": status,
        "date": day,
        "location": None,
        "participants": [{"name": n, "country": "?", "role": None} for n in who],
        "level": level,
        "round": None,
        "evidence": "gold evidence",
    }


def record(
    rid: str, events: list[dict[str, Any]], lang: str = "en", published: str = "2025-05-08"
) -> dict[str, Any]:
    return {
        "id": rid,
        "lang": lang,
        "published": published,
        "title": None,
        "text": rid,
        "relevant": bool(events),
        "events": events,
    }


def canon(name: str) -> str | None:
    return {
        "Xi Jinping": "xi-jinping",
        "Си Цзиньпин": "xi-jinping",
        "Vladimir Putin": "vladimir-putin",
        "Wang Yi": "wang-yi",
        "Sergey Lavrov": "sergey-lavrov",
        "Sergei Lavrov": "sergey-lavrov",
    }.get(name)


def run(records: list[dict[str, Any]], script: dict[str, list[Mention]]) -> dict[str, Any]:
    def detect(text: str, **_: Any) -> list[Mention]:
        return script.get(text, [])

    return evaluate(records, detect=detect, canon=canon)


D = date(2025, 5, 8)


def test_matching_precision_recall_and_relevance() -> None:
    records = [
        record("a", [gold("m1", ["Xi Jinping", "Vladimir Putin"])]),
        record("b", [gold("c1", ["Wang Yi", "Sergei Lavrov"], type_="call", level="minister")]),
        record("c", []),
    ]
    script = {
        "a": [mention([XI, PUTIN], D)],
        "b": [mention([WANG, LAVROV], D, type_="meeting")],  # wrong type: a miss and a false alarm
        "c": [mention([XI, PUTIN], date(2025, 5, 9))],  # a negative record: a false alarm
    }
    r = run(records, script)
    assert (r["gold"], r["predicted"], r["matched"]) == (2, 3, 1)
    assert r["precision"] == 0.333 and r["recall"] == 0.5
    assert r["relevance"] == {
        "precision": 0.667,
        "recall": 1.0,
    }  # a record is relevant when anything is found
    assert r["by_type"]["call"]["recall"] == 0.0
    assert r["by_type"]["meeting"]["precision"] == 0.333
    assert r["by_lang"]["en"]["support"] == 2


def test_participants_must_overlap_by_canonical_identity() -> None:
    records = [record("a", [gold("m1", ["Си Цзиньпин", "Vladimir Putin"])])]
    ok = run(records, {"a": [mention([XI], D)]})
    assert ok["matched"] == 1
    other = run(records, {"a": [mention([WANG, LAVROV], D)]})
    assert other["matched"] == 0 and other["predicted"] == 1


def test_gold_without_participants_matches_any_of_its_type() -> None:
    records = [record("a", [gold("x1", [], type_="military", level=None)])]
    r = run(records, {"a": [mention([], D, type_="military", level=None)]})
    assert r["precision"] == 1.0 and r["recall"] == 1.0


def test_background_predictions_are_ignored() -> None:
    records = [record("a", [gold("m1", ["Xi Jinping"])])]
    script = {
        "a": [
            mention([XI, PUTIN], D),
            mention([WANG, LAVROV], date(2025, 1, 2), background=True),
            mention([WANG, LAVROV], date(2025, 3, 1)),  # dated > 21 days before: background too
        ]
    }
    r = run(records, script)
    assert r["predicted"] == 1 and r["precision"] == 1.0


def test_duplicate_mentions_of_one_event_count_once() -> None:
    records = [record("a", [gold("m1", ["Xi Jinping", "Vladimir Putin"])])]
    r = run(records, {"a": [mention([XI, PUTIN], D), mention([XI], D), mention([PUTIN], D)]})
    assert r["predicted"] == 1 and r["matched"] == 1 and r["precision"] == 1.0


def test_status_date_and_level_accuracy_over_matched_pairs() -> None:
    records = [
        record("a", [gold("m1", ["Xi Jinping"], status="planned", day=None)]),
        record("b", [gold("m1", ["Xi Jinping"], level=None)]),
    ]
    script = {
        "a": [mention([XI, PUTIN], D, status="held")],
        "b": [mention([XI, PUTIN], D, level="minister")],
    }
    r = run(records, script)
    assert r["status_accuracy"] == 0.5  # a: planned vs held, b: held vs held
    assert r["date_accuracy"] == 1.0  # only b has a gold date
    assert r["level_accuracy"] == 1.0  # b's gold level is null: only a counts


def test_clustering_pairs() -> None:
    records = [
        record("a", [gold("m1", ["Xi Jinping"])]),
        record("b", [gold("m1", ["Xi Jinping"])]),
        record(
            "c",
            [gold("m2", ["Wang Yi"], level="minister", day="2025-05-20")],
            published="2025-05-20",
        ),
    ]
    script = {
        "a": [mention([XI, PUTIN], D)],
        "b": [mention([XI, PUTIN], date(2025, 5, 9))],
        "c": [mention([WANG, LAVROV], date(2025, 5, 20), level="minister")],
    }
    r = run(records, script)
    assert r["clustering"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    # the same gold event split in two predicted events: recall of pairs drops to 0
    script["b"] = [mention([XI, PUTIN], date(2025, 5, 30))]
    split = run(records, script)
    assert split["clustering"]["recall"] == 0.0


def test_second_alert_for_the_same_event_is_a_false_alarm() -> None:
    records = [
        record("a", [gold("m1", ["Xi Jinping", "Vladimir Putin"])]),
        record("b", [gold("m1", ["Xi Jinping", "Vladimir Putin"])], published="2025-06-30"),
        record("c", [gold("e1", ["Wang Yi"], level="working", day="2025-05-20")]),
    ]
    script = {
        "a": [mention([XI, PUTIN], D)],
        # dated far apart, so clustering makes a second event for the same gold meeting
        "b": [mention([XI, PUTIN], date(2025, 6, 30))],
        # below minister level: no alert expected, none sent
        "c": [mention([WANG, ENVOY], date(2025, 5, 8), level="working")],
    }
    r = run(records, script)
    assert r["alerts"] == {"precision": 0.5, "recall": 1.0, "sent": 2, "expected": 1}


def test_alert_rule_from_a_rule_dict() -> None:
    event = summarize([mention([WANG, LAVROV], D, level="minister")])
    assert alert_rule_matches(event)
    assert not alert_rule_matches(event, {**DEFAULT_ALERT_RULE, "min_level": "head_of_state"})
    assert not alert_rule_matches(event, {**DEFAULT_ALERT_RULE, "types": ["call"]})
    old = summarize([mention([WANG, LAVROV], D, level="minister", background=True)])
    assert not alert_rule_matches(old)


def test_the_default_rule_matches_the_shipped_alert_rules() -> None:
    import yaml

    from sinorus.settings import DATA_DIR

    path = DATA_DIR / "alerts.yaml"
    shipped = yaml.safe_load(path.read_text(encoding="utf-8"))["rules"][0]
    for key in ("types", "min_level", "statuses"):
        assert shipped[key] == DEFAULT_ALERT_RULE[key]


def test_a_crashing_detector_is_recorded_not_fatal() -> None:
    def detect(text: str, **_: Any) -> list[Mention]:
        raise ValueError("boom")

    r = evaluate([record("a", [gold("m1", ["Xi Jinping"])])], detect=detect, canon=canon)
    assert r["recall"] == 0.0 and "boom" in r["errors"][0]


def test_cli_json_and_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "tiny.jsonl"
    rec = record(
        "x", [gold("m1", ["Wang Yi", "Sergey Lavrov"], level="minister", day="2025-06-09")]
    )
    rec["text"] = "Foreign Minister Wang Yi met Russian Foreign Minister Sergei Lavrov on Monday."
    rec["published"] = "2025-06-11"
    path.write_text(json.dumps(rec) + "\nnot json\n[1, 2]\n", encoding="utf-8")
    records, problems = read_jsonl(path)
    assert len(records) == 1 and len(problems) == 2
    out = subprocess.run(
        [sys.executable, "-m", "sinorus.cli", "eval", str(path), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(out.stdout)
    for key in (
        "articles",
        "gold",
        "predicted",
        "precision",
        "recall",
        "f1",
        "by_type",
        "relevance",
        "status_accuracy",
        "date_accuracy",
        "level_accuracy",
        "clustering",
        "alerts",
        "seconds",
        "by_lang",
    ):
        assert key in result
    assert result["recall"] == 1.0
    assert result["date_accuracy"] == 1.0
    assert "line 2" in out.stderr
    table = subprocess.run(
        [sys.executable, "-m", "sinorus.cli", "eval", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "precision" in table.stdout and "misses (0)" in table.stdout
