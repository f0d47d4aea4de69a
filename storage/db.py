"""Engines, sessions and migrations for the embedded SQLite database and PostgreSQL.

A unit of work is one transaction: `with database.session(write=True) as session: ...` commits when
the block ends and rolls back when it raises. On SQLite a writing unit of work starts with
`BEGIN IMMEDIATE`, so two writers queue on the lock instead of failing when a read lock would have to
be upgraded halfway through.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
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
logger = logging.getLogger("tollgate.storage")
# Without a background checkpointer a connection checkpoints itself every ~40 MB of WAL instead of
# every 4 MB: one ingest batch of 1,000 events writes a few MB, so the default checkpointed after
# nearly every batch (a quarter of its time).
_WAL_AUTOCHECKPOINT_PAGES = 10000


class WalCheckpointer:
    """Checkpoints a SQLite database's WAL from a thread of its own, so requests never do.

    A commit that crosses the autocheckpoint threshold copies the WAL into the database file and
    syncs it before its request can answer; at a sustained ingest rate that is most of a commit. The
    server's connections turn autocheckpointing off and this thread runs a PASSIVE checkpoint (it
    never blocks readers or writers) every `interval` seconds; SQLite releases the GIL while copying,
    so the copy runs beside request handling. A WAL that still grows past `truncate_pages` (readers
    kept it from being copied) is truncated with a blocking checkpoint, which waits for writers.
    """

    def __init__(self, path: str, *, interval: float = 0.25, truncate_pages: int = 65536):
        self.path = path
        self.interval = interval
        self.truncate_pages = truncate_pages
        self.last: tuple[int, int, int] | None = None
        """The latest round's (busy, frames in the WAL, frames of it copied into the database file)."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tollgate-wal-checkpoint", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def checkpoint(self, connection: sqlite3.Connection) -> tuple[int, int, int]:
        """(busy, WAL frames, frames copied) of one PASSIVE checkpoint; TRUNCATE when the WAL is too long."""
        busy, frames, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if frames > self.truncate_pages:
            busy, frames, copied = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return busy, frames, copied

    def _run(self) -> None:
        try:
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        except sqlite3.Error:
            logger.exception("WAL checkpointer: cannot open %s", self.path)
            return
        try:
            while not self._stop.wait(self.interval):
                try:
                    self.last = self.checkpoint(connection)
                except sqlite3.Error as error:  # busy or locked: the next round tries again
                    logger.debug("WAL checkpoint skipped: %s", error)
            self.checkpoint(connection)  # leave a short WAL behind
        except sqlite3.Error:
            pass
        finally:
            connection.close()


def _sqlite_file(url: str) -> str | None:
    database = make_url(url).database
    return database if database and database != ":memory:" else None


def _sqlite_engine(url: str, *, autocheckpoint_pages: int = _WAL_AUTOCHECKPOINT_PAGES) -> Engine:
    path = _sqlite_file(url)
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
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
        cursor.execute(f"PRAGMA wal_autocheckpoint={int(autocheckpoint_pages)}")
        # A 64 MiB page cache (the default is 2 MiB): ingest touches about a thousand leaf pages of each
        # per-subject index per batch, and re-reading them from the OS costs more than keeping them.
        # Memory is taken only as pages are read.
        cursor.execute("PRAGMA cache_size=-65536")
        # A WAL that grew during a burst is cut back to 64 MB once it has been checkpointed.
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
    def __init__(self, url: str, *, background_checkpoints: bool = False):
        """`background_checkpoints`: on a SQLite file, a `WalCheckpointer` thread checkpoints the WAL
        and the connections never do (the server; short-lived tools keep SQLite's own checkpoints)."""
        self.url = url
        self.checkpointer: WalCheckpointer | None = None
        if url.startswith("sqlite"):
            path = _sqlite_file(url)
            if background_checkpoints and path:
                self.checkpointer = WalCheckpointer(path)
            self.engine = _sqlite_engine(url, autocheckpoint_pages=0 if self.checkpointer else _WAL_AUTOCHECKPOINT_PAGES)
        else:
            self.engine = _postgres_engine(url)
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

    def start_background_work(self) -> None:
        """Start the WAL checkpointer, if any (after migrations: they create the database file)."""
        if self.checkpointer is not None:
            self.checkpointer.start()

    def dispose(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.stop()
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
