"""Code catalogues of the v4.4 Anexos (the "Notas") as enums.

Member names are readable Spanish names; values are the exact codes written in the XML.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Situacion", "TipoDocumento", "TipoIdentificacion"]


class TipoDocumento(StrEnum):
    """Document type codes (Nota 3), positions 9-10 of the consecutivo."""

    FACTURA_ELECTRONICA = "01"
    NOTA_DEBITO = "02"
    NOTA_CREDITO = "03"
    TIQUETE = "04"
    CONFIRMACION_ACEPTACION = "05"
    CONFIRMACION_ACEPTACION_PARCIAL = "06"
    CONFIRMACION_RECHAZO = "07"
    FACTURA_COMPRA = "08"
    FACTURA_EXPORTACION = "09"
    RECIBO_PAGO = "10"


class TipoIdentificacion(StrEnum):
    """Identification types (Nota 4)."""

    CEDULA_FISICA = "01"
    CEDULA_JURIDICA = "02"
    DIMEX = "03"
    NITE = "04"
    EXTRANJERO_NO_DOMICILIADO = "05"
    NO_CONTRIBUYENTE = "06"


class Situacion(StrEnum):
    """Situación del comprobante, clave position 42."""

    NORMAL = "1"
    CONTINGENCIA = "2"
    SIN_INTERNET = "3"
