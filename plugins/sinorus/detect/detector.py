"""Find China–Russia cooperation events in one article: triggers × actors of both sides."""

from __future__ import annotations

import argparse
import bisect
import json
import math
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from sinorus import settings
from sinorus.detect import dates as sdates
from sinorus.detect.actors import ActorMention, Gazetteer, bounded_finditer, default_gazetteer
from sinorus.detect.model import (
    LEVEL_RANK,
    Mention,
    Participant,
    lower_side_level,
    sides_agree,
)
from sinorus.detect.patterns import CASE_EXTRA, MAXREPEAT, PARSER, TOLOWER, case_closure, parsed
from sinorus.detect.text import Sentence, guess_lang, split_sentences
from sinorus.settings import DATA_DIR

TRIGGERS_PATH = DATA_DIR / "triggers.yaml"
BACKGROUND_DAYS = 21
MIN_CONFIDENCE = 0.5
# Characters before a trigger searched for a status cue ("will", "is expected to", "将").
CUE_WINDOW = 100
CUE_WINDOW_CJK = 14
# A real sentence has a handful of event words; more is a list or junk, not more events.
MAX_TRIGGERS_PER_SENTENCE = 8
MAX_MENTIONS = 200
# Characters of distance one step of office is worth when choosing a side's participant.
LEVEL_PENALTY = 12
MERGE_PEERS = 6
# A both-sides phrase this close to the trigger names the trigger's own participants.
DYAD_ADJACENT = 3
# Meeting triggers too weak to stand alone inside a multilateral frame ("the SCO summit").
WEAK_MEETING = re.compile(
    r"^(?:summit\w*|meetings?|visit\w*|state visit|arriv\w+|travel\w*\s+to|heads?\s+(?:east\s+)?to"
    r"|discussions?|саммит\w*|визит\w*|посет\w*|посещени\w*|прибыл\w*|прибуд\w*|диалог\w*"
    r"|峰会|峰會|访问|訪問|抵达|抵達|cumbre\w*|visita\w*|vertice)$",
    re.IGNORECASE,
)
GOVERNMENTAL = re.compile(
    r"intergovernmental|inter-governmental|межправительствен\w*|政府间|政府間", re.IGNORECASE
)
NOUN_MEETING = re.compile(
    r"^(?:meetings?|talks|summit\w*|встреч\w*|заседани\w*|переговор\w*|会晤|会谈|會談|会议|reuni[oó]n\w*)$",
    re.IGNORECASE,
)
VISIT = re.compile(
    r"^(?:(?:state\s+|official\s+)?visit\w*|визит\w*|посет\w*|прибуд\w*|国事访问|國事訪問|访问|訪問"
    r"|访华|訪華|访俄|訪俄|visita\w*)$",
    re.IGNORECASE,
)
PERSON_KINDS = frozenset({"person", "role", "titled"})
_LATIN_OR_CYR = re.compile(r"^[A-Za-z\u00C0-\u024F\u0400-\u04FF]")


def _compile(
    patterns: list[str],
    bounded: bool = True,
    ignorecase: bool = True,
    guard: bool | None = None,
) -> str:
    """One alternation; outside Chinese, every pattern must stand as whole words."""
    # the per-script variants build most alternations again: build each once
    return _compiled(tuple(str(p) for p in patterns), bounded, ignorecase, guard)


@lru_cache(maxsize=4096)
def _compiled(
    patterns: tuple[str, ...], bounded: bool, ignorecase: bool, guard: bool | None
) -> str:
    parts = list(patterns)
    parts.sort(key=len, reverse=True)  # "held talks" before "talks"
    if not bounded:
        return "|".join(f"(?:{p})" for p in parts)
    body = _dispatch(parts) if len(parts) >= DISPATCH_MIN else None
    body = body or "|".join(f"(?:{p})" for p in parts)
    # Most words open no branch; the guard turns them away after a few characters. Branches
    # opening with a case-sensitive letter are turned away as fast without it, unless the
    # caller knows better (`guard`: always, or never for a pattern tried at one place).
    wanted = guard if guard is not None else len(parts) >= GUARD_MIN and ignorecase
    opening = _guard(parts) if wanted else None
    guarded = f"(?=(?-i:{opening}))" if opening else ""
    return rf"(?<!\w){guarded}(?:{body})(?!\w)"


# A long word-bounded alternation tries every branch at every word start (case-insensitive
# branches get no quick first-character test from `re`); grouping the branches behind
# lookaheads on their first letter makes a word start cost a few lookaheads instead.
DISPATCH_MIN = 24
_RANGE_MAX = 64


def _fold_key(code: int) -> int:
    """One code point per class of characters `re` treats as equal when ignoring case."""
    low = int(TOLOWER(code))
    return min((low, *CASE_EXTRA.get(low, ())))


def _first_codes(items: list[tuple[Any, Any]]) -> set[int] | None:
    """Code points a match of the parsed sequence can start with; None when not a short list."""
    out: set[int] = set()
    for op, av in items:
        name = str(op)
        if name == "LITERAL":
            return out | {int(av)}
        if name == "IN":
            for kind, arg in av:
                if str(kind) == "LITERAL":
                    out.add(int(arg))
                elif str(kind) == "RANGE" and arg[1] - arg[0] <= _RANGE_MAX:
                    out.update(range(arg[0], arg[1] + 1))
                else:
                    return None  # a negated set or a category: any character may start it
            return out
        if name in ("AT", "ASSERT", "ASSERT_NOT"):
            continue  # zero-width: the next item consumes the first character
        alternatives: list[list[tuple[Any, Any]]]
        optional = False
        if name == "SUBPATTERN":
            alternatives = [list(av[-1].data)]
        elif name == "BRANCH":
            alternatives = [list(alt.data) for alt in av[1]]
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            alternatives = [list(av[2].data)]
            optional = av[0] == 0
        else:
            return None
        nullable = optional
        for alt in alternatives:
            codes = _first_codes(alt)
            if codes is None:
                return None
            out |= codes - {-1}
            nullable = nullable or -1 in codes
        if not nullable:
            return out
    return out | {-1}  # -1: the sequence can match empty


def _opening(pattern: str) -> set[int] | None:
    """Code points a match of the pattern must start with; None when unknown or it can be empty."""
    if PARSER is None:
        return None
    try:
        codes = _first_codes(list(parsed(pattern)))
    except re.error:
        return None
    return codes if codes and -1 not in codes else None


def _dispatch(parts: list[str]) -> str | None:
    """The alternation grouped by first letter, branch order kept; None when not possible."""
    if PARSER is None:
        return None
    members: dict[int, list[int]] = {}
    letters: dict[int, set[int]] = {}
    for i, part in enumerate(parts):
        codes = _opening(part)
        if codes is None:
            return None
        for code in codes:
            key = _fold_key(code)
            letters.setdefault(key, set()).add(code)
            if not members.setdefault(key, []) or members[key][-1] != i:
                members[key].append(i)
    keys = sorted(members)
    # Two levels (buckets of letters, then letters): about 2·√n lookaheads per word, not n.
    size = max(1, math.isqrt(len(keys)))
    buckets = []
    for b in range(0, len(keys), size):
        groups = []
        for key in keys[b : b + size]:
            alts = "|".join(f"(?:{parts[i]})" for i in members[key])
            # At one position at most one group's lookahead holds: its letters are one case class.
            groups.append(f"(?=(?i:[{_class(letters[key])}]))(?:{alts})")
        bucket = set().union(*(letters[key] for key in keys[b : b + size]))
        buckets.append(f"(?=(?i:[{_class(bucket)}]))(?:{'|'.join(groups)})")
    return "|".join(buckets)


