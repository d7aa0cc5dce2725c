"""Find dates and meeting rounds in English, Russian and Chinese news text."""

from __future__ import annotations

import bisect
import datetime
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

from sinorus.detect.patterns import needs_digit, required_words

Date = datetime.date
_DAY = datetime.timedelta(days=1)

# News never reports events of other centuries; a "year 9999" is noise, not a date.
_MIN_YEAR = 1800
_MAX_YEAR = 2199

PREFERENCES = ("past", "future", "nearest")


@dataclass(frozen=True)
class DateMention:
    """One date expression found in a text, resolved to calendar dates."""

    start: int
    end: int
    text: str
    date: Date
    end_date: Date | None
    precision: str
    relative: bool


@dataclass(frozen=True)
class _Ctx:
    published: Date | None
    prefer: str


# (first day, last day or None, precision, relative)
_Resolved = tuple[Date, Date | None, str, bool]
_Handler = Callable[[re.Match[str], _Ctx], _Resolved | None]


# --- calendar helpers -------------------------------------------------------------------------


def _make(year: int, month: int, day: int) -> Date | None:
    """A valid date in the plausible range, or None."""
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        return None
    try:
        return Date(year, month, day)
    except ValueError:
        return None


def _month_end(year: int, month: int) -> Date:
    """Last day of a month."""
    if month == 12:
        return Date(year, 12, 31)
    return Date(year, month + 1, 1) - _DAY


def _shift_month(year: int, month: int, delta: int) -> tuple[int, int]:
    """Year and month `delta` months away."""
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def _monday(day: Date) -> Date:
    """Monday of the ISO week holding `day`."""
    return day - datetime.timedelta(days=day.weekday())


def _distance(start: Date, end: Date, anchor: Date) -> int:
    """Days from `anchor` to the interval [start, end]; 0 inside it."""
    if anchor < start:
        return (start - anchor).days
    if anchor > end:
        return (anchor - end).days
    return 0


def _pick(candidates: list[tuple[Date, Date]], anchor: Date, prefer: str) -> tuple[Date, Date]:
    """The candidate interval that `prefer` chooses relative to `anchor`."""
    if prefer == "past":
        before = [c for c in candidates if c[0] <= anchor]
        if before:
            return max(before)
    elif prefer == "future":
        after = [c for c in candidates if c[1] >= anchor]
        if after:
            return min(after)
    # Ties go to the earlier interval: news more often reports what happened than what will.
    return min(candidates, key=lambda c: (_distance(c[0], c[1], anchor), c[0]))


def _yearless(
    month: int, day: int, month2: int | None, day2: int | None, ctx: _Ctx
) -> _Resolved | None:
    """Resolve a day (or day range) without a year against the publication date."""
    if ctx.published is None:
        return None
    candidates: list[tuple[Date, Date]] = []
    for year in (ctx.published.year - 1, ctx.published.year, ctx.published.year + 1):
        interval = _interval(year, month, day, month2, day2)
        if interval is not None:
            candidates.append(interval)
    if not candidates:
        return None
    first, last = _pick(candidates, ctx.published, ctx.prefer)
    return first, (last if last != first else None), "day", True


def _interval(
    year: int, month: int, day: int, month2: int | None, day2: int | None
) -> tuple[Date, Date] | None:
    """First and last day of a possibly ranged date; None when invalid or reversed."""
    first = _make(year, month, day)
    if first is None:
        return None
    if day2 is None:
        return first, first
    # "30 December - 2 January" crosses into the next year.
    year2 = year + 1 if month2 is not None and month2 < month else year
    last = _make(year2, month2 if month2 is not None else month, day2)
    if last is None or last < first:
        return None
    return first, last


def _absolute(
    year: int, month: int, day: int, month2: int | None, day2: int | None
) -> _Resolved | None:
    """Resolve a day (or day range) with a year."""
    interval = _interval(year, month, day, month2, day2)
    if interval is None:
        return None
    first, last = interval
    return first, (last if last != first else None), "day", False


def _day_of_month(day: int, day2: int | None, ctx: _Ctx) -> _Resolved | None:
    """Resolve "on the 9th" / "1日至2日" to the nearby month that `prefer` chooses."""
    if ctx.published is None:
        return None
    candidates: list[tuple[Date, Date]] = []
    for delta in (-1, 0, 1):
        year, month = _shift_month(ctx.published.year, ctx.published.month, delta)
        interval = _interval(year, month, day, None, day2)
        if interval is not None:
            candidates.append(interval)
    if not candidates:
        return None
    first, last = _pick(candidates, ctx.published, ctx.prefer)
    return first, (last if last != first else None), "day", True


def _month_of_year(year: int, month: int, relative: bool) -> _Resolved | None:
    """A whole month."""
    first = _make(year, month, 1)
    if first is None:
        return None
    return first, _month_end(year, month), "month", relative


def _month_near(month: int, ctx: _Ctx) -> _Resolved | None:
    """A month named without a year ("in July"), placed by `prefer`."""
    if ctx.published is None:
        return None
    candidates = []
    for year in (ctx.published.year - 1, ctx.published.year, ctx.published.year + 1):
        if _MIN_YEAR <= year <= _MAX_YEAR:
            candidates.append((Date(year, month, 1), _month_end(year, month)))
    if not candidates:
        return None
    first, last = _pick(candidates, ctx.published, ctx.prefer)
    return first, last, "month", True


def _month_last(month: int, ctx: _Ctx) -> _Resolved | None:
    """ "last July": the latest such month wholly before the publication month."""
    if ctx.published is None:
        return None
    year = ctx.published.year if month < ctx.published.month else ctx.published.year - 1
    return _month_of_year(year, month, True)


def _month_next(month: int, ctx: _Ctx) -> _Resolved | None:
    """ "next July": the first such month after the publication month."""
    if ctx.published is None:
        return None
    year = ctx.published.year if month > ctx.published.month else ctx.published.year + 1
    return _month_of_year(year, month, True)


def _year(year: int, relative: bool) -> _Resolved | None:
    """A whole year."""
    first = _make(year, 1, 1)
    if first is None:
        return None
    return first, Date(year, 12, 31), "year", relative


