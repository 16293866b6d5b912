"""``cr-einvoice check FILE``: predict Hacienda's verdict on a signed voucher before sending it.

Runs :func:`cr_einvoice.preflight.preflight`: the signature, the XSD and business rules, the signer
against the emisor (-60), FechaEmision against the clock (-53, -16), a consecutivo the outbox already used
(-99, when an outbox is configured) and the registry checks (-407, -400, exonerations), looked up in
Hacienda's public data and kept in the outbox's cache (``--offline``: the cache only), with -37 and -408
from what ``cr-einvoice lookup import`` put in that cache. Exit status: 0 when
Hacienda would accept (warnings allowed), 4 (``ExitCode.REJECTED``) when it would reject, 2 for a missing
file or bad options.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from datetime import datetime
from typing import Any, cast

from cr_einvoice.app.cli._common import add_config_argument, add_trust_argument, dump_json, read_bytes
from cr_einvoice.app.config import default_config_path
from cr_einvoice.app.publicdata import PublicDataConfig, open_public_data
from cr_einvoice.core.errors import ConfigError, ExitCode
from cr_einvoice.hacienda.publicdata import DEFAULT_BASE_URL, Cache
from cr_einvoice.preflight import PreflightReport, preflight
from cr_einvoice.signing.xades import TrustStore

__all__ = ["print_report", "register"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "check",
        help="predict Hacienda's verdict on a signed voucher (offline preflight)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", help="the signed XML exactly as it will be sent ('-' reads standard input)")
    add_config_argument(parser)
    parser.add_argument(
        "--no-store",
        action="store_true",
        help="do not read the outbox of the configuration (skips the -99 consecutivo check)",
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        help="no network lookups: the registry checks read the outbox's public-data cache only",
    )
    parser.add_argument(
        "--public-data-url",
        metavar="URL",
        help=f"Hacienda's public data API for the registry checks (default: [publicdata] base_url of the "
        f"configuration, else {DEFAULT_BASE_URL}; the simulator serves one at its root URL)",
    )
    parser.add_argument(
        "--now",
        metavar="ISO-DATETIME",
        help="the moment of submission to check FechaEmision against (default: now, Costa Rica time)",
    )
    add_trust_argument(
        parser, "CA certificate(s) the signer's certificate must chain to (default: not checked)"
    )
    parser.add_argument("--json", action="store_true", help="print the prediction as JSON")
    parser.set_defaults(func=run)


def _now(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"--now: {text!r} is not an ISO date-time (2026-07-15T09:30:00-06:00)") from None
    if value.tzinfo is None:
        raise ConfigError(f"--now: {text!r} has no time-zone offset (add -06:00)")
    return value


def print_report(name: str, report: PreflightReport) -> None:
    """The prediction as text: one line per reason (severity, code, path, Hacienda's text, the detail)."""
    for reason in report.reasons:
        print(f"{name}: {reason}")
    for skipped in report.skipped:
        print(f"{name}: not checked: {skipped}", file=sys.stderr)
    verdict = "Hacienda would accept" if report.accepted else "Hacienda would reject"
    what = f"{report.document_type} {report.clave}" if report.clave else report.document_type or "document"
    print(f"{name}: {verdict} {what}")


def run(args: argparse.Namespace) -> int:
    data = read_bytes(args.file)
    trust = TrustStore.from_pem_files(*args.trust) if args.trust else None
    with ExitStack() as stack:
        store = None
        settings = PublicDataConfig()
        if not args.no_store and (args.config is not None or default_config_path().is_file()):
            from cr_einvoice.app.runtime import Runtime

            runtime = stack.enter_context(Runtime.from_file(args.config))
            store = runtime.store
            settings = runtime.config.publicdata
        cache = cast(Cache, store) if store is not None else None
        offline = args.offline or settings.offline
        public_data = stack.enter_context(
            open_public_data(settings, cache, base_url=args.public_data_url, offline=offline)
        )
        report = preflight(
            data, store=store, public_data=public_data, now=_now(args.now), allow_lookup=True, trust=trust
        )
    if args.json:
        dump_json({"file": args.file, **report.to_dict()})
    else:
        print_report(args.file, report)
    return ExitCode.OK if report.accepted else ExitCode.REJECTED
