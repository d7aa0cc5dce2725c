"""Date and round resolution in English, Russian and Chinese."""

from __future__ import annotations

import datetime as dt
import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sinorus.detect import dates, patterns
from sinorus.detect.dates import DateMention, find_dates, find_round

# A Friday.
PUB = dt.date(2025, 11, 28)
D = dt.date


def only(
    text: str, lang: str | None, published: dt.date | None = PUB, prefer: str = "nearest"
) -> DateMention:
    """The single mention found in `text`."""
    found = find_dates(text, lang, published, prefer)
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize(
    ("text", "first", "last", "precision", "relative"),
    [
        ("on Tuesday", D(2025, 11, 25), None, "day", True),
        ("today", PUB, None, "day", True),
        ("yesterday", D(2025, 11, 27), None, "day", True),
        ("tomorrow", D(2025, 11, 29), None, "day", True),
        ("last week", D(2025, 11, 17), D(2025, 11, 23), "week", True),
        ("next week", D(2025, 12, 1), D(2025, 12, 7), "week", True),
        ("this week", D(2025, 11, 24), D(2025, 11, 30), "week", True),
        ("last month", D(2025, 10, 1), D(2025, 10, 31), "month", True),
        ("next month", D(2025, 12, 1), D(2025, 12, 31), "month", True),
        ("last year", D(2024, 1, 1), D(2024, 12, 31), "year", True),
        ("this year", D(2025, 1, 1), D(2025, 12, 31), "year", True),
        ("earlier this month", D(2025, 11, 1), PUB, "month", True),
        ("December 1-2", D(2025, 12, 1), D(2025, 12, 2), "day", True),
        ("Dec. 1", D(2025, 12, 1), None, "day", True),
        ("1 December 2025", D(2025, 12, 1), None, "day", False),
        ("December 1, 2025", D(2025, 12, 1), None, "day", False),
        ("2025-12-01", D(2025, 12, 1), None, "day", False),
        ("in July", D(2025, 7, 1), D(2025, 7, 31), "month", True),
        ("last July", D(2025, 7, 1), D(2025, 7, 31), "month", True),
        ("in July 2024", D(2024, 7, 1), D(2024, 7, 31), "month", False),
        ("on May 8-9", D(2026, 5, 8), D(2026, 5, 9), "day", True),
        ("in 2019", D(2019, 1, 1), D(2019, 12, 31), "year", False),
        ("on the 9th,", D(2025, 12, 9), None, "day", True),
        ("from Nov. 3 to 4", D(2025, 11, 3), D(2025, 11, 4), "day", True),
        ("30 November - 2 December 2025", D(2025, 11, 30), D(2025, 12, 2), "day", False),
        ("September 18-21", D(2025, 9, 18), D(2025, 9, 21), "day", True),
    ],
)
def test_english(
    text: str, first: dt.date, last: dt.date | None, precision: str, relative: bool
) -> None:
    found = only(f"Officials said {text} talks went well.", "en")
    assert (found.date, found.end_date, found.precision, found.relative) == (
        first,
        last,
        precision,
        relative,
    )
    assert text.strip(",").startswith(found.text) or found.text in text