def _year_offset(delta: int, ctx: _Ctx) -> _Resolved | None:
    """This (0), last (-1) or next (+1) year."""
    if ctx.published is None:
        return None
    return _year(ctx.published.year + delta, True)


def _month_offset(delta: int, ctx: _Ctx) -> _Resolved | None:
    """This (0), last (-1) or next (+1) month."""
    if ctx.published is None:
        return None
    year, month = _shift_month(ctx.published.year, ctx.published.month, delta)
    return _month_of_year(year, month, True)


def _week_offset(delta: int, ctx: _Ctx) -> _Resolved | None:
    """This (0), last (-1) or next (+1) calendar week, Monday to Sunday."""
    if ctx.published is None:
        return None
    first = _monday(ctx.published) + datetime.timedelta(weeks=delta)
    return first, first + datetime.timedelta(days=6), "week", True


def _day_offset(delta: int, ctx: _Ctx) -> _Resolved | None:
    """A day counted from the publication date."""
    if ctx.published is None:
        return None
    return ctx.published + datetime.timedelta(days=delta), None, "day", True


def _recently(ctx: _Ctx) -> _Resolved | None:
    """ "日前", "近日", "на днях": some day of the week up to publication."""
    if ctx.published is None:
        return None
    return ctx.published - datetime.timedelta(days=6), ctx.published, "week", True


def _weekday(weekday: int, mode: str, ctx: _Ctx) -> _Resolved | None:
    """Resolve a weekday; mode is bare, last, next, this, prev_week or next_week."""
    published = ctx.published
    if published is None:
        return None
    if mode == "this":
        day = _monday(published) + datetime.timedelta(days=weekday)
    elif mode == "prev_week":
        day = _monday(published) + datetime.timedelta(days=weekday - 7)
    elif mode == "next_week":
        day = _monday(published) + datetime.timedelta(days=weekday + 7)
    elif mode == "last":
        day = published - datetime.timedelta(days=(published.weekday() - weekday - 1) % 7 + 1)
    elif mode == "next":
        day = published + datetime.timedelta(days=(weekday - published.weekday() - 1) % 7 + 1)
    elif ctx.prefer == "past":
        day = published - datetime.timedelta(days=(published.weekday() - weekday) % 7)
    elif ctx.prefer == "future":
        day = published + datetime.timedelta(days=(weekday - published.weekday()) % 7)
    else:
        day = published + datetime.timedelta(days=(weekday - published.weekday() + 3) % 7 - 3)
    return day, None, "day", True


# --- numbers ----------------------------------------------------------------------------------

_CN_DIGITS = {
    "〇": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}


def _number(text: str) -> int | None:
    """An integer written in digits (any script) or Chinese numerals, or None."""
    text = text.strip()
    if not text:
        return None
    if text.isdecimal():
        return int(text)
    if "十" not in text and "百" not in text:
        # Positional: 二〇二五 is 2025.
        if all(ch in _CN_DIGITS for ch in text):
            return int("".join(str(_CN_DIGITS[ch]) for ch in text))
        return None
    total = 0
    current = 0
    for ch in text:
        if ch in _CN_DIGITS:
            current = _CN_DIGITS[ch]
        elif ch == "百":
            total += (current or 1) * 100
            current = 0
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        else:
            return None
    return total + current


def _group_number(match: re.Match[str], name: str) -> int | None:
    """A named group as a number, None when absent."""
    value = match.groupdict().get(name)
    return None if value is None else _number(value)


# --- English ----------------------------------------------------------------------------------

_EN_MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
_EN_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _en_month_re(name: str) -> str:
    """Regex for an English month name (full, abbreviated or dotted) into group `name`."""
    return (
        rf"(?P<{name}>(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|"
        r"Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
        r"(?![A-Za-z])\.?)"
    )


def _en_month(match: re.Match[str], name: str) -> int | None:
    """Month number of an English month group."""
    value = match.group(name)
    return None if value is None else _EN_MONTHS[value[:3].lower()]


_EN_DAY1 = r"(?P<d1>[0-3]?[0-9])(?![0-9])(?:st|nd|rd|th)?"
_EN_DAY2 = r"(?P<d2>[0-3]?[0-9])(?![0-9])(?:st|nd|rd|th)?"
_EN_DAY3 = r"(?P<d3>[0-3]?[0-9])(?![0-9])(?:st|nd|rd|th)?"
_EN_SEP = r"(?:\s*[-–—]\s*|\s+(?:to|through|till|until)\s+)"
_EN_YEAR = r"(?:,?\s+(?P<y>[0-9]{4})(?![0-9]))"

