"""The JSON input format: the model's fields as snake_case keys, amounts as strings (or exact JSON numbers).

A document is an object with ``"tipo"`` (``fe``, ``nd``, ``nc``, ``te``, ``fec``, ``fee``, ``rep``, ``mr``;
the codes ``01`` ... ``10`` and the root element names are accepted too) and the fields of the model class
(:mod:`cr_einvoice.vouchers.model`); nested objects and lists follow the same rule. Codes are strings
(``"01"``);
amounts are strings such as ``"1234.56789"`` or JSON numbers (read exactly, never as binary floats; Python
floats are refused); dates are RFC 3339 (``2026-07-15T09:30:00-06:00``; no offset means Costa Rica time).
Computed values (``resumen``, ``calculo``) are never read: totals are computed by the library. Unknown keys
are errors, and every error names its JSON path (``lineas[2].precio_unitario``; indices are 0-based).
Combo lines carry their components in ``lineas[].surtido[]`` (``codigo_cabys_surtido``,
``precio_unitario_surtido``, ``descuentos_surtido``, ``impuestos_surtido``, ...) and no ``impuestos``.

A document may omit its ``emisor`` when the caller knows who issues (``emisor=``: the issuing pipeline passes
the configured issuer); a document whose emisor names another taxpayer or another ``nombre`` is refused.
The JSON Schema of this format is generated from the model by :mod:`cr_einvoice.vouchers.jsonschema`.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Union, cast

from cr_einvoice.core import jsonsafe
from cr_einvoice.core.catalogs import DOCUMENT_KINDS
from cr_einvoice.core.errors import Problem, ValidationError
from cr_einvoice.vouchers.model import (
    Comprobante,
    Document,
    Emisor,
    FacturaCompra,
    FacturaElectronica,
    FacturaExportacion,
    MensajeReceptor,
    NotaCredito,
    NotaDebito,
    ReciboPago,
    Tiquete,
)

__all__ = [
    "ALIASES",
    "KINDS",
    "document_from_json",
    "document_to_json",
    "input_fields",
    "json_object",
    "kind_of",
    "required_fields",
]

#: One document in the JSON input format (a 1,000-line invoice is well under 2 MiB).
_MAX_BYTES = 8 * 1024 * 1024

#: JSON ``tipo`` → model class.
KINDS: dict[str, type[Any]] = {
    "fe": FacturaElectronica,
    "nd": NotaDebito,
    "nc": NotaCredito,
    "te": Tiquete,
    "fec": FacturaCompra,
    "fee": FacturaExportacion,
    "rep": ReciboPago,
    "mr": MensajeReceptor,
}
#: Document type codes (``01`` ... ``10``) and root element names → JSON ``tipo``.
ALIASES: dict[str, str] = {
    **{tipo.value: kind.abbreviation.lower() for kind in DOCUMENT_KINDS for tipo in kind.tipos},
    **{cls.ROOT: kind for kind, cls in KINDS.items()},
}
_COMPUTED = frozenset({"resumen", "calculo"})
_SKIP = frozenset({"stated"})


def kind_of(doc: Document) -> str:
    """The JSON ``tipo`` of a document (``fe``, ``nd``, ...)."""
    for kind, cls in KINDS.items():
        if type(doc) is cls:
            return kind
    raise ValidationError(f"not a document: {type(doc).__name__}", path="tipo")


def json_object(obj: Mapping[str, Any] | bytes | str, *, source: str | None = None) -> Any:
    """Parse JSON text or bytes (a UTF-8 byte order mark is skipped; numbers with a fraction are read as
    exact Decimals); a mapping is returned as is. ``source`` (a file name) is named in the error."""
    if not isinstance(obj, bytes | str):
        return obj
    try:  # the one hardened path for untrusted JSON: size and depth limits, no NaN; a BOM is skipped
        return jsonsafe.loads(obj, what=source or "the JSON document", decimal=True, max_bytes=_MAX_BYTES)
    except jsonsafe.JSONInputError as exc:
        where = f"{source} " if source else ""
        raise ValidationError(f"{where}{exc.reason}", path="$") from None


def document_from_json(
    obj: Mapping[str, Any] | bytes | str, *, emisor: Emisor | None = None, source: str | None = None
) -> Document:
    """Build a document from the JSON format (a parsed mapping, or JSON text/bytes).

    ``emisor``: the issuing taxpayer's block, used when the document omits ``emisor`` (every type but a
    FacturaCompra, whose emisor is the seller, and a MensajeReceptor); a document's own emisor must then
    carry the same identification and nombre. ``source`` names the file in a JSON syntax error.
    Raises :class:`ValidationError` listing every problem with its JSON path.
    """
    data = json_object(obj, source=source)
    if not isinstance(data, Mapping):
        raise ValidationError("a document must be a JSON object", path="$")
    tipo = data.get("tipo")
    kind = ALIASES.get(str(tipo), str(tipo).lower()) if tipo is not None else None
    if kind not in KINDS:
        raise ValidationError(
            f"unknown document tipo {tipo!r} (expected one of {', '.join(KINDS)})", path="tipo"
        )
    body = {k: v for k, v in data.items() if k != "tipo"}
    conflict = None
    if emisor is not None and kind not in ("fec", "mr"):
        if "emisor" in body:
            conflict = _emisor_conflict(body["emisor"], emisor)
        else:
            body["emisor"] = emisor
    if conflict is None:
        quick = _quick_document(KINDS[kind], body)
        if quick is not None:
            return quick
    try:
        document = cast("Document", _build(KINDS[kind], body, ""))
    except ValidationError as exc:
        raise ValidationError([conflict, *exc.problems] if conflict else exc.problems) from None
    if conflict is not None:
        raise ValidationError([conflict])
    return document


def _emisor_conflict(given: Any, configured: Emisor) -> Problem | None:
    """The problem of a document's emisor block that names another taxpayer or another nombre than
    ``configured`` (None when it is the same taxpayer)."""
    if not isinstance(given, Mapping):
        return None  # reported by the model as "expected an object"
    ours = configured.identificacion
    ident = given.get("identificacion")
    numero = str(ident.get("numero", "")) if isinstance(ident, Mapping) else ""
    if numero and numero.replace("-", "") != ours.numero:
        return Problem(
            "emisor.identificacion.numero",
            f"the document's emisor is {numero}, but the configured issuer is {ours.numero}; omit the emisor "
            "block to use the configured issuer",
        )
    nombre = given.get("nombre")
    if isinstance(nombre, str) and nombre.strip().casefold() != configured.nombre.strip().casefold():
        return Problem(
            "emisor.nombre",
            f"the document's emisor nombre {nombre!r} differs from the configured issuer's "
            f"{configured.nombre!r}; omit the emisor block to use the configured issuer, or correct "
            "[emisor] nombre in the configuration",
        )
    return None


def _join(prefix: str, name: str) -> str:
    if not prefix:
        return name
    return f"{prefix}{name}" if name.startswith("[") else f"{prefix}.{name}"


_FIELDS: dict[type[Any], tuple[tuple[str, Any], ...]] = {}


def input_fields(cls: type[Any]) -> tuple[tuple[str, Any], ...]:
    """(JSON key, type hint) of every input field of a model class (computed fields are not inputs)."""
    found = _FIELDS.get(cls)
    if found is None:
        hints = typing.get_type_hints(cls)
        found = tuple(
            (f.name, hints[f.name]) for f in dataclasses.fields(cls) if f.init and f.name not in _SKIP
        )
        _FIELDS[cls] = found
    return found


def required_fields(cls: type[Any]) -> tuple[str, ...]:
    """The JSON keys a model class cannot do without (its fields without a default)."""
    return tuple(
        f.name
        for f in dataclasses.fields(cls)
        if f.init
        and f.name not in _SKIP
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    )


#: How a JSON value becomes a field's value: ``convert(value, path)`` (None stays None).
Converter = typing.Callable[[Any, str], Any]


#: How a JSON value becomes a field's value on the quick path (:func:`_quick`): ``quick(value)``, raising
#: anything when the careful path must decide; None: the value is taken as it is.
Quick = typing.Callable[[Any], Any] | None


@dataclasses.dataclass(frozen=True, slots=True)
class _Plan:
    """How the JSON object of one model class is read, worked out once per class: each input field's
    converter (in field order) and its quick form, the required keys and the known keys (as an error names
    them, and as a set)."""

    converters: dict[str, Converter]
    quick: dict[str, Quick]
    required: tuple[str, ...]
    known: str
    names: frozenset[str]
    needed: frozenset[str]


_PLANS: dict[type[Any], _Plan] = {}


def _plan(cls: type[Any]) -> _Plan:
    found = _PLANS.get(cls)
    if found is None:
        fields = input_fields(cls)
        found = _Plan(
            {name: _converter(hint) for name, hint in fields},
            {name: _quick_converter(hint) for name, hint in fields},
            required_fields(cls),
            ", ".join(sorted(name for name, _ in fields)),
            frozenset(name for name, _ in fields),
            frozenset(required_fields(cls)),
        )
        _PLANS[cls] = found
    return found


def _same(value: Any, path: str) -> Any:
    return value


def _enum_code(value: Any, path: str) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _shape(hint: Any) -> tuple[str, Any]:
    """How a field typed ``hint`` is read: ``("items", item hint)`` for a list, ``("model", class)`` for a
    nested model, ``("code", enum)`` for a catalogue code, ``("same", hint)`` for what the model checks
    itself (``X | None`` is read as ``X``)."""
    if typing.get_origin(hint) in (Union, types.UnionType):
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    if typing.get_origin(hint) is tuple:
        return "items", typing.get_args(hint)[0]
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return "model", hint
    if isinstance(hint, type) and issubclass(hint, Enum):
        return "code", hint
    return "same", hint


def _converter(hint: Any) -> Converter:
    """The converter of a field typed ``hint``: a nested model is built, a list of them read item by item,
    an enum code given as a number read as its text; anything else is left to the model's own checks."""
    shape, inner = _shape(hint)
    if shape == "items":
        item = _converter(inner)

        def items(value: Any, path: str) -> Any:
            if value is None:
                return None
            if not isinstance(value, list | tuple):
                raise ValidationError(f"expected a list, got {type(value).__name__}", path=path)
            problems: list[Problem] = []
            out = []
            for i, v in enumerate(value):
                try:
                    out.append(item(v, f"{path}[{i}]"))
                except ValidationError as exc:
                    problems.extend(exc.problems)
            if problems:
                raise ValidationError(problems)
            return tuple(out)

        return items
    if shape == "model":
        model: type[Any] = inner

        def nested(value: Any, path: str) -> Any:
            return None if value is None else _build(model, value, path)

        return nested
    return _enum_code if shape == "code" else _same