@pytest.mark.parametrize(
    ("text", "first", "last", "precision"),
    [
        ("во вторник", D(2025, 11, 25), None, "day"),
        ("в понедельник", D(2025, 12, 1), None, "day"),
        ("сегодня", PUB, None, "day"),
        ("вчера", D(2025, 11, 27), None, "day"),
        ("завтра", D(2025, 11, 29), None, "day"),
        ("на прошлой неделе", D(2025, 11, 17), D(2025, 11, 23), "week"),
        ("на следующей неделе", D(2025, 12, 1), D(2025, 12, 7), "week"),
        ("1 декабря", D(2025, 12, 1), None, "day"),
        ("1-2 декабря", D(2025, 12, 1), D(2025, 12, 2), "day"),
        ("1–2 декабря 2025 года", D(2025, 12, 1), D(2025, 12, 2), "day"),
        ("в июле", D(2025, 7, 1), D(2025, 7, 31), "month"),
        ("в июле прошлого года", D(2024, 7, 1), D(2024, 7, 31), "month"),
        ("в прошлом году", D(2024, 1, 1), D(2024, 12, 31), "year"),
        ("в 2019 году", D(2019, 1, 1), D(2019, 12, 31), "year"),
        ("01.12.2025", D(2025, 12, 1), None, "day"),
        ("в январе 2025 года", D(2025, 1, 1), D(2025, 1, 31), "month"),
        ("в мае", D(2026, 5, 1), D(2026, 5, 31), "month"),
        ("3 ноября", D(2025, 11, 3), None, "day"),
        ("30 ноября – 2 декабря", D(2025, 11, 30), D(2025, 12, 2), "day"),
    ],
)
def test_russian(text: str, first: dt.date, last: dt.date | None, precision: str) -> None:
    found = only(f"Стороны {text} провели переговоры.", "ru")
    assert (found.date, found.end_date, found.precision) == (first, last, precision)


@pytest.mark.parametrize(
    "month_form",
    [
        "январь",
        "января",
        "январе",
        "февраля",
        "марте",
        "апреля",
        "мае",
        "июня",
        "июле",
        "августе",
        "сентября",
        "октябре",
        "ноября",
        "декабре",
    ],
)
def test_russian_month_cases(month_form: str) -> None:
    found = only(f"в {month_form} 2024 года", "ru")
    assert found.date.year == 2024
    assert found.precision == "month"


@pytest.mark.parametrize(
    ("text", "first", "last", "precision"),
    [
        ("2月1日", D(2026, 2, 1), None, "day"),
        ("2025年2月1日", D(2025, 2, 1), None, "day"),
        ("12月1日至2日", D(2025, 12, 1), D(2025, 12, 2), "day"),
        ("1日至2日", D(2025, 12, 1), D(2025, 12, 2), "day"),
        ("本周二", D(2025, 11, 25), None, "day"),
        ("上周", D(2025, 11, 17), D(2025, 11, 23), "week"),
        ("下周", D(2025, 12, 1), D(2025, 12, 7), "week"),
        ("今天", PUB, None, "day"),
        ("昨天", D(2025, 11, 27), None, "day"),
        ("明天", D(2025, 11, 29), None, "day"),
        ("上月", D(2025, 10, 1), D(2025, 10, 31), "month"),
        ("去年7月", D(2024, 7, 1), D(2024, 7, 31), "month"),
        ("今年", D(2025, 1, 1), D(2025, 12, 31), "year"),
        ("当地时间11月27日", D(2025, 11, 27), None, "day"),
        ("日前", D(2025, 11, 22), PUB, "week"),
        ("近日", D(2025, 11, 22), PUB, "week"),
        ("十二月一日", D(2025, 12, 1), None, "day"),
        ("二〇二五年二月一日", D(2025, 2, 1), None, "day"),
    ],
)
def test_chinese(text: str, first: dt.date, last: dt.date | None, precision: str) -> None:
    found = only(f"中俄双方{text}举行会谈。", "zh")
    assert (found.date, found.end_date, found.precision) == (first, last, precision)
    assert found.relative == (text not in ("2025年2月1日", "二〇二五年二月一日"))


def test_chinese_rt_is_not_today() -> None:
    assert find_dates("今日俄罗斯报道称", "zh", PUB) == []


