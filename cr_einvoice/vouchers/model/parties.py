"""The parties of a voucher: Emisor, Receptor, their Ubicacion and Telefono (Identificacion is
:class:`cr_einvoice.core.identifiers.Identificacion`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from cr_einvoice.core.checks import Check
from cr_einvoice.core.identifiers import Identificacion
from cr_einvoice.vouchers.model._support import EMAIL

__all__ = ["Emisor", "Identificacion", "Receptor", "Telefono", "Ubicacion"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Ubicacion:
    """Ubicacion (Nota 14 codes): provincia 1 digit, canton and distrito 2 digits (ints are zero-padded)."""

    provincia: str
    canton: str
    distrito: str
    otras_senas: str
    barrio: str | None = None

    def __post_init__(self) -> None:
        c = Check(self)
        for name, width in (("provincia", 1), ("canton", 2), ("distrito", 2)):
            value = getattr(self, name)
            if isinstance(value, int) and not isinstance(value, bool):
                value = f"{value:0{width}d}"
                c.set(name, value)
            if not isinstance(value, str) or not re.fullmatch(rf"\d{{{width}}}", value) or int(value) == 0:
                c.add(
                    name,
                    f"must be a code of {width} digit{'s' if width > 1 else ''} (Nota 14), got {value!r}",
                    always=not isinstance(value, str),
                )
        c.text("otras_senas", min_len=5, max_len=250)
        c.text("barrio", min_len=5, max_len=50, optional=True)
        c.done()


@dataclass(frozen=True, slots=True, kw_only=True)
class Telefono:
    """Telefono: ``codigo_pais`` (1-3 digits) and ``num_telefono`` (8-20 digits)."""

    codigo_pais: int
    num_telefono: str

    def __post_init__(self) -> None:
        c = Check(self)
        c.integer("codigo_pais", 1, 999, optional=False)
        raw: object = self.num_telefono
        if isinstance(raw, int) and not isinstance(raw, bool):
            c.set("num_telefono", str(raw))
        c.pattern("num_telefono", r"[1-9]\d{7,19}", "8 to 20 digits without a leading zero")
        c.done()


@dataclass(frozen=True, slots=True, kw_only=True)
class Emisor:
    """Emisor. ``correos_electronicos`` holds 1 to 4 addresses (0 allowed in NC, ND and FEC)."""

    nombre: str
    identificacion: Identificacion
    correos_electronicos: tuple[str, ...] = ()
    ubicacion: Ubicacion | None = None
    nombre_comercial: str | None = None
    registrofiscal8707: str | None = None
    telefono: Telefono | None = None
    otras_senas_extranjero: str | None = None

    def __post_init__(self) -> None:
        c = Check(self)
        c.text("nombre", min_len=5, max_len=100)
        c.instance("identificacion", Identificacion)
        correos = c.items("correos_electronicos", str, max_items=4)
        for i, correo in enumerate(correos):
            if isinstance(correo, str) and (len(correo) > 160 or not EMAIL.fullmatch(correo)):
                c.add(f"correos_electronicos[{i}]", f"{correo!r} is not a valid e-mail address (max 160)")
        c.instance("ubicacion", Ubicacion, optional=True)
        c.text("nombre_comercial", min_len=3, max_len=80, optional=True)
        c.text("registrofiscal8707", max_len=12, optional=True)
        c.instance("telefono", Telefono, optional=True)
        c.text("otras_senas_extranjero", min_len=5, max_len=300, optional=True)
        c.done()


@dataclass(frozen=True, slots=True, kw_only=True)
class Receptor:
    """Receptor. ``identificacion`` may be omitted only in TE, NC, ND and FEE."""

    nombre: str
    identificacion: Identificacion | None = None
    nombre_comercial: str | None = None
    ubicacion: Ubicacion | None = None
    otras_senas_extranjero: str | None = None
    telefono: Telefono | None = None
    correo_electronico: str | None = None

    def __post_init__(self) -> None:
        c = Check(self)
        c.text("nombre", min_len=3, max_len=100)
        c.instance("identificacion", Identificacion, optional=True)
        c.text("nombre_comercial", min_len=3, max_len=80, optional=True)
        c.instance("ubicacion", Ubicacion, optional=True)
        c.text("otras_senas_extranjero", min_len=5, max_len=300, optional=True)
        c.instance("telefono", Telefono, optional=True)
        correo = c.text("correo_electronico", max_len=160, optional=True)
        if correo is not None and not EMAIL.fullmatch(correo):
            c.add("correo_electronico", f"{correo!r} is not a valid e-mail address")
        c.done()
