"""Measure the detector, clustering and alert rule on a labelled JSONL corpus."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sinorus import settings
from sinorus.cluster import EventRecord, cluster, summarize
from sinorus.detect.model import LEVEL_RANK, TYPES, Mention

BACKGROUND_DAYS = 21


# The default alert rule; identical to the first rule of data/alerts.yaml.
def _shipped_rule() -> dict[str, Any]:
    """The first rule of the shipped data/alerts.yaml: what "the default alert rule" means."""
    doc = settings.parse_yaml((settings.DATA_DIR / "alerts.yaml").read_text(encoding="utf-8"))
    rule: dict[str, Any] = {"background": False} | dict(doc["rules"][0])
    return rule


DEFAULT_ALERT_RULE = _shipped_rule()
ALERTABLE_GOLD_LEVELS = frozenset({"head_of_state", "head_of_government", "minister"})

Detect = Callable[..., list[Mention]]
Canon = Callable[[str], str | None]


def alert_rule_matches(event: EventRecord, rule: dict[str, Any] | None = None) -> bool:
    """Whether an event alerts under a rule (types, min_level, statuses, background)."""
    rule = rule or DEFAULT_ALERT_RULE
    types = rule.get("types")
    if types and event.type not in types:
        return False
    statuses = rule.get("statuses")
    if statuses and event.status not in statuses:
        return False
    if not rule.get("background", False) and event.background:
        return False
    min_level = rule.get("min_level")
    if min_level:
        if event.level not in LEVEL_RANK:
            return False
        if LEVEL_RANK[event.level] > LEVEL_RANK.get(str(min_level), len(LEVEL_RANK)):
            return False
    return True


def _ratio(num: int, den: int) -> float:
    return round(num / den, 3) if den else 0.0


def _f1(p: float, r: float) -> float:
    return round(2 * p * r / (p + r), 3) if p + r else 0.0


def _parse_date(value: Any) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


@dataclass
class _Pred:
    record: int
    mention: Mention
    published: date | None
    gold: int | None = None  # index into the record's events (matched)
    duplicate_of: int | None = None  # gold index it repeats (neither right nor wrong)


@dataclass
class _Outcome:
    preds: list[_Pred] = field(default_factory=list)
    gold_matched: dict[tuple[int, int], int] = field(default_factory=dict)  # -> pred index


def _canon_factory() -> Canon:
    try:
        from sinorus.detect.actors import default_gazetteer

        gaz = default_gazetteer()
        return gaz.canonical_person
    except ImportError:  # the gazetteer module is absent: compare names as written
        return lambda name: None


def _person_keys(names: Iterable[tuple[str | None, str | None]], canon: Canon) -> set[str]:
    out: set[str] = set()
    for pid, name in names:
        if pid:
            out.add(pid)
        elif name:
            out.add(canon(name) or name.strip().lower())
    return out


def _match_record(
    gold: list[dict[str, Any]], preds: list[_Pred], canon: Canon
) -> list[tuple[int, int]]:
    """Greedy one-to-one matching, best participant overlap first."""
    gold_people = [
        _person_keys(((None, p.get("name")) for p in g.get("participants") or []), canon)
        for g in gold
    ]
    pairs: list[tuple[int, int, int, int]] = []
    for pi, pred in enumerate(preds):
        m = pred.mention
        mine = _person_keys(((p.person_id, p.name) for p in m.participants), canon)
        for gi, g in enumerate(gold):
            if g.get("type") != m.type:
                continue
            overlap = len(mine & gold_people[gi])
            if gold_people[gi] and not overlap:
                continue
            bonus = int(g.get("status") == m.status) + int(
                _parse_date(g.get("date")) == m.event_date
            )
            pairs.append((overlap, bonus, pi, gi))
    pairs.sort(key=lambda t: (-t[0], -t[1], t[2], t[3]))
    used_p: set[int] = set()
    used_g: set[int] = set()
    matched: list[tuple[int, int]] = []
    for _, _, pi, gi in pairs:
        if pi in used_p or gi in used_g:
            continue
        used_p.add(pi)
        used_g.add(gi)
        matched.append((pi, gi))
    # Repeats of a matched event inside the record count once: mark them as duplicates.
    for _, _, pi, gi in pairs:
        if pi not in used_p and gi in used_g and preds[pi].duplicate_of is None:
            preds[pi].duplicate_of = gi
    return matched


def evaluate(
    records: list[dict[str, Any]],
    *,
    detect: Detect | None = None,
    canon: Canon | None = None,
    rule: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run the detector over labelled records and compute every metric (see eval/README)."""
    if detect is None:
        from sinorus.detect.detector import detect as default_detect

        detect = default_detect
    canon = canon or _canon_factory()
    started = time.perf_counter()
    preds: list[_Pred] = []
    errors: list[str] = []
    per_record: list[list[int]] = []
    for ri, rec in enumerate(records):
        published = _parse_date(rec.get("published"))
        try:
            mentions = detect(
                rec.get("text") or "",
                lang=rec.get("lang"),
                published=published,
                title=rec.get("title"),
            )
        except Exception as exc:
            errors.append(f"{rec.get('id', ri)}: {type(exc).__name__}: {exc}")
            mentions = []
        idx: list[int] = []
        for m in mentions:
            if m.background or (
                published and m.event_date and m.event_date < published - timedelta(BACKGROUND_DAYS)
            ):
                continue  # background: ignored by the evaluation
            idx.append(len(preds))
            preds.append(_Pred(ri, m, published))
        per_record.append(idx)
    seconds = time.perf_counter() - started

    # -- matching, per record --
    gold_total = 0
    for ri, rec in enumerate(records):
        gold = list(rec.get("events") or [])
        gold_total += len(gold)
        mine = [preds[i] for i in per_record[ri]]
        for pi, gi in _match_record(gold, mine, canon):
            mine[pi].gold = gi
    counted = [p for p in preds if p.gold is not None or p.duplicate_of is None]
    matched = [p for p in preds if p.gold is not None]

    def gold_of(p: _Pred) -> dict[str, Any]:
        gi = p.gold if p.gold is not None else p.duplicate_of
        assert gi is not None
        return dict(records[p.record]["events"][gi])

    precision = _ratio(len(matched), len(counted))
    recall = _ratio(len(matched), gold_total)

    by_type: dict[str, dict[str, Any]] = {}
    gold_types = Counter(e.get("type") for r in records for e in r.get("events") or [])
    for t in TYPES:
        pt = [p for p in counted if p.mention.type == t]
        mt = [p for p in matched if p.mention.type == t]
        if not pt and not gold_types.get(t):
            continue
        tp, tr = _ratio(len(mt), len(pt)), _ratio(len(mt), gold_types.get(t, 0))
        by_type[t] = {
            "precision": tp,
            "recall": tr,
            "f1": _f1(tp, tr),
            "support": gold_types.get(t, 0),
        }

    by_lang: dict[str, dict[str, Any]] = {}
    langs = sorted({str(r.get("lang") or "?") for r in records})
    for lang in langs:
        rs = {i for i, r in enumerate(records) if str(r.get("lang") or "?") == lang}
        pl = [p for p in counted if p.record in rs]
        ml = [p for p in matched if p.record in rs]
        gl = sum(len(records[i].get("events") or []) for i in rs)
        lp, lr = _ratio(len(ml), len(pl)), _ratio(len(ml), gl)
        by_lang[lang] = {
            "precision": lp,
            "recall": lr,
            "f1": _f1(lp, lr),
            "support": gl,
            "articles": len(rs),
        }

    pred_relevant = {p.record for p in counted}
    gold_relevant = {
        i for i, r in enumerate(records) if r.get("relevant") or (r.get("events") or [])
    }
    relevance = {
        "precision": _ratio(len(pred_relevant & gold_relevant), len(pred_relevant)),
        "recall": _ratio(len(pred_relevant & gold_relevant), len(gold_relevant)),
    }

    def accuracy(key: str, value: Callable[[Mention], Any]) -> float:
        pairs = [(gold_of(p).get(key), value(p.mention)) for p in matched]
        pairs = [(g, v) for g, v in pairs if g is not None]
        return _ratio(sum(1 for g, v in pairs if str(g) == str(v)), len(pairs))

    status_accuracy = accuracy("status", lambda m: m.status)
    date_accuracy = accuracy("date", lambda m: m.event_date.isoformat() if m.event_date else None)
    level_accuracy = accuracy("level", lambda m: m.level)

    # -- clustering over the whole file --
    groups = cluster([(p.mention, p.published) for p in preds])
    group_of = {i: g for g, members in enumerate(groups) for i in members}
    m_idx = [i for i, p in enumerate(preds) if p.gold is not None]
    same_pred = same_gold = both = 0
    for a_pos, a in enumerate(m_idx):
        ga = gold_of(preds[a]).get("event_id")
        for b in m_idx[a_pos + 1 :]:
            sp = group_of[a] == group_of[b]
            sg = ga is not None and ga == gold_of(preds[b]).get("event_id")
            same_pred += sp
            same_gold += sg
            both += sp and sg
    cp, cr = _ratio(both, same_pred), _ratio(both, same_gold)
    clustering = {"precision": cp, "recall": cr, "f1": _f1(cp, cr)}

    # -- alerts --
    gold_level: dict[str, str | None] = {}
    gold_type: dict[str, str] = {}
    for r in records:
        for e in r.get("events") or []:
            eid = e.get("event_id")
            if eid is None:
                continue
            gold_type[eid] = e.get("type")
            if e.get("level") or eid not in gold_level:
                gold_level[eid] = e.get("level") or gold_level.get(eid)
    alertable = {
        eid
        for eid, t in gold_type.items()
        if t in ("meeting", "call") and gold_level.get(eid) in ALERTABLE_GOLD_LEVELS
    }
    events = [summarize([preds[i].mention for i in g]) for g in groups]
    sent = right = 0
    covered: set[str] = set()
    alert_log: list[dict[str, Any]] = []
    for g, members in enumerate(groups):
        event = events[g]
        if not alert_rule_matches(event, rule):
            continue
        sent += 1
        ids = Counter(
            gold_of(preds[i]).get("event_id")
            for i in members
            if preds[i].gold is not None or preds[i].duplicate_of is not None
        )
        top, n = ids.most_common(1)[0] if ids else (None, 0)
        ok = bool(top) and n * 2 > len(members) and top in alertable and top not in covered
        if ok and top:
            right += 1
            covered.add(top)
        alert_log.append(
            {
                "headline": event.headline,
                "gold": top,
                "right": ok,
                "reports": [
                    f"{records[preds[i].record].get('id')}: {preds[i].mention.evidence[:160]}"
                    for i in members
                ],
            }
        )
    alerts = {
        "precision": _ratio(right, sent),
        "recall": _ratio(len(covered & alertable), len(alertable)),
        "sent": sent,
        "expected": len(alertable),
    }

    misses = []
    for ri, rec in enumerate(records):
        hit = {p.gold for p in preds if p.record == ri and p.gold is not None}
        for gi, e in enumerate(rec.get("events") or []):
            if gi not in hit:
                misses.append(
                    {
                        "id": rec.get("id"),
                        "lang": rec.get("lang"),
                        "type": e.get("type"),
                        "event_id": e.get("event_id"),
                        "evidence": e.get("evidence"),
                    }
                )
    false_alarms = [
        {
            "id": records[p.record].get("id"),
            "lang": records[p.record].get("lang"),
            "type": p.mention.type,
            "status": p.mention.status,
            "people": [x.name for x in p.mention.participants],
            "evidence": p.mention.evidence,
        }
        for p in counted
        if p.gold is None
    ]
    return {
        "articles": len(records),
        "gold": gold_total,
        "predicted": len(counted),
        "matched": len(matched),
        "precision": precision,
        "recall": recall,
        "f1": _f1(precision, recall),
        "by_type": by_type,
        "by_lang": by_lang,
        "relevance": relevance,
        "status_accuracy": status_accuracy,
        "date_accuracy": date_accuracy,
        "level_accuracy": level_accuracy,
        "clustering": clustering,
        "alerts": alerts,
        "events": len(groups),
        "errors": errors,
        "seconds": round(seconds, 3),
        "misses": misses,
        "false_alarms": false_alarms,
        "alert_log": alert_log,
    }


