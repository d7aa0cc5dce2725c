"""A connection the server drops mid-stage: the stage reports the server's error, not a
follow-on one from cleaning up."""

from __future__ import annotations

import psycopg2
import pytest

from sinorus import db as sdb
from sinorus import events
from tests.reliability.support import query

pytestmark = pytest.mark.integration


def test_a_dropped_connection_surfaces_the_servers_error(db, database_url: str) -> None:
    conn = sdb.connect(database_url)
    query(db, "SELECT pg_terminate_backend(%s)", conn.get_backend_pid())
    with pytest.raises(psycopg2.Error) as err:
        events.detect_pending(conn)
    # db.transaction rolls back on error; on a connection the server closed that rollback
    # raises InterfaceError("connection already closed"), hiding why the stage failed.
    assert isinstance(err.value, psycopg2.OperationalError), (
        f"{type(err.value).__name__}: {err.value}"
    )
    assert "terminat" in str(err.value) or "closed" in str(err.value)
