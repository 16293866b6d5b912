"""``cr-einvoice build``: JSON input → numbered v4.4 XML (unsigned), or print an example JSON."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from cr_einvoice.app.cli._common import dump_json, read_bytes, write_output
from cr_einvoice.core.catalogs import TipoDocumento
from cr_einvoice.core.clave import Clave, Consecutivo, cr_now, to_cr_time
from cr_einvoice.core.errors import ConfigError, ValidationError
from cr_einvoice.testing.examples import EXAMPLE_KINDS, example_json
from cr_einvoice.vouchers.jsonio import document_from_json
from cr_einvoice.vouchers.model import Document, MensajeReceptor
from cr_einvoice.vouchers.xmlwrite import to_xml

__all__ = ["number_document", "register", "run_build"]


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "build",
        help="build a voucher's XML from the JSON input format (or print an example JSON)",
        description="Read a document in the JSON input format, number it (clave, NumeroConsecutivo, "
        "FechaEmision now in Costa Rica time unless given) and write its unsigned v4.4 XML. Totals are "
        "computed; errors name the JSON field. --example TYPE prints a complete example instead.",
    )
    parser.add_argument("file", nargs="?", help="the JSON document ('-' for standard input)")
    parser.add_argument("-o", "--output", help="where to write the XML (default: standard output)")
    parser.add_argument(
        "--example",
        metavar="TYPE",
        choices=EXAMPLE_KINDS,
        help=f"print the example JSON of {', '.join(EXAMPLE_KINDS)}",
    )
    parser.add_argument(
        "--json-schema",
        metavar="TYPE",
        nargs="?",
        const="",
        help="print the JSON Schema of the input format (generated from the model) for TYPE, or for any "
        "document when TYPE is omitted",
    )
    parser.add_argument(
        "--clave", help="use this 50-digit clave (its consecutivo and date must fit the document)"
    )
    parser.add_argument("--sucursal", type=int, default=1, help="branch for a generated clave (default 1)")
    parser.add_argument("--terminal", type=int, default=1, help="terminal for a generated clave (default 1)")
    parser.add_argument(
        "--numero", type=int, default=1, help="sequence number for a generated clave (default 1)"
    )
    parser.add_argument("--situacion", default="1", help="1 normal (default), 2 contingencia, 3 sin internet")
    parser.add_argument("--fecha", help="FechaEmision, ISO 8601 with offset (default: now, Costa Rica time)")
    parser.add_argument(
        "--validate",
        action="store_true",
        help="check the XML against the official XSD and Hacienda's business rules before writing it",
    )
    parser.add_argument(
        "--keep-numbering",
        action="store_true",
        help="keep the clave/consecutivo/fecha already in the JSON instead of numbering the document",
    )
    parser.set_defaults(func=run_build)


def run_build(args: argparse.Namespace) -> int:
    if args.example:
        dump_json(example_json(args.example))
        return 0
    if args.json_schema is not None:
        from cr_einvoice.vouchers.jsonschema import json_schema

        dump_json(json_schema(args.json_schema or None))
        return 0
    if not args.file:
        raise ConfigError("give a JSON FILE to build (or --example TYPE, or --json-schema [TYPE])")
    doc = document_from_json(
        read_bytes(args.file), source="standard input" if args.file == "-" else args.file
    )
    if not args.keep_numbering:
        fecha = _fecha(args.fecha)
        doc = number_document(
            doc,
            clave=args.clave,
            sucursal=args.sucursal,
            terminal=args.terminal,
            numero=args.numero,
            situacion=args.situacion,
            fecha=fecha,
        )
    data = to_xml(doc)
    if args.validate:
        from cr_einvoice.vouchers.validate import validate_xml

        report = validate_xml(data, signed=False)
        if not report.ok:
            raise ValidationError(report.problems)
    write_output(data, args.output)
    return 0


def _fecha(text: str | None) -> datetime:
    if text is None:
        return cr_now()
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"{text!r} is not an ISO 8601 date-time", path="--fecha") from None
    return to_cr_time(value, field="--fecha")


def number_document(
    doc: Document,
    *,
    clave: str | None = None,
    sucursal: int = 1,
    terminal: int = 1,
    numero: int = 1,
    situacion: str = "1",
    fecha: datetime | None = None,
) -> Document:
    """Number ``doc``: with the given ``clave`` (its consecutivo is used), or with a generated one from
    sucursal/terminal/numero/situación and the issuer's identification (the receptor's for a FacturaCompra,
    which the buyer issues). A MensajeReceptor gets NumeroConsecutivoReceptor and FechaEmisionDoc."""
    when = fecha if fecha is not None else cr_now()
    if clave is not None:
        parsed = Clave.parse(clave)
        consecutivo = parsed.consecutivo
    else:
        consecutivo = Consecutivo(sucursal=sucursal, terminal=terminal, tipo=doc.tipo, numero=numero)
    if isinstance(doc, MensajeReceptor):
        return doc.with_numbering(consecutivo=consecutivo, fecha_emision=when)
    if clave is None:
        party = doc.receptor if doc.tipo is TipoDocumento.FACTURA_COMPRA else doc.emisor
        ident = party.identificacion if party is not None else None
        if ident is None:
            raise ValidationError(
                "the issuer has no identification to put in the clave", path="emisor.identificacion"
            )
        parsed = Clave.build(
            tipo_identificacion=ident.tipo,
            numero_identificacion=ident.numero,
            consecutivo=consecutivo,
            fecha=when,
            situacion=situacion,
        )
    return doc.with_numbering(consecutivo=consecutivo, clave=parsed, fecha_emision=when)
