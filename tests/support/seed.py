"""Rows for the read-side tests: feeds, fetch log, articles, events, mentions and alerts."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import psycopg2.extensions

from sinorus import db as sdb


def person(
    name: str, person_id: str | None, country: str, role: str, title: str, level: str
) -> dict[str, Any]:
    return {
        "name": name,
        "person_id": person_id,
        "country": country,
        "role": role,
        "title": title,
        "level": level,
    }


XI = person("Xi Jinping", "xi_jinping", "CN", "president", "President", "head_of_state")
PUTIN = person("Vladimir Putin", "vladimir_putin", "RU", "president", "President", "head_of_state")
WANG_YI = person("Wang Yi", "wang_yi", "CN", "foreign_minister", "Foreign Minister", "minister")
LAVROV = person("Sergey Lavrov", "sergey_lavrov", "RU", "foreign_minister", "", "minister")
LI_QIANG = person("Li Qiang", "li_qiang", "CN", "premier", "Premier", "head_of_government")
MISHUSTIN = person(
    "Mikhail Mishustin",
    "mikhail_mishustin",
    "RU",
    "prime_minister",
    "Prime Minister",
    "head_of_government",
)
DONG_JUN = person("Dong Jun", "dong_jun", "CN", "defence_minister", "Defence Minister", "minister")
BELOUSOV = person(
    "Andrei Belousov", "andrei_belousov", "RU", "defence_minister", "Defence Minister", "minister"
)
VICE_CN = person("Sun Weidong", "sun_weidong", "CN", "vice_foreign_minister", "", "senior_official")
VICE_RU = person(
    "Andrei Rudenko", "andrei_rudenko", "RU", "deputy_foreign_minister", "", "senior_official"
)

JSON_COLUMNS = frozenset({"participants", "highlights"})

SCRIPT_TITLE = "Navies <script>alert(1)</script> & friends drill near Vladivostok"


def insert(cur: psycopg2.extensions.cursor, table: str, values: dict[str, Any]) -> int:
    """Insert one row; JSON columns take JSON, other lists go in as arrays."""
    cols = list(values)
    params = [
        json.dumps(v, ensure_ascii=False) if k in JSON_COLUMNS else v for k, v in values.items()
    ]
    placeholders = ", ".join(["%s"] * len(cols))
    cur.execute(
        f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({placeholders}) RETURNING id", params
    )
    row = cur.fetchone()
    assert row is not None
    return int(row[0])


@dataclass
class Seeded:
    """Ids of the standard rows by a short name, and the server's date they are anchored on."""

    today: dt.date
    feeds: dict[str, int] = field(default_factory=dict)
    articles: dict[str, int] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)


def server_today(conn: psycopg2.extensions.connection) -> dt.date:
    """The database's current_date, which the views compare against."""
    with conn.cursor() as cur:
        cur.execute("SELECT current_date")
        row = cur.fetchone()
    conn.rollback()
    assert row is not None
    day: dt.date = row[0]
    return day


def add_event(
    cur: psycopg2.extensions.cursor,
    *,
    type_: str,
    day: dt.date | None,
    people: list[dict[str, Any]],
    level: str | None,
    status: str = "held",
    location: str | None = None,
    round_: int | None = None,
    headline: str | None = None,
    background: bool = False,
    first_seen: dt.datetime | None = None,
) -> int:
    """One events row; outlet and article counts are filled in by add_mention."""
    values: dict[str, Any] = {
        "type": type_,
        "status": status,
        "event_date": day,
        "location": location,
        "participants": people,
        "people": [p["person_id"] for p in people if p.get("person_id")],
        "level": level,
        "round": round_,
        "headline": headline,
        "background": background,
    }
    if first_seen is not None:
        values["first_seen"] = first_seen
        values["last_seen"] = first_seen
    return insert(cur, "events", values)


def add_article(
    cur: psycopg2.extensions.cursor,
    *,
    url: str,
    outlet: str,
    title: str,
    lang: str,
    published: dt.datetime,
    feed_id: int | None = None,
    body: str = "",
    fetched: dt.datetime | None = None,
) -> int:
    values: dict[str, Any] = {
        "url": url,
        "entry_url": url,
        "outlet": outlet,
        "title": title,
        "lang": lang,
        "published_at": published,
        "feed_id": feed_id,
        "body": body or title,
        "extraction_status": "page",
    }
    if fetched is not None:
        values["fetched_at"] = fetched
    return insert(cur, "articles", values)


