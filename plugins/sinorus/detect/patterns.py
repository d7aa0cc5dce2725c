"""What `re` patterns can match, read from CPython's own parser: for skipping searches early."""

from __future__ import annotations

import _sre
import importlib
import re
from functools import cache
from typing import Any

# CPython's pattern parser and case tables (3.11+); without them every helper says "unknown".
try:
    PARSER: Any = importlib.import_module("re._parser")
    CASE_EXTRA: dict[int, tuple[int, ...]] = importlib.import_module("re._casefix")._EXTRA_CASES
    TOLOWER: Any = _sre.unicode_tolower
    ISCASED: Any = _sre.unicode_iscased
    MAXREPEAT: Any = importlib.import_module("re._constants").MAXREPEAT
except (ImportError, AttributeError):  # pragma: no cover - another Python implementation
    PARSER = None
    CASE_EXTRA = {}
    TOLOWER = ISCASED = MAXREPEAT = None


def case_closure(codes: set[int]) -> set[int]:
    """Every character that matches one of `codes` in a pattern ignoring case."""
    out: set[int] = set()
    for code in codes:
        out.update(_closure_of(code))
    return out


@cache
def _closure_of(code: int) -> frozenset[int]:
    # re compares a cased character by its lower case and the few it treats alike (_EXTRA_CASES)
    if not ISCASED(code):
        return frozenset({code})
    low = int(TOLOWER(code))
    keys = {low, *CASE_EXTRA.get(low, ())}
    # Characters lower-case within their own plane (a test checks that for the running Python),
    # so the letters of the first plane, where the patterns' letters are, need one pass over it.
    plane = code & ~0xFFFF
    if plane:
        found: set[int] = set(range(plane, plane + 0x10000))
    else:
        found = {c for key in keys for c in (key, *_lowers_to().get(key, ()))}
    return frozenset(c for c in found if TOLOWER(c) in keys)


@cache
def parsed(pattern: str) -> tuple[Any, ...]:
    """The items of a pattern as CPython's parser reads it (without flags)."""
    return tuple(PARSER.parse(pattern).data)


@cache
def _lowers_to() -> dict[int, tuple[int, ...]]:
    """For each code point of the first plane, the others whose lower case it is (K for k)."""
    found: dict[int, list[int]] = {}
    for code in range(0x10000):  # the first plane: see _closure_of
        low = int(TOLOWER(code))
        if low != code:
            found.setdefault(low, []).append(code)
    return {low: tuple(codes) for low, codes in found.items()}


_DIGITS = frozenset(range(ord("0"), ord("9") + 1))


def _always_consumes(items: Any, codes: frozenset[int]) -> bool:
    """Whether every match of a parsed pattern consumes one of `codes`; False when unsure."""
    for op, av in items:
        name = str(op)
        if name == "LITERAL" and av in codes:
            return True
        if (
            name == "IN"
            and av
            and all(
                (str(kind) == "LITERAL" and arg in codes)
                or (str(kind) == "RANGE" and codes.issuperset(range(arg[0], arg[1] + 1)))
                for kind, arg in av
            )
        ):
            return True
        if name == "SUBPATTERN" and _always_consumes(av[-1].data, codes):
            return True
        if name == "BRANCH" and all(_always_consumes(alt.data, codes) for alt in av[1]):
            return True
        if (
            name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")
            and av[0] >= 1
            and _always_consumes(av[2].data, codes)
        ):
            return True
    return False


@cache
def needs_digit(pattern: re.Pattern[str]) -> bool:
    """Whether the pattern can only match text holding an ASCII digit."""
    if PARSER is None:
        return False
    return _always_consumes(PARSER.parse(pattern.pattern, pattern.flags).data, _DIGITS)


_Words = list[tuple[str, bool]]  # (literal, ignoring case)


def _required(items: Any, ignorecase: bool) -> _Words | None:
    """Literals one of which every match of the parsed sequence holds; None when unsure."""
    best: _Words | None = None
    run: list[str] = []

    def consider(words: _Words | None) -> None:
        nonlocal best
        if words and (best is None or _score(words) > _score(best)):
            best = words

    for op, av in [*items, (None, None)]:
        name = str(op)
        if name == "LITERAL":
            run.append(chr(av))
            continue
        if run:
            consider([("".join(run), ignorecase)])
            run = []
        if name == "SUBPATTERN":
            _group, add, remove, sub = av
            flag = (ignorecase or bool(add & re.IGNORECASE)) and not remove & re.IGNORECASE
            consider(_required(sub.data, flag))
        elif name == "BRANCH":
            alternatives = [_required(alt.data, ignorecase) for alt in av[1]]
            if all(alternatives):
                consider([w for words in alternatives if words for w in words])
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") and av[0] >= 1:
            consider(_required(av[2].data, ignorecase))
    return best


def _score(words: _Words) -> tuple[int, int]:
    # the shortest word decides how often the search succeeds in vain; then fewer words
    return min(len(w) for w, _ in words), -len(words)


@cache
def required_words(pattern: re.Pattern[str]) -> re.Pattern[str] | None:
    """A search for words one of which every match of the pattern holds; None when unknown."""
    if PARSER is None:
        return None
    words = _required(
        PARSER.parse(pattern.pattern, pattern.flags).data, bool(pattern.flags & re.IGNORECASE)
    )
    if not words or _score(words)[0] < 3:
        return None
    return word_search(words)


def word_search(words: _Words) -> re.Pattern[str]:
    """A search for any of the words, each matched with or without case as given."""
    # Each alternative opens with a plain character (a word ignoring case once per case form
    # of its first letter), so `re` skips to those characters instead of trying every position.
    alternatives: set[str] = set()
    for word, ignorecase in words:
        rest = f"(?i:{re.escape(word[1:])})" if ignorecase and word[1:] else re.escape(word[1:])
        firsts = case_closure({ord(word[0])}) if ignorecase else {ord(word[0])}
        alternatives.update(re.escape(chr(first)) + rest for first in firsts)
    return re.compile("|".join(sorted(alternatives, key=lambda a: (-len(a), a))))
