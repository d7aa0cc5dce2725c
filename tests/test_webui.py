"""The sinorus pages served by uvicorn on loopback, the SVG chart, and the plugin's auth."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import socket
import struct
import subprocess
import sys
import textwrap
import threading
import time
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import psycopg2.extensions
import pytest
import requests
import uvicorn
from fastapi import FastAPI

from sinorus import chart
from sinorus.webui import pages
from sinorus.webui.app import CHART_LIMIT, create_app
from tests.support import seed

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
SVG = "{http://www.w3.org/2000/svg}"


class Served:
    """A uvicorn server on 127.0.0.1 in a background thread."""

    def __init__(self, app: FastAPI) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> Served:
        self.thread.start()
        for _ in range(500):
            if self.server.started:
                return self
            time.sleep(0.01)
        raise RuntimeError("uvicorn did not start")

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


def serve(database_url: str | None) -> Served:
    """The pages mounted under /sinorus, as Airflow's api-server mounts a plugin app."""
    parent = FastAPI()
    parent.mount("/sinorus", create_app(auth=False, database_url=database_url))
    return Served(parent)


@pytest.fixture
def seeded(db: psycopg2.extensions.connection) -> seed.Seeded:
    return seed.standard(db)


@pytest.fixture
def site(database_url: str) -> Iterator[Served]:
    with serve(database_url) as served:
        yield served


def ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'<tr class="event" data-id="(\d+)"', html)]


def test_events_page_lists_newest_first(site: Served, seeded: seed.Seeded) -> None:
    r = requests.get(site.url("/sinorus/"), timeout=10)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "script-src" not in r.headers["content-security-policy"]  # no script may run at all
    ev = seeded.events
    assert ids(r.text) == [
        ev["drill"],
        ev["consult"],
        ev["summit"],
        ev["premiers"],
        ev["call"],
        ev["recalled"],
        ev["old"],
    ]
    assert f'href="/sinorus/events/{ev["summit"]}"' in r.text
    row = r.text.split(f'data-id="{ev["summit"]}"', 1)[1].split("</tr>", 1)[0]
    assert "Xi Jinping" in row and "(President, CN)" in row and "Moscow" in row
    assert '<span class="yes">yes</span>' in row  # alerted
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="timeline"' in r.text


def test_events_page_filters(site: Served, seeded: seed.Seeded) -> None:
    ev = seeded.events

    def get(**params: str) -> list[int]:
        r = requests.get(site.url("/sinorus/"), params=params, timeout=10)
        assert r.status_code == 200, r.text
        return ids(r.text)

    assert get(type="call") == [ev["call"]]
    assert get(level="head_of_government") == [ev["summit"], ev["premiers"]]
    assert get(status="planned", type="") == [ev["consult"]]
    since = (seeded.today - dt.timedelta(days=6)).isoformat()
    assert get(since=since, type="meeting") == [ev["consult"], ev["summit"]]
    assert get(q="Путин") == [ev["summit"]]
    assert get(q="vientiane") == [ev["old"]]
    # the chosen filter stays selected in the form
    r = requests.get(site.url("/sinorus/"), params={"type": "call"}, timeout=10)
    assert '<option value="call" selected>' in r.text


# Days before the seed's "today" and the type of each standard event.
SEEDED = {
    "drill": (1, "military"),
    "consult": (3, "meeting"),
    "summit": (5, "meeting"),
    "premiers": (10, "agreement"),
    "call": (20, "call"),
    "recalled": (40, "meeting"),
    "old": (200, "meeting"),
}


def inline_chart(html: str) -> ET.Element:
    return ET.fromstring(html[html.index("<svg ") : html.index("</svg>") + len("</svg>")])


def bar_counts(svg: ET.Element) -> dict[tuple[str, str], int]:
    """(week, type) -> events, read from each bar's data and from its accessible title."""
    counts = {}
    for bar in svg.iter(f"{SVG}rect"):
        if bar.get("class") == "bar":
            week, type_, count = (
                bar.get("data-week", ""),
                bar.get("data-type", ""),
                bar.get("data-count", ""),
            )
            assert bar.findtext(f"{SVG}title") == f"{type_}, week of {week}: {count}"
            counts[week, type_] = int(count)
    return counts


