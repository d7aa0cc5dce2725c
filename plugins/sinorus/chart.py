"""Server-rendered SVG timeline: events per week, stacked by type, with axes and a legend."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from html import escape

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


def week_start(day: dt.date) -> dt.date:
    """The Monday of the ISO week holding day (PostgreSQL's date_trunc('week'))."""
    return day - dt.timedelta(days=day.weekday())


def weeks_between(since: dt.date, until: dt.date) -> list[dt.date]:
    first, last = week_start(since), week_start(until)
    count = (last - first).days // 7 + 1
    return [first + dt.timedelta(weeks=i) for i in range(max(count, 0))]


def _nice_step(top: int, ticks: int = 4) -> int:
    """A round tick step (1, 2, 5, 10, 20, ...) giving about `ticks` gridlines up to top."""
    raw = max(top / ticks, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return int(factor * magnitude)
    return int(10 * magnitude)


def timeline_svg(
    counts: Iterable[tuple[dt.date, str, int]],
    since: dt.date,
    until: dt.date,
    *,
    width: int = 760,
    height: int = 260,
    title: str = "China–Russia events per week",
) -> str:
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

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" font-family="sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
        f'<text x="{left}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]
    for tick in range(0, y_max + 1, step):
        ty = y(tick)
        out.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{ty:.1f}" y2="{ty:.1f}" '
            'stroke="#ddd" stroke-width="1"/>'
        )
        out.append(
            f'<text class="y-label" x="{left - 6}" y="{ty + 4:.1f}" text-anchor="end">{tick}</text>'
        )
    label_every = max(1, math.ceil(len(weeks) / 8))
    for i, week in enumerate(weeks):
        x = left + i * slot + (slot - bar_w) / 2
        base = 0
        for type_ in types:
            n = per_week[week].get(type_, 0)
            if not n:
                continue
            y_top, y_bottom = y(base + n), y(base)
            colour = COLOURS.get(type_, OTHER_COLOUR)
            out.append(
                f'<rect class="bar" data-week="{week.isoformat()}" data-type="{escape(type_)}" '
                f'data-count="{n}" x="{x:.1f}" y="{y_top:.1f}" width="{bar_w:.1f}" '
                f'height="{y_bottom - y_top:.1f}" fill="{colour}">'
                f"<title>{escape(type_)}, week of {week.isoformat()}: {n}</title></rect>"
            )
            base += n
        if i % label_every == 0:
            out.append(
                f'<text class="x-label" x="{left + i * slot + slot / 2:.1f}" '
                f'y="{top + plot_h + 16}" text-anchor="middle">{week:%d %b}</text>'
            )
    out.append(
        f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" '
        'stroke="#333" stroke-width="1"/>'
    )
    out.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle">'
        "week (Monday)</text>"
    )
    out.append(
        f'<text x="12" y="{top + plot_h / 2:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 12 {top + plot_h / 2:.1f})">events</text>'
    )
    legend_x = left + plot_w + 16
    for i, type_ in enumerate(types):
        ly = top + 6 + i * 18
        colour = COLOURS.get(type_, OTHER_COLOUR)
        out.append(
            f'<g class="legend-item"><rect x="{legend_x}" y="{ly}" width="12" height="12" '
            f'fill="{colour}"/><text x="{legend_x + 18}" y="{ly + 10}">{escape(type_)}</text></g>'
        )
    if not types:
        out.append(
            f'<text x="{left + plot_w / 2:.1f}" y="{top + plot_h / 2:.1f}" '
            'text-anchor="middle" fill="#666">no events in this period</text>'
        )
    out.append("</svg>")
    return "\n".join(out)
