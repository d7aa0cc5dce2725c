"""Sentence splitting with character offsets, for Latin, Cyrillic and CJK text."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Tokens after which a full stop does not end a sentence (titles, months, initials).
_ABBREVIATIONS = frozenset(
    {
        "mr",
        "mrs",
        "ms",
        "dr",
        "st",
        "no",
        "vs",
        "gen",
        "col",
        "lt",
        "sgt",
        "prof",
        "jr",
        "sr",
        "inc",
        "ltd",
        "co",
        "corp",
        "dept",
        "govt",
        "gov",
        "pres",
        "rep",
        "sen",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "approx",
        "est",
        "fig",
        "etc",
        "al",
        "u.s",
        "u.k",
        "u.n",
        "e.g",
        "i.e",
        "г",
        "гг",
        "т.е",
        "т.д",
        "ул",
        "им",
        "тыс",
        "млн",
        "млрд",
        "руб",
        "долл",
    }
)
# A sentence end: terminal punctuation (with closing quotes/brackets) then space, or a CJK stop.
# The one class in front takes every branch's first character, so `re` skips to the stops
# without entering the pattern; each branch then checks which stop it took.
_END = re.compile(
    r"[.!?…。！？\n](?:(?<=[.!?…])(?<![.!?…].)[.!?…]*[\"'”’»)\]]*(?=\s)"
    r"|(?<=[。！？!?])[。！？!?]*[”’」』）)]*|(?<=\n)\s*)"
)
# A stop glued to the next sentence ("...the war.Beijing this week"), common in scraped text;
# the sentence ends after the stop. A scan of its own: it never falls inside an _END match.
_GLUED = re.compile(r"[.!?](?=[A-ZА-ЯЁ][a-zа-яё])(?<=[a-zа-яё]{2}[.!?])")
# Letters in a row before a stop that no abbreviation has (the longest, "approx", has six).
_LONG_WORD = 7
_WORD_BEFORE = re.compile(r"([^\s(\"'“«]+)$")
# Runs, not single characters: counting a run's length is the same count with fewer matches.
# Each opens with one plain class (X+ would be a repeat), so `re` skips to the script's letters.
_SCRIPT_CYR = re.compile(r"[\u0400-\u04FF][\u0400-\u04FF]*")
_SCRIPT_CJK = re.compile(r"[\u4E00-\u9FFF][\u4E00-\u9FFF]*")
_NOT_ASCII_LETTER = bytes(b for b in range(256) if not (65 <= b <= 90 or 97 <= b <= 122))
_SCRIPT_DEVA = re.compile(r"[\u0900-\u097F][\u0900-\u097F]*")


@dataclass(frozen=True)
class Sentence:
    """One sentence: its text and where it sits in the document."""

    start: int
    end: int
    text: str


def _is_abbreviation(text: str, stop: int) -> bool:
    """Whether the full stop at `stop` closes an abbreviation or an initial, not a sentence."""
    if text[stop] != ".":
        return False
    if stop >= _LONG_WORD and text[stop - _LONG_WORD : stop].isalpha():
        return False  # the common case: a word longer than any abbreviation
    m = _WORD_BEFORE.search(text, max(0, stop - 12), stop)
    if not m:
        return False
    word = m.group(1).lower().rstrip(".")
    if len(word) == 1 and word.isalpha():
        return True  # an initial: "V. Putin", "U.S."
    return word in _ABBREVIATIONS or word.replace(".", "") in {"us", "uk", "un", "eu"}


def split_sentences(text: str) -> list[Sentence]:
    """Split text into sentences; offsets point into the original text."""
    ends = [
        m.end()
        for m in _END.finditer(text)
        if not (m.group(0)[:1] == "." and _is_abbreviation(text, m.start()))
    ]
    glued = [m.end() for m in _GLUED.finditer(text)]
    if glued:
        ends = sorted(set(ends).union(glued))
    sentences: list[Sentence] = []
    start = 0
    ends.append(len(text))
    for end in ends:
        # _append, inlined for the usual sentence: one space before it, none after
        a = start + 1 if start < end and text[start] == " " else start
        if a < end and not text[a].isspace() and not text[end - 1].isspace():
            if end - a <= MAX_SENTENCE:
                sentences.append(Sentence(a, end, text[a:end]))
            else:
                _append(sentences, text, a, end)
        else:
            _append(sentences, text, start, end)
        start = end
    return sentences


# Longer runs without a stop (tables, junk, CJK without punctuation) are cut into pieces, so
# one pathological "sentence" cannot make the per-sentence analysis quadratic.
MAX_SENTENCE = 1500


def _append(out: list[Sentence], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    while end - start > MAX_SENTENCE:
        cut = text.rfind(" ", start + MAX_SENTENCE // 2, start + MAX_SENTENCE)
        cut = cut if cut > start else start + MAX_SENTENCE
        out.append(Sentence(start, cut, text[start:cut]))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        out.append(Sentence(start, end, text[start:end]))


def guess_lang(text: str) -> str:
    """A language code from the dominant script of the first few thousand characters."""
    sample = text[:2000]
    if sample.isascii():
        cjk = cyr = deva = 0
    else:
        cjk = sum(map(len, _SCRIPT_CJK.findall(sample)))
        cyr = sum(map(len, _SCRIPT_CYR.findall(sample)))
        deva = sum(map(len, _SCRIPT_DEVA.findall(sample)))
    # ASCII letters counted in bytes: the letters survive dropping non-ASCII and non-letters.
    latin = len(sample.encode("ascii", "ignore").translate(None, _NOT_ASCII_LETTER))
    counts = {"zh": cjk * 3, "ru": cyr, "hi": deva, "en": latin}
    best = max(counts, key=lambda k: counts[k])
    return best if counts[best] > 0 else "en"
