"""Shared fixtures: a real PostgreSQL database per test session, loopback servers."""

from __future__ import annotations

# Airflow reads its settings once, at first import: set them before anything imports it.
import tests.airflow_env  # noqa: F401  isort: skip

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from sinorus import db as sdb
from tests.support import figures
from tests.support.servers import LocalServer

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def shared_path(*parts: str) -> Path:
    """A file of ../shared; tests that need it skip with this reason on a user's clone."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs ../shared/{'/'.join(parts)} (present in CI, absent in a user's clone)")
    return path


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # the controller, not an xdist worker
        figures.clear()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = figures.collected()
    if lines:
        terminalreporter.section("figures measured by the tests")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def admin_url() -> str:
    url = os.environ.get("SINORUS_TEST_ADMIN_URL")
    if url:
        return url
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "ensure_postgres.py")],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        pytest.fail(f"no PostgreSQL for the tests: {out.stderr.strip()}")
    return out.stdout.strip()


@pytest.fixture(scope="session")
def database_url(admin_url: str) -> Iterator[str]:
    """A fresh database, migrated, dropped at the end of the session."""
    name = f"sinorus_test_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}" ENCODING UTF8 TEMPLATE template0')
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    conn = sdb.connect(url)
    sdb.migrate(conn)
    conn.close()
    previous = os.environ.get("SINORUS_DATABASE_URL")
    os.environ["SINORUS_DATABASE_URL"] = url
    try:
        yield url
    finally:
        if previous is None:
            os.environ.pop("SINORUS_DATABASE_URL", None)
        else:
            os.environ["SINORUS_DATABASE_URL"] = previous
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def db(database_url: str) -> Iterator[psycopg2.extensions.connection]:
    """A connection to the test database with every table emptied first."""
    conn = sdb.connect(database_url)
    with sdb.transaction(conn) as cur:
        cur.execute(
            "SELECT string_agg(format('%I', tablename), ', ') FROM pg_tables "
            "WHERE schemaname = 'public' AND tablename <> 'schema_migrations'"
        )
        tables = cur.fetchone()[0]
        if tables:
            cur.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture
def server() -> Iterator[LocalServer]:
    srv = LocalServer().start()
    try:
        yield srv
    finally:
        srv.stop()
