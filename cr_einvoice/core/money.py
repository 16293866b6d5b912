"""Money and quantity arithmetic: the only place that rounds.

Hacienda's rule (Anexos v4.4, "redondeo"): amounts carry 5 decimals; look at the 6th decimal, below 5 keep,
5 or above add one unit in the 5th decimal -- ROUND_HALF_UP at 5 decimals. Quantities carry 3 decimals.
Floats are refused everywhere: they cannot represent the amounts exactly.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from cr_einvoice.core.errors import ValidationError

__all__ = [
    "AMOUNT_MAX",
    "ONE_HUNDRED",
    "ZERO",
    "fmt_amount",
    "fmt_quantity",
    "fmt_rate",
    "q3",
    "q5",
    "to_decimal",
]

ZERO = Decimal("0")
ONE_HUNDRED = Decimal("100")
_Q5 = Decimal("0.00001")
_Q3 = Decimal("0.001")
_Q2 = Decimal("0.01")
#: DecimalDineroType: at most 13 integer digits and 5 decimals.
AMOUNT_MAX = Decimal("9999999999999.99999")


def q5(value: Decimal) -> Decimal:
    """Round an amount half-up to 5 decimals (Hacienda's rule)."""
    return value.quantize(_Q5, rounding=ROUND_HALF_UP)


def q3(value: Decimal) -> Decimal:
    """Round a quantity half-up to 3 decimals (Cantidad is decimal(16,3))."""
    return value.quantize(_Q3, rounding=ROUND_HALF_UP)


def to_decimal(value: object, field: str) -> Decimal:
    """Convert user input (``Decimal``, ``int`` or a numeric string) to ``Decimal``.

    Floats and booleans are refused with an error naming ``field``: ``0.1`` cannot be represented exactly.
    """
    if isinstance(value, bool):
        raise ValidationError(f"expected a number, got a boolean {value!r}", path=field)
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise ValidationError(f"{value!r} is not a number", path=field) from None
    elif isinstance(value, float):
        raise ValidationError(
            f"got the float {value!r}; pass a Decimal or a string such as '{value}' so the amount is exact",
            path=field,
        )
    else:
        raise ValidationError(f"expected a number, got {type(value).__name__}", path=field)
    if not result.is_finite():
        raise ValidationError(f"{value!r} is not a finite number", path=field)
    return result


def fmt_amount(value: Decimal) -> str:
    """Render an amount as Hacienda writes it: plain notation, exactly 5 decimals."""
    return f"{q5(value):f}"


def fmt_quantity(value: Decimal) -> str:
    """Render a quantity with exactly 3 decimals."""
    return f"{q3(value):f}"


def fmt_rate(value: Decimal) -> str:
    """Render a percentage rate (Tarifa, PorcentajeOC) with 2 decimals, more only when needed."""
    if value == value.quantize(_Q2):
        return f"{value.quantize(_Q2):f}"
    return f"{q5(value).normalize():f}"
