"""What one server process holds for its whole life: settings, secrets in force, the database."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from storage.db import Database
from tollgate.config import Secrets, Settings, resolve_secrets

logger = logging.getLogger("tollgate")


@dataclass
class Runtime:
    settings: Settings
    secrets: Secrets
    database: Database

    @classmethod
    def start(cls, settings: Settings, *, migrate: bool = True) -> Runtime:
        database = Database(settings.effective_database_url, background_checkpoints=True)
        if migrate:
            database.migrate()
        database.start_background_work()
        runtime = cls(settings=settings, secrets=resolve_secrets(settings), database=database)
        runtime.bootstrap()
        return runtime

    def bootstrap(self) -> None:
        """State the environment asks for: the GitLab root user and its token."""
        if self.settings.gitlab_root_token:
            from domain.gitlab.identity import IdentityService

            with self.database.session() as session:
                IdentityService(session).ensure_root(self.settings.gitlab_root_token, now=dt.datetime.now(dt.timezone.utc))
        for name in self.secrets.generated:
            logger.warning("generated %s into %s", name, self.settings.var_dir / name)
