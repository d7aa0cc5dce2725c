"""Clustering mentions into real-world events, across outlets and languages."""

from __future__ import annotations

from datetime import date

from sinorus.cluster import EventRecord, assign, cluster, same_event, summarize
from sinorus.detect.detector import detect
from sinorus.detect.model import Mention, Participant

XI = Participant("Xi Jinping", "xi-jinping", "CN", "president", "President", "head_of_state")
PUTIN = Participant(
    "Vladimir Putin", "vladimir-putin", "RU", "president", "President", "head_of_state"
)
WANG = Participant("Wang Yi", "wang-yi", "CN", "foreign_minister", "FM", "minister")
LAVROV = Participant("Sergey Lavrov", "sergey-lavrov", "RU", "foreign_minister", "FM", "minister")
PATRUSHEV = Participant("Nikolai Patrushev", "nikolai-patrushev", "RU", None, None, "minister")


def mention(
    who: list[Participant],
    day: date | None,
    status: str = "held",
    type_: str = "meeting",
    location: str | None = None,
    end: date | None = None,
    date_text: str | None = "stated",
) -> Mention:
    return Mention(
        type=type_,
        status=status,
        event_date=day,
        date_text=date_text if day else None,
        location=location,
        participants=who,
        level=None,
        round=None,
        evidence="…",
        highlights=[],
        confidence=0.9,
        cameo="040",
        plover="CONSULT",
        background=False,
        event_end=end,
    )


def test_same_meeting_reported_in_three_languages_is_one_event() -> None:
    day = date(2025, 6, 10)
    en = detect(
        "Chinese President Xi Jinping held talks with Russian President Vladimir Putin in "
        "Moscow on Tuesday.",
        lang="en",
        published=date(2025, 6, 11),
    )
    ru = detect(
        "Владимир Путин провёл переговоры с Си Цзиньпином в Москве 10 июня.",
        lang="ru",
        published=date(2025, 6, 10),
    )
    zh = detect(
        "6月10日，国家主席习近平在莫斯科同俄罗斯总统普京举行会谈。",
        lang="zh",
        published=date(2025, 6, 10),
    )
    items = [(m, date(2025, 6, 11)) for m in en + ru + zh]
    assert all(m.event_date == day for m, _ in items)
    assert cluster(items) == [[0, 1, 2]]


def test_planned_and_held_reports_join_and_the_event_is_held() -> None:
    planned = mention([XI, PUTIN], date(2025, 6, 9), "planned", end=date(2025, 6, 15))
    held = mention([XI, PUTIN], date(2025, 6, 10))
    groups = cluster([(planned, date(2025, 6, 2)), (held, date(2025, 6, 10))])
    assert groups == [[0, 1]]
    event = summarize([planned, held])
    assert event.status == "held"
    assert event.event_date == date(2025, 6, 10)
    assert event.level == "head_of_state"
    assert event.headline == "Meeting: Xi Jinping – Vladimir Putin, 10 Jun 2025"


def test_undated_announcement_joins_the_meeting_weeks_later() -> None:
    planned = mention([WANG, LAVROV], None, "planned")
    held = mention([WANG, LAVROV], date(2025, 4, 1))
    assert same_event(planned, held, published_a=date(2025, 3, 10), published_b=date(2025, 4, 1))
    # an announcement cannot be about a meeting that had already happened when it appeared
    assert not same_event(
        planned, held, published_a=date(2025, 4, 20), published_b=date(2025, 4, 1)
    )


def test_different_dates_are_different_events() -> None:
    a = mention([WANG, LAVROV], date(2025, 2, 20))
    b = mention([WANG, LAVROV], date(2025, 4, 1))
    assert cluster([(a, date(2025, 2, 20)), (b, date(2025, 4, 1))]) == [[0], [1]]


def test_different_counterparts_on_one_trip_are_different_meetings() -> None:
    a = mention([WANG, LAVROV], date(2023, 9, 18))
    b = mention([WANG, PATRUSHEV], date(2023, 9, 19))
    assert not same_event(a, b)


def test_two_cities_two_days_are_two_meetings() -> None:
    a = mention([XI, PUTIN], date(2025, 8, 31), location="Tianjin")
    b = mention([XI, PUTIN], date(2025, 9, 2), location="Beijing")
    assert not same_event(a, b)
    same_day = mention([XI, PUTIN], date(2025, 9, 2), location="Moscow")
    assert same_event(b, same_day)  # a wrong place name does not split one day's meeting


def test_type_must_match() -> None:
    day = date(2025, 5, 8)
    assert not same_event(mention([XI, PUTIN], day), mention([XI, PUTIN], day, type_="agreement"))


def test_country_level_reports_join_by_date() -> None:
    a = mention([], date(2024, 7, 14), type_="military")
    b = mention([], date(2024, 7, 12), type_="military")
    c = mention([], date(2024, 11, 29), type_="military")
    assert cluster([(a, None), (b, None), (c, None)]) == [[0, 1], [2]]


def test_assign_against_existing_events() -> None:
    existing = [
        summarize([mention([WANG, LAVROV], date(2025, 4, 1))]),
        summarize([mention([XI, PUTIN], date(2025, 5, 8))]),
    ]
    new = [
        (mention([XI, PUTIN], date(2025, 5, 9)), date(2025, 5, 9)),
        (mention([LAVROV, WANG], None), date(2025, 4, 2)),
        (mention([XI, PUTIN], date(2025, 9, 2)), date(2025, 9, 2)),
    ]
    assert assign(new, existing) == [1, 0, None]


def test_summary_of_cancelled_report_keeps_the_stated_status() -> None:
    event = summarize([mention([XI, PUTIN], date(2025, 6, 20), "cancelled")])
    assert isinstance(event, EventRecord)
    assert event.status == "cancelled"
    assert event.to_dict()["event_date"] == "2025-06-20"
