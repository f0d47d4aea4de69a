"""Request validation details that connexion's defaults get wrong."""

from __future__ import annotations

import pytest
from jsonschema import Draft4Validator

from tollgate.validation import _compiled_validator, unstorable_text

DATE = {"type": "string", "format": "date"}


@pytest.mark.parametrize("value", ["2020-13-01", "2021-02-30", "2021-2-3", "2021-02-03T00:00:00Z", "tomorrow"])
def test_format_date_refuses_what_is_not_an_rfc3339_full_date(value):
    assert not _compiled_validator(DATE, Draft4Validator).is_valid(value)


@pytest.mark.parametrize("value", ["2020-12-31", "2024-02-29"])
def test_format_date_accepts_full_dates(value):
    assert _compiled_validator(DATE, Draft4Validator).is_valid(value)


def test_unstorable_text_names_where_it_is():
    assert unstorable_text({"a": [1, "ok", {"b": "x\x00"}]}) == "/a/2/b"
    assert unstorable_text({"k\ud800": 1}) is not None
    assert unstorable_text({"a": ["\U0001F600"]}) is None
