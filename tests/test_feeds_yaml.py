"""The shipped default feed list is well-formed data."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from sinorus import settings
from sinorus.feeds import load_feed_list

FEEDS_YAML = settings.DATA_DIR / "feeds.yaml"
LANGS = {"en", "ru", "zh", "uk", "ja", "ko", "de", "fr"}


@pytest.fixture(scope="module")
def entries() -> list[dict[str, Any]]:
    doc = yaml.safe_load(FEEDS_YAML.read_text(encoding="utf-8"))
    assert isinstance(doc, dict) and isinstance(doc.get("feeds"), list)
    return doc["feeds"]


def test_every_entry_has_name_url_and_language(entries: list[dict[str, Any]]) -> None:
    for entry in entries:
        assert set(entry) <= {"name", "url", "lang", "enabled", "tags"}, entry
        assert isinstance(entry["name"], str) and entry["name"].strip(), entry
        parts = urlsplit(entry["url"])
        assert parts.scheme in {"http", "https"} and parts.netloc, entry
        assert " " not in entry["url"], f"query not URL-encoded: {entry['url']}"
        assert entry["lang"] in LANGS, entry
        assert isinstance(entry.get("enabled", True), bool), entry
        tags = entry.get("tags", [])
        assert isinstance(tags, list) and all(isinstance(t, str) for t in tags), entry


def test_names_and_urls_are_unique(entries: list[dict[str, Any]]) -> None:
    names = [e["name"] for e in entries]
    urls = [e["url"] for e in entries]
    assert len(set(names)) == len(names), sorted({n for n in names if names.count(n) > 1})
    assert len(set(urls)) == len(urls), sorted({u for u in urls if urls.count(u) > 1})


def test_the_list_covers_three_languages_and_both_sides(entries: list[dict[str, Any]]) -> None:
    assert 50 <= len(entries) <= 80
    langs = {e["lang"] for e in entries}
    assert {"en", "ru", "zh"} <= langs
    tags = {t for e in entries for t in e.get("tags", [])}
    assert {"cn", "ru", "google-news"} <= tags
    google = [e for e in entries if "google-news" in e.get("tags", [])]
    assert {e["lang"] for e in google} == {"en", "ru", "zh"}


def test_the_feed_loader_accepts_the_shipped_list(entries: list[dict[str, Any]]) -> None:
    specs = load_feed_list(FEEDS_YAML)
    assert [s.url for s in specs] == [e["url"] for e in entries]
