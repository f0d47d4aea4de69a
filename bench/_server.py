"""Helpers shared by the metering benchmarks: a Tollgate server in a subprocess, scratch databases."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Iterator

import httpx

ROOT = Path(__file__).resolve().parent.parent
KEY = "bench-openmeter-key"


def databases() -> list[tuple[str, str]]:
    """(name, base URL) of every database to bench: SQLite always, PostgreSQL when configured."""
    result = [("sqlite", "sqlite")]
    url = os.environ.get("TOLLGATE_BENCH_POSTGRES_URL") or os.environ.get("TOLLGATE_TEST_POSTGRES_URL")
    if url:
        result.append(("postgresql", url))
    return result


@contextlib.contextmanager
def scratch_database(base: str) -> Iterator[str]:
    """A fresh, migrated database URL (a temp SQLite file, or a new PostgreSQL database beside `base`)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from storage.db import Database

    if base == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            url = f"sqlite:///{directory}/bench.db"
            database = Database(url)
            database.migrate()
            database.dispose()
            yield url
        return
    parsed = make_url(base).set(drivername="postgresql+psycopg")
    name = f"tollgate_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(parsed, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = parsed.set(database=name).render_as_string(hide_password=False)
    try:
        database = Database(url)
        database.migrate()
        database.dispose()
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def server(database_url: str) -> Iterator[httpx.Client]:
    """`tollgate serve` on the database in a subprocess; an authenticated client to it."""
    port = _free_port()
    with tempfile.TemporaryDirectory() as var_dir:
        env = {**os.environ, "TOLLGATE_DATABASE_URL": database_url, "TOLLGATE_VAR_DIR": var_dir,
               "TOLLGATE_OPENMETER_API_KEYS": KEY, "TOLLGATE_LOG_LEVEL": "WARNING", "TOLLGATE_SWAGGER_UI": "false"}  # fmt: skip
        # The server's log goes to a file: an undrained pipe would block the server once it filled.
        log = open(Path(var_dir) / "server.log", "w+b")  # noqa: SIM115 - closed below
        process = subprocess.Popen(
            [sys.executable, "-m", "tollgate.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or process.poll() is not None:
                    log.seek(0)
                    raise RuntimeError("server did not start: " + log.read().decode(errors="replace")[-2000:])
                time.sleep(0.1)
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}, timeout=120) as client:
                yield client
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()