def _class(codes: set[int]) -> str:
    """The inside of a character class holding exactly `codes`, runs written as ranges."""
    out: list[str] = []
    ordered = sorted(codes)
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        first, last = re.escape(chr(ordered[i])), re.escape(chr(ordered[j]))
        out.append(first if i == j else first + last if j == i + 1 else f"{first}-{last}")
        i = j + 1
    return "".join(out)


# How many characters of a match's opening a guard checks: with three, few words pass it.
GUARD_CHARS = 3
GUARD_MIN = 8  # parts; a short alternation is about as quick without
_GUARD_MAX = 5000  # openings; a guard this wide would cost more than it saves


def _openings(items: list[tuple[Any, Any]], prefix: tuple[int, ...], found: set[Any]) -> bool:
    """Adds to `found` openings (up to GUARD_CHARS code points), one of which begins every match
    of `prefix` followed by the parsed sequence; False when that cannot be told."""
    if len(prefix) >= GUARD_CHARS or not items:
        found.add(prefix)
        return len(found) <= _GUARD_MAX
    if len(items) > 200:
        return False  # an unrolled repeat that consumes nothing
    (op, av), rest = items[0], items[1:]
    name = str(op)
    if name == "LITERAL":
        return _openings(rest, (*prefix, int(av)), found)
    if name in ("ASSERT", "ASSERT_NOT", "AT"):
        return _openings(rest, prefix, found)  # skipping a condition only lets more through
    if name == "SUBPATTERN":
        return _openings([*av[-1].data, *rest], prefix, found)
    if name == "BRANCH":
        return all(_openings([*alt.data, *rest], prefix, found) for alt in av[1])
    if name == "IN":
        codes = _first_codes([(op, av)])
        if codes:
            return all(_openings(rest, (*prefix, c), found) for c in codes)
    elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        low, high, body = av
        if high == 0:
            return _openings(rest, prefix, found)
        again = (op, (max(low - 1, 0), high if high == MAXREPEAT else high - 1, body))
        once = _openings([*body.data, again, *rest], prefix, found)
        return once and (low > 0 or _openings(rest, prefix, found))
    found.add(prefix)  # anything else ends the opening here
    return len(found) <= _GUARD_MAX


def _guard(parts: list[str]) -> str | None:
    """A pattern that holds wherever one of the parts may match: a trie of their openings."""
    if PARSER is None:
        return None
    found: set[tuple[int, ...]] = set()
    for part in parts:
        try:
            items = list(parsed(part))
        except re.error:
            return None
        if not _openings(items, (), found):
            return None
    if () in found:
        return None
    trie: dict[Any, Any] = {}
    for opening in found:
        node = trie
        for code in opening:
            node = node.setdefault(frozenset(case_closure({code})), {})
        node[None] = {}
    return _trie(trie)


def _trie(node: dict[Any, Any], top: bool = True) -> str:
    """A trie of character classes as a pattern, its first level a branch per character."""
    if None in node:
        return ""  # a shorter opening ends here: enough for a guard
    # A branch opening with a plain character is the quickest test `re` has for a branch that
    # does not apply (a class needs a call, a lookahead in front more): that is what most
    # positions meet. Deeper levels, rarely reached, keep the shorter classes.
    alts = [
        (re.escape(chr(c)) if top else f"[{_class(set(key))}]") + _trie(node[key], top=False)
        for key in sorted(node, key=min)
        for c in (sorted(key) if top else [min(key)])
    ]
    return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"


def _block_regex(
    block: dict[str, Any] | None,
    present: frozenset[str] | None = None,
    ignorecase: bool = True,
    guard: bool | None = None,
) -> str:
    """Alternation over a {lang: [patterns]} block: word-bounded except for Chinese.

    With `present`, only the patterns a text holding just those scripts can match.
    """
    if not block:
        return ""
    bounded: list[str] = []
    free: list[str] = []
    for lang, pats in block.items():
        (free if str(lang) in ("zh", "ja") else bounded).extend(
            str(p) for p in pats or [] if _possible(str(p), present)
        )
    # One boundary around the whole alternation: per-pattern lookarounds make it crawl.
    out = [_compile(bounded, ignorecase=ignorecase, guard=guard)] if bounded else []
    if free:
        out.append(_compile(free, bounded=False))
    return "|".join(out)


# A pattern whose every match opens with a character of one of these ranges cannot match a text
# without such characters. The probes also find the characters `re` ignoring case takes for one
# in a range (U+1C80 for в), which a pattern of that range matches.
VARIANT_RANGES = {
    "cyrillic": ((0x0400, 0x04FF),),
    "cjk": ((0x3400, 0x9FFF), (0xF900, 0xFAFF)),
}


@lru_cache(maxsize=1)
def _variant_probes() -> dict[str, re.Pattern[str]]:
    # spelled out case-sensitively: `re` skips to a plain class, not to one ignoring case
    return {
        name: re.compile(
            f"[{_class(case_closure({c for lo, hi in ranges for c in range(lo, hi + 1)}))}]"
        )
        for name, ranges in VARIANT_RANGES.items()
    }


@lru_cache(maxsize=4096)
def _opening_script(pattern: str) -> str:
    """The VARIANT_RANGES entry all of a pattern's first characters fall in, else ""."""
    codes = _opening(pattern)
    if codes is None:
        return ""
    for name, ranges in VARIANT_RANGES.items():
        if all(any(lo <= c <= hi for lo, hi in ranges) for c in codes):
            return name
    return ""


def _possible(pattern: str, present: frozenset[str] | None) -> bool:
    """Whether a text holding the `present` scripts (None: any) may match the pattern."""
    if present is None:
        return True
    script = _opening_script(pattern)
    return not script or script in present


