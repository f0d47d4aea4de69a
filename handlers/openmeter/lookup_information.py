"""OpenMeter `Lookup Information` operations: supported currencies, progress of client-tracked work."""

from __future__ import annotations

from domain.currencies import list_currencies as known_currencies
from domain.progress import ProgressService
from generated.openmeter import models
from tollgate.context import RequestContext


def list_currencies(ctx: RequestContext) -> list[models.Currency]:
    return [
        models.Currency(code=currency.code, name=currency.name, symbol=currency.symbol, subunits=currency.subunits)
        for currency in known_currencies()
    ]


def get_progress(ctx: RequestContext, *, id_: str) -> models.Progress:
    progress = ProgressService(ctx.session).get(id_)
    return models.Progress(success=progress.success, failed=progress.failed, total=progress.total, updated_at=progress.updated_at)