def add_mention(
    cur: psycopg2.extensions.cursor,
    *,
    article_id: int,
    event_id: int | None,
    evidence: str,
    words: list[str],
    confidence: float,
    ordinal: int = 0,
) -> int:
    """A mention whose highlights mark each of `words` where it first occurs in the evidence."""
    highlights = []
    for word in words:
        start = evidence.index(word)
        highlights.append([start, start + len(word)])
    cur.execute(
        "SELECT type, status, event_date, location, participants, level, round "
        "FROM events WHERE id = %s",
        (event_id,),
    )
    ev = cur.fetchone() if event_id is not None else None
    mention_id = insert(
        cur,
        "event_mentions",
        {
            "article_id": article_id,
            "ordinal": ordinal,
            "event_id": event_id,
            "type": ev[0] if ev else "meeting",
            "status": ev[1] if ev else "held",
            "event_date": ev[2] if ev else None,
            "location": ev[3] if ev else None,
            "participants": ev[4] if ev else [],
            "level": ev[5] if ev else None,
            "round": ev[6] if ev else None,
            "evidence": evidence,
            "highlights": sorted(highlights),
            "confidence": confidence,
            "detector_version": "test",
        },
    )
    if event_id is not None:
        cur.execute(
            "UPDATE events SET n_articles = s.n, n_outlets = s.o FROM ("
            " SELECT count(*) AS n, count(DISTINCT a.outlet) AS o FROM event_mentions m"
            " JOIN articles a ON a.id = m.article_id WHERE m.event_id = %s) s WHERE id = %s",
            (event_id, event_id),
        )
    return mention_id