def read_jsonl(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Records of a JSONL file, and a message for every line that is not a JSON object."""
    records: list[dict[str, Any]] = []
    problems: list[str] = []
    with path.open(encoding="utf-8", errors="replace") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(f"line {n}: not JSON ({exc.msg})")
                continue
            if not isinstance(obj, dict):
                problems.append(f"line {n}: not a JSON object")
                continue
            records.append(obj)
    return records, problems


def _table(result: dict[str, Any]) -> str:
    lines = [
        f"articles {result['articles']}   gold {result['gold']}   predicted {result['predicted']}"
        f"   matched {result['matched']}   events {result['events']}   {result['seconds']} s",
        f"precision {result['precision']:.3f}   recall {result['recall']:.3f}"
        f"   f1 {result['f1']:.3f}",
        f"relevance precision {result['relevance']['precision']:.3f}"
        f"   recall {result['relevance']['recall']:.3f}",
        f"status accuracy {result['status_accuracy']:.3f}   date accuracy "
        f"{result['date_accuracy']:.3f}   level accuracy {result['level_accuracy']:.3f}",
        "clustering precision {precision:.3f}   recall {recall:.3f}   f1 {f1:.3f}".format(
            **result["clustering"]
        ),
        "alerts precision {precision:.3f}   recall {recall:.3f}   sent {sent}   expected "
        "{expected}".format(**result["alerts"]),
        "",
        f"{'type':<10} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>7}",
    ]
    for t, v in result["by_type"].items():
        lines.append(
            f"{t:<10} {v['precision']:>9.3f} {v['recall']:>7.3f} {v['f1']:>6.3f} {v['support']:>7}"
        )
    lines.append("")
    lines.append(f"{'lang':<10} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>7}")
    for t, v in result["by_lang"].items():
        lines.append(
            f"{t:<10} {v['precision']:>9.3f} {v['recall']:>7.3f} {v['f1']:>6.3f} {v['support']:>7}"
        )
    lines.append("")
    lines.append(f"misses ({len(result['misses'])}):")
    for m in result["misses"]:
        lines.append(f"  [{m['id']}] {m['type']} {m['event_id']}: {m['evidence']}")
    lines.append(f"false alarms ({len(result['false_alarms'])}):")
    for m in result["false_alarms"]:
        who = ", ".join(m["people"]) or "-"
        lines.append(f"  [{m['id']}] {m['type']}/{m['status']} ({who}): {m['evidence']}")
    wrong = [a for a in result["alert_log"] if not a["right"]]
    lines.append(f"wrong alerts ({len(wrong)}):")
    for a in wrong:
        lines.append(f"  {a['headline']} (gold: {a['gold']})")
        lines.extend(f"      {r}" for r in a["reports"])
    if result["errors"]:
        lines.append(f"errors ({len(result['errors'])}):")
        lines.extend(f"  {e}" for e in result["errors"])
    return "\n".join(lines)


def cli(args: argparse.Namespace) -> int:
    """`sinorus eval FILE.jsonl [--json]`."""
    path = Path(args.file)
    try:
        records, problems = read_jsonl(path)
    except OSError as exc:
        print(f"sinorus eval: cannot read {path}: {exc}", file=sys.stderr)
        return 2
    for p in problems:
        print(f"sinorus eval: {path}: {p}", file=sys.stderr)
    result = evaluate(records)
    if getattr(args, "json", False):
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(_table(result))
    return 0
