"""The weekly digest: the week's events grouped by type, with the timeline chart inline."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from html import escape
from typing import Any

import psycopg2.extensions

from sinorus import chart, queries

CHART_WEEKS = 12
TYPE_HEADINGS = {
    "meeting": "Meetings",
    "call": "Calls",
    "agreement": "Agreements and joint statements",
    "military": "Joint military activity",
    "policy": "Favourable state measures",
    "economic": "Economic deals",
}


@dataclass
class Digest:
    """What one week's digest says, before it becomes a message."""

    since: dt.date
    until: dt.date
    groups: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    svg: str = ""
    png: bytes = b""

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.groups.values())

    @property
    def subject(self) -> str:
        span = f"{self.since:%d %b} – {self.until:%d %b %Y}"
        count = f"{self.total} event" + ("" if self.total == 1 else "s")
        return f"China–Russia weekly digest, {span}: {count}"


def collect(
    conn: psycopg2.extensions.connection, until: dt.date | None = None, days: int = 7
) -> Digest:
    """The events dated in the `days` days ending on `until`, and the chart of recent weeks."""
    until = until or dt.date.today()
    since = until - dt.timedelta(days=days - 1)
    flt = queries.EventFilter(since=since, until=until, limit=1000)
    events = [e for e in queries.list_events(conn, flt) if not e["background"]]
    groups: dict[str, list[dict[str, Any]]] = {}
    for type_ in [*TYPE_HEADINGS, *sorted({e["type"] for e in events} - set(TYPE_HEADINGS))]:
        found = [e for e in events if e["type"] == type_]
        if found:
            groups[type_] = found
    chart_since = chart.week_start(until) - dt.timedelta(weeks=CHART_WEEKS - 1)
    picture = chart.layout(
        queries.weekly_counts(conn, chart_since, until),
        chart_since,
        until,
        title=f"Events per week, last {CHART_WEEKS} weeks",
    )
    return Digest(
        since=since,
        until=until,
        groups=groups,
        svg=chart.render_svg(picture),
        png=chart.render_png(picture),
    )


def _line(event: dict[str, Any]) -> str:
    parts = [
        str(event.get("event_date") or "undated"),
        event.get("participants_text") or "",
        event.get("location") or "",
        event["status"] if event.get("status") != "held" else "",
        f"round {event['round']}" if event.get("round") else "",
        f"{event.get('n_outlets') or 0} outlet" + ("" if event.get("n_outlets") == 1 else "s"),
    ]
    return " · ".join(p for p in parts if p)


def _link(base_url: str | None, event: dict[str, Any]) -> str | None:
    return f"{base_url.rstrip('/')}/events/{event['id']}" if base_url else None


def render_text(digest: Digest, base_url: str | None = None) -> str:
    lines = [digest.subject, ""]
    if not digest.groups:
        lines.append("No China–Russia cooperation events were detected this week.")
    for type_, events in digest.groups.items():
        lines.append(f"{TYPE_HEADINGS.get(type_, type_.title())} ({len(events)})")
        for e in events:
            lines.append(f"- {e.get('headline') or 'event ' + str(e['id'])}")
            lines.append(f"  {_line(e)}")
            link = _link(base_url, e)
            if link:
                lines.append(f"  {link}")
        lines.append("")
    lines.append("The chart of events per week is attached (timeline.png, timeline.svg).")
    return "\n".join(lines).rstrip() + "\n"


def render_html(digest: Digest, chart_cid: str, base_url: str | None = None) -> str:
    """HTML with every feed-derived value escaped; the chart is the inline image chart_cid."""
    out = [
        '<html><body style="font-family:sans-serif;color:#222">',
        f"<h2>{escape(digest.subject)}</h2>",
        f'<p><img src="cid:{escape(chart_cid.strip("<>"))}" alt="Events per week" '
        'width="760" height="260"></p>',
    ]
    if not digest.groups:
        out.append("<p>No China–Russia cooperation events were detected this week.</p>")
    for type_, events in digest.groups.items():
        heading = TYPE_HEADINGS.get(type_, type_.title())
        out.append(f"<h3>{escape(heading)} ({len(events)})</h3><ul>")
        for e in events:
            headline = escape(e.get("headline") or f"event {e['id']}")
            link = _link(base_url, e)
            title = f'<a href="{escape(link)}">{headline}</a>' if link else headline
            out.append(f"<li><strong>{title}</strong><br>{escape(_line(e))}</li>")
        out.append("</ul>")
    out.append("</body></html>")
    return "\n".join(out)


def build_message(
    digest: Digest,
    sender: str,
    recipients: Sequence[str],
    base_url: str | None = None,
) -> EmailMessage:
    """Text and HTML alternatives; the HTML shows the chart inline (PNG), SVG attached."""
    msg = EmailMessage()
    msg["Subject"] = digest.subject
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="sinorus-watch")
    cid = make_msgid(idstring="timeline", domain="sinorus-watch")
    msg.set_content(render_text(digest, base_url))
    msg.add_alternative(render_html(digest, cid, base_url), subtype="html")
    for part in msg.iter_parts():
        if part.get_content_type() == "text/html":
            # PNG inline: the common mail clients refuse to display SVG images.
            part.add_related(
                digest.png,
                maintype="image",
                subtype="png",
                cid=cid,
                filename="timeline.png",
                disposition="inline",
            )
    msg.add_attachment(
        digest.svg.encode("utf-8"),
        maintype="image",
        subtype="svg+xml",
        filename="timeline.svg",
    )
    return msg


def weekly_message(
    conn: psycopg2.extensions.connection,
    sender: str,
    recipients: Sequence[str],
    *,
    until: dt.date | None = None,
    base_url: str | None = None,
) -> EmailMessage:
    """The digest for the week ending on until (default today), ready to send."""
    return build_message(collect(conn, until), sender, recipients, base_url)
