"""The event detector on sentences written for these tests (never copied from the corpora)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sinorus.detect import detector
from sinorus.detect.detector import detect, merge_mentions
from sinorus.detect.model import DETECTOR_VERSION, Mention, Participant
from sinorus.detect.text import guess_lang, split_sentences

PUB = date(2025, 6, 11)  # a Wednesday


def people(m: Mention) -> set[str]:
    return {p.person_id for p in m.participants if p.person_id}


def only(mentions: list[Mention], type_: str) -> Mention:
    found = [m for m in mentions if m.type == type_ and not m.background]
    assert len(found) == 1, [(m.type, m.evidence) for m in mentions]
    return found[0]


# -- positives per language and type -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang", "type_", "who"),
    [
        (
            "Chinese President Xi Jinping held talks with Russian President Vladimir Putin "
            "in Beijing on Tuesday.",
            "en",
            "meeting",
            {"xi-jinping", "vladimir-putin"},
        ),
        (
            "Foreign Minister Wang Yi met his Russian counterpart Sergei Lavrov on Monday.",
            "en",
            "meeting",
            {"wang-yi", "sergey-lavrov"},
        ),
        (
            "Vladimir Putin and Xi Jinping spoke by phone on Tuesday, the Kremlin said.",
            "en",
            "call",
            {"xi-jinping", "vladimir-putin"},
        ),
        (
            "Министр иностранных дел России Сергей Лавров провёл переговоры с Ван И в Москве "
            "во вторник.",
            "ru",
            "meeting",
            {"wang-yi", "sergey-lavrov"},
        ),
        (
            "Владимир Путин провёл телефонный разговор с Си Цзиньпином во вторник.",
            "ru",
            "call",
            {"xi-jinping", "vladimir-putin"},
        ),
        (
            "6月10日，国家主席习近平在北京同俄罗斯总统普京举行会谈。",
            "zh",
            "meeting",
            {"xi-jinping", "vladimir-putin"},
        ),
        (
            "6月10日，国家主席习近平同俄罗斯总统普京通电话。",
            "zh",
            "call",
            {"xi-jinping", "vladimir-putin"},
        ),
        (
            "El martes, el canciller ruso Serguéi Lavrov se reunió con Wang Yi en Moscú.",
            "es",
            "meeting",
            {"wang-yi", "sergey-lavrov"},
        ),
    ],
)
def test_contacts_in_each_language(text: str, lang: str, type_: str, who: set[str]) -> None:
    m = only(detect(text, lang=lang, published=PUB), type_)
    assert people(m) == who
    assert m.status == "held"
    assert m.level is not None


def test_agreement_signed_by_named_leaders() -> None:
    text = (
        "On Tuesday Xi Jinping and Vladimir Putin signed a joint statement on deepening "
        "their partnership."
    )
    m = only(detect(text, lang="en", published=PUB), "agreement")
    assert people(m) == {"xi-jinping", "vladimir-putin"}
    assert m.cameo == "057" and m.plover == "AGREE"


def test_joint_exercise_with_country_adjectives_only() -> None:
    text = "Chinese and Russian navies began a joint naval exercise in the Sea of Japan on Monday."
    m = only(detect(text, lang="en", published=PUB), "military")
    assert m.participants == []
    assert m.level is None
    assert m.location == "Sea of Japan"
    assert m.cameo == "062"


def test_visa_waiver_policy_in_chinese() -> None:
    text = "外交部宣布，自2025年6月15日起，中方对俄罗斯持普通护照人员试行免签政策。"
    m = only(detect(text, lang="zh", published=PUB), "policy")
    assert m.status == "planned"
    assert m.event_date == date(2025, 6, 15)


def test_company_deal_is_economic_not_agreement() -> None:
    text = (
        "Gazprom and CNPC signed a contract on additional gas supplies via the Power of "
        "Siberia pipeline on Monday."
    )
    found = detect(text, lang="en", published=PUB)
    assert [m.type for m in found if not m.background] == ["economic"]


# -- negatives -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        (
            "Russian President Vladimir Putin met Indian Prime Minister Narendra Modi on Friday.",
            "en",
        ),
        ("Sergei Lavrov held talks with US Secretary of State Marco Rubio in Riyadh.", "en"),
        ("Chinese Foreign Minister Wang Yi met Marco Rubio in Kuala Lumpur on Friday.", "en"),
        (
            "Indian Prime Minister Narendra Modi held talks with Xi Jinping and Vladimir Putin "
            "at the summit.",
            "en",
        ),
        (
            "Washington imposed sanctions on Chinese companies accused of supplying drones to "
            "Russia.",
            "en",
        ),
        ("China denied supplying weapons to Russia, the foreign ministry spokesperson said.", "en"),
        (
            "The SCO summit in Astana will gather the leaders of China, Russia, India and "
            "Kazakhstan.",
            "en",
        ),
        ("Хоккеисты СКА обыграли пекинский «Куньлунь» в Москве со счётом 3:2.", "ru"),
        ("Iran, Russia and China began joint naval drills near Chabahar on Monday.", "en"),
        ("习近平同巴西总统卢拉举行会谈。", "zh"),
        ("", "en"),
    ],
)
def test_not_our_events(text: str, lang: str) -> None:
    assert [m for m in detect(text, lang=lang, published=PUB) if not m.background] == []


def test_opinion_recalling_an_old_meeting_is_background() -> None:
    text = "Putin and Xi Jinping met in Samarkand on 15 September 2022 and praised their ties."
    found = detect(text, lang="en", published=PUB)
    assert found and all(m.background for m in found)


def test_past_perfect_recollection_without_date_is_dropped() -> None:
    text = "Xi Jinping and Vladimir Putin had met many times before the war."
    assert detect(text, lang="en", published=PUB) == []


# -- status, date, level, round, location ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang", "status"),
    [
        ("Vladimir Putin will visit Beijing next week for talks with Xi Jinping.", "en", "planned"),
        ("Wang Yi is expected to meet Sergei Lavrov in Moscow on Friday.", "en", "planned"),
        ("Путин посетит Китай и проведет переговоры с Си Цзиньпином в сентябре.", "ru", "planned"),
        ("国家主席习近平将于下周同俄罗斯总统普京举行会谈。", "zh", "planned"),
        ("Wang Yi met Sergei Lavrov in Moscow on Monday.", "en", "held"),
        (
            "The planned meeting between Xi Jinping and Vladimir Putin was postponed.",
            "en",
            "postponed",
        ),
        # a cue far from the trigger: it ends the clause the meeting noun opens
        (
            "The talks between the Chinese foreign minister and his Russian counterpart, which "
            "had been expected to cover a long list of regional security questions and trade, "
            "have been postponed.",
            "en",
            "postponed",
        ),
        (
            "Kremlin spokesman Dmitry Peskov said the meeting between Xi Jinping and Vladimir "
            "Putin, which had been expected to cover a long list of regional questions and "
            "trade, was called off.",
            "en",
            "cancelled",
        ),
        (
            "Переговоры Ван И и Сергея Лаврова, которые должны были охватить длинный список "
            "вопросов региональной безопасности и торговли, были перенесены.",
            "ru",
            "postponed",
        ),
        # a far cue that belongs to something else
        (
            "The talks between Wang Yi and Sergei Lavrov in Moscow on Monday covered a long list "
            "of regional security questions and trade, a day after a summit with India was "
            "postponed.",
            "en",
            "held",
        ),
        (
            "Xi Jinping will hold talks with Vladimir Putin in Moscow next week to discuss a long "
            "list of regional security questions, trade and the energy projects that have been "
            "delayed by sanctions.",
            "en",
            "planned",
        ),
        (
            "Путин и Си Цзиньпин проведут переговоры в Москве на следующей неделе, чтобы "
            "обсудить длинный список вопросов региональной безопасности и проекты, отложенные "
            "из-за санкций.",
            "ru",
            "planned",
        ),
        (
            "The talks between Wang Yi and Sergei Lavrov, held in Moscow on Monday, covered a long "
            "list of regional security questions and the visa rules, whose reform has been delayed "
            "for years.",
            "en",
            "held",
        ),
    ],
)
def test_status(text: str, lang: str, status: str) -> None:
    m = only(detect(text, lang=lang, published=PUB), "meeting")
    assert m.status == status


def test_dates_resolve_against_publication() -> None:
    m = only(detect("Wang Yi met Sergei Lavrov on Monday.", lang="en", published=PUB), "meeting")
    assert m.event_date == date(2025, 6, 9)
    assert m.date_text and "Monday" in m.date_text
    planned = only(
        detect("Wang Yi will meet Sergei Lavrov on Friday.", lang="en", published=PUB), "meeting"
    )
    assert planned.event_date == date(2025, 6, 13)


def test_undated_held_news_takes_the_publication_date() -> None:
    m = only(detect("Wang Yi met Sergei Lavrov in Moscow.", lang="en", published=PUB), "meeting")
    assert m.event_date == PUB
    assert m.date_text is None


def test_level_is_the_lower_side() -> None:
    text = "Vladimir Putin received Chinese Foreign Minister Wang Yi in the Kremlin on Tuesday."
    m = only(detect(text, lang="en", published=PUB), "meeting")
    assert m.level == "minister"
    assert m.location is None or m.location == "Moscow"


def test_roles_resolve_on_the_article_date() -> None:
    text = "The Chinese defence minister held talks with the Russian defence minister on Monday."
    later = only(detect(text, lang="en", published=PUB), "meeting")
    assert "andrei-belousov" in people(later)
    earlier = only(detect(text, lang="en", published=date(2023, 4, 17)), "meeting")
    assert "sergei-shoigu" in people(earlier)


def test_round_and_location() -> None:
    text = (
        "Wang Yi and Sergei Shoigu will co-chair the 20th round of China-Russia strategic "
        "security consultations in Moscow on Thursday."
    )
    m = only(detect(text, lang="en", published=PUB), "meeting")
    assert m.round == 20
    assert m.location == "Moscow"
    assert m.status == "planned"


def test_location_in_russian_case_forms() -> None:
    text = "Сергей Лавров встретился с Ван И в Пекине в понедельник."
    m = only(detect(text, lang="ru", published=PUB), "meeting")
    assert m.location == "Beijing"


def test_two_leaders_resolve_to_office_holders() -> None:
    text = (
        "Xi Jinping arrived in Moscow on Monday. The two leaders signed a joint statement on "
        "Tuesday."
    )
    m = only(detect(text, lang="en", published=PUB), "agreement")
    assert people(m) == {"xi-jinping", "vladimir-putin"}


def test_pronoun_subject_takes_the_side_from_the_previous_sentence() -> None:
    text = (
        "Chinese President Xi Jinping arrived in Kazan on Monday. On Tuesday he will meet "
        "Russian President Vladimir Putin."
    )
    m = only(detect(text, lang="en", published=PUB), "meeting")
    assert people(m) == {"xi-jinping", "vladimir-putin"}


def test_held_and_planned_events_in_one_article_stay_apart() -> None:
    text = (
        "Sergei Lavrov met Wang Yi in Moscow on Monday. "
        "Lavrov said Vladimir Putin would visit China in September for talks with Xi Jinping."
    )
    found = [m for m in detect(text, lang="en", published=PUB) if m.type == "meeting"]
    assert {(m.status, frozenset(people(m))) for m in found} == {
        ("held", frozenset({"sergey-lavrov", "wang-yi"})),
        ("planned", frozenset({"vladimir-putin", "xi-jinping"})),
    }


def test_repeats_in_one_article_merge() -> None:
    text = (
        "Xi Jinping held talks with Vladimir Putin in Beijing on Tuesday. "
        "During the talks, Xi told Putin that ties were strong. "
        "Putin thanked Xi Jinping for the meeting."
    )
    found = [m for m in detect(text, lang="en", published=PUB) if m.type == "meeting"]
    assert len(found) == 1


def test_title_counts_as_a_sentence() -> None:
    found = detect(
        "The talks lasted three hours.",
        lang="en",
        published=PUB,
        title="Lavrov holds talks with Wang Yi in Moscow",
    )
    m = only(found, "meeting")
    assert people(m) == {"sergey-lavrov", "wang-yi"}


def test_mention_serialises_to_json() -> None:
    m = only(detect("Wang Yi met Sergei Lavrov on Monday.", lang="en", published=PUB), "meeting")
    data = json.loads(json.dumps(m.to_dict()))
    assert data["event_date"] == "2025-06-09"
    assert data["participants"][0]["country"] == "CN"  # China first
    for start, end in data["highlights"]:
        assert 0 <= start < end <= len(data["evidence"])
    assert DETECTOR_VERSION


def test_merge_keeps_different_counterparts_apart() -> None:
    def mention(ru: str) -> Mention:
        return Mention(
            type="meeting",
            status="held",
            event_date=PUB,
            date_text="Monday",
            location=None,
            participants=[
                Participant("Wang Yi", "wang-yi", "CN", None, None, "minister"),
                Participant(ru, ru.lower().replace(" ", "-"), "RU", None, None, "minister"),
            ],
            level="minister",
            round=None,
            evidence="x",
            highlights=[],
            confidence=0.9,
            cameo="040",
            plover="CONSULT",
            background=False,
        )

    assert len(merge_mentions([mention("Sergey Lavrov"), mention("Nikolai Patrushev")])) == 2
    assert len(merge_mentions([mention("Sergey Lavrov"), mention("Sergey Lavrov")])) == 1


# -- robustness ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\n  ",
        "." * 5000,
        "Xi " * 20000,
        "met talks signed " * 3000,
        "\x00\ufffd\u202e" * 100,
        "习近平" * 5000 + "普京会晤" * 2000,
        "<html><body>" + "Путин встретился с Си Цзиньпином. " * 500,
    ],
)
def test_bad_input_gives_a_result_not_a_crash(text: str) -> None:
    found = detect(text, lang=None, published=None)
    assert isinstance(found, list)
    for m in found:
        assert 0.0 <= m.confidence <= 1.0


def test_one_megabyte_article() -> None:
    chunk = (
        "Markets were calm on Monday as investors weighed the outlook for interest rates. "
        "Analysts expect little change this quarter. "
    )
    text = chunk * (1_000_000 // len(chunk)) + "Wang Yi met Sergei Lavrov in Moscow on Monday."
    found = detect(text, lang="en", published=PUB)
    assert [m.type for m in found] == ["meeting"]


def test_mixed_scripts_and_no_date() -> None:
    text = "Путин и Xi Jinping провели переговоры. 习近平同普京举行会谈。"
    found = detect(text, lang=None, published=None)
    assert found and all(m.event_date is None or m.status != "held" for m in found) is not None


def test_sentences_keep_offsets() -> None:
    text = "Mr. Putin met Xi. Then U.S. officials left!习近平会见普京。Next."
    for s in split_sentences(text):
        assert text[s.start : s.end] == s.text
    assert [s.text for s in split_sentences(text)][:2] == [
        "Mr. Putin met Xi.",
        "Then U.S. officials left!",
    ]


@pytest.mark.parametrize(
    ("text", "lang"),
    [("Путин встретился с Си", "ru"), ("习近平会见普京", "zh"), ("Putin met Xi", "en")],
)
def test_language_guess(text: str, lang: str) -> None:
    assert guess_lang(text) == lang


def test_cli_reads_html_from_stdin() -> None:
    html = (
        "<html><body><article><p>Foreign Minister Wang Yi met Russian Foreign Minister "
        "Sergei Lavrov in Moscow on Monday to prepare the summit of the two leaders. "
        "They discussed trade, energy and security in detail.</p></article></body></html>"
    )
    out = subprocess.run(
        [sys.executable, "-m", "sinorus.cli", "detect", "-", "--published", "2025-06-11"],
        input=html,
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(out.stdout)
    assert any(d["type"] == "meeting" and d["event_date"] == "2025-06-09" for d in data)


def test_cli_rejects_a_bad_date() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "sinorus.cli", "detect", "-", "--published", "yesterday"],
        input="text",
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 2
    assert "YYYY-MM-DD" in out.stderr


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        (
            "Kremlin spokesman Dmitry Peskov said no meeting between Putin and Xi Jinping "
            "was planned.",
            "en",
        ),
        ("Sergei Lavrov did not meet Wang Yi on the sidelines of the forum.", "en"),
        ("Путин не планирует встречу с Си Цзиньпином в ближайшее время, заявил Песков.", "ru"),
    ],
)
def test_negated_contacts_are_not_events(text: str, lang: str) -> None:
    assert [m for m in detect(text, lang=lang, published=PUB) if m.type == "meeting"] == []


def test_a_quoted_spokesman_is_not_a_participant() -> None:
    text = "Kremlin spokesman Dmitry Peskov said Putin would meet Xi Jinping in Beijing next week."
    m = only(detect(text, lang="en", published=PUB), "meeting")
    assert people(m) == {"xi-jinping", "vladimir-putin"}
    assert m.level == "head_of_state"


@pytest.mark.parametrize(
    ("text", "names"),
    [
        (
            "Russian Foreign Minister Sergei Lavrov's talks with Wang Yi in Moscow on Monday "
            "covered trade.",
            {"Wang Yi", "Sergey Lavrov"},
        ),
        (
            "Chinese Foreign Minister Wang Yi’s talks with Sergei Lavrov in Moscow on Monday "
            "covered trade.",
            {"Wang Yi", "Sergey Lavrov"},
        ),
        (
            "Russian Deputy Foreign Minister Ivan Petrovsky's talks with Chinese Vice Foreign "
            "Minister Zhang Hanlin in Moscow on Monday covered trade.",
            {"Zhang Hanlin", "Ivan Petrovsky"},
        ),
        (
            "Russian Deputy Foreign Minister Nikolas Andreas' talks with Chinese Vice Foreign "
            "Minister Zhang Hanlin in Moscow on Monday covered trade.",
            {"Zhang Hanlin", "Nikolas Andreas"},
        ),
    ],
)
def test_a_possessive_name_is_the_plain_participant(text: str, names: set[str]) -> None:
    m = only(detect(text, lang="en", published=PUB), "meeting")
    assert {p.name for p in m.participants} == names


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Председатель КНР Си Цзиньпин прибудет в Москву с государственным визитом 8 мая.", "ru"),
        ("国家主席习近平将于5月7日至10日对俄罗斯进行国事访问。", "zh"),
    ],
)
def test_a_leaders_state_visit_is_a_meeting_with_the_host(text: str, lang: str) -> None:
    m = only(detect(text, lang=lang, published=date(2025, 5, 4)), "meeting")
    assert people(m) == {"xi-jinping", "vladimir-putin"}
    assert m.status == "planned"
    assert m.event_date in (date(2025, 5, 7), date(2025, 5, 8))


def test_a_visit_to_a_third_country_is_not_ours() -> None:
    text = "Xi Jinping will pay a state visit to Kazakhstan next week."
    assert detect(text, lang="en", published=PUB) == []


def test_sea_of_japan_is_a_place_not_a_third_party() -> None:
    m = only(detect("中俄两国海军在日本海举行联合演习。", lang="zh", published=PUB), "military")
    assert m.location == "Sea of Japan"


def _trigger_lists() -> list[list[str]]:
    """Every long pattern list in triggers.yaml, per script, as the detector compiles them."""
    import yaml

    from sinorus import settings as sinorus_settings

    data = yaml.safe_load((sinorus_settings.DATA_DIR / "triggers.yaml").read_text(encoding="utf-8"))
    found: list[list[str]] = []

    def walk(block: object) -> None:
        if isinstance(block, dict):
            by_script: dict[str, list[str]] = {}
            for lang, value in block.items():
                if isinstance(value, list) and str(lang) not in ("zh", "ja"):
                    script = detector.SCRIPT_OF_LANG.get(str(lang), "latin")
                    by_script.setdefault(script, []).extend(str(p) for p in value)
                else:
                    walk(value)
            found.extend(v for v in by_script.values() if len(v) >= detector.DISPATCH_MIN)
        elif isinstance(block, list):
            for item in block:
                walk(item)

    walk(data)
    return found


# Characters `re` folds in surprising ways when ignoring case (long s, Kelvin sign, dotted and
# dotless i, old Cyrillic letter forms), mixed into text built from the patterns' own letters.
ODD = "ſKİıᲀᲂᲃẞµ_'- \nЁё"


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_grouped_trigger_alternation_matches_like_the_plain_one(data: st.DataObject) -> None:
    lists = _trigger_lists()
    assert lists  # the grouping is in use
    patterns = data.draw(st.sampled_from(lists))
    letters = "".join(sorted({c for p in patterns for c in p if c.isalpha()}))
    words = st.text(alphabet=letters + letters.upper() + ODD, min_size=1, max_size=12)
    # The patterns' own words, regex syntax stripped, as written and in capitals.
    literal = st.sampled_from(patterns).map(
        lambda p: re.sub(r"\\[swd][*+?]?|[\\()?*+|\[\]^$]", "", p)
    )
    pieces = st.lists(st.one_of(words, literal, literal.map(str.upper)), max_size=40)
    text = data.draw(pieces.map(" ".join))
    parts = sorted(patterns, key=len, reverse=True)
    for flags in (re.IGNORECASE, 0):
        plain = re.compile(r"(?<!\w)(?:" + "|".join(f"(?:{p})" for p in parts) + r")(?!\w)", flags)
        grouped = re.compile(detector._compile(patterns), flags)
        expected = [m.span() for m in plain.finditer(text)]
        assert [m.span() for m in grouped.finditer(text)] == expected


def _patterns(rules: detector.Rules) -> dict[str, re.Pattern[str]]:
    """Every pattern of the rules, by a name that holds across variants."""
    out: dict[str, re.Pattern[str]] = {}
    for name, value in vars(rules).items():
        if isinstance(value, re.Pattern):
            out[name] = value
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, detector.Scanner):
                    out[f"{name}.{item.script}"] = item.pattern
                elif isinstance(item, tuple) and isinstance(item[1], re.Pattern):
                    out[f"{name}.{item[0]}"] = item[1]
    return out


def _words(rules: detector.Rules) -> list[str]:
    """The words of the rules' patterns, regex syntax stripped."""
    return sorted(
        {
            w
            for p in _patterns(rules).values()
            for w in re.split(r"\\[swdbSWDB][*+?]?|[\\()?*+|\[\]^${}<>=!:,.]", p.pattern)
            if w.strip()
        }
    )


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_a_script_variant_matches_like_the_full_rules(data: st.DataObject) -> None:
    rules = detector.default_rules()
    words = _words(rules)
    # Texts lacking Cyrillic or Chinese (or both) get a variant without those alternatives.
    scripts = data.draw(st.sets(st.sampled_from(["latin", "cyrillic", "cjk"])))
    allowed = [w for w in words if detector.scripts_of(w) <= scripts | {"latin"}]
    latin = [w for w in allowed if w.isascii()]
    # Odd characters, and no plain Cyrillic ones unless drawn: the old letter forms U+1C80..88
    # alone must keep the Cyrillic patterns, which `re` ignoring case lets them match.
    odd = (ODD if "cyrillic" in scripts else ODD.replace("Ёё", "")) + "ᲀᲁᲂᲃᲄᲅᲆᲇᲈ"
    pieces = st.one_of(
        st.sampled_from(allowed or [" "]),
        st.sampled_from(latin or [" "]).map(str.upper),
        st.text(alphabet=odd, max_size=3),
    )
    text = data.draw(st.lists(pieces, max_size=30).map(" ".join))
    variant = rules.for_text(text)
    full, fewer = _patterns(rules), _patterns(variant)
    lo = data.draw(st.integers(0, len(text)))
    hi = data.draw(st.integers(lo, len(text)))
    # the variant for one stretch of the text (a sentence) searched within that stretch
    fewest = _patterns(variant.for_text(text, lo, hi))
    for name, pat in full.items():
        expected = (
            [m.span() for m in pat.finditer(text)],
            [m.span() for m in pat.finditer(text, lo, hi)],
            [m.span() for m in pat.finditer(text, lo, hi)],
        )
        other, least = fewer.get(name), fewest.get(name)
        got = (
            [] if other is None else [m.span() for m in other.finditer(text)],
            [] if other is None else [m.span() for m in other.finditer(text, lo, hi)],
            [] if least is None else [m.span() for m in least.finditer(text, lo, hi)],
        )
        assert got == expected, name