def table_counts(html: str, weeks: set[str]) -> dict[tuple[str, str], int]:
    """(week, type) -> events among the table's rows dated in the given weeks."""
    counts: dict[tuple[str, str], int] = {}
    for type_, day in re.findall(
        r'<tr class="event" data-id="\d+" data-type="(\w+)">\s*<td>([\d-]+)</td>', html
    ):
        week = chart.week_start(dt.date.fromisoformat(day)).isoformat()
        if week in weeks:
            counts[week, type_] = counts.get((week, type_), 0) + 1
    return counts


@pytest.mark.parametrize(
    ("params", "shown"),
    [
        ({}, ["drill", "consult", "summit", "premiers", "call", "recalled"]),
        ({"type": "meeting"}, ["consult", "summit", "recalled"]),
        ({"type": "call"}, ["call"]),
        ({"level": "head_of_government"}, ["summit", "premiers"]),
        ({"status": "planned"}, ["consult"]),
        ({"q": "Путин"}, ["summit"]),
        ({"q": "Vientiane"}, []),  # the only match is older than the chart's 26 weeks
        ({"since": "-12", "until": "-4"}, ["summit", "premiers"]),
        ({"since": "-250", "type": "meeting", "level": "minister"}, ["summit", "recalled", "old"]),
    ],
)
def test_events_page_chart_counts_the_filtered_events(
    site: Served, seeded: seed.Seeded, params: dict[str, str], shown: list[str]
) -> None:
    """The chart counts exactly the events the filters select, as the table lists them."""
    query = dict(params)
    for key in ("since", "until"):
        if key in query:
            query[key] = (seeded.today + dt.timedelta(days=int(query[key]))).isoformat()
    r = requests.get(site.url("/sinorus/"), params=query, timeout=10)
    assert r.status_code == 200, r.text
    expected: dict[tuple[str, str], int] = {}
    for name in shown:
        days, type_ = SEEDED[name]
        week = chart.week_start(seeded.today - dt.timedelta(days=days)).isoformat()
        expected[week, type_] = expected.get((week, type_), 0) + 1
    svg = inline_chart(r.text)
    bars = bar_counts(svg)
    assert bars == expected
    weeks = {w for w, _ in bars} | {w for w, _ in expected}
    assert table_counts(r.text, weeks) == bars
    legend = [t.text for g in svg.iter(f"{SVG}g") for t in g.iter(f"{SVG}text")]
    assert set(legend) == {t for _, t in bars}
    if params:
        assert svg.get("aria-label") == "China–Russia events per week matching the filters"
    else:
        assert svg.get("aria-label") == "China–Russia events per week"


def test_events_page_chart_past_its_limit_shows_only_whole_weeks(
    site: Served, db: psycopg2.extensions.connection
) -> None:
    """More events than the chart reads: it starts after the oldest week it could not finish."""
    total = CHART_LIMIT + 2_000
    with db, db.cursor() as cur:
        cur.execute(
            "INSERT INTO events (type, status, event_date, level) "
            "SELECT CASE WHEN i %% 3 = 0 THEN 'call' ELSE 'meeting' END, 'held', "
            "current_date - (i %% 170), 'minister' FROM generate_series(1, %s) AS i",
            (total,),
        )
        cur.execute(
            "SELECT date_trunc('week', event_date)::date, type, count(*) FROM events GROUP BY 1, 2"
        )
        truth = {(w.isoformat(), t): n for w, t, n in cur.fetchall()}
    r = requests.get(site.url("/sinorus/"), params={"level": "minister"}, timeout=60)
    assert r.status_code == 200
    bars = bar_counts(inline_chart(r.text))
    assert bars == {key: truth[key] for key in bars}  # every week drawn is complete
    assert sum(bars.values()) <= CHART_LIMIT < sum(truth.values())
    # the newest weeks are all there, up to the oldest one read in full
    newest_first = sorted({w for w, _ in truth}, reverse=True)
    drawn = sorted({w for w, _ in bars}, reverse=True)
    assert drawn == newest_first[: len(drawn)] and len(drawn) < len(newest_first) - 1