@pytest.mark.parametrize(
    ("text", "lang", "prefer", "expected"),
    [
        ("1 December", "en", "future", D(2025, 12, 1)),
        ("1 December", "en", "past", D(2024, 12, 1)),
        ("1 December", "en", "nearest", D(2025, 12, 1)),
        ("1 декабря", "ru", "past", D(2024, 12, 1)),
        ("12月1日", "zh", "past", D(2024, 12, 1)),
        ("on Tuesday", "en", "past", D(2025, 11, 25)),
        ("on Tuesday", "en", "future", D(2025, 12, 2)),
        ("on Friday", "en", "past", PUB),
        ("on Friday", "en", "future", PUB),
        ("on Monday", "en", "nearest", D(2025, 12, 1)),
        ("on Monday", "en", "past", D(2025, 11, 24)),
        ("во вторник", "ru", "future", D(2025, 12, 2)),
        ("周二", "zh", "future", D(2025, 12, 2)),
        ("周二", "zh", "past", D(2025, 11, 25)),
        ("in December", "en", "past", D(2024, 12, 1)),
        ("in December", "en", "future", D(2025, 12, 1)),
        ("in November", "en", "past", D(2025, 11, 1)),
        ("in November", "en", "future", D(2025, 11, 1)),
        ("last Friday", "en", "nearest", D(2025, 11, 21)),
        ("next Friday", "en", "nearest", D(2025, 12, 5)),
    ],
)
def test_prefer_directions(text: str, lang: str, prefer: str, expected: dt.date) -> None:
    assert only(text, lang, PUB, prefer).date == expected


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("on Tuesday", "en"),
        ("yesterday", "en"),
        ("1 December", "en"),
        ("in July", "en"),
        ("во вторник", "ru"),
        ("2月1日", "zh"),
        ("日前", "zh"),
        ("去年7月", "zh"),
    ],
)
def test_relative_dropped_without_published(text: str, lang: str) -> None:
    assert find_dates(text, lang, None) == []


def test_absolute_kept_without_published() -> None:
    found = only("1 December 2025", "en", None)
    assert found.date == D(2025, 12, 1)
    assert not found.relative


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("February 30", "en"),
        ("February 30, 2025", "en"),
        ("2025-02-30", "en"),
        ("9999-12-31", "en"),
        ("0001-01-01", "en"),
        ("31 апреля 2025 года", "ru"),
        ("2月31日", "zh"),
        ("2025年13月1日", "zh"),
        ("December 5-2, 2025", "en"),
        ("", "en"),
        ("", None),
    ],
)
def test_invalid_dates_skipped(text: str, lang: str | None) -> None:
    # A valid year around an invalid day may still count as a year mention.
    assert [m for m in find_dates(text, lang, PUB) if m.precision != "year"] == []


def test_edge_anchors_do_not_crash() -> None:
    text = "yesterday, next week, on Tuesday, 1 December, in July, 今年, 2月1日"
    for anchor in (D(1, 1, 1), D(9999, 12, 31)):
        for prefer in ("past", "future", "nearest"):
            for mention in find_dates(text, "en", anchor, prefer):
                assert isinstance(mention.date, dt.date)


def test_several_mentions_in_order_without_overlap() -> None:
    text = "Xi met Putin on Tuesday. The talks of December 1-2, 2025 followed a call last week."
    found = find_dates(text, "en", PUB)
    assert [m.text for m in found] == ["on Tuesday", "December 1-2, 2025", "last week"]
    assert all(a.end <= b.start for a, b in itertools.pairwise(found))


def test_unknown_language_uses_scripts() -> None:
    found = find_dates("Il 19 settembre; 1 декабря 2025 года; 2025年2月1日", None, PUB)
    assert [m.date for m in found] == [D(2025, 12, 1), D(2025, 2, 1)]


