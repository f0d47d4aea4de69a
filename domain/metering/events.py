"""Events: CloudEvents validation, ingest with deduplication, listing (openmeter-core.md 2).

- Ingest takes one event or a batch. Every event is checked first; one invalid event rejects the
  whole batch and nothing is written. A missing `time` is the ingest time; times are stored in
  whole seconds, UTC. Deduplication is on (source, id): the first occurrence wins, later ones
  (in the same batch or later batches) are silently dropped.
- An acknowledged batch is one transaction (events, the usage rows of every live meter of their
  type, the rollups), so the next query sees it.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from domain.errors import ProblemCollector, ValidationError

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
# RFC 3986: an absolute URI (`dataschema`, format uri) and any URI reference (`source`, format uri-reference).
_URI_CHARS = r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*"
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:" + _URI_CHARS + "$")
_URI_REFERENCE = re.compile("^" + _URI_CHARS + "$")


@dataclass(slots=True)
class Event:
    """An event as stored (slots, not frozen: ingest builds one per event, thousands per batch)."""

    id: str
    source: str
    type: str
    subject: str
    time: int
    """Epoch seconds, UTC (sub-seconds dropped)."""
    data: dict[str, Any] | None
    specversion: str = "1.0"
    dataschema: str | None = None


@dataclass(frozen=True)
class StoredEvent:
    seq: int
    event: Event
    ingested_at: int
    customer_id: str | None = None
    validation_error: str | None = None


def epoch_seconds(value: dt.datetime) -> int:
    """Whole seconds since the epoch, sub-seconds dropped (floor); naive values are UTC."""
    delta = (value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)) - EPOCH
    return delta.days * 86400 + delta.seconds


def ceil_seconds(value: dt.datetime) -> int:
    """Whole seconds since the epoch, rounded up: `t < ceil_seconds(to)` iff `t < to` for whole-second t."""
    return epoch_seconds(value) + (1 if value.microsecond else 0)


def from_epoch(seconds: int) -> dt.datetime:
    return EPOCH + dt.timedelta(seconds=seconds)


_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def parse_time(raw: Any) -> dt.datetime | None:
    """An RFC 3339 date-time (any offset) as an aware datetime; None when it is not one."""
    if isinstance(raw, dt.datetime):
        return raw if raw.tzinfo else None
    if not isinstance(raw, str) or not _RFC3339.match(raw):
        return None
    text = raw.replace("z", "Z").replace("t", "T")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else None


_UTC_SECOND = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})[Tt]([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9])[Zz]")
_EPOCH_ORDINAL = EPOCH.date().toordinal()


def _utc_seconds(raw: Any, days: dict[str, int | None]) -> int | None:
    """Epoch seconds of a whole-second UTC time (`2024-05-01T10:00:00Z`, the usual form), else None
    (then `parse_time` decides). Same result as `epoch_seconds(parse_time(raw))`, without a datetime."""
    match = _UTC_SECOND.fullmatch(raw) if isinstance(raw, str) else None
    if match is None:
        return None
    date, hour, minute, second = match.groups()
    day = days.get(date, False)
    if day is False:
        try:
            day = days[date] = dt.date.fromisoformat(date).toordinal() - _EPOCH_ORDINAL
        except ValueError:
            day = days[date] = None
    if day is None:
        return None
    return day * 86400 + int(hour) * 3600 + int(minute) * 60 + int(second)


def _plain_fields(raw: dict[str, Any], source: Any) -> bool:
    """id, source, type and subject non-empty strings of at most 256 characters, specversion a non-empty string."""
    for value in (raw.get("id"), source, raw.get("type"), raw.get("subject")):
        if type(value) is not str or not 0 < len(value) <= 256:
            return False
    specversion = raw.get("specversion")
    return type(specversion) is str and specversion != ""


def validate_events(raw_events: list[Any], *, now: dt.datetime) -> list[Event]:
    """Every event of a batch, checked; a ValidationError naming every problem when any is invalid."""
    problems = ProblemCollector()
    events: list[Event] = []
    now_s = epoch_seconds(now)
    single = len(raw_events) == 1
    sources: dict[str, bool] = {}  # a batch has few distinct sources: check each once
    days: dict[str, int | None] = {}  # epoch day of each distinct date of the batch's times
    for index, raw in enumerate(raw_events):
        where = "" if single else f"[{index}]"
        if not isinstance(raw, dict):
            problems.add("an event must be an object", field=where or None)
            continue
        ok = True
        source = raw.get("source")
        if not _plain_fields(raw, source):  # the common case skips the per-field checks below
            for name in ("id", "source", "specversion", "type", "subject"):
                value = raw.get(name)
                if not isinstance(value, str) or not value:
                    problems.add(f"{name} must be a non-empty string", field=f"{where}.{name}" if where else name)
                    ok = False
                elif name != "specversion" and len(value) > 256:
                    problems.add(f"{name} must be at most 256 characters", field=f"{where}.{name}" if where else name)
                    ok = False
        if isinstance(source, str) and not (sources.get(source) or sources.setdefault(source, bool(_URI_REFERENCE.match(source)))):
            problems.add("source must be a URI reference", field=f"{where}.source" if where else "source")
            ok = False
        dataschema = raw.get("dataschema")
        if dataschema is not None and (not isinstance(dataschema, str) or not _URI.match(dataschema)):
            problems.add("dataschema must be an absolute URI", field=f"{where}.dataschema" if where else "dataschema")
            ok = False
        content_type = raw.get("datacontenttype")
        if content_type not in (None, "application/json"):
            problems.add("datacontenttype must be application/json", field=f"{where}.datacontenttype" if where else "datacontenttype")
            ok = False
        data = raw.get("data")
        if data is not None and not isinstance(data, dict):
            problems.add("data must be a JSON object", field=f"{where}.data" if where else "data")
            ok = False
        time_raw = raw.get("time")
        time_s = now_s
        if time_raw is not None:
            time_s = _utc_seconds(time_raw, days)
            if time_s is None:
                parsed = parse_time(time_raw)
                if parsed is None:
                    problems.add("time must be an RFC 3339 date-time", field=f"{where}.time" if where else "time")
                    ok = False
                else:
                    time_s = epoch_seconds(parsed)
        if ok:
            events.append(Event(
                id=raw["id"], source=raw["source"], type=raw["type"], subject=raw["subject"], time=time_s,
                data=data, specversion=raw["specversion"], dataschema=raw.get("dataschema"),
            ))  # fmt: skip
    problems.raise_if_any()
    return events


def dedupe(events: list[Event]) -> list[Event]:
    """First occurrence of each (source, id) wins."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for event in events:
        key = (event.source, event.id)
        if key not in seen:
            seen.add(key)
            kept.append(event)
    return kept


