"""Exact decimals and UTC timestamps behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, select

from storage.types import ExactDecimal, UtcDateTime, decimal_text, exact_max, exact_min, exact_sum

metadata = MetaData()
samples = Table(
    "test_exact_samples",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("grp", String(8)),
    Column("value", ExactDecimal),
    Column("at", UtcDateTime),
)


@pytest.fixture
def engine(backend):
    metadata.create_all(backend.database.engine)
    yield backend.database.engine
    metadata.drop_all(backend.database.engine)


def test_sums_are_exact_where_floats_drift(engine):
    with engine.begin() as connection:
        connection.execute(samples.insert(), [{"grp": "a", "value": Decimal("0.1")} for _ in range(10)])
        connection.execute(samples.insert(), [{"grp": "b", "value": Decimal("123.45678901234567890123")},
                                              {"grp": "b", "value": Decimal("-0.00000000000000000123")}])  # fmt: skip
        rows = dict(connection.execute(select(samples.c.grp, exact_sum(samples.c.value)).group_by(samples.c.grp)).all())
    assert rows == {"a": Decimal("1"), "b": Decimal("123.4567890123456789")}
    assert sum(0.1 for _ in range(10)) != 1.0  # the drift these types prevent


def test_min_and_max_compare_numbers_not_text(engine):
    with engine.begin() as connection:
        connection.execute(samples.insert(), [{"grp": "a", "value": Decimal(v)} for v in ("9", "10", "-2.5", "100.01")])
        low, high = connection.execute(select(exact_min(samples.c.value), exact_max(samples.c.value))).one()
    assert (low, high) == (Decimal("-2.5"), Decimal("100.01"))


def test_timestamps_come_back_as_utc(engine):
    berlin = dt.timezone(dt.timedelta(hours=1))
    with engine.begin() as connection:
        connection.execute(samples.insert(), [{"grp": "t", "at": dt.datetime(2024, 3, 1, 12, 0, tzinfo=berlin)}])
        (value,) = connection.execute(select(samples.c.at)).one()
    assert value == dt.datetime(2024, 3, 1, 11, 0, tzinfo=dt.timezone.utc)
    assert value.utcoffset() == dt.timedelta(0)


def test_naive_timestamps_and_floats_are_refused(engine):
    with pytest.raises(Exception, match="naive"), engine.begin() as connection:
        connection.execute(samples.insert(), [{"grp": "t", "at": dt.datetime(2024, 3, 1)}])
    with pytest.raises(Exception, match="floats"), engine.begin() as connection:
        connection.execute(samples.insert(), [{"grp": "f", "value": 0.1}])


@pytest.mark.parametrize(("value", "text"), [("1E+3", "1000"), ("0.500", "0.5"), ("-0.0", "0"), ("12.3400", "12.34")])
def test_decimal_text_is_canonical(value, text):
    assert decimal_text(Decimal(value)) == text
