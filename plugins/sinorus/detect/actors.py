"""Actor recognition: Chinese and Russian officials, role phrases, institutions and countries."""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml

from sinorus import settings
from sinorus.detect.model import LEVEL_RANK

Level = Literal["head_of_state", "head_of_government", "minister", "senior_official", "working"]


DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "actors"

KINDS = ("person", "role", "titled", "institution", "country")


@dataclass(frozen=True)
class ActorMention:
    """One actor named in a text, resolved against the gazetteer on the article's date."""

    start: int
    end: int
    text: str
    kind: str
    country: str
    person_id: str | None
    name: str | None
    role: str | None
    title: str | None
    level: str | None
    # adjectives and capitals ("Chinese", "in Moscow") describe more often than they act
    weak: bool = False


@dataclass(frozen=True)
class Role:
    """One office a person held between two dates (end None = still in office)."""

    role: str
    title: str
    level: str
    start: date
    end: date | None
    source: str | None = None
    approx: bool = False

    def active(self, on: date) -> bool:
        """Whether the office was held on that day (both ends inclusive)."""
        return self.start <= on and (self.end is None or on <= self.end)


@dataclass(frozen=True)
class Person:
    """A gazetteer entry: who, which side, every name we know them by, and their offices."""

    id: str
    name: str
    country: str
    roles: tuple[Role, ...]
    gender: str = "m"
    names: dict[str, tuple[str, ...]] = field(default_factory=dict)


class GazetteerError(ValueError):
    """The actor data is malformed; the message names the file and the entry."""


# ---------------------------------------------------------------------------------------------
# Text folding: same length in, same length out, so match offsets point into the original text.

_FOLD_MAP: dict[int, str] = {}


def _build_fold_map() -> None:
    for code in range(0x00C0, 0x0250):
        ch = chr(code)
        base = unicodedata.normalize("NFD", ch)[0]
        if base != ch and base.isascii() and base.isalpha():
            _FOLD_MAP[code] = base
    for src, dst in {
        "ё": "е",
        "Ё": "Е",
        "’": "'",
        "‘": "'",
        "ʼ": "'",
        "`": "'",
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u00a0": " ",
        "\u2009": " ",
        "\u202f": " ",
        "\u3000": " ",
        "ı": "i",
        "ß": "s",
    }.items():
        _FOLD_MAP[ord(src)] = dst


_build_fold_map()

# Lower-casing by table keeps offsets (str.lower can change a string's length).
_LOWER_MAP: dict[int, str] = {}
for _code in [*range(0x41, 0x5B), *range(0xC0, 0x250), *range(0x400, 0x530)]:
    _low = chr(_code).lower()
    if len(_low) == 1 and _low != chr(_code):
        _LOWER_MAP[_code] = _low


def _lower(folded: str) -> str:
    low = folded.lower()
    # lower() never shortens a string; the same length means every offset still lines up
    return low if len(low) == len(folded) else folded.translate(_LOWER_MAP)


_FOLD_RE: re.Pattern[str] | None = None


def fold(text: str) -> str:
    """Strip Latin accents, ё→е, unify quotes, dashes and spaces; keeps every offset."""
    # a regex that touches only the few characters to replace beats str.translate on non-ASCII
    global _FOLD_RE
    if _FOLD_RE is None:
        _FOLD_RE = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(_FOLD_MAP)) + "]")
    return _FOLD_RE.sub(_fold_char, text)


def _fold_char(m: re.Match[str]) -> str:
    return _FOLD_MAP[ord(m.group())]


_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_CJK_CHAR = "\u3400-\u9fff\uf900-\ufaff"
_CYR = re.compile(r"[\u0400-\u04ff]")


def _is_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


# ---------------------------------------------------------------------------------------------
# Russian declension: enough for personal names and the Chinese names Russian media decline.

_CASES = 6  # nominative, genitive, dative, accusative, instrumental, prepositional
_HUSHING = "жшчщц"


