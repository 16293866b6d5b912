"""``cr-einvoice validate FILE``: XSD + business rules; exit 0 when valid, 1 with the problems."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from cr_einvoice.app.cli._common import dump_json, read_bytes
from cr_einvoice.vouchers.validate import validate_xml


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "validate",
        help="check a voucher against the official XSD and Hacienda's business rules",
        description="Validate a v4.4 voucher (FE, ND, NC, TE, FEC, FEE, REP), a MensajeReceptor or a v4.3 "
        "document. Exit 0 when valid; exit 1 and one line per problem (code, path, message) otherwise.",
    )
    parser.add_argument("file", help="the XML file ('-' reads standard input)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--no-xsd", action="store_true", help="business rules only (no schemas needed)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--signed",
        dest="signed",
        action="store_const",
        const=True,
        default=None,
        help="require a ds:Signature (default: only when the document carries one)",
    )
    group.add_argument(
        "--unsigned", dest="signed", action="store_const", const=False, help="never require a ds:Signature"
    )
    parser.set_defaults(func=run)


def _problem(p: Any) -> dict[str, Any]:
    return {"code": p.code, "path": p.path, "message": p.message}


def run(args: argparse.Namespace) -> int:
    report = validate_xml(read_bytes(args.file), xsd=not args.no_xsd, signed=args.signed)
    if args.json:
        dump_json(
            {
                "ok": report.ok,
                "document_type": report.document_type,
                "version": report.version,
                "tipo": report.tipo,
                "problems": [_problem(p) for p in report.problems],
                "warnings": [_problem(p) for p in report.warnings],
            }
        )
    else:
        for w in report.warnings:
            print(f"warning {w.code if w.code is not None else '-'} {w.path}: {w.message}", file=sys.stderr)
        if report.ok:
            print(f"{args.file}: valid {report.document_type} v{report.version}")
        else:
            for p in report.problems:
                print(f"{p.code if p.code is not None else '-'} {p.path}: {p.message}")
            print(f"{args.file}: {len(report.problems)} problem(s)", file=sys.stderr)
    return 0 if report.ok else 1
