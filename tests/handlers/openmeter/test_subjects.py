"""OpenMeter subjects through the generated client, on every backend."""

from __future__ import annotations

import pytest

from generated.openmeter import models
from generated.runtime import BadRequestError, NotFoundError


def test_upsert_creates_then_changes_only_what_was_sent(om):
    created = om.upsert_subject(body=[{"key": "acme", "displayName": "Acme", "metadata": {"tier": "gold"}}, {"key": "beta"}])
    assert [s.key for s in created] == ["acme", "beta"]
    acme = created[0]
    assert acme.display_name == "Acme" and acme.metadata == {"tier": "gold"}

    updated = om.upsert_subject(body=[models.SubjectUpsert(key="acme", stripe_customer_id="cus_123")])
    assert updated[0].id == acme.id
    assert updated[0].display_name == "Acme"  # not sent, so unchanged
    assert updated[0].stripe_customer_id == "cus_123"

    cleared = om.upsert_subject(body=[{"key": "acme", "displayName": None}])
    assert cleared[0].display_name is None
    assert cleared[0].stripe_customer_id == "cus_123"


def test_upsert_rejects_every_bad_item_and_writes_nothing(om):
    with pytest.raises(BadRequestError) as error:
        om.upsert_subject(body=[{"key": "ok"}, {"key": "x", "stripeCustomerId": "nope"}, {"key": "", "stripeCustomerId": "bad"}])
    # Every problem is reported at once, each naming its item and field.
    problems = error.value.body["extensions"]["validationErrors"]
    assert [p["field"] for p in problems] == ["1[stripeCustomerId]", "2[key]", "2[stripeCustomerId]"]
    assert om.list_subjects() == []


def test_get_by_id_or_key_and_soft_delete(om):
    subject = om.upsert_subject(body=[{"key": "gone"}])[0]
    assert om.get_subject(subject_id_or_key="gone").id == subject.id
    assert om.get_subject(subject_id_or_key=subject.id).key == "gone"

    om.delete_subject(subject_id_or_key="gone")
    with pytest.raises(NotFoundError):
        om.get_subject(subject_id_or_key="gone")
    # Still found by id, marked deleted; deleting again by id is a no-op.
    deleted = om.get_subject(subject_id_or_key=subject.id)
    assert deleted.deleted_at is not None
    om.delete_subject(subject_id_or_key=subject.id)
    assert om.list_subjects() == []

    # The key is free again.
    again = om.upsert_subject(body=[{"key": "gone"}])[0]
    assert again.id != subject.id


def test_list_is_ordered_by_creation(om):
    for key in ("c", "a", "b"):
        om.upsert_subject(body=[{"key": key}])
    assert [s.key for s in om.list_subjects()] == ["c", "a", "b"]


def test_unknown_subject_is_404(om):
    with pytest.raises(NotFoundError) as error:
        om.delete_subject(subject_id_or_key="nobody")
    assert error.value.body["status"] == 404