_EN_MDY = re.compile(
    r"(?<![A-Za-z])"
    + _en_month_re("m1")
    + r"\s*"
    + _EN_DAY1
    + rf"(?:{_EN_SEP}(?:{_en_month_re('m2')}\s*)?{_EN_DAY2}|\s+and\s+{_EN_DAY3})?"
    + _EN_YEAR
    + r"?(?![0-9])"
)
_EN_DMY = re.compile(
    r"(?<![0-9A-Za-z.,])"
    + _EN_DAY1
    + rf"(?:(?:\s+(?:of\s+)?{_en_month_re('m1')})?{_EN_SEP}{_EN_DAY2}|\s+and\s+{_EN_DAY3})?"
    + r"\s+(?:of\s+)?"
    + _en_month_re("m2")
    + _EN_YEAR
    + r"?(?![0-9])"
)
_EN_MONTH_YEAR = re.compile(
    r"(?<![A-Za-z])" + _en_month_re("m1") + r",?\s+(?:of\s+)?(?P<y>[0-9]{4})(?![0-9])"
)
_EN_MONTH_REL = re.compile(
    r"(?<![A-Za-z])(?P<mod>(?i:last|this|next|in|since|during|until|by|from|"
    r"early|late|mid|end\s+of|beginning\s+of|start\s+of))[\s-]+"
    r"(?:(?i:early|late|mid|the\s+end\s+of|the\s+beginning\s+of)[\s-]+)?"
    + _en_month_re("m1")
    + r"(?!\s*[0-9])"
)
_EN_ISO = re.compile(r"(?<![0-9])(?P<y>[0-9]{4})-(?P<m>[0-9]{1,2})-(?P<d>[0-9]{1,2})(?![0-9])")
_EN_YEAR_ONLY = re.compile(
    r"(?<![A-Za-z])(?i:in|since|during|until|by|throughout|for|of)\s+"
    r"(?P<y>[0-9]{4})(?![0-9]|-[0-9])"
)
_EN_WORDS = re.compile(
    r"(?<![A-Za-z])(?P<w>(?i:the\s+day\s+before\s+yesterday|the\s+day\s+after\s+tomorrow|"
    r"today|tonight|yesterday|tomorrow))(?![A-Za-z])"
)
_EN_PERIOD = re.compile(
    r"(?<![A-Za-z])(?i:(?P<mod>last|this|next|past|earlier\s+this|later\s+this|"
    r"the\s+previous|the\s+following|the\s+coming|the\s+past|the\s+next)\s+"
    r"(?P<unit>week|month|year))(?![A-Za-z])"
)
_EN_WEEKDAY = re.compile(
    r"(?<![A-Za-z])(?:(?P<mod>(?i:on\s+last|on\s+next|this\s+past|this\s+coming|"
    r"last|next|this|coming|on))\s+)?"
    r"(?P<wd>Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)(?![A-Za-z])"
)
_EN_NTH = re.compile(
    r"(?<![A-Za-z])(?i:on\s+the)\s+(?P<d>[0-3]?[0-9])(?![0-9])(?:st|nd|rd|th)"
    r"(?=\s*(?:[,.;:!?)]|$)|\s+(?:and|when|at|in|as|after|before|of\s+(?:this|the)\s+month)"
    r"(?![A-Za-z]))"
)


def _en_mdy(match: re.Match[str], ctx: _Ctx) -> _Resolved | None:
    """ "December 1-2, 2025", "Nov. 30 to Dec. 1", "Dec. 1"."""
    month = _en_month(match, "m1")
    day = _group_number(match, "d1")
    if month is None or day is None:
        return None
    return _day_parts(match, month, day, _en_month(match, "m2"), ctx)


def _en_dmy(match: re.Match[str], ctx: _Ctx) -> _Resolved | None:
    """ "1-2 December 2025", "30 November - 1 December", "1 December"."""
    last_month = _en_month(match, "m2")
    day = _group_number(match, "d1")
    if last_month is None or day is None:
        return None
    first_month = _en_month(match, "m1")
    if first_month is None or match.group("d2") is None:
        return _day_parts(match, last_month, day, None, ctx)
    return _day_parts(match, first_month, day, last_month, ctx)


def _day_parts(
    match: re.Match[str], month: int, day: int, month2: int | None, ctx: _Ctx
) -> _Resolved | None:
    """Resolve a matched day with optional d2 and y groups."""
    day2 = _group_number(match, "d2")
    if day2 is None:
        day2 = _group_number(match, "d3")
    year = _group_number(match, "y")
    if year is not None:
        return _absolute(year, month, day, month2, day2)
    return _yearless(month, day, month2, day2, ctx)


def _en_month_year(match: re.Match[str], ctx: _Ctx) -> _Resolved | None:
    """ "July 2024"."""
    month = _en_month(match, "m1")
    year = _group_number(match, "y")
    if month is None or year is None:
        return None
    return _month_of_year(year, month, False)


def _en_month_rel(match: re.Match[str], ctx: _Ctx) -> _Resolved | None:
    """ "in July", "last July", "next March", "early December"."""
    month = _en_month(match, "m1")
    if month is None:
        return None
    mod = match.group("mod").lower()
    if mod == "last":
        return _month_last(month, ctx)
    if mod == "next":
        return _month_next(month, ctx)
    if mod == "this" and ctx.published is not None:
        return _month_of_year(ctx.published.year, month, True)
    return _month_near(month, ctx)


def _iso(match: re.Match[str], ctx: _Ctx) -> _Resolved | None:
    """ "2025-12-01" or "01.12.2025"."""
    year, month, day = (_group_number(match, name) for name in ("y", "m", "d"))
    if year is None or month is None or day is None:
        return None
    return _absolute(year, month, day, None, None)


def _year_only(match: re.Match[str], ctx: _Ctx) -> _Resolved | None:
    """ "in 2019", "в 2019 году", "2019年"."""
    year = _group_number(match, "y")
    return None if year is None else _year(year, False)


_DAY_WORDS = {
    "the day before yesterday": -2,
    "yesterday": -1,
    "today": 0,
    "tonight": 0,
    "tomorrow": 1,
    "the day after tomorrow": 2,
    "позавчера": -2,
    "вчера": -1,
    "сегодня": 0,
    "завтра": 1,
    "послезавтра": 2,
    "前天": -2,
    "昨天": -1,
    "昨日": -1,
    "今天": 0,
    "今日": 0,
    "本日": 0,
    "明天": 1,
    "明日": 1,
    "后天": 2,
}


def _day_word(match: re.Match[str], ctx: _Ctx) -> _Resolved | None:
    """ "yesterday", "сегодня", "明天"."""
    word = " ".join(match.group("w").lower().split())
    return _day_offset(_DAY_WORDS[word], ctx)


def _en_period(match: re.Match[str], ctx: _Ctx) -> _Resolved | None:
    """ "last week", "this month", "earlier this year", "the coming week"."""
    mod = " ".join(match.group("mod").lower().split())
    unit = match.group("unit").lower()
    published = ctx.published
    if published is None:
        return None
    if mod in ("past", "the past"):
        days = {"week": 7, "month": 30, "year": 365}[unit]
        precision = "week" if unit == "week" else unit
        return published - datetime.timedelta(days=days), published, precision, True
    if mod in ("earlier this", "later this"):
        whole = _period(unit, 0, ctx)
        if whole is None:
            return None
        if mod == "earlier this":
            return whole[0], published, whole[2], True
        return published, whole[1], whole[2], True
    delta = {
        "last": -1,
        "the previous": -1,
        "this": 0,
        "next": 1,
        "the following": 1,
        "the coming": 1,
        "the next": 1,
    }[mod]
    return _period(unit, delta, ctx)


