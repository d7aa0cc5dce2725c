"""Feed health as operators and analysts read it."""

from __future__ import annotations

from typing import Any

import psycopg2.extensions
import psycopg2.extras

FEED_HEALTH = """
SELECT f.id, f.name, f.url, f.lang, f.enabled, f.last_status, f.http_status,
       f.consecutive_failures, f.last_checked_at, f.last_ok_at, f.last_new_at, f.next_due_at,
       f.last_error,
       (SELECT count(*) FROM articles a
         WHERE a.feed_id = f.id AND a.fetched_at > now() - interval '1 day') AS new_24h
FROM feeds f
ORDER BY f.enabled DESC, f.consecutive_failures DESC, f.name
"""


def feed_health(conn: psycopg2.extensions.connection) -> list[dict[str, Any]]:
    with conn, conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute(FEED_HEALTH)
        return [dict(row) for row in cur.fetchall()]
