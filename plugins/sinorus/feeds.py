"""The feed list (YAML data) and each feed's polling schedule and health."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg2.extensions
import psycopg2.extras
import yaml

from sinorus import settings

POLL_INTERVAL = timedelta(minutes=10)
# A failing feed waits longer after each failure, but never more than this: it is never dropped.
MAX_BACKOFF = timedelta(hours=6)
# A feed's own TTL or Cache-Control is honoured up to this much; news should not wait a day.
MAX_TTL = timedelta(hours=2)
# A run started a little before a feed's due time still polls it.
DUE_GRACE = timedelta(seconds=90)


class FeedListError(ValueError):
    """The feed list cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class FeedSpec:
    name: str
    url: str
    lang: str | None = None
    enabled: bool = True
    tags: tuple[str, ...] = field(default_factory=tuple)


def load_feed_list(path: str | Path | None = None) -> list[FeedSpec]:
    """Read and validate a feed list: `feeds:` of {name, url, lang, enabled?, tags?}."""
    source = settings.feeds_path(path)
    try:
        doc = settings.parse_yaml(source.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise FeedListError(f"{source}: cannot read feed list: {exc}") from exc
    items = doc.get("feeds") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise FeedListError(f"{source}: expected a list of feeds under 'feeds:'")
    specs: list[FeedSpec] = []
    seen: set[str] = set()
    for index, item in enumerate(items, 1):
        specs.append(_spec(item, f"{source}: feed #{index}"))
        if specs[-1].url in seen:
            raise FeedListError(f"{source}: feed #{index}: duplicate url {specs[-1].url}")
        seen.add(specs[-1].url)
    return specs


def _spec(item: Any, where: str) -> FeedSpec:
    if not isinstance(item, dict):
        raise FeedListError(f"{where}: expected a mapping with name, url, lang")
    url, name = item.get("url"), item.get("name")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise FeedListError(f"{where}: 'url' must be an http(s) URL, got {url!r}")
    if not isinstance(name, str) or not name.strip():
        raise FeedListError(f"{where}: 'name' is required")
    tags = item.get("tags") or []
    if not isinstance(tags, list):
        raise FeedListError(f"{where}: 'tags' must be a list")
    lang = item.get("lang")
    return FeedSpec(
        name=name.strip(),
        url=url.strip(),
        lang=str(lang).lower() if lang else None,
        enabled=bool(item.get("enabled", True)),
        tags=tuple(str(t) for t in tags),
    )


def sync_feeds(conn: psycopg2.extensions.connection, specs: Sequence[FeedSpec]) -> dict[str, int]:
    """Make the feeds table match the list; feeds dropped from it are disabled, not deleted."""
    with conn, conn.cursor() as cur:
        psycopg2.extras.execute_values(
            cur,
            "INSERT INTO feeds (url, name, lang, enabled, tags) VALUES %s "
            "ON CONFLICT (url) DO UPDATE SET name = EXCLUDED.name, lang = EXCLUDED.lang, "
            "enabled = EXCLUDED.enabled, tags = EXCLUDED.tags, updated_at = now() "
            "WHERE (feeds.name, feeds.lang, feeds.enabled, feeds.tags) IS DISTINCT FROM "
            "(EXCLUDED.name, EXCLUDED.lang, EXCLUDED.enabled, EXCLUDED.tags)",
            [(s.url, s.name, s.lang, s.enabled, list(s.tags)) for s in specs],
        )
        cur.execute(
            "UPDATE feeds SET enabled = false, updated_at = now() "
            "WHERE enabled AND NOT (url = ANY(%s))",
            ([s.url for s in specs],),
        )
        dropped = cur.rowcount
        cur.execute("SELECT count(*) FILTER (WHERE enabled), count(*) FROM feeds")
        enabled, total = cur.fetchone()
    return {"listed": len(specs), "enabled": enabled, "total": total, "dropped": dropped}


def due_feed_ids(
    conn: psycopg2.extensions.connection, now: datetime, *, force: bool = False
) -> list[int]:
    """Enabled feeds due for a poll (every enabled feed with force), longest-waiting first."""
    with conn, conn.cursor() as cur:
        cur.execute(
            "SELECT id FROM feeds WHERE enabled AND "
            "(%s OR next_due_at IS NULL OR next_due_at <= %s) "
            "ORDER BY next_due_at NULLS FIRST, id",
            (force, now + DUE_GRACE),
        )
        return [row[0] for row in cur.fetchall()]


def next_due(
    now: datetime,
    *,
    failures: int,
    ttl_seconds: int | None,
    interval: timedelta = POLL_INTERVAL,
    rng: random.Random | None = None,
) -> datetime:
    """When to poll a feed next: its TTL when healthy, doubling back-off when failing."""
    rng = rng or random.Random()  # noqa: S311 - jitter, not security
    if failures > 0:
        wait = min(interval * (2 ** min(failures, 16)), MAX_BACKOFF)
    else:
        wait = interval
        if ttl_seconds:
            wait = max(wait, min(timedelta(seconds=ttl_seconds), MAX_TTL))
    # Spread polls so that feeds added together do not keep firing together.
    due: datetime = now + wait * rng.uniform(0.9, 1.1)
    return due


def batches(ids: Sequence[int], size: int) -> list[list[int]]:
    """Split feed ids into batches for mapped fetch tasks."""
    size = max(1, size)
    return [list(ids[i : i + size]) for i in range(0, len(ids), size)]