def _period(unit: str, delta: int, ctx: _Ctx) -> _Resolved | None:
    """A calendar week, month or year `delta` units from publication."""
    if unit == "week":
        return _week_offset(delta, ctx)
    if unit == "month":
        return _month_offset(delta, ctx)
    return _year_offset(delta, ctx)


_EN_WEEKDAY_MODES = {
    None: "bare",
    "on": "bare",
    "last": "last",
    "on last": "last",
    "this past": "last",
    "next": "next",
    "on next": "next",
    "coming": "next",
    "this coming": "next",
    "this": "this",
}


def _en_weekday(match: re.Match[str], ctx: _Ctx) -> _Resolved | None:
    """ "on Tuesday", "last Friday", "next Monday"."""
    mod = match.group("mod")
    key = None if mod is None else " ".join(mod.lower().split())
    weekday = _EN_WEEKDAYS.index(match.group("wd").lower())
    return _weekday(weekday, _EN_WEEKDAY_MODES[key], ctx)


def _nth(match: re.Match[str], ctx: _Ctx) -> _Resolved | None:
    """ "on the 9th"."""
    day = _group_number(match, "d")
    return None if day is None else _day_of_month(day, None, ctx)


# --- Russian ----------------------------------------------------------------------------------

_RU_MONTH_STEMS = (
    ("январ", 1),
    ("феврал", 2),
    ("март", 3),
    ("апрел", 4),
    ("ма", 5),
    ("июн", 6),
    ("июл", 7),
    ("август", 8),
    ("сентябр", 9),
    ("октябр", 10),
    ("ноябр", 11),
    ("декабр", 12),
)


def _ru_month_re(name: str) -> str:
    """Regex for a Russian month name in any case into group `name`."""
    return (
        rf"(?P<{name}>(?i:январ[ьяюе]|феврал[ьяюе]|март[ауе]?|апрел[ьяюе]|ма[йяюе]|"
        r"июн[ьяюе]|июл[ьяюе]|август[ауе]?|сентябр[ьяюе]|октябр[ьяюе]|ноябр[ьяюе]|"
        r"декабр[ьяюе])(?:ом)?)(?![А-Яа-яЁё])"
    )


def _ru_month(match: re.Match[str], name: str) -> int | None:
    """Month number of a Russian month group."""
    value = match.group(name)
    if value is None:
        return None
    value = value.lower()
    # "ма" is a prefix of no other month, so checking longest stems first is unnecessary.
    for stem, number in _RU_MONTH_STEMS:
        if value.startswith(stem):
            return number
    return None


_RU_YEAR = r"(?:\s+(?P<y>[0-9]{4})(?![0-9])(?:\s*(?i:года|году|год|г\.|г(?![А-Яа-яЁё])))?)"
_RU_SEP = r"(?:\s*[-–—]\s*|\s+(?i:и|по|до)\s+)"

_RU_DM = re.compile(
    r"(?<![0-9.,])(?:(?i:с)\s+)?(?P<d1>[0-3]?[0-9])(?![0-9])(?:-?(?i:го|е))?"
    + rf"(?:(?:\s+{_ru_month_re('m1')})?{_RU_SEP}(?P<d2>[0-3]?[0-9])(?![0-9])(?:-?(?i:го|е))?)?"
    + r"\s+"
    + _ru_month_re("m2")
    + _RU_YEAR
    + r"?"
)
_RU_MONTH_REL = re.compile(
    r"(?<![А-Яа-яЁё])(?i:(?P<pre>в|во|с|до|к|на|по|из)\s+"
    r"(?:(?:начале|конце|середине|первой\s+половине|второй\s+половине)\s+)?)"
    + _ru_month_re("m1")
    + r"(?:"
    + _RU_YEAR
    + r"|\s+(?P<rel>(?i:прошлого|этого|текущего|следующего|будущего|позапрошлого))\s+(?i:года))?"
    + r"(?!\s*[0-9])"
)
_RU_YEAR_ONLY = re.compile(r"(?<![0-9])(?P<y>[0-9]{4})\s*(?i:году|года|год|г\.)(?![А-Яа-яЁё])")
_RU_YEAR_REL = re.compile(
    r"(?<![А-Яа-яЁё])(?i:(?:в|во|с|до|к|на)\s+(?P<mod>прошлом|этом|текущем|следующем|будущем|"
    r"позапрошлом|минувшем|прошлого|этого|текущего|следующего|будущего|минувшего)\s+"
    r"(?P<unit>году|года|месяце|месяца|неделе|недели))(?![А-Яа-яЁё])"
)
_RU_DOTTED = re.compile(
    r"(?<![0-9.])(?P<d>[0-3]?[0-9])\.(?P<m>[01]?[0-9])\.(?P<y>[0-9]{4})(?![0-9])"
)
_RU_WORDS = re.compile(
    r"(?<![А-Яа-яЁё])(?P<w>(?i:позавчера|послезавтра|сегодня|вчера|завтра))(?![А-Яа-яЁё])"
)
_RU_WEEK = re.compile(
    r"(?<![А-Яа-яЁё])(?i:на\s+(?P<mod>прошлой|минувшей|предыдущей|этой|текущей|нынешней|"
    r"следующей|будущей|грядущей)\s+неделе)(?![А-Яа-яЁё])"
)
_RU_RECENT = re.compile(r"(?<![А-Яа-яЁё])(?i:на\s+днях)(?![А-Яа-яЁё])")
_RU_WEEKDAY = re.compile(
    r"(?<![А-Яа-яЁё])(?i:(?:в|во)\s+(?:(?P<mod>прошл(?:ый|ую|ое)|минувш(?:ий|ую|ее)|"
    r"следующ(?:ий|ую|ее)|ближайш(?:ий|ую|ее)|эт(?:от|у|о))\s+)?"
    r"(?P<wd>понедельник|вторник|среду|четверг|пятницу|субботу|воскресенье))"
    r"(?![А-Яа-яЁё])"
)
_RU_WEEKDAYS = ("понедельник", "вторник", "среду", "четверг", "пятницу", "субботу", "воскресенье")
_RU_REL = {
    "прошл": -1,
    "минувш": -1,
    "предыдущ": -1,
    "позапрошл": -2,
    "эт": 0,
    "текущ": 0,
    "нынешн": 0,
    "следующ": 1,
    "будущ": 1,
    "грядущ": 1,
}


