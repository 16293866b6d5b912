"""``cr-einvoice clave parse|new``: read or build a 50-digit clave."""

from __future__ import annotations

import argparse
from datetime import date, datetime
from typing import Any

from cr_einvoice.app.cli._common import add_group, dump_json
from cr_einvoice.core.catalogs import TipoDocumento
from cr_einvoice.core.clave import Clave, Consecutivo, cr_now
from cr_einvoice.core.errors import ClaveError

_TIPOS = {
    "fe": TipoDocumento.FACTURA_ELECTRONICA,
    "nd": TipoDocumento.NOTA_DEBITO,
    "nc": TipoDocumento.NOTA_CREDITO,
    "te": TipoDocumento.TIQUETE,
    "mr-aceptado": TipoDocumento.CONFIRMACION_ACEPTACION,
    "mr-parcial": TipoDocumento.CONFIRMACION_ACEPTACION_PARCIAL,
    "mr-rechazado": TipoDocumento.CONFIRMACION_RECHAZO,
    "fec": TipoDocumento.FACTURA_COMPRA,
    "fee": TipoDocumento.FACTURA_EXPORTACION,
    "rep": TipoDocumento.RECIBO_PAGO,
}


def register(sub: Any) -> None:
    verbs = add_group(sub, "clave", "parse or build a clave numérica (50 digits)")

    p_parse = verbs.add_parser("parse", help="print the parts of a clave as JSON")
    p_parse.add_argument("clave", help="the 50-digit clave")
    p_parse.set_defaults(func=run_parse)

    p_new = verbs.add_parser(
        "new",
        help="build a clave (the date is taken in Costa Rica time, UTC-06:00)",
        description="Build a clave and its NumeroConsecutivo; prints JSON. The security code comes from the "
        "operating system's CSPRNG unless --codigo-seguridad is given.",
    )
    p_new.add_argument("--tipo-id", required=True, help="identification type of the emisor: 01-06")
    p_new.add_argument("--id", required=True, dest="numero_id", help="identification number, digits only")
    p_new.add_argument("--sucursal", type=int, default=1, help="branch (1 = casa matriz)")
    p_new.add_argument("--terminal", type=int, default=1, help="terminal / point of sale")
    p_new.add_argument(
        "--tipo", required=True, help=f"document type: a code 01-10 or one of {', '.join(_TIPOS)}"
    )
    p_new.add_argument("--numero", type=int, required=True, help="sequence number (1-9999999999)")
    p_new.add_argument("--situacion", default="1", help="1 normal, 2 contingencia, 3 sin internet")
    p_new.add_argument(
        "--fecha",
        help="FechaEmision as ISO 8601 with an offset (2026-07-15T09:30:00-06:00) or a CR date (2026-07-15); "
        "default: now in Costa Rica",
    )
    p_new.add_argument("--codigo-seguridad", help="8 digits (default: random)")
    p_new.set_defaults(func=run_new)


def run_parse(args: argparse.Namespace) -> int:
    dump_json(Clave.parse(args.clave.strip()).as_dict())
    return 0


def _tipo(value: str) -> TipoDocumento:
    key = value.strip().lower()
    if key in _TIPOS:
        return _TIPOS[key]
    try:
        return TipoDocumento(key.zfill(2))
    except ValueError:
        raise ClaveError(
            f"unknown document type {value!r}: use a code 01-10 or one of {', '.join(_TIPOS)}", path="--tipo"
        ) from None


def _fecha(value: str | None) -> datetime | date:
    if value is None:
        return cr_now()
    text = value.strip()
    try:
        if "T" not in text and len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ClaveError(
            f"{value!r} is not an ISO 8601 date-time such as 2026-07-15T09:30:00-06:00", path="--fecha"
        ) from None


def run_new(args: argparse.Namespace) -> int:
    consecutivo = Consecutivo(
        sucursal=args.sucursal, terminal=args.terminal, tipo=_tipo(args.tipo), numero=args.numero
    )
    clave = Clave.build(
        tipo_identificacion=args.tipo_id,
        numero_identificacion=args.numero_id,
        consecutivo=consecutivo,
        fecha=_fecha(args.fecha),
        situacion=args.situacion,
        codigo_seguridad=args.codigo_seguridad,
    )
    dump_json(clave.as_dict())
    return 0