def test_bad_filters_explain_themselves(site: Served, seeded: seed.Seeded) -> None:
    r = requests.get(site.url("/sinorus/"), params={"since": "soon<b>"}, timeout=10)
    assert r.status_code == 400
    assert "not a date: &#39;soon&lt;b&gt;&#39;" in r.text
    assert "<b>" not in r.text.split("<main>", 1)[1]
    assert bar_counts(inline_chart(r.text)) == {}  # no filter, no table: nothing to chart
    r = requests.get(site.url("/sinorus/"), params={"level": "emperor"}, timeout=10)
    assert r.status_code == 400 and "unknown level" in r.text
    r = requests.get(site.url("/sinorus/timeline"), params={"weeks": "0"}, timeout=10)
    assert r.status_code == 400 and "between 1 and 520" in r.text


def test_feed_text_is_escaped(site: Served, seeded: seed.Seeded) -> None:
    r = requests.get(site.url("/sinorus/"), timeout=10)
    assert "<script>alert(1)</script>" not in r.text
    assert "Navies &lt;script&gt;alert(1)&lt;/script&gt; &amp; friends drill" in r.text
    r = requests.get(site.url(f"/sinorus/events/{seeded.events['drill']}"), timeout=10)
    assert "<script>" not in r.text
    assert "<title>Navies &lt;script&gt;alert(1)&lt;/script&gt; &amp; friends" in r.text
    assert 'href="https://example.org/drill?a=1&amp;b=2"' in r.text


def test_event_page_highlights_evidence(site: Served, seeded: seed.Seeded) -> None:
    r = requests.get(site.url(f"/sinorus/events/{seeded.events['summit']}"), timeout=10)
    assert r.status_code == 200
    assert r.text.count('<tr class="mention">') == 3
    assert "<mark>Putin</mark> and <mark>Xi</mark> <mark>held talks</mark> in the Kremlin" in r.text
    assert (
        "国家主席<mark>习近平</mark>在莫斯科同俄罗斯总统<mark>普京</mark>举行<mark>会谈</mark>。"
        in r.text
    )
    assert "Владимир <mark>Путин</mark> провел <mark>переговоры</mark>" in r.text
    for outlet, lang in [("tass.com", "en"), ("news.cn", "zh"), ("ria.ru", "ru")]:
        assert f"<td>{outlet}</td><td>{lang}</td>" in r.text
    assert '<a href="https://tass.com/politics/1" rel="noopener noreferrer"' in r.text
    assert "<td>0.95</td>" in r.text

    r = requests.get(site.url(f"/sinorus/events/{seeded.events['drill']}"), timeout=10)
    # escaping each piece on its own keeps the marks around the right characters
    assert (
        "<mark>Dong Jun</mark> &amp; <mark>Belousov</mark> &lt;script&gt;alert(1)&lt;/script&gt;"
        " opened the <mark>joint drill</mark>." in r.text
    )


def test_missing_event_is_404(site: Served, seeded: seed.Seeded) -> None:
    r = requests.get(site.url("/sinorus/events/987654"), timeout=10)
    assert r.status_code == 404 and "No event 987654" in r.text
    assert requests.get(site.url("/sinorus/events/abc"), timeout=10).status_code == 422


