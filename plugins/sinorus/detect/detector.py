"""Find China–Russia cooperation events in one article: triggers × actors of both sides."""

from __future__ import annotations

import argparse
import bisect
import json
import sys
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import regex as re
import yaml

from sinorus.detect import dates as sdates
from sinorus.detect.actors import ActorMention, Gazetteer, default_gazetteer
from sinorus.detect.model import (
    LEVEL_RANK,
    Mention,
    Participant,
    lower_side_level,
)
from sinorus.detect.text import Sentence, guess_lang, split_sentences
from sinorus.settings import DATA_DIR

TRIGGERS_PATH = DATA_DIR / "triggers.yaml"
BACKGROUND_DAYS = 21
MIN_CONFIDENCE = 0.5
# Characters before a trigger searched for a status cue ("will", "is expected to", "将").
CUE_WINDOW = 60
CUE_WINDOW_CJK = 14
# Meeting triggers too weak to stand alone inside a multilateral frame ("the SCO summit").
WEAK_MEETING = re.compile(
    r"^(?:summit\w*|meetings?|visit\w*|state visit|arriv\w+|travel\w*\s+to|heads?\s+(?:east\s+)?to"
    r"|discussions?|саммит\w*|визит\w*|посет\w*|посещени\w*|прибыл\w*|прибуд\w*|диалог\w*"
    r"|峰会|峰會|访问|訪問|抵达|抵達|cumbre\w*|visita\w*|vertice)$",
    re.IGNORECASE,
)
PERSON_KINDS = frozenset({"person", "role", "titled"})
_LATIN_OR_CYR = re.compile(r"^[\p{Latin}\p{Cyrillic}]")


def _compile(patterns: list[str]) -> str:
    """One alternation; Latin/Cyrillic patterns start at a word boundary."""
    parts = []
    for p in patterns:
        p = str(p)
        parts.append(rf"(?<![\p{{L}}\p{{N}}])(?:{p})" if _LATIN_OR_CYR.match(p) else f"(?:{p})")
    return "|".join(parts)


def _lang_patterns(block: dict[str, Any] | None) -> list[str]:
    if not block:
        return []
    out: list[str] = []
    for pats in block.values():
        out.extend(str(p) for p in pats or [])
    return out


def _union(block: dict[str, Any] | None) -> re.Pattern[str] | None:
    pats = _lang_patterns(block)
    if not pats:
        return None
    # Longest alternatives first so "held talks" wins over "talks".
    pats.sort(key=len, reverse=True)
    return re.compile(_compile(pats), re.IGNORECASE | re.VERSION1)


@dataclass
class Rules:
    """The trigger lexicons, compiled once."""

    triggers: re.Pattern[str]
    group_type: dict[str, str]
    type_as: dict[str, str]
    cameo: dict[str, str]
    plover: dict[str, str]
    deal_words: re.Pattern[str] | None
    meeting_cameo: list[tuple[str, re.Pattern[str]]]
    planned: re.Pattern[str] | None
    held: re.Pattern[str] | None
    cancelled: re.Pattern[str] | None
    postponed: re.Pattern[str] | None
    background: re.Pattern[str] | None
    dyad: list[tuple[str, re.Pattern[str]]]
    dyad_roles: dict[str, dict[str, str]]
    third_parties: re.Pattern[str] | None
    multilateral: re.Pattern[str] | None
    negative: re.Pattern[str] | None
    companies: dict[str, re.Pattern[str]]
    locations: list[tuple[str, re.Pattern[str]]] = field(default_factory=list)


