"""Progress of long-running work a client tracks by an id it chose (`getProgress`).

OpenMeter reports progress of meter queries started with a `clientId`. Tollgate's queries run in one
request, so the progress of a finished query is complete (`success == total`); callers record it with
`ProgressService.record` and clients read it back by the same id. An id never recorded is 404.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from domain.errors import NotFoundError

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Progress:
    id: str
    success: int
    failed: int
    total: int
    updated_at: dt.datetime


class ProgressService:
    def __init__(self, session: Session):
        from storage.portal_tokens import ProgressRepository

        self.progress = ProgressRepository(session)

    def get(self, progress_id: str) -> Progress:
        progress = self.progress.get(progress_id)
        if progress is None:
            raise NotFoundError(f"progress not found: {progress_id}", resource="Progress")
        return progress

    def record(self, progress_id: str, *, success: int, failed: int = 0, total: int | None = None, now: dt.datetime) -> Progress:
        progress = Progress(id=progress_id, success=success, failed=failed,
                            total=total if total is not None else success + failed, updated_at=now)  # fmt: skip
        self.progress.save(progress)
        return progress
