"""Group mentions of one real-world event (across outlets and languages) into events."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sinorus.detect.model import (
    LEVEL_RANK,
    Mention,
    Participant,
    lower_side_level,
    sides_agree,
)

# Two dated reports of one event may disagree by a day or two (time zones, "on Tuesday").
DATE_WINDOW = 3
# An undated report joins an event dated within this many days of its publication.
UNDATED_WINDOW = 7
# An undated announcement ("will visit soon") joins a named event at most this far ahead.
PLANNED_AHEAD = 30
STATUS_RANK = {"planned": 0, "postponed": 1, "cancelled": 2, "held": 3}
TYPE_LABEL = {
    "meeting": "Meeting",
    "call": "Call",
    "agreement": "Agreement",
    "military": "Joint military activity",
    "policy": "Policy measure",
    "economic": "Economic deal",
}


@dataclass
class EventRecord:
    """One real-world event; mirrors the `events` table."""

    type: str
    status: str
    event_date: date | None
    location: str | None
    participants: list[Participant]
    people: list[str]
    level: str | None
    round: int | None
    headline: str
    cameo: str
    plover: str
    background: bool
    mention_keys: list[Any] = field(default_factory=list)
    event_end: date | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (dates ISO)."""
        return {
            "type": self.type,
            "status": self.status,
            "event_date": self.event_date.isoformat() if self.event_date else None,
            "location": self.location,
            "participants": [p.to_dict() for p in self.participants],
            "people": list(self.people),
            "level": self.level,
            "round": self.round,
            "headline": self.headline,
            "cameo": self.cameo,
            "plover": self.plover,
            "background": self.background,
        }


def _people(x: Mention | EventRecord) -> frozenset[str]:
    return frozenset(p.person_id for p in x.participants if p.person_id)


def _span(x: Mention | EventRecord) -> tuple[date, date] | None:
    if x.event_date is None:
        return None
    end = x.event_end if x.event_end and x.event_end >= x.event_date else x.event_date
    return x.event_date, end


def _explicit(x: Mention | EventRecord) -> bool:
    """Whether the date was stated (a held report without one is dated by its publication)."""
    return not isinstance(x, Mention) or x.date_text is not None


def _gap(a: tuple[date, date], b: tuple[date, date]) -> int:
    """Days between two date ranges (0 when they overlap)."""
    if a[1] < b[0]:
        return (b[0] - a[1]).days
    if b[1] < a[0]:
        return (a[0] - b[1]).days
    return 0


def same_event(
    a: Mention | EventRecord,
    b: Mention | EventRecord,
    *,
    published_a: date | None = None,
    published_b: date | None = None,
) -> bool:
    """Whether two reports (or a report and an event) describe one real-world event."""
    if a.type != b.type:
        return False
    pa, pb = _people(a), _people(b)
    if pa and pb and not (pa & pb):
        return False
    if not sides_agree(a.participants, b.participants):
        return False
    sa, sb = _span(a), _span(b)
    if sa and sb:
        if (
            a.location
            and b.location
            and a.location != b.location
            and sa != sb
            and a.status == b.status == "held"
            and _explicit(a)
            and _explicit(b)
        ):
            return False  # Tianjin on the 31st and Beijing on the 2nd: two meetings
        return _gap(sa, sb) <= DATE_WINDOW
    # One side undated: compare the dated one with the other's publication date.
    shared = bool(pa & pb)
    for undated, dated, pub in ((a, sb, published_a), (b, sa, published_b)):
        if undated.event_date is None and dated is not None:
            if pub is None:
                return shared
            if undated.status == "planned":
                # Announced as coming: the event lies after publication, weeks ahead at most.
                ahead = PLANNED_AHEAD if shared else UNDATED_WINDOW
                return dated[1] >= pub - timedelta(days=1) and dated[0] <= pub + timedelta(
                    days=ahead
                )
            return _gap((pub - timedelta(days=UNDATED_WINDOW), pub + timedelta(days=1)), dated) == 0
    if published_a and published_b:
        return abs((published_a - published_b).days) <= UNDATED_WINDOW
    return shared


def _best_date(mentions: list[Mention]) -> tuple[date | None, date | None]:
    """The event date the most advanced reports agree on."""
    for statuses in (("held",), ("cancelled", "postponed"), ("planned",)):
        dated = [m for m in mentions if m.status in statuses and m.event_date and not m.event_end]
        if not dated:
            dated = [m for m in mentions if m.status in statuses and m.event_date]
        if dated:
            counts = Counter(m.event_date for m in dated)
            top = max(counts.items(), key=lambda kv: (kv[1], kv[0]))[0]
            ends = [m.event_end for m in dated if m.event_date == top and m.event_end]
            return top, (ends[0] if ends else None)
    return None, None


