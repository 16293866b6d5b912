"""How the graphic representation writes numbers and dates: the Costa Rican convention chosen for print.

* **Amounts**: decimal comma, thousands grouped by a no-break space (``1 234 567,89``), the International
  System's writing rule that Costa Rica adopted for its official measurements; it cannot be misread as the
  US ``1,234.56`` or the European ``1.234,56``. At least two decimals; more only when the XML carries
  them (``12,34567``). Nothing is rounded for print: the figure is the one the signed XML states, so a
  reader can check it against the XML digit by digit.
* **Quantities**: the same grouping, no trailing zeros (``2``, ``2,5``, ``1 500``).
* **Rates**: ``13 %``, ``0,5 %``.
* **Dates**: FechaEmision in Costa Rica time (UTC−06:00, no daylight saving) as ``dd/mm/aaaa hh:mm:ss``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from cr_einvoice.core.clave import CR_TZ, to_cr_time

__all__ = ["GROUP", "fecha", "fecha_hora", "fmt_cantidad", "fmt_monto", "fmt_porcentaje"]

#: The thousands separator: a no-break space, so a figure never breaks across lines.
GROUP = "\u00a0"


#: Zero as each kind of figure prints it (a voucher's summary is mostly zeros).
_ZEROS = {0: "0", 2: "0,00"}


def _format(value: Decimal, min_decimals: int) -> str:
    if not value and not value.is_signed():
        return _ZEROS[min_decimals]
    # Python's own grouping (``1,234.5``, in C) with the separators swapped: a third of the time of
    # grouping the digits here, for the thousand amounts of a long invoice
    whole, _, frac = f"{value:,f}".partition(".")
    frac = frac.rstrip("0").ljust(min_decimals, "0")
    whole = whole.replace(",", GROUP)
    return f"{whole},{frac}" if frac else whole


def fmt_monto(value: Decimal) -> str:
    """``Decimal("1234567.89000")`` → ``"1 234 567,89"`` (at least 2 decimals, never rounded)."""
    return _format(value, 2)


def fmt_cantidad(value: Decimal) -> str:
    """``Decimal("2.500")`` → ``"2,5"``; ``Decimal("1500")`` → ``"1 500"``."""
    return _format(value, 0)


def fmt_porcentaje(value: Decimal) -> str:
    """``Decimal("13.00")`` → ``"13 %"``."""
    return f"{_format(value, 0)}{GROUP}%"


def _cr(value: datetime) -> datetime:
    # a v4.2/v4.3 voucher may carry a time without offset: it was written in Costa Rica time
    return value.replace(tzinfo=CR_TZ) if value.tzinfo is None else to_cr_time(value)


def fecha_hora(value: datetime) -> str:
    """A datetime in Costa Rica time: ``15/07/2026 09:30:00`` (a naive one is taken as CR time)."""
    return _cr(value).strftime("%d/%m/%Y %H:%M:%S")


def fecha(value: datetime) -> str:
    """The Costa Rica calendar date: ``15/07/2026``."""
    return _cr(value).strftime("%d/%m/%Y")
