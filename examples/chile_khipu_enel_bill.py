"""Download an Enel (Chile) electricity bill as a PDF through Khipu Open Data.

    python examples/chile_khipu_enel_bill.py --fake               # against a local fake Khipu (no account)
    KHIPU_API_KEY=... python examples/chile_khipu_enel_bill.py 1234567-8 --email you@example.cl

Credentials: KHIPU_API_KEY, or KHIPU_ACCESS_TOKEN (a JWT), or KHIPU_CLIENT_ID + KHIPU_CLIENT_SECRET +
KHIPU_TOKEN_URL -- one of them. KHIPU_BASE_URL overrides the base URL (default: production).

With --fake the script also shows the asynchronous mode: Khipu answers 202 at once and POSTs the bill to a
callback URL later (here a loopback receiver; in production a public HTTPS endpoint of yours).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
from pathlib import Path

from cr_einvoice.chile.khipu import (
    AsyncKhipuClient,
    EnelBillResult,
    KhipuAccepted,
    KhipuAuth,
    KhipuCallbacks,
    KhipuClient,
)
from cr_einvoice.core.secret import Secret
from cr_einvoice.testing.chile_fakes import FakeKhipu, LoopbackReceiver


def show(outcome: object, output: Path) -> None:
    if isinstance(outcome, EnelBillResult):
        path = outcome.save_pdf(output)
        bill = outcome.bill
        print(f"operation {outcome.operation_id}: bill of {bill.client_identifier}, {bill.size} bytes")
        print(f"  saved to {path}")
    else:
        print(f"Khipu asked to retry later: {outcome}")


async def callback_demo(auth: KhipuAuth, base_url: str, client_id: str, email: str, output: Path) -> None:
    pending = KhipuCallbacks()
    with LoopbackReceiver() as receiver:
        async with AsyncKhipuClient(auth, base_url=base_url) as client:
            accepted = await client.request_enel_bill(client_id, email, callback_url=receiver.url("/khipu"))
        if not isinstance(accepted, KhipuAccepted):  # Khipu settled at once (e.g. "retry in 4 hours")
            show(accepted, output)
            return
        pending.expect(accepted)
        print(f"asynchronous request accepted: operation {accepted.operation_id}")
        print(f"  no callback expected after {accepted.life_span}")
        (call,) = await asyncio.to_thread(receiver.wait, 1)
    matched = pending.match(call.body)
    print(f"callback received for operation {matched.operation_id}")
    show(matched.outcome, output)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("client_id", nargs="?", default="1234567-8", help="Enel client number")
    parser.add_argument("--email", default="cliente@example.cl")
    parser.add_argument("--fake", action="store_true", help="run against a local fake Khipu server")
    parser.add_argument("-o", "--output-dir", type=Path, help="where to save the PDFs (default: a temp dir)")
    args = parser.parse_args(argv)
    output = args.output_dir or Path(tempfile.mkdtemp(prefix="khipu-"))

    with contextlib.ExitStack() as stack:
        if args.fake:
            fake = stack.enter_context(FakeKhipu())
            auth, base_url = KhipuAuth(api_key=Secret(fake.api_key)), fake.base_url
        else:
            auth, base_url = KhipuAuth.from_env(), os.environ.get("KHIPU_BASE_URL", "production")
        with KhipuClient(auth, base_url=base_url) as client:
            show(client.enel_bill(args.client_id, args.email), output / "bill-sync.pdf")
        if args.fake:
            asyncio.run(
                callback_demo(auth, base_url, args.client_id, args.email, output / "bill-callback.pdf")
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
