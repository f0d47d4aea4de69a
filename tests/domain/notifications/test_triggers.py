"""Event production hooks: threshold evaluation and dedupe, resets, invoices (on every backend)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from domain.notifications import samples, triggers
from domain.notifications.model import ChannelInput, FeatureRef, Rule, RuleInput, Threshold
from domain.notifications.service import ChannelService, EventService, RuleService
from tests.conftest import truncate_all

NOW = dt.datetime(2026, 3, 15, 12, 0, tzinfo=dt.timezone.utc)
PERIOD = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)


@pytest.fixture
def database(backend):
    truncate_all(backend.database)
    yield backend.database
    truncate_all(backend.database)  # leave no pending deliveries for a sender of the same database


def _snapshot(balance, usage, *, overage="0", has_grants=True, period=PERIOD, feature_key="tokens"):
    return triggers.BalanceSnapshot(
        entitlement_id="01J0TESTENT1T1EMENT0000001", feature_id="01J0TESTFEATVRE00000000001", feature_key=feature_key,
        subject_key="acme", usage_period_start=period, balance=Decimal(balance), usage=Decimal(usage),
        overage=Decimal(overage), has_grants=has_grants, data=samples.entitlement_data(NOW),
    )  # fmt: skip


def _rule(session, rule_type, thresholds=None, features=None, disabled=False):
    channel = ChannelService(session).create(ChannelInput(name="c", url="http://127.0.0.1:9/h"), now=NOW)
    found = {"tokens": FeatureRef(id="01J0TESTFEATVRE00000000001", key="tokens"), "seats": FeatureRef(id="01J0SEATS00000000000000001", key="seats")}
    service = RuleService(session, find_feature=found.get)
    return service.create(RuleInput(type=rule_type, name="r", channels=(channel.id,), disabled=disabled, features=features,
                                    thresholds=tuple(Threshold(Decimal(v), t) for v, t in thresholds or ())), now=NOW)  # fmt: skip


def _rule_obj(thresholds) -> Rule:
    return Rule(id="r", type="entitlements.balance.threshold", name="r", disabled=False, metadata=None, channel_ids=(),
                features=None, thresholds=tuple(Threshold(Decimal(v), t) for v, t in thresholds), created_at=NOW, updated_at=NOW)  # fmt: skip


def test_active_thresholds_pick_highest_usage_and_lowest_balance():
    rule = _rule_obj([("10", "usage_value"), ("40", "NUMBER"), ("50", "PERCENT"), ("90", "usage_percentage"),
                      ("100", "balance_value"), ("70", "balance_value"), ("0", "balance_value")])  # fmt: skip
    # total = 60 + 40 - 0 = 100: usage 40 passes 10 (value) and 50%? no (50 < 40 is false); 40 < 40 false.
    fired = triggers.active_thresholds(rule, _snapshot("60", "40"))
    assert [(str(t.value), t.type) for t in fired] == [("10", "usage_value"), ("70", "balance_value")]
    # Usage 95 of 100: 90% is the highest active usage threshold (90 > 40 > 10); balance 5 -> lowest is 70.
    fired = triggers.active_thresholds(rule, _snapshot("5", "95"))
    assert [(str(t.value), t.type) for t in fired] == [("90", "usage_percentage"), ("70", "balance_value")]
    # A balance of exactly 0 fires the 0 balance threshold (>=), which is then the lowest.
    fired = triggers.active_thresholds(rule, _snapshot("0", "100"))
    assert [(str(t.value), t.type) for t in fired][-1] == ("0", "balance_value")


def test_percentage_thresholds_are_skipped_without_grants():
    rule = _rule_obj([("50", "usage_percentage")])
    assert triggers.active_thresholds(rule, _snapshot("0", "100", has_grants=False)) == []


def test_balance_snapshot_creates_events_once_per_period(database):
    with database.session() as session:
        rule = _rule(session, "entitlements.balance.threshold", [("50", "usage_percentage")], features=("tokens",))
        _rule(session, "entitlements.balance.threshold", [("1", "usage_value")], features=("seats",))  # other feature
        _rule(session, "entitlements.balance.threshold", [("1", "usage_value")], disabled=True)  # disabled
    with database.session() as session:
        created = triggers.balance_snapshot(session, _snapshot("40", "60"), now=NOW)
        assert [(e.rule_id, e.payload["data"]["threshold"]) for e in created] == [(rule.id, {"value": 50, "type": "usage_percentage"})]
        assert created[0].payload["type"] == "entitlements.balance.threshold" and created[0].payload["id"] == created[0].id
    with database.session() as session:
        assert triggers.balance_snapshot(session, _snapshot("30", "70"), now=NOW) == []  # same threshold, same period
        again = triggers.balance_snapshot(session, _snapshot("30", "70", period=dt.datetime(2026, 4, 1, tzinfo=dt.timezone.utc)), now=NOW)
        assert len(again) == 1  # a new usage period fires again
    with database.session(write=False) as session:
        events, total = EventService(session).list(created_from=None, created_to=None, features=["tokens"], subjects=["acme"],
                                                   rules=None, channels=None, order_by="createdAt", descending=False,
                                                   offset=0, limit=10)  # fmt: skip
        assert total == 2 and all(e.deliveries[0].state == "PENDING" for e in events)


def test_reset_and_invoice_hooks(database):
    with database.session() as session:
        reset = _rule(session, "entitlements.reset")
        _rule(session, "entitlements.reset", features=("seats",))
        created_rule = _rule(session, "invoice.created")
        updated_rule = _rule(session, "invoice.updated")
    with database.session() as session:
        events = triggers.entitlement_reset(session, feature_id="01J0TESTFEATVRE00000000001", feature_key="tokens",
                                            subject_key="acme", data=samples.entitlement_data(NOW), now=NOW)  # fmt: skip
        assert [e.rule_id for e in events] == [reset.id]
        invoice = samples.invoice_data(NOW)
        created = triggers.invoice_changed(session, created=True, invoice=invoice, now=NOW)
        updated = triggers.invoice_changed(session, created=False, invoice=invoice, now=NOW)
        assert [e.rule_id for e in created] == [created_rule.id] and [e.rule_id for e in updated] == [updated_rule.id]
        assert created[0].annotations == {"invoice.id": invoice["id"], "invoice.number": "TEST-INV-1"}
        assert created[0].payload["data"]["number"] == "TEST-INV-1"