def _merge_blocks(blocks: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Several {lang: [patterns]} blocks as one."""
    out: dict[str, list[str]] = {}
    for block in blocks:
        for lang, pats in (block or {}).items():
            out.setdefault(str(lang), []).extend(str(p) for p in pats or [])
    return out


# Scripts a scanner's patterns are written in; a text without that script skips the scanner.
SCRIPT_OF_LANG = {
    "ru": "cyrillic",
    "bg": "cyrillic",
    "uk": "cyrillic",
    "hi": "devanagari",
    "zh": "cjk",
    "ja": "cjk",
}
SCRIPT_PROBE = {
    "latin": re.compile(r"[A-Za-z]"),
    "cyrillic": re.compile(r"[\u0400-\u04FF]"),
    "devanagari": re.compile(r"[\u0900-\u097F]"),
    "cjk": re.compile(r"[\u3400-\u9FFF\uF900-\uFAFF]"),
}


@dataclass(frozen=True)
class Scanner:
    """A whole-text pattern for one script."""

    script: str
    pattern: re.Pattern[str]
    # Set when `pattern` lacks its leading (?<!\w): a character that may not precede a match.
    left: re.Pattern[str] | None = None
    # Where a match of `pattern` can begin: one of its first characters opening a word.
    starts: re.Pattern[str] | None = None

    def finditer(self, text: str, scripts: frozenset[str]) -> Iterator[re.Match[str]]:
        """Matches, or none at once when the text lacks the script."""
        if self.script not in scripts:
            return
        if self.left is not None:
            yield from bounded_finditer(self.pattern, self.left, text)
        elif self.starts is not None:
            yield from _at_starts(self.pattern, self.starts, text)
        else:
            yield from self.pattern.finditer(text)


# Trying the pattern at each possible start beats one scan while the starts are rare (Russian
# words in an English text); past this many per character, one scan takes over.
STARTS_PER_CHAR = 1 / 32
STARTS_FREE = 4


def _at_starts(
    pattern: re.Pattern[str], starts: re.Pattern[str], text: str
) -> Iterator[re.Match[str]]:
    """pattern.finditer(text), trying the pattern only where `starts` finds a possible start."""
    # `starts` skips other scripts at the speed of a character test, where the pattern's
    # leading (?<!\w) makes `re` enter the pattern at every position.
    pos = 0
    tried = 0
    for start in starts.finditer(text):
        at = start.start()
        if at < pos:
            continue  # inside the last match
        tried += 1
        if tried > STARTS_FREE + at * STARTS_PER_CHAR:
            yield from pattern.finditer(text, pos)
            return
        m = pattern.match(text, at)
        if m is not None:
            yield m
            pos = m.end()


def scripts_of(text: str) -> frozenset[str]:
    """Which scripts occur in a text."""
    return frozenset(name for name, probe in SCRIPT_PROBE.items() if probe.search(text))


def _scanners(
    block: dict[str, Any],
    flags: int = re.IGNORECASE,
    present: frozenset[str] | None = None,
    starts: bool = False,
) -> list[Scanner]:
    """Whole-text scanners, one per script: each alternation stays short and fast."""
    by_script: dict[str, list[str]] = {}
    for lang, ps in block.items():
        script = SCRIPT_OF_LANG.get(str(lang), "latin")
        by_script.setdefault(script, []).extend(
            str(p) for p in ps or [] if _possible(str(p), present)
        )
    out = []
    for script, ps in by_script.items():
        if not ps:
            continue
        bounded = script != "cjk"
        quick = _left_checked(ps, flags) if bounded else None
        if quick is not None:
            out.append(Scanner(script, quick, _WORD))
            continue
        ignorecase = bool(flags & re.IGNORECASE)
        pattern = re.compile(_compile(ps, bounded=bounded, ignorecase=ignorecase), flags)
        at = _word_starts(ps, flags) if starts and bounded else None
        out.append(Scanner(script, pattern, starts=at))
    return out


def _word_starts(parts: list[str], flags: int) -> re.Pattern[str] | None:
    """Where a word-bounded match of the parts can begin; None when that is not known."""
    codes: set[int] = set()
    for part in parts:
        opening = _opening(part)
        if opening is None:
            return None
        codes |= opening
    if flags & re.IGNORECASE:
        codes = case_closure(codes)
    # the class is case-sensitive, so `re` skips to its characters without entering a pattern
    return re.compile(f"[{_class(codes)}]" + r"(?<!\w[\s\S])")


_WORD = re.compile(r"\w")


def _left_checked(parts: list[str], flags: int) -> re.Pattern[str] | None:
    """The word-bounded alternation less its leading lookbehind; None when that is unsafe."""
    # A leading lookbehind makes `re` try every position; without it, a case-sensitive
    # alternation whose parts open with known characters lets `re` skip straight to those.
    if flags & re.IGNORECASE or any(_opening(part) is None for part in parts):
        return None
    ordered = sorted(parts, key=len, reverse=True)  # the order _compile gives them
    return re.compile("(?:" + "|".join(f"(?:{p})" for p in ordered) + r")(?!\w)", flags)


# Stands in for a pattern none of whose alternatives a text can match (None means "no rule").
NEVER = re.compile("(?!)")


def _has_patterns(block: dict[str, Any] | None) -> bool:
    return any(pats for pats in (block or {}).values())


def _ending(
    block: dict[str, Any] | None, present: frozenset[str] | None = None
) -> re.Pattern[str] | None:
    """A reporting verb right before a date: "said on", "told reporters", "сообщил в"."""
    if not _has_patterns(block):
        return None
    body = _block_regex(block, present)
    if not body:
        return NEVER
    return re.compile(rf"(?:{body})[\s,]*(?:on\s+|в\s+|во\s+|last\s+)?$", re.IGNORECASE)


def _since(
    block: dict[str, Any] | None, present: frozenset[str] | None = None
) -> re.Pattern[str] | None:
    """ "since" and the rest of its clause up to a date: that date is not the event's."""
    if not _has_patterns(block):
        return None
    body = _block_regex(block, present)
    if not body:
        return NEVER
    return re.compile(rf"(?:{body})[^,;.:!?，。；]{{0,60}}$", re.IGNORECASE)


def _union(
    block: dict[str, Any] | None,
    flags: int = re.IGNORECASE,
    present: frozenset[str] | None = None,
    guard: bool | None = None,
) -> re.Pattern[str] | None:
    if not _has_patterns(block):
        return None
    body = _block_regex(block, present, ignorecase=bool(flags & re.IGNORECASE), guard=guard)
    if not body:
        return NEVER
    return re.compile(body, flags)


@dataclass
class Rules:
    """The trigger lexicons, compiled once."""

    triggers: list[Scanner]
    type_patterns: list[tuple[str, re.Pattern[str]]]
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
    third_leaders: re.Pattern[str] | None
    multilateral: re.Pattern[str] | None
    negative: re.Pattern[str] | None
    companies: dict[str, list[Scanner]]
    counterpart_words: re.Pattern[str] | None
    agreement_verbs: re.Pattern[str] | None
    reporting: re.Pattern[str] | None  # right before a date
    validity: re.Pattern[str] | None
    negation: re.Pattern[str] | None
    since: re.Pattern[str] | None
    event_verbs: re.Pattern[str] | None
    months: dict[str, list[str]]
    sequel: re.Pattern[str] | None
    agreement_documents: re.Pattern[str] | None
    counterparts: dict[str, list[str]]
    locations: list[tuple[str, re.Pattern[str]]] = field(default_factory=list)
    location_any: list[Scanner] = field(default_factory=list)
    dyad_any: re.Pattern[str] | None = None
    called_off: re.Pattern[str] | None = None  # cancelled or postponed, in one search
    reporting_any: re.Pattern[str] | None = None  # a reporting verb anywhere
    source: dict[str, Any] = field(default_factory=dict, repr=False)
    variants: dict[frozenset[str], Rules] = field(default_factory=dict, repr=False)
    full: Rules | None = field(default=None, repr=False)  # what a variant was made from
    scripts: frozenset[str] = field(default=frozenset(), repr=False)  # a variant's scripts
    cities: dict[str, str | None] = field(default_factory=dict, repr=False)  # city_of's answers

    def for_text(self, text: str, pos: int = 0, endpos: int | None = None) -> Rules:
        """These rules less the alternatives needing a script text[pos:endpos] lacks.

        Searches within that stretch of the text find the same matches.
        """
        # Most articles, and most sentences, are in one script; each pattern then tries fewer
        # alternatives per position (the Chinese ones are tried at every position).
        end = len(text) if endpos is None else endpos
        return self.variant(
            frozenset(
                name
                for name in self.present
                if _variant_probes()[name].search(text, pos, end) is not None
            )
        )

    @property
    def present(self) -> frozenset[str]:
        """The scripts of VARIANT_RANGES these rules keep alternatives for."""
        return self.scripts if self.full is not None else frozenset(VARIANT_RANGES)

    def city_of(self, name: str) -> str | None:
        """The city whose patterns match the whole of a place name found in a text."""
        # a pure function of a short string, asked again for every sentence naming the place
        if name not in self.cities:
            if len(self.cities) > 10_000:
                self.cities.clear()
            self.cities[name] = next((c for c, pat in self.locations if pat.fullmatch(name)), None)
        return self.cities[name]

    def variant(self, present: frozenset[str]) -> Rules:
        """The rules for texts holding the `present` scripts of VARIANT_RANGES and no other."""
        if self.full is not None:
            return self.full.variant(present)
        if not self.source or present >= VARIANT_RANGES.keys():
            return self
        found = self.variants.get(present)
        if found is None:
            found = self.variants[present] = _build_rules(self.source, present, self)
        return found

    def prepare(self) -> None:
        """Compile every variant now rather than on the first article that needs it."""
        names = sorted(VARIANT_RANGES)
        for k in range(1 << len(names)):
            self.variant(frozenset(n for i, n in enumerate(names) if k >> i & 1))


def load_rules(path: Path | None = None) -> Rules:
    """Compile triggers.yaml (the shipped one unless a path is given)."""
    data = settings.parse_yaml((path or TRIGGERS_PATH).read_text(encoding="utf-8"))
    return _build_rules(data, None, None)


def _build_rules(data: dict[str, Any], present: frozenset[str] | None, base: Rules | None) -> Rules:
    """The rules of triggers.yaml's data; with `present`, the variant for texts in those scripts.

    A variant shares the base's whole-text scanners, which check their script themselves.
    """
    type_patterns: list[tuple[str, re.Pattern[str]]] = []
    type_as: dict[str, str] = {}
    cameo: dict[str, str] = {}
    plover: dict[str, str] = {}
    for name, spec in data["types"].items():
        if base is None:
            body = _block_regex(spec.get("triggers"), guard=False)  # matched at one place
            type_patterns.append((name, re.compile(body, re.IGNORECASE)))
        type_as[name] = spec.get("as", name)
        cameo[name] = str(spec.get("cameo", ""))
        plover[name] = str(spec.get("plover", ""))
    econ = data["types"].get("economic", {})
    # Patterns asked only for some triggers or in a few words' window: a variant keeps the full
    # ones (the same compiled patterns as the base's), sparing their compilation.
    rare = None
    return Rules(
        triggers=base.triggers
        if base
        else _scanners(
            {
                lang: [
                    p for spec in data["types"].values() for p in (spec["triggers"].get(lang) or [])
                ]
                for lang in {lg for spec in data["types"].values() for lg in spec["triggers"]}
            },
            starts=True,
        ),
        # Matched only where a trigger starts, and the largest to compile: a variant keeps the
        # full ones (what a variant drops cannot match there anyway), as it does place names.
        type_patterns=base.type_patterns if base else type_patterns,
        type_as=type_as,
        cameo=cameo,
        plover=plover,
        deal_words=_union(econ.get("deal_words"), present=rare),
        meeting_cameo=[
            (str(code), pat)
            for code, block in (data.get("meeting_cameo") or {}).items()
            if (pat := _union(block, present=present)) is not None
        ],
        planned=_union(data.get("planned"), present=present),
        held=_union(data.get("held"), present=present),
        cancelled=_union(data.get("cancelled"), present=present),
        postponed=_union(data.get("postponed"), present=present),
        background=_union(data.get("background"), present=present),
        dyad=[
            (str(level), pat)
            for level, block in (data.get("dyad_phrases") or {}).items()
            if (pat := _union(block, present=present)) is not None
        ],
        dyad_roles={str(k): dict(v) for k, v in (data.get("dyad_roles") or {}).items()},
        # Case matters: "US" is a country, "us" a pronoun.
        third_parties=_union(
            {
                lang: list((data.get("third_parties") or {}).get(lang) or [])
                + list((data.get("third_leaders") or {}).get(lang) or [])
                for lang in set(data.get("third_parties") or {})
                | set(data.get("third_leaders") or {})
            },
            flags=0,
            present=present,
            # its branches open with groups and lookbehinds, which `re` enters one by one
            guard=True,
        ),
        third_leaders=_union(data.get("third_leaders"), flags=0, present=present),
        multilateral=_union(data.get("multilateral"), present=present),
        negative=_union(data.get("negative_topics"), present=present),
        companies=base.companies
        if base
        else {
            str(c): _scanners(
                {
                    "en": [p for p in pats or [] if _LATIN_OR_CYR.match(str(p))],
                    "zh": [p for p in pats or [] if not _LATIN_OR_CYR.match(str(p))],
                },
                flags=0,
            )
            for c, pats in (data.get("companies") or {}).items()
        },
        counterpart_words=_union(data.get("counterpart_words"), present=rare),
        reporting=_ending(data.get("reporting"), rare),
        validity=_ending(data.get("validity"), rare),
        negation=_union(data.get("negation"), present=present),
        since=_since(data.get("since"), rare),
        event_verbs=_union(data["types"].get("military", {}).get("event_verbs"), present=rare),
        months={str(k): [str(x) for x in v] for k, v in (data.get("months") or {}).items()},
        sequel=_union(data.get("sequel"), present=rare),
        agreement_verbs=_union(data["types"].get("agreement", {}).get("verbs"), present=rare),
        agreement_documents=_union(
            data["types"].get("agreement", {}).get("documents"), present=rare
        ),
        counterparts={
            str(k): [str(x) for x in (v if isinstance(v, list) else [v])]
            for k, v in (data.get("counterparts") or {}).items()
        },
        location_any=_scanners(
            _merge_blocks(list((data.get("locations") or {}).values())), present=present
        ),
        dyad_any=_union(
            _merge_blocks(list((data.get("dyad_phrases") or {}).values())), present=present
        ),
        called_off=_union(
            _merge_blocks([data.get("cancelled") or {}, data.get("postponed") or {}]),
            present=present,
        ),
        reporting_any=_union(data.get("reporting"), present=rare),
        full=base,
        scripts=present or frozenset(),
        locations=base.locations
        if base
        else [
            (str(city), pat)
            for city, block in (data.get("locations") or {}).items()
            if (pat := _union(block)) is not None
        ],
        source=data,
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


def _trigger_type(rules: Rules, text: str, m: re.Match[str]) -> str | None:
    """The lexicon a trigger match came from: the first type matching the same span."""
    first: str | None = None
    for name, pat in rules.type_patterns:
        hit = pat.match(text, m.start())
        if hit is None:
            continue
        if hit.end() == m.end():
            return name
        first = first or name
    return first


@dataclass
class _Doc:
    text: str
    rules: Rules  # the variant for the scripts of the text
    lang: str
    published: date | None
    sentences: list[Sentence]
    starts: list[int]
    actors: list[ActorMention]
    actor_starts: list[int]
    phone_context: bool
    title_end: int  # end of the title sentence within text (0 when no title)
    company_spans: set[tuple[int, int]]
    trigger_starts: list[int] = field(default_factory=list)  # sorted
    # Per-sentence results, keyed by the sentence's text: they depend on nothing else.
    dates: dict[tuple[str, str], tuple[sdates.DateMention, ...]] = field(default_factory=dict)
    rounds: dict[str, int | None] = field(default_factory=dict)
    # Per-sentence scans, keyed by index: a sentence is looked at again as a neighbour.
    third: dict[int, list[re.Match[str]]] = field(default_factory=dict)
    leaders: dict[int, bool] = field(default_factory=dict)
    # The rules variant for each sentence's own scripts, by the sentence's start.
    sentence_rules: dict[int, Rules] = field(default_factory=dict)
    places: dict[int, list[tuple[int, str]]] = field(default_factory=dict)  # the same


def _sentence_rules(doc: _Doc, s: Sentence) -> Rules:
    """The rules variant for the scripts of one sentence (searches within it find the same)."""
    if not doc.rules.present:
        return doc.rules  # nothing left to drop
    found = doc.sentence_rules.get(s.start)
    if found is None:
        found = doc.sentence_rules[s.start] = doc.rules.for_text(doc.text, s.start, s.end)
    return found


def _mentions(pat: re.Pattern[str] | None, text: str, s: Sentence) -> bool:
    """Whether the pattern matches within the sentence."""
    return pat is not None and pat.search(text, s.start, s.end) is not None


def _round_of(doc: _Doc, text: str) -> int | None:
    """find_round of a piece of the article (a sentence, the title), once per article."""
    if text not in doc.rounds:
        doc.rounds[text] = sdates.find_round(text, doc.lang)
    return doc.rounds[text]


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


_CLAUSE_BREAK = re.compile(r"[,;:“”\"«»()，；：]")
# Where one clause of a sentence ends and another begins (commas may enclose a relative clause).
_CLAUSE_STOP = re.compile(r";|—| – |。|；")


def _nearest(
    actors: list[ActorMention], country: str, pos: int, text: str = "", end: int | None = None
) -> ActorMention | None:
    """The side's person nearest the trigger, preferring one in the trigger's own clause and,
    at similar distance, the higher office (a spokesman quoted beside a leader is not a party)."""
    end = pos if end is None else end
    best: ActorMention | None = None
    best_d = 1 << 30
    for a in actors:
        if a.country != country or not _is_person(a):
            continue
        d = pos - a.end if a.end <= pos else max(0, a.start - end)
        if text:
            lo, hi = (a.end, pos) if a.end <= pos else (end, a.start)
            if _CLAUSE_BREAK.search(text, lo, hi):
                d += 1000  # across a comma or a quote: only when nobody is closer in-clause
        d += LEVEL_PENALTY * LEVEL_RANK.get(a.level or "", len(LEVEL_RANK))
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
    for stop in (";", "—", " – ", "。", "；", "“", "”", "«", "»", '"'):
        k = seg.rfind(stop)
        if k >= 0:
            seg = seg[k + len(stop) :]
    return seg


_PRECISION_PENALTY = {"day": 0, "week": 30, "month": 60, "season": 90, "year": 200}
_QUOTE = re.compile(r"[“”\"«»]")


def _find_dates(
    text: str, lang: str, published: date | None, prefer: str
) -> list[sdates.DateMention]:
    """Dates in the sentence; a yearless day read as nearly a year ago is read as the nearest."""
    found = sdates.find_dates(text, lang, published, prefer=prefer)
    if published is None or prefer != "past":
        return found
    out: list[sdates.DateMention] = []
    nearest: list[sdates.DateMention] | None = None
    for d in found:
        if d.relative and (published - d.date).days > 300:
            if nearest is None:
                nearest = sdates.find_dates(text, lang, published, prefer="nearest")
            twin = next((n for n in nearest if n.start == d.start and n.end == d.end), None)
            if twin is not None and abs((twin.date - published).days) <= 60:
                d = twin  # "9月15日" in a September article: this September, not last
        out.append(d)
    return out


def _month_names(
    names: list[str], text: str, published: date, prefer: str
) -> list[sdates.DateMention]:
    """Bare month names ("en agosto") as the month nearest publication in the preferred way."""
    out: list[sdates.DateMention] = []
    lowered = text.lower()
    for number, name in enumerate(names, 1):
        for m in re.finditer(rf"(?<!\w){re.escape(name)}(?!\w)", lowered):
            year = published.year
            if prefer == "future" and number < published.month:
                year += 1
            elif prefer != "future" and number > published.month:
                year -= 1
            first = date(year, number, 1)
            last = (date(year + number // 12, number % 12 + 1, 1)) - timedelta(days=1)
            out.append(
                sdates.DateMention(
                    m.start(), m.end(), text[m.start() : m.end()], first, last, "month", True
                )
            )
    return out


def _date_score(text: str, d: sdates.DateMention, pos: int) -> int:
    """How well a date fits a trigger: near, in the same quote, and precise."""
    lo, hi = (d.end, pos) if d.end <= pos else (pos, d.start)
    score = hi - lo + _PRECISION_PENALTY.get(d.precision, 100)
    if _QUOTE.search(text, lo, hi):
        score += 2000  # "'In October, we look forward...,' he said at a meeting"
    elif _CLAUSE_BREAK.search(text, lo, hi):
        score += 40
    return score


def _reported(pat: re.Pattern[str] | None, text: str, start: int, end: int) -> bool:
    """Whether a date dates the reporting ("Denisov said Wednesday"), not the event."""
    if pat is None:
        return False
    return pat.search(text, max(0, start - 30), start) is not None


def _clause_after(text: str, lo: int, hi: int) -> str:
    seg = text[lo:hi]
    cut = len(seg)
    for stop in (",", ";", "—", " – ", "。", "；", "，"):
        k = seg.find(stop)
        if 0 <= k < cut:
            cut = k
    return seg[:cut]


def _nearest_cue(
    pat: re.Pattern[str] | None, before: str, tail: str, base: int, trig: _Trigger
) -> int | None:
    """Distance from the trigger to the nearest cue of pat in its clause, or None."""
    if pat is None:
        return None
    best: int | None = None
    for m in pat.finditer(before):
        d = max(0, trig.start - (base + m.end()))
        best = d if best is None or d < best else best
    for m in pat.finditer(tail):
        d = m.start() + 1  # after the trigger: a little further than the same gap before
        best = d if best is None or d < best else best
    return best


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


@dataclass(frozen=True)
class _Dyad:
    kind: str  # head_of_state | head_of_government | foreign_minister | sides
    start: int
    end: int


def _distance(start: int, end: int, pos: int) -> int:
    return pos - end if end <= pos else max(0, start - pos)


def _is_noun_only(triggers: list[_Trigger]) -> bool:
    """Whether every contact word is a bare noun ("meeting", "встреч"), not a verb."""
    return all(NOUN_MEETING.match(t.text.strip()) for t in triggers)


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


def _resolve_dyad(gaz: Gazetteer, rules: Rules, kind: str, on: date | None) -> list[Participant]:
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
        # Office holders behind a dyad phrase, by (kind, day): a gazetteer search each time.
        self._holders: dict[tuple[str, date], tuple[Participant, ...]] = {}

    def _dyad_holders(self, kind: str, on: date | None) -> list[Participant]:
        """_resolve_dyad, remembered per kind and day."""
        key = (kind, on or date.today())  # the day the gazetteer resolves for
        found = self._holders.get(key)
        if found is None:
            if len(self._holders) > 10_000:
                self._holders.clear()
            found = self._holders[key] = tuple(_resolve_dyad(self.gaz, self.rules, kind, on))
        return list(found)

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
        rules = self.rules.for_text(doc_text)
        scripts = scripts_of(doc_text)
        triggers = [
            _Trigger(m.start(), m.end(), kind, m.group(0))
            for scan in rules.triggers
            for m in scan.finditer(doc_text, scripts)
            if (kind := _trigger_type(rules, doc_text, m))
        ]
        triggers.sort(key=lambda t: t.start)
        if not triggers:
            return []
        sentences = split_sentences(doc_text)
        if not sentences:
            return []
        starts = [s.start for s in sentences]
        actors = list(self.gaz.find(doc_text, lang, published))
        deals = any(t.type in ("economic", "agreement") for t in triggers)
        companies = [
            # State companies act for their side in deals (Gazprom, CNPC).
            ActorMention(
                m.start(), m.end(), m.group(0), "institution", country, None, None, None, None, None
            )
            # only deals need them: skip the scan in the many articles without a deal word
            for country, pats in (rules.companies.items() if deals else ())
            for scan in pats
            for m in scan.finditer(doc_text, scripts)
        ]
        company_spans = {(a.start, a.end) for a in companies}
        actors.extend(companies)
        actors.sort(key=lambda a: a.start)
        title_end = 0
        if title:
            k = doc_text.find(title)
            title_end = k + len(title) if k >= 0 else 0
        doc = _Doc(
            text=doc_text,
            rules=rules,
            lang=lang,
            published=published,
            sentences=sentences,
            starts=starts,
            actors=actors,
            actor_starts=[a.start for a in actors],
            phone_context=any(t.type == "call" for t in triggers),
            title_end=title_end,
            company_spans=company_spans,
            trigger_starts=[t.start for t in triggers],
        )
        by_sentence: dict[int, list[_Trigger]] = {}
        for t in triggers:
            here = by_sentence.setdefault(_sentence_index(starts, t.start), [])
            if len(here) < MAX_TRIGGERS_PER_SENTENCE:
                here.append(t)
        mentions: list[Mention] = []
        for idx, trig in by_sentence.items():
            if len(mentions) >= MAX_MENTIONS:
                break  # an "article" with this many events is a dump; keep the first ones
            for cand in self._sentence_candidates(doc, idx, trig):
                mention = self._finish(doc, cand)
                if mention is not None:
                    mentions.append(mention)
        return merge_mentions(mentions)

    # -- one sentence ----------------------------------------------------------------------

    def _sentence_candidates(
        self, doc: _Doc, idx: int, triggers: list[_Trigger]
    ) -> list[_Candidate]:
        s = doc.sentences[idx]
        rules = _sentence_rules(doc, s)
        actors = _actors_in(doc, s)
        sides: set[str] = set()
        for a in actors:
            sides |= _side(a)
        dyad: _Dyad | None = None
        if rules.dyad_any is None or rules.dyad_any.search(doc.text, s.start, s.end):
            for kind, pat in rules.dyad:
                m = pat.search(doc.text, s.start, s.end)
                if m:
                    dyad = _Dyad(kind, m.start(), m.end())
                    break
        if not actors and dyad is None:
            return []
        third = self._third(doc, idx)
        one_sided = False
        if sides != {"CN", "RU"}:
            missing = {"CN", "RU"} - sides
            if (
                dyad is not None
                and not third
                and (
                    self._context_has(doc, idx, missing)
                    # "the two leaders" after "Xi arrived in Moscow": one side named is enough
                    or (dyad.kind in rules.dyad_roles and self._context_sides(doc, idx))
                )
            ):
                # A both-sides phrase ("the two leaders", "стороны", "双方") stands for the
                # dyad when the neighbouring sentences name the other side.
                pass
            elif len(sides) == 1 and any(_is_person(a) for a in actors):
                # "On Thursday, he is expected to meet Putin": only a contact, and only when
                # no third party stands near the trigger, may take the other side from context.
                one_sided = True
            else:
                return []
        elif third and dyad is not None and dyad.kind != "sides":
            # "Trump said the two leaders..." — the phrase may well mean someone else.
            dyad = None
        # Scanned on first need: most sentences never ask for one or the other.
        negative: bool | None = None
        companies = any((a.start, a.end) in doc.company_spans for a in actors)
        types_here = {rules.type_as.get(t.type, t.type) for t in triggers}
        contact_verbs = [t for t in triggers if t.type in ("meeting", "call", "conversation")]
        signing = "agreement" in types_here
        out: list[_Candidate] = []
        seen: set[tuple[str, frozenset[str]]] = set()
        for trig in triggers:
            etype = rules.type_as.get(trig.type, trig.type)
            if trig.type == "conversation" and doc.phone_context:
                etype = "call"
            if one_sided and (
                etype not in ("meeting", "call")
                or WEAK_MEETING.match(trig.text.strip()) is not None  # "Xi arrived in Kazan"
                or any(m.start() <= trig.end + 40 for m in third)
            ):
                continue
            if etype in ("meeting", "call"):
                if (
                    etype == "meeting"
                    and all(WEAK_MEETING.match(t.text.strip()) for t in contact_verbs)
                    and _mentions(rules.multilateral, doc.text, s)
                ):
                    continue
                if signing and etype == "meeting" and _is_noun_only(contact_verbs):
                    # "signed the protocol of the commission's meeting": the signing is the news.
                    continue
                first_contact = min(t.start for t in contact_verbs)
                if self._negated(doc, s, trig):
                    continue  # "no meeting is planned", "did not meet", "не планирует встречу"
                cand = self._contact(doc, idx, s, actors, trig, etype, dyad, third, first_contact)
                if cand is None:
                    continue
                if negative is None:
                    negative = _mentions(rules.negative, doc.text, s)
                if negative:
                    cand.confidence -= 0.25
            else:
                if negative is None:
                    negative = _mentions(rules.negative, doc.text, s)
                if negative:
                    continue
                if etype == "agreement" and (
                    "policy" in types_here or not self._signed_document(doc, s)
                ):
                    continue
                # A deal on gas or oil: economic when companies sign it, an agreement when
                # governments do ("intergovernmental agreement", leaders, ministers).
                governmental = self._governmental(doc.text, s, actors)
                if etype == "agreement" and "economic" in types_here and not governmental:
                    continue
                if etype == "economic":
                    if governmental and "agreement" in types_here:
                        continue
                    if rules.deal_words is None or not rules.deal_words.search(
                        doc.text, s.start, s.end
                    ):
                        continue
                if etype == "military" and (
                    third
                    or rules.event_verbs is None
                    or not rules.event_verbs.search(doc.text, s.start, s.end)
                ):
                    continue
                cand = self._measure(doc, s, actors, trig, etype, dyad, companies)
                if cand is None:
                    continue
            key = (cand.type, frozenset(p.person_id or p.name for p in cand.participants))
            if key in seen:
                continue
            seen.add(key)
            out.append(cand)
        return out

    def _governmental(self, text: str, s: Sentence, actors: list[ActorMention]) -> bool:
        """Whether governments, not companies, are the parties of a deal in this sentence."""
        if GOVERNMENTAL.search(text, s.start, s.end):
            return True
        return any(
            _is_person(a) and LEVEL_RANK.get(a.level or "", 9) <= LEVEL_RANK["minister"]
            for a in actors
        )

    def _negated(self, doc: _Doc, s: Sentence, trig: _Trigger) -> bool:
        """A negation right before the trigger, in its clause."""
        negation = _sentence_rules(doc, s).negation
        if negation is None:
            return False
        window = 6 if doc.lang in ("zh", "ja") else 28
        before = _clause_before(doc.text, max(s.start, trig.start - window), trig.start)
        return negation.search(before) is not None

    def _signed_document(self, doc: _Doc, s: Sentence) -> bool:
        """A signing (or adopting) verb and a named document, both in the sentence."""
        text = doc.text
        rules = _sentence_rules(doc, s)
        verbs, docs = rules.agreement_verbs, rules.agreement_documents
        if verbs is None or docs is None:
            return True
        return bool(verbs.search(text, s.start, s.end) and docs.search(text, s.start, s.end))

    def _third(self, doc: _Doc, idx: int) -> list[re.Match[str]]:
        """Third parties named in a sentence (countries, their leaders)."""
        found = doc.third.get(idx)
        if found is None:
            s = doc.sentences[idx]
            pat = _sentence_rules(doc, s).third_parties
            found = list(pat.finditer(doc.text, s.start, s.end)) if pat else []
            doc.third[idx] = found
        return found

    def _leaders(self, doc: _Doc, idx: int) -> bool:
        """Whether a sentence names another country's leader."""
        found = doc.leaders.get(idx)
        if found is None:
            s = doc.sentences[idx]
            pat = _sentence_rules(doc, s).third_leaders
            found = bool(pat and pat.search(doc.text, s.start, s.end))
            doc.leaders[idx] = found
        return found

    def _context_has(self, doc: _Doc, idx: int, needed: set[str]) -> bool:
        """Whether the previous or next sentence (or the title) names the needed sides."""
        return needed <= self._context_sides(doc, idx)

    def _context_sides(self, doc: _Doc, idx: int) -> set[str]:
        """Sides the previous and next sentences (and the title) name, unless about others."""
        found: set[str] = set()
        for j in (idx - 1, idx + 1, 0 if doc.title_end else -1):
            if 0 <= j < len(doc.sentences) and j != idx:
                other = doc.sentences[j]
                if self._third(doc, j):
                    continue  # "the sides" there may be India and China
                for a in _actors_in(doc, other):
                    if not a.weak:
                        found |= _side(a)
        return found

    def _status(self, doc: _Doc, s: Sentence, trig: _Trigger) -> str:
        # the cancellation window reaches into the neighbouring sentences
        rules = doc.rules
        if rules.called_off is None or _cue_near(
            rules.called_off, doc.text, trig.start, trig.end, 80
        ):
            # one of the two is near (or no joint pattern): which one
            if _cue_near(rules.cancelled, doc.text, trig.start, trig.end, 80):
                return "cancelled"
            if _cue_near(rules.postponed, doc.text, trig.start, trig.end, 80):
                return "postponed"
        later = self._called_off_later(doc, s, trig)
        if later is not None:
            return later
        rules = _sentence_rules(doc, s)
        cjk = doc.lang in ("zh", "ja")
        window = CUE_WINDOW_CJK if cjk else CUE_WINDOW
        after = 6 if cjk else 28
        lo = max(s.start, trig.start - window)
        hi = min(s.end, trig.end + after)
        before = _clause_before(doc.text, lo, trig.end)
        tail = _clause_after(doc.text, trig.end, hi)
        base = trig.end - len(before)
        planned = _nearest_cue(rules.planned, before, tail, base, trig)
        held = _nearest_cue(rules.held, before, tail, base, trig)
        # The cue nearest the trigger decides ("met on Monday, will visit" -> planned visit;
        # "the summit will be held" -> planned); a tie goes to planned ("will be held").
        if planned is not None and (held is None or planned <= held):
            return "planned"
        return "held"

    def _called_off_later(self, doc: _Doc, s: Sentence, trig: _Trigger) -> str | None:
        """Cancelled or postponed by a cue far on in the clause the trigger's noun governs."""
        # "The talks between …, which had been expected to cover …, have been postponed"
        text = doc.text
        # A verb ("met", "will hold talks") is its own predicate: a later cue is another event's.
        head = (trig.text.split() or [""])[0]  # "talks" of "talks between"
        if NOUN_MEETING.match(head) is None and VISIT.match(head) is None:
            return None
        rules = _sentence_rules(doc, s)
        stop = _CLAUSE_STOP.search(text, trig.end, s.end)
        hi = stop.start() if stop else s.end
        cues = [
            (m.start(), status)
            for status, pat in (("cancelled", rules.cancelled), ("postponed", rules.postponed))
            if pat is not None and (m := pat.search(text, trig.end, hi)) is not None
        ]
        if not cues:
            return None
        cue, status = min(cues)
        # Another event word, or "held", before the cue: the cue is about something else.
        k = bisect.bisect_left(doc.trigger_starts, trig.end)
        if k < len(doc.trigger_starts) and doc.trigger_starts[k] < cue:
            return None
        if rules.held is not None and rules.held.search(text, trig.end, cue):
            return None
        # "Putin and Xi will hold talks …": a person before the noun acts; the clause is theirs.
        # Not a possessive ("Lavrov's talks") nor whoever reports it ("Peskov said the talks").
        lo = trig.start - len(_clause_before(text, s.start, trig.start))
        for a in _actors_in(doc, s):
            if a.start < lo or a.end > trig.start or a.weak or not _is_person(a):
                continue
            if text[a.end : a.end + 1] in ("'", "’"):
                continue
            reporting = rules.reporting_any
            if reporting is None or reporting.search(text, a.end, trig.start) is None:
                return None
        return status

    def _contact(
        self,
        doc: _Doc,
        idx: int,
        s: Sentence,
        actors: list[ActorMention],
        trig: _Trigger,
        etype: str,
        dyad: _Dyad | None,
        third: list[Any],
        first_contact: int,
    ) -> _Candidate | None:
        """A meeting or call: a person of each side, attached to this trigger."""
        confidence = 0.9
        spans: list[tuple[int, int]] = [(trig.start, trig.end)]
        picked: dict[str, ActorMention] = {}
        for country in ("CN", "RU"):
            a = _nearest(actors, country, trig.start, doc.text, trig.end)
            if a is not None:
                picked[country] = a
        # A third party as the subject ("Modi held talks with Xi and Putin"): their meeting.
        if third:
            first_third = min(m.start() for m in third)
            for lead in (trig.start, first_contact):
                if first_third < lead and not any(
                    a.start < lead for a in actors if a.country in ("CN", "RU") and _is_person(a)
                ):
                    return None
        participants: dict[str, list[Participant]] = {
            c: [_participant(a)] for c, a in picked.items()
        }
        spans.extend((a.start, a.end) for a in picked.values())
        if dyad is not None and dyad.kind in doc.rules.dyad_roles:
            # "the two leaders", "the foreign ministers of Russia and China": the office holders,
            # unless persons stand closer to the trigger than the phrase does.
            d_dyad = _distance(dyad.start, dyad.end, trig.start)
            resolved = self._dyad_holders(dyad.kind, doc.published)
            adjacent = d_dyad <= DYAD_ADJACENT
            for p in resolved:
                a = picked.get(p.country)
                # A phrase that is the trigger's own noun group ("a Russian-Chinese summit")
                # outranks whoever announced it; elsewhere it only fills a side nobody names
                # ("Lavrov said, before the meeting, that the leaders' summit..." is no Xi–Lavrov).
                if (a is None and (adjacent or not picked)) or (
                    adjacent and a is not None and _distance(a.start, a.end, trig.start) > d_dyad
                ):
                    participants[p.country] = [p]
            spans.append((dyad.start, dyad.end))
            confidence -= 0.05
        missing = [c for c in ("CN", "RU") if c not in participants]
        if len(missing) == 1:
            other = "RU" if missing[0] == "CN" else "CN"
            twin = self._counterpart(doc, s, participants[other][0], missing[0])
            if twin is None and VISIT.match(trig.text.strip()):
                twin = self._host(doc, participants[other][0], missing[0], actors)
            if twin is not None:
                participants[missing[0]] = [twin]
                missing = []
                confidence -= 0.05
        if missing and any(m.start() <= trig.end + 40 for m in third):
            return None  # the other party here may be the third one: borrow nobody
        if missing:
            borrowed = self._borrow(doc, idx, missing)
            if len(borrowed) < len(missing):
                return None
            for p in borrowed:
                participants[p.country] = [p]
            confidence -= 0.2 if len(missing) == 1 else 0.3
        if third:
            confidence -= 0.05
        status = self._status(doc, s, trig)
        return _Candidate(
            type=etype,
            status=status,
            sentence=s,
            participants=[p for c in ("CN", "RU") for p in participants[c]],
            spans=spans,
            confidence=confidence,
            trigger=trig,
            countries=frozenset({"CN", "RU"}),
        )

    def _counterpart(
        self, doc: _Doc, s: Sentence, known: Participant, country: str
    ) -> Participant | None:
        """ "Lavrov and his Chinese counterpart": the holder of the matching office that day."""
        rules = _sentence_rules(doc, s)
        if rules.counterpart_words is None or not rules.counterpart_words.search(
            doc.text, s.start, s.end
        ):
            return None
        if not known.person_id:
            return None
        office = self.gaz.role_on(known.person_id, doc.published)
        roles = [office[0]] if office else []
        if known.role and known.role not in roles:
            roles.insert(0, known.role)
        for role in roles:
            for twin_role in rules.counterparts.get(role, [role]):
                ids = self.gaz.holders(twin_role, country, doc.published)
                if len(ids) == 1:
                    return self._person(ids[0], doc.published)
        return None

    def _host(
        self, doc: _Doc, guest: Participant, country: str, actors: list[ActorMention]
    ) -> Participant | None:
        """A leader's visit to the other country ("Xi will pay a state visit to Russia") is a
        meeting with the host's leader of the same rank."""
        if not any(a.country == country and a.kind in ("country", "institution") for a in actors):
            return None
        kind = {"head_of_state": "head_of_state", "head_of_government": "head_of_government"}.get(
            guest.level or ""
        )
        if kind is None:
            return None
        for p in self._dyad_holders(kind, doc.published):
            if p.country == country:
                return p
        return None

    def _person(self, person_id: str, on: date | None) -> Participant | None:
        try:
            person = self.gaz.person(person_id)
        except KeyError:
            return None
        office = self.gaz.role_on(person_id, on)
        return Participant(
            name=person.name,
            person_id=person_id,
            country=person.country,
            role=office[0] if office else None,
            title=office[1] if office else None,
            level=office[2] if office else None,
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
                if self._leaders(doc, j):
                    continue  # a sentence about someone else's leader lends nobody
                found = [
                    a
                    for a in _actors_in(doc, doc.sentences[j])
                    if a.country == country and _is_person(a)
                ]
                if found:
                    # the nearest one: last of the sentence before, first of the one after
                    out.append(_participant(found[-1] if j < idx else found[0]))
                    break
        return out

    def _measure(
        self,
        doc: _Doc,
        s: Sentence,
        actors: list[ActorMention],
        trig: _Trigger,
        etype: str,
        dyad: _Dyad | None,
        companies: bool,
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
        if dyad is not None:
            spans.append((dyad.start, dyad.end))
            if dyad.kind in doc.rules.dyad_roles and not participants:
                participants = self._dyad_holders(dyad.kind, doc.published)
        persons_sides = {p.country for p in participants}
        confidence = 0.85 if persons_sides == {"CN", "RU"} else 0.7
        if etype == "economic" and companies:
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
        rules = _sentence_rules(doc, cand.sentence)
        s = cand.sentence
        text = doc.text
        status = cand.status
        prefer = "future" if status == "planned" else "past"
        found = list(self._event_dates(doc, s, prefer))
        if not found and doc.lang in rules.months and doc.published:
            found = _month_names(rules.months[doc.lang], s.text, doc.published, prefer)
        trig_rel = cand.trigger.start - s.start
        best: sdates.DateMention | None = None
        if not found and rules.sequel is not None and rules.sequel.match(s.text):
            # "Later, Putin received Wang Yi": the story goes on at the previous sentence's date.
            k = doc.sentences.index(s)
            if k > 0:
                prev = doc.sentences[k - 1].text
                earlier = sdates.find_dates(prev, doc.lang, doc.published, prefer="past")
                if earlier:
                    best = earlier[-1]
        # A date across a quote mark dates what the quote says, not the trigger's event.
        found = [d for d in found if not _QUOTE.search(s.text, *sorted((d.start, trig_rel)))]
        if found:
            best = min(found, key=lambda d: _date_score(s.text, d, trig_rel))
        event_date = best.date if best else None
        event_end = best.end_date if best and best.end_date and best.end_date != best.date else None
        date_text = best.text if best else None
        pub = doc.published
        if pub and best:
            last = best.end_date or best.date
            if status == "held" and best.date > pub and best.precision == "day":
                status = "planned"
            elif status == "held" and best.date > pub:
                # "next month" cannot date a contact reported as done: the date is another's
                best, event_date, event_end, date_text = None, None, None, None
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
        location = self._location(doc, s, cand.trigger)
        rnd = self._round(doc, s)
        if rnd is None and doc.title_end:
            rnd_title = _round_of(doc, text[: doc.title_end])
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

    def _event_dates(self, doc: _Doc, s: Sentence, prefer: str) -> tuple[sdates.DateMention, ...]:
        """Dates in the sentence that may date its event (not the reporting or a "since")."""
        key = (s.text, prefer)
        cached = doc.dates.get(key)
        if cached is not None:
            return cached  # the same sentence text (another trigger, a repeat) has the same dates
        rules = _sentence_rules(doc, s)
        found = tuple(
            d
            for d in _find_dates(s.text, doc.lang, doc.published, prefer)
            if not _reported(rules.reporting, s.text, d.start, d.end)
            and not _reported(rules.validity, s.text, d.start, d.end)
            and not (rules.since and rules.since.search(s.text, max(0, d.start - 70), d.start))
        )
        doc.dates[key] = found
        return found

    def _round(self, doc: _Doc, s: Sentence) -> int | None:
        """The meeting round the sentence names ("the 28th meeting"), once per sentence."""
        return _round_of(doc, s.text)

    def _location(self, doc: _Doc, s: Sentence, trig: _Trigger) -> str | None:
        best: tuple[int, str] | None = None
        for start, city in self._places(doc, s):
            d = abs(start - trig.start)
            if best is None or d < best[0]:
                best = (d, city)
        return best[1] if best else None

    def _places(self, doc: _Doc, s: Sentence) -> list[tuple[int, str]]:
        """The known places a sentence names, with where they start; once per sentence."""
        found = doc.places.get(s.start)
        if found is not None:
            return found
        text = doc.text
        rules = _sentence_rules(doc, s)
        found = []
        for scan in rules.location_any:
            for m in scan.pattern.finditer(text, s.start, s.end):
                if m.group(0).isupper() and len(m.group(0)) > 3:
                    continue  # a dateline ("BEIJING, Oct. 31"): where it was filed, not held
                city = rules.city_of(m.group(0))
                if city:
                    found.append((m.start(), city))
        doc.places[s.start] = found
        return found


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
    if not sides_agree(a.participants, b.participants):
        return False
    if a.event_date and b.event_date:
        sa = (a.event_date, a.event_end or a.event_date)
        sb = (b.event_date, b.event_end or b.event_date)
        gap = max((sb[0] - sa[1]).days, (sa[0] - sb[1]).days, 0)
        if gap > 3:
            return False
    if a.status == b.status:
        return True
    # A planned and a held report of one contact: only when dated close together.
    return bool(a.event_date and b.event_date)


def _absorbed_by_call(m: Mention, calls: list[Mention]) -> bool:
    """A "meeting" of the same two people on the day of their call is the call itself."""
    if m.type != "meeting":
        return False
    for c in calls:
        if not (m.person_ids and m.person_ids <= c.person_ids | m.person_ids) or not (
            m.person_ids & c.person_ids
        ):
            continue
        if not sides_agree(m.participants, c.participants):
            continue
        if m.event_date is None or c.event_date is None or m.event_date == c.event_date:
            return True
    return False


def merge_mentions(mentions: list[Mention]) -> list[Mention]:
    """Several mentions of one event in one article become one (the strongest evidence)."""
    calls = [m for m in mentions if m.type == "call" and not m.background]
    if calls:
        mentions = [m for m in mentions if not _absorbed_by_call(m, calls)]
    groups: list[list[Mention]] = []
    for m in mentions:
        for g in groups:
            # the first and the latest members stand for the group (linear on long inputs)
            if all(_compatible(m, other) for other in g[:1] + g[-MERGE_PEERS:]):
                g.append(m)
                break
        else:
            groups.append([m])
    out: list[Mention] = []
    for g in groups:
        # Explicitly dated reports first: their status and date are stated, not inferred.
        g.sort(key=lambda m: (m.background, m.date_text is None, -m.confidence))
        head = g[0]
        people = _dedupe([p for m in g for p in m.participants])
        status = head.status
        if status == "planned" and any(
            m.status == "held" and m.date_text and not m.background for m in g
        ):
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
                confidence=min(1.0, max(m.confidence for m in g) + 0.03 * (len(g) - 1)),
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
    detector = Detector()
    detector.rules.prepare()
    sdates.prepare()
    return detector


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
