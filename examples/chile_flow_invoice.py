"""Read a Flow.cl subscription invoice (``invoice/get``), signed with HMAC-SHA256.

python examples/chile_flow_invoice.py --fake          # against a local fake Flow (no account)
FLOW_API_KEY=... FLOW_SECRET_KEY=... FLOW_BASE_URL=sandbox python examples/chile_flow_invoice.py 1034
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys

from cr_einvoice.chile.flow import AsyncFlowClient, FlowAuth, FlowClient, sign_params, string_to_sign
from cr_einvoice.core.secret import Secret
from cr_einvoice.testing.chile_fakes import FakeFlow


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("invoice_id", nargs="?", type=int, default=1034)
    parser.add_argument("--fake", action="store_true", help="run against a local fake Flow server")
    args = parser.parse_args(argv)

    # Flow's published example: the string to sign and its signature with the secret "my secret".
    example = {"apiKey": "XXXX-XXXX-XXXX", "currency": "CLP", "amount": 5000}
    print(f"signing {string_to_sign(example)!r} -> {sign_params(example, Secret('my secret'))}")

    with contextlib.ExitStack() as stack:
        if args.fake:
            fake = stack.enter_context(FakeFlow())
            auth, base_url = FlowAuth(fake.api_key, Secret(fake.secret_key)), fake.base_url
        else:
            auth, base_url = FlowAuth.from_env(), os.environ.get("FLOW_BASE_URL", "production")
        with FlowClient(auth, base_url=base_url) as client:
            invoice = client.get_invoice(args.invoice_id)
        status = getattr(invoice.status, "name", invoice.status)
        print(f"invoice {invoice.id} ({invoice.subject}): {invoice.currency} {invoice.amount}, {status}")
        print(
            f"  subscription {invoice.subscriptionId}, customer {invoice.customerId}, due {invoice.due_date}"
        )
        for item in invoice.items:
            print(f"  item {item.id}: {item.subject} {item.amount} ({getattr(item.type, 'name', item.type)})")
        for attempt in invoice.chargeAttemps:
            error = f"{attempt.errorCode} {attempt.errorDescription}"
            print(f"  failed charge {attempt.date}: {attempt.amount} -- {error}")

        async def again() -> None:
            async with AsyncFlowClient(auth, base_url=base_url) as aclient:
                same = await aclient.get_invoice(args.invoice_id)
            state = getattr(same.status, "name", same.status)
            print(f"async client: invoice {same.id} status {state}, payment link {same.paymentLink}")

        asyncio.run(again())
    return 0


if __name__ == "__main__":
    sys.exit(main())
