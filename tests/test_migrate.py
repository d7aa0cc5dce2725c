from __future__ import annotations

import uuid
from pathlib import Path

import psycopg2
import pytest

from sinorus import db as sdb

pytestmark = pytest.mark.integration


def test_migrate_is_idempotent_and_tracks_versions(db, tmp_path: Path) -> None:
    assert sdb.migrate(db) == []  # the session fixture applied everything already
    with db.cursor() as cur:
        cur.execute("SELECT version FROM schema_migrations ORDER BY version")
        versions = [r[0] for r in cur.fetchall()]
    assert versions == [m.version for m in sdb.migrations()]
    with db.cursor() as cur:
        for table in ("feeds", "fetch_log", "articles", "event_mentions", "events", "alerts"):
            cur.execute(f"SELECT count(*) FROM {table}")


def test_migrate_refuses_edited_file_and_rolls_back_a_failing_one(
    admin_url: str, tmp_path: Path
) -> None:
    name = f"sinorus_scratch_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn = sdb.connect(admin_url.rsplit("/", 1)[0] + "/" + name)
    try:
        sql = tmp_path / "sql"
        sql.mkdir()
        (sql / "0001_probe.sql").write_text("CREATE TABLE migrate_probe (id int);\n")
        assert sdb.migrate(conn, sql) == ["0001_probe.sql"]
        assert sdb.migrate(conn, sql) == []
        (sql / "0001_probe.sql").write_text("CREATE TABLE migrate_probe (id bigint);\n")
        with pytest.raises(sdb.MigrationError, match="edited"):
            sdb.migrate(conn, sql)
        (sql / "0001_probe.sql").write_text("CREATE TABLE migrate_probe (id int);\n")
        (sql / "0002_broken.sql").write_text("CREATE TABLE half (id int); SELECT nonsense;\n")
        with pytest.raises(psycopg2.Error, match="nonsense"):
            sdb.migrate(conn, sql)
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass('half')")
            assert cur.fetchone()[0] is None
            cur.execute("SELECT count(*) FROM schema_migrations")
            assert cur.fetchone()[0] == 1
        (sql / "bad-name.sql").write_text("")
        with pytest.raises(sdb.MigrationError, match="NNNN"):
            sdb.migrate(conn, sql)
    finally:
        conn.close()
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.close()
