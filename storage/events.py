"""Events, the per-meter usage rows derived from them, and the rollups that keep queries fast.

Tables:
- `om_events`: every ingested event once per (source, id); times are epoch seconds (UTC).
- `om_meter_events`: for each live meter, one row per event of its type at or after its eventFrom:
  subject, time, the exact value (`ExactDecimal`), the value text (UNIQUE_COUNT) and the canonical
  group-by values. Every query can be answered from here.
- `om_meter_rollups`: the same rows pre-aggregated per meter x subject x group values x UTC day
  (grain 86400), and across all subjects (subject "", negative grains) per UTC day and UTC hour: event
  count, value count, exact sum/min/max, the latest value (with its time and sequence) and the
  first/last event time. Maintained at ingest in the same transaction. A query whose bounds and
  windows all fall on a grain's boundaries reads the rollup; UNIQUE_COUNT and unaligned queries read
  `om_meter_events`.
  There is no per-subject hour grain: with many subjects nearly every event opens its own
  subject-hour cell, which doubled the rows written per event (and halved ingest throughput) to
  serve per-subject hour windows that `om_meter_events` answers from the (meter, subject, time)
  index anyway.

Aggregates stay exact and run in SQL: PostgreSQL NUMERIC, on SQLite the decimal aggregates of
`storage.types` plus the decimal scalar functions registered here.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable

from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint, bindparam, delete, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from domain.errors import ValidationError
from domain.metering.derive import MeterReader, group_index
from domain.metering.events import Event, StoredEvent, data_text
from domain.metering.meters import Aggregation, Meter
from domain.metering.spec import UsageRow, UsageSpec
from storage.base import Base
from storage.types import DECIMAL_CONTEXT, ExactDecimal, decimal_text

# SQLite has no 64-bit autoincrement under BigInteger; INTEGER PRIMARY KEY is its rowid.
_SEQ = BigInteger().with_variant(Integer(), "sqlite")
SUBJECT_GRAINS = (86400,)
# The same rollups over every subject together (stored as negative grains, subject ""): queries that
# neither filter nor group by subject or customer read far fewer rows.
ALL_SUBJECTS_GRAINS = (86400, 3600)


class EventRow(Base):
    __tablename__ = "om_events"

    seq: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(Text)
    event_id: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text)
    time: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[str | None] = mapped_column(Text)
    specversion: Mapped[str] = mapped_column(Text)
    dataschema: Mapped[str | None] = mapped_column(Text)
    ingested_at: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        UniqueConstraint("source", "event_id", name="uq_om_events_source_id"),
        Index("ix_om_events_time", "time"),
        Index("ix_om_events_type_time", "type", "time"),
        Index("ix_om_events_subject_time", "subject", "time"),
    )


class MeterEventRow(Base):
    __tablename__ = "om_meter_events"

    meter_id: Mapped[str] = mapped_column(String(26), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    subject: Mapped[str] = mapped_column(Text)
    time: Mapped[int] = mapped_column(BigInteger)
    value: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    value_text: Mapped[str | None] = mapped_column(Text)
    group_key: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        Index("ix_om_meter_events_meter_time", "meter_id", "time"),
        Index("ix_om_meter_events_meter_subject_time", "meter_id", "subject", "time"),
    )


class MeterRollupRow(Base):
    __tablename__ = "om_meter_rollups"

    meter_id: Mapped[str] = mapped_column(String(26), primary_key=True)
    grain: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(Text, primary_key=True)
    group_hash: Mapped[str] = mapped_column(String(40), primary_key=True)
    """SHA-1 of group_key: group values can be long, index entries cannot."""
    group_key: Mapped[str] = mapped_column(Text)
    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    events: Mapped[int] = mapped_column(BigInteger)
    value_count: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    minimum: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    maximum: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    latest_time: Mapped[int | None] = mapped_column(BigInteger)
    latest_seq: Mapped[int | None] = mapped_column(BigInteger)
    latest_value: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    first_time: Mapped[int] = mapped_column(BigInteger)
    last_time: Mapped[int] = mapped_column(BigInteger)

    # On PostgreSQL the table has fillfactor 70 (migration metering_0003): room on each page for the new
    # version of an updated cell, so it is updated in place (HOT) instead of adding entries to both
    # indexes on every batch that touches it.
    __table_args__ = (Index("ix_om_meter_rollups_meter_grain_bucket", "meter_id", "grain", "bucket"),)


_CELL_COLUMNS = ("meter_id", "grain", "subject", "group_hash", "group_key", "bucket", "events", "value_count", "total",
                 "minimum", "maximum", "latest_time", "latest_seq", "latest_value", "first_time", "last_time")  # fmt: skip


# --- SQLite decimal scalars ----------------------------------------------------------------------


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _whole(a: Any, b: Any) -> bool:
    """Both canonical texts of non-negative integers (the usual usage values): exact as ints, and
    ordered by (length, text) since canonical text has no leading zeros."""
    return type(a) is str and type(b) is str and a.isascii() and a.isdigit() and b.isascii() and b.isdigit()


def _dec_add(a: Any, b: Any) -> str | None:
    if _whole(a, b):
        return str(int(a) + int(b))
    x, y = _dec(a), _dec(b)
    if x is None or y is None:
        return a if y is None else b
    return decimal_text(DECIMAL_CONTEXT.add(x, y))


def _dec_pick(pick):
    def choose(a: Any, b: Any) -> str | None:
        if _whole(a, b):
            return a if pick((len(a), a), (len(b), b)) == (len(a), a) else b
        x, y = _dec(a), _dec(b)
        if x is None or y is None:
            return a if y is None else b
        return a if pick(x, y) is x else b

    return choose


def _sqlite_functions(session: Session) -> None:
    raw = session.connection().connection.driver_connection
    raw.create_function("tg_dec_add", 2, _dec_add, deterministic=True)
    raw.create_function("tg_dec_min", 2, _dec_pick(min), deterministic=True)
    raw.create_function("tg_dec_max", 2, _dec_pick(max), deterministic=True)


@dataclass(frozen=True)
class _Dialect:
    name: str

    @property
    def sqlite(self) -> bool:
        return self.name == "sqlite"

    def add(self, a: str, b: str) -> str:
        return f"tg_dec_add({a}, {b})" if self.sqlite else f"COALESCE({a} + {b}, {a}, {b})"

    def least(self, a: str, b: str, decimal: bool = True) -> str:
        if self.sqlite:
            return f"tg_dec_min({a}, {b})" if decimal else f"min({a}, {b})"
        return f"LEAST({a}, {b})"

    def greatest(self, a: str, b: str, decimal: bool = True) -> str:
        if self.sqlite:
            return f"tg_dec_max({a}, {b})" if decimal else f"max({a}, {b})"
        return f"GREATEST({a}, {b})"

    def sum(self, a: str) -> str:
        return f"decimal_sum({a})" if self.sqlite else f"sum({a})"

    def min(self, a: str) -> str:
        return f"decimal_min({a})" if self.sqlite else f"min({a})"

    def max(self, a: str) -> str:
        return f"decimal_max({a})" if self.sqlite else f"max({a})"

    def group_value(self, column: str, index: int) -> str:
        index = int(index)  # group values are stored as a JSON array, addressed by position
        if self.sqlite:
            return f"COALESCE(json_extract({column}, '$[{index}]'), '')"
        return f"COALESCE(({column})::jsonb ->> {index}, '')"


def _driver(session: Session) -> Any:
    """The DB-API connection of the session's transaction (the hot ingest path skips SQLAlchemy's per-row work)."""
    return session.connection().connection.driver_connection


# Bulk rows travel to PostgreSQL as one JSON array of arrays (decimals as strings, cast back to NUMERIC
# exactly): the C JSON encoder is far cheaper than psycopg's per-element array dumpers. Strings that
# PostgreSQL cannot store (NUL, unpaired surrogates) are refused before any handler (tollgate.validation).
_PG_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str).encode


def _pg_rows(types: list[str] | tuple[str, ...]) -> str:
    """`SELECT` list and `FROM` of the rows in the JSON parameter, in its order (ordinality `n`)."""
    cells = ", ".join(f"(r->>{i})::{t}" for i, t in enumerate(types))
    return f"{cells} FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS x(r, n)"


_EVENT_COLUMNS = "source, event_id, type, subject, time, data, specversion, dataschema, ingested_at"
_EVENT_TYPES = ("text", "text", "text", "text", "bigint", "text", "text", "text", "bigint")
# `seq` is a BIGSERIAL: its sequence has PostgreSQL's generated name.
_PG_NEXT_SEQS = "SELECT array_agg(nextval('om_events_seq_seq')) FROM generate_series(1, %s)"
# Events per statement in the ingest pipeline: small enough that PostgreSQL starts early, large enough
# that per-statement costs stay small.
_PIPELINE_CHUNK = 250


def _dialect(session: Session) -> _Dialect:
    return _Dialect(session.get_bind().dialect.name)


# --- events --------------------------------------------------------------------------------------


def _event_from_row(row: Any) -> Event:
    return Event(
        id=row.event_id, source=row.source, type=row.type, subject=row.subject, time=row.time,
        data=json.loads(row.data, parse_float=Decimal) if row.data is not None else None,
        specversion=row.specversion, dataschema=row.dataschema,
    )  # fmt: skip


class EventRepository:
    def __init__(self, session: Session):
        self.session = session
        self.dialect = _dialect(session)

    def ingest(self, events: list[Event], meters: list[Meter], *, ingested_at: int) -> int:
        """Insert the events new by (source, id), derive each live meter's rows; the number inserted."""
        rows = [(e.source, e.id, e.type, e.subject, e.time, data_text(e.data), e.specversion, e.dataschema, ingested_at) for e in events]
        if self.dialect.sqlite:
            return self._ingest_sqlite(events, rows, meters)
        return self._ingest_postgres(events, rows, meters)

    def _ingest_sqlite(self, events: list[Event], rows: list[tuple], meters: list[Meter]) -> int:
        # Writers hold the database lock (BEGIN IMMEDIATE): look up, then insert with explicit sequence numbers.
        cursor = _driver(self.session).cursor()
        existing: set[tuple[str, str]] = set()
        by_source: dict[str, list[str]] = defaultdict(list)
        for e in events:
            by_source[e.source].append(e.id)
        for source, ids in by_source.items():
            for chunk in _chunks(ids, 900):
                marks = ",".join("?" * len(chunk))
                query = f"SELECT event_id FROM om_events WHERE source = ? AND event_id IN ({marks})"
                existing.update((source, event_id) for (event_id,) in cursor.execute(query, [source, *chunk]))
        fresh = [i for i, row in enumerate(rows) if (row[0], row[1]) not in existing]
        if not fresh:
            return 0
        (top,) = cursor.execute("SELECT COALESCE(max(seq), 0) FROM om_events").fetchone()
        cursor.executemany(f"INSERT INTO om_events (seq, {_EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           [(top + 1 + n, *rows[i]) for n, i in enumerate(fresh)])  # fmt: skip
        stored = [(top + 1 + n, events[i]) for n, i in enumerate(fresh)]
        return self._meter(stored, meters)

    def _meter(self, stored: list[tuple[int, Event]], meters: list[Meter]) -> int:
        """Usage rows and rollups of newly stored events for every live meter of their type; how many."""
        usage = UsageRepository(self.session)
        for meter in meters:
            usage.apply(meter, [(seq, e) for seq, e in stored if e.type == meter.event_type])
        return len(stored)

    def _ingest_postgres(self, events: list[Event], rows: list[tuple], meters: list[Meter]) -> int:
        """The usual batch, all new, in one pipeline: PostgreSQL inserts one chunk while Python reads
        the next, so the two cores work at once. Sequence numbers are drawn first. When an event's
        (source, id) was stored before (a retried batch) or by a concurrent request, its chunk inserts
        fewer events than it sent: the batch is rolled back to its savepoint and goes the careful way.
        Nothing in the pipeline fails on purpose: psycopg could otherwise be left believing in a
        prepared statement whose PREPARE the server skipped."""
        raw = _driver(self.session)
        cursor = raw.cursor()
        (seqs,) = cursor.execute(_PG_NEXT_SEQS, [len(rows)]).fetchone()
        cursor.execute("SAVEPOINT tollgate_ingest")
        usage = UsageRepository(self.session)
        read = {meter.id: [] for meter in meters}
        sql = (f"INSERT INTO om_events (seq, {_EVENT_COLUMNS}) SELECT {_pg_rows(['bigint', *_EVENT_TYPES])} "
               "ON CONFLICT (source, event_id) DO NOTHING")  # fmt: skip
        inserts = []  # one cursor per chunk: each keeps its own row count
        with raw.pipeline():
            for start in range(0, len(rows), _PIPELINE_CHUNK):
                chunk = range(start, min(len(rows), start + _PIPELINE_CHUNK))
                inserts.append(raw.cursor())
                inserts[-1].execute(sql, [_PG_JSON([(seqs[i], *rows[i]) for i in chunk])])
                for meter in meters:
                    stored = [(seqs[i], events[i]) for i in chunk if events[i].type == meter.event_type]
                    meter_rows = usage_rows(meter, stored)
                    if meter_rows:
                        usage.insert(meter_rows)
                        read[meter.id] += meter_rows
            for meter in meters:  # one upsert per meter for the whole batch: fewer cells than per chunk
                if read[meter.id] and meter.aggregation is not Aggregation.UNIQUE_COUNT:
                    usage.roll_up(meter, read[meter.id])
        if sum(insert.rowcount for insert in inserts) != len(rows):
            cursor.execute("ROLLBACK TO SAVEPOINT tollgate_ingest")
            return self._ingest_postgres_new_only(events, rows, meters)
        cursor.execute("RELEASE SAVEPOINT tollgate_ingest")
        return len(rows)

    def _ingest_postgres_new_only(self, events: list[Event], rows: list[tuple], meters: list[Meter]) -> int:
        cursor = _driver(self.session).cursor()
        sql = (f"INSERT INTO om_events ({_EVENT_COLUMNS}) SELECT {_pg_rows(_EVENT_TYPES)} ORDER BY n "
               "ON CONFLICT (source, event_id) DO NOTHING RETURNING seq, source, event_id")  # fmt: skip
        cursor.execute(sql, [_PG_JSON(rows)])
        inserted = {(source, event_id): seq for seq, source, event_id in cursor.fetchall()}
        stored = [(inserted[(e.source, e.id)], e) for e in events if (e.source, e.id) in inserted]
        return self._meter(stored, meters)

    def _filtered(self, query, *, time_from=None, time_to=None, ingested_from=None, ingested_to=None,
                  id_contains=None, subject_contains=None, subjects=None, v2_filters=()):  # fmt: skip
        if time_from is not None:
            query = query.where(EventRow.time >= time_from)
        if time_to is not None:
            query = query.where(EventRow.time <= time_to)
        if ingested_from is not None:
            query = query.where(EventRow.ingested_at >= ingested_from)
        if ingested_to is not None:
            query = query.where(EventRow.ingested_at <= ingested_to)
        if id_contains:
            query = query.where(EventRow.event_id.contains(id_contains, autoescape=True))
        if subject_contains:
            query = query.where(EventRow.subject.contains(subject_contains, autoescape=True))
        if subjects is not None:
            query = query.where(EventRow.subject.in_(sorted(subjects)))
        for condition in v2_filters:
            query = query.where(condition)
        return query

    def list(self, *, limit: int, order_by_ingested: bool = False, before: tuple[int, str] | None = None, **filters: Any) -> list[StoredEvent]:
        query = self._filtered(select(EventRow), **filters)
        order_column = EventRow.ingested_at if order_by_ingested else EventRow.time
        if before is not None:
            stamp, event_id = before
            query = query.where((order_column < stamp) | ((order_column == stamp) & (EventRow.event_id < event_id)))
        query = query.order_by(order_column.desc(), EventRow.event_id.desc(), EventRow.seq.desc()).limit(limit)
        return [StoredEvent(seq=row.seq, event=_event_from_row(row), ingested_at=row.ingested_at) for row in self.session.scalars(query)]

    def counts_by_subject(self, *, ingested_from: int) -> list[tuple[str, int]]:
        from sqlalchemy import func

        query = (
            select(EventRow.subject, func.count())
            .where(EventRow.ingested_at >= ingested_from)
            .group_by(EventRow.subject)
            .order_by(EventRow.subject)
        )
        return [(subject, int(count)) for subject, count in self.session.execute(query)]

    def distinct_subjects(self, event_type: str, *, lo: int | None, hi: int | None) -> list[str]:
        query = select(EventRow.subject).where(EventRow.type == event_type).distinct()
        if lo is not None:
            query = query.where(EventRow.time >= lo)
        if hi is not None:
            query = query.where(EventRow.time < hi)
        return sorted(self.session.scalars(query))


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- usage -----------------------------------------------------------------------------------------


def usage_rows(meter: Meter, stored: list[tuple[int, Event]]) -> list[tuple]:
    """The meter's usage rows of stored events of its type (at or after its eventFrom): tuples of
    (meter_id, seq, subject, time, value, value_text, group_key), the columns of `om_meter_events`."""
    reader = MeterReader.of(meter)
    read, event_from, meter_id = reader.read, reader.event_from, meter.id
    rows = []
    for seq, event in stored:
        if event_from is not None and event.time < event_from:
            continue
        value, value_text, group_key = read(event.data)
        rows.append((meter_id, seq, event.subject, event.time, value, value_text, group_key))
    return rows


class UsageRepository:
    def __init__(self, session: Session):
        self.session = session
        self.dialect = _dialect(session)

    # -- writing --
    def derive(self, meter: Meter) -> None:
        """(Re)build a meter's usage rows and rollups from every stored event of its type."""
        self.session.execute(delete(MeterEventRow).where(MeterEventRow.meter_id == meter.id))
        self.session.execute(delete(MeterRollupRow).where(MeterRollupRow.meter_id == meter.id))
        query = select(EventRow).where(EventRow.type == meter.event_type).order_by(EventRow.seq).execution_options(yield_per=5000)
        batch: list[tuple[int, Event]] = []
        for row in self.session.scalars(query):
            batch.append((row.seq, _event_from_row(row)))
            if len(batch) >= 5000:
                self.apply(meter, batch)
                batch = []
        if batch:
            self.apply(meter, batch)

    def apply(self, meter: Meter, stored: list[tuple[int, Event]]) -> None:
        """Add newly stored events of the meter's type to its usage rows and rollups."""
        rows = usage_rows(meter, stored)
        if rows:
            self.insert(rows)
            if meter.aggregation is not Aggregation.UNIQUE_COUNT:
                self.roll_up(meter, rows)

    def insert(self, rows: list[tuple]) -> None:
        """Insert usage rows (`usage_rows`); on PostgreSQL also inside a pipeline (nothing is read back)."""
        cursor = _driver(self.session).cursor()
        columns = "meter_id, seq, subject, time, value, value_text, group_key"
        if self.dialect.sqlite:
            cursor.executemany(
                f"INSERT INTO om_meter_events ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(m, q, s, t, None if v is None else decimal_text(v), vt, g) for m, q, s, t, v, vt, g in rows],
            )  # fmt: skip
        else:
            types = ("text", "bigint", "text", "bigint", "numeric", "text", "text")
            cursor.execute(f"INSERT INTO om_meter_events ({columns}) SELECT {_pg_rows(types)}", [_PG_JSON(rows)])

    def roll_up(self, meter: Meter, rows: list[tuple]) -> None:
        # One cell per (grain, subject, group, bucket) of the batch, merged into the table by one upsert.
        # A cell is a list in the order of _CELL_COLUMNS (cheaper than a dict per cell at 3 cells per event).
        cells: dict[tuple, list] = {}
        hashes: dict[str, str] = {}
        meter_id = meter.id
        add = DECIMAL_CONTEXT.add
        for _, seq, subject, t, value, _, group in rows:
            group_hash = hashes.get(group)
            if group_hash is None:
                group_hash = hashes[group] = hashlib.sha1(group.encode("utf-8")).hexdigest()
            day, hour = t - t % 86400, t - t % 3600
            for key in ((86400, subject, group, day), (-86400, "", group, day), (-3600, "", group, hour)):  # the grains above
                cell = cells.get(key)
                if cell is None:
                    cells[key] = [meter_id, key[0], key[1], group_hash, group, key[3], 1, 0 if value is None else 1,
                                  value, value, value, None if value is None else t, None if value is None else seq, value, t, t]  # fmt: skip
                    continue
                cell[6] += 1
                if t < cell[14]:
                    cell[14] = t
                elif t > cell[15]:
                    cell[15] = t
                if value is None:
                    continue
                cell[7] += 1
                if cell[8] is None:
                    cell[8] = cell[9] = cell[10] = cell[13] = value
                    cell[11], cell[12] = t, seq
                    continue
                cell[8] = add(cell[8], value)
                if value < cell[9]:
                    cell[9] = value
                elif value > cell[10]:
                    cell[10] = value
                if t > cell[11] or (t == cell[11] and seq > cell[12]):
                    cell[11], cell[12], cell[13] = t, seq, value
        d = self.dialect
        if d.sqlite:
            _sqlite_functions(self.session)
            texts: dict[Decimal, str] = {}  # equal decimals have one canonical text
            for cell in cells.values():
                for i in (8, 9, 10, 13):
                    value = cell[i]
                    if value is not None:
                        text_ = texts.get(value)
                        cell[i] = text_ if text_ is not None else texts.setdefault(value, decimal_text(value))
        r, x = "om_meter_rollups", "excluded"
        newer = (f"({x}.latest_time IS NOT NULL AND ({r}.latest_time IS NULL OR {x}.latest_time > {r}.latest_time"
                 f" OR ({x}.latest_time = {r}.latest_time AND {x}.latest_seq > {r}.latest_seq)))")  # fmt: skip
        columns = _CELL_COLUMNS
        if d.sqlite:
            values = f"VALUES ({', '.join('?' for _ in columns)})"
        else:
            types = {"meter_id": "text", "grain": "integer", "subject": "text", "group_hash": "text", "group_key": "text", "bucket": "bigint",
                     "events": "bigint", "value_count": "bigint", "total": "numeric", "minimum": "numeric",
                     "maximum": "numeric", "latest_time": "bigint", "latest_seq": "bigint", "latest_value": "numeric",
                     "first_time": "bigint", "last_time": "bigint"}  # fmt: skip
            values = f"SELECT {_pg_rows([types[c] for c in columns])}"
        sql = (
            f"INSERT INTO {r} ({', '.join(columns)}) {values} "
            f"ON CONFLICT (meter_id, grain, subject, group_hash, bucket) DO UPDATE SET "
            f"events = {r}.events + {x}.events, value_count = {r}.value_count + {x}.value_count, "
            f"total = {d.add(f'{r}.total', f'{x}.total')}, "
            f"minimum = {d.least(f'{r}.minimum', f'{x}.minimum')}, maximum = {d.greatest(f'{r}.maximum', f'{x}.maximum')}, "
            f"latest_value = CASE WHEN {newer} THEN {x}.latest_value ELSE {r}.latest_value END, "
            f"latest_seq = CASE WHEN {newer} THEN {x}.latest_seq ELSE {r}.latest_seq END, "
            f"latest_time = CASE WHEN {newer} THEN {x}.latest_time ELSE {r}.latest_time END, "
            f"first_time = {d.least(f'{r}.first_time', f'{x}.first_time', decimal=False)}, "
            f"last_time = {d.greatest(f'{r}.last_time', f'{x}.last_time', decimal=False)}"
        )
        cursor = _driver(self.session).cursor()
        if d.sqlite:
            cursor.executemany(sql, list(cells.values()))
        else:
            cursor.execute(sql, [_PG_JSON(list(cells.values()))])

    # -- reading --
    def aggregate(self, spec: UsageSpec) -> list[UsageRow]:
        sql, params = _aggregate_sql(spec, self.dialect)
        if self.dialect.sqlite:
            _sqlite_functions(self.session)
        cursor = self.session.execute(sql, params)
        index = {name: i for i, name in enumerate(cursor.keys())}
        w, subject, customer, first, last = (index[n] for n in ("w", "subject", "customer_id", "first_time", "last_time"))
        groups = [(key, index[f"g{i}"]) for i, key in enumerate(spec.group_by)]
        aggregation = spec.meter.aggregation
        # A textual query has no result processors: the DB-API rows are the values (no Row objects to build).
        raw_rows = cursor.cursor.fetchall()
        cursor.close()
        result = []
        append = result.append
        v, n_values = index["v"], index["n_values"] if "n_values" in index else None
        if aggregation in (Aggregation.SUM, Aggregation.MIN, Aggregation.MAX, Aggregation.LATEST):
            convert = _dec
        elif aggregation in (Aggregation.COUNT, Aggregation.UNIQUE_COUNT):
            convert = _count
        else:
            convert = None
        for row in raw_rows:
            if convert is not None:
                value = convert(row[v])
            else:  # AVG
                total, count = _dec(row[v]), int(row[n_values] or 0)
                value = None if total is None or count == 0 else DECIMAL_CONTEXT.divide(total, Decimal(count))
            if value is None:
                continue
            append(UsageRow(row[w], row[subject], row[customer], {key: row[i] for key, i in groups}, value, row[first], row[last]))
        return result

    def time_range(self, meter: Meter, *, lo: int | None, hi: int | None) -> tuple[int, int] | None:
        from sqlalchemy import func

        def bound(aggregate):  # min and max in separate queries: each is one index probe
            query = select(aggregate(MeterEventRow.time)).where(MeterEventRow.meter_id == meter.id)
            if lo is not None:
                query = query.where(MeterEventRow.time >= lo)
            if hi is not None:
                query = query.where(MeterEventRow.time < hi)
            return self.session.execute(query).scalar()

        first, last = bound(func.min), bound(func.max)
        return None if first is None else (int(first), int(last))

    def group_values(self, meter: Meter, key: str, *, lo: int | None, hi: int | None) -> list[str]:
        column = self.dialect.group_value("group_key", group_index(meter, key))
        where, params = ["meter_id = :meter_id"], {"meter_id": meter.id}
        if lo is not None:
            where.append("time >= :lo")
            params["lo"] = lo
        if hi is not None:
            where.append("time < :hi")
            params["hi"] = hi
        sql = f"SELECT DISTINCT {column} AS v FROM om_meter_events WHERE {' AND '.join(where)}"
        return sorted(self.session.execute(text(sql), params).scalars())


def _count(v: Any) -> Decimal:
    return Decimal(int(v or 0))


# --- the aggregation query -------------------------------------------------------------------------

_SHIFT_DAYS = 10**6  # keeps (t + offset) positive for any time after year -800, so / floors


def _aligned(spec: UsageSpec, grain: int) -> bool:
    bounds = [b for b in (spec.lo, spec.hi) if b is not None]
    windows = spec.windows
    if windows is not None:
        if windows.ranges is not None:
            bounds += [b for pair in windows.ranges for b in pair]
        else:
            if windows.length % grain:
                return False
            bounds.append(windows.offset)
    return all(b % grain == 0 for b in bounds)


def _source(spec: UsageSpec) -> int | None:
    if spec.meter.aggregation is Aggregation.UNIQUE_COUNT:
        return None
    if spec.subjects is None and spec.customers is None and not spec.by_subject:
        grain = next((grain for grain in ALL_SUBJECTS_GRAINS if _aligned(spec, grain)), None)
        return None if grain is None else -grain
    return next((grain for grain in SUBJECT_GRAINS if _aligned(spec, grain)), None)


def _filter_sql(expr: str, flt: Any, params: dict, names: list[int]) -> str:
    """A FilterString (validated by the domain) as SQL over `expr`."""

    def bind(value: Any) -> str:
        names[0] += 1
        name = f"f{names[0]}"
        params[name] = value
        return f":{name}"

    def bind_list(values: list) -> str:
        return "(" + ", ".join(bind(v) for v in values) + ")" if values else "(NULL)"

    parts = [_one_filter_sql(expr, op, arg, bind, bind_list, params, names) for op, arg in flt.items() if arg is not None]
    return "(" + " AND ".join(parts) + ")" if parts else "1 = 1"


def _one_filter_sql(expr, op, arg, bind, bind_list, params, names) -> str:
    if op == "$eq":
        return f"{expr} = {bind(arg)}"
    if op == "$ne":
        return f"{expr} <> {bind(arg)}"
    if op == "$in":
        return f"{expr} IN {bind_list(arg)}" if arg else "1 = 0"
    if op == "$nin":
        return f"{expr} NOT IN {bind_list(arg)}" if arg else "1 = 1"
    if op in ("$like", "$nlike"):
        return f"{expr} {'NOT ' if op == '$nlike' else ''}LIKE {bind(arg)}"
    if op in ("$ilike", "$nilike"):
        return f"lower({expr}) {'NOT ' if op == '$nilike' else ''}LIKE lower({bind(arg)})"
    comparisons = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
    if op in comparisons:
        return f"{expr} {comparisons[op]} {bind(arg)}"
    if op in ("$and", "$or"):
        joiner = " AND " if op == "$and" else " OR "
        parts = [_filter_sql(expr, item, params, names) for item in arg]
        return "(" + joiner.join(parts) + ")" if parts else ("1 = 1" if op == "$and" else "1 = 0")
    raise ValidationError(f"unsupported filter operator: {op}")


def string_condition(column, flt: dict):
    """A FilterString over a string column as a SQLAlchemy condition (several operators: all must hold)."""
    from sqlalchemy import and_, false, func, not_, or_, true

    parts = []
    for op, arg in flt.items():
        if arg is None:
            continue
        if op == "$eq":
            parts.append(column == arg)
        elif op == "$ne":
            parts.append(column != arg)
        elif op == "$in":
            parts.append(column.in_(arg) if arg else false())
        elif op == "$nin":
            parts.append(not_(column.in_(arg)) if arg else true())
        elif op in ("$like", "$nlike"):
            parts.append(column.like(arg) if op == "$like" else not_(column.like(arg)))
        elif op in ("$ilike", "$nilike"):
            cond = func.lower(column).like(func.lower(arg))
            parts.append(cond if op == "$ilike" else not_(cond))
        elif op in ("$gt", "$gte", "$lt", "$lte"):
            parts.append({"$gt": column > arg, "$gte": column >= arg, "$lt": column < arg, "$lte": column <= arg}[op])
        elif op in ("$and", "$or"):
            items = [string_condition(column, item) for item in arg]
            parts.append((and_(*items) if op == "$and" else or_(*items)) if items else (true() if op == "$and" else false()))
    return and_(*parts) if parts else true()


def time_condition(column, flt: dict):
    """A FilterTime over an epoch-seconds column (values already epoch seconds)."""
    from sqlalchemy import and_, false, or_, true

    parts = []
    for op, arg in flt.items():
        if arg is None:
            continue
        if op in ("$gt", "$gte", "$lt", "$lte"):
            parts.append({"$gt": column > arg, "$gte": column >= arg, "$lt": column < arg, "$lte": column <= arg}[op])
        elif op in ("$and", "$or"):
            items = [time_condition(column, item) for item in arg]
            parts.append((and_(*items) if op == "$and" else or_(*items)) if items else (true() if op == "$and" else false()))
    return and_(*parts) if parts else true()


def _aggregate_sql(spec: UsageSpec, d: _Dialect):
    grain = _source(spec)
    meter = spec.meter
    params: dict[str, Any] = {"meter_id": meter.id}
    where = ["e.meter_id = :meter_id"]
    time_col = "e.time" if grain is None else "e.bucket"
    if grain is None:
        table = "om_meter_events e"
    else:
        table = "om_meter_rollups e"
        where.append("e.grain = :grain")
        params["grain"] = grain
    # With a subject filter the (meter, [grain,] subject, time) index is the one to use: a unary plus keeps
    # the planner from choosing the (meter, time) index on the time range instead.
    bound_col = f"+{time_col}" if spec.subjects is not None or spec.customers is not None else time_col
    if spec.lo is not None:
        where.append(f"{bound_col} >= :lo")
        params["lo"] = spec.lo
    if spec.hi is not None:
        where.append(f"{bound_col} < :hi")
        params["hi"] = spec.hi
    bind_params = []
    if spec.subjects is not None:
        where.append("e.subject IN :subjects")
        params["subjects"] = list(spec.subjects) or [""]
        bind_params.append(bindparam("subjects", expanding=True))
    customer_expr = "NULL"
    if spec.customers is not None:
        every = sorted({s for _, subjects in spec.customers for s in subjects})
        where.append("e.subject IN :customer_subjects")
        params["customer_subjects"] = every or [""]
        bind_params.append(bindparam("customer_subjects", expanding=True))
        cases = []
        for index, (customer_id, subjects) in enumerate(spec.customers):
            if subjects:
                params[f"c{index}"] = customer_id
                params[f"cs{index}"] = list(subjects)
                bind_params.append(bindparam(f"cs{index}", expanding=True))
                cases.append(f"WHEN e.subject IN :cs{index} THEN :c{index}")
        customer_expr = f"CASE {' '.join(cases)} END" if cases else "NULL"
    counter = [0]
    for key, flt in spec.group_filters:
        where.append(_filter_sql(d.group_value("e.group_key", group_index(meter, key)), flt, params, counter))

    join = ""
    window_expr = "NULL"
    windows = spec.windows
    if windows is not None and windows.ranges is not None:
        values = ", ".join(f"({i}, {int(lo)}, {int(hi)})" for i, (lo, hi) in enumerate(windows.ranges))
        join = f" JOIN (SELECT column1 AS idx, column2 AS lo, column3 AS hi FROM (VALUES {values}) AS v) w ON {time_col} >= w.lo AND {time_col} < w.hi"
        if not d.sqlite:
            join = f" JOIN (VALUES {values}) AS w(idx, lo, hi) ON {time_col} >= w.lo AND {time_col} < w.hi"
        window_expr = "w.idx"
    elif windows is not None:
        length, offset = int(windows.length), int(windows.offset)
        shift = _SHIFT_DAYS * 86400 // length * length
        window_expr = f"((({time_col} + {offset + shift}) / {length}) * {length} - {offset + shift})"

    group_exprs = [("w", window_expr), ("subject", "e.subject" if spec.by_subject else "NULL"), ("customer_id", customer_expr)]
    group_exprs += [(f"g{i}", d.group_value("e.group_key", group_index(meter, key))) for i, key in enumerate(spec.group_by)]
    select_groups = ", ".join(f"{expr} AS {name}" for name, expr in group_exprs)
    grouped = [expr for _, expr in group_exprs if expr != "NULL"]
    first_col, last_col = ("e.time", "e.time") if grain is None else ("e.first_time", "e.last_time")
    agg = meter.aggregation
    from_where = f"FROM {table}{join} WHERE {' AND '.join(where)}"

    if agg is Aggregation.LATEST:
        value_col, time_c, seq_col = ("e.value", "e.time", "e.seq") if grain is None else ("e.latest_value", "e.latest_time", "e.latest_seq")
        partition = f"PARTITION BY {', '.join(grouped)} " if grouped else ""
        inner = (
            f"SELECT {select_groups}, {value_col} AS v, "
            f"ROW_NUMBER() OVER ({partition}ORDER BY {time_c} DESC, {seq_col} DESC) AS rn, "
            f"MIN({first_col}) OVER ({partition.strip()}) AS first_time, MAX({last_col}) OVER ({partition.strip()}) AS last_time "
            f"{from_where} AND {value_col} IS NOT NULL"
        )
        names = ", ".join(name for name, _ in group_exprs)
        sql = f"SELECT {names}, v, first_time, last_time FROM ({inner}) ranked WHERE rn = 1"
    else:
        if grain is None:
            value = {
                Aggregation.SUM: d.sum("e.value"), Aggregation.COUNT: "count(*)", Aggregation.AVG: d.sum("e.value"),
                Aggregation.MIN: d.min("e.value"), Aggregation.MAX: d.max("e.value"),
                Aggregation.UNIQUE_COUNT: "count(DISTINCT e.value_text)",
            }[agg]  # fmt: skip
            n_values = "count(e.value)"
        else:
            value = {
                Aggregation.SUM: d.sum("e.total"), Aggregation.COUNT: "sum(e.events)", Aggregation.AVG: d.sum("e.total"),
                Aggregation.MIN: d.min("e.minimum"), Aggregation.MAX: d.max("e.maximum"),
            }[agg]  # fmt: skip
            n_values = "sum(e.value_count)"
        positions = [str(i + 1) for i, (_, expr) in enumerate(group_exprs) if expr != "NULL"]
        group_clause = f" GROUP BY {', '.join(positions)}" if positions else ""
        sql = (
            f"SELECT {select_groups}, {value} AS v, {n_values} AS n_values, min({first_col}) AS first_time, "
            f"max({last_col}) AS last_time, count(*) AS n_rows {from_where}{group_clause}"
        )
        if not grouped:
            sql = f"SELECT * FROM ({sql}) totals WHERE n_rows > 0"
    statement = text(sql)
    if bind_params:
        statement = statement.bindparams(*bind_params)
    return statement, params
