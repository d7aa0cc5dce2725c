"""The pages in a real headless Chromium: order, filters, highlights, escaping, the chart."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg2.extensions
import pytest
from playwright.sync_api import Browser, Dialog, Page, sync_playwright

from sinorus import chart
from tests.support import seed
from tests.test_webui import SEEDED, Served, serve

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install_system_packages.sh as root")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def seeded(db: psycopg2.extensions.connection) -> seed.Seeded:
    return seed.standard(db)


@pytest.fixture
def site(database_url: str, seeded: seed.Seeded) -> Iterator[Served]:
    with serve(database_url) as served:
        yield served


@pytest.fixture
def dialogs() -> list[str]:
    return []


@pytest.fixture
def page(browser: Browser, dialogs: list[str]) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    tab.on("dialog", on_dialog)
    try:
        yield tab
    finally:
        context.close()


def row_ids(page: Page) -> list[int]:
    return [
        int(x) for x in page.locator("tr.event").evaluate_all("rs => rs.map(r => r.dataset.id)")
    ]


def chart_bars(page: Page) -> list[tuple[str, str, int]]:
    """(week, type, events) of each bar in the page's chart, as its accessible title says."""
    titles = page.locator("div.chart svg rect.bar title").all_text_contents()
    found = [re.fullmatch(r"(\w+), week of ([\d-]+): (\d+)", t) for t in titles]
    return [(m[2], m[1], int(m[3])) for m in found if m is not None]


def test_events_newest_first_and_screenshot(
    page: Page, site: Served, seeded: seed.Seeded, dialogs: list[str]
) -> None:
    page.goto(site.url("/sinorus/"))
    ev = seeded.events
    assert row_ids(page) == [
        ev["drill"],
        ev["consult"],
        ev["summit"],
        ev["premiers"],
        ev["call"],
        ev["recalled"],
        ev["old"],
    ]
    dates = page.locator("tr.event td:first-child").all_inner_texts()
    assert dates == sorted(dates, reverse=True)
    assert page.locator("h1").inner_text() == "China–Russia events"

    shots = ROOT / ".artifacts"
    shots.mkdir(exist_ok=True)
    page.screenshot(path=str(shots / "events-page.png"), full_page=True)
    assert (shots / "events-page.png").stat().st_size > 10_000
    readme_shot = ROOT / "docs" / "screenshot-events.png"
    # The committed copy changes only on purpose, not on every test run.
    if os.environ.get("SINORUS_UPDATE_SCREENSHOT") or not readme_shot.exists():
        readme_shot.parent.mkdir(exist_ok=True)
        shutil.copyfile(shots / "events-page.png", readme_shot)
    assert dialogs == []


def test_type_filter_narrows_rows(page: Page, site: Served, seeded: seed.Seeded) -> None:
    page.goto(site.url("/sinorus/"))
    assert len(row_ids(page)) == 7
    page.select_option("select[name=type]", "meeting")
    page.click("button[type=submit]")
    page.wait_for_url("**type=meeting**")
    ev = seeded.events
    assert row_ids(page) == [ev["consult"], ev["summit"], ev["recalled"], ev["old"]]
    assert set(page.locator("tr.event").evaluate_all("rs => rs.map(r => r.dataset.type)")) == {
        "meeting"
    }
    # the chart follows: only meetings, those of its 26 weeks (the 200-day-old one is out)
    bars = chart_bars(page)
    assert {t for _, t, _ in bars} == {"meeting"} and sum(n for *_, n in bars) == 3
    page.select_option("select[name=level]", "minister")
    page.click("button[type=submit]")
    page.wait_for_url("**level=minister**")
    assert row_ids(page) == [ev["summit"], ev["recalled"], ev["old"]]
    assert sum(n for *_, n in chart_bars(page)) == 2
    assert page.locator("select[name=type]").input_value() == "meeting"


def test_clicking_an_event_shows_highlighted_mentions(
    page: Page, site: Served, seeded: seed.Seeded
) -> None:
    page.goto(site.url("/sinorus/"))
    page.click(f'tr.event[data-id="{seeded.events["summit"]}"] a.event-link')
    page.wait_for_url(f"**/sinorus/events/{seeded.events['summit']}")
    assert page.locator("tr.mention").count() == 3
    marks = page.locator("blockquote.evidence mark").all_inner_texts()
    assert marks == ["Putin", "Xi", "held talks", "习近平", "普京", "会谈", "Путин", "переговоры"]
    first = page.locator("blockquote.evidence").first.inner_text()
    assert first == "Putin and Xi held talks in the Kremlin on Tuesday."
    assert page.locator("tr.mention a").first.get_attribute("href") == "https://tass.com/politics/1"


