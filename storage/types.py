"""Column types and SQL functions that behave the same on SQLite and PostgreSQL.

- `ExactDecimal`: money and usage. PostgreSQL `NUMERIC` (arbitrary precision); on SQLite a canonical
  decimal string, because SQLite's own numeric affinity would turn it into a float.
- `UtcDateTime`: timezone-aware UTC datetimes in and out; naive values are refused.
- `exact_sum`, `exact_min`, `exact_max`: aggregates over `ExactDecimal` that run in the database and
  stay exact: plain `sum`/`min`/`max` on PostgreSQL, decimal aggregates registered on every SQLite
  connection (see `storage.db`). Note that `ORDER BY` or `<` on an `ExactDecimal` column is textual on
  SQLite; compare decimals in SQL only through these functions.
"""

from __future__ import annotations

import datetime as dt
import decimal
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Numeric, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import GenericFunction
from sqlalchemy.types import TypeDecorator

# Enough digits that sums of float64-sized values never round.
DECIMAL_CONTEXT = decimal.Context(prec=80, rounding=decimal.ROUND_HALF_EVEN)


def decimal_text(value: Decimal) -> str:
    """Canonical text of a decimal: no exponent, no trailing zeros after the point, `0` for zero."""
    if not value.is_finite():
        raise ValueError(f"not a finite decimal: {value}")
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text


class ExactDecimal(TypeDecorator):
    impl = Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String())
        return dialect.type_descriptor(Numeric(asdecimal=True))

    def process_bind_param(self, value: Any, dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            if isinstance(value, float):
                raise TypeError("ExactDecimal refuses floats; pass a Decimal or a str")
            value = Decimal(value)
        return decimal_text(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect) -> Decimal | None:
        if value is None:
            return None
        return value if isinstance(value, Decimal) else Decimal(str(value))


class UtcDateTime(TypeDecorator):
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: Tollgate stores UTC instants only")
        value = value.astimezone(dt.timezone.utc)
        # SQLite keeps the text; a fixed format keeps textual order equal to time order.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


class exact_sum(GenericFunction):
    type = ExactDecimal()
    inherit_cache = True
    name = "exact_sum"


class exact_min(GenericFunction):
    type = ExactDecimal()
    inherit_cache = True
    name = "exact_min"


class exact_max(GenericFunction):
    type = ExactDecimal()
    inherit_cache = True
    name = "exact_max"


@compiles(exact_sum)
def _sum_default(element, compiler, **kw):
    return f"sum({compiler.process(element.clauses, **kw)})"


@compiles(exact_min)
def _min_default(element, compiler, **kw):
    return f"min({compiler.process(element.clauses, **kw)})"


@compiles(exact_max)
def _max_default(element, compiler, **kw):
    return f"max({compiler.process(element.clauses, **kw)})"


@compiles(exact_sum, "sqlite")
def _sum_sqlite(element, compiler, **kw):
    return f"decimal_sum({compiler.process(element.clauses, **kw)})"


@compiles(exact_min, "sqlite")
def _min_sqlite(element, compiler, **kw):
    return f"decimal_min({compiler.process(element.clauses, **kw)})"


@compiles(exact_max, "sqlite")
def _max_sqlite(element, compiler, **kw):
    return f"decimal_max({compiler.process(element.clauses, **kw)})"


class _DecimalSum:
    def __init__(self) -> None:
        self.total: Decimal | None = None

    def step(self, value: Any) -> None:
        if value is None:
            return
        self.total = DECIMAL_CONTEXT.add(self.total or Decimal(0), Decimal(str(value)))

    def finalize(self) -> str | None:
        return None if self.total is None else decimal_text(self.total)


class _DecimalExtreme:
    pick = staticmethod(min)

    def __init__(self) -> None:
        self.best: Decimal | None = None

    def step(self, value: Any) -> None:
        if value is None:
            return
        number = Decimal(str(value))
        self.best = number if self.best is None else self.pick(self.best, number)

    def finalize(self) -> str | None:
        return None if self.best is None else decimal_text(self.best)


class _DecimalMin(_DecimalExtreme):
    pick = staticmethod(min)


class _DecimalMax(_DecimalExtreme):
    pick = staticmethod(max)


def register_sqlite_functions(dbapi_connection) -> None:
    """Give a SQLite connection the exact decimal aggregates (`decimal_sum`, `decimal_min`, `decimal_max`)."""
    dbapi_connection.create_aggregate("decimal_sum", 1, _DecimalSum)
    dbapi_connection.create_aggregate("decimal_min", 1, _DecimalMin)
    dbapi_connection.create_aggregate("decimal_max", 1, _DecimalMax)
