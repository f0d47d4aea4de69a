"""Meter queries (openmeter-core.md 4): windows, time zones, grouping, filters, the empty-result rules.

Time ranges are half-open `[from, to)` (ruling 7): `from` is truncated to whole seconds, events at
`to` are not counted. Windowed results have one row per (window, group) with data; windows are
tumbling and aligned to the wall clock of `windowTimeZone` (DAY from local midnight to local
midnight, 23 or 25 hours on daylight-saving days; MONTH from the local first of the month). The
aggregation itself runs in SQL (`storage.events.UsageRepository.aggregate`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.errors import NotFoundError, ValidationError
from domain.metering.events import ceil_seconds, epoch_seconds, from_epoch
from domain.metering.meters import Aggregation, Meter, MeterService
from domain.metering.spec import UsageRow, UsageSpec, Windows

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session

WINDOW_SIZES = ("MINUTE", "HOUR", "DAY", "MONTH")
FILTER_OPERATORS = ("$eq", "$ne", "$in", "$nin", "$like", "$nlike", "$ilike", "$nilike", "$gt", "$gte", "$lt", "$lte", "$and", "$or")
_MAX_WINDOWS = 20_000


@dataclass(frozen=True)
class MeterQuery:
    from_: dt.datetime | None = None
    to: dt.datetime | None = None
    window_size: str | None = None
    window_time_zone: str = "UTC"
    subjects: list[str] | None = None
    customer_ids: list[str] | None = None
    group_by: list[str] = field(default_factory=list)
    filter_group_by: dict[str, list[str]] | None = None
    advanced_filters: dict[str, Any] | None = None


@dataclass(slots=True)
class ResultRow:
    """One row of a query's answer (slots, not frozen: large answers build tens of thousands)."""

    value: Decimal
    window_start: dt.datetime
    window_end: dt.datetime
    subject: str | None
    customer_id: str | None
    group_by: dict[str, str]


@dataclass(frozen=True)
class QueryResult:
    meter: Meter
    query: MeterQuery
    rows: list[ResultRow]
    group_by: list[str]
    """The meter group-by keys of the rows, in request order."""
    by_subject: bool
    by_customer: bool


def time_zone(name: str) -> ZoneInfo:
    try:
        if not name or name.startswith(("/", ".")) or ".." in name:
            raise ValueError
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValidationError(f"invalid time zone: {name}", extensions={"field": "windowTimeZone"}) from None


def validate_filter(value: Any, where: str, depth: int = 0) -> dict:
    """A FilterString: every operator set must hold (null ones and unknown properties are ignored)."""
    if not isinstance(value, dict):
        raise ValidationError(f"{where}: a filter must be an object")
    if depth > 8:
        raise ValidationError(f"{where}: filters nest too deeply")
    # Properties that are not operators are ignored, as the schema allows them.
    present = {op: arg for op, arg in value.items() if arg is not None and op in FILTER_OPERATORS}
    result: dict[str, Any] = {}
    for op, arg in present.items():
        if op in ("$and", "$or"):
            if not isinstance(arg, list):
                raise ValidationError(f"{where}: {op} takes a list of filters")
            result[op] = [validate_filter(item, where, depth + 1) for item in arg]
        elif op in ("$in", "$nin"):
            if not isinstance(arg, list) or not all(isinstance(item, str) for item in arg):
                raise ValidationError(f"{where}: {op} takes a list of strings")
            result[op] = list(arg)
        elif not isinstance(arg, str):
            raise ValidationError(f"{where}: {op} takes a string")
        else:
            result[op] = arg
    return result


def _local_starts(first: int, last: int, window_size: str, tz: ZoneInfo) -> list[int]:
    """Epoch seconds of every local midnight / first-of-month from the window holding `first` past `last`."""
    try:
        local = from_epoch(first).astimezone(tz)
    except (OverflowError, ValueError):
        raise ValidationError("the events of this query lie outside the supported calendar range") from None
    day = local.date() if window_size == "DAY" else local.date().replace(day=1)
    starts: list[int] = []
    while True:
        if day.year >= 9999 and day.month == 12 and (window_size == "MONTH" or day.day == 31):
            starts.append(epoch_seconds(dt.datetime.max.replace(tzinfo=dt.timezone.utc)))
            return starts
        start = epoch_seconds(dt.datetime(day.year, day.month, day.day, tzinfo=tz))
        starts.append(start)
        if start > last:
            return starts
        if len(starts) > _MAX_WINDOWS:
            raise ValidationError("the query spans too many windows; narrow from/to or use a larger windowSize")
        if window_size == "DAY":
            day = day + dt.timedelta(days=1)
        else:
            day = dt.date(day.year + (day.month == 12), day.month % 12 + 1, 1)


