"""Alembic environment: migrations run at start (`tollgate serve`) and with `tollgate migrate`.

Each domain keeps its own branch of revisions (branch labels `metering`, `credit`, `gitlab`, ...), so
work on one domain never collides with another's revision chain; `upgrade heads` runs them all.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

import storage.all_tables  # noqa: F401 - registers every table on Base.metadata
from storage.base import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        url = config.get_main_option("sqlalchemy.url")
        if not url:
            raise RuntimeError("no database: pass an engine or set sqlalchemy.url")
        engine = create_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        if connection.in_transaction():
            connection.commit()


run_migrations()