def _ru_rel(word: str) -> int | None:
    """Offset named by a Russian adjective ("прошлом" → -1)."""
    word = word.lower()
    # Longest stems first: "позапрошл" contains "прошл".
    for stem in sorted(_RU_REL, key=len, reverse=True):
        if word.startswith(stem):
            return _RU_REL[stem]
    return None


def _ru_dm(match: re.Match[str], ctx: _Ctx) -> _Resolved | None:
    """ "1 декабря", "1–2 декабря 2025 года", "30 ноября – 1 декабря"."""
    last_month = _ru_month(match, "m2")
    day = _group_number(match, "d1")
    if last_month is None or day is None:
        return None
    first_month = _ru_month(match, "m1")
    if match.group("d2") is None or first_month is None:
        return _day_parts(match, last_month, day, None, ctx)
    return _day_parts(match, first_month, day, last_month, ctx)


def _ru_month_rel(match: re.Match[str], ctx: _Ctx) -> _Resolved | None:
    """ "в июле", "в июле 2024 года", "в июле прошлого года"."""
    month = _ru_month(match, "m1")
    if month is None:
        return None
    year = _group_number(match, "y")
    if year is not None:
        return _month_of_year(year, month, False)
    rel = match.group("rel")
    if rel is not None:
        delta = _ru_rel(rel)
        if ctx.published is None or delta is None:
            return None
        return _month_of_year(ctx.published.year + delta, month, True)
    return _month_near(month, ctx)


def _ru_year_rel(match: re.Match[str], ctx: _Ctx) -> _Resolved | None:
    """ "в прошлом году", "в этом месяце", "на следующей неделе" said with "в"."""
    delta = _ru_rel(match.group("mod"))
    if delta is None:
        return None
    unit = match.group("unit").lower()
    if unit.startswith("год"):
        return _period("year", delta, ctx)
    if unit.startswith("месяц"):
        return _period("month", delta, ctx)
    return _period("week", delta, ctx)


def _ru_week(match: re.Match[str], ctx: _Ctx) -> _Resolved | None:
    """ "на прошлой неделе", "на следующей неделе"."""
    delta = _ru_rel(match.group("mod"))
    return None if delta is None else _week_offset(delta, ctx)


def _recent(match: re.Match[str], ctx: _Ctx) -> _Resolved | None:
    """ "на днях", "日前", "近日"."""
    return _recently(ctx)


def _ru_weekday(match: re.Match[str], ctx: _Ctx) -> _Resolved | None:
    """ "во вторник", "в прошлую пятницу"."""
    weekday = _RU_WEEKDAYS.index(match.group("wd").lower())
    mod = match.group("mod")
    if mod is None:
        return _weekday(weekday, "bare", ctx)
    delta = _ru_rel(mod)
    if delta is None and mod.lower().startswith("ближайш"):
        delta = 1
    mode = {-1: "last", 0: "this", 1: "next"}.get(delta if delta is not None else 0, "bare")
    return _weekday(weekday, mode, ctx)


# --- Chinese ----------------------------------------------------------------------------------

_ZH_MONTH = r"(?:[0-9０-９]{1,2}|十[一二]?|[一二三四五六七八九])"
_ZH_DAY = r"(?:[0-9０-９]{1,2}|[二三]?十[一二三四五六七八九]?|[一二三四五六七八九])"
_ZH_YEAR = (
    r"(?:(?P<y>[0-9０-９]{4}|[〇零一二三四五六七八九]{4})\s*年|(?P<ry>今年|去年|明年|前年|后年))"
)
_ZH_SEP = r"\s*(?:至|到|-|—|–|~|～)\s*"

_ZH_YMD = re.compile(
    r"(?<![0-9０-９])"
    + _ZH_YEAR
    + r"?(?P<m1>"
    + _ZH_MONTH
    + r")\s*月\s*(?P<d1>"
    + _ZH_DAY
    + r")\s*(?:[日号](?:"
    + _ZH_SEP
    + r"(?:(?P<m2>"
    + _ZH_MONTH
    + r")\s*月\s*)?(?P<d2>"
    + _ZH_DAY
    + r")\s*[日号])?|"
    + _ZH_SEP
    + r"(?:(?P<m3>"
    + _ZH_MONTH
    + r")\s*月\s*)?(?P<d3>"
    + _ZH_DAY
    + r")\s*[日号])"
)
_ZH_DAY_ONLY = re.compile(
    r"(?<![0-9０-９月])(?P<d1>[0-9０-９]{1,2})\s*日(?:"
    + _ZH_SEP
    + r"(?P<d2>[0-9０-９]{1,2})\s*日)?(?![元本语军方籍资企产均])"
)
_ZH_YM = re.compile(
    r"(?<![0-9０-９])" + _ZH_YEAR + r"?(?P<m1>" + _ZH_MONTH + r")\s*月(?:份)?(?!\s*[0-9０-９])"
)
_ZH_YEAR_ONLY = re.compile(
    r"(?<![0-9０-９])(?P<y>[0-9０-９]{4}|[〇零一二三四五六七八九]{4})\s*年(?![代度级])"
)
_ZH_YEAR_REL = re.compile(r"(?P<ry>今年|去年|明年|前年|后年)")
_ZH_WORDS = re.compile(r"(?P<w>前天|昨天|昨日|今天|今日|本日|明天|明日|后天)(?!俄罗斯)")
_ZH_WEEK = re.compile(
    r"(?P<mod>本|这|上|下)(?:个)?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天])?(?![年末])"
)
_ZH_WEEKDAY = re.compile(r"(?:周|星期|礼拜)(?P<wd>[一二三四五六日天])(?![年])")
_ZH_MONTH_REL = re.compile(r"(?P<mod>本|这|上|下|当)(?:个)?月(?![球亮光])")
_ZH_RECENT = re.compile(r"日前|近日|近期|连日来|前几天|这几天")

