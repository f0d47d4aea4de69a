"""OpenMeter `Subjects` operations: decode into generated models, call the domain, encode."""

from __future__ import annotations

from domain.subjects import Subject, SubjectService, SubjectUpsert
from generated.openmeter import models
from handlers._decoding import decode
from tollgate.context import RequestContext


def _to_api(subject: Subject) -> models.Subject:
    return models.Subject(
        id=subject.id,
        key=subject.key,
        display_name=subject.display_name,
        metadata=subject.metadata or {},
        stripe_customer_id=subject.stripe_customer_id,
        current_period_start=subject.current_period_start,
        current_period_end=subject.current_period_end,
        created_at=subject.created_at,
        updated_at=subject.updated_at,
        deleted_at=subject.deleted_at,
    )


def list_subjects(ctx: RequestContext) -> list[models.Subject]:
    return [_to_api(subject) for subject in SubjectService(ctx.session).list()]


def upsert_subject(ctx: RequestContext, *, body: list[dict]) -> list[models.Subject]:
    items = []
    for index, raw in enumerate(body):
        upsert = decode(models.SubjectUpsert, raw, field=f"[{index}]")
        changes = {name: getattr(upsert, name) for name in upsert.model_fields_set if name != "key"}
        items.append(SubjectUpsert(key=upsert.key, changes=changes))
    return [_to_api(subject) for subject in SubjectService(ctx.session).upsert(items, now=ctx.now)]


def get_subject(ctx: RequestContext, *, subject_id_or_key: str) -> models.Subject:
    return _to_api(SubjectService(ctx.session).get(subject_id_or_key))


def delete_subject(ctx: RequestContext, *, subject_id_or_key: str) -> None:
    SubjectService(ctx.session).delete(subject_id_or_key, now=ctx.now)
