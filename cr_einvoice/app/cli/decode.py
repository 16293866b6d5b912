"""``cr-einvoice decode FILE``: decode Hacienda's answer (MensajeHacienda) and verify its signature.

FILE holds the MensajeHacienda XML, its Base64 (as in ``respuesta-xml``), or a status/callback JSON document
carrying ``respuesta-xml``. The JSON printed on stdout has ``clave``, ``mensaje`` (an integer), ``estado``,
``errores`` (``codigo``, ``mensaje``, ``fila``, ``columna``), the other MensajeHacienda fields and
``signature`` (signer details, or the reason verification failed). Hacienda's seal must chain to the bundled
Costa Rica national PKI unless --trust names other anchors (the simulator's TEST CA). Exit status: 0 only when
Hacienda's signature verifies AND is trusted; when it is valid but does not chain ("signature valid but not
trusted": ``signature.valid`` true, ``signature.trusted`` false, ``signature.error`` SignatureNotTrustedError)
or does not verify, the exit status is 1 and what could be decoded is still printed.
"""

from __future__ import annotations

import argparse
from typing import Any

from cr_einvoice.app.cli._common import add_trust_argument, dump_json, read_bytes
from cr_einvoice.core.errors import ExitCode, ValidationError, VerificationError
from cr_einvoice.core.jsonsafe import loads as json_loads
from cr_einvoice.hacienda.environments import HACIENDA_SELLO_CEDULA
from cr_einvoice.hacienda.respuesta import Respuesta, decode_respuesta, verify_respuesta
from cr_einvoice.hacienda.wire import StatusAnswer
from cr_einvoice.signing.xades import SignatureNotTrustedError, TrustStore

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
        "CA certificate(s) Hacienda's seal must chain to instead of the bundled Costa Rica national PKI "
        "(repeatable; e.g. the simulator's TEST CA)",
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
    obj = json_loads(stripped, what="the status/callback JSON file")
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
    except SignatureNotTrustedError as exc:
        out["signature"] = {**exc.result.to_dict(), "error": type(exc).__name__, "reason": str(exc)}
        dump_json(out)
        return ExitCode.FAILED
    except VerificationError as exc:
        out["signature"] = {"valid": False, "error": type(exc).__name__, "reason": str(exc)}
        dump_json(out)
        return ExitCode.FAILED
    out["signature"] = result.to_dict()
    dump_json(out)
    return 0
