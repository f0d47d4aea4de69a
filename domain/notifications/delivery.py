"""Sending events to webhook channels: the outbox worker (DECISIONS.md ruling 9: no Svix needed).

Events are written with one delivery row per channel (the outbox) in the request's transaction; the
sender runs in a background thread of the process, woken after that transaction commits and polling
for retries, so a delivery never blocks or fails an API request. Each delivery is claimed (PENDING or
RESENDING -> SENDING) in its own transaction, POSTed with a short timeout, and its attempt recorded.

Network safety: before anything touches the network, the URL's literal host must be in
`TOLLGATE_WEBHOOK_ALLOWED_HOSTS` (when set). Otherwise the delivery fails at once with "host not
allowed by TOLLGATE_WEBHOOK_ALLOWED_HOSTS": no DNS lookup, no connection. Redirects are not followed
and proxies from the environment are ignored, so a request only ever goes to the checked host.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from domain.notifications import signing
from domain.notifications.model import FAILED, PENDING, SUCCESS, Attempt, Delivery

logger = logging.getLogger("tollgate.notifications")

TIMEOUT_SECONDS = 5.0
STALE_SENDING = dt.timedelta(seconds=60)
RETRY_DELAYS = (dt.timedelta(seconds=5), dt.timedelta(minutes=5), dt.timedelta(minutes=30), dt.timedelta(hours=2))
"""After the first attempt: retry after these delays (Svix's schedule, shortened); then FAILED."""
MAX_RESPONSE_BODY = 1024
NOT_ALLOWED = "host not allowed by TOLLGATE_WEBHOOK_ALLOWED_HOSTS"


def allowed_hosts(setting: str | None) -> frozenset[str] | None:
    """None = any host (the production default); otherwise the lower-cased names and IP literals."""
    hosts = frozenset(part.strip().lower().strip("[]") for part in (setting or "").split(",") if part.strip())
    return hosts or None


def host_allowed(url: str, hosts: frozenset[str] | None) -> bool:
    """The URL's literal host against the allow-list, with no DNS lookup."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return False
    if not host:
        return False
    return hosts is None or host.lower() in hosts


@dataclasses.dataclass(frozen=True)
class SendResult:
    ok: bool
    status_code: int | None
    body: str
    duration_ms: int
    reason: str


def send(url: str, headers: dict[str, str], body: bytes, *, hosts: frozenset[str] | None) -> SendResult:
    """One POST, never raising: every failure becomes a result."""
    if not host_allowed(url, hosts):
        return SendResult(False, None, "", 0, NOT_ALLOWED)
    import httpx

    started = time.monotonic()
    try:
        with httpx.Client(timeout=httpx.Timeout(TIMEOUT_SECONDS, connect=2.0), follow_redirects=False, trust_env=False) as client:
            response = client.post(url, content=body, headers=headers)
        duration = int((time.monotonic() - started) * 1000)
        text = response.text[:MAX_RESPONSE_BODY]
        if 200 <= response.status_code < 300:
            return SendResult(True, response.status_code, text, duration, "event delivered")
        return SendResult(False, response.status_code, text, duration, f"webhook answered HTTP {response.status_code}")
    except Exception as error:  # noqa: BLE001 - any failure is recorded, never raised into a request
        duration = int((time.monotonic() - started) * 1000)
        return SendResult(False, None, "", duration, f"delivery failed: {type(error).__name__}: {str(error)[:300]}")


def webhook_request(channel: Any, payload: dict[str, Any], *, event_id: str, now: dt.datetime) -> tuple[dict[str, str], bytes]:
    """The headers and body of one webhook: the payload as compact JSON, signed, plus the channel's headers."""
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    headers = dict(channel.custom_headers or {})
    headers["content-type"] = "application/json"
    headers.update(signing.signed_headers(channel.signing_secret, event_id, int(now.timestamp()), body))
    return headers, body


def _after_attempt(delivery: Delivery, result: SendResult, now: dt.datetime) -> Delivery:
    attempt = Attempt(
        state=SUCCESS if result.ok else FAILED, status_code=result.status_code, body=result.body,
        duration_ms=result.duration_ms, timestamp=now,
    )  # fmt: skip
    attempts = (*delivery.attempts, attempt)
    if result.ok:
        return dataclasses.replace(delivery, state=SUCCESS, reason=result.reason, updated_at=now, next_attempt=None, attempts=attempts)
    # Retries count from the latest (re)send request: attempts since the last SUCCESS/FAILED verdict.
    failures = 0
    for previous in reversed(delivery.attempts):
        if previous.state != FAILED:
            break
        failures += 1
    if result.reason != NOT_ALLOWED and failures < len(RETRY_DELAYS):
        return dataclasses.replace(delivery, state=PENDING, reason=result.reason, updated_at=now,
                                   next_attempt=now + RETRY_DELAYS[failures], attempts=attempts)  # fmt: skip
    return dataclasses.replace(delivery, state=FAILED, reason=result.reason, updated_at=now, next_attempt=None, attempts=attempts)


def deliver_one(database: Any, event_id: str, channel_id: str, *, hosts: frozenset[str] | None) -> bool:
    """Claim, send and record one delivery; False when it was not ours to send."""
    from storage.notifications import ChannelRepository, EventRepository, RuleRepository

    now = dt.datetime.now(dt.timezone.utc)
    with database.session(write=True) as session:
        events = EventRepository(session)
        if not events.claim(event_id, channel_id, now=now, stale_before=now - STALE_SENDING):
            return False
        event = events.event_row(event_id)
        channel = ChannelRepository(session).get(channel_id)
        rule = RuleRepository(session).get(event.rule_id) if event is not None else None
    if event is None:
        return False
    refusal = None
    if channel is None or channel.disabled or channel.deleted_at is not None:
        refusal = "channel is disabled or deleted"
    elif rule is None or rule.deleted_at is not None or channel_id not in rule.channel_ids:
        refusal = "channel is no longer assigned to the rule"
    if refusal is None:
        headers, body = webhook_request(channel, event.payload, event_id=event.id, now=now)
        result = send(channel.url, headers, body, hosts=hosts)
    done = dt.datetime.now(dt.timezone.utc)
    with database.session(write=True) as session:
        events = EventRepository(session)
        delivery = events.delivery(event_id, channel_id)
        if delivery is None:  # the event was removed meanwhile
            return True
        if refusal is not None:
            events.save_delivery(dataclasses.replace(delivery, state=FAILED, reason=refusal, updated_at=done, next_attempt=None))
        else:
            events.save_delivery(_after_attempt(delivery, result, done))
    return True


def deliver_due(database: Any, *, hosts: frozenset[str] | None, limit: int = 50) -> int:
    """Send every delivery that is due now; the number sent."""
    from storage.notifications import EventRepository

    now = dt.datetime.now(dt.timezone.utc)
    with database.session(write=False) as session:
        due = EventRepository(session).due_deliveries(now, stale_before=now - STALE_SENDING, limit=limit)
    sent = 0
    for event_id, channel_id in due:
        try:
            sent += deliver_one(database, event_id, channel_id, hosts=hosts)
        except Exception:  # noqa: BLE001 - a database hiccup must not kill the worker
            logger.exception("notification delivery %s/%s failed", event_id, channel_id)
    return sent


def seconds_until_next(database: Any) -> float | None:
    from storage.notifications import EventRepository

    with database.session(write=False) as session:
        next_due = EventRepository(session).next_due()
    if next_due is None:
        return None
    return max(0.0, (next_due - dt.datetime.now(dt.timezone.utc)).total_seconds())


class Dispatcher:
    """One background sender per database in this process; started on demand, ends when idle."""

    POLL_SECONDS = 1.0
    IDLE_ROUNDS = 5

    def __init__(self, database: Any, hosts: frozenset[str] | None):
        self.database = database
        self.hosts = hosts
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        with self._lock:
            self._wake.set()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="tollgate-webhooks", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        idle = failures = 0
        while True:
            self._wake.clear()
            try:
                sent = deliver_due(self.database, hosts=self.hosts)
                wait = seconds_until_next(self.database)
                failures = 0
            except Exception:  # noqa: BLE001 - the database is away: log once, stop when idle, resume on the next wake
                failures += 1
                if failures == 1:
                    logger.warning("notification dispatcher cannot reach the database", exc_info=True)
                sent, wait = 0, None
            if sent:
                idle = 0
                continue
            idle += 1
            with self._lock:
                if wait is None and idle >= self.IDLE_ROUNDS and not self._wake.is_set():
                    self._thread = None
                    return
            self._wake.wait(timeout=min(wait if wait is not None else self.POLL_SECONDS, 30.0) or 0.05)


_dispatchers: dict[int, Dispatcher] = {}
_registry_lock = threading.Lock()


def dispatcher(database: Any, allowed_hosts_setting: str | None) -> Dispatcher:
    hosts = allowed_hosts(allowed_hosts_setting)
    key = id(database)
    with _registry_lock:
        current = _dispatchers.get(key)
        if current is None or current.database is not database or current.hosts != hosts:
            current = _dispatchers[key] = Dispatcher(database, hosts)
        return current
