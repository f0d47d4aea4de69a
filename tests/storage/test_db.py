"""The SQLite engine settings and the server's background WAL checkpointer."""

from __future__ import annotations

import time

from sqlalchemy import text

from storage.db import Database


def _autocheckpoint(database: Database) -> int:
    with database.engine.connect() as connection:
        return connection.execute(text("PRAGMA wal_autocheckpoint")).scalar()


def test_the_server_checkpoints_the_wal_in_its_own_thread(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'server.db'}", background_checkpoints=True)
    with database.session() as session:  # creates the file
        session.execute(text("CREATE TABLE scratch (id INTEGER PRIMARY KEY, body TEXT)"))
    database.start_background_work()
    try:
        assert _autocheckpoint(database) == 0  # requests never checkpoint
        with database.session() as session:
            session.execute(text("INSERT INTO scratch (body) VALUES (:body)"), [{"body": "x" * 1000}] * 500)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            last = database.checkpointer.last
            if last and last[1] > 0 and last[2] == last[1]:
                break
            time.sleep(0.05)
        busy, frames, copied = database.checkpointer.last
        assert frames > 0 and copied == frames  # everything written reached the database file
    finally:
        database.dispose()
    assert not database.checkpointer._thread.is_alive()


def test_tools_keep_sqlites_own_checkpoints(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'tool.db'}")
    try:
        assert database.checkpointer is None
        assert _autocheckpoint(database) == 10000
    finally:
        database.dispose()