def test_long_input() -> None:
    text = "Talks on December 1, 2025. " * 40_000
    found = find_dates(text, "en", PUB)
    assert len(found) == 40_000
    assert {m.date for m in found} == {D(2025, 12, 1)}


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("the 20th round of talks", "en", 20),
        ("the twentieth round", "en", 20),
        ("the twenty-first round", "en", 21),
        ("the thirtieth round", "en", 30),
        ("the 20th China-Russia strategic security consultation", "en", 20),
        ("the ninth joint strategic air patrol", "en", 9),
        ("the 30th regular meeting of the heads of government", "en", 30),
        ("двадцатый раунд консультаций", "ru", 20),
        ("двадцатого раунда", "ru", 20),
        ("в двадцатом раунде", "ru", 20),
        ("двадцать первого раунда", "ru", 21),
        ("тридцатый раунд", "ru", 30),
        ("20-й раунд", "ru", 20),
        ("20-го раунда", "ru", 20),
        ("по итогам 30-го регулярного заседания глав правительств", "ru", 30),
        ("第二十轮", "zh", 20),
        ("第20轮", "zh", 20),
        ("第二十次中俄战略安全磋商", "zh", 20),
        ("第二十九次定期会晤", "zh", 29),
        ("第三十轮", "zh", 30),
        ("the 20th round", None, 20),
        ("hanno presieduto il 18° round di consultazioni", "it", 18),
        ("第二十轮", None, 20),
    ],
)
def test_rounds(text: str, lang: str | None, expected: int) -> None:
    assert find_round(text, lang) == expected


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("the 75th anniversary of diplomatic relations meeting", "en"),
        ("for the first time, the leaders met", "en"),
        ("the 20th Party Congress", "en"),
        ("20 years of talks", "en"),
        ("в 20-й раз провели встречу", "ru"),
        ("в пятницу раунд переговоров", "ru"),
        ("这是两国第一次", "zh"),
        ("第二十次全国代表大会", "zh"),
        ("", "en"),
    ],
)
def test_no_round(text: str, lang: str) -> None:
    assert find_round(text, lang) is None


def test_round_named_round_wins() -> None:
    text = "During the 30th regular meeting they opened the 20th round of consultations."
    assert find_round(text, "en") == 20


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(max_size=300),
    lang=st.sampled_from(["en", "ru", "zh", None, "it", ""]),
    published=st.one_of(st.none(), st.dates()),
    prefer=st.sampled_from(["past", "future", "nearest", "bogus"]),
)
def test_never_raises_and_spans_hold(
    text: str, lang: str | None, published: dt.date | None, prefer: str
) -> None:
    for mention in find_dates(text, lang, published, prefer):
        assert mention.start <= mention.end
        assert text[mention.start : mention.end] == mention.text
        assert isinstance(mention.date, dt.date)
        assert mention.end_date is None or mention.end_date >= mention.date
    find_round(text, lang)


DATE_WORDS = st.sampled_from(
    [
        "December",
        "Dec",
        "TUESDAY",
        "ToDay",
        "yeſterday",
        "next week",
        "в ",
        "мае",
        "на прошлой неделе",
        "в прошлом году",
        "позавчера",
        "ᲁᲂ",
        "Dec.",
        "декабря",
        "月",
        "日",
        "年",
        "1",
        "2",
        "2025",
        "-",
        " ",
        "on",
        "the",
        "9th",
        "第",
        "二十",
        "轮",
        "раунд",
        "20-й",
        "Tuesday",
        "во",
        "вторник",
        "周二",
        "、",
        "至",
    ]
)


@settings(max_examples=200, deadline=None)
@given(parts=st.lists(DATE_WORDS, max_size=40), published=st.dates())
def test_date_like_noise_never_raises(parts: list[str], published: dt.date) -> None:
    text = "".join(parts)
    for mention in find_dates(text, None, published, "past"):
        assert text[mention.start : mention.end] == mention.text
    find_round(text, None)


