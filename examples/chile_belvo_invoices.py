"""Retrieve a link's Chilean invoices (SII) through Belvo, synchronously and asynchronously.

    python examples/chile_belvo_invoices.py --fake      # against a local fake Belvo (no account)
    BELVO_SECRET_ID=... BELVO_SECRET_PASSWORD=... BELVO_BASE_URL=sandbox \\
        python examples/chile_belvo_invoices.py --link <link uuid> --from 2024-01-01 --to 2025-06-30

A range longer than 365 days is split into consecutive requests for you. The asynchronous part (202 +
webhook) runs only with --fake, where the webhook goes to a loopback receiver.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from cr_einvoice.chile.belvo import AsyncBelvoClient, BelvoAuth, BelvoClient, InvoiceType, parse_belvo_webhook
from cr_einvoice.core.secret import Secret
from cr_einvoice.testing.chile_fakes import FakeBelvo, LoopbackReceiver, sample_belvo_invoice

DEMO_LINK = "3fa85f64-5717-4562-b3fc-2c963f66afa6"


def demo_invoices(today: date) -> list[dict[str, object]]:
    return [
        sample_belvo_invoice(
            DEMO_LINK,
            today - timedelta(days=45 * n),
            type="INFLOW" if n % 3 else "OUTFLOW",
            folio=500 + n,
            net_amount=Decimal("84033.61") + n,
        )
        for n in range(14)
    ]


async def webhook_demo(auth: BelvoAuth, fake: FakeBelvo, link: str, start: date, end: date) -> None:
    with LoopbackReceiver() as receiver:
        fake.webhook_url = receiver.url("/belvo")
        async with AsyncBelvoClient(auth, base_url=fake.base_url) as client:
            accepted = await client.request_invoices(link, start, end)
            print(f"asynchronous: {len(accepted)} request(s) accepted: {[a.request_id for a in accepted]}")
            calls = await asyncio.to_thread(receiver.wait, len(accepted))
            ids = {a.request_id for a in accepted}
            for call in calls:
                hook = parse_belvo_webhook(call.body, expected_request_ids=ids)
                kind = f"{hook.webhook_type}/{hook.webhook_code}"
                print(f"  webhook {kind} for {hook.request_id}: {dict(hook.data)}")
            stored = [invoice async for invoice in client.list_invoices(link, page_size=5)]
            print(f"  {len(stored)} invoice(s) now listed (pages of 5)")


def main(argv: list[str] | None = None) -> int:
    today = datetime.now(UTC).date()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--link", default=DEMO_LINK)
    parser.add_argument(
        "--from", dest="date_from", type=date.fromisoformat, default=today - timedelta(days=540)
    )
    parser.add_argument("--to", dest="date_to", type=date.fromisoformat, default=today)
    parser.add_argument("--fake", action="store_true", help="run against a local fake Belvo server")
    args = parser.parse_args(argv)

    with contextlib.ExitStack() as stack:
        if args.fake:
            fake = stack.enter_context(FakeBelvo(invoices=demo_invoices(today)))
            auth, base_url = BelvoAuth(fake.secret_id, Secret(fake.secret_password)), fake.base_url
        else:
            auth, base_url = BelvoAuth.from_env(), os.environ.get("BELVO_BASE_URL", "production")
        with BelvoClient(auth, base_url=base_url) as client:
            invoices = client.retrieve_invoices(args.link, args.date_from, args.date_to)
        print(f"synchronous: {len(invoices)} invoice(s) from {args.date_from} to {args.date_to}")
        for invoice in invoices:
            direction = "received" if invoice.type is InvoiceType.INFLOW else "sent"
            print(
                f"  {invoice.issue_date} folio {invoice.folio:>4} {direction:8} {invoice.currency} "
                f"net {invoice.net_amount} VAT {invoice.vat_amount} total {invoice.total_amount}"
            )
        if args.fake:
            fake.stored.clear()
            asyncio.run(webhook_demo(auth, fake, args.link, args.date_from, args.date_to))
    return 0


if __name__ == "__main__":
    sys.exit(main())