def standard(conn: psycopg2.extensions.connection) -> Seeded:
    """The fixed data set the view, query, CLI, page and browser tests read."""
    today = server_today(conn)
    seeded = Seeded(today=today)

    def at(days_ago: int, hour: int = 9) -> dt.datetime:
        day = today - dt.timedelta(days=days_ago)
        return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)

    now = dt.datetime.now(dt.UTC)
    with sdb.transaction(conn) as cur:
        tass = insert(
            cur,
            "feeds",
            {
                "url": "http://127.0.0.1:9/tass.xml",
                "name": "TASS English",
                "lang": "en",
                "last_status": "ok",
                "http_status": 200,
                "last_ok_at": now - dt.timedelta(hours=1),
                "last_checked_at": now - dt.timedelta(hours=1),
            },
        )
        broken = insert(
            cur,
            "feeds",
            {
                "url": "http://127.0.0.1:9/broken.xml",
                "name": "Broken <b>feed</b>",
                "lang": "ru",
                "last_status": "failed",
                "http_status": 503,
                "consecutive_failures": 3,
                "last_ok_at": now - dt.timedelta(days=4),
                "last_checked_at": now - dt.timedelta(hours=1),
                "last_error": "HTTP 503",
            },
        )
        seeded.feeds = {"tass": tass, "broken": broken}
        for i, (status, error) in enumerate(
            [("ok", None), ("failed", "timeout after 20s"), ("failed", "HTTP 503 <html>")]
        ):
            insert(
                cur,
                "fetch_log",
                {
                    "run_id": f"run-{i}",
                    "feed_id": broken,
                    "started_at": now - dt.timedelta(hours=3 - i),
                    "status": status,
                    "error": error,
                },
            )
        insert(
            cur,
            "fetch_log",
            {"run_id": "run-2", "feed_id": tass, "started_at": now, "status": "ok", "new_items": 2},
        )

        ev = seeded.events
        ev["summit"] = add_event(
            cur,
            type_="meeting",
            day=today - dt.timedelta(days=5),
            people=[XI, PUTIN],
            level="head_of_state",
            location="Moscow",
            headline="Xi Jinping meets Vladimir Putin",
        )
        ev["call"] = add_event(
            cur,
            type_="call",
            day=today - dt.timedelta(days=20),
            people=[WANG_YI, LAVROV],
            level="minister",
            headline="Wang Yi holds phone call with Sergey Lavrov",
        )
        ev["premiers"] = add_event(
            cur,
            type_="agreement",
            day=today - dt.timedelta(days=10),
            people=[LI_QIANG, MISHUSTIN],
            level="head_of_government",
            location="Beijing",
            round_=29,
            headline="Li Qiang and Mikhail Mishustin sign agreements",
        )
        ev["consult"] = add_event(
            cur,
            type_="meeting",
            day=today - dt.timedelta(days=3),
            people=[VICE_CN, VICE_RU],
            level="senior_official",
            status="planned",
            headline="Vice ministers to consult",
        )
        ev["recalled"] = add_event(
            cur,
            type_="meeting",
            day=today - dt.timedelta(days=40),
            people=[WANG_YI, LAVROV],
            level="minister",
            background=True,
            headline="Wang Yi met Lavrov (recalled)",
        )
        ev["old"] = add_event(
            cur,
            type_="meeting",
            day=today - dt.timedelta(days=200),
            people=[WANG_YI, LAVROV],
            level="minister",
            location="Vientiane",
            headline="Wang Yi meets Lavrov in Vientiane",
        )
        ev["drill"] = add_event(
            cur,
            type_="military",
            day=today - dt.timedelta(days=1),
            people=[DONG_JUN, BELOUSOV],
            level="minister",
            location="Vladivostok",
            headline=SCRIPT_TITLE,
        )

        arts = seeded.articles
        arts["tass_summit"] = add_article(
            cur,
            url="https://tass.com/politics/1",
            outlet="tass.com",
            title="Putin, Xi hold talks in the Kremlin",
            lang="en",
            published=at(5),
            feed_id=tass,
            fetched=now - dt.timedelta(hours=2),
            body="Putin and Xi held talks in the Kremlin on energy and Power of Siberia 2.",
        )
        arts["xinhua_summit"] = add_article(
            cur,
            url="https://news.cn/world/2",
            outlet="news.cn",
            title="习近平同普京举行会谈",
            lang="zh",
            published=at(5, 12),
        )
        arts["ria_summit"] = add_article(
            cur,
            url="https://ria.ru/3",
            outlet="ria.ru",
            title="Путин провел переговоры с Си",
            lang="ru",
            published=at(4),
            feed_id=broken,
            fetched=now - dt.timedelta(days=3),
        )
        arts["tass_call"] = add_article(
            cur,
            url="https://tass.com/politics/4",
            outlet="tass.com",
            title="Lavrov, Wang Yi discuss Ukraine by phone",
            lang="en",
            published=at(20),
            feed_id=tass,
            fetched=now - dt.timedelta(days=20),
        )
        arts["premiers"] = add_article(
            cur,
            url="https://news.cn/5",
            outlet="news.cn",
            title="Premiers sign 12 documents",
            lang="en",
            published=at(10),
        )
        arts["consult"] = add_article(
            cur,
            url="https://mid.ru/6",
            outlet="mid.ru",
            title="Consultations announced",
            lang="ru",
            published=at(3),
        )
        arts["recalled"] = add_article(
            cur,
            url="https://tass.com/politics/7",
            outlet="tass.com",
            title="Background piece",
            lang="en",
            published=at(2),
        )
        arts["old"] = add_article(
            cur,
            url="https://tass.com/politics/8",
            outlet="tass.com",
            title="Vientiane talks",
            lang="en",
            published=at(200),
        )
        arts["drill"] = add_article(
            cur,
            url="https://example.org/drill?a=1&b=2",
            outlet="example.org",
            title=SCRIPT_TITLE,
            lang="en",
            published=at(1),
        )

        add_mention(
            cur,
            article_id=arts["tass_summit"],
            event_id=ev["summit"],
            evidence="Putin and Xi held talks in the Kremlin on Tuesday.",
            words=["Putin", "Xi", "held talks"],
            confidence=0.95,
        )
        add_mention(
            cur,
            article_id=arts["xinhua_summit"],
            event_id=ev["summit"],
            evidence="国家主席习近平在莫斯科同俄罗斯总统普京举行会谈。",
            words=["习近平", "普京", "会谈"],
            confidence=0.9,
        )
        add_mention(
            cur,
            article_id=arts["ria_summit"],
            event_id=ev["summit"],
            evidence="Владимир Путин провел переговоры с Си Цзиньпином в Кремле.",
            words=["Путин", "переговоры"],
            confidence=0.85,
        )
        add_mention(
            cur,
            article_id=arts["tass_call"],
            event_id=ev["call"],
            evidence="Lavrov and Wang Yi had a telephone conversation on Monday.",
            words=["Lavrov", "Wang Yi", "telephone conversation"],
            confidence=0.8,
        )
        add_mention(
            cur,
            article_id=arts["premiers"],
            event_id=ev["premiers"],
            evidence="Li Qiang and Mishustin signed 12 cooperation documents in Beijing.",
            words=["Li Qiang", "Mishustin", "signed"],
            confidence=0.9,
        )
        add_mention(
            cur,
            article_id=arts["consult"],
            event_id=ev["consult"],
            evidence="Rudenko will hold consultations with Sun Weidong next week.",
            words=["Rudenko", "consultations", "Sun Weidong"],
            confidence=0.6,
        )
        add_mention(
            cur,
            article_id=arts["recalled"],
            event_id=ev["recalled"],
            evidence="Wang Yi met Lavrov last month as well.",
            words=["met"],
            confidence=0.5,
        )
        add_mention(
            cur,
            article_id=arts["old"],
            event_id=ev["old"],
            evidence="Wang Yi meets Lavrov in Vientiane.",
            words=["meets"],
            confidence=0.9,
        )
        add_mention(
            cur,
            article_id=arts["drill"],
            event_id=ev["drill"],
            evidence="Dong Jun & Belousov <script>alert(1)</script> opened the joint drill.",
            words=["Dong Jun", "Belousov", "joint drill"],
            confidence=0.7,
        )

        insert(
            cur,
            "alerts",
            {
                "event_id": ev["summit"],
                "channel": "console",
                "kind": "new",
                "status": "sent",
                "sent_at": now,
            },
        )
        insert(
            cur,
            "alerts",
            {"event_id": ev["call"], "channel": "console", "kind": "new", "status": "pending"},
        )
    return seeded