@settings(max_examples=150, deadline=None)
@given(
    day=st.dates(min_value=D(1900, 1, 1), max_value=D(2199, 12, 31)),
    published=st.one_of(st.none(), st.dates()),
    prefer=st.sampled_from(["past", "future", "nearest"]),
    form=st.sampled_from(["en_dmy", "en_mdy", "iso", "ru", "zh"]),
)
def test_absolute_date_ignores_anchor(
    day: dt.date, published: dt.date | None, prefer: str, form: str
) -> None:
    en = day.strftime("%B")
    ru = [
        "января",
        "февраля",
        "марта",
        "апреля",
        "мая",
        "июня",
        "июля",
        "августа",
        "сентября",
        "октября",
        "ноября",
        "декабря",
    ][day.month - 1]
    text, lang = {
        "en_dmy": (f"{day.day} {en} {day.year}", "en"),
        "en_mdy": (f"{en} {day.day}, {day.year}", "en"),
        "iso": (day.isoformat(), "en"),
        "ru": (f"{day.day} {ru} {day.year} года", "ru"),
        "zh": (f"{day.year}年{day.month}月{day.day}日", "zh"),
    }[form]
    found = find_dates(text, lang, published, prefer)
    assert [(m.date, m.relative, m.text) for m in found] == [(day, False, text)]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"[0-9]", True),
        (r"a(?:b|c)?[0-3]?[0-9]", True),
        (r"(?:1|2)x", True),
        (r"(?P<y>[0-9]{4})", True),
        (r"(?:[0-9]{2})+", True),
        (r"a[0-9]?", False),
        (r"(?:1|x)", False),
        (r"(?=1)x", False),  # a lookahead consumes nothing
        (r"(?<![0-9])x", False),
        (r"[0-9a]", False),
        (r"[^a]", False),
        (r"\d", False),  # any Unicode digit, not only ASCII
        (r"[0-9]*x", False),
        (r"[０-９]", False),
    ],
)
def test_needs_digit(pattern: str, expected: bool) -> None:
    assert dates.needs_digit(re.compile(pattern)) is expected


def test_the_rules_skipped_without_a_digit() -> None:
    gated = {p.pattern for p, _h, needs, _w in dates._rules_for(("en", "ru", "zh")) if needs}
    assert gated == {
        p.pattern
        for p in (
            dates._EN_ISO,
            dates._RU_DOTTED,
            dates._EN_MDY,
            dates._EN_DMY,
            dates._EN_MONTH_YEAR,
            dates._EN_YEAR_ONLY,
            dates._EN_NTH,
            dates._RU_DM,
            dates._RU_YEAR_ONLY,
        )
    }


@pytest.mark.parametrize(
    ("pattern", "flags", "expected"),
    [
        (r"(?<![A-Za-z])(?P<wd>Monday|Friday)(?![A-Za-z])", 0, "Friday|Monday"),
        (r"(?i:last|next)\s+(?:weeks|month)", 0, "month|weeks"),
        (r"Jan(?:uary)?\s+[0-9]", re.IGNORECASE, "J(?i:an)|j(?i:an)"),
        (r"(?-i:May)\s+(?:day|night)", re.IGNORECASE, "May"),
        (r"(?:abc)+x|(?:abd)", 0, "abc|abd"),
        (r"(?:abc)?def", 0, "def"),
        (r"ab\s+cd", 0, None),  # nothing of three characters is certain
        (r"(?=week)x", 0, None),  # a lookahead holds nothing of the match
        (r"[Dd]ay", 0, None),
        (r"(?:one|[0-9])", 0, None),
    ],
)
def test_required_words(pattern: str, flags: int, expected: str | None) -> None:
    words = dates.required_words(re.compile(pattern, flags))
    assert (words.pattern if words else None) == expected


def test_a_word_search_ignoring_case_finds_every_case_form() -> None:
    search = patterns.word_search([("kid", True), ("Sun", False)])
    # the Kelvin sign and the long s are what `re` ignoring case takes for k and s
    for text in ("KID", "\u212aid", "a kId", "Sun"):
        assert search.search(text), text
    for text in ("sun", "SUN", "ki d"):
        assert not search.search(text), text


@settings(max_examples=200, deadline=None)
@given(parts=st.lists(DATE_WORDS, max_size=40), lang=st.sampled_from(["en", "ru", "zh", None]))
def test_skipping_rules_changes_nothing(parts: list[str], lang: str | None) -> None:
    text = "".join(parts)
    found = find_dates(text, lang, PUB, "past")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(dates, "_DIGIT", re.compile(""))  # every text "has" a digit: no rule skipped
        mp.setattr(dates, "required_words", lambda pattern: None)
        dates._rules_for.cache_clear()
        assert find_dates(text, lang, PUB, "past") == found
    dates._rules_for.cache_clear()