class QueryService:
    def __init__(self, session: Session):
        from storage.events import UsageRepository

        self.session = session
        self.usage = UsageRepository(session)

    def _customers(self, ids: list[str]) -> list[tuple[str, tuple[str, ...]]]:
        from domain.customers import CustomerService

        service = CustomerService(self.session)
        found = []
        for customer_id in dict.fromkeys(ids):
            customer = service.find(customer_id)
            if customer is None or customer.is_deleted:
                raise NotFoundError(f"customer with id {customer_id} not found", resource="Customer")
            found.append((customer.id, customer.usage_subjects))
        return found

    def run(self, meter_id_or_key: str, query: MeterQuery) -> QueryResult:
        meter = MeterService(self.session).get(meter_id_or_key)
        tz = time_zone(query.window_time_zone or "UTC")
        if query.window_size is not None and query.window_size not in WINDOW_SIZES:
            raise ValidationError(f"invalid window size: {query.window_size}")
        if query.from_ is not None and query.to is not None:
            if query.from_ == query.to:
                raise ValidationError("from and to cannot be equal")
            if query.from_ > query.to:
                raise ValidationError("from must be before to")
        by_subject = bool(query.subjects)
        by_customer = bool(query.customer_ids)
        group_keys: list[str] = []
        for key in query.group_by:
            if key == "subject":
                by_subject = True
            elif key == "customer_id":
                if not query.customer_ids:
                    raise ValidationError("groupBy customer_id requires filterCustomerId")
                by_customer = True
            elif key in meter.group_by:
                if key not in group_keys:
                    group_keys.append(key)
            else:
                raise ValidationError(f"invalid group by: {key}")
        filters: list[tuple[str, Any]] = []
        if query.filter_group_by and query.advanced_filters:
            raise ValidationError("filterGroupBy and advancedMeterGroupByFilters cannot be used together")
        for key, values in sorted((query.filter_group_by or {}).items()):
            if key not in meter.group_by:
                raise ValidationError(f"invalid filter group by: {key}")
            filters.append((key, {"$in": list(values)}))
        for key, value in sorted((query.advanced_filters or {}).items()):
            if key not in meter.group_by:
                raise ValidationError(f"invalid advanced meter group by filter: {key}")
            filters.append((key, validate_filter(value, f"advancedMeterGroupByFilters.{key}")))
        customers = self._customers(query.customer_ids) if query.customer_ids else None

        lo = epoch_seconds(query.from_) if query.from_ is not None else None
        hi = ceil_seconds(query.to) if query.to is not None else None
        spec = UsageSpec(
            meter=meter, lo=lo, hi=hi, subjects=tuple(query.subjects) if query.subjects else None,
            customers=tuple(customers) if customers is not None else None, group_by=tuple(group_keys),
            by_subject=by_subject, group_filters=tuple(filters),
        )  # fmt: skip
        windows: list[tuple[int, int]] | None = None
        if query.window_size in ("MINUTE", "HOUR"):
            length = 60 if query.window_size == "MINUTE" else 3600
            try:
                at = (query.from_ or dt.datetime.now(dt.timezone.utc)).astimezone(tz)
            except (OverflowError, ValueError):
                at = dt.datetime.now(tz)
            offset = int(at.utcoffset().total_seconds()) % length
            spec = _with(spec, windows=Windows(length=length, offset=offset))
        elif query.window_size == "DAY" and _fixed_offset(tz) is not None:
            # A zone without daylight saving: every day is 24 hours, no calendar to walk.
            spec = _with(spec, windows=Windows(length=86400, offset=_fixed_offset(tz) % 86400))
        elif query.window_size in ("DAY", "MONTH"):
            span = self.usage.time_range(meter, lo=lo, hi=hi)  # windows only where there is data
            if span is None:
                return self._result(meter, query, [], group_keys, by_subject, by_customer, tz, None)
            starts = _local_starts(span[0], span[1], query.window_size, tz)
            windows = list(zip(starts, starts[1:]))
            lengths = {end - start for start, end in windows}
            if query.window_size == "DAY" and lengths == {86400}:
                spec = _with(spec, windows=Windows(length=86400, offset=(-starts[0]) % 86400))
                windows = None
            else:
                spec = _with(spec, windows=Windows(ranges=tuple(windows)))
        rows = self.usage.aggregate(spec)
        return self._result(meter, query, rows, group_keys, by_subject, by_customer, tz, windows)

    def _result(self, meter: Meter, query: MeterQuery, rows: list[UsageRow], group_keys: list[str], by_subject: bool,
                by_customer: bool, tz: ZoneInfo, ranges: list[tuple[int, int]] | None) -> QueryResult:  # fmt: skip
        length = {"MINUTE": 60, "HOUR": 3600, "DAY": 86400}.get(query.window_size or "")
        result: list[ResultRow] = []
        instants: dict[int, dt.datetime] = {}

        def local(seconds: int) -> dt.datetime:
            value = instants.get(seconds)
            if value is None:
                try:
                    value = from_epoch(seconds).astimezone(tz)
                except (OverflowError, ValueError):  # a window at the very end of the calendar
                    value = dt.datetime.max.replace(tzinfo=dt.timezone.utc) if seconds > 0 else dt.datetime.min.replace(tzinfo=dt.timezone.utc)
                instants[seconds] = value
            return value

        for row in rows:
            if query.window_size is None:
                start = query.from_ if query.from_ is not None else local(row.first_time - row.first_time % 60)
                end = query.to if query.to is not None else local(row.last_time - row.last_time % 60 + 60)
            elif ranges is not None:
                lo, hi = ranges[row.window]
                start, end = local(lo), local(hi)
            else:
                start, end = local(row.window), local(row.window + length)
            result.append(ResultRow(
                value=row.value, window_start=start, window_end=end, subject=row.subject if by_subject else None,
                customer_id=row.customer_id if by_customer else None, group_by=dict(row.groups),
            ))  # fmt: skip
        ungrouped = query.window_size is None and not group_keys and not by_subject and not by_customer
        if not result and ungrouped and meter.aggregation in (Aggregation.COUNT, Aggregation.UNIQUE_COUNT):
            epoch = from_epoch(0)
            result.append(ResultRow(
                value=Decimal(0), window_start=query.from_ or epoch, window_end=query.to or epoch + dt.timedelta(minutes=1),
                subject=None, customer_id=None, group_by={},
            ))  # fmt: skip
        # Every row has the same group-by keys, in the same order: their values order the rows.
        result.sort(key=lambda r: (r.window_start, r.subject or "", r.customer_id or "", tuple(r.group_by.values())))
        return QueryResult(meter, query, result, group_keys, by_subject, by_customer)