def test_timeline_svg_and_page(site: Served, seeded: seed.Seeded) -> None:
    r = requests.get(site.url("/sinorus/timeline.svg"), timeout=10)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(r.text)
    bars = [e for e in root.iter(f"{SVG}rect") if e.get("class") == "bar"]
    # 26 weeks hold five events: the recalled one and the 200-day-old one are out
    assert sum(int(b.get("data-count", "0")) for b in bars) == 5
    assert {b.get("data-type") for b in bars} == {"meeting", "call", "agreement", "military"}
    legend = [t.text for g in root.iter(f"{SVG}g") for t in g.iter(f"{SVG}text")]
    assert legend == ["meeting", "call", "agreement", "military"]

    r = requests.get(site.url("/sinorus/timeline.png"), timeout=10)
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert decode_png(r.content)[:2] == (760, 260)

    r = requests.get(site.url("/sinorus/timeline"), params={"weeks": "52"}, timeout=10)
    assert r.status_code == 200
    root_html = r.text
    assert root_html.count('class="bar"') == len(bars) + 1  # the old meeting is inside 52 weeks
    assert "<td>military</td><td>1</td>" in root_html


def test_feeds_page(site: Served, seeded: seed.Seeded) -> None:
    r = requests.get(site.url("/sinorus/feeds"), timeout=10)
    assert r.status_code == 200
    assert "Broken &lt;b&gt;feed&lt;/b&gt;" in r.text
    assert "HTTP 503 &lt;html&gt;" in r.text
    assert '<span class="bad">failed</span> (503)' in r.text
    assert '<span class="bad">3</span>' in r.text
    assert r.text.index("Broken") < r.text.index("TASS English")


def test_pages_need_only_the_reader_role(
    database_url: str, admin_url: str, seeded: seed.Seeded
) -> None:
    """SINORUS_READONLY_DATABASE_URL pointing at a sinorus_reader login serves every page."""
    name = f"sinorus_test_web_{os.getpid()}"
    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'DROP ROLE IF EXISTS "{name}"')
        cur.execute(f'CREATE ROLE "{name}" LOGIN IN ROLE sinorus_reader')
    parts = urlsplit(database_url)
    reader = urlunsplit(parts._replace(netloc=f"{name}@{parts.netloc.rsplit('@', 1)[-1]}"))
    old = os.environ.get("SINORUS_READONLY_DATABASE_URL")
    os.environ["SINORUS_READONLY_DATABASE_URL"] = reader
    try:
        with serve(None) as site:
            paths = ["/sinorus/", "/sinorus/timeline", "/sinorus/timeline.svg", "/sinorus/feeds"]
            for path in [*paths, f"/sinorus/events/{seeded.events['summit']}"]:
                assert requests.get(site.url(path), timeout=10).status_code == 200, path
            assert len(ids(requests.get(site.url("/sinorus/"), timeout=10).text)) == 7
    finally:
        if old is None:
            os.environ.pop("SINORUS_READONLY_DATABASE_URL", None)
        else:
            os.environ["SINORUS_READONLY_DATABASE_URL"] = old
        with admin.cursor() as cur:
            cur.execute(f'DROP ROLE IF EXISTS "{name}"')
        admin.close()


def test_unreachable_database_is_a_clear_503() -> None:
    with serve("postgresql://nobody@127.0.0.1:1/none") as site:
        r = requests.get(site.url("/sinorus/"), timeout=20)
    assert r.status_code == 503
    assert "The sinorus database cannot be read" in r.text


@pytest.fixture
def empty_database(admin_url: str) -> Iterator[str]:
    """A database nobody has migrated."""
    name = f"sinorus_empty_{os.getpid()}_{int(time.monotonic_ns())}"
    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_unmigrated_database_says_what_to_run(empty_database: str) -> None:
    with serve(empty_database) as site:
        for path in ("/sinorus/", "/sinorus/feeds", "/sinorus/events/1", "/sinorus/timeline"):
            r = requests.get(site.url(path), timeout=20)
            assert r.status_code == 503, path
            assert "no sinorus schema yet; run `sinorus migrate`" in r.text


def test_highlight_tolerates_bad_spans() -> None:
    text = "a<b & c>d"
    assert str(pages.highlight(text, [[1, 3]])) == "a<mark>&lt;b</mark> &amp; c&gt;d"
    # overlapping spans merge; out-of-range, reversed and malformed spans are dropped or clamped
    assert str(pages.highlight(text, [[0, 2], [1, 3], [7, 99]])) == (
        "<mark>a&lt;b</mark> &amp; c<mark>&gt;d</mark>"
    )
    assert str(pages.highlight(text, [[5, 2], ["0", 1], [True, 2], [1], None])) == (
        "a&lt;b &amp; c&gt;d"
    )
    assert str(pages.highlight(text, {"0": 1})) == "a&lt;b &amp; c&gt;d"
    assert str(pages.highlight(None, [[0, 1]])) == ""