def load_rules(path: Path | None = None) -> Rules:
    """Compile triggers.yaml (the shipped one unless a path is given)."""
    data = yaml.safe_load((path or TRIGGERS_PATH).read_text(encoding="utf-8"))
    groups: list[str] = []
    group_type: dict[str, str] = {}
    type_as: dict[str, str] = {}
    cameo: dict[str, str] = {}
    plover: dict[str, str] = {}
    for i, (name, spec) in enumerate(data["types"].items()):
        pats = _lang_patterns(spec.get("triggers"))
        pats.sort(key=len, reverse=True)
        gname = f"t{i}"
        groups.append(f"(?P<{gname}>{_compile(pats)})")
        group_type[gname] = name
        type_as[name] = spec.get("as", name)
        cameo[name] = str(spec.get("cameo", ""))
        plover[name] = str(spec.get("plover", ""))
    econ = data["types"].get("economic", {})
    return Rules(
        triggers=re.compile("|".join(groups), re.IGNORECASE | re.VERSION1),
        group_type=group_type,
        type_as=type_as,
        cameo=cameo,
        plover=plover,
        deal_words=_union(econ.get("deal_words")),
        meeting_cameo=[
            (str(code), pat)
            for code, block in (data.get("meeting_cameo") or {}).items()
            if (pat := _union(block)) is not None
        ],
        planned=_union(data.get("planned")),
        held=_union(data.get("held")),
        cancelled=_union(data.get("cancelled")),
        postponed=_union(data.get("postponed")),
        background=_union(data.get("background")),
        dyad=[
            (str(level), pat)
            for level, block in (data.get("dyad_phrases") or {}).items()
            if (pat := _union(block)) is not None
        ],
        dyad_roles={str(k): dict(v) for k, v in (data.get("dyad_roles") or {}).items()},
        third_parties=_union(data.get("third_parties")),
        multilateral=_union(data.get("multilateral")),
        negative=_union(data.get("negative_topics")),
        companies={
            str(c): pat
            for c, pats in (data.get("companies") or {}).items()
            if (pat := _union({"x": pats})) is not None
        },
        locations=[
            (str(city), pat)
            for city, block in (data.get("locations") or {}).items()
            if (pat := _union(block)) is not None
        ],
    )


@lru_cache(maxsize=1)
def default_rules() -> Rules:
    """The shipped rules, compiled once per process."""
    return load_rules()


@dataclass
class _Trigger:
    start: int
    end: int
    type: str  # the lexicon entry ("conversation" included)
    text: str


@dataclass
class _Doc:
    text: str
    lang: str
    published: date | None
    sentences: list[Sentence]
    starts: list[int]
    actors: list[ActorMention]
    actor_starts: list[int]
    phone_context: bool
    title_end: int  # end of the title sentence within text (0 when no title)


def _sentence_index(starts: list[int], pos: int) -> int:
    return max(0, bisect.bisect_right(starts, pos) - 1)


def _actors_in(doc: _Doc, s: Sentence) -> list[ActorMention]:
    lo = bisect.bisect_left(doc.actor_starts, s.start)
    hi = bisect.bisect_left(doc.actor_starts, s.end)
    return [a for a in doc.actors[lo:hi] if a.end <= s.end]


def _side(a: ActorMention) -> set[str]:
    if a.country == "CNRU":
        return {"CN", "RU"}
    return {a.country} if a.country in ("CN", "RU") else set()


def _is_person(a: ActorMention) -> bool:
    return a.kind in PERSON_KINDS and bool(a.person_id or a.name)


def _participant(a: ActorMention) -> Participant:
    return Participant(
        name=a.name or a.text,
        person_id=a.person_id,
        country=a.country,
        role=a.role,
        title=a.title,
        level=a.level,
    )


def _nearest(actors: list[ActorMention], country: str, pos: int) -> ActorMention | None:
    best: ActorMention | None = None
    best_d = 1 << 30
    for a in actors:
        if a.country != country or not _is_person(a):
            continue
        d = pos - a.end if a.end <= pos else a.start - pos
        if d < best_d:
            best, best_d = a, d
    return best


def _cue_before(pat: re.Pattern[str] | None, text: str, pos: int, window: int) -> bool:
    if pat is None:
        return False
    lo = max(0, pos - window)
    # The clause only: stop at the last sentence-internal break before the trigger.
    seg = text[lo:pos]
    for stop in (";", "—", " – ", "。", "，", "、"):
        k = seg.rfind(stop)
        if k >= 0:
            seg = seg[k + len(stop) :]
    return pat.search(seg) is not None


def _clause_before(text: str, lo: int, hi: int) -> str:
    seg = text[lo:hi]
    for stop in (";", "—", " – ", "。", "；"):
        k = seg.rfind(stop)
        if k >= 0:
            seg = seg[k + len(stop) :]
    return seg


def _last_match(pat: re.Pattern[str] | None, seg: str) -> int:
    """End of the last match of pat in seg, or -1."""
    if pat is None:
        return -1
    last = -1
    for m in pat.finditer(seg):
        last = m.end()
    return last