class EventService:
    def __init__(self, session: Session):
        from storage.events import EventRepository

        self.session = session
        self.events = EventRepository(session)

    def ingest(self, raw_events: list[Any], *, now: dt.datetime) -> int:
        """Validate, deduplicate and store a batch in the caller's transaction; the number stored."""
        events = dedupe(validate_events(raw_events, now=now))
        if not events:
            return 0
        from domain.metering.meters import MeterService

        meters = MeterService(self.session).active_for_event_types({event.type for event in events})
        return self.events.ingest(events, meters, ingested_at=epoch_seconds(now))

    def subjects(self, meter: Any, *, lo: int | None, hi: int | None) -> list[str]:
        """Distinct subjects of the meter's event type in [lo, hi), ascending (eventFrom not applied)."""
        return self.events.distinct_subjects(meter.event_type, lo=lo, hi=hi)


# --- listing -----------------------------------------------------------------------------------


def encode_cursor(time: int, event_id: str) -> str:
    stamp = from_epoch(time).strftime("%Y-%m-%dT%H:%M:%SZ")
    return base64.b64encode(f"{stamp},{event_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[int, str] | None:
    """The position a cursor names; None when the cursor is not one this server issued."""
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode("utf-8")
        stamp, _, event_id = text.partition(",")
        parsed = parse_time(stamp)
        if parsed is None or not event_id:
            raise ValueError
    except (ValueError, binascii.Error, UnicodeError):
        return None
    return epoch_seconds(parsed), event_id


def _data_encoder():
    """Compact JSON with sorted keys. The C encoder is built once: `JSONEncoder.encode` builds a new
    one on every call, which costs as much as encoding a small event's data."""
    import json.encoder

    if json.encoder.c_make_encoder is None:  # pragma: no cover - CPython always has it
        return json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode
    # No circular-reference markers: data comes from parsed JSON. NaN/Infinity written as the
    # standard encoder writes them (allow_nan), `default=str` for what JSON has no type for.
    encode = json.encoder.c_make_encoder(None, str, json.encoder.c_encode_basestring, None, ":", ",", True, False, True)
    return lambda data: "".join(encode(data, 0))


_DATA_TEXT = _data_encoder()


def data_text(data: dict[str, Any] | None) -> str | None:
    return None if data is None else _DATA_TEXT(data)


# --- read-time enrichment (openmeter-core.md 2.2) --------------------------------------------------


def validation_errors(event: Event, meters: list[Any], customer_found: bool) -> str | None:
    """Why the event does not meter cleanly today, every message joined by newlines; None when it does."""
    from domain.metering.jsonpath import extract_text, numeric, parse_path
    from domain.metering.meters import Aggregation

    messages = []
    matching = [meter for meter in meters if meter.event_type == event.type]
    if not matching:
        messages.append(f"no meter found for event type: {event.type}")
    for meter in matching:
        if meter.aggregation is Aggregation.COUNT or not meter.value_property:
            continue
        if event.data is None:
            messages.append("invalid event: null and missing value property")
            continue
        text = extract_text(event.data, parse_path(meter.value_property))
        if text == "":
            messages.append(f'invalid event: missing value property: "{meter.value_property}"')
        elif text is None:
            messages.append("invalid event: value cannot be null")
        elif meter.aggregation is not Aggregation.UNIQUE_COUNT and numeric(text) is None:
            messages.append(f"invalid event: value cannot be parsed as float64: {text}")
    if not customer_found:
        messages.append(f"no customer found for event subject: {event.subject}")
    return "\n".join(messages) or None


class EventListing:
    """listEvents / listEventsV2 over `EventRepository`, with customer ids and validation errors."""

    def __init__(self, session: Session):
        from storage.events import EventRepository

        self.session = session
        self.events = EventRepository(session)

    def customer_subjects(self, customer_ids: list[str]) -> set[str]:
        from domain.customers import CustomerService
        from domain.errors import NotFoundError

        service = CustomerService(self.session)
        subjects: set[str] = set()
        for customer_id in dict.fromkeys(customer_ids):
            customer = service.find(customer_id)
            if customer is None or customer.is_deleted:
                raise NotFoundError(f"customer not found: {customer_id}", resource="Customer")
            subjects.update(customer.usage_subjects)
        return subjects

    def enrich(self, stored: list[StoredEvent]) -> list[StoredEvent]:
        from domain.customers import CustomerService
        from domain.metering.meters import MeterService

        customers = CustomerService(self.session)
        by_subject = {}
        for subject in sorted({item.event.subject for item in stored}):
            customer = customers.get_by_subject_key(subject)
            by_subject[subject] = customer.id if customer is not None else None
        meters = MeterService(self.session).active_for_event_types({item.event.type for item in stored})
        return [
            StoredEvent(
                seq=item.seq, event=item.event, ingested_at=item.ingested_at, customer_id=by_subject[item.event.subject],
                validation_error=validation_errors(item.event, meters, by_subject[item.event.subject] is not None),
            )
            for item in stored
        ]  # fmt: skip


def time_filter_seconds(flt: Any, where: str) -> dict:
    """A FilterTime with RFC 3339 values as the equivalent filter over whole epoch seconds."""
    if not isinstance(flt, dict):
        raise ValidationError(f"{where}: a filter must be an object")
    result: dict[str, Any] = {}
    for op, arg in flt.items():
        if arg is None:
            continue
        if op in ("$and", "$or"):
            if not isinstance(arg, list):
                raise ValidationError(f"{where}: {op} takes a list of filters")
            result[op] = [time_filter_seconds(item, where) for item in arg]
            continue
        if op not in ("$gt", "$gte", "$lt", "$lte"):
            continue  # not an operator: ignored, as the schema allows other properties
        value = parse_time(arg)
        if value is None:
            raise ValidationError(f"{where}: {op} takes an RFC 3339 date-time")
        result[op] = ceil_seconds(value) if op in ("$gte", "$lt") else epoch_seconds(value)
    return result
