"""``cr-einvoice pdf CLAVE|FILE.xml``: the graphic representation of a signed voucher as a PDF.

CLAVE (or clave-consecutivoReceptor) takes the voucher from the configured outbox: its exact signed XML,
Hacienda's last answer and the record's state are printed. FILE.xml is a signed voucher on disk;
``--respuesta`` names Hacienda's answer to print with it and ``--estado`` the state to show.
``--format``: ``a4``, ``letter``, ``80mm`` or ``58mm`` (thermal rolls, any document type); by default the
configuration's ``[delivery] pdf_format`` for a stored voucher, ``a4`` for a file. The PDF
is written to ``-o FILE`` (``-``: standard output), by default to ``<clave>.pdf``
(``<clave>-<consecutivoReceptor>.pdf`` for a MensajeReceptor) in the current folder. ``--deterministic``
gives the same bytes for the same input.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from cr_einvoice.app.cli import _common as cli
from cr_einvoice.core.errors import ConfigError
from cr_einvoice.delivery.pdf import FORMATS, render_pdf

__all__ = ["register"]

_KEY = re.compile(r"\d{50}(-\d{20})?")


def _from_store(args: argparse.Namespace) -> tuple[str, bytes, bytes | None, str | None]:
    with cli.open_runtime(args) as runtime:
        store = runtime.store
        record = cli.find_record(store, args.source)
        respuestas = store.respuestas(record.key)
        raw = next((r.raw_xml for r in reversed(respuestas) if r.raw_xml), None)
        args.format = args.format or runtime.config.delivery.pdf_format
        return record.key, record.signed_xml, raw, record.state.value


def _from_file(args: argparse.Namespace) -> tuple[str, bytes, bytes | None, str | None]:
    data = cli.read_bytes(args.source)
    respuesta = cli.read_bytes(args.respuesta) if args.respuesta else None
    args.format = args.format or "a4"
    return "", data, respuesta, args.estado


def cmd_pdf(args: argparse.Namespace) -> int:
    from_store = _KEY.fullmatch(args.source) is not None and not Path(args.source).exists()
    if from_store and (args.respuesta or args.estado):
        raise ConfigError("--respuesta and --estado are for a FILE.xml; a stored voucher brings its own")
    key, signed, respuesta, estado = _from_store(args) if from_store else _from_file(args)
    pdf = render_pdf(
        signed, respuesta_xml=respuesta, estado=estado, format=args.format, deterministic=args.deterministic
    )
    if not key:
        from cr_einvoice.delivery.document import representacion

        view = representacion(signed)
        key = view.clave if view.clave_etiqueta == "Clave" else f"{view.clave}-{view.consecutivo}"
    output = args.output or f"{key}.pdf"
    cli.write_output(pdf, output)
    if args.json and output != "-":
        cli.dump_json({"clave": key, "format": args.format, "file": output, "bytes": len(pdf)})
    elif output != "-":
        print(f"{output} ({args.format}, {len(pdf)} bytes)", file=sys.stderr)
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser(
        "pdf",
        help="graphic representation of a signed voucher (PDF: A4, Letter, 80 mm or 58 mm roll)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("source", metavar="CLAVE|FILE.xml", help="a clave of the outbox, or a signed voucher file")
    p.add_argument(
        "--format",
        choices=FORMATS,
        help="page or roll format (default: [delivery] pdf_format for a stored voucher, else a4)",
    )
    p.add_argument("-o", "--output", metavar="FILE", help="where to write the PDF ('-': standard output)")
    p.add_argument("--respuesta", metavar="FILE", help="with FILE.xml: Hacienda's MensajeHacienda to print")
    p.add_argument(
        "--estado", help="with FILE.xml: the state to print (aceptado, rechazado, procesando, ...)"
    )
    p.add_argument("--deterministic", action="store_true", help="no creation time: same input, same bytes")
    cli.add_config_argument(p)
    p.add_argument("--json", action="store_true", help="JSON output (the file written)")
    p.set_defaults(func=cmd_pdf)
