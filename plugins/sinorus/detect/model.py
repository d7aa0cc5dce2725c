"""The mention model: one China–Russia event as one article reports it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

# Bump whenever triggers, rules or thresholds change: stored mentions carry it.
DETECTOR_VERSION = "0.4.0"

TYPES = ("meeting", "call", "agreement", "military", "policy", "economic")
STATUSES = ("held", "planned", "postponed", "cancelled")
LEVELS = ("head_of_state", "head_of_government", "minister", "senior_official", "working")
# Lower number = higher rank; used to pick a side's highest and the lower side.
LEVEL_RANK = {name: i for i, name in enumerate(LEVELS)}


@dataclass(frozen=True)
class Participant:
    """One named (or role-resolved) person taking part in an event."""

    name: str
    person_id: str | None
    country: str
    role: str | None
    title: str | None
    level: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "person_id": self.person_id,
            "country": self.country,
            "role": self.role,
            "title": self.title,
            "level": self.level,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Participant:
        """Inverse of to_dict."""
        return cls(
            name=str(data.get("name") or ""),
            person_id=data.get("person_id"),
            country=str(data.get("country") or ""),
            role=data.get("role"),
            title=data.get("title"),
            level=data.get("level"),
        )


@dataclass
class Mention:
    """One event found in one article, with the sentence that shows it."""

    type: str
    status: str
    event_date: date | None
    date_text: str | None
    location: str | None
    participants: list[Participant]
    level: str | None
    round: int | None
    evidence: str
    highlights: list[tuple[int, int]]
    confidence: float
    cameo: str
    plover: str
    background: bool
    countries: frozenset[str] = field(default_factory=lambda: frozenset({"CN", "RU"}))
    # Last day of a date range ("May 7-10", "next week", "in May"); None for a single day.
    event_end: date | None = None

    @property
    def person_ids(self) -> frozenset[str]:
        """Gazetteer ids of the named participants."""
        return frozenset(p.person_id for p in self.participants if p.person_id)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (dates ISO)."""
        return {
            "type": self.type,
            "status": self.status,
            "event_date": self.event_date.isoformat() if self.event_date else None,
            "date_text": self.date_text,
            "location": self.location,
            "participants": [p.to_dict() for p in self.participants],
            "level": self.level,
            "round": self.round,
            "evidence": self.evidence,
            "highlights": [list(h) for h in self.highlights],
            "confidence": round(self.confidence, 3),
            "cameo": self.cameo,
            "plover": self.plover,
            "background": self.background,
            "countries": sorted(self.countries),
            "event_end": self.event_end.isoformat() if self.event_end else None,
        }


def sides_agree(a: list[Participant], b: list[Participant]) -> bool:
    """Whether two participant lists can describe one event: on each side both name someone
    for, they share a person (Wang Yi–Patrushev and Wang Yi–Lavrov are two meetings)."""
    for country in ("CN", "RU"):
        pa = {p.person_id for p in a if p.country == country and p.person_id}
        pb = {p.person_id for p in b if p.country == country and p.person_id}
        if pa and pb and not (pa & pb):
            return False
    return True


def lower_side_level(participants: list[Participant]) -> str | None:
    """The lower of the two sides' highest levels; None unless both sides have a level."""
    best: dict[str, int] = {}
    for p in participants:
        if p.level not in LEVEL_RANK or p.country not in ("CN", "RU"):
            continue
        rank = LEVEL_RANK[p.level]
        if p.country not in best or rank < best[p.country]:
            best[p.country] = rank
    if len(best) < 2:
        return None
    return LEVELS[max(best.values())]