def _decline_word(word: str, part: str, gender: str) -> list[str]:
    """The six case forms of one word of a name; `part` is first/patronymic/surname/cn."""
    w = word
    low = w.lower()
    if "-" in w and part == "surname":
        pieces = w.split("-")
        declined = [_decline_word(p, part, gender) for p in pieces]
        return ["-".join(d[i] for d in declined) for i in range(_CASES)]
    if gender == "f":
        if part == "cn":
            return [w] * _CASES
        if part == "surname":
            if low.endswith(("ова", "ева", "ина", "ына", "ёва")):
                s = w[:-1]
                return [w, s + "ой", s + "ой", s + "у", s + "ой", s + "ой"]
            if low.endswith(("ая", "яя")):
                s = w[:-2]
                return [w, s + "ой", s + "ой", s + "ую", s + "ой", s + "ой"]
            return [w] * _CASES
        if low.endswith("ия"):
            s = w[:-1]
            return [w, s + "и", s + "и", s + "ю", s + "ей", s + "и"]
        if low.endswith("я"):
            s = w[:-1]
            return [w, s + "и", s + "е", s + "ю", s + "ей", s + "е"]
        if low.endswith("а"):
            s = w[:-1]
            gen = s + ("и" if s[-1:].lower() in "гкхжшчщ" else "ы")
            return [w, gen, s + "е", s + "у", s + "ой", s + "е"]
        return [w] * _CASES
    # masculine
    if low.endswith(("ий", "ый", "ой")) and part == "surname" and len(w) > 4:
        # adjectival surnames: Вяземский → Вяземским, Толстой → Толстым
        s = w[:-2]
        ins = s + ("им" if low.endswith("ий") else "ым")
        return [w, s + "ого", s + "ому", s + "ого", ins, s + "ом"]
    if low.endswith("ий"):
        s = w[:-1]
        return [w, s + "я", s + "ю", s + "я", s + "ем", s + "и"]
    if low.endswith(("й", "ь")):
        s = w[:-1]
        return [w, s + "я", s + "ю", s + "я", s + "ем", s + "е"]
    if part == "surname" and low.endswith(("ов", "ев", "ин", "ын", "ёв")):
        return [w, w + "а", w + "у", w + "а", w + "ым", w + "е"]
    if low.endswith(("ич",)):
        return [w, w + "а", w + "у", w + "а", w + "ем", w + "е"]
    if part == "first" and low.endswith("а"):
        s = w[:-1]
        gen = s + ("и" if s[-1:].lower() in "гкхжшчщ" else "ы")
        return [w, gen, s + "е", s + "у", s + "ой", s + "е"]
    if part == "first" and low.endswith("я"):
        s = w[:-1]
        return [w, s + "и", s + "е", s + "ю", s + "ей", s + "е"]
    if low[-1:] in "аеёиоуыэюя" or not low[-1:].isalpha():
        return [w] * _CASES  # Шойгу, Руденко, Ван И: not declined
    ins = w + ("ем" if low[-1] in _HUSHING else "ом")
    return [w, w + "а", w + "у", w + "а", ins, w + "е"]


def russian_case_forms(name: str, *, gender: str = "m", origin: str = "RU") -> list[str]:
    """Case forms of a name in Cyrillic: every word of a Russian name, the last of a Chinese one.

    "Сергей Лавров" → "Сергея Лаврова", "Сергеем Лавровым" …; "Си Цзиньпин" → "Си Цзиньпином";
    "Ван И" stays as it is.
    """
    words = name.split()
    if not words:
        return []
    per_word: list[list[str]] = []
    for i, word in enumerate(words):
        last = i == len(words) - 1
        if origin == "CN":
            part = "cn" if last else "fixed"
        elif len(words) == 1 or last:
            part = "surname"
        elif i == 0:
            part = "first"
        elif word.lower().endswith(("вич", "ич", "вна", "чна", "шна")):
            part = "patronymic"
        else:
            part = "first"
        if part == "fixed":
            per_word.append([word] * _CASES)
        elif part == "cn":
            per_word.append([word] * _CASES if gender == "f" else _decline_word(word, "cn", "m"))
        elif part == "patronymic" and gender == "f":
            s = word[:-1]
            per_word.append([word, s + "ы", s + "е", s + "у", s + "ой", s + "е"])
        else:
            per_word.append(_decline_word(word, part, gender))
    forms: list[str] = []
    for case in range(_CASES):
        form = " ".join(w[case] for w in per_word)
        if form not in forms:
            forms.append(form)
    return forms


# ---------------------------------------------------------------------------------------------
# Combined matchers: one regex per table, built as a character trie so each text position costs
# at most the length of the longest alias, whatever the number of aliases.


def _trie_pattern(words: Iterable[str]) -> str:
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}
    return _emit(trie)


def _emit(node: dict[str, Any]) -> str:
    ends = "" in node
    alts = []
    for ch in sorted(k for k in node if k):
        piece = r"\s+" if ch == " " else ("-\\s?" if ch == "-" else re.escape(ch))
        alts.append(piece + _emit(node[ch]))
    if not alts:
        return ""
    body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
    if ends:
        # greedy: the longer alias is tried first, the shorter one on backtracking
        return "(?:" + body + ")?"
    return body


# After a word: no letter, and no apostrophe + letter (Xi'an), except the possessive 's.
_WORD_END = r"(?![\w\u0301\u0900-\u097f])(?!'(?!s\b)\w)"
_WORD_CHAR = re.compile(r"[\w'\u0301\u0900-\u097f]")


@dataclass(frozen=True)
class _Target:
    """What one surface form can stand for."""

    kind: str
    country: str
    person_id: str | None = None
    full: bool = True  # False: a bare surname that needs the full name elsewhere in the text
    phrase: str | None = None  # role phrase key
    weak: bool = False
    zh_strict: bool = False  # two-character Chinese name: check its neighbours
    zh_left: bool = False  # 国家主席 without 中国: another country's name may precede it


@dataclass
class _Candidate:
    start: int
    end: int
    targets: tuple[_Target, ...]
    person_id: str | None = None
    kind: str = ""
    country: str = ""
    role: str | None = None
    definite: bool = False
    weak: bool = False
    name: str | None = None
    title: str | None = None
    level: str | None = None


@dataclass(frozen=True)
class _Phrase:
    key: str
    country: str
    role: str
    holders: tuple[tuple[str, date, date | None], ...] | None


@dataclass(frozen=True)
class _TitledRule:
    """One "<country> <title> <Name>" pattern; title_before: a title checked left of the match."""

    lang: str
    regex: re.Pattern[str]
    title_before: re.Pattern[str] | None = None
    # A character that may not stand just before a match; checked per match (see _bounded).
    left: re.Pattern[str] | None = None


