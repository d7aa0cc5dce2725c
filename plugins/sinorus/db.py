"""PostgreSQL connections and the numbered-migration runner."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import psycopg2.extensions
import psycopg2.extras

from sinorus import settings

log = logging.getLogger(__name__)

MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# Any fixed 64-bit number works; it only has to be the same for every migrating process.
MIGRATION_LOCK = 0x51_70_2D_57_41_54_43_48


class ConfigError(RuntimeError):
    """The database (or another setting) is not configured; the message says how to fix it."""


def database_url() -> str:
    """SINORUS_DATABASE_URL, else the Airflow connection `sinorus_db`."""
    url = settings.env("SINORUS_DATABASE_URL")
    if url:
        return url
    try:
        from airflow.sdk import BaseHook

        conn = BaseHook.get_connection("sinorus_db")
    except Exception as exc:  # Airflow absent, or no such connection: both mean "not configured"
        raise ConfigError(
            "no database configured: set SINORUS_DATABASE_URL "
            "(e.g. postgresql://user@127.0.0.1:5432/sinorus) or create the Airflow "
            "connection 'sinorus_db'"
        ) from exc
    uri: str = conn.get_uri()
    return re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql://", uri)


def connect(url: str | None = None) -> psycopg2.extensions.connection:
    conn = psycopg2.connect(url or database_url(), connect_timeout=10)
    conn.set_client_encoding("UTF8")
    return conn


@contextmanager
def transaction(
    conn: psycopg2.extensions.connection,
) -> Iterator[psycopg2.extensions.cursor]:
    """A cursor whose work commits together or not at all."""
    try:
        with conn.cursor() as cur:
            yield cur
        conn.commit()
    except BaseException:
        # A connection the server dropped cannot roll back; the original error is the news.
        if not conn.closed:
            conn.rollback()
        raise


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


class MigrationError(RuntimeError):
    pass


def migrations(directory: Path | None = None) -> list[Migration]:
    directory = directory or settings.sql_dir()
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = MIGRATION_NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNNN_words.sql")
        found.append(Migration(match.group(1), path.name, path))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migrations share a number in {directory}")
    return found


def migrate(conn: psycopg2.extensions.connection, directory: Path | None = None) -> list[str]:
    """Apply pending migrations, each in its own transaction; return the names applied."""
    available = migrations(directory)
    with transaction(conn) as cur:
        cur.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
    applied_now: list[str] = []
    for migration in available:
        with transaction(conn) as cur:
            # Serialise concurrent migrators (two DAG runs, compose init and a CLI).
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            cur.execute(
                "SELECT name, checksum FROM schema_migrations WHERE version = %s",
                (migration.version,),
            )
            row = cur.fetchone()
            if row is not None:
                if row[1] != migration.checksum:
                    raise MigrationError(
                        f"{migration.name} was edited after it was applied (as {row[0]}); "
                        "schema changes go in a new numbered migration"
                    )
                continue
            cur.execute(migration.path.read_text(encoding="utf-8"))
            cur.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                (migration.version, migration.name, migration.checksum),
            )
            applied_now.append(migration.name)
            log.info("applied migration %s", migration.name)
    return applied_now
