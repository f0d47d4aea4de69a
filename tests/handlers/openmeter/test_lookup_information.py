"""OpenMeter lookup information (currencies, progress) through the generated client, on every backend."""

from __future__ import annotations

import pytest

from generated.runtime import NotFoundError


def test_currencies_are_the_iso_4217_ones_with_their_minor_units(om):
    currencies = {c.code: c for c in om.list_currencies()}
    assert len(currencies) > 150
    assert (currencies["USD"].name, currencies["USD"].symbol, currencies["USD"].subunits) == ("US Dollar", "$", 2)
    assert currencies["EUR"].symbol == "€" and currencies["JPY"].subunits == 0 and currencies["KWD"].subunits == 3
    assert "XXX" not in currencies and "XAU" not in currencies  # test codes and metals are not billing currencies
    assert [c.code for c in om.list_currencies()] == sorted(currencies)


def test_every_listed_currency_is_accepted_for_a_customer(om):
    codes = [c.code for c in om.list_currencies()]
    for index, code in enumerate(codes[:: max(1, len(codes) // 10)]):
        assert om.create_customer(body={"name": "c", "key": f"c{index}", "currency": code}).currency == code


def test_unknown_progress_is_404(om):
    with pytest.raises(NotFoundError):
        om.get_progress(id="no-such-client")
