"""Field checks shared by every model that validates its own fields at construction.

A :class:`Check` collects the problems of one object and raises them together as one
:class:`~cr_einvoice.core.errors.ValidationError` whose paths name the fields. A :class:`Checked` dataclass
declares each field's check beside the field (``codigo: Annotated[str, Text(max_len=20)]``): the shared
``__post_init__`` runs them in field order, then the class's own :meth:`Checked.check` for what ties fields
together. A field whose default is None is optional; the enum, class or list item type a check needs is the
field's own type. Inside :func:`reading_received`
the format checks (lengths, patterns, per-type restrictions) are skipped but types are still converted, so a
voucher received from a supplier, or an older v4.3 one, can always be read and then inspected.
"""

from __future__ import annotations

import dataclasses
import re
import types
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, TypeVar, Union, cast, get_args, get_origin, get_type_hints

from cr_einvoice.core.clave import CR_TZ
from cr_einvoice.core.errors import Problem, ValidationError
from cr_einvoice.core.money import AMOUNT_MAX, to_decimal

__all__ = [
    "Amount",
    "Check",
    "Checked",
    "Code",
    "Integer",
    "Items",
    "Moment",
    "Part",
    "Pattern",
    "Rate",
    "Rule",
    "Text",
    "as_cr_time",
    "lenient",
    "reading_received",
    "stated_amounts",
]

_E = TypeVar("_E", bound=StrEnum)
_T = TypeVar("_T")

_LENIENT: ContextVar[bool] = ContextVar("cr_einvoice_model_lenient", default=False)
_STATED: ContextVar[bool] = ContextVar("cr_einvoice_model_stated", default=False)


@contextmanager
def reading_received(*, stated: bool = False) -> Iterator[None]:
    """Inside this block, constructors skip Hacienda's format and business checks (lengths, patterns,
    per-type restrictions, payment sums) but still convert types. :mod:`cr_einvoice.vouchers.xmlread` uses it
    so a voucher received from a supplier (or an older v4.3 one) can always be read and then inspected.

    ``stated=True``: the constructors of a LineaDetalle and a Comprobante also leave their computed amounts
    (``calculo``, ``resumen``) unset: the reader sets the amounts the XML states instead
    (``from_xml(..., stated=True)``, what a graphic representation prints)."""
    token = _LENIENT.set(True)
    stated_token = _STATED.set(stated)
    try:
        yield
    finally:
        _STATED.reset(stated_token)
        _LENIENT.reset(token)


def lenient() -> bool:
    return _LENIENT.get()


def stated_amounts() -> bool:
    """Inside ``reading_received(stated=True)``: the computed amounts are left to the reader."""
    return _STATED.get()


class Check:
    """Collects problems for one object; ``done()`` raises them all at once."""

    __slots__ = ("lenient", "obj", "problems", "values")

    def __init__(self, obj: object) -> None:
        self.obj = obj
        self.problems: list[Problem] = []
        self.values: dict[str, object] = {}
        #: Whether format checks are skipped (:func:`reading_received`), read once per object.
        self.lenient = _LENIENT.get()

    def add(self, path: str, message: str, *, always: bool = False) -> None:
        if always or not self.lenient:
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

    def fields(self) -> None:
        """Run the checks the object's fields declare (:class:`Checked`), in field order."""
        for name, rule, kind, optional in _declared(type(self.obj)):
            self.values[name] = rule.apply(self, name, kind, optional)

    def got(self, name: str, kind: type[_T]) -> _T | None:
        """What the declared check of field ``name`` converted it to (None when missing or refused)."""
        value = self.values.get(name)
        return value if isinstance(value, kind) else None

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
        if type(value) is Decimal and value.is_finite():
            dec = value  # already what to_decimal would return
        else:
            try:
                dec = to_decimal(value, name)
            except ValidationError as exc:
                self.problems.extend(exc.problems)
                return None
            self.set(name, dec)
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
        if type(value) is kind:
            return value  # already a member
        # a code read from XML or JSON: its member straight from the enumeration's own value map (an Enum
        # call costs ten times more); anything else (another type, an alias) through the call
        found = kind._value2member_map_.get(value) if type(value) is str else None
        try:
            member = cast("_E", found) if found is not None else kind(value)
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
        if value is not None and not self.lenient and not re.fullmatch(regex, value):
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
        if type(value) is not tuple and (isinstance(value, str | bytes) or not isinstance(value, Sequence)):
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
        if result is not value:
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


