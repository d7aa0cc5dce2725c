"""Server-rendered timeline: events per week, stacked by type, as SVG or as a plain PNG."""

from __future__ import annotations

import datetime as dt
import math
import struct
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from html import escape
from typing import Literal

# One colour per event type, distinguishable for the common colour-vision deficiencies.
COLOURS = {
    "meeting": "#0072b2",
    "call": "#56b4e9",
    "agreement": "#009e73",
    "military": "#d55e00",
    "policy": "#cc79a7",
    "economic": "#e69f00",
}
OTHER_COLOUR = "#999999"
TYPE_ORDER = tuple(COLOURS)
TITLE = "China–Russia events per week"

Anchor = Literal["start", "middle", "end"]


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    colour: str
    kind: str  # bar | grid | axis
    week: dt.date | None = None
    type: str = ""
    count: int = 0


@dataclass(frozen=True)
class Text:
    x: float
    y: float  # baseline
    text: str
    kind: str  # title | y-label | x-label | axis-title | note
    anchor: Anchor = "start"
    size: int = 11
    rotate: bool = False


@dataclass
class Layout:
    """Everything a renderer draws, in drawing order, in pixels."""

    width: int
    height: int
    title: str
    shapes: list[Rect | Text] = field(default_factory=list)
    legend: list[tuple[float, float, str, str]] = field(default_factory=list)  # x, y, colour, text


def week_start(day: dt.date) -> dt.date:
    """The Monday of the ISO week holding day (PostgreSQL's date_trunc('week'))."""
    return day - dt.timedelta(days=day.weekday())


def weeks_between(since: dt.date, until: dt.date) -> list[dt.date]:
    first, last = week_start(since), week_start(until)
    count = (last - first).days // 7 + 1
    return [first + dt.timedelta(weeks=i) for i in range(max(count, 0))]


def tally(items: Iterable[tuple[dt.date, str]]) -> list[tuple[dt.date, str, int]]:
    """(week Monday, type, events) from one (day, type) per event, in week then type order."""
    counts = Counter((week_start(day), type_) for day, type_ in items)
    return [(week, type_, n) for (week, type_), n in sorted(counts.items())]