def _participants(mentions: list[Mention]) -> list[Participant]:
    seen: dict[str, Participant] = {}
    for m in mentions:
        for p in m.participants:
            key = p.person_id or p.name
            if key not in seen or (p.level and not seen[key].level):
                seen[key] = p
    out = list(seen.values())
    out.sort(key=lambda p: (p.country != "CN", LEVEL_RANK.get(p.level or "", 9), p.name))
    return out


def headline(
    type_: str, participants: list[Participant], location: str | None, day: date | None
) -> str:
    """E.g. "Meeting: Wang Yi – Sergei Shoigu, Moscow, 2 Dec 2025" (China first)."""
    cn = [p.name for p in participants if p.country == "CN"]
    ru = [p.name for p in participants if p.country == "RU"]
    who = " – ".join(x for x in (", ".join(cn[:2]) or "China", ", ".join(ru[:2]) or "Russia"))
    parts = [f"{TYPE_LABEL.get(type_, type_.title())}: {who}"]
    if location:
        parts.append(location)
    if day:
        parts.append(f"{day.day} {day.strftime('%b %Y')}")
    return ", ".join(parts)


def summarize(mentions: list[Mention]) -> EventRecord:
    """Merge the mentions of one event into its record."""
    if not mentions:
        raise ValueError("summarize needs at least one mention")
    statuses = {m.status for m in mentions if not m.background} or {m.status for m in mentions}
    status = max(statuses, key=lambda s: STATUS_RANK.get(s, 0))
    if "held" in statuses:
        status = "held"
    day, end = _best_date(mentions)
    locations = Counter(m.location for m in mentions if m.location)
    location = locations.most_common(1)[0][0] if locations else None
    people = _participants(mentions)
    rounds = Counter(m.round for m in mentions if m.round is not None)
    cameos = Counter(m.cameo for m in mentions if m.cameo)
    plovers = Counter(m.plover for m in mentions if m.plover)
    type_ = mentions[0].type
    levels = [m.level for m in mentions if m.level]
    level = lower_side_level(people) or (
        min(levels, key=lambda lv: LEVEL_RANK.get(lv, 9)) if levels else None
    )
    return EventRecord(
        type=type_,
        status=status,
        event_date=day,
        location=location,
        participants=people,
        people=sorted({p.person_id for p in people if p.person_id}),
        level=level,
        round=rounds.most_common(1)[0][0] if rounds else None,
        headline=headline(type_, people, location, day),
        cameo=cameos.most_common(1)[0][0] if cameos else "",
        plover=plovers.most_common(1)[0][0] if plovers else "",
        background=all(m.background for m in mentions),
        event_end=end,
    )


def cluster(items: list[tuple[Mention, date | None]]) -> list[list[int]]:
    """Group (mention, published) pairs into events; returns lists of indices."""
    # Dated, held reports first: they anchor events that planned and undated reports join.
    order = sorted(
        range(len(items)),
        key=lambda i: (
            items[i][0].event_date is None,
            items[i][0].status != "held",
            items[i][0].event_date or date.max,
            i,
        ),
    )
    groups: list[list[int]] = []
    records: list[EventRecord] = []
    published: list[date | None] = []
    for i in order:
        m, pub = items[i]
        best: int | None = None
        for g, rec in enumerate(records):
            if rec.type != m.type:
                continue
            if not same_event(m, rec, published_a=pub, published_b=published[g]):
                continue
            # Every member must agree too, so one vague report cannot chain two events.
            if all(
                same_event(m, items[j][0], published_a=pub, published_b=items[j][1])
                for j in groups[g]
            ):
                best = g
                break
        if best is None:
            groups.append([i])
            records.append(summarize([m]))
            published.append(pub)
        else:
            groups[best].append(i)
            records[best] = summarize([items[j][0] for j in groups[best]])
    return [sorted(g) for g in sorted(groups, key=min)]


def assign(new: list[tuple[Mention, date | None]], existing: list[EventRecord]) -> list[int | None]:
    """For each new mention, the index of the existing event it belongs to, or None."""
    out: list[int | None] = []
    for m, pub in new:
        best: tuple[int, int] | None = None
        for k, rec in enumerate(existing):
            if not same_event(m, rec, published_a=pub):
                continue
            shared = len(_people(m) & _people(rec))
            gap = 0
            sm, sr = _span(m), _span(rec)
            if sm and sr:
                gap = _gap(sm, sr)
            score = shared * 10 - gap
            if best is None or score > best[0]:
                best = (score, k)
        out.append(best[1] if best else None)
    return out