class Rule:
    """The check one field declares (``Annotated[type, rule]``); ``kind`` is the field's type without None
    (for a tuple, its item type) and ``optional`` says whether the field defaults to None."""

    __slots__ = ()

    def apply(self, c: Check, name: str, kind: Any, optional: bool) -> object:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Text(Rule):
    """Text of ``min_len`` to ``max_len`` characters."""

    min_len: int = 1
    max_len: int | None = None

    def apply(self, c: Check, name: str, kind: Any, optional: bool) -> object:
        return c.text(name, min_len=self.min_len, max_len=self.max_len, optional=optional)


@dataclass(frozen=True, slots=True)
class Pattern(Rule):
    """Text matching ``regex`` in full; ``rule`` says it in words."""

    regex: str
    rule: str

    def apply(self, c: Check, name: str, kind: Any, optional: bool) -> object:
        return c.pattern(name, self.regex, self.rule, optional=optional)


@dataclass(frozen=True, slots=True)
class Amount(Rule):
    """A non-negative amount of at most ``decimals`` decimals (greater than zero when ``positive``)."""

    positive: bool = False
    decimals: int = 5

    def apply(self, c: Check, name: str, kind: Any, optional: bool) -> object:
        return c.amount(name, optional=optional, positive=self.positive, decimals=self.decimals)


@dataclass(frozen=True, slots=True)
class Rate(Rule):
    """A rate or measure of at most ``max_digits`` digits, ``decimals`` of them decimals."""

    max_digits: int = 4
    decimals: int = 2

    def apply(self, c: Check, name: str, kind: Any, optional: bool) -> object:
        return c.rate(name, optional=optional, max_digits=self.max_digits, decimals=self.decimals)


@dataclass(frozen=True, slots=True)
class Integer(Rule):
    """An integer from ``low`` to ``high``."""

    low: int
    high: int

    def apply(self, c: Check, name: str, kind: Any, optional: bool) -> object:
        return c.integer(name, self.low, self.high, optional=optional)


@dataclass(frozen=True, slots=True)
class Items(Rule):
    """A list of ``min_items`` to ``max_items`` entries of the field's item type."""

    min_items: int = 0
    max_items: int | None = None

    def apply(self, c: Check, name: str, kind: Any, optional: bool) -> object:
        return c.items(name, kind, min_items=self.min_items, max_items=self.max_items)


class Code(Rule):
    """A code of the field's catalog (a ``StrEnum``)."""

    __slots__ = ()

    def apply(self, c: Check, name: str, kind: Any, optional: bool) -> object:
        return c.enum(name, kind, optional=optional)


class Part(Rule):
    """An instance of the field's class (an already checked part)."""

    __slots__ = ()

    def apply(self, c: Check, name: str, kind: Any, optional: bool) -> object:
        return c.instance(name, kind, optional=optional)


class Moment(Rule):
    """A date-time, in Costa Rica time (:func:`as_cr_time`)."""

    __slots__ = ()

    def apply(self, c: Check, name: str, kind: Any, optional: bool) -> object:
        return c.moment(name, optional=optional)


class Checked:
    """Base of the dataclasses whose fields declare their checks (``Annotated[type, Rule]``)."""

    __slots__ = ()

    def __post_init__(self) -> None:
        c = Check(self)
        c.fields()
        self.check(c)
        c.done()

    def check(self, c: Check) -> None:
        """What ties fields together, after the declared checks (``c.got`` gives their converted values)."""


_Declared = tuple[str, Rule, Any, bool]
_DECLARED: dict[type, tuple[_Declared, ...]] = {}


def _declared(cls: type) -> tuple[_Declared, ...]:
    """The declared checks of a dataclass: field name, rule, the type the rule checks, optional."""
    found = _DECLARED.get(cls)
    if found is None:
        hints = get_type_hints(cls, include_extras=True)
        rules: list[_Declared] = []
        for f in dataclasses.fields(cls):
            hint = hints[f.name]
            if get_origin(hint) is Annotated:
                kind = _checked_type(get_args(hint)[0])
                rules.extend(
                    (f.name, r, kind, f.default is None) for r in hint.__metadata__ if isinstance(r, Rule)
                )
        found = _DECLARED[cls] = tuple(rules)
    return found


def _checked_type(hint: Any) -> Any:
    """``X | None`` → ``X``; ``tuple[X, ...]`` → ``X``."""
    if get_origin(hint) in (Union, types.UnionType):
        hint = next(arg for arg in get_args(hint) if arg is not type(None))
    if get_origin(hint) is tuple:
        hint = get_args(hint)[0]
    return hint


def as_cr_time(value: datetime) -> datetime:
    """Costa Rica time, seconds precision. Naive datetimes are taken as Costa Rica local time."""
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=CR_TZ)
    return value.astimezone(CR_TZ).replace(microsecond=0)