class _Careful(Exception):
    """The quick path met something only the careful one can name (raised, never seen outside)."""


def _quick_code(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _quick_converter(hint: Any) -> Quick:
    """What :func:`_converter` does for a field typed ``hint``, without the JSON paths an error would need."""
    shape, inner = _shape(hint)
    if shape == "items":
        item = _quick_converter(inner)

        def items(value: Any) -> Any:
            if value is None:
                return None
            if not isinstance(value, list | tuple):
                raise _Careful
            return tuple(value) if item is None else tuple([item(v) for v in value])

        return items
    if shape == "model":
        model: type[Any] = inner
        return lambda value: None if value is None else _quick(model, value)
    return _quick_code if shape == "code" else None


def _quick(cls: type[Any], data: Any) -> Any:
    """The model object of ``data`` when every key is known, every required key is there and every
    constructor accepts what it gets; anything else raises (:func:`_build` then names the problems)."""
    if type(data) is not dict:
        if isinstance(data, cls):
            return data  # an already built part (the configured emisor)
        raise _Careful
    plan = _plan(cls)
    if not plan.names.issuperset(data) or not data.keys() >= plan.needed:
        raise _Careful
    quick = plan.quick
    kwargs = {}
    for name, value in data.items():
        convert = quick[name]
        kwargs[name] = value if convert is None else convert(value)
    return cls(**kwargs)


def _quick_document(cls: type[Any], data: dict[str, Any]) -> Document | None:
    """The document of ``data`` read the quick way -- the same object :func:`_build` gives -- or None when
    the careful way must read it: to name every problem with its JSON path (it then reads the whole document
    again; only a refused document pays for that)."""
    try:
        return cast("Document", _quick(cls, data))
    except Exception:  # whatever went wrong, the careful reading decides and says what
        return None


def _build(cls: type[Any], data: Any, path: str) -> Any:
    if isinstance(data, cls):
        return data  # an already built part (the configured emisor)
    if not isinstance(data, Mapping):
        raise ValidationError(f"expected an object for {cls.__name__}", path=path or "$")
    plan = _plan(cls)
    converters = plan.converters
    problems: list[Problem] = []
    for key in data:
        if key in converters:
            continue
        if key in _COMPUTED:
            problems.append(
                Problem(_join(path, key), "is computed by the library from the inputs; remove it")
            )
        else:
            problems.append(
                Problem(_join(path, str(key)), f"unknown field for {cls.__name__} (known: {plan.known})")
            )
    for name in plan.required:
        if name not in data:
            problems.append(Problem(_join(path, name), "required field is missing"))
    kwargs: dict[str, Any] = {}
    for name, convert in converters.items():
        if name not in data:
            continue
        try:
            kwargs[name] = convert(data[name], _join(path, name))
        except ValidationError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ValidationError(problems)
    try:
        return cls(**kwargs)
    except ValidationError as exc:
        raise ValidationError(
            [
                Problem(_join(path, p.path) if p.path else (path or "$"), p.message, p.code)
                for p in exc.problems
            ]
        ) from None
    except TypeError:  # not expected: every required field was checked above
        raise ValidationError("the object does not have the expected fields", path=path or "$") from None


def document_to_json(doc: Document, *, include_computed: bool = False) -> dict[str, Any]:
    """The JSON form of a document (inputs only: ``document_from_json`` reads it back to an equal document).

    ``include_computed=True`` adds the computed ``resumen`` and each line's ``calculo`` (for reports; such
    output is not accepted back as input).
    """
    out: dict[str, Any] = {"tipo": kind_of(doc)}
    out.update(_dump(doc, include_computed))
    if include_computed and isinstance(doc, Comprobante | ReciboPago):
        out["resumen"] = _value(doc.resumen, include_computed)
    return out


def _dump(obj: Any, include_computed: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        if f.name in _SKIP or (not f.init and not (include_computed and f.name == "calculo")):
            continue
        value = getattr(obj, f.name)
        if value is None or value == () or (f.name == "iva_devuelto_salud" and value is False):
            continue
        out[f.name] = _value(value, include_computed)
    return out


def _value(value: Any, include_computed: bool) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_value(v, include_computed) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _dump(value, include_computed)
    return value
