"""Alert messages for Slack, email and the console: pure functions of an event and its sources."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Mapping, Sequence
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote, urlsplit

Event = Mapping[str, Any]
Source = Mapping[str, Any]

HIGH_LEVELS = ("head_of_state", "head_of_government", "minister")
COUNTRY_ORDER = {"CN": 0, "RU": 1}  # China's side first, as in "China–Russia"
EVIDENCE_CHARS = 600
TITLE_CHARS = 200
HEADER_CHARS = 150  # Slack's limit for a header block

TYPE_WORDS = {
    "meeting": "meeting",
    "call": "call",
    "agreement": "agreement",
    "military": "military cooperation",
    "policy": "policy measure",
    "economic": "economic deal",
}
# Follow-ups are short: what changed, the sentence that says so, and the sources; the first
# alert gave the people and the facts.
FOLLOW_UP_TITLES = {"update": "Took place", "postponed": "Postponed", "cancelled": "Cancelled"}
STATUS_WORDS = {
    "held": "held",
    "planned": "planned",
    "postponed": "postponed",
    "cancelled": "cancelled",
}


def _text(value: Any, limit: int | None = None) -> str:
    """A feed-derived value as one line of text, cut to a readable length."""
    if value is None:
        return ""
    text = re.sub(r"\s+", " ", str(value)).strip()
    if limit and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def _participants(event: Event) -> list[Mapping[str, Any]]:
    raw = event.get("participants")
    people = [p for p in raw if isinstance(p, Mapping)] if isinstance(raw, list) else []
    return sorted(people, key=lambda p: COUNTRY_ORDER.get(str(p.get("country")), 2))


def _role(person: Mapping[str, Any]) -> str:
    title = _text(person.get("title"))
    if title:
        return title
    role = _text(person.get("role")).replace("_", " ")
    return role[:1].upper() + role[1:]


def _date(value: Any) -> str:
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value[:10])
        except ValueError:
            return _text(value, 40)
    if isinstance(value, dt.date):
        return f"{value.day} {value:%b %Y}"
    return ""


def is_head_of_state(event: Event) -> bool:
    return event.get("level") == "head_of_state"


def headline(event: Event, *, status_words: bool = True) -> str:
    """One line naming the kind of event, who met whom, where and when (and if planned)."""
    level = event.get("level")
    if level == "head_of_state":
        grade = "Head-of-state"
    elif level in HIGH_LEVELS:
        grade = "High-level"
    else:
        grade = ""
    kind = TYPE_WORDS.get(str(event.get("type")), _text(event.get("type"), 30) or "event")
    status = event.get("status") if status_words else None
    words = [grade, "China–Russia", kind]
    if status == "planned":
        words = ["Planned", grade.lower(), "China–Russia", kind]
    prefix = " ".join(w for w in words if w)
    sides: dict[str, list[str]] = {}
    for person in _participants(event):
        name = _text(person.get("name"), 60)
        if name:
            sides.setdefault(str(person.get("country")), []).append(name)
    who = " – ".join(", ".join(names) for names in sides.values())
    tail = ", ".join(
        x for x in (_text(event.get("location"), 60), _date(event.get("event_date"))) if x
    )
    line = prefix + (f": {who}" if who else "") + (f", {tail}" if tail else "")
    if status in ("postponed", "cancelled"):
        line += f" ({status})"
    return line


def _title(event: Event, kind: str) -> str:
    if kind in FOLLOW_UP_TITLES:
        return f"{FOLLOW_UP_TITLES[kind]}: {headline(event, status_words=False)}"
    return headline(event)


def is_follow_up(kind: str) -> bool:
    return kind in FOLLOW_UP_TITLES


def _facts(event: Event) -> list[tuple[str, str]]:
    """Label/value pairs every channel shows, as plain text."""
    facts = [
        ("Type", _text(event.get("type"))),
        ("Status", STATUS_WORDS.get(str(event.get("status")), _text(event.get("status")))),
        ("Date", _date(event.get("event_date"))),
        ("Place", _text(event.get("location"), 80)),
        ("Level", _text(event.get("level")).replace("_", " ")),
    ]
    if isinstance(event.get("round"), int):
        facts.append(("Round", str(event["round"])))
    if event.get("n_outlets"):
        facts.append(("Reported by", f"{event.get('n_outlets')} outlet(s)"))
    return [(label, value) for label, value in facts if value]


def _people_lines(event: Event) -> list[tuple[str, str]]:
    """(name, role) for each participant."""
    lines = []
    for person in _participants(event):
        name = _text(person.get("name"), 80)
        if name:
            lines.append((name, _role(person)))
    return lines


def _safe_url(value: Any) -> str | None:
    """An http(s) URL fit for a link, or None."""
    url = _text(value, 2000)
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return url


def _source_label(source: Source) -> str:
    # The site's own name reads better than its host, and tells apart sites sharing one.
    outlet = _text(source.get("site_name") or source.get("outlet"), 60)
    title = _text(source.get("title"), TITLE_CHARS)
    if outlet and title:
        return f"{outlet}: {title}"
    return outlet or title or "source"


def _limited(sources: Sequence[Source], limit: int) -> tuple[Sequence[Source], int]:
    return sources[:limit], max(0, len(sources) - limit)


# Slack ------------------------------------------------------------------------------------


def mrkdwn_escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn gives meaning to."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_link(url: str, label: str) -> str:
    """A Slack <url|label> link with both halves escaped; '|' cannot end the URL early."""
    safe_url = mrkdwn_escape(quote(url, safe=":/?#[]@!$&'()*+,;=%~-._"))
    safe_label = mrkdwn_escape(label.replace("|", "¦"))
    return f"<{safe_url}|{safe_label}>"


def slack_blocks(
    event: Event, sources: Sequence[Source], kind: str, *, max_sources: int = 8
) -> dict[str, Any]:
    """A Block Kit message: header, people and roles, facts, evidence quote, sources."""
    title = _title(event, kind)
    emoji = ":rotating_light: " if is_head_of_state(event) else ""
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": _text(emoji + title, HEADER_CHARS),
                "emoji": True,
            },
        }
    ]
    if is_head_of_state(event):
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "*Head-of-state event*"}]}
        )
    people = _people_lines(event) if not is_follow_up(kind) else []
    if people:
        text = "\n".join(
            f"• *{mrkdwn_escape(name)}*" + (f", {mrkdwn_escape(role)}" if role else "")
            for name, role in people
        )
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    facts = _facts(event) if not is_follow_up(kind) else []
    if facts:
        blocks.append(
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{label}*\n{mrkdwn_escape(value)}"}
                    for label, value in facts[:10]
                ],
            }
        )
    evidence = _text(event.get("evidence"), EVIDENCE_CHARS)
    if evidence:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"> “{mrkdwn_escape(evidence)}”"},
            }
        )
    shown, more = _limited(sources, max_sources)
    if shown:
        lines = []
        for source in shown:
            label = _source_label(source)
            url = _safe_url(source.get("url"))
            lines.append("• " + (slack_link(url, label) if url else mrkdwn_escape(label)))
        if more:
            lines.append(f"… and {more} more")
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "*Sources*\n" + "\n".join(lines)},
            }
        )
    if event.get("id") is not None:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": f"sinorus-watch event #{event['id']} ({kind})"}
                ],
            }
        )
    return {"text": mrkdwn_escape(emoji + title), "blocks": blocks}


# Email ------------------------------------------------------------------------------------


def _plain_body(event: Event, sources: Sequence[Source], kind: str, max_sources: int) -> str:
    lines = [_title(event, kind)]
    if is_head_of_state(event):
        lines.append("[Head-of-state event]")
    if not is_follow_up(kind):
        lines.append("")
        for name, role in _people_lines(event):
            lines.append(f"- {name}" + (f", {role}" if role else ""))
        lines.append("")
        lines += [f"{label}: {value}" for label, value in _facts(event)]
    evidence = _text(event.get("evidence"), EVIDENCE_CHARS)
    if evidence:
        lines += ["", f"“{evidence}”"]
    shown, more = _limited(sources, max_sources)
    if shown:
        lines += ["", "Sources:"]
        for source in shown:
            url = _safe_url(source.get("url"))
            lines.append(f"- {_source_label(source)}" + (f" <{url}>" if url else ""))
        if more:
            lines.append(f"… and {more} more")
    if event.get("id") is not None:
        lines += ["", f"sinorus-watch event #{event['id']} ({kind})"]
    return "\n".join(lines) + "\n"


def _html_body(event: Event, sources: Sequence[Source], kind: str, max_sources: int) -> str:
    esc = html.escape
    parts = [f"<h2>{esc(_title(event, kind))}</h2>"]
    if is_head_of_state(event):
        parts.append("<p><strong>Head-of-state event</strong></p>")
    people = _people_lines(event) if not is_follow_up(kind) else []
    if people:
        items = "".join(
            f"<li><strong>{esc(name)}</strong>" + (f", {esc(role)}" if role else "") + "</li>"
            for name, role in people
        )
        parts.append(f"<ul>{items}</ul>")
    facts = _facts(event) if not is_follow_up(kind) else []
    if facts:
        rows = "".join(
            f'<tr><th align="left">{esc(k)}</th><td>{esc(v)}</td></tr>' for k, v in facts
        )
        parts.append(f"<table>{rows}</table>")
    evidence = _text(event.get("evidence"), EVIDENCE_CHARS)
    if evidence:
        parts.append(f"<blockquote>“{esc(evidence)}”</blockquote>")
    shown, more = _limited(sources, max_sources)
    if shown:
        items = ""
        for source in shown:
            label = esc(_source_label(source))
            url = _safe_url(source.get("url"))
            items += (
                f'<li><a href="{esc(url, quote=True)}">{label}</a></li>'
                if url
                else f"<li>{label}</li>"
            )
        if more:
            items += f"<li>… and {more} more</li>"
        parts.append(f"<h3>Sources</h3><ul>{items}</ul>")
    if event.get("id") is not None:
        parts.append(
            f"<p><small>sinorus-watch event #{esc(str(event['id']))} ({esc(kind)})</small></p>"
        )
    return "<!DOCTYPE html><html><body>" + "\n".join(parts) + "</body></html>\n"


def email_message(
    event: Event,
    sources: Sequence[Source],
    kind: str,
    sender: str,
    recipients: Sequence[str],
    *,
    max_sources: int = 8,
) -> EmailMessage:
    """A multipart/alternative email: plain text and HTML with the same content."""
    msg = EmailMessage()
    # A header with a line break would be refused (or worse, split): keep the subject one line.
    msg["Subject"] = _text(_title(event, kind), 200)
    msg["From"] = sender
    msg["To"] = ", ".join(str(Address(addr_spec=r.strip())) for r in recipients if r.strip())
    msg.set_content(_plain_body(event, sources, kind, max_sources))
    msg.add_alternative(_html_body(event, sources, kind, max_sources), subtype="html")
    return msg


# Console ----------------------------------------------------------------------------------


def console_text(
    event: Event, sources: Sequence[Source], kind: str, *, max_sources: int = 8
) -> str:
    """The alert as plain text for a terminal or a log file."""
    return _plain_body(event, sources, kind, max_sources)
