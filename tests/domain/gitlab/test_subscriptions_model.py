"""Plan rules of GitLab subscriptions, as plain values (no database)."""

from __future__ import annotations

import datetime as dt

import pytest

from domain.gitlab.subscriptions_model import Subscription, plan_title, titleize

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)


def _subscription(**changes) -> Subscription:
    values = dict(id=1, namespace_id=1, plan_code="premium", seats=10, seats_in_use=0, max_seats_used=0,
                  max_seats_used_changed_at=None, seats_owed=0, start_date=dt.date(2026, 1, 1), end_date=dt.date(2027, 1, 1),
                  auto_renew=None, trial=False, trial_starts_on=None, trial_ends_on=None, trial_extension_type=None,
                  created_at=NOW, updated_at=NOW)  # fmt: skip
    return Subscription(**{**values, **changes})


def test_titles_are_titleized_codes():
    assert [plan_title(code) for code in ("premium", "ultimate_trial", "opensource", "platinum", None)] == [
        "Premium", "Ultimate Trial", "Opensource", None, None]
    assert titleize("code_suggestions") == "Code Suggestions"


@pytest.mark.parametrize(
    ("changes", "paid", "upgradable"),
    [
        ({}, True, True),
        ({"plan_code": "ultimate"}, True, False),  # a top plan cannot be upgraded
        ({"trial": True}, False, False),
        ({"seats": 0}, False, False),
        ({"plan_code": "free"}, False, False),
        ({"end_date": dt.date(2026, 11, 30)}, True, False),  # expired
        ({"end_date": None}, True, True),
    ],
)
def test_paid_hosted_plan_and_upgradable(changes, paid, upgradable):
    subscription = _subscription(**changes)
    assert subscription.has_a_paid_hosted_plan is paid
    assert subscription.upgradable(NOW.date()) is upgradable
