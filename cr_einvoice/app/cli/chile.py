"""``cr-einvoice cl``: Chilean bill and invoice retrieval (Khipu, Belvo, Flow) from the command line.

Credentials come from environment variables (rename them with the ``--*-env`` options):

* Khipu: ``KHIPU_API_KEY`` (x-api-key) **or** ``KHIPU_ACCESS_TOKEN`` (a bearer JWT) **or**
  ``KHIPU_CLIENT_ID`` + ``KHIPU_CLIENT_SECRET`` + ``KHIPU_TOKEN_URL`` (OAuth client credentials) -- one only;
* Belvo: ``BELVO_SECRET_ID`` and ``BELVO_SECRET_PASSWORD``;
* Flow: ``FLOW_API_KEY`` and ``FLOW_SECRET_KEY``.

The base URL is ``--base-url`` (an environment name or a URL), else ``KHIPU_BASE_URL`` / ``BELVO_BASE_URL`` /
``FLOW_BASE_URL``, else production. Results are printed as JSON.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shlex
import signal
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cr_einvoice.app.cli._common import add_group, dump_json
from cr_einvoice.chile._common import to_jsonable
from cr_einvoice.chile.belvo import BELVO_ENVIRONMENTS, BelvoAuth, BelvoClient, InvoiceType
from cr_einvoice.chile.flow import FLOW_ENVIRONMENTS, FlowAuth, FlowClient
from cr_einvoice.chile.khipu import KHIPU_ENVIRONMENTS, EnelBillResult, KhipuAuth, KhipuClient
from cr_einvoice.core.errors import ConfigError
from cr_einvoice.testing import chile_fakes

__all__ = ["DEMO_BELVO_LINK", "FAKE_PROVIDERS", "ServedFake", "register", "serve_fake"]

#: Exit code when Khipu asked to retry later (the JSON says when).
EXIT_DEFERRED = 3


def _base_url(args: argparse.Namespace, env_name: str) -> str:
    return str(args.base_url or os.environ.get(env_name) or "production")


def _add_common(parser: argparse.ArgumentParser, env_name: str, names: list[str]) -> None:
    parser.add_argument(
        "--base-url",
        help=f"environment ({', '.join(names)}) or URL; default ${env_name}, else production",
    )
    parser.add_argument("--timeout", type=float, help="read timeout in seconds")


def _khipu_enel_bill(args: argparse.Namespace) -> int:
    auth = KhipuAuth.from_env(
        api_key_env=args.api_key_env,
        token_env=args.token_env,
        client_id_env=args.client_id_env,
        client_secret_env=args.client_secret_env,
        token_url_env=args.token_url_env,
    )
    with KhipuClient(auth, base_url=_base_url(args, "KHIPU_BASE_URL"), timeout=args.timeout) as client:
        outcome = client.enel_bill(args.client_id, args.email)
    if not isinstance(outcome, EnelBillResult):
        dump_json(
            {
                "status": "deferred",
                "operation_id": outcome.operation_id,
                "error": to_jsonable(outcome.error),
                "earliest_retry": outcome.earliest_retry,
                "wait_for_notification": outcome.wait_for_notification,
            }
        )
        return EXIT_DEFERRED
    result: dict[str, Any] = {
        "status": "ok",
        "operation_id": outcome.operation_id,
        "client_identifier": outcome.bill.client_identifier,
        "pdf_bytes": outcome.bill.size,
        "pdf_sha256": hashlib.sha256(outcome.pdf).hexdigest(),
        "additional_information": outcome.additional_information,
        "saved_to": None,
    }
    # The bill is a billed request: always keep the PDF (default: enel-<client>-<date>.pdf here).
    target = args.output or _default_bill_path(outcome.bill.client_identifier)
    result["saved_to"] = str(outcome.save_pdf(target))
    dump_json(result)
    print(f"saved the bill to {result['saved_to']}", file=sys.stderr)
    return 0


def _default_bill_path(client_identifier: str) -> Path:
    """``enel-<client>-<YYYY-MM-DD>.pdf`` in the working folder, never replacing an existing file."""
    stem = "enel-" + "".join(c for c in client_identifier if c.isalnum() or c == "-") + "-"
    stem += datetime.now(UTC).date().isoformat()
    path = Path(f"{stem}.pdf")
    n = 2
    while path.exists():
        path = Path(f"{stem}-{n}.pdf")
        n += 1
    return path


def _belvo_invoices(args: argparse.Namespace) -> int:
    auth = BelvoAuth.from_env(secret_id_env=args.secret_id_env, secret_password_env=args.secret_password_env)
    with BelvoClient(auth, base_url=_base_url(args, "BELVO_BASE_URL"), timeout=args.timeout) as client:
        invoices = client.retrieve_invoices(
            args.link,
            args.date_from,
            args.date_to,
            type=InvoiceType(args.type) if args.type else None,
            save_data=args.save_data,
        )
    dump_json([to_jsonable(invoice) for invoice in invoices])
    return 0


def _flow_invoice(args: argparse.Namespace) -> int:
    auth = FlowAuth.from_env(api_key_env=args.api_key_env, secret_key_env=args.secret_key_env)
    with FlowClient(auth, base_url=_base_url(args, "FLOW_BASE_URL"), timeout=args.timeout) as client:
        invoice = client.get_invoice(args.invoice_id)
    dump_json(to_jsonable(invoice))
    return 0


# -- cl fake serve: the fakes the tests use, with sample data ---------------------------------------
#: The Belvo link of :func:`serve_fake`'s sample invoices.
DEMO_BELVO_LINK = "8a0c8d4e-0f1b-4c2e-9a53-2f6d3c1b7e10"
FAKE_PROVIDERS = ("khipu", "belvo", "flow")


@dataclass(frozen=True, slots=True)
class ServedFake:
    """A started fake, the environment variables that point the ``cr-einvoice cl`` verbs at it, and a
    command to try."""

    fake: chile_fakes.FakeKhipu | chile_fakes.FakeBelvo | chile_fakes.FakeFlow
    env: dict[str, str]
    try_command: str


def serve_fake(provider: str, *, port: int = 0, host: str = "127.0.0.1") -> ServedFake:
    """Start the fake of ``provider`` (``khipu``, ``belvo`` or ``flow``) with sample data; stop it with
    ``.fake.stop()``."""
    if provider == "khipu":
        khipu = chile_fakes.FakeKhipu(host=host, port=port).start()
        return ServedFake(
            khipu,
            {"KHIPU_BASE_URL": khipu.base_url, "KHIPU_API_KEY": khipu.api_key},
            "cr-einvoice cl khipu enel-bill 1234567-8 --email you@example.cl",
        )
    if provider == "belvo":
        today = datetime.now(UTC).date()
        invoices = [
            chile_fakes.sample_belvo_invoice(DEMO_BELVO_LINK, today - timedelta(days=3 * n), folio=n + 1)
            for n in range(5)
        ]
        belvo = chile_fakes.FakeBelvo(host=host, port=port, invoices=invoices).start()
        start = (today - timedelta(days=30)).isoformat()
        return ServedFake(
            belvo,
            {
                "BELVO_BASE_URL": belvo.base_url,
                "BELVO_SECRET_ID": belvo.secret_id,
                "BELVO_SECRET_PASSWORD": belvo.secret_password,
            },
            f"cr-einvoice cl belvo invoices --link {DEMO_BELVO_LINK} --from {start} --to {today.isoformat()}",
        )
    if provider == "flow":
        flow = chile_fakes.FakeFlow(host=host, port=port).start()
        return ServedFake(
            flow,
            {
                "FLOW_BASE_URL": flow.base_url,
                "FLOW_API_KEY": flow.api_key,
                "FLOW_SECRET_KEY": flow.secret_key,
            },
            f"cr-einvoice cl flow invoice {next(iter(flow.invoices))}",
        )
    raise ConfigError(f"unknown provider {provider!r} (known: {', '.join(FAKE_PROVIDERS)})")


def _fake_serve(args: argparse.Namespace) -> int:
    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # SIGTERM (a supervisor, a test) stops it like Ctrl-C; installed before the lines that say it runs.
    previous = signal.signal(signal.SIGTERM, stop)
    served = serve_fake(args.provider, port=args.port)
    fake = served.fake
    try:
        print(f"fake {args.provider} on {fake.base_url} (made-up data; Ctrl-C stops it)", file=sys.stderr)
        print("point the cl verbs at it:", file=sys.stderr)
        print("  export " + " ".join(f"{k}={shlex.quote(v)}" for k, v in served.env.items()), file=sys.stderr)
        print(f"  {served.try_command}", file=sys.stderr)
        sys.stderr.flush()
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        fake.stop()


def register(subparsers: Any) -> None:
    providers = add_group(
        subparsers,
        "cl",
        "Chile: Khipu Enel bills, Belvo invoices, Flow invoices",
        description=__doc__.replace("``", "").replace("**", "") if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )

    khipu_cmds = add_group(providers, "khipu", "Khipu Open Data")
    bill = khipu_cmds.add_parser("enel-bill", help="download an Enel electricity bill (PDF)")
    bill.add_argument("client_id", metavar="CLIENT_ID", help="Enel client number, with or without -DV")
    bill.add_argument("--email", required=True, help="email the site uses for its process")
    bill.add_argument(
        "-o", "--output", help="save the PDF to this file (default: enel-<client>-<date>.pdf in this folder)"
    )
    _add_common(bill, "KHIPU_BASE_URL", sorted(KHIPU_ENVIRONMENTS))
    bill.add_argument("--api-key-env", default="KHIPU_API_KEY", help="variable holding the API key")
    bill.add_argument("--token-env", default="KHIPU_ACCESS_TOKEN", help="variable holding a bearer JWT")
    bill.add_argument("--client-id-env", default="KHIPU_CLIENT_ID", help="variable: OAuth client id")
    bill.add_argument("--client-secret-env", default="KHIPU_CLIENT_SECRET", help="variable: OAuth secret")
    bill.add_argument("--token-url-env", default="KHIPU_TOKEN_URL", help="variable: OAuth token URL")
    bill.set_defaults(func=_khipu_enel_bill)

    belvo_cmds = add_group(providers, "belvo", "Belvo (SII invoices)")
    inv = belvo_cmds.add_parser("invoices", help="retrieve a link's invoices for a date range")
    inv.add_argument("--link", required=True, help="Belvo link id (UUID)")
    inv.add_argument("--from", dest="date_from", required=True, metavar="DATE", help="YYYY-MM-DD")
    inv.add_argument("--to", dest="date_to", required=True, metavar="DATE", help="YYYY-MM-DD")
    inv.add_argument("--type", choices=[t.value for t in InvoiceType], help="received or sent invoices")
    inv.add_argument(
        "--no-save-data", dest="save_data", action="store_false", help="do not persist the data at Belvo"
    )
    _add_common(inv, "BELVO_BASE_URL", sorted(BELVO_ENVIRONMENTS))
    inv.add_argument("--secret-id-env", default="BELVO_SECRET_ID", help="variable holding the Secret ID")
    inv.add_argument(
        "--secret-password-env", default="BELVO_SECRET_PASSWORD", help="variable holding the Secret Password"
    )
    inv.set_defaults(func=_belvo_invoices)

    flow_cmds = add_group(providers, "flow", "Flow.cl")
    finv = flow_cmds.add_parser("invoice", help="get a subscription invoice (invoice/get)")
    finv.add_argument("invoice_id", metavar="ID", type=int, help="the invoice id")
    _add_common(finv, "FLOW_BASE_URL", sorted(FLOW_ENVIRONMENTS))
    finv.add_argument("--api-key-env", default="FLOW_API_KEY", help="variable holding the apiKey")
    finv.add_argument("--secret-key-env", default="FLOW_SECRET_KEY", help="variable holding the secretKey")
    finv.set_defaults(func=_flow_invoice)

    fake_cmds = add_group(providers, "fake", "local fakes of the providers (no account needed)")
    serve = fake_cmds.add_parser(
        "serve",
        help="run a provider's fake in the foreground and print the variables that point the cl verbs at it",
        description="Serve the fake the tests use (made-up data, loopback only) until Ctrl-C. It prints the "
        "base URL and credentials as 'export' lines and a command to try.",
    )
    serve.add_argument("provider", choices=FAKE_PROVIDERS)
    serve.add_argument("--port", type=int, default=0, help="TCP port (default: a free one)")
    serve.set_defaults(func=_fake_serve)
