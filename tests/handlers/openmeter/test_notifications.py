"""OpenMeter notifications through the generated client, on every backend: channels, rules, test
events delivered (signed) to a webhook receiver on 127.0.0.1 started by the test, resend."""

from __future__ import annotations

import http.server
import json
import threading
import time
from typing import Any, Iterator

import pytest

from domain.notifications import signing
from generated.openmeter import models
from generated.runtime import BadRequestError, ConflictError, NotFoundError

MISSING_ID = "01J0NKNVWN0000000000000000"


class Receiver:
    """A webhook endpoint on 127.0.0.1 recording every request; answers `status`."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 204
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers.items()), "body": body})
                self.send_response(receiver.status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    instance = Receiver()
    yield instance
    instance.close()


def _channel(om, url: str, **extra: Any) -> models.NotificationChannel:
    return om.create_notification_channel(body={"type": "WEBHOOK", "name": "hook", "url": url, **extra})


def _wait_for_state(om, event_id: str, states: set[str], timeout: float = 15.0) -> models.NotificationEvent:
    deadline = time.monotonic() + timeout
    while True:
        event = om.get_notification_event(event_id=event_id)
        if event.delivery_status and all(status.state in states for status in event.delivery_status):
            return event
        if time.monotonic() > deadline:
            raise AssertionError(f"delivery did not reach {states}: {event.delivery_status}")
        time.sleep(0.1)


# --- channels ----------------------------------------------------------------------------------


def test_channel_gets_a_signing_secret_when_none_is_given(om):
    channel = _channel(om, "https://example.com/hook", customHeaders={"X-Team": "billing"}, metadata={"k": "v"})
    assert channel.type == "WEBHOOK" and channel.disabled is False
    assert channel.signing_secret.startswith("whsec_") and signing.is_valid_secret(channel.signing_secret)
    assert channel.custom_headers == {"X-Team": "billing"} and channel.metadata == {"k": "v"}
    given = _channel(om, "https://example.com/hook", signingSecret="whsec_S6g2HLnTwd9AhHwUIMFggVS9OfoPafN8")
    assert given.signing_secret == "whsec_S6g2HLnTwd9AhHwUIMFggVS9OfoPafN8"
    assert om.get_notification_channel(channel_id=channel.id).signing_secret == channel.signing_secret


def test_channel_url_and_secret_are_validated(om):
    for body in ({"url": "ftp://example.com/"}, {"url": "example.com"}, {"url": "http://"},
                 {"url": "https://example.com", "signingSecret": "whsec_" + "=" * 40}):  # fmt: skip
        with pytest.raises(BadRequestError):
            om.create_notification_channel(body={"type": "WEBHOOK", "name": "bad", **body})
    assert om.list_notification_channels(include_disabled=True).total_count == 0


def test_channel_update_list_and_soft_delete(om):
    first = _channel(om, "https://a.example/hook")
    second = _channel(om, "https://b.example/hook", disabled=True)
    updated = om.update_notification_channel(
        channel_id=first.id, body={"type": "WEBHOOK", "name": "renamed", "url": "https://c.example/hook"}
    )
    assert updated.name == "renamed" and updated.url == "https://c.example/hook"
    assert updated.signing_secret == first.signing_secret  # kept when not sent
    assert updated.updated_at >= first.updated_at

    # Disabled channels are hidden unless asked for.
    assert [c.id for c in om.list_notification_channels().items] == [first.id]
    listed = om.list_notification_channels(include_disabled=True, order="DESC")
    assert [c.id for c in listed.items] == [second.id, first.id] and listed.total_count == 2

    om.delete_notification_channel(channel_id=first.id)
    deleted = om.get_notification_channel(channel_id=first.id)  # still found, marked deleted and disabled
    assert deleted.deleted_at is not None and deleted.disabled is True
    assert om.list_notification_channels().items == []
    assert [c.id for c in om.list_notification_channels(include_deleted=True, include_disabled=True).items] == [first.id, second.id]
    with pytest.raises(ConflictError):
        om.update_notification_channel(channel_id=first.id, body={"type": "WEBHOOK", "name": "x", "url": "https://a.example"})
    with pytest.raises(NotFoundError):
        om.get_notification_channel(channel_id=MISSING_ID)


def test_channel_used_by_a_rule_cannot_be_deleted(om):
    channel = _channel(om, "https://example.com/hook")
    rule = om.create_notification_rule(body={"type": "invoice.created", "name": "inv", "channels": [channel.id]})
    with pytest.raises(BadRequestError) as error:
        om.delete_notification_channel(channel_id=channel.id)
    assert rule.id in error.value.body["detail"]
    om.delete_notification_rule(rule_id=rule.id)
    om.delete_notification_channel(channel_id=channel.id)


# --- rules -------------------------------------------------------------------------------------


def test_balance_threshold_rule_with_features_by_key_or_id(om):
    channel = _channel(om, "https://example.com/hook")
    tokens = om.create_feature(body={"key": "tokens", "name": "Tokens"})
    seats = om.create_feature(body={"key": "seats", "name": "Seats"})
    rule = om.create_notification_rule(body={
        "type": "entitlements.balance.threshold", "name": "Usage alert", "channels": [channel.id],
        "features": ["tokens", seats.id],
        "thresholds": [{"value": 80, "type": "usage_percentage"}, {"value": 0.5, "type": "usage_value"},
                       {"value": 0, "type": "balance_value"}],
    })  # fmt: skip
    assert rule.type == "entitlements.balance.threshold"
    assert [(f.id, f.key) for f in rule.features] == [(tokens.id, "tokens"), (seats.id, "seats")]
    assert [(str(t.value), t.type) for t in rule.thresholds] == [("80", "usage_percentage"), ("0.5", "usage_value"), ("0", "balance_value")]
    assert [(c.id, c.type) for c in rule.channels] == [(channel.id, "WEBHOOK")]

    fetched = om.get_notification_rule(rule_id=rule.id)
    assert fetched.thresholds == rule.thresholds
    assert [r.id for r in om.list_notification_rules(feature=["tokens"]).items] == [rule.id]
    assert [r.id for r in om.list_notification_rules(channel=[channel.id]).items] == [rule.id]
    assert om.list_notification_rules(feature=["other"]).items == []


def test_rule_validation(om):
    channel = _channel(om, "https://example.com/hook")
    om.create_feature(body={"key": "tokens", "name": "Tokens"})
    threshold = {"type": "entitlements.balance.threshold", "name": "t", "channels": [channel.id]}
    with pytest.raises(BadRequestError):  # usage thresholds must be > 0
        om.create_notification_rule(body={**threshold, "thresholds": [{"value": 0, "type": "usage_value"}]})
    with pytest.raises(BadRequestError):  # negative values never
        om.create_notification_rule(body={**threshold, "thresholds": [{"value": -1, "type": "balance_value"}]})
    with pytest.raises(BadRequestError):  # duplicated features
        om.create_notification_rule(body={**threshold, "features": ["tokens", "tokens"], "thresholds": [{"value": 1, "type": "NUMBER"}]})
    with pytest.raises(NotFoundError) as error:  # unknown feature
        om.create_notification_rule(body={**threshold, "features": ["nope"], "thresholds": [{"value": 1, "type": "NUMBER"}]})
    assert "feature not found: nope" in error.value.body["detail"]
    with pytest.raises(NotFoundError):  # unknown channel
        om.create_notification_rule(body={"type": "invoice.updated", "name": "i", "channels": [MISSING_ID]})
    with pytest.raises(BadRequestError):  # more than 5 channels
        om.create_notification_rule(body={"type": "invoice.updated", "name": "i", "channels": [channel.id] * 6})
    assert om.list_notification_rules(include_disabled=True).total_count == 0


def test_rule_update_type_change_delete(om):
    channel = _channel(om, "https://example.com/hook")
    other = _channel(om, "https://example.org/hook", disabled=True)  # disabled channels may be assigned
    rule = om.create_notification_rule(body={"type": "entitlements.reset", "name": "reset", "channels": [channel.id]})
    assert rule.features is None
    updated = om.update_notification_rule(
        rule_id=rule.id, body={"type": "entitlements.reset", "name": "renamed", "channels": [other.id], "disabled": True}
    )
    assert updated.name == "renamed" and updated.disabled is True and [c.id for c in updated.channels] == [other.id]
    with pytest.raises(BadRequestError):
        om.update_notification_rule(rule_id=rule.id, body={"type": "invoice.created", "name": "x", "channels": [channel.id]})
    assert om.list_notification_rules().items == []  # disabled
    assert [r.id for r in om.list_notification_rules(include_disabled=True).items] == [rule.id]

    om.delete_notification_rule(rule_id=rule.id)
    assert om.get_notification_rule(rule_id=rule.id).deleted_at is not None
    assert om.list_notification_rules(include_disabled=True).items == []
    with pytest.raises(ConflictError):
        om.update_notification_rule(rule_id=rule.id, body={"type": "entitlements.reset", "name": "x", "channels": [channel.id]})
    with pytest.raises(NotFoundError):
        om.test_notification_rule(rule_id=rule.id)
    with pytest.raises(NotFoundError):
        om.delete_notification_rule(rule_id=MISSING_ID)


# --- events and delivery -----------------------------------------------------------------------


def test_test_event_is_delivered_signed_to_the_webhook(om, receiver):
    channel = _channel(om, receiver.url + "/hooks/om", customHeaders={"X-Team": "billing"})
    rule = om.create_notification_rule(body={
        "type": "entitlements.balance.threshold", "name": "alert", "channels": [channel.id],
        "thresholds": [{"value": 50, "type": "PERCENT"}],
    })  # fmt: skip

    event = om.test_notification_rule(rule_id=rule.id)
    assert event.type == "entitlements.balance.threshold"
    assert event.annotations == {"notification.rule.test": True}
    assert event.rule.id == rule.id
    payload = event.payload
    assert payload.id == event.id and payload.data.feature.key == "test_feature_1"
    assert payload.data.subject.key == "test-subject-1" and payload.data.threshold.type == "PERCENT"

    delivered = _wait_for_state(om, event.id, {"SUCCESS"})
    status = delivered.delivery_status[0]
    assert status.channel.id == channel.id and status.next_attempt is None
    assert [(a.state, a.response.status_code) for a in status.attempts] == [("SUCCESS", 204)]

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert request["path"] == "/hooks/om"
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["x-team"] == "billing" and headers["webhook-id"] == event.id
    assert signing.verify(channel.signing_secret, headers, request["body"])
    body = json.loads(request["body"])
    assert body["id"] == event.id and body["type"] == "entitlements.balance.threshold"
    assert body["data"]["value"] == {"hasAccess": True, "balance": 10000, "usage": 5001, "overage": 0}


def test_invoice_test_event_and_failed_delivery_is_recorded_then_resent(om, receiver):
    receiver.status = 500
    channel = _channel(om, receiver.url + "/hook")
    rule = om.create_notification_rule(body={"type": "invoice.created", "name": "inv", "channels": [channel.id]})
    event = om.test_notification_rule(rule_id=rule.id)
    payload = event.payload
    assert payload.data.number == "TEST-INV-1" and payload.data.customer.name == "Test Customer"

    # The first attempt fails; it is recorded and retried later (PENDING with a next attempt).
    deadline = time.monotonic() + 15
    while True:
        status = om.get_notification_event(event_id=event.id).delivery_status[0]
        if status.attempts:
            break
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert status.attempts[0].state == "FAILED" and status.attempts[0].response.status_code == 500
    assert status.state == "PENDING" and status.next_attempt is not None and "HTTP 500" in status.reason

    # A delivery still waiting for its retry is not re-sent: resend changes nothing.
    om.resend_notification_event(event_id=event.id, body={"channels": [channel.id]})
    after = om.get_notification_event(event_id=event.id)
    assert after.delivery_status[0].state == "PENDING" and "event.resend.timestamp" not in after.annotations
    assert len(receiver.requests) == 1


def test_resend_after_success_and_resend_validation(om, receiver):
    channel = _channel(om, receiver.url + "/hook")
    other = _channel(om, receiver.url + "/other")
    rule = om.create_notification_rule(body={"type": "invoice.updated", "name": "inv", "channels": [channel.id]})
    event = om.test_notification_rule(rule_id=rule.id)
    _wait_for_state(om, event.id, {"SUCCESS"})

    with pytest.raises(BadRequestError):  # not a channel of the rule
        om.resend_notification_event(event_id=event.id, body={"channels": [other.id]})
    om.resend_notification_event(event_id=event.id, body={"channels": [channel.id]})
    after = om.get_notification_event(event_id=event.id)
    assert "event.resend.timestamp" in after.annotations
    resent = _wait_for_state(om, event.id, {"SUCCESS"})
    deadline = time.monotonic() + 15
    while len(resent.delivery_status[0].attempts) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.1)
        resent = om.get_notification_event(event_id=event.id)
    assert [a.state for a in resent.delivery_status[0].attempts] == ["SUCCESS", "SUCCESS"]
    assert len(receiver.requests) == 2
    assert receiver.requests[0]["headers"]["webhook-id"] == receiver.requests[1]["headers"]["webhook-id"] == event.id
    with pytest.raises(NotFoundError):
        om.resend_notification_event(event_id=MISSING_ID, body={})


def test_host_outside_the_allow_list_fails_without_traffic(om):
    channel = _channel(om, "http://10.255.255.1:9/hook")  # tests allow only 127.0.0.1 and localhost
    rule = om.create_notification_rule(body={"type": "invoice.created", "name": "inv", "channels": [channel.id]})
    event = _wait_for_state(om, om.test_notification_rule(rule_id=rule.id).id, {"FAILED"})
    status = event.delivery_status[0]
    assert status.reason == "host not allowed by TOLLGATE_WEBHOOK_ALLOWED_HOSTS"
    assert status.next_attempt is None and [a.response.status_code for a in status.attempts] == [None]


def test_disabled_rule_cannot_be_tested_and_disabled_channel_is_not_sent(om, receiver):
    enabled = _channel(om, receiver.url + "/a")
    disabled = _channel(om, receiver.url + "/b", disabled=True)
    rule = om.create_notification_rule(body={"type": "invoice.created", "name": "r", "channels": [enabled.id, disabled.id]})
    event = om.test_notification_rule(rule_id=rule.id)
    states = {s.channel.id: s.state for s in om.get_notification_event(event_id=event.id).delivery_status}
    assert states[disabled.id] == "FAILED"
    done = _wait_for_state(om, event.id, {"SUCCESS", "FAILED"})
    assert {s.channel.id: s.state for s in done.delivery_status} == {enabled.id: "SUCCESS", disabled.id: "FAILED"}
    assert [r["path"] for r in receiver.requests] == ["/a"]

    om.update_notification_rule(rule_id=rule.id, body={"type": "invoice.created", "name": "r", "channels": [enabled.id], "disabled": True})
    with pytest.raises(BadRequestError):
        om.test_notification_rule(rule_id=rule.id)


def test_list_events_filters_and_pages(om):
    channel = _channel(om, "http://10.0.0.1/hook")
    reset = om.create_notification_rule(body={"type": "entitlements.reset", "name": "r", "channels": [channel.id]})
    invoice = om.create_notification_rule(body={"type": "invoice.created", "name": "i", "channels": [channel.id]})
    first = om.test_notification_rule(rule_id=reset.id)
    second = om.test_notification_rule(rule_id=invoice.id)

    everything = om.list_notification_events()
    assert [e.id for e in everything.items] == [first.id, second.id] and everything.total_count == 2
    assert [e.id for e in om.list_notification_events(order="DESC").items] == [second.id, first.id]
    assert [e.id for e in om.list_notification_events(rule=[invoice.id]).items] == [second.id]
    assert [e.id for e in om.list_notification_events(feature=["test_feature_1"]).items] == [first.id]
    assert [e.id for e in om.list_notification_events(subject=["test-subject-1"]).items] == [first.id]
    assert [e.id for e in om.list_notification_events(channel=[channel.id]).items] == [first.id, second.id]
    assert om.list_notification_events(channel=[MISSING_ID]).items == []
    assert om.list_notification_events(from_=second.created_at).items[-1].id == second.id
    paged = om.list_notification_events(page=2, page_size=1)
    assert [e.id for e in paged.items] == [second.id] and paged.total_count == 2 and paged.page == 2
    assert om.list_notification_events(page=10**12, page_size=1000).items == []
    with pytest.raises(NotFoundError):
        om.get_notification_event(event_id="not-an-id")


def test_failed_delivery_can_be_resent(om):
    channel = _channel(om, "http://192.0.2.1/hook")  # not allowed in tests: fails at once
    rule = om.create_notification_rule(body={"type": "invoice.created", "name": "inv", "channels": [channel.id]})
    event = _wait_for_state(om, om.test_notification_rule(rule_id=rule.id).id, {"FAILED"})
    assert len(event.delivery_status[0].attempts) == 1
    om.resend_notification_event(event_id=event.id, body={})
    deadline = time.monotonic() + 15
    while len((status := om.get_notification_event(event_id=event.id).delivery_status[0]).attempts) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert status.state == "FAILED" and [a.state for a in status.attempts] == ["FAILED", "FAILED"]


def test_slow_webhook_does_not_slow_the_api(om, receiver):
    original = receiver.server.RequestHandlerClass.do_POST

    def slow(handler):
        time.sleep(2)
        original(handler)

    receiver.server.RequestHandlerClass.do_POST = slow
    channel = _channel(om, receiver.url + "/slow")
    rule = om.create_notification_rule(body={"type": "invoice.created", "name": "inv", "channels": [channel.id]})
    started = time.monotonic()
    event = om.test_notification_rule(rule_id=rule.id)
    assert time.monotonic() - started < 1.5
    assert event.delivery_status[0].state == "PENDING"
    assert _wait_for_state(om, event.id, {"SUCCESS"}).delivery_status[0].attempts[0].response.duration_ms >= 1900


def test_channel_removed_from_the_rule_is_not_sent(om, receiver):
    first = _channel(om, receiver.url + "/first")
    second = _channel(om, receiver.url + "/second")
    rule = om.create_notification_rule(body={"type": "invoice.created", "name": "inv", "channels": [first.id]})
    event = _wait_for_state(om, om.test_notification_rule(rule_id=rule.id).id, {"SUCCESS"})
    om.update_notification_rule(rule_id=rule.id, body={"type": "invoice.created", "name": "inv", "channels": [second.id]})
    with pytest.raises(BadRequestError):  # resend only to channels of the rule
        om.resend_notification_event(event_id=event.id, body={"channels": [first.id]})
    assert [r["path"] for r in receiver.requests] == ["/first"]


def test_the_official_openmeter_sdk_manages_channels_rules_and_test_events(om, clean_server, receiver):
    from openmeter import Client

    from tests.conftest import OPENMETER_KEY

    with Client(endpoint=clean_server.url, token=OPENMETER_KEY) as sdk:
        channel = sdk.notification_channels.create({"type": "WEBHOOK", "name": "sdk", "url": receiver.url + "/sdk"})
        # The SDK returns union-typed resources (channels, rules) as plain JSON objects.
        channel_id, secret = channel["id"], channel["signingSecret"]
        assert secret.startswith("whsec_")
        rule = sdk.notification_rules.create({"type": "entitlements.reset", "name": "reset", "channels": [channel_id]})
        rule_id = rule["id"]
        assert [c["id"] for c in rule["channels"]] == [channel_id]
        assert [r["id"] for r in sdk.notification_rules.list()["items"]] == [rule_id]
        event = sdk.notification_rules.test(rule_id)
        assert event.type == "entitlements.reset" and event.rule["id"] == rule_id
        _wait_for_state(om, event.id, {"SUCCESS"})
        assert sdk.notification_events.get(event.id).delivery_status[0].state == "SUCCESS"
        assert [e.id for e in sdk.notification_events.list(rule=[rule_id])["items"]] == [event.id]
        sdk.notification_events.resend(event.id, {})
        sdk.notification_rules.delete(rule_id)
        sdk.notification_channels.delete(channel_id)
        assert sdk.notification_channels.list()["items"] == []
    assert signing.verify(secret, {k.lower(): v for k, v in receiver.requests[0]["headers"].items()},
                          receiver.requests[0]["body"])  # fmt: skip
