"""The JSONPath subset meters use, with ClickHouse `JSON_VALUE` semantics (openmeter-core.md 3.4).

A path is `$` followed by `.name` or `[index]` steps (`$.tokens.input`, `$.items[0]`). The value of a
path in an event's data is the text of a scalar (a JSON string as is, numbers as written, booleans as
`true`/`false`), `None` for JSON null, and `""` when the path is missing or names an object or array.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

PATH_PATTERN = r"^\$(\.[A-Za-z0-9_-]+|\[[0-9]+\])+$"
_PATH = re.compile(PATH_PATTERN)
_STEP = re.compile(r"\.([A-Za-z0-9_-]+)|\[([0-9]+)\]")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def is_valid_path(path: str) -> bool:
    return bool(_PATH.match(path))


def parse_path(path: str) -> tuple[str | int, ...]:
    if not is_valid_path(path):
        raise ValueError(f"invalid JSONPath: {path}")
    return tuple(name if name else int(index) for name, index in _STEP.findall(path[1:]))


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if value == value and value not in (float("inf"), float("-inf")) else ""
    if isinstance(value, Decimal):
        return str(value)
    return ""  # object or array


def extract_text(data: Any, steps: tuple[str | int, ...]) -> str | None:
    """`JSON_VALUE(data, path)`: scalar text, None for JSON null, "" when missing or not a scalar."""
    current = data
    for step in steps:
        if isinstance(step, int):
            if not isinstance(current, list) or step >= len(current):
                return ""
            current = current[step]
        else:
            if not isinstance(current, dict) or step not in current:
                return ""
            current = current[step]
    return _text(current)


def numeric(text: str | None) -> Decimal | None:
    """The exact number a value text stands for; None when it is not a finite number."""
    if text is None or not _NUMBER.match(text.strip()):
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    if not value.is_finite() or not -200 <= value.adjusted() <= 200:
        return None  # beyond float64's range: not a number a meter can aggregate
    return Decimal(0) if value.is_zero() else value
