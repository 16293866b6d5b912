"""The one party identification of the package: :class:`Identificacion` (Nota 4 type and number).

Models, certificates, the recepción JSON, the store and the simulator all speak this type. The JSON shape of
Hacienda's recepción API (``tipoIdentificacion``/``numeroIdentificacion``) is produced and read here, and so
is the type inferred from a bare number (a MensajeReceptor carries numbers without their type).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, cast

from cr_einvoice.core.catalogs import TipoIdentificacion
from cr_einvoice.core.checks import Check, Checked, Code, Text
from cr_einvoice.core.errors import ValidationError

__all__ = ["ID_PATTERNS", "Identificacion", "infer_tipo"]

#: The number each identification type requires (Nota 4): a regular expression and the rule in words.
ID_PATTERNS: dict[TipoIdentificacion, tuple[str, str]] = {
    TipoIdentificacion.CEDULA_FISICA: (r"[1-9]\d{8}", "9 digits without a leading zero"),
    TipoIdentificacion.CEDULA_JURIDICA: (r"\d{10}", "10 digits"),
    TipoIdentificacion.DIMEX: (r"[1-9]\d{10,11}", "11 or 12 digits without a leading zero"),
    TipoIdentificacion.NITE: (r"\d{10}", "10 digits"),
    TipoIdentificacion.EXTRANJERO_NO_DOMICILIADO: (r"[A-Za-z0-9]{1,20}", "1 to 20 letters or digits"),
    TipoIdentificacion.NO_CONTRIBUYENTE: (r"[A-Za-z0-9]{1,20}", "1 to 20 letters or digits"),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Identificacion(Checked):
    """Identificacion: ``tipo`` (Nota 4) and ``numero`` in the format that type requires."""

    tipo: Annotated[TipoIdentificacion, Code()]
    numero: Annotated[str, Text(max_len=20)]

    def check(self, c: Check) -> None:
        tipo = c.got("tipo", TipoIdentificacion)
        numero = c.got("numero", str)
        if tipo is not None and numero is not None:
            regex, rule = ID_PATTERNS[tipo]
            if not re.fullmatch(regex, numero):
                c.add(
                    "numero", f"identification type {tipo.value} ({tipo.name}) must be {rule}, got {numero!r}"
                )

    def __str__(self) -> str:
        return self.numero

    @classmethod
    def of(cls, tipo: str | TipoIdentificacion, numero: str) -> Identificacion:
        """An identification from its type code (``"02"``) and number; raises
        :class:`~cr_einvoice.core.errors.ValidationError` naming ``tipo``/``numero``."""
        return cls(tipo=cast(TipoIdentificacion, tipo), numero=numero)

    @classmethod
    def from_number(cls, numero: str) -> Identificacion:
        """An identification whose type is inferred from the number alone (see :func:`infer_tipo`)."""
        return cls(tipo=infer_tipo(numero), numero=numero)

    def to_recepcion(self) -> dict[str, str]:
        """The recepción API's JSON shape: ``{"tipoIdentificacion": "02", "numeroIdentificacion": "…"}``."""
        return {"tipoIdentificacion": self.tipo.value, "numeroIdentificacion": self.numero}

    @classmethod
    def from_recepcion(cls, data: Mapping[str, Any], *, path: str = "") -> Identificacion:
        """Read the recepción API's JSON shape; problems name ``path.tipoIdentificacion`` and so on."""
        prefix = f"{path}." if path else ""
        tipo = data.get("tipoIdentificacion")
        numero = data.get("numeroIdentificacion")
        if not isinstance(tipo, str) or not isinstance(numero, str):
            raise ValidationError(
                "tipoIdentificacion and numeroIdentificacion must both be strings",
                path=f"{prefix}tipoIdentificacion"
                if not isinstance(tipo, str)
                else f"{prefix}numeroIdentificacion",
            )
        try:
            return cls.of(tipo, numero)
        except ValidationError as exc:
            names = {"tipo": "tipoIdentificacion", "numero": "numeroIdentificacion"}
            raise ValidationError(
                [p.__class__(prefix + names.get(p.path, p.path), p.message, p.code) for p in exc.problems]
            ) from None

    def matches(self, tipo: str | None, numero: str) -> bool:
        """Same number (leading zeros ignored) and, when ``tipo`` is given, same type."""
        if tipo is not None and tipo != self.tipo.value:
            return False
        return numero.lstrip("0") == self.numero.lstrip("0")

    def matches_filter(self, value: str) -> bool:
        """The recepción list filters (``emisor``/``receptor``): the type followed by the number, padded
        (``02003101123456``) or not (``023101123456``)."""
        return len(value) >= 3 and self.matches(value[:2], value[2:])


def infer_tipo(numero: str) -> TipoIdentificacion:
    """Identification type from a bare number (a MensajeReceptor carries no type): 9 digits física, 10
    jurídica, 11-12 DIMEX; anything else is taken as extranjero no domiciliado (05)."""
    if numero.isdigit():
        if len(numero) == 9:
            return TipoIdentificacion.CEDULA_FISICA
        if len(numero) == 10:
            return TipoIdentificacion.CEDULA_JURIDICA
        if len(numero) in (11, 12):
            return TipoIdentificacion.DIMEX
    return TipoIdentificacion.EXTRANJERO_NO_DOMICILIADO