_ZH_WEEKDAYS = "一二三四五六"


def _zh_year(match: re.Match[str], ctx: _Ctx) -> tuple[int | None, bool]:
    """The year written in a match (absolute or relative) and whether it was relative."""
    year = _group_number(match, "y")
    if year is not None:
        return year, False
    rel = match.group("ry")
    if rel is None or ctx.published is None:
        return None, rel is not None
    delta = {"前年": -2, "去年": -1, "今年": 0, "明年": 1, "后年": 2}[rel]
    return ctx.published.year + delta, True


def _zh_ymd(match: re.Match[str], ctx: _Ctx) -> _Resolved | None:
    """ "2025年2月1日", "12月1日至2日", "去年7月1日"."""
    month = _group_number(match, "m1")
    day = _group_number(match, "d1")
    if month is None or day is None:
        return None
    month2 = _group_number(match, "m2")
    day2 = _group_number(match, "d2")
    if day2 is None:
        month2 = _group_number(match, "m3")
        day2 = _group_number(match, "d3")
    year, relative = _zh_year(match, ctx)
    if year is not None:
        resolved = _absolute(year, month, day, month2, day2)
        if resolved is None:
            return None
        return resolved[0], resolved[1], resolved[2], relative
    if relative:
        return None
    return _yearless(month, day, month2, day2, ctx)


def _zh_day_only(match: re.Match[str], ctx: _Ctx) -> _Resolved | None:
    """ "1日", "1日至2日": a day of the current month in Chinese news style."""
    day = _group_number(match, "d1")
    return None if day is None else _day_of_month(day, _group_number(match, "d2"), ctx)


def _zh_ym(match: re.Match[str], ctx: _Ctx) -> _Resolved | None:
    """ "2024年7月", "去年7月", "7月"."""
    month = _group_number(match, "m1")
    if month is None or not 1 <= month <= 12:
        return None
    year, relative = _zh_year(match, ctx)
    if year is not None:
        return _month_of_year(year, month, relative)
    if relative:
        return None
    return _month_near(month, ctx)


def _zh_year_rel(match: re.Match[str], ctx: _Ctx) -> _Resolved | None:
    """ "今年", "去年"."""
    year, _ = _zh_year(match, ctx)
    return None if year is None else _year(year, True)


def _zh_week(match: re.Match[str], ctx: _Ctx) -> _Resolved | None:
    """ "本周二", "上周", "下周"."""
    delta = {"本": 0, "这": 0, "上": -1, "下": 1}[match.group("mod")]
    wd = match.group("wd")
    if wd is None:
        return _week_offset(delta, ctx)
    weekday = _ZH_WEEKDAYS.index(wd) if wd in _ZH_WEEKDAYS else 6
    mode = {-1: "prev_week", 0: "this", 1: "next_week"}[delta]
    return _weekday(weekday, mode, ctx)


def _zh_weekday(match: re.Match[str], ctx: _Ctx) -> _Resolved | None:
    """ "周二", "星期日"."""
    wd = match.group("wd")
    weekday = _ZH_WEEKDAYS.index(wd) if wd in _ZH_WEEKDAYS else 6
    return _weekday(weekday, "bare", ctx)


def _zh_month_rel(match: re.Match[str], ctx: _Ctx) -> _Resolved | None:
    """ "上月", "本月", "下个月"."""
    delta = {"本": 0, "这": 0, "当": 0, "上": -1, "下": 1}[match.group("mod")]
    return _month_offset(delta, ctx)


# --- rules ------------------------------------------------------------------------------------

_ANY = ("en", "ru", "zh")
_RULES: tuple[tuple[re.Pattern[str], _Handler, tuple[str, ...]], ...] = (
    (_EN_ISO, _iso, _ANY),
    (_RU_DOTTED, _iso, _ANY),
    (_EN_MDY, _en_mdy, ("en",)),
    (_EN_DMY, _en_dmy, ("en",)),
    (_EN_MONTH_YEAR, _en_month_year, ("en",)),
    (_EN_MONTH_REL, _en_month_rel, ("en",)),
    (_EN_YEAR_ONLY, _year_only, ("en",)),
    (_EN_WORDS, _day_word, ("en",)),
    (_EN_PERIOD, _en_period, ("en",)),
    (_EN_WEEKDAY, _en_weekday, ("en",)),
    (_EN_NTH, _nth, ("en",)),
    (_RU_DM, _ru_dm, ("ru",)),
    (_RU_MONTH_REL, _ru_month_rel, ("ru",)),
    (_RU_YEAR_ONLY, _year_only, ("ru",)),
    (_RU_YEAR_REL, _ru_year_rel, ("ru",)),
    (_RU_WORDS, _day_word, ("ru",)),
    (_RU_WEEK, _ru_week, ("ru",)),
    (_RU_RECENT, _recent, ("ru",)),
    (_RU_WEEKDAY, _ru_weekday, ("ru",)),
    (_ZH_YMD, _zh_ymd, ("zh",)),
    (_ZH_DAY_ONLY, _zh_day_only, ("zh",)),
    (_ZH_YM, _zh_ym, ("zh",)),
    (_ZH_YEAR_ONLY, _year_only, ("zh",)),
    (_ZH_YEAR_REL, _zh_year_rel, ("zh",)),
    (_ZH_WORDS, _day_word, ("zh",)),
    (_ZH_WEEK, _zh_week, ("zh",)),
    (_ZH_WEEKDAY, _zh_weekday, ("zh",)),
    (_ZH_MONTH_REL, _zh_month_rel, ("zh",)),
    (_ZH_RECENT, _recent, ("zh",)),
)


_CYRILLIC = re.compile(r"[А-Яа-яЁё]")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _languages(lang: str | None, text: str) -> tuple[str, ...]:
    """Rule sets to apply: the article's language, or those whose script the text uses."""
    if lang:
        code = lang.strip().lower()[:2]
        if code in _ANY:
            return (code,)
    # Unknown language: English rules also catch ISO dates, so they always run.
    found = ["en"]
    if _CYRILLIC.search(text):
        found.append("ru")
    if _CJK.search(text):
        found.append("zh")
    return tuple(found)