def _nice_step(top: int, ticks: int = 4) -> int:
    """A round tick step (1, 2, 5, 10, 20, ...) giving about `ticks` gridlines up to top."""
    raw = max(top / ticks, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return int(factor * magnitude)
    return int(10 * magnitude)


def layout(
    counts: Iterable[tuple[dt.date, str, int]],
    since: dt.date,
    until: dt.date,
    *,
    width: int = 760,
    height: int = 260,
    title: str = TITLE,
) -> Layout:
    """A stacked bar per week from since to until; counts are (week Monday, type, events)."""
    weeks = weeks_between(since, until)
    per_week: dict[dt.date, dict[str, int]] = {w: {} for w in weeks}
    for week, type_, n in counts:
        bucket = per_week.get(week_start(week))
        if bucket is not None and n > 0:
            bucket[type_] = bucket.get(type_, 0) + n
    present = {t for bucket in per_week.values() for t in bucket}
    types = [t for t in TYPE_ORDER if t in present] + sorted(present - set(TYPE_ORDER))

    left, right, top, bottom = 40, 130, 28, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((sum(b.values()) for b in per_week.values()), default=0)
    step = _nice_step(peak)
    y_max = max(step * math.ceil(peak / step), step)
    slot = plot_w / max(len(weeks), 1)
    bar_w = max(slot * 0.7, 1.0)

    def y(value: float) -> float:
        return top + plot_h - plot_h * value / y_max

    out = Layout(width, height, title)
    shapes = out.shapes
    shapes.append(Text(left, 16, title, "title", size=13))
    for tick in range(0, y_max + 1, step):
        shapes.append(Rect(left, y(tick), plot_w, 1, "#dddddd", "grid"))
        shapes.append(Text(left - 6, y(tick) + 4, str(tick), "y-label", "end"))
    label_every = max(1, math.ceil(len(weeks) / 8))
    for i, week in enumerate(weeks):
        x = left + i * slot + (slot - bar_w) / 2
        base = 0
        for type_ in types:
            n = per_week[week].get(type_, 0)
            if n:
                colour = COLOURS.get(type_, OTHER_COLOUR)
                y_top = y(base + n)
                shapes.append(Rect(x, y_top, bar_w, y(base) - y_top, colour, "bar", week, type_, n))
                base += n
        if i % label_every == 0:
            label = f"{week:%d %b}"
            shapes.append(
                Text(left + i * slot + slot / 2, top + plot_h + 16, label, "x-label", "middle")
            )
    shapes.append(Rect(left, top + plot_h, plot_w, 1, "#333333", "axis"))
    shapes.append(Text(left + plot_w / 2, height - 6, "week (Monday)", "axis-title", "middle"))
    shapes.append(Text(12, top + plot_h / 2, "events", "axis-title", "middle", rotate=True))
    legend_x = left + plot_w + 16
    for i, type_ in enumerate(types):
        out.legend.append((legend_x, top + 6 + i * 18, COLOURS.get(type_, OTHER_COLOUR), type_))
    if not types:
        note = "no events in this period"
        shapes.append(Text(left + plot_w / 2, top + plot_h / 2, note, "note", "middle"))
    return out


def render_svg(chart: Layout) -> str:
    w, h, title = chart.width, chart.height, escape(chart.title)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{w}" height="{h}" '
        f'viewBox="0 0 {w} {h}" role="img" aria-label="{title}" font-family="sans-serif" '
        'font-size="11">',
        f"<title>{title}</title>",
    ]
    for s in chart.shapes:
        if isinstance(s, Rect) and s.kind == "bar":
            week = s.week.isoformat() if s.week else ""
            out.append(
                f'<rect class="bar" data-week="{week}" data-type="{escape(s.type)}" '
                f'data-count="{s.count}" x="{s.x:.1f}" y="{s.y:.1f}" width="{s.w:.1f}" '
                f'height="{s.h:.1f}" fill="{s.colour}">'
                f"<title>{escape(s.type)}, week of {week}: {s.count}</title></rect>"
            )
        elif isinstance(s, Rect):
            out.append(
                f'<rect class="{s.kind}" x="{s.x:.1f}" y="{s.y:.1f}" width="{s.w:.1f}" '
                f'height="{s.h:.1f}" fill="{s.colour}"/>'
            )
        else:
            extra = ""
            if s.size != 11:
                extra += f' font-size="{s.size}" font-weight="bold"'
            if s.rotate:
                extra += f' transform="rotate(-90 {s.x:.1f} {s.y:.1f})"'
            if s.kind == "note":
                extra += ' fill="#666"'
            out.append(
                f'<text class="{s.kind}" x="{s.x:.1f}" y="{s.y:.1f}" '
                f'text-anchor="{s.anchor}"{extra}>{escape(s.text)}</text>'
            )
    for x, y, colour, label in chart.legend:
        out.append(
            f'<g class="legend-item"><rect x="{x}" y="{y}" width="12" height="12" '
            f'fill="{colour}"/><text x="{x + 18}" y="{y + 10}">{escape(label)}</text></g>'
        )
    out.append("</svg>")
    return "\n".join(out)


def timeline_svg(
    counts: Iterable[tuple[dt.date, str, int]],
    since: dt.date,
    until: dt.date,
    *,
    width: int = 760,
    height: int = 260,
    title: str = TITLE,
) -> str:
    """The chart as SVG: the pages inline it, the digest attaches it."""
    return render_svg(layout(counts, since, until, width=width, height=height, title=title))


