"""The parties of a voucher: Emisor, Receptor, their Ubicacion and Telefono (Identificacion is
:class:`cr_einvoice.core.identifiers.Identificacion`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from cr_einvoice.core.checks import Check, Checked, Integer, Items, Part, Rule, Text
from cr_einvoice.core.identifiers import Identificacion
from cr_einvoice.vouchers.model._support import EMAIL

__all__ = ["Emisor", "Identificacion", "Receptor", "Telefono", "Ubicacion"]


@dataclass(frozen=True, slots=True)
class _Nota14(Rule):
    """A territorial code of Nota 14 of ``width`` digits, not zero (an int is zero-padded)."""

    width: int

    def apply(self, c: Check, name: str, kind: Any, optional: bool) -> object:
        width = self.width
        value = getattr(c.obj, name)
        if isinstance(value, int) and not isinstance(value, bool):
            value = f"{value:0{width}d}"
            c.set(name, value)
        if not isinstance(value, str) or not re.fullmatch(rf"\d{{{width}}}", value) or int(value) == 0:
            c.add(
                name,
                f"must be a code of {width} digit{'s' if width > 1 else ''} (Nota 14), got {value!r}",
                always=not isinstance(value, str),
            )
        return value


class _Correos(Items):
    """Up to ``max_items`` e-mail addresses of at most 160 characters each."""

    __slots__ = ()

    def apply(self, c: Check, name: str, kind: Any, optional: bool) -> object:
        correos = c.items(name, str, max_items=self.max_items)
        for i, correo in enumerate(correos):
            if isinstance(correo, str) and (len(correo) > 160 or not EMAIL.fullmatch(correo)):
                c.add(f"{name}[{i}]", f"{correo!r} is not a valid e-mail address (max 160)")
        return correos


@dataclass(frozen=True, slots=True, kw_only=True)
class Ubicacion(Checked):
    """Ubicacion (Nota 14 codes): provincia 1 digit, canton and distrito 2 digits (ints are zero-padded)."""

    provincia: Annotated[str, _Nota14(1)]
    canton: Annotated[str, _Nota14(2)]
    distrito: Annotated[str, _Nota14(2)]
    otras_senas: Annotated[str, Text(min_len=5, max_len=250)]
    barrio: Annotated[str | None, Text(min_len=5, max_len=50)] = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Telefono(Checked):
    """Telefono: ``codigo_pais`` (1-3 digits) and ``num_telefono`` (8-20 digits)."""

    codigo_pais: Annotated[int, Integer(1, 999)]
    num_telefono: str

    def check(self, c: Check) -> None:
        raw: object = self.num_telefono
        if isinstance(raw, int) and not isinstance(raw, bool):
            c.set("num_telefono", str(raw))
        c.pattern("num_telefono", r"[1-9]\d{7,19}", "8 to 20 digits without a leading zero")


@dataclass(frozen=True, slots=True, kw_only=True)
class Emisor(Checked):
    """Emisor. ``correos_electronicos`` holds 1 to 4 addresses (0 allowed in NC, ND and FEC)."""

    nombre: Annotated[str, Text(min_len=5, max_len=100)]
    identificacion: Annotated[Identificacion, Part()]
    correos_electronicos: Annotated[tuple[str, ...], _Correos(max_items=4)] = ()
    ubicacion: Annotated[Ubicacion | None, Part()] = None
    nombre_comercial: Annotated[str | None, Text(min_len=3, max_len=80)] = None
    registrofiscal8707: Annotated[str | None, Text(max_len=12)] = None
    telefono: Annotated[Telefono | None, Part()] = None
    otras_senas_extranjero: Annotated[str | None, Text(min_len=5, max_len=300)] = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Receptor(Checked):
    """Receptor. ``identificacion`` may be omitted only in TE, NC, ND and FEE."""

    nombre: Annotated[str, Text(min_len=3, max_len=100)]
    identificacion: Annotated[Identificacion | None, Part()] = None
    nombre_comercial: Annotated[str | None, Text(min_len=3, max_len=80)] = None
    ubicacion: Annotated[Ubicacion | None, Part()] = None
    otras_senas_extranjero: Annotated[str | None, Text(min_len=5, max_len=300)] = None
    telefono: Annotated[Telefono | None, Part()] = None
    correo_electronico: Annotated[str | None, Text(max_len=160)] = None

    def check(self, c: Check) -> None:
        correo = c.got("correo_electronico", str)
        if correo is not None and not EMAIL.fullmatch(correo):
            c.add("correo_electronico", f"{correo!r} is not a valid e-mail address")
