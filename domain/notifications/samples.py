"""Canned payloads of test events (testNotificationRule), one per rule type, with fixed sample ids.

As the reference does: an entitlement of feature `test_feature_1` for subject `test-subject-1` with
balance 10000, usage 5001 and a 50 PERCENT threshold; invoice events simulate invoice `TEST-INV-1`
of a fake "Test Customer". (The reference's `test-feature-1` is not a valid feature key; ours is.)
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from domain.notifications.model import RULE_BALANCE_THRESHOLD, RULE_ENTITLEMENT_RESET, RULE_INVOICE_CREATED, RULE_INVOICE_UPDATED

SAMPLE_FEATURE_ID = "01J0TESTFEATVRE00000000001"
SAMPLE_ENTITLEMENT_ID = "01J0TESTENT1T1EMENT0000001"
SAMPLE_SUBJECT_ID = "01J0TESTSVBJECT00000000001"
SAMPLE_INVOICE_ID = "01J0TEST1NV01CE00000000001"
SAMPLE_PROFILE_ID = "01J0TESTPR0F11E00000000001"
SAMPLE_CUSTOMER_ID = "01J0TESTCVST0MER0000000001"
SAMPLE_FEATURE_KEY = "test_feature_1"
SAMPLE_SUBJECT_KEY = "test-subject-1"


def rfc3339(value: dt.datetime) -> str:
    text = value.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def _month_start(now: dt.datetime) -> dt.datetime:
    return now.astimezone(dt.timezone.utc).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _next_month(start: dt.datetime) -> dt.datetime:
    return start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)


def entitlement_data(now: dt.datetime) -> dict[str, Any]:
    start = _month_start(now)
    stamp, period_start, period_end = rfc3339(now), rfc3339(start), rfc3339(_next_month(start))
    return {
        "entitlement": {
            "type": "metered", "id": SAMPLE_ENTITLEMENT_ID, "createdAt": stamp, "updatedAt": stamp,
            "activeFrom": period_start, "subjectKey": SAMPLE_SUBJECT_KEY, "featureKey": SAMPLE_FEATURE_KEY,
            "featureId": SAMPLE_FEATURE_ID, "lastReset": period_start, "measureUsageFrom": period_start,
            "currentUsagePeriod": {"from": period_start, "to": period_end},
            "usagePeriod": {"interval": "MONTH", "intervalISO": "P1M", "anchor": period_start},
            "isSoftLimit": False, "isUnlimited": False,
        },
        "feature": {"id": SAMPLE_FEATURE_ID, "key": SAMPLE_FEATURE_KEY, "name": "Test feature", "createdAt": stamp, "updatedAt": stamp},
        "subject": {"id": SAMPLE_SUBJECT_ID, "key": SAMPLE_SUBJECT_KEY, "displayName": "Test Subject", "createdAt": stamp, "updatedAt": stamp},
        "value": {"hasAccess": True, "balance": 10000, "usage": 5001, "overage": 0},
    }  # fmt: skip


def invoice_data(now: dt.datetime) -> dict[str, Any]:
    stamp = rfc3339(now)
    zero = "0"
    return {
        "id": SAMPLE_INVOICE_ID, "type": "standard", "number": "TEST-INV-1", "currency": "USD", "status": "draft",
        "createdAt": stamp, "updatedAt": stamp,
        "supplier": {"name": "Test Supplier"},
        "customer": {"id": SAMPLE_CUSTOMER_ID, "name": "Test Customer", "usageAttribution": {"subjectKeys": [SAMPLE_SUBJECT_KEY]}},
        "totals": {"amount": zero, "chargesTotal": zero, "discountsTotal": zero, "taxesInclusiveTotal": zero,
                   "taxesExclusiveTotal": zero, "taxesTotal": zero, "total": zero},
        "statusDetails": {"immutable": False, "failed": False, "extendedStatus": "draft.created", "availableActions": {}},
        "workflow": {"sourceBillingProfileId": SAMPLE_PROFILE_ID, "workflow": {}},
    }  # fmt: skip


def test_payload_data(rule_type: str, now: dt.datetime) -> dict[str, Any]:
    if rule_type == RULE_BALANCE_THRESHOLD:
        return {**entitlement_data(now), "threshold": {"value": 50, "type": "PERCENT"}}
    if rule_type == RULE_ENTITLEMENT_RESET:
        return entitlement_data(now)
    if rule_type in (RULE_INVOICE_CREATED, RULE_INVOICE_UPDATED):
        return invoice_data(now)
    raise ValueError(f"unknown rule type {rule_type}")