def _without_possessive(word: str) -> str:
    """The word without an English possessive ("Lavrov's" → "Lavrov", "Andreas'" → "Andreas")."""
    # the text is folded, so ’ has become '; a name never ends in an apostrophe
    if word.endswith("'s"):
        return word[:-2]
    return word.rstrip("'")


_ZH_NAME_STOP = set("表会在说与同和出时对称指向等一率将也已就于的是为并及今日应")


def _as_date(value: Any, where: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise GazetteerError(f"{where}: bad date {value!r}") from exc


def _str_list(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise GazetteerError(f"{where}: expected a list of strings, got {value!r}")
    return value


class Gazetteer:
    """People, role phrases, institutions and titles, compiled for fast matching."""

    def __init__(self, data: dict[str, Any], origin: str = "<data>") -> None:
        self._origin = origin
        self.roles_meta: dict[str, tuple[str, str]] = {}
        self._role_order: dict[str, int] = {}
        self.people: dict[str, Person] = {}
        self._sens: dict[str, list[_Target]] = {}
        self._insens: dict[str, list[_Target]] = {}
        self._cjk: dict[str, list[_Target]] = {}
        self._phrases: dict[str, _Phrase] = {}
        self._by_role: dict[tuple[str, str], list[tuple[str, Role]]] = {}
        self._roles_cache: dict[tuple[str, date], tuple[Role, ...]] = {}
        self._canon: dict[str, set[str]] = {}
        self._canon_short: dict[str, set[str]] = {}
        self._load_roles(data.get("roles") or {})
        self._variants = self._load_variants(data.get("first_names") or [])
        self._first_names: set[str] = set(self._variants)
        for name in _str_list(data.get("ru_first_names"), "ru_first_names"):
            female = name.endswith(("а", "я"))
            self._first_names.update(
                russian_case_forms(fold(name), gender="f" if female else "m", origin="RU")
            )
        for i, entry in enumerate(data.get("people") or []):
            self._load_person(entry, f"{origin}: people[{i}]")
        for i, entry in enumerate(data.get("role_phrases") or []):
            self._load_phrase(entry, f"{origin}: role_phrases[{i}]")
        for i, entry in enumerate(data.get("institutions") or []):
            self._load_institution(entry, f"{origin}: institutions[{i}]")
        context = data.get("zh_context") or {}
        self._zh_before = tuple(
            sorted(set(_str_list(context.get("before"), "zh_context")), key=len)
        )
        self._zh_after = tuple(sorted(set(_str_list(context.get("after"), "zh_context")), key=len))
        self._name_stop = frozenset(_str_list(data.get("name_stop_words"), "name_stop_words"))
        self._titled = self._compile_titles(data.get("countries") or {}, data.get("titles") or [])
        self._re_sens = self._compile(self._sens, flags=0)
        self._re_insens = self._compile(self._insens, flags=0)
        self._re_cjk = self._compile(self._cjk, flags=0, bounded=False)

    # -- loading -------------------------------------------------------------------------------

    @classmethod
    def load(cls, path: Path | None = None) -> Gazetteer:
        """Load a YAML file, or every *.yaml of a directory (default: the package data)."""
        path = path or DATA_DIR
        files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
        if not files:
            raise GazetteerError(f"{path}: no actor YAML files")
        merged: dict[str, Any] = {}
        for file in files:
            try:
                doc = settings.parse_yaml(file.read_text(encoding="utf-8"))
            except (OSError, yaml.YAMLError) as exc:
                raise GazetteerError(f"{file}: cannot read: {exc}") from exc
            if doc is None:
                continue
            if not isinstance(doc, dict):
                raise GazetteerError(f"{file}: expected a mapping at the top")
            for key, value in doc.items():
                if isinstance(value, list):
                    merged.setdefault(key, []).extend(value)
                elif isinstance(value, dict):
                    merged.setdefault(key, {}).update(value)
                else:
                    raise GazetteerError(f"{file}: {key}: expected a list or a mapping")
        return cls(merged, origin=str(path))

    def _load_roles(self, roles: Any) -> None:
        if not isinstance(roles, dict):
            raise GazetteerError(f"{self._origin}: roles: expected a mapping")
        for i, (key, meta) in enumerate(roles.items()):
            if not isinstance(meta, dict) or meta.get("level") not in LEVEL_RANK:
                raise GazetteerError(
                    f"{self._origin}: roles.{key}: needs a title and a valid level"
                )
            self.roles_meta[str(key)] = (str(meta.get("title") or key), str(meta["level"]))
            self._role_order[str(key)] = i

    @staticmethod
    def _load_variants(groups: Any) -> dict[str, tuple[str, ...]]:
        variants: dict[str, tuple[str, ...]] = {}
        for group in groups:
            names = tuple(dict.fromkeys(fold(str(n)) for n in group))
            for n in names:
                variants[n] = names
        return variants

    def _load_person(self, entry: Any, where: str) -> None:
        if not isinstance(entry, dict) or not entry.get("id") or not entry.get("name"):
            raise GazetteerError(f"{where}: a person needs an id and a name")
        pid = str(entry["id"])
        where = f"{where} ({pid})"
        country = str(entry.get("country") or "")
        if country not in ("CN", "RU"):
            raise GazetteerError(f"{where}: country must be CN or RU, not {country!r}")
        gender = str(entry.get("gender") or "m")
        roles: list[Role] = []
        for j, r in enumerate(entry.get("roles") or []):
            rw = f"{where}: roles[{j}]"
            if not isinstance(r, dict) or r.get("role") not in self.roles_meta:
                raise GazetteerError(
                    f"{rw}: unknown role key {r.get('role') if isinstance(r, dict) else r!r}"
                )
            if r.get("level") not in LEVEL_RANK:
                raise GazetteerError(f"{rw}: bad level {r.get('level')!r}")
            start = _as_date(r.get("start"), rw)
            if start is None:
                raise GazetteerError(f"{rw}: needs a start date")
            roles.append(
                Role(
                    role=str(r["role"]),
                    title=str(r.get("title") or self.roles_meta[str(r["role"])][0]),
                    level=str(r["level"]),
                    start=start,
                    end=_as_date(r.get("end"), rw),
                    source=r.get("source"),
                    approx=bool(r.get("approx")),
                )
            )
        en = _str_list(entry.get("en"), f"{where}: en")
        ru = _str_list(entry.get("ru"), f"{where}: ru")
        zh = _str_list(entry.get("zh"), f"{where}: zh")
        short = entry.get("short") or {}
        short_en = _str_list(short.get("en"), f"{where}: short.en")
        short_ru = _str_list(short.get("ru"), f"{where}: short.ru")
        alone = set(_str_list(short.get("alone"), f"{where}: short.alone"))
        self.people[pid] = Person(
            id=pid,
            name=str(entry["name"]),
            country=country,
            roles=tuple(roles),
            gender=gender,
            names={"en": tuple(en), "ru": tuple(ru), "zh": tuple(zh)},
        )
        person = _Target("person", country, pid)
        anaphor = _Target("person", country, pid, full=False)
        for name in self._latin_variants(en, country):
            self._add(self._sens, name, person)
        for name in ru:
            for form in russian_case_forms(name, gender=gender, origin=country):
                self._add(self._sens, form, person)
        for name in _str_list(entry.get("other"), f"{where}: other"):
            self._add_phrase(name, person)
        for name in zh:
            strict = country == "CN" and len(name) == 2
            self._add(self._cjk, name, _Target("person", country, pid, zh_strict=strict))
        for name in short_en:
            self._add(self._sens, name, person if "en" in alone else anaphor)
        for name in short_ru:
            forms = (
                russian_case_forms(name, gender=gender, origin="RU") if country == "RU" else [name]
            )
            for form in forms:
                self._add(self._sens, form, person if "ru" in alone else anaphor)

    def _latin_variants(self, names: list[str], country: str) -> list[str]:
        out: list[str] = []
        for name in names:
            out.append(name)
            words = fold(name).split()
            if country == "RU" and len(words) >= 2 and words[0] in self._variants:
                for first in self._variants[words[0]]:
                    out.append(" ".join([first, *words[1:]]))
        return list(dict.fromkeys(out))

    def _load_phrase(self, entry: Any, where: str) -> None:
        if not isinstance(entry, dict) or entry.get("role") not in self.roles_meta:
            raise GazetteerError(f"{where}: a role phrase needs a known role key")
        country = str(entry.get("country") or "")
        if country not in ("CN", "RU"):
            raise GazetteerError(f"{where}: country must be CN or RU")
        key = str(entry.get("key") or f"{country}-{entry['role']}")
        holders = None
        if entry.get("holders"):
            holders = tuple(
                (
                    str(h["id"]),
                    _as_date(h["start"], where) or date.min,
                    _as_date(h.get("end"), where),
                )
                for h in entry["holders"]
            )
        self._phrases[key] = _Phrase(key, country, str(entry["role"]), holders)
        target = _Target("role", country, phrase=key)
        # 越南国家主席 is Vietnam's president: a Chinese phrase without 中 needs a clean left side
        unmarked = _Target("role", country, phrase=key, zh_left=country == "CN")
        for lang in ("en", "ru", "zh"):
            for text in _str_list(entry.get(lang), f"{where}: {lang}"):
                bare = lang == "zh" and not text.startswith(("中", "我国", "我國"))
                self._add_phrase(text, unmarked if bare else target)

    def _load_institution(self, entry: Any, where: str) -> None:
        if not isinstance(entry, dict):
            raise GazetteerError(f"{where}: expected a mapping")
        country = str(entry.get("country") or "")
        kind = str(entry.get("kind") or "institution")
        if country not in ("CN", "RU", "CNRU") or kind not in ("institution", "country"):
            raise GazetteerError(f"{where}: needs country CN/RU/CNRU and kind institution/country")
        target = _Target(kind, country, weak=bool(entry.get("weak")))
        for lang in ("en", "ru", "zh", "other"):
            for text in _str_list(entry.get(lang), f"{where}: {lang}"):
                self._add_phrase(text, target)

    def _add_phrase(self, text: str, target: _Target) -> None:
        if _is_cjk(text):
            self._add(self._cjk, text, target)
        elif " " in text.strip():
            self._add(self._insens, text, target)
        else:
            self._add(self._sens, text, target)

    def _add(self, table: dict[str, list[_Target]], text: str, target: _Target) -> None:
        key = " ".join(fold(text).split())
        if not key:
            return
        if table is self._insens:
            key = _lower(key)
        bucket = table.setdefault(key, [])
        if target not in bucket:
            bucket.append(target)
        if target.person_id:
            index = self._canon if target.full else self._canon_short
            index.setdefault(key.lower(), set()).add(target.person_id)

    @staticmethod
    def _compile(
        table: dict[str, list[_Target]], flags: int, bounded: bool = True
    ) -> re.Pattern[str] | None:
        if not table:
            return None
        body = _trie_pattern(table)
        if bounded:
            # the left boundary is checked per match: a leading lookbehind would stop the
            # regex engine from skipping ahead to the possible first characters
            body = "(?:" + body + ")" + _WORD_END
        return re.compile(body, flags)

    def _compile_titles(self, countries: Any, titles: Any) -> list[_TitledRule]:
        """Regexes for "<country> <title> <Name>" in each language."""

        def alts(words: Iterable[str], stem: bool = False) -> str:
            parts = []
            for w in sorted(set(words), key=len, reverse=True):
                p = re.escape(fold(w)).replace(r"\ ", r"\s+")
                if stem:
                    p = p.replace(r"\*", r"\w*")
                parts.append(p)
            return "|".join(parts)

        if not titles:
            return []
        self._title_level: dict[str, dict[str, str]] = {"en": {}, "ru": {}, "zh": {}}
        self._title_country: dict[str, dict[str, str]] = {}
        by_lang: dict[str, list[str]] = {"en": [], "ru": [], "zh": []}
        for t in titles:
            level = str(t.get("level"))
            if level not in LEVEL_RANK:
                raise GazetteerError(f"{self._origin}: titles: bad level {level!r}")
            for lang in by_lang:
                for w in _str_list(t.get(lang), f"titles.{lang}"):
                    by_lang[lang].append(w)
                    self._title_level[lang][fold(w).lower()] = level
        self._title_stems = [
            (
                re.compile(
                    re.escape(fold(w).lower()).replace(r"\*", r"\w*").replace(r"\ ", r"\s+")
                ),
                lvl,
            )
            for w, lvl in self._title_level["ru"].items()
        ]
        ctry: dict[str, dict[str, list[str]]] = {}
        for lang, sides in (countries or {}).items():
            for side, words in (sides or {}).items():
                ctry.setdefault(str(lang), {})[str(side)] = _str_list(words, f"countries.{lang}")
                for w in words:
                    self._title_country.setdefault(str(lang), {})[fold(w).lower()] = str(side)
        self._ru_adj = [
            (re.compile(re.escape(fold(w).lower()).replace(r"\*", r"\w*")), side)
            for side, words in ctry.get("ru_adjective", {}).items()
            for w in words
        ]
        out: list[_TitledRule] = []
        en_c = alts(w for ws in ctry.get("en", {}).values() for w in ws)
        if en_c and by_lang["en"]:
            en_name = r"[A-Z][a-z'\-]+(?:\s+[A-Z][a-z'\-]+){1,2}"
            out.append(
                _TitledRule(
                    "en",
                    re.compile(
                        rf"(?P<c>{en_c})\s+(?i:(?P<t>{alts(by_lang['en'])}))"
                        rf"(?:\s+(?:to|in|for)\s+(?:the\s+)?[A-Z][\w\-]*(?:\s+[A-Z][\w\-]*)?)?"
                        rf"(?:,)?\s+(?P<n>{en_name})(?![\w'])"
                    ),
                    left=re.compile(r"[\w']"),
                )
            )
        ru_name = r"[А-Я][а-я]+(?:-[А-Я][а-я]+)?(?:\s+[А-Я][а-я]+(?:-[А-Я]?[а-я]+)?){1,2}"
        ru_t = alts(by_lang["ru"], stem=True)
        ru_c = alts(w for ws in ctry.get("ru", {}).values() for w in ws)
        # either capitalisation of the first letter, without a slow case-insensitive scan
        ru_adj = "|".join(
            _either_case(w[0], re.escape(fold(w[1:])).replace(r"\*", r"\w*"))
            for ws in ctry.get("ru_adjective", {}).values()
            for w in ws
        )
        place = r"(?:\s+(?:в|во)\s+[А-Я][а-яА-Я]+)?"
        if ru_t and ru_c:
            # anchored on the country word ("посол КНР в России Имя Фамилия"); the title before
            # it is checked afterwards, which is far cheaper than scanning for every title
            out.append(
                _TitledRule(
                    "ru",
                    re.compile(rf"(?P<c>{ru_c}){place}\s+(?P<n>{ru_name})(?![\w])"),
                    re.compile(rf"(?<![\w])(?i:(?P<t>{ru_t}))\s+\Z"),
                    left=re.compile(r"\w"),
                )
            )
        if ru_t and ru_adj:
            out.append(
                _TitledRule(
                    "ru",
                    re.compile(
                        rf"(?P<c>{ru_adj})\s+(?i:(?P<t>{ru_t})){place}\s+(?P<n>{ru_name})(?![\w])"
                    ),
                    left=re.compile(r"\w"),
                )
            )
        zh_c = alts(w for ws in ctry.get("zh", {}).values() for w in ws)
        if zh_c and by_lang["zh"]:
            out.append(
                _TitledRule(
                    "zh",
                    re.compile(
                        rf"(?P<c>{zh_c})(?:国务院|國務院|政府|外交部|国防部|國防部|联邦|聯邦)?"
                        rf"(?P<t>{alts(by_lang['zh'])})(?P<n>[{_CJK_CHAR}·]{{2,8}})"
                    ),
                )
            )
        return out

    # -- lookups -------------------------------------------------------------------------------

    def person(self, person_id: str) -> Person:
        """The gazetteer entry for an id (KeyError when unknown)."""
        return self.people[person_id]

    def roles_on(self, person_id: str, on: date | None) -> list[Role]:
        """The person's offices on that day, highest level first, then by roles.yaml order."""
        day = on or date.today()
        key = (person_id, day)
        cached = self._roles_cache.get(key)
        if cached is not None:
            return list(cached)
        person = self.people.get(person_id)
        if person is None:
            return []
        active = sorted(
            (r for r in person.roles if r.active(day)),
            key=lambda r: (LEVEL_RANK[r.level], self._role_order.get(r.role, 999)),
        )
        if len(self._roles_cache) > 50_000:
            self._roles_cache.clear()
        self._roles_cache[key] = tuple(active)
        return active

    def role_on(self, person_id: str, on: date | None) -> tuple[str, str, str] | None:
        """(role key, title, level) of the person's highest office that day, or None."""
        roles = self.roles_on(person_id, on)
        if not roles:
            return None
        top = roles[0]
        return (top.role, top.title, top.level)

    def holders(self, role: str, country: str, on: date | None) -> list[str]:
        """Ids of everyone of that side who held that role on that day."""
        day = on or date.today()
        if not self._by_role:
            for p in self.people.values():
                for r in p.roles:
                    self._by_role.setdefault((r.role, p.country), []).append((p.id, r))
        ids = [pid for pid, r in self._by_role.get((role, country), []) if r.active(day)]
        return list(dict.fromkeys(ids))

    def canonical_person(self, name: str) -> str | None:
        """Any alias, case form, Latin variant or Chinese name (or an id) → the person's id."""
        if not isinstance(name, str):
            return None
        if name in self.people:
            return name
        key = " ".join(fold(name).split()).lower()
        if not key:
            return None
        ids = self._canon.get(key)
        if ids and len(ids) == 1:
            return next(iter(ids))
        if not ids:
            ids = self._canon_short.get(key)
            if ids and len(ids) == 1:
                return next(iter(ids))
        return None

    # -- matching ------------------------------------------------------------------------------

    def find(
        self, text: str, lang: str | None = None, on: date | None = None
    ) -> list[ActorMention]:
        """Actors named in text: non-overlapping, sorted by start, longest match first."""
        if not text or not isinstance(text, str):
            return []
        day = on or date.today()
        folded = fold(text)
        candidates = list(self._candidates(folded))
        candidates.extend(self._titled_candidates(folded, day))
        for cand in candidates:
            self._resolve_definite(cand, day)
        chosen = self._select(candidates)
        self._drop_other_first_names(chosen, folded)
        self._resolve_anaphora(chosen, day)
        return [self._mention(c, text, day) for c in chosen if c.kind]

    def _candidates(self, folded: str) -> Iterator[_Candidate]:
        lowered = _lower(folded)
        for regex, table, haystack in (
            (self._re_sens, self._sens, folded),
            (self._re_insens, self._insens, lowered),
        ):
            if regex is None:
                continue
            for m in regex.finditer(haystack):
                start = m.start()
                if start and _WORD_CHAR.match(haystack, start - 1):
                    continue
                key = " ".join(m.group(0).split())
                key = key.replace("- ", "-")
                targets = table.get(key)
                if targets is None:
                    continue
                yield _Candidate(m.start(), m.end(), tuple(targets))
        if self._re_cjk is not None and _CJK.search(folded):
            for m in self._re_cjk.finditer(folded):
                targets = self._cjk.get(m.group(0))
                if not targets:
                    continue
                if any(t.zh_strict for t in targets) and not self._zh_context_ok(
                    folded, m.start(), m.end()
                ):
                    continue
                if any(t.zh_left for t in targets) and not self._zh_left_ok(folded, m.start()):
                    continue
                yield _Candidate(m.start(), m.end(), tuple(targets))

    def _zh_left_ok(self, text: str, start: int) -> bool:
        before = text[max(0, start - 6) : start]
        return (
            not before
            or not _CJK.match(before[-1])
            or before.endswith(self._zh_before)
            or before.endswith(("中国", "中國", "我国", "我國", "中方", "中共"))
        )

    def _zh_context_ok(self, text: str, start: int, end: int) -> bool:
        before = text[max(0, start - 6) : start]
        after = text[end : end + 6]
        left_ok = not before or not _CJK.match(before[-1]) or before.endswith(self._zh_before)
        right_ok = not after or not _CJK.match(after[0]) or after.startswith(self._zh_after)
        return left_ok and right_ok

    def _titled_candidates(self, folded: str, day: date) -> Iterator[_Candidate]:
        has_cjk = _CJK.search(folded) is not None
        has_cyr = _CYR.search(folded) is not None
        for rule in self._titled:
            lang = rule.lang
            if lang == "zh" and not has_cjk:
                continue
            if lang == "ru" and not has_cyr:
                continue
            for m in bounded_finditer(rule.regex, rule.left, folded):
                side = self._side(lang, m.group("c"))
                if side is None:
                    continue
                start = m.start()
                if rule.title_before is not None:
                    window_start = max(0, start - 80)
                    tm = rule.title_before.search(folded, window_start, start)
                    if tm is None:
                        continue
                    title = tm.group("t")
                    start = tm.start()
                else:
                    title = m.group("t")
                n_start, n_end = m.span("n")
                name = m.group("n")
                if lang == "en":
                    words = name.split()
                    for k, word in enumerate(words):
                        if word in self._name_stop:
                            words = words[:k]
                            break
                        bare = _without_possessive(word)
                        if bare != word:
                            # "Sergei Lavrov's talks": the name ends at its possessive
                            words = [*words[:k], bare]
                            break
                    if len(words) < 2:
                        continue
                    name = " ".join(words)
                    n_end = n_start + len(name)
                elif lang == "zh":
                    name = self._zh_titled_name(name, side)
                    if name is None:
                        continue
                    n_end = n_start + len(name)
                known = self.canonical_person(name)
                if known is not None:
                    person = self.people[known]
                    if person.country == side:
                        yield _Candidate(n_start, n_end, (_Target("person", side, known),))
                    continue
                level = self._title_level_of(lang, title)
                cand = _Candidate(start, n_end, ())
                cand.kind = "titled"
                cand.country = side
                cand.name = name
                cand.title = " ".join(title.split())
                cand.level = level
                cand.definite = True
                yield cand

    def _zh_titled_name(self, run: str, side: str) -> str | None:
        """The name at the start of a run of Chinese characters after a title, or None."""
        limit = 3 if side == "CN" else 8
        cut = min(len(run), limit)
        for i in range(cut):
            if run[i] in _ZH_NAME_STOP or run.startswith(self._zh_after, i):
                cut = i
                break
        return run[:cut] if cut >= 2 else None

    def _side(self, lang: str, word: str) -> str | None:
        key = fold(word).lower()
        if lang == "ru":
            side = self._title_country.get("ru", {}).get(key)
            if side:
                return side
            for regex, adj_side in self._ru_adj:
                if regex.fullmatch(key):
                    return adj_side
            return None
        return self._title_country.get(lang, {}).get(key)

    def _title_level_of(self, lang: str, title: str) -> str:
        key = " ".join(fold(title).lower().split())
        level = self._title_level.get(lang, {}).get(key)
        if level:
            return level
        for regex, lvl in self._title_stems:
            if regex.fullmatch(key):
                return lvl
        return "working"

    def _resolve_definite(self, cand: _Candidate, day: date) -> None:
        """Settle what needs no other mention: full names with one owner, role phrases, places."""
        if cand.kind:  # titled, already settled
            return
        targets = cand.targets
        people = [t for t in targets if t.kind == "person"]
        if people:
            full = [t for t in people if t.full]
            cand.kind = "person"
            cand.country = people[0].country
            if len(people) == 1 and full:
                cand.person_id = full[0].person_id
                cand.definite = True
            return
        target = targets[0]
        cand.country = target.country
        cand.weak = target.weak
        if target.kind == "role" and target.phrase:
            phrase = self._phrases[target.phrase]
            cand.kind = "role"
            cand.role = phrase.role
            cand.person_id = self._phrase_holder(phrase, day)
            cand.definite = cand.person_id is not None
            return
        cand.kind = target.kind

    def _phrase_holder(self, phrase: _Phrase, day: date) -> str | None:
        if phrase.holders is not None:
            ids = [
                pid
                for pid, start, end in phrase.holders
                if start <= day and (end is None or day <= end)
            ]
        else:
            ids = self.holders(phrase.role, phrase.country, day)
        if len(ids) > 1:
            # hand-over day: outgoing and incoming overlap; the one already in office wins
            earlier = [
                pid
                for pid in ids
                if any(
                    r.role == phrase.role and r.start < day and r.active(day)
                    for r in self.people[pid].roles
                )
            ]
            if len(earlier) == 1:
                ids = earlier
        return ids[0] if len(ids) == 1 else None

    @staticmethod
    def _select(candidates: list[_Candidate]) -> list[_Candidate]:
        """Longest first, no overlaps; overlapping spans naming the same person merge."""
        # settle each run of mutually overlapping candidates on its own: runs are short, so
        # the work stays linear in the number of candidates even on a megabyte of text
        chosen: list[_Candidate] = []
        run: list[_Candidate] = []
        run_end = -1
        for cand in sorted(candidates, key=lambda c: c.start):
            if run and cand.start >= run_end:
                chosen.extend(Gazetteer._select_run(run))
                run = []
            run.append(cand)
            run_end = max(run_end, cand.end) if len(run) > 1 else cand.end
        if run:
            chosen.extend(Gazetteer._select_run(run))
        return chosen

    @staticmethod
    def _select_run(candidates: list[_Candidate]) -> list[_Candidate]:
        if len(candidates) == 1:
            return candidates
        order = sorted(candidates, key=lambda c: (-(c.end - c.start), c.start, not c.definite))
        chosen: list[_Candidate] = []
        starts: list[int] = []
        for cand in order:
            # chosen spans are disjoint and sorted, so their ends are sorted too
            i = bisect.bisect_left(starts, cand.end)
            clash = []
            j = i - 1
            while j >= 0 and chosen[j].end > cand.start:
                clash.append(chosen[j])
                j -= 1
            if not clash:
                k = bisect.bisect_left(starts, cand.start)
                chosen.insert(k, cand)
                starts.insert(k, cand.start)
                continue
            if (
                len(clash) == 1
                and cand.person_id
                and clash[0].person_id == cand.person_id
                and cand.definite
            ):
                keep = clash[0]
                new_start = min(keep.start, cand.start)
                keep.end = max(keep.end, cand.end)
                if new_start != keep.start:
                    idx = chosen.index(keep)
                    keep.start = new_start
                    starts[idx] = new_start
                if cand.kind == "person":
                    keep.kind = "person"
        return chosen

    def _drop_other_first_names(self, chosen: list[_Candidate], folded: str) -> None:
        """A bare surname after someone else's first name names someone else (Даниил Медведев)."""
        for cand in chosen:
            if cand.kind != "person" or cand.end - cand.start > 40:
                continue
            if " " in folded[cand.start : cand.end]:
                continue
            j = cand.start
            while j > 0 and folded[j - 1] in " \t":
                j -= 1
            if j == cand.start:
                continue
            k = j
            while k > 0 and j - k < 20 and folded[k - 1].isalpha():
                k -= 1
            if folded[k:j] in self._first_names:
                cand.kind = ""

    def _resolve_anaphora(self, chosen: list[_Candidate], day: date) -> None:
        """Bare surnames take the person named in full nearest before them (else after)."""
        anchors: dict[str, list[int]] = {}
        for c in chosen:  # chosen is sorted by start, so each list is too
            if c.definite and c.person_id:
                anchors.setdefault(c.person_id, []).append(c.start)
        for cand in chosen:
            if cand.kind != "person" or cand.definite:
                continue
            best_before: tuple[int, str] | None = None
            best_after: tuple[int, str] | None = None
            for pid in {t.person_id for t in cand.targets if t.person_id}:
                starts = anchors.get(pid)
                if not starts:
                    continue
                i = bisect.bisect_left(starts, cand.start)
                if i > 0 and (best_before is None or starts[i - 1] > best_before[0]):
                    best_before = (starts[i - 1], pid)
                if i < len(starts) and (best_after is None or starts[i] < best_after[0]):
                    best_after = (starts[i], pid)
            if best_before is not None:
                cand.person_id = best_before[1]
            elif best_after is not None:
                cand.person_id = best_after[1]
            else:
                full = {t.person_id for t in cand.targets if t.full}
                cand.person_id = next(iter(full)) if len(full) == 1 else None
            if cand.person_id is None:
                cand.kind = ""  # an unanchored bare name (Xi in Xi'an, Li): not an actor

    def _mention(self, cand: _Candidate, text: str, day: date) -> ActorMention:
        name = cand.name
        role = cand.role
        title = cand.title
        level = cand.level
        country = cand.country
        if cand.person_id:
            person = self.people[cand.person_id]
            name = person.name
            country = person.country
            roles = self.roles_on(person.id, day)
            if roles:
                level = roles[0].level
                if role is None:
                    role, title = roles[0].role, roles[0].title
                else:
                    same = [r for r in roles if r.role == role]
                    title = same[0].title if same else self.roles_meta[role][0]
            else:
                level = None
                if role is not None:
                    title = self.roles_meta[role][0]
        elif cand.kind == "role" and role is not None:
            title, level = self.roles_meta[role]
        return ActorMention(
            start=cand.start,
            end=cand.end,
            text=text[cand.start : cand.end],
            kind=cand.kind,
            country=country,
            person_id=cand.person_id,
            name=name,
            role=role,
            title=title,
            level=level,
            weak=cand.weak,
        )


def bounded_finditer(
    regex: re.Pattern[str], left: re.Pattern[str] | None, text: str
) -> Iterator[re.Match[str]]:
    """The matches `(?<!left)regex` would give, without the lookbehind's cost at every position."""
    # A leading lookbehind keeps `re` from skipping ahead to the regex's possible first
    # characters; a match the boundary rejects is retried one character on, as the scan would.
    if left is None:
        yield from regex.finditer(text)
        return
    pos = 0
    while (m := regex.search(text, pos)) is not None:
        start = m.start()
        if start and left.match(text, start - 1):
            pos = start + 1
            continue
        yield m
        pos = m.end() if m.end() > start else m.end() + 1


def _either_case(first: str, rest: str) -> str:
    """A word whose first letter may be in either case."""
    letters = first.upper() + first.lower()
    if not letters.isalpha():
        return f"[{letters}]{rest}"
    # a branch per case form, each opening with a plain letter: `re` then skips to those
    # letters, where a class in front (even as a branch of letters) makes it try every position
    return "|".join(letter + rest for letter in dict.fromkeys(letters))


def _overlap(a: _Candidate, b: _Candidate) -> bool:
    return a.start < b.end and b.start < a.end


def actors_path() -> Path:
    """The operator's actor data (SINORUS_ACTORS: a YAML file or a folder), else the package's."""
    return Path(settings.env("SINORUS_ACTORS") or DATA_DIR)


@functools.cache
def default_gazetteer() -> Gazetteer:
    """The gazetteer at actors_path(), loaded once per process."""
    return Gazetteer.load(actors_path())
