"""HTML for the sinorus pages: autoescaping Jinja2 templates and the helpers they use."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup, escape

from sinorus import queries

CSS = """
body{font-family:system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#1f3a5f;color:#fff;padding:8px 16px;display:flex;gap:18px;align-items:center}
header a{color:#fff;text-decoration:none}header strong{margin-right:12px}
main{padding:12px 16px}
table{border-collapse:collapse;width:100%;background:#fff;font-size:14px}
th,td{border-bottom:1px solid #e3e3e3;padding:5px 7px;text-align:left;vertical-align:top}
th{background:#f0f2f5}
table#events td:first-child,table#events td:nth-child(7){white-space:nowrap}
form.filters{display:flex;flex-wrap:wrap;gap:8px;align-items:end;margin:8px 0 12px}
form.filters label{display:flex;flex-direction:column;font-size:12px;color:#555}
mark{background:#ffe58a;padding:0 1px}
.error{background:#fde2e1;border:1px solid #e99;padding:8px;margin:8px 0}
.muted{color:#777}.yes{color:#0a7d32;font-weight:600}.bad{color:#b3261e;font-weight:600}
.chart{background:#fff;border:1px solid #e3e3e3;padding:6px;margin:8px 0;overflow-x:auto}
blockquote{margin:4px 0;padding:4px 8px;border-left:3px solid #1f3a5f;background:#fff}
"""

LAYOUT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} · sinorus-watch</title><style>{{ css }}</style></head>
<body><header><strong>sinorus-watch</strong>
<a href="{{ base }}/">Events</a><a href="{{ base }}/timeline">Timeline</a>
<a href="{{ base }}/feeds">Feed health</a></header>
<main><h1>{{ title }}</h1>
{% if error %}<div class="error" role="alert">{{ error }}</div>{% endif %}
{% block content %}{% endblock %}</main></body></html>
"""

OPTIONS = """{% macro options(name, values, chosen) %}
<select name="{{ name }}"><option value="">any</option>
{%- for v in values %}
<option value="{{ v }}"{% if chosen == v %} selected{% endif %}>{{ v | replace("_", " ") }}</option>
{%- endfor %}</select>
{%- endmacro %}
"""

PEOPLE = """{% macro people_list(e, sep) -%}
{% for p in people(e) %}{{ p.name }}
{%- if p.role %} <span class="muted">({{ p.role }}
{%- if p.country %}, {{ p.country }}{% endif %})</span>{% endif %}
{%- if not loop.last %}{{ sep }}{% endif %}{% endfor %}
{%- endmacro %}
"""

EVENTS = """{% extends "layout" %}
{% from "options" import options %}{% from "people" import people_list %}
{% block content %}
<form class="filters" method="get" action="{{ base }}/">
 <label>type{{ options("type", types, f.type) }}</label>
 <label>level (or higher){{ options("level", levels, f.level) }}</label>
 <label>status{{ options("status", statuses, f.status) }}</label>
 <label>from<input type="date" name="since" value="{{ f.since or '' }}"></label>
 <label>to<input type="date" name="until" value="{{ f.until or '' }}"></label>
 <label>text<input type="search" name="q" value="{{ f.text or '' }}"
   placeholder="name, place, words"></label>
 <button type="submit">Filter</button> <a href="{{ base }}/">reset</a>
</form>
<div class="chart">{{ chart }}</div>
<p class="muted">{{ events | length }} event{{ "" if events | length == 1 else "s" }}
{%- if events | length >= limit %} (first {{ limit }}){% endif %}, newest first.</p>
<table id="events"><thead><tr><th>date</th><th>type</th><th>participants</th>
<th>place</th><th>round</th><th>outlets</th><th>first seen</th><th>alerted</th>
<th>headline</th></tr></thead><tbody>
{% for e in events %}<tr class="event" data-id="{{ e.id }}" data-type="{{ e.type }}">
<td>{{ e.event_date or "undated" }}</td>
<td>{{ e.type }}
{%- if e.status != "held" %} <span class="muted">({{ e.status }})</span>{% endif %}
{%- if e.background %} <span class="muted">(recalled)</span>{% endif %}</td>
<td>{{ people_list(e, "<br>" | safe) }}</td>
<td>{{ e.location or "" }}</td><td>{{ e.round or "" }}</td><td>{{ e.n_outlets }}</td>
<td>{{ when(e.first_seen) }}</td>
<td>{% if e.alerted %}<span class="yes">yes</span>{% else %}no{% endif %}</td>
<td><a class="event-link" href="{{ base }}/events/{{ e.id }}">
{{- e.headline or ("event " ~ e.id) }}</a></td></tr>
{% else %}<tr><td colspan="9" class="muted">No events match these filters.</td></tr>
{% endfor %}</tbody></table>{% endblock %}
"""

EVENT = """{% extends "layout" %}{% from "people" import people_list %}
{% block content %}
<p><a href="{{ base }}/">← all events</a></p>
<table class="facts"><tbody>
<tr><th>type</th><td>{{ e.type }}, {{ e.status }}
{%- if e.background %} (recalled background){% endif %}</td></tr>
<tr><th>date</th><td>{{ e.event_date or "undated" }}</td></tr>
<tr><th>participants</th><td>{{ people_list(e, "; ") }}</td></tr>
<tr><th>level</th><td>{{ (e.level or "") | replace("_", " ") }}</td></tr>
<tr><th>place</th><td>{{ e.location or "" }}</td></tr>
<tr><th>round</th><td>{{ e.round or "" }}</td></tr>
<tr><th>outlets / articles</th><td>{{ e.n_outlets }} / {{ e.n_articles }}</td></tr>
<tr><th>first / last seen</th><td>{{ when(e.first_seen) }} / {{ when(e.last_seen) }}</td></tr>
<tr><th>alerted</th><td>{{ "yes" if e.alerted else "no" }}</td></tr>
</tbody></table>
<h2>{{ e.mentions | length }} mention{{ "" if e.mentions | length == 1 else "s" }}</h2>
<table id="mentions"><thead><tr><th>outlet</th><th>lang</th><th>headline</th>
<th>evidence</th><th>confidence</th></tr></thead><tbody>
{% for m in e.mentions %}<tr class="mention">
<td>{{ m.outlet or "" }}</td><td>{{ m.lang or "" }}</td>
<td>{% if safe_url(m.url) -%}
<a href="{{ m.url }}" rel="noopener noreferrer" target="_blank">{{ m.title or m.url }}</a>
{%- else %}{{ m.title or "" }} <span class="muted">{{ m.url }}</span>{% endif %}
<br><span class="muted">{{ when(m.published_at) }}</span></td>
<td><blockquote class="evidence">{{ highlight(m.evidence, m.highlights) }}</blockquote></td>
<td>{{ "%.2f" | format(m.confidence) }}</td></tr>
{% else %}<tr><td colspan="5" class="muted">No mentions point at this event.</td></tr>
{% endfor %}</tbody></table>{% endblock %}
"""

TIMELINE = """{% extends "layout" %}{% block content %}
<form class="filters" method="get" action="{{ base }}/timeline">
 <label>weeks<input type="number" name="weeks" min="1" max="520" value="{{ weeks }}"></label>
 <button type="submit">Show</button>
 <a href="{{ base }}/timeline.svg?weeks={{ weeks }}">SVG</a>
 <a href="{{ base }}/timeline.png?weeks={{ weeks }}">PNG</a>
</form>
<div class="chart">{{ chart }}</div>
<table id="weekly"><thead><tr><th>week (Monday)</th><th>type</th><th>events</th></tr>
</thead><tbody>
{% for week, type, n in counts %}<tr><td>{{ week }}</td><td>{{ type }}</td><td>{{ n }}</td></tr>
{% else %}<tr><td colspan="3" class="muted">No events in this period.</td></tr>
{% endfor %}</tbody></table>{% endblock %}
"""

FEEDS = """{% extends "layout" %}{% block content %}
<table id="feeds"><thead><tr><th>feed</th><th>status</th><th>last success</th>
<th>consecutive failures</th><th>new items (last day)</th><th>last fetch-log error</th>
</tr></thead><tbody>
{% for f in feeds %}<tr class="feed{% if not f.enabled %} muted{% endif %}">
<td>{{ f.name }}<br><span class="muted">{{ f.url }}</span></td>
<td>{% if f.status in ("failed", "refused") %}<span class="bad">{{ f.status }}</span>
{%- else %}{{ f.status or "never fetched" }}{% endif %}
{%- if f.http_status %} ({{ f.http_status }}){% endif %}
{%- if not f.enabled %} · disabled{% endif %}</td>
<td>{{ when(f.last_success) or "never" }}</td>
<td>{% if f.consecutive_failures %}<span class="bad">{{ f.consecutive_failures }}</span>
{%- else %}0{% endif %}</td>
<td>{{ f.new_items_last_day }}</td>
<td>{% if f.last_error %}{{ f.last_error }}
<br><span class="muted">{{ when(f.last_error_at) }}</span>{% endif %}</td></tr>
{% else %}<tr><td colspan="6" class="muted">No feeds yet: run `sinorus fetch` or the ingest DAG.
</td></tr>{% endfor %}</tbody></table>{% endblock %}
"""

MESSAGE = """{% extends "layout" %}{% block content %}<p>{{ message }}</p>
<p><a href="{{ base }}/">← all events</a></p>{% endblock %}
"""


def highlight(text: str | None, spans: Any) -> Markup:
    """The text with <mark> around each [start, end) span; every piece escaped on its own."""
    text = text or ""
    clean: list[tuple[int, int]] = []
    if isinstance(spans, list):
        for span in spans:
            if (
                isinstance(span, list | tuple)
                and len(span) == 2
                and all(isinstance(v, int) and not isinstance(v, bool) for v in span)
            ):
                start, end = max(0, span[0]), min(len(text), span[1])
                if start < end:
                    clean.append((start, end))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(clean):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    out, pos = [], 0
    for start, end in merged:
        out.append(str(escape(text[pos:start])))
        out.append(f"<mark>{escape(text[start:end])}</mark>")
        pos = end
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))  # noqa: S704 (every piece was escaped above)


def safe_url(url: Any) -> bool:
    """Only http(s) links become clickable: a feed could hand us javascript: or data: URLs."""
    return isinstance(url, str) and urlsplit(url).scheme.lower() in ("http", "https")


def when(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return "" if value is None else str(value)


def people(event: Mapping[str, Any]) -> list[dict[str, str]]:
    """Participants as name, role and country, tolerating hand-edited JSON."""
    raw = event.get("participants")
    found = []
    for p in raw if isinstance(raw, list) else []:
        if isinstance(p, Mapping):
            found.append(
                {
                    "name": str(p.get("name") or "?"),
                    "role": queries.role_label(p),
                    "country": str(p.get("country") or ""),
                }
            )
    return found


ENV = jinja2.Environment(
    loader=jinja2.DictLoader(
        {
            "layout": LAYOUT,
            "options": OPTIONS,
            "people": PEOPLE,
            "events": EVENTS,
            "event": EVENT,
            "timeline": TIMELINE,
            "feeds": FEEDS,
            "message": MESSAGE,
        }
    ),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
ENV.globals.update(
    css=Markup(CSS),  # noqa: S704 (our own constant)
    highlight=highlight,
    safe_url=safe_url,
    when=when,
    people=people,
)


def trusted(html: str) -> Markup:
    """Mark HTML we generated ourselves (the SVG chart escapes its own text) as safe."""
    return Markup(html)  # noqa: S704 (callers pass only our own renderers' output)


def render(template: str, **context: Any) -> str:
    context.setdefault("error", None)
    return ENV.get_template(template).render(**context)
