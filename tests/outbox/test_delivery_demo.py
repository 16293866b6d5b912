"""``make demo``'s customers receive their vouchers: XML + PDF + Hacienda's answer, byte-identical to the
outbox, from the local SMTP server (written as .eml files with the PDFs beside them)."""

from __future__ import annotations

import os
import subprocess
import sys
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

from cr_einvoice.outbox.store import DeliveryState, VoucherState, open_store


def test_the_demo_customers_get_xml_pdf_and_answer(tmp_path: Path, schemas_dir: Path) -> None:
    env = {**os.environ, "CR_EINVOICE_SCHEMAS": str(schemas_dir), "COLUMNS": "200"}
    demo = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "cr_einvoice.app.demo", "--dir", str(demo)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "e-mail: 6 customers got their voucher" in result.stderr
    assert "demo/mail/*.eml" in result.stderr and "demo/pdf/" in result.stderr
    emls = sorted((demo / "mail").glob("*.eml"))
    assert len(emls) == 6
    with open_store(demo / "outbox.db") as store:
        mailed = set()
        for eml in emls:
            msg = message_from_bytes(eml.read_bytes(), policy=default_policy)
            assert isinstance(msg, EmailMessage)
            clave = str(msg["X-CR-Einvoice-Clave"])
            record = store.find(clave)
            assert record is not None and record.state is VoucherState.ACCEPTED
            files = {}
            for part in msg.iter_attachments():
                payload = part.get_payload(decode=True)
                assert isinstance(payload, bytes)
                files[str(part.get_filename())] = payload
            answer = store.respuestas(record.key)[-1].raw_xml
            assert files[f"{clave}.xml"] == record.signed_xml
            assert answer is not None and files[f"{clave}-respuesta-hacienda.xml"] == answer
            pdf = files[f"{clave}.pdf"]
            assert pdf.startswith(b"%PDF") and (demo / "pdf" / f"{clave}.pdf").read_bytes() == pdf
            (delivery,) = store.deliveries(record.key)
            assert delivery.state is DeliveryState.SENT and msg["Message-ID"] == delivery.message_id
            assert msg["To"] == delivery.recipient
            mailed.add(record.tipo)
        assert mailed == {"01", "02", "03", "08", "09", "10"}  # the tiquetes have no receptor, the MR is ours
        unmailed = [v for v in store.iter_vouchers() if v.tipo in ("04", "05")]
        assert unmailed and all(store.deliveries(v.key) == [] for v in unmailed)
