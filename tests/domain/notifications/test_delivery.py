"""Delivery rules that need no server: the host allow-list (checked before any network use) and retries."""

from __future__ import annotations

import datetime as dt
import socket

import pytest

from domain.notifications import delivery
from domain.notifications.model import FAILED, PENDING, SUCCESS, Attempt, Delivery


def test_allowed_hosts_parsing():
    assert delivery.allowed_hosts(None) is None
    assert delivery.allowed_hosts("") is None
    assert delivery.allowed_hosts(" 127.0.0.1, LocalHost ,[::1]") == frozenset({"127.0.0.1", "localhost", "::1"})


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://127.0.0.1:8080/hook", True),
        ("https://LOCALHOST/hook", True),
        ("http://[::1]:9/x", True),
        ("http://10.0.0.1/hook", False),
        ("http://example.com/hook", False),
        ("http://127.0.0.1.example.com/", False),
        ("http://user@evil.example/", False),
        ("http://[::1", False),
        ("not a url", False),
    ],
)
def test_host_allowed_checks_the_literal_host(url, allowed):
    hosts = delivery.allowed_hosts("127.0.0.1,localhost,::1")
    assert delivery.host_allowed(url, hosts) is allowed


def test_no_allow_list_means_any_host():
    assert delivery.host_allowed("https://example.com/hook", None)


def test_a_host_not_allowed_fails_without_any_network_use(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("network used for a host that is not allowed")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    result = delivery.send("http://203.0.113.7/hook", {}, b"{}", hosts=delivery.allowed_hosts("127.0.0.1"))
    assert not result.ok
    assert result.reason == "host not allowed by TOLLGATE_WEBHOOK_ALLOWED_HOSTS"
    assert result.status_code is None


def test_connection_refused_is_a_result_not_an_exception():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = delivery.send(f"http://127.0.0.1:{port}/hook", {}, b"{}", hosts=delivery.allowed_hosts("127.0.0.1"))
    assert not result.ok and result.reason.startswith("delivery failed: ConnectError")


NOW = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def _attempt(state):
    return Attempt(state=state, status_code=500, body="", duration_ms=1, timestamp=NOW)


def test_failed_attempts_are_retried_then_fail():
    pending = Delivery("e", "c", PENDING, "", NOW, NOW)
    failure = delivery.SendResult(False, 500, "boom", 3, "webhook answered HTTP 500")
    retried = delivery._after_attempt(pending, failure, NOW)
    assert retried.state == PENDING and retried.next_attempt == NOW + delivery.RETRY_DELAYS[0]
    assert retried.attempts[-1].state == FAILED and retried.attempts[-1].status_code == 500
    exhausted = Delivery("e", "c", PENDING, "", NOW, NOW, attempts=tuple(_attempt(FAILED) for _ in delivery.RETRY_DELAYS))
    final = delivery._after_attempt(exhausted, failure, NOW)
    assert final.state == FAILED and final.next_attempt is None


def test_not_allowed_host_is_not_retried_and_success_ends_delivery():
    pending = Delivery("e", "c", PENDING, "", NOW, NOW)
    refused = delivery._after_attempt(pending, delivery.SendResult(False, None, "", 0, delivery.NOT_ALLOWED), NOW)
    assert refused.state == FAILED and refused.reason == delivery.NOT_ALLOWED
    done = delivery._after_attempt(pending, delivery.SendResult(True, 204, "", 2, "event delivered"), NOW)
    assert done.state == SUCCESS and done.next_attempt is None