def _cue_near(pat: re.Pattern[str] | None, text: str, start: int, end: int, window: int) -> bool:
    if pat is None:
        return False
    return pat.search(text, max(0, start - window), min(len(text), end + window)) is not None


@dataclass
class _Candidate:
    type: str
    status: str
    sentence: Sentence
    participants: list[Participant]
    spans: list[tuple[int, int]]
    confidence: float
    trigger: _Trigger
    countries: frozenset[str]


def _resolve_dyad(
    gaz: Gazetteer, rules: Rules, kind: str, lang: str, on: date | None
) -> list[Participant]:
    """Office holders of both sides for a dyad phrase such as "the two leaders"."""
    roles = rules.dyad_roles.get(kind)
    if not roles:
        return []
    out: list[Participant] = []
    for country, phrase in roles.items():
        for a in gaz.find(phrase, "en", on):
            if a.country == country and a.person_id:
                out.append(_participant(a))
                break
    return out


class Detector:
    """Detects events; holds the compiled rules and the gazetteer."""

    def __init__(self, rules: Rules | None = None, gazetteer: Gazetteer | None = None) -> None:
        self.rules = rules or default_rules()
        self.gaz = gazetteer or default_gazetteer()

    def detect(
        self,
        text: str,
        *,
        lang: str | None,
        published: date | None,
        title: str | None = None,
    ) -> list[Mention]:
        """All China–Russia events the article reports, one mention per event."""
        if not isinstance(text, str):
            return []
        title = (title or "").strip()
        body = text or ""
        head = body[: len(title) + 400]
        doc_text = body if not title or title in head else f"{title}\n\n{body}"
        if not doc_text.strip():
            return []
        lang = (lang or guess_lang(doc_text)).lower()[:2]
        rules = self.rules
        triggers = [
            _Trigger(m.start(), m.end(), rules.group_type[m.lastgroup], m.group(0))
            for m in rules.triggers.finditer(doc_text)
            if m.lastgroup
        ]
        if not triggers:
            return []
        sentences = split_sentences(doc_text)
        if not sentences:
            return []
        starts = [s.start for s in sentences]
        actors = sorted(self.gaz.find(doc_text, lang, published), key=lambda a: a.start)
        title_end = 0
        if title:
            k = doc_text.find(title)
            title_end = k + len(title) if k >= 0 else 0
        doc = _Doc(
            text=doc_text,
            lang=lang,
            published=published,
            sentences=sentences,
            starts=starts,
            actors=actors,
            actor_starts=[a.start for a in actors],
            phone_context=any(t.type == "call" for t in triggers),
            title_end=title_end,
        )
        by_sentence: dict[int, list[_Trigger]] = {}
        for t in triggers:
            by_sentence.setdefault(_sentence_index(starts, t.start), []).append(t)
        mentions: list[Mention] = []
        for idx, trig in by_sentence.items():
            for cand in self._sentence_candidates(doc, idx, trig):
                mention = self._finish(doc, cand)
                if mention is not None:
                    mentions.append(mention)
        return merge_mentions(mentions)

    # -- one sentence ----------------------------------------------------------------------

    def _sentence_candidates(
        self, doc: _Doc, idx: int, triggers: list[_Trigger]
    ) -> list[_Candidate]:
        rules = self.rules
        s = doc.sentences[idx]
        actors = _actors_in(doc, s)
        sides: set[str] = set()
        for a in actors:
            sides |= _side(a)
        dyad_kind: str | None = None
        dyad_span: tuple[int, int] | None = None
        for kind, pat in rules.dyad:
            m = pat.search(doc.text, s.start, s.end)
            if m:
                dyad_kind, dyad_span = kind, (m.start(), m.end())
                break
        if dyad_kind:
            sides |= {"CN", "RU"}
        if sides != {"CN", "RU"}:
            return []
        negative = rules.negative is not None and rules.negative.search(doc.text, s.start, s.end)
        third = (
            list(rules.third_parties.finditer(doc.text, s.start, s.end))
            if rules.third_parties
            else []
        )
        multilateral = rules.multilateral is not None and rules.multilateral.search(
            doc.text, s.start, s.end
        )
        companies = {
            c: bool(p.search(doc.text, s.start, s.end)) for c, p in rules.companies.items()
        }
        types_here = {t.type for t in triggers}
        out: list[_Candidate] = []
        seen: set[tuple[str, frozenset[str]]] = set()
        for trig in triggers:
            etype = rules.type_as.get(trig.type, trig.type)
            if trig.type == "conversation" and doc.phone_context:
                etype = "call"
            if etype in ("meeting", "call"):
                cand = self._contact(doc, idx, s, actors, trig, etype, dyad_kind, dyad_span, third)
                if cand is None:
                    continue
                if (
                    etype == "meeting"
                    and multilateral
                    and all(WEAK_MEETING.match(t.text.strip()) for t in triggers)
                ):
                    continue
                if negative:
                    cand.confidence -= 0.25
            else:
                if negative:
                    continue
                if etype == "agreement" and ("policy" in types_here):
                    continue
                if etype == "agreement" and "economic" in types_here and any(companies.values()):
                    continue
                if etype == "economic":
                    if not any(companies.values()) and "agreement" in types_here:
                        continue
                    if rules.deal_words is None or not rules.deal_words.search(
                        doc.text, s.start, s.end
                    ):
                        continue
                if etype == "military" and third:
                    continue
                cand = self._measure(doc, s, actors, trig, etype, dyad_span, companies)
                if cand is None:
                    continue
            key = (cand.type, frozenset(p.person_id or p.name for p in cand.participants))
            if key in seen:
                continue
            seen.add(key)
            out.append(cand)
        return out

    def _status(self, doc: _Doc, s: Sentence, trig: _Trigger) -> str:
        rules = self.rules
        if _cue_near(rules.cancelled, doc.text, trig.start, trig.end, 40):
            return "cancelled"
        if _cue_near(rules.postponed, doc.text, trig.start, trig.end, 40):
            return "postponed"
        window = CUE_WINDOW_CJK if doc.lang in ("zh", "ja") else CUE_WINDOW
        seg = _clause_before(doc.text, max(s.start, trig.start - window), trig.end)
        planned = _last_match(rules.planned, seg)
        held = _last_match(rules.held, seg)
        # The cue nearest the trigger decides ("met on Monday, will visit" -> planned visit).
        if planned > held:
            return "planned"
        return "held"

    def _contact(
        self,
        doc: _Doc,
        idx: int,
        s: Sentence,
        actors: list[ActorMention],
        trig: _Trigger,
        etype: str,
        dyad_kind: str | None,
        dyad_span: tuple[int, int] | None,
        third: list[Any],
    ) -> _Candidate | None:
        """A meeting or call: a person of each side, attached to this trigger."""
        confidence = 0.9
        spans: list[tuple[int, int]] = [(trig.start, trig.end)]
        picked: dict[str, ActorMention] = {}
        for country in ("CN", "RU"):
            a = _nearest(actors, country, trig.start)
            if a is not None:
                picked[country] = a
        # A third party as the trigger's subject with only one of our sides: their meeting.
        if third and len(picked) < 2:
            first_third = min(m.start() for m in third)
            if first_third < trig.start and not any(a.start < trig.start for a in picked.values()):
                return None
        participants = [_participant(a) for a in picked.values()]
        spans.extend((a.start, a.end) for a in picked.values())
        missing = [c for c in ("CN", "RU") if c not in picked]
        if missing and dyad_kind in self.rules.dyad_roles:
            on = doc.published
            resolved = [
                p
                for p in _resolve_dyad(self.gaz, self.rules, dyad_kind or "", doc.lang, on)
                if p.country in missing
            ]
            participants.extend(resolved)
            if dyad_span:
                spans.append(dyad_span)
            missing = [c for c in missing if c not in {p.country for p in resolved}]
            confidence -= 0.1
        if missing:
            borrowed = self._borrow(doc, idx, missing)
            if len(borrowed) < len(missing):
                return None
            participants.extend(borrowed)
            confidence -= 0.2 if len(missing) == 1 else 0.3
        if third:
            # A third party in the sentence: still ours only when both sides are named here.
            confidence -= 0.05
        status = self._status(doc, s, trig)
        return _Candidate(
            type=etype,
            status=status,
            sentence=s,
            participants=participants,
            spans=spans,
            confidence=confidence,
            trigger=trig,
            countries=frozenset({"CN", "RU"}),
        )

    def _borrow(self, doc: _Doc, idx: int, missing: list[str]) -> list[Participant]:
        """Persons of the missing sides from the neighbouring sentences or the title."""
        out: list[Participant] = []
        order = [idx - 1, idx + 1]
        if doc.title_end:
            order.append(0)
        for country in missing:
            for j in order:
                if not 0 <= j < len(doc.sentences):
                    continue
                found = [
                    a
                    for a in _actors_in(doc, doc.sentences[j])
                    if a.country == country and _is_person(a)
                ]
                if found:
                    out.append(_participant(found[0]))
                    break
        return out

    def _measure(
        self,
        doc: _Doc,
        s: Sentence,
        actors: list[ActorMention],
        trig: _Trigger,
        etype: str,
        dyad_span: tuple[int, int] | None,
        companies: dict[str, bool],
    ) -> _Candidate | None:
        """Agreement, military, policy or economic: both sides at any level, persons optional."""
        participants: list[Participant] = []
        spans: list[tuple[int, int]] = [(trig.start, trig.end)]
        seen: set[str] = set()
        for a in actors:
            spans.append((a.start, a.end))
            if _is_person(a) and a.country in ("CN", "RU"):
                key = a.person_id or a.name or a.text
                if key not in seen:
                    seen.add(key)
                    participants.append(_participant(a))
        if dyad_span:
            spans.append(dyad_span)
        persons_sides = {p.country for p in participants}
        confidence = 0.85 if persons_sides == {"CN", "RU"} else 0.7
        if etype == "economic" and any(companies.values()):
            confidence = max(confidence, 0.75)
        status = self._status(doc, s, trig)
        return _Candidate(
            type=etype,
            status=status if status in ("held", "planned") else "held",
            sentence=s,
            participants=participants,
            spans=spans,
            confidence=confidence,
            trigger=trig,
            countries=frozenset({"CN", "RU"}),
        )

    # -- from candidate to mention ----------------------------------------------------------

    def _finish(self, doc: _Doc, cand: _Candidate) -> Mention | None:
        rules = self.rules
        s = cand.sentence
        text = doc.text
        status = cand.status
        prefer = "future" if status == "planned" else "past"
        found = sdates.find_dates(s.text, doc.lang, doc.published, prefer=prefer)
        trig_rel = cand.trigger.start - s.start
        best: sdates.DateMention | None = None
        if found:
            best = min(
                found,
                key=lambda d: d.start - trig_rel if d.start >= trig_rel else trig_rel - d.end,
            )
        event_date = best.date if best else None
        event_end = best.end_date if best and best.end_date and best.end_date != best.date else None
        date_text = best.text if best else None
        pub = doc.published
        if pub and best:
            last = best.end_date or best.date
            if status == "held" and best.date > pub and best.precision == "day":
                status = "planned"
            elif (
                status == "planned"
                and last < pub - timedelta(days=1)
                and not _cue_before(rules.planned, s.text, trig_rel, CUE_WINDOW)
            ):
                status = "held"
        if event_date is None and status == "held" and pub is not None:
            event_date = pub
        background = bool(pub and event_date and event_date < pub - timedelta(days=BACKGROUND_DAYS))
        if rules.background is not None and rules.background.search(
            text, max(s.start, cand.trigger.start - 80), min(s.end, cand.trigger.end + 40)
        ):
            if best is None:
                return None
            if pub is None or best.date < pub - timedelta(days=2):
                background = True
        confidence = max(0.0, min(1.0, cand.confidence))
        if confidence < MIN_CONFIDENCE:
            return None
        location = self._location(text, s, cand.trigger)
        rnd = sdates.find_round(s.text, doc.lang)
        if rnd is None and doc.title_end:
            rnd_title = sdates.find_round(text[: doc.title_end], doc.lang)
            if rnd_title is not None and cand.type in ("meeting", "agreement"):
                rnd = rnd_title
        cameo = rules.cameo.get(cand.type, "")
        if cand.type == "meeting":
            for code, pat in rules.meeting_cameo:
                if pat.search(text, s.start, s.end):
                    cameo = code
                    break
        participants = _dedupe(cand.participants)
        highlights = sorted(
            {(a - s.start, b - s.start) for a, b in cand.spans if s.start <= a < b <= s.end}
        )
        return Mention(
            type=cand.type,
            status=status,
            event_date=event_date,
            date_text=date_text,
            location=location,
            participants=participants,
            level=lower_side_level(participants),
            round=rnd,
            evidence=s.text,
            highlights=highlights,
            confidence=round(confidence, 3),
            cameo=cameo,
            plover=rules.plover.get(cand.type, ""),
            background=background,
            countries=cand.countries,
            event_end=event_end,
        )

    def _location(self, text: str, s: Sentence, trig: _Trigger) -> str | None:
        best: tuple[int, str] | None = None
        for city, pat in self.rules.locations:
            for m in pat.finditer(text, s.start, s.end):
                d = abs(m.start() - trig.start)
                if best is None or d < best[0]:
                    best = (d, city)
        return best[1] if best else None


