"""Engines, sessions and migrations for the embedded SQLite database and PostgreSQL.

A unit of work is one transaction: `with database.session(write=True) as session: ...` commits when
the block ends and rolls back when it raises. On SQLite a writing unit of work starts with
`BEGIN IMMEDIATE`, so two writers queue on the lock instead of failing when a read lock would have to
be upgraded halfway through.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from storage.types import register_sqlite_functions

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _sqlite_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=10, max_overflow=20)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Hand transaction control to SQLAlchemy's "begin" event below instead of pysqlite.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a committed transaction survives a killed process (not a power cut).
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Checkpoint every ~40 MB of WAL instead of every 4 MB: one ingest batch of 1,000 events writes
        # a few MB, so the default checkpointed after nearly every batch (a quarter of its time).
        # journal_size_limit then truncates the WAL back after a checkpoint.
        cursor.execute("PRAGMA wal_autocheckpoint=10000")
        cursor.execute("PRAGMA journal_size_limit=67108864")
        cursor.close()
        register_sqlite_functions(dbapi_connection)

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _postgres_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, pool_size=10, max_overflow=20, pool_pre_ping=True)


class Database:
    def __init__(self, url: str):
        self.url = url
        self.engine = _sqlite_engine(url) if url.startswith("sqlite") else _postgres_engine(url)
        self._read_sessions = sessionmaker(self.engine, expire_on_commit=False)
        writer = self.engine.execution_options(sqlite_begin="IMMEDIATE") if self.dialect == "sqlite" else self.engine
        self._write_sessions = sessionmaker(writer, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextlib.contextmanager
    def session(self, *, write: bool = True) -> Iterator[Session]:
        factory = self._write_sessions if write else self._read_sessions
        with factory() as session, session.begin():
            yield session

    def ping(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except Exception:  # readiness answers "no", it does not crash
            return False

    def dispose(self) -> None:
        self.engine.dispose()

    # --- migrations -----------------------------------------------------------------------
    def alembic_config(self) -> Config:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.attributes["engine"] = self.engine
        return config

    def is_current(self) -> bool:
        """True when every migration branch is at its head (cheap: no script is imported)."""
        heads = set(ScriptDirectory.from_config(self.alembic_config()).get_heads())
        with self.engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
        return current == heads

    def migrate(self) -> None:
        """Bring every migration branch to its head (`alembic upgrade heads`)."""
        if not self.is_current():
            command.upgrade(self.alembic_config(), "heads")
