"""``cr-einvoice issue FILE.json``: number, sign and store vouchers (one or a list); ``--submit`` sends."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
from datetime import datetime
from typing import Any

from cr_einvoice.app.cli import _common as cli
from cr_einvoice.app.cli.listing import progress
from cr_einvoice.app.cli.submit import drain
from cr_einvoice.core import jsonsafe
from cr_einvoice.core.errors import ExitCode, ValidationError

__all__ = ["register"]

#: A batch file of documents (10,000 tickets of a few KiB each).
_MAX_BATCH_BYTES = 256 * 1024 * 1024


def _documents(raw: bytes, name: str) -> list[Any]:
    source = "standard input" if name == "-" else name
    try:  # a batch of documents: the hardened reader with room for thousands of them
        data = jsonsafe.loads(raw, what=source, max_bytes=_MAX_BATCH_BYTES)
    except jsonsafe.JSONInputError as exc:
        raise ValidationError(f"{source} {exc.reason}", path="$") from None
    if isinstance(data, dict):
        return [data]
    if isinstance(data, list) and all(isinstance(d, dict) for d in data):
        return data
    raise ValidationError(f"{source}: expected a JSON object (one document) or a list of objects", path="$")


def cmd_issue(args: argparse.Namespace) -> int:
    from cr_einvoice.outbox.issuing import PaperVoucher

    docs = _documents(cli.read_bytes(args.file), args.file)
    if args.ref and len(docs) > 1:
        raise ValidationError("--ref names one document; use --ref-prefix for a list", path="--ref")
    paper = None
    if args.paper_numero:
        if not args.paper_fecha:
            raise ValidationError("--paper-numero needs --paper-fecha (ISO date-time)", path="--paper-fecha")
        try:
            fecha = datetime.fromisoformat(args.paper_fecha)
        except ValueError:
            raise ValidationError(
                f"not an ISO date-time: {args.paper_fecha!r}", path="--paper-fecha"
            ) from None
        paper = PaperVoucher(numero=args.paper_numero, fecha_emision=fecha)
    issued: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    with cli.open_runtime(args) as runtime:
        issuer = runtime.issuer(args.issuer, **({"validate_xsd": False} if args.no_xsd else {}))
        taxpayer = runtime.config.taxpayer(args.issuer)
        s = issuer.settings
        taxpayer.check_terminal(args.sucursal or s.sucursal, args.terminal or s.terminal)
        with progress(len(docs), "issuing") as bar:
            for index, data in enumerate(docs):
                where = f"[{index}] " if len(docs) > 1 else ""
                ref = args.ref or (f"{args.ref_prefix}{index}" if args.ref_prefix else None)
                try:
                    v = issuer.issue_json(
                        data,
                        external_ref=ref,
                        sucursal=args.sucursal,
                        terminal=args.terminal,
                        replaces_paper=paper,
                    )
                except ValidationError as exc:
                    if len(docs) == 1:
                        raise
                    failures.append(
                        {"index": index, "problems": [dataclasses.asdict(p) for p in exc.problems]}
                    )
                    if not args.json:
                        print(f"{where}not issued: {exc}", file=sys.stderr)
                else:
                    issued.append(
                        {
                            "index": index,
                            "clave": v.clave,
                            "consecutivo": v.consecutivo,
                            "situacion": v.situacion,
                            "new": v.created,
                            "notes": [dataclasses.asdict(n) for n in v.notes],
                        }
                    )
                    if not args.json:
                        for remark in v.notes:
                            print(f"{where}note: {remark}", file=sys.stderr)
                bar.advance()
        report = None
        if args.submit and issued:
            keys = [i["clave"] for i in issued]
            report = asyncio.run(drain(runtime, within=args.within, keys=keys, issuers=cli.issuers_of(args)))
        if args.json:
            out: dict[str, Any] = {"issued": issued, "failed": failures}
            if report is not None:
                out["states"] = {
                    k: runtime.store.require(k).state.value for k in (i["clave"] for i in issued)
                }
            cli.dump_json(out)
        else:
            for item in issued:
                note = "" if item["new"] else "  (already issued under this reference)"
                state = f"  {runtime.store.require(item['clave']).state.value}" if report is not None else ""
                print(f"{item['clave']}  {item['consecutivo']}{state}{note}")
        code = ExitCode.INVALID if failures else ExitCode.OK
        if report is not None and code is ExitCode.OK:
            code = cli.outcome_code([runtime.store.require(i["clave"]) for i in issued], runtime.store)
    return int(code)


def register(sub: Any) -> None:
    p = sub.add_parser(
        "issue",
        help="number, sign and store vouchers from JSON (one document or a list)",
    )
    p.add_argument(
        "file", metavar="FILE.json", help="a document in the JSON input format, or a list ('-': stdin)"
    )
    cli.add_outbox_arguments(p, submit="send them now and wait for Hacienda's answers")
    cli.add_issuer_argument(p, help="the configured taxpayer that issues them ([issuers.NAME])")
    p.add_argument(
        "--ref", help="idempotency reference (an order id): issuing it again returns the same voucher"
    )
    p.add_argument("--ref-prefix", help="for a list: reference each document as PREFIX<index>")
    p.add_argument("--sucursal", type=int, help="establishment (default: the configuration's)")
    p.add_argument("--terminal", type=int, help="terminal (default: the configuration's)")
    p.add_argument("--paper-numero", help="replaces this paper contingency voucher (situación 2)")
    p.add_argument("--paper-fecha", help="issue date-time of the paper voucher (ISO 8601, with offset)")
    p.add_argument(
        "--no-xsd",
        action="store_true",
        help="skip the official XSD check before numbering (business rules still run; no schemas needed); "
        "the configuration's [issuer] validate_xsd = false does the same for every run",
    )
    p.set_defaults(func=cmd_issue)
