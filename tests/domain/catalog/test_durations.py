"""ISO 8601 durations and cadence alignment (openmeter-billing.md 0)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from domain.catalog.durations import HOUR, InvalidDuration, aligned, parse


@pytest.mark.parametrize("text", ["P1M", "P1Y", "P2W", "PT1H30M", "P1DT12H", "PT0.5S", "-P1D", "P"])
def test_the_grammar_the_spec_states_parses(text):
    parse(text)


@pytest.mark.parametrize("text", ["", "1D", "P1.5D", "P1D1Y", "monthly", "PT1H1D"])
def test_anything_else_is_refused(text):
    with pytest.raises(InvalidDuration):
        parse(text)


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("P1Y", "P1M", True), ("P3M", "P1M", True), ("P1M", "P1D", True), ("P1M", "PT1H", True), ("P1M", "P1M", True),
    ("P1M", "P1W", False), ("P1M", "P2M", True), ("P2M", "P3M", False), ("P1W", "P1D", True), ("P1M", "P4W", False),
])  # fmt: skip
def test_alignment_holds_only_for_every_month_and_day_length(a, b, expected):
    assert aligned(parse(a), parse(b)) is expected
    assert aligned(parse(b), parse(a)) is expected


def test_length_checks():
    assert parse("PT1H").at_least(HOUR) and not parse("PT59M").at_least(HOUR)
    assert parse("P1D").is_positive and not parse("-P1D").is_positive and parse("P").is_zero
    assert parse("PT1.5S").lengths()[0] == Fraction(3, 2)
