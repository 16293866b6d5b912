"""The JSON Schema (draft 2020-12) of the JSON input format, generated from the model.

Nothing here is written by hand: the properties, their types and the required keys come from the model
classes' fields (:func:`cr_einvoice.vouchers.jsonio.input_fields` / ``required_fields``, the same walk
:func:`~cr_einvoice.vouchers.jsonio.document_from_json` does), enums list their codes, amounts are decimal
strings or JSON numbers, dates RFC 3339 strings. A POS in any language validates its payload with it
(``cr-einvoice build --json-schema [TYPE]`` prints it); the library's own checks (Hacienda's rules, totals,
formats of each code) still run when the document is built, and name the same JSON paths.

``emisor`` is not required by the schema for the types the issuing pipeline fills from the configured issuer
(every type but a FacturaCompra and a MensajeReceptor): omit it when issuing with ``cr-einvoice issue`` or
``Issuer.issue_json``.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Union

from cr_einvoice.vouchers.jsonio import ALIASES, KINDS, input_fields, required_fields

__all__ = ["SCHEMA_ID", "json_schema"]

SCHEMA_ID = "https://cr-einvoice.invalid/schemas/document.json"
_DRAFT = "https://json-schema.org/draft/2020-12/schema"
#: A decimal amount written as a string (``"1234.56789"``); JSON numbers are accepted too.
_AMOUNT = {"type": ["string", "number"], "pattern": r"^-?[0-9]+(\.[0-9]+)?$"}
#: Types whose emisor the issuing pipeline fills from the configured issuer when it is omitted.
_EMISOR_FILLED = frozenset(kind for kind in KINDS if kind not in ("fec", "mr"))


def _enum(cls: type[Enum]) -> dict[str, Any]:
    values: list[Any] = [m.value for m in cls]
    # jsonio reads an integer code as its text ("1" for 1): those that round-trip are accepted as numbers.
    numbers = [int(v) for v in values if isinstance(v, str) and v.isdigit() and str(int(v)) == v]
    return {"enum": values + numbers, "title": cls.__name__}


class _Builder:
    """Walks the model's type hints; each dataclass becomes one ``$defs`` entry."""

    def __init__(self) -> None:
        self.defs: dict[str, dict[str, Any]] = {}

    def of(self, hint: Any) -> dict[str, Any]:
        origin = typing.get_origin(hint)
        if origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(hint) if a is not type(None)]
            inner = self.of(args[0]) if len(args) == 1 else {"anyOf": [self.of(a) for a in args]}
            return {"anyOf": [inner, {"type": "null"}]}
        if origin is tuple:
            return {"type": "array", "items": self.of(typing.get_args(hint)[0])}
        if isinstance(hint, type):
            if dataclasses.is_dataclass(hint):
                return {"$ref": f"#/$defs/{self.define(hint)}"}
            if issubclass(hint, Enum):
                return _enum(hint)
            if issubclass(hint, bool):
                return {"type": "boolean"}
            if issubclass(hint, int):
                return {"type": "integer"}
            if issubclass(hint, Decimal):
                return dict(_AMOUNT)
            if issubclass(hint, datetime):
                return {"type": "string", "format": "date-time"}
            if issubclass(hint, str):
                return {"type": "string"}
        return {}

    def define(self, cls: type[Any]) -> str:
        name = cls.__name__
        if name not in self.defs:
            self.defs[name] = {}  # reserve first: the model may nest a class in itself
            self.defs[name] = self.object(cls)
        return name

    def object(self, cls: type[Any], *, optional: frozenset[str] = frozenset()) -> dict[str, Any]:
        properties = {name: self.of(hint) for name, hint in input_fields(cls)}
        required = [name for name in required_fields(cls) if name not in optional]
        out: dict[str, Any] = {
            "type": "object",
            "title": cls.__name__,
            "properties": properties,
            "additionalProperties": False,
        }
        if required:
            out["required"] = required
        return out


def _tipos(kind: str) -> list[str]:
    """Every ``tipo`` value that selects ``kind``: the abbreviation, the codes and the root element."""
    return [kind, kind.upper(), *sorted(alias for alias, k in ALIASES.items() if k == kind)]


@functools.cache
def _schema(kind: str | None) -> dict[str, Any]:
    builder = _Builder()
    documents: dict[str, dict[str, Any]] = {}
    for name, cls in KINDS.items():
        if kind is not None and name != kind:
            continue
        optional = frozenset({"emisor"}) if name in _EMISOR_FILLED else frozenset()
        body = builder.object(cls, optional=optional)
        body["properties"] = {"tipo": {"enum": _tipos(name)}, **body["properties"]}
        body["required"] = ["tipo", *body.get("required", [])]
        documents[name] = body
    schema: dict[str, Any] = {"$schema": _DRAFT, "$id": SCHEMA_ID}
    if kind is not None:
        schema.update(documents[kind])
        schema["$id"] = SCHEMA_ID.replace("document.json", f"{kind}.json")
    else:
        schema["title"] = "cr-einvoice document (JSON input format)"
        schema["oneOf"] = [{"$ref": f"#/$defs/document_{name}"} for name in documents]
        builder.defs.update({f"document_{name}": body for name, body in documents.items()})
    schema["$defs"] = builder.defs
    return schema


def json_schema(kind: str | None = None) -> dict[str, Any]:
    """The JSON Schema of one document type (``fe`` ... ``mr``, a code or a root element name) or, with
    None, of any document (``oneOf`` the types, told apart by ``tipo``). A fresh copy each call."""
    import copy

    from cr_einvoice.core.errors import ValidationError

    if kind is not None:
        key = ALIASES.get(kind, kind.lower())
        if key not in KINDS:
            raise ValidationError(f"unknown document tipo {kind!r} (expected one of {', '.join(KINDS)})")
        kind = key
    return copy.deepcopy(_schema(kind))
