"""``cr-einvoice decode FILE``: decode Hacienda's answer (MensajeHacienda) and verify its signature.

FILE holds the MensajeHacienda XML, its Base64 (as in ``respuesta-xml``), or a status/callback JSON document
carrying ``respuesta-xml``. The JSON printed on stdout has ``clave``, ``mensaje`` (an integer), ``estado``,
``errores`` (``codigo``, ``mensaje``, ``fila``, ``columna``), the other MensajeHacienda fields and
``signature`` (signer details, or the reason verification failed). Exit status: 0 when Hacienda's signature
verifies, 1 when it does not (what could be decoded is still printed).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from cr_einvoice.app.cli._common import add_trust_argument, dump_json, read_bytes
from cr_einvoice.core.errors import ValidationError, VerificationError
from cr_einvoice.hacienda.environments import HACIENDA_SELLO_CEDULA
from cr_einvoice.hacienda.respuesta import Respuesta, decode_respuesta, verify_respuesta
from cr_einvoice.hacienda.wire import StatusAnswer
from cr_einvoice.signing.xades import TrustStore

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "decode",
        help="decode Hacienda's answer (MensajeHacienda) and verify Hacienda's signature",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "file", help="MensajeHacienda XML, its Base64, or a status/callback JSON ('-': stdin)"
    )
    add_trust_argument(
        parser,
        "CA certificate(s) Hacienda's seal must chain to (repeatable; default: check integrity and signer "
        "cédula only)",
    )
    parser.add_argument(
        "--expect-cedula",
        default=HACIENDA_SELLO_CEDULA,
        help=f"the seal's serialNumber (default {HACIENDA_SELLO_CEDULA}, which the simulator's TEST seal "
        "also carries)",
    )
    parser.set_defaults(func=_decode)


def _payload(data: bytes) -> bytes | str:
    stripped = data.lstrip()
    if not stripped.startswith(b"{"):
        return data
    try:
        obj = json.loads(stripped.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ValidationError("the file starts like JSON but is not valid JSON", path="file") from None
    value = StatusAnswer.from_json(obj).respuesta_xml if isinstance(obj, dict) else None
    if value is None:
        raise ValidationError(
            "the JSON document has no respuesta-xml (Hacienda has not answered yet?)", path="respuesta-xml"
        )
    return value


def respuesta_json(respuesta: Respuesta) -> dict[str, Any]:
    return {
        "clave": respuesta.clave,
        "mensaje": respuesta.mensaje,
        "estado": respuesta.estado,
        "estado_mensaje": respuesta.estado_mensaje,
        "errores": [
            {"codigo": e.codigo, "mensaje": e.mensaje, "fila": e.fila, "columna": e.columna}
            for e in respuesta.errores
        ],
        "nombre_emisor": respuesta.nombre_emisor,
        "tipo_identificacion_emisor": respuesta.tipo_identificacion_emisor,
        "numero_cedula_emisor": respuesta.numero_cedula_emisor,
        "nombre_receptor": respuesta.nombre_receptor,
        "tipo_identificacion_receptor": respuesta.tipo_identificacion_receptor,
        "numero_cedula_receptor": respuesta.numero_cedula_receptor,
        "monto_total_impuesto": respuesta.monto_total_impuesto,
        "total_factura": respuesta.total_factura,
        "ambiente_pruebas": respuesta.ambiente_pruebas,
        "preambulo": respuesta.preambulo,
        "version": respuesta.version,
        "detalle_mensaje": respuesta.detalle_mensaje,
    }


def _decode(args: argparse.Namespace) -> int:
    respuesta = decode_respuesta(_payload(read_bytes(args.file)), verify=False)
    trust = TrustStore.from_pem_files(*args.trust) if args.trust else None
    out = respuesta_json(respuesta)
    try:
        result = verify_respuesta(respuesta, trust, expected_cedula=args.expect_cedula or None)
    except VerificationError as exc:
        out["signature"] = {"valid": False, "error": type(exc).__name__, "reason": str(exc)}
        dump_json(out)
        return 1
    out["signature"] = result.to_dict()
    dump_json(out)
    return 0