def test_safe_url() -> None:
    assert pages.safe_url("https://tass.com/x")
    assert pages.safe_url("HTTP://tass.com/x")
    assert not pages.safe_url("javascript:alert(1)")
    assert not pages.safe_url("data:text/html,<b>")
    assert not pages.safe_url(None)


def test_chart_stacks_by_type() -> None:
    monday = dt.date(2025, 3, 3)
    counts = [
        (monday, "meeting", 2),
        (monday, "call", 1),
        (monday + dt.timedelta(weeks=2), "policy", 3),
        (monday + dt.timedelta(weeks=2), "<odd>", 1),
        (monday + dt.timedelta(weeks=40), "meeting", 9),  # outside the range: ignored
    ]
    svg = chart.timeline_svg(counts, monday + dt.timedelta(days=2), monday + dt.timedelta(days=20))
    root = ET.fromstring(svg)
    bars = [e for e in root.iter(f"{SVG}rect") if e.get("class") == "bar"]
    assert [(b.get("data-week"), b.get("data-type"), b.get("data-count")) for b in bars] == [
        ("2025-03-03", "meeting", "2"),
        ("2025-03-03", "call", "1"),
        ("2025-03-17", "policy", "3"),
        ("2025-03-17", "<odd>", "1"),
    ]
    meeting, call = bars[0], bars[1]
    # stacked: the call sits directly on top of the meetings, half their height
    assert float(call.get("y", 0)) + float(call.get("height", 0)) == pytest.approx(
        float(meeting.get("y", 0)), abs=0.11
    )
    assert float(call.get("height", 0)) * 2 == pytest.approx(float(meeting.get("height", 0)), 0.01)
    labels = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "x-label"]
    assert labels == ["03 Mar", "10 Mar", "17 Mar"]
    y_labels = [int(t.text or "") for t in root.iter(f"{SVG}text") if t.get("class") == "y-label"]
    assert y_labels[0] == 0 and y_labels[-1] >= 4


