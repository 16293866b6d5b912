"""E-mail delivery speed: durable deliveries per second to a local SMTP server, beside raw smtplib.

Run: ``.venv/bin/python benchmarks/bench_mail.py`` (``--quick`` for a smaller run, ``--n N`` e-mails,
``--strict`` to exit 1 when the target is missed).

- figure: the outbox's :class:`~cr_einvoice.outbox.delivering.Deliverer` sending N due deliveries (one per
  accepted invoice) over one SMTP connection to a local aiosmtpd server (:mod:`cr_einvoice.testing.smtpd`):
  per e-mail it claims the delivery (a committed, fsync'd write), composes the MIME message (signed XML, PDF,
  Hacienda's answer, base64), marks it handed over (a second commit) just before the end of the message,
  and records the server's answer (a third commit, with its event);
- reference, measured in the same run around the figure: raw ``smtplib`` sending the very same N rendered
  messages over one connection to the same server (no store, no composition).

Target: the durable path at most 4x the raw send per e-mail. Three fsync'd commits per e-mail are what makes
"never twice after a crash" true, and on an ordinary SSD each costs about as much as one local SMTP
transaction; composing a 3-attachment message costs well under one. Above 4x something else is wasted. The
PDF is rendered once beforehand (its own speed is ``bench_pdf.py``'s).
"""

from __future__ import annotations

import argparse
import smtplib
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if str(ROOT / "tests" / "outbox") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests" / "outbox"))

from outbox_docs import EMISOR_ID, factura  # noqa: E402

from cr_einvoice.delivery.mail import render_mail  # noqa: E402
from cr_einvoice.delivery.pdf import render_pdf  # noqa: E402
from cr_einvoice.delivery.smtp import SmtpSender, SmtpSettings  # noqa: E402
from cr_einvoice.outbox.delivering import Deliverer, DeliveryReport, DeliverySettings  # noqa: E402
from cr_einvoice.outbox.issuing import Issuer, IssuerSettings  # noqa: E402
from cr_einvoice.outbox.store import VoucherState, open_store  # noqa: E402
from cr_einvoice.sandbox.mensaje import MensajeHaciendaData, render_mensaje_hacienda  # noqa: E402
from cr_einvoice.signing.certs import load_p12  # noqa: E402
from cr_einvoice.signing.xades import Signer  # noqa: E402
from cr_einvoice.testing.pki import make_test_pki  # noqa: E402
from cr_einvoice.testing.smtpd import MailServer  # noqa: E402

TARGET = 4.0
SENDER = "facturas@example.com"


def raw_send(port: int, messages: list[tuple[str, bytes]]) -> float:
    """Seconds for smtplib to send ``messages`` over one connection."""
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        for to, data in messages:
            smtp.sendmail(SENDER, [to], data)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="30 e-mails instead of 200")
    parser.add_argument("--n", type=int, help="how many e-mails")
    parser.add_argument("--strict", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args()
    n = args.n or (30 if args.quick else 200)
    with tempfile.TemporaryDirectory(prefix="bench-mail-") as tmp:
        work = Path(tmp)
        pki = make_test_pki(work / "pki", taxpayer_id=EMISOR_ID)
        signer = Signer(load_p12(str(pki.taxpayer_p12), pki.pin))
        store = open_store(work / "outbox.db", create=True)
        issuer = Issuer(
            store, signer, IssuerSettings("02", EMISOR_ID, "Empresa de Pruebas S.A.", validate_xsd=False)
        )
        print(f"preparing {n} accepted invoices ...", file=sys.stderr)
        keys = []
        for _ in range(n):
            record = issuer.issue(factura())
            store.transition(record.key, VoucherState.SENDING)
            answer = render_mensaje_hacienda(
                MensajeHaciendaData(
                    record.clave, "Empresa de Pruebas S.A.", "02", EMISOR_ID, 1, "Aceptado", "7152"
                )
            )
            store.add_respuesta(
                record.key,
                source="poll",
                estado="aceptado",
                mensaje=1,
                detalle=None,
                errores=[],
                raw_xml=answer,
            )
            store.transition(record.key, VoucherState.ACCEPTED)
            keys.append(record.key)
        first = store.require(keys[0])
        pdf = render_pdf(first.signed_xml, respuesta_xml=store.respuestas(first.key)[-1].raw_xml)
        settings = DeliverySettings(sender=SENDER, batch=n)
        with MailServer() as server:
            smtp = SmtpSettings("127.0.0.1", server.port, security="none", timeout=30.0)
            deliverer = Deliverer(store, lambda: SmtpSender(smtp), settings, render_pdf=lambda *_: pdf)
            assert deliverer.plan() == n
            messages = []
            for key in keys:
                record = store.require(key)
                (d,) = store.deliveries(key)
                raw = store.respuestas(key)[-1].raw_xml
                body = render_mail(
                    record.signed_xml,
                    stage="single",
                    sender=SENDER,
                    recipient=d.recipient,
                    pdf=pdf,
                    respuesta_xml=raw,
                    estado="aceptado",
                    msg_id=d.message_id,
                )
                messages.append((d.recipient, body))
            raw_send(server.port, messages[:5])  # warm-up
            before = raw_send(server.port, messages)
            report = DeliveryReport()
            started = time.perf_counter()
            deliverer.run_due(report)
            durable = time.perf_counter() - started
            after = raw_send(server.port, messages)
            assert len(report.sent) == n, report
        store.close()
    reference = (before + after) / 2
    size = sum(len(m) for _, m in messages) / n / 1024
    ratio = durable / reference
    met = ratio <= TARGET
    print(f"e-mails of {size:.0f} KiB (signed XML + PDF + Hacienda's answer), {n} each way, one connection")
    print(f"  durable deliveries:  {n / durable:8.1f} e-mails/s  ({durable / n * 1000:6.2f} ms each)")
    print(f"  raw smtplib (ref.):  {n / reference:8.1f} e-mails/s  ({reference / n * 1000:6.2f} ms each)")
    print(f"  ratio {ratio:.2f}x, target <= {TARGET:.0f}x: {'met' if met else 'NOT met'}")
    return 1 if args.strict and not met else 0


if __name__ == "__main__":
    raise SystemExit(main())
