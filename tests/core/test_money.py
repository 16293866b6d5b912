from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cr_einvoice.core.errors import ValidationError
from cr_einvoice.core.money import fmt_amount, fmt_quantity, fmt_rate, q3, q5, to_decimal


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # The two examples printed in the Anexos.
        ("20.203512", "20.20351"),
        ("20.203518", "20.20352"),
        # Exactly 5 in the 6th decimal rounds up (half-up, not banker's rounding).
        ("481.4814750", "481.48148"),
        ("0.000005", "0.00001"),
        ("2.5000050", "2.50001"),
        ("-1.000005", "-1.00001"),
        ("3703.70367", "3703.70367"),
    ],
)
def test_q5_is_half_up_at_five_decimals(raw: str, expected: str) -> None:
    assert q5(Decimal(raw)) == Decimal(expected)
    assert str(q5(Decimal(raw))) == expected


def test_q3_rounds_quantities() -> None:
    assert q3(Decimal("1.0005")) == Decimal("1.001")
    assert q3(Decimal("1.0004")) == Decimal("1.000")


def test_worked_example_line_tax() -> None:
    # notes §9.3: 3703.70367 x 13 % = 481.4814771 -> 481.48148
    assert q5(Decimal("3703.70367") * Decimal("13") / Decimal("100")) == Decimal("481.48148")


def test_to_decimal_accepts_exact_inputs() -> None:
    assert to_decimal("12.5", "precio") == Decimal("12.5")
    assert to_decimal(3, "cantidad") == Decimal(3)
    assert to_decimal(Decimal("1.1"), "x") == Decimal("1.1")


@pytest.mark.parametrize("bad", [0.1, True, "abc", "NaN", "Infinity", None, [1]])
def test_to_decimal_refuses_inexact_or_invalid_input_naming_the_field(bad: object) -> None:
    with pytest.raises(ValidationError) as info:
        to_decimal(bad, "lineas[1].precio_unitario")
    assert "lineas[1].precio_unitario" in str(info.value)
    assert info.value.problems[0].path == "lineas[1].precio_unitario"


def test_float_error_suggests_the_fix() -> None:
    with pytest.raises(ValidationError, match="pass a Decimal or a string"):
        to_decimal(19.99, "monto")


def test_formatting() -> None:
    assert fmt_amount(Decimal("1000")) == "1000.00000"
    assert fmt_amount(Decimal("1E+3")) == "1000.00000"
    assert fmt_amount(Decimal("0.1234567")) == "0.12346"
    assert fmt_quantity(Decimal("2")) == "2.000"
    assert fmt_rate(Decimal("13")) == "13.00"
    assert fmt_rate(Decimal("0.5")) == "0.50"
    assert fmt_rate(Decimal("2.125")) == "2.125"


@given(st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), allow_nan=False, places=8))
def test_q5_never_moves_more_than_half_a_unit(value: Decimal) -> None:
    rounded = q5(value)
    assert abs(rounded - value) <= Decimal("0.000005")
    assert rounded.as_tuple().exponent == -5