def _dedupe(participants: list[Participant]) -> list[Participant]:
    out: list[Participant] = []
    seen: set[str] = set()
    for p in participants:
        key = p.person_id or p.name
        if key in seen:
            continue
        seen.add(key)
        out.append(p)
    # China first, then Russia; within a side, the highest level first.
    out.sort(key=lambda p: (p.country != "CN", LEVEL_RANK.get(p.level or "", 9)))
    return out


def _compatible(a: Mention, b: Mention) -> bool:
    if a.type != b.type:
        return False
    pa, pb = a.person_ids, b.person_ids
    if pa and pb and not (pa & pb):
        return False
    if a.event_date and b.event_date and abs((a.event_date - b.event_date).days) > 3:
        return False
    if a.status == b.status:
        return True
    # A planned and a held report of one contact: only when dated close together.
    return bool(a.event_date and b.event_date)


def merge_mentions(mentions: list[Mention]) -> list[Mention]:
    """Several mentions of one event in one article become one (the strongest evidence)."""
    groups: list[list[Mention]] = []
    for m in mentions:
        for g in groups:
            if all(_compatible(m, other) for other in g):
                g.append(m)
                break
        else:
            groups.append([m])
    out: list[Mention] = []
    for g in groups:
        g.sort(key=lambda m: (-m.confidence, m.background))
        head = g[0]
        people = _dedupe([p for m in g for p in m.participants])
        held = [m for m in g if m.status == "held" and not m.background]
        status = head.status
        if held and status == "planned" and any(m.event_date for m in held):
            status = "held"
        out.append(
            Mention(
                type=head.type,
                status=status,
                event_date=head.event_date or next((m.event_date for m in g if m.event_date), None),
                date_text=head.date_text,
                location=head.location or next((m.location for m in g if m.location), None),
                participants=people,
                level=lower_side_level(people),
                round=head.round
                if head.round is not None
                else next((m.round for m in g if m.round is not None), None),
                evidence=head.evidence,
                highlights=head.highlights,
                confidence=min(1.0, head.confidence + 0.03 * (len(g) - 1)),
                cameo=head.cameo,
                plover=head.plover,
                background=all(m.background for m in g),
                countries=head.countries,
                event_end=head.event_end,
            )
        )
    return out