def test_variants_are_smaller() -> None:
    rules = detector.default_rules()
    latin = rules.for_text("Putin met Xi in Moscow.")
    assert latin is not rules
    assert len(latin.third_parties.pattern) < len(rules.third_parties.pattern)  # type: ignore[union-attr]
    assert rules.for_text("Путин встретился с Си Цзиньпином, 习近平。") is rules
    # "ᲁᲂ" is "до" in old letter forms, which `re` ignoring case matches: Cyrillic patterns stay.
    assert rules.for_text("ᲁᲂ").validity.search("ᲁᲂ")  # type: ignore[union-attr]
    # A stretch of a text (a sentence) gets the variant for its own characters.
    text = "习近平 said: ᲁᲂ"
    assert rules.for_text(text, 0, 9).present == frozenset({"cjk"})
    stretch = rules.for_text(text, 10, 12)
    assert stretch.present == frozenset({"cyrillic"})
    assert stretch.validity.search(text, 10, 12)  # type: ignore[union-attr]
    assert rules.for_text(text, 10, 11).present == frozenset({"cyrillic"})


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_a_left_checked_scanner_matches_like_the_lookbehind(data: st.DataObject) -> None:
    rules = detector.default_rules()
    scanners = [s for pats in rules.companies.values() for s in pats if s.left is not None]
    assert scanners  # the company names are scanned this way
    names = sorted({n for s in scanners for n in _words_of(s.pattern.pattern)})
    glue = st.sampled_from(["", " ", "x", "_", "1", "-", "'", "ж", "名"])
    piece = st.tuples(glue, st.sampled_from(names), glue).map("".join)
    text = data.draw(st.lists(st.one_of(piece, st.text(alphabet=ODD, max_size=2))).map("".join))
    everywhere = frozenset(detector.SCRIPT_PROBE)
    for scanner in scanners:
        plain = re.compile(r"(?<!\w)" + scanner.pattern.pattern, scanner.pattern.flags)
        expected = [m.span() for m in plain.finditer(text)]
        assert [m.span() for m in scanner.finditer(text, everywhere)] == expected


