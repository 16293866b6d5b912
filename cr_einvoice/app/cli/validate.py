"""``cr-einvoice validate FILE``: XSD + business rules; exit 0 when valid, 1 with the problems.

A signed v4.4 document (one carrying a ``ds:Signature``) is also run through the preflight
(:func:`cr_einvoice.preflight.preflight`, offline, without the outbox): the signature, the signer against the
emisor, FechaEmision against the clock. Its reasons that the XSD and the rules did not already give are
listed as ``preflight``; a predicted rejection makes the exit status 1 too.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from cr_einvoice.app.cli._common import dump_json, read_bytes
from cr_einvoice.core.xmlsafe import parse_untrusted
from cr_einvoice.preflight import Reason, preflight
from cr_einvoice.signing.xades.algorithms import DS_NS
from cr_einvoice.vouchers.validate import ValidationReport, validate_xml


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


def _preflight(data: bytes, args: argparse.Namespace, report: ValidationReport) -> list[Reason] | None:
    """The preflight's own reasons for a signed v4.4 document (None when it does not apply)."""
    if args.no_xsd or args.signed is False or report.version != "4.4":
        return None
    if parse_untrusted(data, what="voucher").find(f"{{{DS_NS}}}Signature") is None:
        return None
    known = set(report.problems) | set(report.warnings)
    return [r for r in preflight(data).reasons if r.problem not in known]


def run(args: argparse.Namespace) -> int:
    data = read_bytes(args.file)
    report = validate_xml(data, xsd=not args.no_xsd, signed=args.signed)
    extra = _preflight(data, args, report)
    rejected = extra is not None and any(r.rejects for r in extra)
    if args.json:
        dump_json(
            {
                "ok": report.ok and not rejected,
                "document_type": report.document_type,
                "version": report.version,
                "tipo": report.tipo,
                "problems": [_problem(p) for p in report.problems],
                "warnings": [_problem(p) for p in report.warnings],
                "preflight": None if extra is None else [r.to_dict() for r in extra],
            }
        )
    else:
        for w in report.warnings:
            print(f"warning {w.code if w.code is not None else '-'} {w.path}: {w.message}", file=sys.stderr)
        for r in extra or ():
            print(f"preflight {r}", file=sys.stdout if r.rejects else sys.stderr)
        if report.ok and not rejected:
            print(f"{args.file}: valid {report.document_type} v{report.version}")
        else:
            for p in report.problems:
                print(f"{p.code if p.code is not None else '-'} {p.path}: {p.message}")
            print(f"{args.file}: {len(report.problems)} problem(s)", file=sys.stderr)
    return 0 if report.ok and not rejected else 1