@lru_cache(maxsize=1)
def default_detector() -> Detector:
    """One detector per process (compiling the rules and the gazetteer takes a moment)."""
    return Detector()


def detect(
    text: str, *, lang: str | None, published: date | None, title: str | None = None
) -> list[Mention]:
    """China–Russia events in one article, with the default rules and gazetteer."""
    return default_detector().detect(text, lang=lang, published=published, title=title)


def _read_input(path: str) -> str:
    if path == "-":
        raw = sys.stdin.read()
    else:
        raw = Path(path).read_text(encoding="utf-8", errors="replace")
    head = raw[:2000].lower()
    if "<html" in head or "<body" in head or "<p>" in head or "<!doctype" in head:
        import trafilatura

        extracted = trafilatura.extract(raw)
        return extracted or ""
    return raw


def cli(args: argparse.Namespace) -> int:
    """`sinorus detect FILE [--published] [--lang]`: print the mentions as a JSON list."""
    try:
        text = _read_input(args.file)
    except OSError as exc:
        print(f"sinorus detect: cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    published: date | None = None
    if getattr(args, "published", None):
        try:
            published = date.fromisoformat(args.published)
        except ValueError:
            print(
                f"sinorus detect: --published must be YYYY-MM-DD, got {args.published!r}",
                file=sys.stderr,
            )
            return 2
    mentions = detect(text, lang=getattr(args, "lang", None), published=published)
    print(json.dumps([m.to_dict() for m in mentions], ensure_ascii=False, indent=2))
    return 0
