"""Actor recognition: names, case forms, dated roles, role phrases, titles, places, speed safety."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from sinorus.detect.actors import (
    ActorMention,
    Gazetteer,
    GazetteerError,
    default_gazetteer,
    fold,
    russian_case_forms,
)
from tests.conftest import shared_path


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return default_gazetteer()


def people(gaz: Gazetteer, text: str, on: date | None = None, lang: str | None = None) -> list:
    """(surface, person_id) of every mention that names a person."""
    return [(m.text, m.person_id) for m in gaz.find(text, lang, on) if m.person_id]


def by_text(mentions: list[ActorMention], surface: str) -> ActorMention:
    found = [m for m in mentions if m.text == surface]
    assert found, f"{surface!r} not in {[m.text for m in mentions]}"
    return found[0]


# --- names, aliases, case forms ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "surface", "person_id"),
    [
        ("Russian Defence Minister Sergey Shoygu arrived.", "Sergey Shoygu", "sergei-shoigu"),
        ("Shoigu arrived in Beijing on Monday.", "Shoigu", "sergei-shoigu"),
        ("Lavrov told reporters the talks went well.", "Lavrov", "sergey-lavrov"),
        ("Вчера Шойгу прибыл в Пекин.", "Шойгу", "sergei-shoigu"),
        ("Переговоры с Лавровым прошли в Москве.", "Лавровым", "sergey-lavrov"),
        ("Путин провел переговоры с Си Цзиньпином в Кремле.", "Си Цзиньпином", "xi-jinping"),
        ("Встреча Сергея Лаврова и Ван И", "Сергея Лаврова", "sergey-lavrov"),
        ("Встреча Сергея Лаврова и Ван И", "Ван И", "wang-yi"),
        ("Мишустин встретился с Ли Цяном.", "Ли Цяном", "li-qiang"),
        ("Позиция Марии Захаровой известна.", "Марии Захаровой", "maria-zakharova"),
        ("Министр заявил Белоусову, что …", "Белоусову", "andrei-belousov"),
        ("普京与习近平举行会谈。", "习近平", "xi-jinping"),
        ("普京與習近平舉行會談。", "習近平", "xi-jinping"),
        ("拉夫罗夫抵达北京。", "拉夫罗夫", "sergey-lavrov"),
    ],
)
def test_names_aliases_and_case_forms(gaz: Gazetteer, text: str, surface: str, person_id: str):
    assert (surface, person_id) in people(gaz, text, date(2024, 9, 1))


def test_russian_surname_needs_a_whole_word(gaz: Gazetteer):
    # "Лавровый" (bay laurel) starts like Лавров but is another word
    assert people(gaz, "Лавровый лист и Путинка") == []


def test_declension_routine():
    assert "Сергеем Викторовичем Лавровым" in russian_case_forms("Сергей Викторович Лавров")
    assert "Си Цзиньпином" in russian_case_forms("Си Цзиньпин", origin="CN")
    assert "Чжан Ханьхуэем" in russian_case_forms("Чжан Ханьхуэй", origin="CN")
    assert "Ван Вэньбинем" in russian_case_forms("Ван Вэньбинь", origin="CN")
    assert russian_case_forms("Ван И", origin="CN") == ["Ван И"]
    assert russian_case_forms("Сергей Шойгу")[:2] == ["Сергей Шойгу", "Сергея Шойгу"]
    assert "Татьяной Голиковой" in russian_case_forms("Татьяна Голикова", gender="f")
    assert "Дмитрием Патрушевым" in russian_case_forms("Дмитрий Патрушев")
    assert russian_case_forms("Хуа Чуньин", gender="f", origin="CN") == ["Хуа Чуньин"]
    assert "Иваном Толстым" in russian_case_forms("Иван Толстой")
    assert "Андреем Вяземским" in russian_case_forms("Андрей Вяземский")
    assert "Анной Вяземской" in russian_case_forms("Анна Вяземская", gender="f")
    assert "Игорем Моргуловым" in russian_case_forms("Игорь Моргулов")
    assert "Юрием Ушаковым" in russian_case_forms("Юрий Ушаков")
    assert "Алексеем Оверчуком" in russian_case_forms("Алексей Оверчук")


@pytest.mark.parametrize(
    ("text", "person_id"),
    [
        ("Serguéi Lavrov se reunió con su homólogo.", "sergey-lavrov"),
        ("Il ministro Sergej Lavrov ha incontrato Wang Yi.", "sergey-lavrov"),
        ("El primer ministro Mijaíl Mishustin viajó a Pekín.", "mikhail-mishustin"),
        ("Vladimir Poutine a reçu Xi Jinping.", "vladimir-putin"),
        ("Le président Xi Jinping a reçu Vladimir Poutine.", "xi-jinping"),
        ("Li Qiang incontra Mishustin.", "li-qiang"),
    ],
)
def test_accent_insensitive_latin(gaz: Gazetteer, text: str, person_id: str):
    assert person_id in {pid for _, pid in people(gaz, text, date(2024, 9, 1))}


def test_offsets_point_into_the_original_text(gaz: Gazetteer):
    text = "Встреча с Сергеем Лавровым — «Серге́й» — и Serguéi Lavrov в Пекине."
    for m in gaz.find(text, None, date(2024, 1, 1)):
        assert text[m.start : m.end] == m.text
    assert ("Сергеем Лавровым", "sergey-lavrov") in people(gaz, text, date(2024, 1, 1))


# --- dates ------------------------------------------------------------------------------------


def test_shoigu_role_depends_on_the_date(gaz: Gazetteer):
    text = "Sergei Shoigu met Chinese officials."
    before = by_text(gaz.find(text, "en", date(2023, 5, 1)), "Sergei Shoigu")
    after = by_text(gaz.find(text, "en", date(2025, 5, 1)), "Sergei Shoigu")
    assert (before.role, before.level) == ("defence_minister", "minister")
    assert (after.role, after.level) == ("security_council_secretary", "minister")
    assert after.title == "Secretary of the Security Council"


def test_wang_yi_roles_over_time(gaz: Gazetteer):
    assert gaz.role_on("wang-yi", date(2022, 6, 1))[0] == "foreign_minister"
    assert gaz.role_on("wang-yi", date(2023, 3, 1))[0] == "cfac_office_director"
    both = {r.role for r in gaz.roles_on("wang-yi", date(2024, 3, 1))}
    assert {"foreign_minister", "cfac_office_director"} <= both
    assert gaz.role_on("wang-yi", date(2024, 3, 1))[0] == "foreign_minister"


def test_person_out_of_office_keeps_identity(gaz: Gazetteer):
    m = by_text(gaz.find("Li Keqiang spoke.", "en", date(2024, 1, 1)), "Li Keqiang")
    assert (m.person_id, m.country, m.level, m.role) == ("li-keqiang", "CN", None, None)


def test_highest_level_of_the_day(gaz: Gazetteer):
    assert gaz.role_on("dmitry-medvedev", date(2019, 1, 1))[2] == "head_of_government"
    assert gaz.role_on("dmitry-medvedev", date(2021, 1, 1))[0] == "security_council_deputy_chairman"
    assert gaz.role_on("xi-jinping", date(2024, 1, 1)) is not None
    assert gaz.role_on("xi-jinping", date(2024, 1, 1))[2] == "head_of_state"
    assert gaz.role_on("nobody", date(2024, 1, 1)) is None


# --- role phrases -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "on", "surface", "person_id"),
    [
        (
            "China's top diplomat arrived in Moscow.",
            date(2020, 5, 1),
            "China's top diplomat",
            "yang-jiechi",
        ),
        (
            "China's top diplomat arrived in Moscow.",
            date(2024, 5, 1),
            "China's top diplomat",
            "wang-yi",
        ),
        (
            "The Russian foreign minister said so.",
            date(2024, 5, 1),
            "Russian foreign minister",
            "sergey-lavrov",
        ),
        (
            "Russian Defense Minister visits China",
            date(2023, 4, 16),
            "Russian Defense Minister",
            "sergei-shoigu",
        ),
        (
            "Russian Defence Minister visits China",
            date(2025, 4, 16),
            "Russian Defence Minister",
            "andrei-belousov",
        ),
        ("Сегодня глава МИД КНР прибыл в Москву.", date(2022, 3, 1), "глава МИД КНР", "wang-yi"),
        ("Сегодня глава МИД КНР прибыл в Москву.", date(2023, 4, 1), "глава МИД КНР", "qin-gang"),
        (
            "Визит министра иностранных дел России",
            date(2024, 5, 1),
            "министра иностранных дел России",
            "sergey-lavrov",
        ),
        ("俄罗斯外长表示，", date(2024, 5, 1), "俄罗斯外长", "sergey-lavrov"),
        ("俄外长表示，", date(2024, 5, 1), "俄外长", "sergey-lavrov"),
        ("中国国家主席出席", date(2024, 5, 1), "中国国家主席", "xi-jinping"),
        ("The Kremlin chief said", date(2024, 5, 1), "The Kremlin chief", "vladimir-putin"),
    ],
)
def test_role_phrases_resolve_by_date(
    gaz: Gazetteer, text: str, on: date, surface: str, person_id: str
):
    m = by_text(gaz.find(text, None, on), surface)
    assert m.kind == "role"
    assert m.person_id == person_id


def test_role_phrase_without_a_single_holder(gaz: Gazetteer):
    # several spokespeople serve at once; a vacancy (Oct-Dec 2023) has none
    spokes = by_text(
        gaz.find("A Chinese foreign ministry spokesperson said", "en", date(2024, 5, 1)),
        "Chinese foreign ministry spokesperson",
    )
    assert spokes.person_id is None and spokes.role == "mfa_spokesperson"
    assert spokes.level == "senior_official"
    vacant = by_text(
        gaz.find("China's defence minister was absent", "en", date(2023, 11, 15)),
        "China's defence minister",
    )
    assert vacant.person_id is None and vacant.level == "minister"


def test_role_phrase_and_name_together_are_one_person(gaz: Gazetteer):
    ms = gaz.find("Chinese President Xi Jinping met Putin.", "en", date(2024, 5, 1))
    xi = [m for m in ms if m.person_id == "xi-jinping"]
    assert len(xi) == 1
    assert xi[0].text == "Chinese President Xi Jinping"


# --- titled unknown officials -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name", "country", "level"),
    [
        (
            "Russian Deputy Foreign Minister Ivan Petrov arrived.",
            "Ivan Petrov",
            "RU",
            "senior_official",
        ),
        ("Chinese Vice Premier Zhou Ming said", "Zhou Ming", "CN", "minister"),
        (
            "Russian Ambassador to China Pavel Sidorov said",
            "Pavel Sidorov",
            "RU",
            "senior_official",
        ),
        ("Chinese Commerce Minister Liang Hua told", "Liang Hua", "CN", "minister"),
        ("Russian governor Oleg Kozhemyako signed", "Oleg Kozhemyako", "RU", "working"),
        (
            "замминистра иностранных дел РФ Иван Петров заявил",
            "Иван Петров",
            "RU",
            "senior_official",
        ),
        ("посол КНР в России Чжоу Мин заявил", "Чжоу Мин", "CN", "senior_official"),
        ("российский вице-премьер Иван Петров прибыл", "Иван Петров", "RU", "minister"),
        ("Российский вице-премьер Иван Петров прибыл", "Иван Петров", "RU", "minister"),
        ("Китайский вице-премьер Чжоу Мин прибыл", "Чжоу Мин", "CN", "minister"),
        ("俄罗斯副外长彼得罗夫表示", "彼得罗夫", "RU", "senior_official"),
        ("中国驻俄罗斯大使周明表示", "周明", "CN", "senior_official"),
    ],
)
def test_titled_unknown_officials(gaz: Gazetteer, text: str, name: str, country: str, level: str):
    titled = [m for m in gaz.find(text, None, date(2024, 5, 1)) if m.kind == "titled"]
    assert len(titled) == 1
    m = titled[0]
    assert (m.name, m.country, m.level, m.person_id) == (name, country, level, None)
    assert m.text.endswith(name)


def test_titled_known_official_is_the_person(gaz: Gazetteer):
    ms = gaz.find(
        "Russian Deputy Foreign Minister Andrei Rudenko met Chinese Ambassador to Russia "
        "Zhang Hanhui; замминистра иностранных дел РФ Андрей Руденко",
        None,
        date(2024, 5, 1),
    )
    assert not [m for m in ms if m.kind == "titled"]
    ids = [m.person_id for m in ms if m.kind == "person"]
    assert ids.count("andrei-rudenko") == 2 and "zhang-hanhui" in ids


def test_titled_needs_a_personal_name(gaz: Gazetteer):
    for text in (
        "A Chinese official Xinhua News Agency report said",
        "Russian officials said on Tuesday",
        "Russian Foreign Minister said",
    ):
        assert [m for m in gaz.find(text, "en", date(2024, 5, 1)) if m.kind == "titled"] == []


def test_titled_name_stops_before_a_weekday(gaz: Gazetteer):
    ms = gaz.find(
        "Russian Deputy Foreign Minister Ivan Petrov Tuesday said", "en", date(2024, 5, 1)
    )
    assert by_text(ms, "Russian Deputy Foreign Minister Ivan Petrov").name == "Ivan Petrov"


# --- institutions and countries ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "surface", "kind", "country"),
    [
        ("The Kremlin said the visit is on.", "The Kremlin", "institution", "RU"),
        ("Officials in the Kremlin said", "the Kremlin", "institution", "RU"),
        ("Zhongnanhai declined to comment.", "Zhongnanhai", "institution", "CN"),
        ("The Chinese foreign ministry said", "Chinese foreign ministry", "institution", "CN"),
        ("The Russian side agreed.", "Russian side", "country", "RU"),
        ("the Chinese side agreed", "Chinese side", "country", "CN"),
        ("Sino-Russian ties are strong.", "Sino-Russian", "country", "CNRU"),
        ("Russia-China trade grew.", "Russia-China", "country", "CNRU"),
        ("The PRC and the Russian Federation", "PRC", "country", "CN"),
        ("The PRC and the Russian Federation", "the Russian Federation", "country", "RU"),
        ("Об этом сообщили в Кремле.", "Кремле", "institution", "RU"),
        ("По данным МИД России,", "МИД России", "institution", "RU"),
        ("Российская сторона согласилась", "Российская сторона", "country", "RU"),
        ("российско-китайских отношений", "российско-китайских", "country", "CNRU"),
        ("Китай и Россия подписали", "Китай и Россия", "country", "CNRU"),
        ("КНР заявила", "КНР", "country", "CN"),
        ("РФ заявила", "РФ", "country", "RU"),
        ("外交部发言人表示", "外交部发言人", "role", "CN"),
        ("克里姆林宫表示", "克里姆林宫", "institution", "RU"),
        ("中方愿同俄方一道", "中方", "country", "CN"),
        ("中方愿同俄方一道", "俄方", "country", "RU"),
        ("中俄关系", "中俄", "country", "CNRU"),
        ("在北京举行", "北京", "institution", "CN"),
    ],
)
def test_institutions_and_countries(
    gaz: Gazetteer, text: str, surface: str, kind: str, country: str
):
    m = by_text(gaz.find(text, None, date(2024, 5, 1)), surface)
    assert (m.kind, m.country) == (kind, country)


def test_capitals_and_adjectives_are_weak(gaz: Gazetteer):
    ms = gaz.find("Chinese tourists in Moscow and the Kremlin", "en", date(2024, 5, 1))
    assert by_text(ms, "Chinese").weak and by_text(ms, "Moscow").weak
    assert not by_text(ms, "the Kremlin").weak


def test_lowercase_common_words_are_not_countries(gaz: Gazetteer):
    assert gaz.find("fine china and a russian doll", "en", date(2024, 5, 1)) == []


# --- traps ------------------------------------------------------------------------------------


def test_bare_xi_needs_xi_jinping_in_the_text(gaz: Gazetteer):
    on = date(2024, 5, 1)
    assert people(gaz, "Xi said the talks were useful.", on) == []
    assert people(gaz, "Tourists love Xi'an and its walls.", on) == []
    li_xi = people(gaz, "Li Xi inspected the province.", on)
    assert li_xi == [("Li Xi", "li-xi")]
    with_full = people(gaz, "Xi Jinping met Putin. Xi said the talks were useful.", on)
    assert ("Xi", "xi-jinping") in with_full
    via_role = people(gaz, "President Xi arrived. Later Xi spoke.", on)
    assert ("Xi", "xi-jinping") in via_role


def test_bare_surname_resolves_to_the_nearest_full_name(gaz: Gazetteer):
    text = "Wang Yi met Lavrov. Wang Wenbin briefed reporters. Wang said the visit was useful."
    found = people(gaz, text, date(2023, 1, 1))
    assert found[-1] == ("Wang", "wang-wenbin")
    assert ("Wang Yi", "wang-yi") in found


def test_common_surname_needs_the_full_name(gaz: Gazetteer):
    on = date(2024, 5, 1)
    assert people(gaz, "Борисов заявил журналистам.", on) == []
    found = people(gaz, "Юрий Борисов прибыл в Пекин. Борисов заявил журналистам.", on)
    assert found == [("Юрий Борисов", "yury-borisov"), ("Борисов", "yury-borisov")]


def test_surname_after_another_first_name_is_someone_else(gaz: Gazetteer):
    on = date(2024, 5, 1)
    assert people(gaz, "Теннисист Даниил Медведев выиграл матч.", on) == []
    assert people(gaz, "Встреча с Даниилом Медведевым", on) == []
    assert people(gaz, "Медведев заявил", on) == [("Медведев", "dmitry-medvedev")]
    assert people(gaz, "Daniil Medvedev won; Dmitry Medvedev spoke.", on) == [
        ("Dmitry Medvedev", "dmitry-medvedev")
    ]


def test_pronoun_he_is_not_he_lifeng(gaz: Gazetteer):
    found = people(gaz, "He Lifeng met Novak. He said trade grew.", date(2024, 5, 1))
    assert [pid for s, pid in found if s == "He"] == []


def test_two_character_chinese_names_do_not_match_inside_words(gaz: Gazetteer):
    on = date(2024, 5, 1)
    assert people(gaz, "他毅然决然地王毅然离开", on) == []
    assert people(gaz, "汪洋大海一望无际", on) == []
    assert people(gaz, "钟山风雨起苍黄", on) == []
    assert ("王毅", "wang-yi") in people(gaz, "外长王毅表示", on)
    assert "wang-yi" in {pid for _, pid in people(gaz, "王毅外长会见", on)}
    assert ("王毅", "wang-yi") in people(gaz, "王毅表示，中方愿意", on)
    assert ("李强", "li-qiang") in people(gaz, "国务院总理李强会见", on)
    assert ("李强", "li-qiang") in people(gaz, "（李强）", on)


def test_chinese_role_phrase_of_another_country(gaz: Gazetteer):
    on = date(2024, 5, 1)
    assert people(gaz, "越南国家主席苏林表示", on) == []
    assert people(gaz, "越共中央总书记表示", on) == []
    assert ("国家主席", "xi-jinping") in people(gaz, "国家主席习近平同普京会谈", on)
    assert "xi-jinping" in {pid for _, pid in people(gaz, "会见国家主席", on)}


def test_empty_and_bad_input(gaz: Gazetteer):
    assert gaz.find("", "en", None) == []
    assert gaz.find("   \n\t", "ru", None) == []
    assert gaz.find(None, "en", None) == []  # type: ignore[arg-type]
    assert gaz.canonical_person("") is None
    assert gaz.canonical_person("Nobody Special") is None


# --- canonical identity -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "person_id"),
    [
        ("Sergey Shoigu", "sergei-shoigu"),
        ("Shoygu", "sergei-shoigu"),
        ("Шойгу", "sergei-shoigu"),
        ("Сергеем Шойгу", "sergei-shoigu"),
        ("Serguéi Lavrov", "sergey-lavrov"),
        ("Лавровым", "sergey-lavrov"),
        ("Си Цзиньпином", "xi-jinping"),
        ("習近平", "xi-jinping"),
        ("xi jinping", "xi-jinping"),
        ("sergei-shoigu", "sergei-shoigu"),
        ("Dmitry Patrushev", "dmitry-patrushev"),
        ("Патрушев", "nikolai-patrushev"),
    ],
)
def test_canonical_person(gaz: Gazetteer, name: str, person_id: str):
    assert gaz.canonical_person(name) == person_id


def test_person_entry(gaz: Gazetteer):
    p = gaz.person("sergei-shoigu")
    assert (p.name, p.country) == ("Sergei Shoigu", "RU")
    assert [r.role for r in p.roles] == ["defence_minister", "security_council_secretary"]
    assert all(r.source for r in p.roles)
    with pytest.raises(KeyError):
        gaz.person("nobody")


# --- guard against drift from the reference list -----------------------------------------------


def test_every_reference_official_is_in_the_gazetteer():
    gaz = default_gazetteer()
    officials = yaml.safe_load(shared_path("reference", "officials.yaml").read_text("utf-8"))
    assert len(officials["people"]) >= 90
    for ref in officials["people"]:
        ours = gaz.person(ref["id"])
        assert ours.country == ref["country"]
        assert [(r.start, r.end, r.level) for r in ours.roles] == [
            (r["start"], r.get("end"), r["level"]) for r in ref["roles"]
        ], ref["id"]
        for lang, names in ref["names"].items():
            for name in names:
                assert gaz.canonical_person(name) == ref["id"], (lang, name)


def test_every_reference_role_phrase_resolves_like_the_reference():
    gaz = default_gazetteer()
    officials = yaml.safe_load(shared_path("reference", "officials.yaml").read_text("utf-8"))
    for entry in officials["role_phrases"]:
        holders = entry["holders"]
        if len(holders) != len({h["id"] for h in holders}) or entry["key"].endswith("spokesperson"):
            continue  # several at once: the phrase alone names nobody
        phrase = entry["phrases"]["en"][0]
        for h in holders:
            # the day after taking office: on a hand-over day the outgoing holder still counts
            day = max(h["start"] + timedelta(days=1), date(2018, 6, 1))
            if h["end"] is not None and day >= h["end"]:
                continue
            found = [
                m for m in gaz.find(f"Yesterday {phrase} spoke.", "en", day) if m.kind == "role"
            ]
            assert found and found[0].person_id == h["id"], (entry["key"], phrase, day)


# --- speed safety -----------------------------------------------------------------------------


def test_one_megabyte_of_text(gaz: Gazetteer):
    sentence = "Chinese President Xi Jinping met Russian President Vladimir Putin in Moscow. "
    text = sentence * (1_000_000 // len(sentence))
    ms = gaz.find(text, "en", date(2024, 5, 1))
    per = len(text) // len(sentence)
    named = [m.person_id for m in ms if m.kind == "person"]
    assert named.count("xi-jinping") == per
    assert named.count("vladimir-putin") == per
    assert len([m for m in ms if m.kind == "role" and m.person_id == "vladimir-putin"]) == per


@pytest.mark.parametrize(
    "text",
    [
        "a" * 1_000_000,
        "Сергей " * 150_000,
        "中" * 500_000,
        "Russian Deputy Foreign Minister " * 30_000,
        "Russian Deputy Foreign Minister Aaaa " * 25_000,
        "посол КНР в России " * 50_000,
        "Sino-" * 200_000,
    ],
)
def test_adversarial_input_finishes(gaz: Gazetteer, text: str):
    ms = gaz.find(text, None, date(2024, 5, 1))
    assert all(m.kind in {"institution", "country", "role", "titled"} for m in ms)


# --- data loading -----------------------------------------------------------------------------


def test_bad_data_gives_a_clear_error(tmp_path: Path):
    bad = tmp_path / "actors.yaml"
    bad.write_text(
        "roles:\n  president: {title: President, level: head_of_state}\n"
        "people:\n  - id: x\n    name: X\n    country: CN\n"
        "    roles:\n      - {role: nonsense, level: minister, start: 2020-01-01}\n",
        encoding="utf-8",
    )
    with pytest.raises(GazetteerError, match="unknown role key"):
        Gazetteer.load(bad)
    bad.write_text("people: [", encoding="utf-8")
    with pytest.raises(GazetteerError, match="cannot read"):
        Gazetteer.load(bad)


def test_operator_file_loads(tmp_path: Path):
    own = tmp_path / "actors.yaml"
    own.write_text(
        "roles:\n  governor: {title: Governor, level: working}\n"
        "people:\n  - id: ivan-testov\n    name: Ivan Testov\n    country: RU\n"
        "    en: [Ivan Testov]\n    ru: [Иван Тестов]\n"
        "    roles:\n      - {role: governor, level: working, start: 2020-01-01, end: null}\n",
        encoding="utf-8",
    )
    gaz = Gazetteer.load(own)
    assert people(gaz, "Встреча с Иваном Тестовым", date(2024, 1, 1)) == [
        ("Иваном Тестовым", "ivan-testov")
    ]
    m = gaz.find("Ivan Testov spoke", "en", date(2024, 1, 1))[0]
    assert (m.role, m.level) == ("governor", "working")


def test_operator_path_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    from sinorus.detect.actors import DATA_DIR, actors_path

    monkeypatch.delenv("SINORUS_ACTORS", raising=False)
    assert actors_path() == DATA_DIR
    monkeypatch.setenv("SINORUS_ACTORS", str(tmp_path / "mine.yaml"))
    assert actors_path() == tmp_path / "mine.yaml"


def test_fold_keeps_length():
    text = "Serguéi Лавро́в — Ёлка’s «test»\u00a0x"
    assert len(fold(text)) == len(text)
    assert fold("Serguéi") == "Serguei"