_FIXED_ZONES = {"UTC", "GMT", "UCT", "Universal", "Zulu", "Greenwich", "GMT0", "GMT+0", "GMT-0"}


def _fixed_offset(tz: ZoneInfo) -> int | None:
    """The UTC offset (seconds) of a zone that never changes it (UTC, Etc/GMT+5, ...); None otherwise."""
    key = tz.key or ""
    if key in _FIXED_ZONES or key.startswith("Etc/"):
        return int(tz.utcoffset(dt.datetime(2000, 1, 1)).total_seconds())
    return None


def _with(spec: UsageSpec, **changes: Any) -> UsageSpec:
    import dataclasses

    return dataclasses.replace(spec, **changes)


def to_csv(result: QueryResult, display_names: dict[str, str] | None = None) -> str:
    """The CSV form of a result (openmeter-core.md 4.4), values with six decimals."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    names = display_names or {}
    header = ["window_start", "window_end"]
    if result.by_subject:
        header.append("subject")
        if names:
            header.append("subject_display_name")
    if result.by_customer:
        header.append("customer_id")
    header += result.group_by
    header.append("value")
    writer.writerow(header)

    def stamp(value: dt.datetime) -> str:
        text = value.replace(microsecond=0).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    for row in result.rows:
        line = [stamp(row.window_start), stamp(row.window_end)]
        if result.by_subject:
            line.append(row.subject or "")
            if names:
                line.append(names.get(row.subject or "", ""))
        if result.by_customer:
            line.append(row.customer_id or "")
        line += [row.group_by.get(key, "") for key in result.group_by]
        line.append(format(row.value, ".6f"))
        writer.writerow(line)
    return out.getvalue()


def group_by_values(session: Session, meter: Meter, key: str, from_: dt.datetime | None, to: dt.datetime | None,
                    *, now: dt.datetime) -> list[str]:  # fmt: skip
    """Distinct values of one of the meter's group-by keys in [from, to), ascending; from defaults to 24 h ago."""
    from storage.events import UsageRepository

    if key not in meter.group_by:
        raise NotFoundError(f"meter {meter.key} has no group by key {key}", resource="Group by key")
    if from_ is None and to is None:
        from_ = now - dt.timedelta(hours=24)
    lo = epoch_seconds(from_) if from_ is not None else None
    hi = ceil_seconds(to) if to is not None else None
    return UsageRepository(session).group_values(meter, key, lo=lo, hi=hi)
