"""Field checks shared by every model that validates its own fields at construction.

A :class:`Check` collects the problems of one object and raises them together as one
:class:`~cr_einvoice.core.errors.ValidationError` whose paths name the fields. Inside :func:`reading_received`
the format checks (lengths, patterns, per-type restrictions) are skipped but types are still converted, so a
voucher received from a supplier, or an older v4.3 one, can always be read and then inspected.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

from cr_einvoice.core.clave import CR_TZ
from cr_einvoice.core.errors import Problem, ValidationError
from cr_einvoice.core.money import AMOUNT_MAX, to_decimal

__all__ = ["Check", "as_cr_time", "lenient", "reading_received"]

_E = TypeVar("_E", bound=StrEnum)
_T = TypeVar("_T")

_LENIENT: ContextVar[bool] = ContextVar("cr_einvoice_model_lenient", default=False)


@contextmanager
def reading_received() -> Iterator[None]:
    """Inside this block, constructors skip Hacienda's format and business checks (lengths, patterns,
    per-type restrictions, payment sums) but still convert types. :mod:`cr_einvoice.vouchers.xmlread` uses it
    so a voucher received from a supplier (or an older v4.3 one) can always be read and then inspected."""
    token = _LENIENT.set(True)
    try:
        yield
    finally:
        _LENIENT.reset(token)


def lenient() -> bool:
    return _LENIENT.get()


class Check:
    """Collects problems for one object; ``done()`` raises them all at once."""

    __slots__ = ("obj", "problems")

    def __init__(self, obj: object) -> None:
        self.obj = obj
        self.problems: list[Problem] = []

    def add(self, path: str, message: str, *, always: bool = False) -> None:
        if always or not lenient():
            self.problems.append(Problem(path, message))

    def set(self, name: str, value: object) -> None:
        object.__setattr__(self.obj, name, value)

    def nested(self, prefix: str, exc: ValidationError) -> None:
        for p in exc.problems:
            sep = "" if p.path.startswith("[") else "."
            self.problems.append(Problem(f"{prefix}{sep}{p.path}" if p.path else prefix, p.message, p.code))

    def done(self) -> None:
        if self.problems:
            raise ValidationError(self.problems)

    # -- converters: each returns the converted value or None after recording a problem ----------------

    def _given(self, name: str, optional: bool) -> Any:
        """The field's value; a missing (None) required field is recorded."""
        value = getattr(self.obj, name)
        if value is None and not optional:
            self.add(name, "is required", always=True)
        return value

    def amount(
        self, name: str, *, optional: bool = False, positive: bool = False, decimals: int = 5
    ) -> Decimal | None:
        value = self._given(name, optional)
        if value is None:
            return None
        try:
            dec = to_decimal(value, name)
        except ValidationError as exc:
            self.problems.extend(exc.problems)
            return None
        exponent = dec.as_tuple().exponent
        if (
            isinstance(exponent, int)
            and exponent < -decimals
            and dec != dec.quantize(Decimal(1).scaleb(-decimals))
        ):
            self.add(name, f"has more than {decimals} decimals: {dec}")
        if dec < 0:
            self.add(name, f"must not be negative, got {dec}", always=True)
        elif positive and dec == 0:
            self.add(name, "must be greater than zero")
        if dec > AMOUNT_MAX:
            self.add(name, f"is larger than the maximum {AMOUNT_MAX}", always=True)
        self.set(name, dec)
        return dec

    def rate(
        self, name: str, *, optional: bool = True, max_digits: int = 4, decimals: int = 2
    ) -> Decimal | None:
        dec = self.amount(name, optional=optional, decimals=decimals)
        if dec is not None and dec >= Decimal(10) ** (max_digits - decimals):
            self.add(
                name, f"must have at most {max_digits - decimals} integer digits, got {dec}", always=True
            )
        return dec

    def enum(self, name: str, kind: type[_E], *, optional: bool = False) -> _E | None:
        value = self._given(name, optional)
        if value is None:
            return None
        try:
            member = kind(value)
        except ValueError:
            shown = ", ".join(m.value for m in kind) if len(kind) <= 25 else f"see catalogs.{kind.__name__}"
            self.add(name, f"unknown code {value!r} (expected {shown})", always=True)
            return None
        self.set(name, member)
        return member

    def text(
        self, name: str, *, min_len: int = 1, max_len: int | None = None, optional: bool = False
    ) -> str | None:
        value = self._given(name, optional)
        if value is None:
            return None
        if not isinstance(value, str):
            self.add(name, f"expected text, got {type(value).__name__}", always=True)
            return None
        if len(value) < min_len:
            self.add(name, f"must have at least {min_len} characters, got {len(value)}")
        if max_len is not None and len(value) > max_len:
            self.add(name, f"must have at most {max_len} characters, got {len(value)}")
        return value

    def pattern(self, name: str, regex: str, rule: str, *, optional: bool = False) -> str | None:
        value = self.text(name, optional=optional)
        if value is not None and not re.fullmatch(regex, value):
            self.add(name, f"must be {rule}, got {value!r}")
        return value

    def integer(self, name: str, low: int, high: int, *, optional: bool = True) -> int | None:
        value = self._given(name, optional)
        if value is None:
            return None
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
            self.set(name, value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(name, f"expected an integer, got {value!r}", always=True)
            return None
        if not low <= value <= high:
            self.add(name, f"must be between {low} and {high}, got {value}")
        return value

    def items(
        self, name: str, kind: type[_T], *, max_items: int | None = None, min_items: int = 0
    ) -> tuple[_T, ...]:
        value = getattr(self.obj, name)
        if value is None:
            value = ()
        if isinstance(value, str | bytes) or not isinstance(value, Sequence):
            self.add(name, f"expected a list, got {type(value).__name__}", always=True)
            return ()
        result = tuple(value)
        for i, item in enumerate(result):
            if not isinstance(item, kind):
                self.add(f"{name}[{i}]", f"expected {kind.__name__}, got {type(item).__name__}", always=True)
        if max_items is not None and len(result) > max_items:
            self.add(name, f"at most {max_items} entries are allowed, got {len(result)}")
        if len(result) < min_items:
            self.add(name, f"at least {min_items} entr{'y is' if min_items == 1 else 'ies are'} required")
        self.set(name, result)
        return result

    def instance(self, name: str, kind: type[_T], *, optional: bool = False) -> _T | None:
        value = self._given(name, optional)
        if value is None:
            return None
        if not isinstance(value, kind):
            self.add(name, f"expected {kind.__name__}, got {type(value).__name__}", always=True)
            return None
        return value

    def moment(self, name: str, *, optional: bool = False) -> datetime | None:
        value = self._given(name, optional)
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            except ValueError:
                self.add(name, f"{value!r} is not an RFC 3339 date-time", always=True)
                return None
        elif isinstance(value, date) and not isinstance(value, datetime):
            value = datetime.combine(value, time(0, 0))
        if not isinstance(value, datetime):
            self.add(name, f"expected a datetime, got {type(value).__name__}", always=True)
            return None
        value = as_cr_time(value)
        self.set(name, value)
        return value


def as_cr_time(value: datetime) -> datetime:
    """Costa Rica time, seconds precision. Naive datetimes are taken as Costa Rica local time."""
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=CR_TZ)
    return value.astimezone(CR_TZ).replace(microsecond=0)
