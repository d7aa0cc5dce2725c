"""Alert messages: headlines, Slack escaping and links, email parts, console text."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sinorus.alerts import render

WANG = {
    "name": "Wang Yi",
    "person_id": "wang-yi",
    "country": "CN",
    "role": "foreign_minister",
    "level": "minister",
}
SHOIGU = {
    "name": "Sergei Shoigu",
    "person_id": "sergei-shoigu",
    "country": "RU",
    "role": "security_council_secretary",
    "title": "Secretary of the Security Council",
    "level": "minister",
}
SOURCE = {"outlet": "tass.com", "title": "Wang Yi meets Shoigu", "url": "https://tass.com/n/1"}


def event(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": 7,
        "type": "meeting",
        "status": "held",
        "event_date": dt.date(2025, 12, 2),
        "location": "Moscow",
        # Russian side listed first on purpose: China's side is named first anyway.
        "participants": [SHOIGU, WANG],
        "level": "minister",
        "round": None,
        "evidence": "Wang Yi held talks with Sergei Shoigu in Moscow.",
        "n_outlets": 2,
    }
    base.update(overrides)
    return base


def test_headline_names_both_sides_place_and_date() -> None:
    assert (
        render.headline(event())
        == "High-level China–Russia meeting: Wang Yi – Sergei Shoigu, Moscow, 2 Dec 2025"
    )


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"level": "head_of_state"}, "Head-of-state China–Russia meeting: "),
        ({"status": "planned", "type": "call"}, "Planned high-level China–Russia call: "),
        ({"level": "working"}, "China–Russia meeting: "),
        ({"event_date": "2025-12-02T10:00:00"}, "High-level"),
    ],
)
def test_headline_variants(overrides: dict[str, Any], expected: str) -> None:
    assert render.headline(event(**overrides)).startswith(expected)


def test_headline_survives_missing_and_malformed_fields() -> None:
    text = render.headline(
        {"type": None, "participants": "?", "event_date": "not a date", "location": None}
    )
    assert text == "China–Russia event, not a date"
    assert render.headline({}) == "China–Russia event"


def test_update_is_a_short_took_place_follow_up() -> None:
    text = render.console_text(event(), [SOURCE], "update")
    assert text.startswith("Took place: High-level China–Russia meeting: Wang Yi")


def test_slack_blocks_name_people_with_roles_facts_evidence_and_sources() -> None:
    message = render.slack_blocks(event(round=3), [SOURCE], "new")
    assert message["text"].startswith("High-level China–Russia meeting")
    blocks = message["blocks"]
    assert [b["type"] for b in blocks] == [
        "header",
        "section",
        "section",
        "section",
        "section",
        "context",
    ]
    people = blocks[1]["text"]["text"]
    assert people == (
        "• *Wang Yi*, Foreign minister\n• *Sergei Shoigu*, Secretary of the Security Council"
    )
    fields = [f["text"] for f in blocks[2]["fields"]]
    assert "*Status*\nheld" in fields and "*Round*\n3" in fields and "*Place*\nMoscow" in fields
    assert blocks[3]["text"]["text"] == "> “Wang Yi held talks with Sergei Shoigu in Moscow.”"
    assert (
        blocks[4]["text"]["text"]
        == "*Sources*\n• <https://tass.com/n/1|tass.com: Wang Yi meets Shoigu>"
    )


def test_head_of_state_is_labelled_in_every_channel() -> None:
    top = event(level="head_of_state")
    slack = json.dumps(render.slack_blocks(top, [], "new"))
    assert ":rotating_light:" in slack and "Head-of-state event" in slack
    assert "[Head-of-state event]" in render.console_text(top, [], "new")
    msg = render.email_message(top, [], "new", "a@sinorus.test", ["b@sinorus.test"])
    assert "Head-of-state event" in msg.get_body(("html",)).get_content()
    assert "Head-of-state" not in render.console_text(event(), [], "new")


@pytest.mark.parametrize(
    ("url", "label", "expected"),
    [
        ("https://a.test/x?a=1&b=2", "A & B", "<https://a.test/x?a=1&amp;b=2|A &amp; B>"),
        ("https://a.test/<x>|y", "<!here> | z", "<https://a.test/%3Cx%3E%7Cy|&lt;!here&gt; ¦ z>"),
        ("https://a.test/ü p", "ok", "<https://a.test/%C3%BC%20p|ok>"),
    ],
)
def test_slack_link_escapes_both_halves(url: str, label: str, expected: str) -> None:
    assert render.slack_link(url, label) == expected


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://a.test/x", "", None, "//a.test/x"])
def test_sources_without_an_http_url_are_listed_unlinked(url: str | None) -> None:
    source = {"outlet": "x.test", "title": "T <b>", "url": url}
    text = render.slack_blocks(event(), [source], "new")["blocks"][4]["text"]["text"]
    assert text == "*Sources*\n• x.test: T &lt;b&gt;"
    page = render.email_message(event(), [source], "new", "a@s.test", ["b@s.test"])
    assert "href" not in page.get_body(("html",)).get_content()


def test_sources_beyond_the_limit_are_counted_not_listed() -> None:
    sources = [
        {"outlet": f"o{i}.test", "title": "t", "url": f"https://o{i}.test/"} for i in range(11)
    ]
    text = render.slack_blocks(event(), sources, "new", max_sources=8)["blocks"][4]["text"]["text"]
    assert text.count("• <https://") == 8 and text.endswith("… and 3 more")


def test_long_feed_text_is_cut_to_fit_slack_limits() -> None:
    long = event(location="M" * 500, evidence="word " * 1000)
    blocks = render.slack_blocks(long, [], "new")["blocks"]
    assert len(blocks[0]["text"]["text"]) <= 150
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in blocks)


def test_email_has_text_and_html_parts_with_the_same_content() -> None:
    hostile = event(evidence="Shoigu & Wang <script>x</script>")
    msg = render.email_message(hostile, [SOURCE], "new", "alerts@s.test", ["a@s.test", " b@s.test"])
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["To"] == "a@s.test, b@s.test"
    text = msg.get_body(("plain",)).get_content()
    page = msg.get_body(("html",)).get_content()
    assert "Shoigu & Wang <script>x</script>" in text
    assert "Shoigu &amp; Wang &lt;script&gt;x&lt;/script&gt;" in page and "<script>" not in page
    for needle in (
        "Wang Yi",
        "Secretary of the Security Council",
        "Moscow",
        "2 Dec 2025",
        "tass.com",
    ):
        assert needle in text and needle in page


def test_email_subject_cannot_carry_a_header_injection() -> None:
    sneaky = event(location="Moscow\r\nBcc: victim@s.test")
    msg = render.email_message(sneaky, [], "new", "a@s.test", ["b@s.test"])
    assert "\n" not in msg["Subject"] and "Moscow Bcc: victim@s.test" in msg["Subject"]
    reparsed = email.message_from_string(msg.as_string(), policy=email.policy.default)
    assert reparsed["Bcc"] is None and reparsed["Subject"] == msg["Subject"]


printable = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80)


@given(
    name=printable,
    title=printable,
    evidence=printable,
    url=printable,
    kind=st.sampled_from(["new", "update", "postponed", "cancelled"]),
)
def test_no_feed_string_can_open_a_slack_tag(
    name: str, title: str, evidence: str, url: str, kind: str
) -> None:
    person = {"name": name, "country": "CN", "title": title, "level": "minister"}
    source = {"outlet": title, "title": name, "url": "https://a.test/" + url}
    message = render.slack_blocks(
        event(participants=[person, SHOIGU], evidence=evidence, location=title), [source], kind
    )
    for block in message["blocks"][1:]:
        texts = [f["text"] for f in block.get("fields", [])]
        texts += [block["text"]["text"]] if "text" in block else []
        texts += [e["text"] for e in block.get("elements", [])]
        for text in texts:
            # The only '<' left are our own link openers, each closed once, with one '|'.
            for chunk in text.split("<")[1:]:
                assert chunk.startswith("https://a.test/")
                assert chunk.count(">") == 1 and chunk.split(">")[0].count("|") == 1


def test_update_leaves_out_people_and_facts_the_first_alert_gave() -> None:
    full = render.slack_blocks(event(), [SOURCE], "new")["blocks"]
    short = render.slack_blocks(event(), [SOURCE], "update")["blocks"]
    assert len(short) == len(full) - 2
    assert short[0]["text"]["text"].startswith("Took place: High-level China–Russia meeting")
    assert "Secretary of the Security Council" not in json.dumps(short)
    text = render.console_text(event(), [SOURCE], "update")
    assert "Status:" not in text and "tass.com: Wang Yi meets Shoigu" in text
    page = render.email_message(event(), [SOURCE], "update", "a@s.test", ["b@s.test"])
    assert "<table>" not in page.get_body(("html",)).get_content()


@pytest.mark.parametrize(
    ("kind", "title"), [("postponed", "Postponed"), ("cancelled", "Cancelled")]
)
def test_postponed_and_cancelled_follow_ups_are_short_in_every_channel(
    kind: str, title: str
) -> None:
    later = event(status=kind, evidence="Wang Yi & Shoigu <b>put off</b> their talks <!here>.")
    expected = f"{title}: High-level China–Russia meeting: Wang Yi – Sergei Shoigu, Moscow"
    slack = render.slack_blocks(later, [SOURCE], kind)
    assert slack["blocks"][0]["text"]["text"].startswith(expected)
    assert slack["text"].startswith(expected)
    mrkdwn = json.dumps(slack["blocks"][1:])
    assert "&amp; Shoigu &lt;b&gt;put off&lt;/b&gt; their talks &lt;!here&gt;" in mrkdwn
    assert "<!here>" not in mrkdwn and "<b>" not in mrkdwn
    assert "Secretary of the Security Council" not in mrkdwn  # the first alert gave the people
    assert slack["blocks"][-1]["elements"][0]["text"] == f"sinorus-watch event #7 ({kind})"
    text = render.console_text(later, [SOURCE], kind)
    assert text.startswith(expected) and "Status:" not in text
    assert "Wang Yi & Shoigu <b>put off</b> their talks <!here>." in text
    msg = render.email_message(later, [SOURCE], kind, "a@s.test", ["b@s.test"])
    assert msg["Subject"].startswith(expected)
    page = msg.get_body(("html",)).get_content()
    assert f"<h2>{expected}" in page and "<table>" not in page
    assert "&lt;b&gt;put off&lt;/b&gt;" in page and "<b>put off" not in page
    # No "Planned …" prefix nor "(postponed)" tail: the title says what changed, once.
    for line in (slack["text"], text.split("\n")[0], msg["Subject"]):
        assert "Planned" not in line and f"({kind})" not in line