# Three sentences in four hold no digit (dev texts); 7 of the 11 English rules need one.
_DIGIT = re.compile(r"[0-9]")


# A word every match of a rule holds ("Monday", "week", "сегодня") is looked for before the
# rule itself: a plain search for a few words skips the positions the rule's leading
# lookbehind makes `re` enter one by one.
@functools.lru_cache(maxsize=64)
def _rules_for(
    languages: tuple[str, ...],
) -> tuple[tuple[re.Pattern[str], _Handler, bool, re.Pattern[str] | None], ...]:
    """The rules that apply to any of these languages, in rule order, with their pre-checks."""
    return tuple(
        (pattern, handler, needs_digit(pattern), required_words(pattern))
        for pattern, handler, rule_languages in _RULES
        if any(code in rule_languages for code in languages)
    )


def prepare() -> None:
    """Read every rule's pre-checks now rather than in the first texts of each language."""
    for pattern, _handler, _languages in _RULES:
        needs_digit(pattern)
        required_words(pattern)


def find_dates(
    text: str, lang: str | None, published: Date | None, prefer: str = "nearest"
) -> list[DateMention]:
    """All date expressions in `text`, resolved; relative ones need `published`."""
    if not isinstance(text, str) or not text:
        return []
    if prefer not in PREFERENCES:
        prefer = "nearest"
    if isinstance(published, datetime.datetime):
        published = published.date()
    ctx = _Ctx(published if isinstance(published, Date) else None, prefer)
    languages = _languages(lang, text)
    found: list[DateMention] = []
    digits = _DIGIT.search(text) is not None
    for pattern, handler, digit_only, words in _rules_for(languages):
        if digit_only and not digits:
            continue
        if words is not None and words.search(text) is None:
            continue
        for match in pattern.finditer(text):
            try:
                resolved = handler(match, ctx)
            except (ValueError, OverflowError, KeyError):
                # Dates at the calendar's edges (year 1 or 9999 anchors) cannot shift; skip them.
                resolved = None
            if resolved is None:
                continue
            first, last, precision, relative = resolved
            start, end = match.span()
            found.append(DateMention(start, end, text[start:end], first, last, precision, relative))
    return _without_overlaps(found)


def _without_overlaps(found: list[DateMention]) -> list[DateMention]:
    """Keep the longest of overlapping mentions, in text order."""
    # Kept spans never overlap, so sorted starts and ends pair up; neighbours decide a clash.
    starts: list[int] = []
    ends: list[int] = []
    kept: list[DateMention] = []
    for mention in sorted(found, key=lambda m: (m.start - m.end, m.start)):
        index = bisect.bisect_right(starts, mention.start)
        if index > 0 and ends[index - 1] > mention.start:
            continue
        if index < len(starts) and starts[index] < mention.end:
            continue
        if mention.start == mention.end and index > 0 and starts[index - 1] == mention.start:
            continue
        starts.insert(index, mention.start)
        ends.insert(index, mention.end)
        kept.append(mention)
    return sorted(kept, key=lambda m: (m.start, m.end))


# --- rounds -----------------------------------------------------------------------------------

_EN_UNITS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
}
_EN_SIMPLE = {
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
    "thirteenth": 13,
    "fourteenth": 14,
    "fifteenth": 15,
    "sixteenth": 16,
    "seventeenth": 17,
    "eighteenth": 18,
    "nineteenth": 19,
    "twentieth": 20,
    "thirtieth": 30,
    "fortieth": 40,
    "fiftieth": 50,
}
_EN_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50}

_EN_ORDINAL = re.compile(
    r"(?<![A-Za-z0-9])(?:(?P<n>[0-9]{1,3})(?:st|nd|rd|th|[°º])|"
    r"(?i:(?:(?P<tens>twenty|thirty|forty|fifty)[\s-]+)?(?P<unit>first|second|third|fourth|"
    r"fifth|sixth|seventh|eighth|ninth)|(?P<simple>tenth|eleventh|twelfth|thirteenth|"
    r"fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|thirtieth|"
    r"fortieth|fiftieth)))(?![A-Za-z0-9])"
)
_EN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*|[^\sA-Za-z]")
# The first noun is "round" itself, which outranks the others.
_EN_ROUND_NOUNS = (
    "round",
    "consultation",
    "dialogue",
    "session",
    "talks",
    "meeting",
    "summit",
    "patrol",
    "exercise",
    "drill",
)
_EN_NOUN = re.compile(r"(?<![A-Za-z])(?i:" + "|".join(_EN_ROUND_NOUNS) + ")")
_NOUN_REACH = 120
# An ordinal before these numbers something other than a recurring bilateral event.
_EN_STOP = (
    "anniversary",
    "congress",
    "century",
    "birthday",
    "plenum",
    "plenary",
    "time",
    "times",
    "year",
    "years",
    "day",
    "days",
    "largest",
    "biggest",
)