# Each character drawn alone in the element's own font, as a fingerprint of its inked pixels.
DRAW_GLYPHS = """([el, chars]) => chars.map(ch => {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 48;
  const g = canvas.getContext("2d");
  g.font = `32px ${getComputedStyle(el).fontFamily}`;
  g.fillText(ch, 4, 38);
  const alpha = g.getImageData(0, 0, 48, 48).data.filter((_, i) => i % 4 === 3);
  return alpha.reduce((h, a, i) => (h * 31 + a * (i + 1)) >>> 0, alpha.some(a => a > 0) ? 7 : 0);
})"""


def test_chinese_renders_with_real_glyphs(page: Page, site: Served, seeded: seed.Seeded) -> None:
    """Without a CJK font every Chinese character is the same missing-glyph box (tofu)."""
    page.goto(site.url(f"/sinorus/events/{seeded.events['summit']}"))
    shots = ROOT / ".artifacts"
    shots.mkdir(exist_ok=True)
    page.screenshot(path=str(shots / "event-page.png"), full_page=True)
    evidence = page.locator("blockquote.evidence", has_text="习近平").element_handle()
    assert evidence is not None
    # two characters of the page's Chinese evidence, and a code point no font has
    xi, pu, missing = page.evaluate(DRAW_GLYPHS, [evidence, ["习", "普", "\u0378"]])
    assert 0 not in (xi, pu), "nothing drawn"
    assert missing not in (xi, pu), "Chinese is drawn as the missing-glyph box: no CJK font"
    assert xi != pu


def test_script_in_feed_text_is_only_text(
    page: Page, site: Served, seeded: seed.Seeded, dialogs: list[str]
) -> None:
    page.goto(site.url("/sinorus/"))
    link = page.locator(f'tr.event[data-id="{seeded.events["drill"]}"] a.event-link')
    assert link.inner_text() == seed.SCRIPT_TITLE
    assert page.evaluate("document.querySelectorAll('script').length") == 0
    link.click()
    page.wait_for_url(f"**/sinorus/events/{seeded.events['drill']}")
    assert page.title() == f"{seed.SCRIPT_TITLE} · sinorus-watch"
    evidence = page.locator("blockquote.evidence").inner_text()
    assert evidence == "Dong Jun & Belousov <script>alert(1)</script> opened the joint drill."
    assert page.locator("blockquote.evidence mark").all_inner_texts() == [
        "Dong Jun",
        "Belousov",
        "joint drill",
    ]
    assert page.evaluate("document.querySelectorAll('script').length") == 0
    assert dialogs == []


def test_timeline_renders_bars(page: Page, site: Served, seeded: seed.Seeded) -> None:
    def segment(name: str) -> tuple[dt.date, str]:
        days, kind = SEEDED[name]
        return chart.week_start(seeded.today - dt.timedelta(days=days)), kind

    # one bar segment per week and type among the events of the last 26 weeks, recalled ones aside
    segments = {segment(name) for name in SEEDED if name not in ("recalled", "old")}
    page.goto(site.url("/sinorus/timeline"))
    bars = page.locator("svg.timeline rect.bar")
    assert bars.count() == len(segments)
    shown = bars.evaluate_all("bs => bs.map(b => [b.dataset.week, b.dataset.type])")
    assert {(dt.date.fromisoformat(w), t) for w, t in shown} == segments
    for i in range(bars.count()):
        box = bars.nth(i).bounding_box()
        assert box is not None and box["height"] > 1 and box["width"] > 1
    legend = page.locator("svg.timeline g.legend-item text").all_text_contents()
    assert legend == ["meeting", "call", "agreement", "military"]

    # Chromium's own decoder accepts the PNG rendering
    page.goto(site.url("/sinorus/timeline.png"))
    size = page.evaluate("[document.images[0].naturalWidth, document.images[0].naturalHeight]")
    assert size == [760, 260]

    page.goto(site.url("/sinorus/timeline.svg"))
    assert page.locator("rect.bar").count() == len(segments)
    # the events page charts what its table lists: the recalled meeting too
    page.goto(site.url("/sinorus/"))
    shown = chart_bars(page)
    assert {(dt.date.fromisoformat(w), t) for w, t, _ in shown} == segments | {segment("recalled")}