def _words_of(pattern: str) -> list[str]:
    return [w for w in re.split(r"\\[swd][*+?]?|[\\()?*+|\[\]^$:!]", pattern) if w.strip()]


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_trigger_scanners_trying_word_starts_match_like_one_scan(data: st.DataObject) -> None:
    rules = detector.default_rules()
    scanners = [s for s in rules.triggers if s.starts is not None]
    assert {s.script for s in scanners} >= {"latin", "cyrillic"}
    words = sorted({w for s in scanners for w in _words_of(s.pattern.pattern)})
    glue = st.sampled_from(["", " ", "x", "_", "1", "-", "'", "«", "ж", "名", "\n"])
    piece = st.tuples(glue, st.sampled_from(words), glue).map("".join)
    odd = st.text(alphabet=ODD + "ᲀᲁᲂᲃᲄᲅİıſK", max_size=3)
    text = data.draw(st.lists(st.one_of(piece, piece.map(str.upper), odd)).map("".join))
    # from always trying the starts to handing over to one scan at once
    free = data.draw(st.sampled_from([0, 1, 4, 10**6]))
    everywhere = frozenset(detector.SCRIPT_PROBE)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(detector, "STARTS_FREE", free)
        for scanner in scanners:
            expected = [m.span() for m in scanner.pattern.finditer(text)]
            assert [m.span() for m in scanner.finditer(text, everywhere)] == expected