# A 5×7 capital-letter bitmap font, so the PNG needs no font files or imaging library.
GLYPHS = {
    "A": "01110/10001/10001/11111/10001/10001/10001",
    "B": "11110/10001/10001/11110/10001/10001/11110",
    "C": "01110/10001/10000/10000/10000/10001/01110",
    "D": "11110/10001/10001/10001/10001/10001/11110",
    "E": "11111/10000/10000/11110/10000/10000/11111",
    "F": "11111/10000/10000/11110/10000/10000/10000",
    "G": "01110/10001/10000/10111/10001/10001/01111",
    "H": "10001/10001/10001/11111/10001/10001/10001",
    "I": "01110/00100/00100/00100/00100/00100/01110",
    "J": "00111/00010/00010/00010/00010/10010/01100",
    "K": "10001/10010/10100/11000/10100/10010/10001",
    "L": "10000/10000/10000/10000/10000/10000/11111",
    "M": "10001/11011/10101/10101/10001/10001/10001",
    "N": "10001/10001/11001/10101/10011/10001/10001",
    "O": "01110/10001/10001/10001/10001/10001/01110",
    "P": "11110/10001/10001/11110/10000/10000/10000",
    "Q": "01110/10001/10001/10001/10101/10010/01101",
    "R": "11110/10001/10001/11110/10100/10010/10001",
    "S": "01111/10000/10000/01110/00001/00001/11110",
    "T": "11111/00100/00100/00100/00100/00100/00100",
    "U": "10001/10001/10001/10001/10001/10001/01110",
    "V": "10001/10001/10001/10001/10001/01010/00100",
    "W": "10001/10001/10001/10101/10101/10101/01010",
    "X": "10001/10001/01010/00100/01010/10001/10001",
    "Y": "10001/10001/01010/00100/00100/00100/00100",
    "Z": "11111/00001/00010/00100/01000/10000/11111",
    "0": "01110/10001/10011/10101/11001/10001/01110",
    "1": "00100/01100/00100/00100/00100/00100/01110",
    "2": "01110/10001/00001/00010/00100/01000/11111",
    "3": "11111/00010/00100/00010/00001/10001/01110",
    "4": "00010/00110/01010/10010/11111/00010/00010",
    "5": "11111/10000/11110/00001/00001/10001/01110",
    "6": "00110/01000/10000/11110/10001/10001/01110",
    "7": "11111/00001/00010/00100/01000/01000/01000",
    "8": "01110/10001/10001/01110/10001/10001/01110",
    "9": "01110/10001/10001/01111/00001/00010/01100",
    "-": "00000/00000/00000/11111/00000/00000/00000",
    "–": "00000/00000/00000/11111/00000/00000/00000",
    ",": "00000/00000/00000/00000/00110/00100/01000",
    ".": "00000/00000/00000/00000/00000/01100/01100",
    ":": "00000/01100/01100/00000/01100/01100/00000",
    "(": "00010/00100/01000/01000/01000/00100/00010",
    ")": "01000/00100/00010/00010/00010/00100/01000",
    "/": "00001/00010/00010/00100/01000/01000/10000",
    "_": "00000/00000/00000/00000/00000/00000/11111",
}
GLYPH_ROWS = {
    ch: [[c == "1" for c in row] for row in rows.split("/")] for ch, rows in GLYPHS.items()
}


class _Canvas:
    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(b"\xff" * (width * height * 3))

    def fill(self, x: float, y: float, w: float, h: float, colour: str) -> None:
        rgb = bytes.fromhex(colour.lstrip("#"))
        x0, y0 = max(0, round(x)), max(0, round(y))
        x1, y1 = (
            min(self.width, max(round(x + w), x0 + 1)),
            min(self.height, max(round(y + h), y0 + 1)),
        )
        for row in range(y0, y1):
            start = (row * self.width + x0) * 3
            self.pixels[start : start + (x1 - x0) * 3] = rgb * (x1 - x0)

    def text(self, s: Text) -> None:
        scale = 2 if s.size > 11 else 1
        label = s.text.upper()
        advance = 6 * scale
        if s.rotate:
            # Rotated text as a column of letters, centred on the anchor point.
            top = s.y - len(label) * 8 * scale / 2
            for i, ch in enumerate(label):
                self._glyph(ch, s.x - 2 * scale, top + i * 8 * scale, scale)
            return
        width = len(label) * advance - scale
        x = {"start": s.x, "middle": s.x - width / 2, "end": s.x - width}[s.anchor]
        for i, ch in enumerate(label):
            self._glyph(ch, x + i * advance, s.y - 7 * scale, scale)

    def _glyph(self, ch: str, x: float, y: float, scale: int) -> None:
        for r, row in enumerate(GLYPH_ROWS.get(ch, [])):
            for c, on in enumerate(row):
                if on:
                    self.fill(x + c * scale, y + r * scale, scale, scale, "#222222")

    def png(self) -> bytes:
        raw = b"".join(
            b"\x00" + bytes(self.pixels[r * self.width * 3 : (r + 1) * self.width * 3])
            for r in range(self.height)
        )

        def chunk(kind: bytes, data: bytes) -> bytes:
            body = kind + data
            return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)  # 8-bit RGB
        return (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b"")
        )


def render_png(chart: Layout) -> bytes:
    canvas = _Canvas(chart.width, chart.height)
    for s in chart.shapes:
        if isinstance(s, Rect):
            canvas.fill(s.x, s.y, s.w, s.h, s.colour)
        else:
            canvas.text(s)
    for x, y, colour, label in chart.legend:
        canvas.fill(x, y, 12, 12, colour)
        canvas.text(Text(x + 18, y + 10, label, "legend"))
    return canvas.png()


def timeline_png(
    counts: Iterable[tuple[dt.date, str, int]],
    since: dt.date,
    until: dt.date,
    *,
    width: int = 760,
    height: int = 260,
    title: str = TITLE,
) -> bytes:
    """The same chart as a PNG, for mail clients that do not show SVG."""
    return render_png(layout(counts, since, until, width=width, height=height, title=title))