def decode_png(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and RGB rows of an 8-bit RGB PNG with unfiltered rows, checking CRCs."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert (depth, colour) == (8, 2)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * 3 + 1
    assert len(raw) == stride * height
    assert all(raw[r * stride] == 0 for r in range(height))
    return width, height, b"".join(raw[r * stride + 1 : (r + 1) * stride] for r in range(height))


def test_chart_png_draws_the_bars() -> None:
    monday = dt.date(2025, 3, 3)
    counts = [(monday, "meeting", 2), (monday + dt.timedelta(weeks=1), "military", 1)]
    since, until = monday, monday + dt.timedelta(weeks=3)
    width, height, pixels = decode_png(chart.timeline_png(counts, since, until))
    assert (width, height) == (760, 260)

    def pixel(x: float, y: float) -> str:
        i = (int(y) * width + int(x)) * 3
        return "#" + pixels[i : i + 3].hex()

    bars = [s for s in chart.layout(counts, since, until).shapes if isinstance(s, chart.Rect)]
    drawn = [b for b in bars if b.kind == "bar"]
    assert [b.type for b in drawn] == ["meeting", "military"]
    for bar in drawn:
        assert pixel(bar.x + bar.w / 2, bar.y + bar.h / 2) == chart.COLOURS[bar.type]
    assert pixel(width - 2, height - 2) == "#ffffff"
    # the title's letters are drawn: dark pixels in the title band, none in an empty corner
    assert any(pixel(x, y) == "#222222" for x in range(40, 300) for y in range(2, 17))
    assert all(pixel(x, y) == "#ffffff" for x in range(700, 760) for y in range(0, 20))


def test_chart_without_events() -> None:
    svg = chart.timeline_svg([], dt.date(2025, 1, 1), dt.date(2025, 2, 1))
    root = ET.fromstring(svg)
    assert not [e for e in root.iter(f"{SVG}rect") if e.get("class") == "bar"]
    assert "no events in this period" in svg


def test_plugin_registers_app_and_nav_link() -> None:
    """Importing the plugin file touches no database and declares the app and the link."""
    code = textwrap.dedent(
        """
        import json, sys
        sys.path.insert(0, sys.argv[1])
        import sinorus_plugin as p
        app = p.SinorusPlugin.fastapi_apps[0]
        print(json.dumps({"prefix": app["url_prefix"], "name": app["name"],
                          "routes": sorted(r.path for r in app["app"].routes),
                          "views": p.SinorusPlugin.external_views}))
        """
    )
    env = os.environ | {"SINORUS_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    out = subprocess.run(
        [sys.executable, "-c", code, str(ROOT / "plugins")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["prefix"] == "/sinorus"
    assert {"/", "/events/{event_id}", "/timeline", "/timeline.svg", "/feeds"} <= set(got["routes"])
    (view,) = got["views"]
    assert view["href"] == "/sinorus/" and view["category"] == "browse"
    assert view["name"] == "China–Russia events"


AIRFLOW_SERVER = """
import socket, sys, uvicorn
from airflow.api_fastapi.app import create_app
app = create_app(apps="core")
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
print("PORT", sock.getsockname()[1], flush=True)
uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
"""


@pytest.fixture
def airflow_api(tmp_path: Path, database_url: str) -> Iterator[str]:
    """Airflow's own api-server app with only our plugin file, on loopback in a subprocess."""
    from tests import airflow_env

    # Token checks read the metadata DB (revoked tokens): share this worker's migrated one.
    airflow_env.migrate_metadata_db()
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "sinorus_plugin.py").symlink_to(ROOT / "plugins" / "sinorus_plugin.py")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env |= {
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins),
        "AIRFLOW__CORE__DAGS_FOLDER": str(tmp_path / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": airflow_env.SETTINGS[
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"
        ],
        "AIRFLOW__API_AUTH__JWT_SECRET": "sinorus-webui-test-secret",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "SINORUS_DATABASE_URL": database_url,
        "PYTHONPATH": str(ROOT / "plugins"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", AIRFLOW_SERVER],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        port = None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("PORT "):
                port = int(line.split()[1])
                break
        assert port, "Airflow app did not start:\n" + "".join(lines[-40:])
        threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep the pipe drained
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                requests.get(base + "/sinorus/", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def test_plugin_pages_require_an_airflow_login(
    airflow_api: str, tmp_path: Path, seeded: seed.Seeded
) -> None:
    for path in ("/sinorus/", "/sinorus/feeds", "/sinorus/timeline.svg", "/sinorus/events/1"):
        r = requests.get(airflow_api + path, timeout=20)
        assert r.status_code == 401, (path, r.status_code)
        assert "Xi Jinping" not in r.text
    r = requests.get(
        airflow_api + "/sinorus/", headers={"Authorization": "Bearer forged"}, timeout=20
    )
    assert r.status_code in (401, 403)

    passwords = json.loads(
        (tmp_path / "simple_auth_manager_passwords.json.generated").read_text(encoding="utf-8")
    )
    r = requests.post(
        airflow_api + "/auth/token",
        json={"username": "admin", "password": passwords["admin"]},
        timeout=20,
    )
    assert r.status_code in (200, 201), r.text
    token = r.json()["access_token"]
    r = requests.get(
        airflow_api + "/sinorus/", headers={"Authorization": f"Bearer {token}"}, timeout=20
    )
    assert r.status_code == 200
    assert len(ids(r.text)) == 7
    # the UI's session cookie lets the same user in (how the nav iframe loads the page)
    r = requests.get(airflow_api + "/sinorus/feeds", cookies={"_token": token}, timeout=20)
    assert r.status_code == 200 and "TASS English" in r.text