_RU_ORD_STEMS = (
    ("одиннадцат", 11),
    ("двенадцат", 12),
    ("тринадцат", 13),
    ("четырнадцат", 14),
    ("пятнадцат", 15),
    ("шестнадцат", 16),
    ("семнадцат", 17),
    ("восемнадцат", 18),
    ("девятнадцат", 19),
    ("двадцат", 20),
    ("тридцат", 30),
    ("сороков", 40),
    ("пятидесят", 50),
    ("перв", 1),
    ("втор", 2),
    ("трет", 3),
    ("четверт", 4),
    ("пят", 5),
    ("шест", 6),
    ("седьм", 7),
    ("восьм", 8),
    ("девят", 9),
    ("десят", 10),
)
_RU_TENS = {"двадцать": 20, "тридцать": 30, "сорок": 40, "пятьдесят": 50}
_RU_ENDINGS = (
    r"(?:ый|ий|ой|ого|его|ому|ему|ом|ем|ым|им|ая|яя|ую|юю|ое|ее|ые|ие|ых|их|ыми|ими|"
    r"ьего|ьему|ьем|ьей|ья|ье|ьи|ьих|ью|ей)"
)
_RU_ORDINAL = re.compile(
    r"(?<![А-Яа-яЁё0-9])(?i:(?P<n>[0-9]{1,3})(?:\s*-\s*[а-я]{1,3}|(?=\s+раунд[аеу]?(?![а-я])))|"
    r"(?:(?P<tens>двадцать|тридцать|сорок|пятьдесят)\s+)?(?P<stem>"
    + "|".join(stem for stem, _ in _RU_ORD_STEMS)
    + r")"
    + _RU_ENDINGS
    + r")(?![А-Яа-яЁё0-9])"
)
_RU_WORD = re.compile(r"[А-Яа-яЁё][А-Яа-яЁё-]*|[^\sА-Яа-яЁё]")
_RU_ROUND_NOUNS = (
    "раунд",
    "консультаци",
    "заседани",
    "встреч",
    "диалог",
    "переговор",
    "саммит",
    "патрул",
    "учени",
    "сесси",
)
_RU_NOUN = re.compile(r"(?<![А-Яа-яЁё])(?i:" + "|".join(_RU_ROUND_NOUNS) + ")")
_RU_STOP = (
    "годовщин",
    "съезд",
    "век",
    "века",
    "веке",
    "раз",
    "юбилей",
    "пленум",
    "день",
    "дня",
    "год",
    "года",
    "году",
)

_ZH_ROUND = re.compile(
    r"第\s*(?P<n>[0-9０-９]{1,3}|[一二三四五六七八九十百〇零两]{1,4})\s*(?P<kw>轮|次)"
)
_ZH_STOP = ("全国代表大会", "党代会", "代表大会", "全会", "全体会议")
_ZH_MEETING = ("会晤", "会议", "磋商", "对话", "会谈", "会见", "联合", "定期", "战略")


def _en_ordinal_value(match: re.Match[str]) -> int | None:
    """Value of an English ordinal match."""
    if match.group("n") is not None:
        return int(match.group("n"))
    if match.group("simple") is not None:
        return _EN_SIMPLE[match.group("simple").lower()]
    unit = _EN_UNITS[match.group("unit").lower()]
    tens = match.group("tens")
    return unit + (_EN_TENS[tens.lower()] if tens else 0)


def _ru_ordinal_value(match: re.Match[str]) -> int | None:
    """Value of a Russian ordinal match."""
    if match.group("n") is not None:
        return int(match.group("n"))
    stem = match.group("stem").lower()
    value = dict(_RU_ORD_STEMS)[stem]
    tens = match.group("tens")
    if tens:
        if value >= 10:
            return None
        value += _RU_TENS[tens.lower()]
    return value


def _noun_after(
    text: str, end: int, word_re: re.Pattern[str], nouns: tuple[str, ...], stops: tuple[str, ...]
) -> str | None:
    """The first round noun within seven words after `end`, or None at a stop or sentence end."""
    words = 0
    for token in word_re.finditer(text, end, min(len(text), end + _NOUN_REACH)):
        word = token.group().lower()
        if not word[0].isalpha():
            if word in '.;:!?()"«»“”':
                return None
            continue
        # Short stops must match whole words: "раз" (time) is not "развитие".
        if any(word == stop or (len(stop) > 4 and word.startswith(stop)) for stop in stops):
            return None
        for noun in nouns:
            if word.startswith(noun):
                return noun
        words += 1
        if words >= 7:
            return None
    return None


def _near(starts: list[int], end: int) -> bool:
    """Whether a round noun starts within reach after `end`."""
    index = bisect.bisect_left(starts, end)
    return index < len(starts) and starts[index] - end <= _NOUN_REACH


def _ordinal_rounds(
    text: str,
    ordinals: re.Pattern[str],
    value_of: Callable[[re.Match[str]], int | None],
    noun_re: re.Pattern[str],
    word_re: re.Pattern[str],
    nouns: tuple[str, ...],
    stops: tuple[str, ...],
) -> list[tuple[bool, int]]:
    """Ordinals followed by a round noun, as (named "round", value)."""
    # Only ordinals shortly before a noun are read word by word, which keeps long texts linear.
    starts = [match.start() for match in noun_re.finditer(text)]
    if not starts:
        return []
    found: list[tuple[bool, int]] = []
    for match in ordinals.finditer(text):
        if not _near(starts, match.end()):
            continue
        value = value_of(match)
        noun = _noun_after(text, match.end(), word_re, nouns, stops)
        if value is None or noun is None or not 0 < value < 1000:
            continue
        if value == 1 and noun != nouns[0]:
            continue
        found.append((noun == nouns[0], value))
    return found


def _best_round(candidates: list[tuple[bool, int]]) -> int | None:
    """A number named with "round" wins over other recurring events; else the first."""
    for is_round, value in candidates:
        if is_round:
            return value
    return candidates[0][1] if candidates else None


def find_round(text: str, lang: str | None) -> int | None:
    """The ordinal of a recurring meeting ("20th round", "第二十轮"), or None."""
    if not isinstance(text, str) or not text:
        return None
    languages = _languages(lang, text)
    candidates: list[tuple[bool, int]] = []
    if "en" in languages:
        candidates += _ordinal_rounds(
            text, _EN_ORDINAL, _en_ordinal_value, _EN_NOUN, _EN_WORD, _EN_ROUND_NOUNS, _EN_STOP
        )
    if "ru" in languages:
        candidates += _ordinal_rounds(
            text, _RU_ORDINAL, _ru_ordinal_value, _RU_NOUN, _RU_WORD, _RU_ROUND_NOUNS, _RU_STOP
        )
    if "zh" in languages:
        for match in _ZH_ROUND.finditer(text):
            value = _number(match.group("n"))
            if value is None or not 0 < value < 1000:
                continue
            after = text[match.end() : match.end() + 20]
            if any(after.startswith(stop) or stop in after[:8] for stop in _ZH_STOP):
                continue
            if (
                match.group("kw") == "次"
                and value == 1
                and not any(w in after for w in _ZH_MEETING)
            ):
                # "第一次" usually means "for the first time".
                continue
            candidates.append((match.group("kw") == "轮", value))
    return _best_round(candidates)
