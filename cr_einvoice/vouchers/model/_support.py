"""What every model module shares: the wide decimal context, the computed-range check, the e-mail pattern."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Context, Decimal, localcontext
from typing import TypeVar

from cr_einvoice.core.checks import Check
from cr_einvoice.core.money import AMOUNT_MAX

__all__ = ["EMAIL", "check_range", "wide"]

#: Computations run with ample precision so that even out-of-range inputs are computed exactly and then
#: reported (a default 28-digit context would raise on 13-digit quantities times 13-digit prices).
_WIDE = Context(prec=80)
_F = TypeVar("_F", bound=Callable[..., None])


def wide(method: _F) -> _F:
    """Run ``__post_init__`` in the wide decimal context."""

    def run(self: object) -> None:
        with localcontext(_WIDE):
            method(self)

    run.__name__ = method.__name__
    run.__doc__ = method.__doc__
    return run  # type: ignore[return-value]


def check_range(c: Check, values: Mapping[str, Decimal]) -> None:
    """Computed amounts must fit DecimalDineroType (13 integer digits)."""
    for name, value in values.items():
        if value > AMOUNT_MAX:
            c.add(name, f"the computed amount {value} exceeds {AMOUNT_MAX}", always=True)


EMAIL = re.compile(
    r"\s*[^<>()\[\].,;:\s@\"]+(\.[^<>()\[\].,;:\s@\"]+)*@([^<>()\[\].,;:\s@\"]+\.)+[^<>()\[\].,;:\s@\"]+\s*"
)
