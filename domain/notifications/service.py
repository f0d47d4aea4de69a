"""Channels, rules and events: the rules of openmeter-billing.md section 5, without Svix (ruling 9)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from decimal import Decimal
from typing import Any, Callable

from sqlalchemy.orm import Session

from domain.errors import ConflictError, NotFoundError, ProblemCollector, ValidationError
from domain.ids import is_ulid, new_id
from domain.notifications import samples, signing
from domain.notifications.model import (
    ANNOTATION_RESEND_TIMESTAMP,
    ANNOTATION_RULE_TEST,
    FAILED,
    FEATURE_RULE_TYPES,
    PENDING,
    RESENDING,
    RULE_BALANCE_THRESHOLD,
    SENDING,
    SUCCESS,
    Channel,
    ChannelInput,
    Delivery,
    Event,
    FeatureRef,
    Rule,
    RuleInput,
)

# A webhook URL: http(s), a literal host name or IP, an optional port 1-65535, then anything without
# white space. The overlay documents the same pattern, so what the schema admits is accepted here.
URL_PATTERN = (
    r"^https?://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}))"
    r"(:(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}))?"
    r"([/?#][!-~]*)?$"
)
_URL = re.compile(URL_PATTERN)
MAX_CHANNELS_PER_RULE = 5
USAGE_THRESHOLD_TYPES = frozenset({"NUMBER", "PERCENT", "usage_value", "usage_percentage"})
ORDER_COLUMNS = {"id": "id", "type": "type", "createdAt": "created_at", "updatedAt": "updated_at"}


def paginate(items: list, page: int, page_size: int) -> list:
    start = (page - 1) * page_size
    return items[start : start + page_size] if start < len(items) else []


def _sorted(items: list, order_by: str | None, descending: bool) -> list:
    column = ORDER_COLUMNS.get(order_by or "id", "id")
    return sorted(items, key=lambda item: (getattr(item, column), item.id), reverse=descending)


class ChannelService:
    def __init__(self, session: Session):
        from storage.notifications import ChannelRepository, RuleRepository

        self.channels = ChannelRepository(session)
        self.rules = RuleRepository(session)

    @staticmethod
    def _validate(inputs: ChannelInput) -> None:
        problems = ProblemCollector()
        problems.check(bool(_URL.search(inputs.url)), "url must be an http or https URL with a host", field="url")
        if inputs.signing_secret is not None:
            problems.check(signing.is_valid_secret(inputs.signing_secret),
                           "signingSecret must be whsec_ followed by 32 to 100 characters of base64", field="signingSecret")  # fmt: skip
        problems.raise_if_any()

    def create(self, inputs: ChannelInput, *, now: dt.datetime) -> Channel:
        self._validate(inputs)
        channel = Channel(
            id=new_id(), name=inputs.name, disabled=inputs.disabled, metadata=inputs.metadata, url=inputs.url,
            custom_headers=inputs.custom_headers, signing_secret=inputs.signing_secret or signing.generate_secret(),
            created_at=now, updated_at=now,
        )  # fmt: skip
        self.channels.save(channel)
        return channel

    def get(self, channel_id: str) -> Channel:
        channel = self.channels.get(channel_id) if is_ulid(channel_id) else None
        if channel is None:
            raise NotFoundError(f"channel not found: {channel_id}")
        return channel

    def update(self, channel_id: str, inputs: ChannelInput, *, now: dt.datetime) -> Channel:
        current = self.get(channel_id)
        if current.deleted_at is not None:
            raise ConflictError(f"cannot update deleted channel: {channel_id}")
        self._validate(inputs)
        channel = dataclasses.replace(
            current, name=inputs.name, disabled=inputs.disabled, metadata=inputs.metadata, url=inputs.url,
            custom_headers=inputs.custom_headers, signing_secret=inputs.signing_secret or current.signing_secret,
            updated_at=now,
        )  # fmt: skip
        self.channels.save(channel)
        return channel

    def delete(self, channel_id: str, *, now: dt.datetime) -> None:
        channel = self.get(channel_id)
        if channel.deleted_at is not None:
            return
        using = [rule.id for rule in self.rules.list(include_deleted=False, include_disabled=True) if channel.id in rule.channel_ids]
        if using:
            raise ValidationError(f"channel is assigned to rules, remove it from them first: {', '.join(using)}")
        self.channels.save(dataclasses.replace(channel, disabled=True, deleted_at=now, updated_at=now))

    def list(self, *, include_deleted: bool, include_disabled: bool, order_by: str | None, descending: bool,
             page: int, page_size: int) -> tuple[list[Channel], int]:  # fmt: skip
        channels = _sorted(self.channels.list(include_deleted=include_deleted, include_disabled=include_disabled), order_by, descending)
        return paginate(channels, page, page_size), len(channels)


class RuleService:
    def __init__(self, session: Session, *, find_feature: Callable[[str], Any] | None = None):
        from storage.notifications import ChannelRepository, RuleRepository

        self.session = session
        self.channels = ChannelRepository(session)
        self.rules = RuleRepository(session)
        self._find_feature = find_feature

    def find_feature(self, id_or_key: str) -> Any:
        if self._find_feature is None:
            from domain.features import FeatureService

            self._find_feature = FeatureService(self.session).find
        return self._find_feature(id_or_key)

    def _resolve(self, inputs: RuleInput) -> tuple[tuple[str, ...], tuple[FeatureRef, ...] | None]:
        problems = ProblemCollector()
        channel_ids = tuple(dict.fromkeys(inputs.channels))
        problems.check(len(channel_ids) <= MAX_CHANNELS_PER_RULE, f"a rule has at most {MAX_CHANNELS_PER_RULE} channels", field="channels")
        if inputs.thresholds is not None:
            for index, threshold in enumerate(inputs.thresholds):
                if threshold.type in USAGE_THRESHOLD_TYPES:
                    problems.check(threshold.value > 0, "threshold value must be greater than 0", field=f"thresholds[{index}].value")
                else:
                    problems.check(threshold.value >= 0, "threshold value must not be negative", field=f"thresholds[{index}].value")
        if inputs.features is not None:
            problems.check(len(set(inputs.features)) == len(inputs.features), "duplicated features", field="features")
        problems.raise_if_any()

        known = self.channels.get_many(list(channel_ids))
        missing = [channel_id for channel_id in channel_ids if channel_id not in known or known[channel_id].deleted_at]
        if missing:
            raise NotFoundError(f"channel not found: {', '.join(missing)}")
        features = None
        if inputs.type in FEATURE_RULE_TYPES and inputs.features is not None:
            refs = []
            for id_or_key in inputs.features:
                feature = self.find_feature(id_or_key)
                if feature is None:
                    raise NotFoundError(f"feature not found: {id_or_key}")
                refs.append(FeatureRef(id=feature.id, key=feature.key))
            if len({ref.id for ref in refs}) != len(refs):
                raise ValidationError("duplicated features", problems=[])
            features = tuple(refs)
        return channel_ids, features

    def create(self, inputs: RuleInput, *, now: dt.datetime) -> Rule:
        channel_ids, features = self._resolve(inputs)
        rule = Rule(
            id=new_id(), type=inputs.type, name=inputs.name, disabled=inputs.disabled, metadata=inputs.metadata,
            channel_ids=channel_ids, features=features,
            thresholds=inputs.thresholds if inputs.type == RULE_BALANCE_THRESHOLD else None,
            created_at=now, updated_at=now,
        )  # fmt: skip
        self.rules.save(rule)
        return rule

    def get(self, rule_id: str) -> Rule:
        rule = self.rules.get(rule_id) if is_ulid(rule_id) else None
        if rule is None:
            raise NotFoundError(f"rule not found: {rule_id}")
        return rule

    def update(self, rule_id: str, inputs: RuleInput, *, now: dt.datetime) -> Rule:
        current = self.get(rule_id)
        if current.deleted_at is not None:
            raise ConflictError(f"cannot update deleted rule: {rule_id}")
        if current.type != inputs.type:
            raise ValidationError(f"cannot change the type of a rule from {current.type} to {inputs.type}")
        channel_ids, features = self._resolve(inputs)
        rule = dataclasses.replace(
            current, name=inputs.name, disabled=inputs.disabled, metadata=inputs.metadata, channel_ids=channel_ids,
            features=features, thresholds=inputs.thresholds if inputs.type == RULE_BALANCE_THRESHOLD else None,
            updated_at=now,
        )  # fmt: skip
        self.rules.save(rule)
        return rule

    def delete(self, rule_id: str, *, now: dt.datetime) -> None:
        rule = self.get(rule_id)
        if rule.deleted_at is None:
            self.rules.save(dataclasses.replace(rule, disabled=True, deleted_at=now, updated_at=now))

    def list(self, *, include_deleted: bool, include_disabled: bool, features: list[str] | None, channels: list[str] | None,
             order_by: str | None, descending: bool, page: int, page_size: int) -> tuple[list[Rule], int]:  # fmt: skip
        rules = self.rules.list(include_deleted=include_deleted, include_disabled=include_disabled)
        if features:
            wanted = set(features)
            rules = [r for r in rules if r.features is None or any(f.id in wanted or f.key in wanted for f in r.features)]
            rules = [r for r in rules if r.type in FEATURE_RULE_TYPES]
        if channels:
            rules = [r for r in rules if set(r.channel_ids) & set(channels)]
        rules = _sorted(rules, order_by, descending)
        return paginate(rules, page, page_size), len(rules)

    def channels_of(self, rules: list[Rule]) -> dict[str, Channel]:
        return self.channels.get_many(sorted({channel_id for rule in rules for channel_id in rule.channel_ids}))


class EventService:
    """Creates events with one outbox row per channel of the rule; `on_commit` wakes the sender."""

    def __init__(self, session: Session, *, on_commit: Callable[[], None] | None = None):
        from storage.notifications import ChannelRepository, EventRepository, RuleRepository

        self.session = session
        self.events = EventRepository(session)
        self.rules = RuleRepository(session)
        self.channels = ChannelRepository(session)
        self.on_commit = on_commit

    def _wake_after_commit(self) -> None:
        if self.on_commit is not None:
            from storage.notifications import after_commit

            after_commit(self.session, self.on_commit)

    def create(self, rule: Rule, data: dict[str, Any], *, now: dt.datetime, annotations: dict[str, Any] | None = None,
               feature_key: str | None = None, subject_key: str | None = None, dedupe_key: str | None = None) -> Event:  # fmt: skip
        event_id = new_id()
        payload = {"id": event_id, "type": rule.type, "timestamp": samples.rfc3339(now), "data": data}
        channels = self.channels.get_many(list(rule.channel_ids))
        deliveries = []
        for channel_id in rule.channel_ids:
            channel = channels.get(channel_id)
            if channel is None or channel.deleted_at is not None or channel.disabled:
                deliveries.append(Delivery(event_id, channel_id, FAILED, "channel is disabled or deleted", now, None))
            else:
                deliveries.append(Delivery(event_id, channel_id, PENDING, "event is pending for delivery", now, now))
        event = Event(
            id=event_id, type=rule.type, rule_id=rule.id, payload=payload, annotations=dict(annotations or {}), created_at=now,
            feature_key=feature_key, subject_key=subject_key, deliveries=tuple(deliveries), dedupe_key=dedupe_key,
        )  # fmt: skip
        self.events.add(event)
        self._wake_after_commit()
        return event

    def test_rule(self, rule_id: str, *, now: dt.datetime) -> Event:
        """testNotificationRule: a canned payload for the rule's type, annotated as a test, dispatched."""
        rule = self.rules.get(rule_id) if is_ulid(rule_id) else None
        if rule is None or rule.deleted_at is not None:
            raise NotFoundError(f"rule not found: {rule_id}")
        if rule.disabled:
            raise ValidationError(f"rule is disabled: {rule_id}")
        data = samples.test_payload_data(rule.type, now)
        entitlement = rule.type in FEATURE_RULE_TYPES
        return self.create(
            rule, data, now=now, annotations={ANNOTATION_RULE_TEST: True},
            feature_key=samples.SAMPLE_FEATURE_KEY if entitlement else None,
            subject_key=samples.SAMPLE_SUBJECT_KEY if entitlement else None,
        )  # fmt: skip

    def get(self, event_id: str) -> Event:
        event = self.events.get(event_id) if is_ulid(event_id) else None
        if event is None:
            raise NotFoundError(f"notification event not found: {event_id}")
        return event

    def list(self, **filters: Any) -> tuple[list[Event], int]:
        return self.events.list(**filters)

    def resend(self, event_id: str, channels: list[str] | None, *, now: dt.datetime) -> None:
        event = self.get(event_id)
        rule = self.rules.get(event.rule_id)
        rule_channels = set(rule.channel_ids) if rule else set()
        known = self.channels.get_many(list(rule_channels))
        if channels:
            problems = ProblemCollector()
            for index, channel_id in enumerate(channels):
                channel = known.get(channel_id)
                if channel_id not in rule_channels or channel is None:
                    problems.add(f"channel {channel_id} is not a channel of the event's rule", field=f"channels[{index}]")
                elif channel.disabled or channel.deleted_at is not None:
                    problems.add(f"channel {channel_id} is disabled", field=f"channels[{index}]")
            problems.raise_if_any()
        chosen = set(channels) if channels else None
        resent = False
        for delivery in event.deliveries:
            if chosen is not None and delivery.channel_id not in chosen:
                continue
            if delivery.state not in (SENDING, SUCCESS, FAILED):
                continue
            channel = known.get(delivery.channel_id)
            if channel is None or channel.disabled or channel.deleted_at is not None:
                continue
            self.events.save_delivery(dataclasses.replace(
                delivery, state=RESENDING, reason="event re-send was triggered", updated_at=now, next_attempt=now,
            ))  # fmt: skip
            resent = True
        if resent:
            self.events.set_annotations(event.id, {**event.annotations, ANNOTATION_RESEND_TIMESTAMP: samples.rfc3339(now)})
            self._wake_after_commit()


def threshold_value(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))