# Openings of every shape the guard reads: optional and repeated pieces, branches, classes,
# assertions, a possessive repeat, and a category that ends an opening early.
GUARDED = [
    r"(?:tele)?phone\w*",
    r"x{0,2}yz",
    r"(?<!Sea of )Japan",
    r"[Cc]onversar\w*",
    r"«?Северное",
    r"(?:is|are)\s+to",
    r"stop(?=s)",
    r"a*+bc",
    r"k\w+",
    r"(?:in|out)(?:side|put)s?",
    r"ſun",
    *(f"w{c}rd{c}" for c in "abcdefghijklmnopqrstu"),
]


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_a_guarded_alternation_matches_like_the_plain_one(data: st.DataObject) -> None:
    assert len(GUARDED) >= detector.DISPATCH_MIN
    assert detector._guard(sorted(GUARDED, key=len, reverse=True)) is not None
    letters = "".join(sorted({c for p in GUARDED for c in p if c.isalpha()}))
    words = st.text(alphabet=letters + letters.upper() + ODD, min_size=1, max_size=10)
    literal = st.sampled_from(GUARDED).map(
        lambda p: re.sub(r"\\[swd][*+?]?|[\\()?*+|\[\]^$<!=:{}0-9,]", "", p)
    )
    text = data.draw(
        st.lists(st.one_of(words, literal, literal.map(str.upper)), max_size=30).map(" ".join)
    )
    parts = sorted(GUARDED, key=len, reverse=True)
    for flags in (re.IGNORECASE, 0):
        plain = re.compile(r"(?<!\w)(?:" + "|".join(f"(?:{p})" for p in parts) + r")(?!\w)", flags)
        guarded = re.compile(detector._compile(GUARDED), flags)
        assert "(?=(?-i:" in guarded.pattern
        assert [m.span() for m in guarded.finditer(text)] == [
            m.span() for m in plain.finditer(text)
        ]


def test_no_abbreviation_is_as_long_as_the_quick_word_test() -> None:
    from sinorus.detect import text

    assert max(len(a.replace(".", "")) for a in text._ABBREVIATIONS) < text._LONG_WORD
    assert [
        s.text for s in split_sentences("Talks approx. ended. They met in the U.S. later.")
    ] == [
        "Talks approx. ended.",
        "They met in the U.S. later.",
    ]


def test_characters_lower_case_within_their_plane() -> None:
    # case_closure reads only the first plane for its letters; this is what lets it
    import _sre
    import sys

    lower = _sre.unicode_tolower
    assert all(lower(c) >> 16 == c >> 16 for c in range(sys.maxunicode + 1))


@pytest.mark.parametrize(
    "letter", ["k", "S", "i", "ß", "в", "Σ", "θ", "Å", "a", "中", "\U00010400"]
)
def test_case_closure_is_what_re_matches_ignoring_case(letter: str) -> None:
    import sys

    from sinorus.detect.patterns import case_closure

    everything = "".join(map(chr, range(sys.maxunicode + 1)))
    matched = {m.start() for m in re.finditer(re.escape(letter), everything, re.IGNORECASE)}
    assert case_closure({ord(letter)}) == matched
