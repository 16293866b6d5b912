"""``cr-einvoice worker`` sends the vouchers' e-mails when ``[delivery] enabled``: against the local Hacienda
simulator and a real SMTP server, the issue e-mail in the round that submits, the answer e-mail once Hacienda
accepted (``mode = "two"``)."""

from __future__ import annotations

import time
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path

import pytest

from cr_einvoice.app.cli import main
from cr_einvoice.app.config import write_config
from cr_einvoice.app.demo import LocalSandbox
from cr_einvoice.app.mailing import DeliveryConfig, SmtpConfig
from cr_einvoice.outbox.store import DeliveryStage, DeliveryState, VoucherState
from cr_einvoice.testing.examples import example_json
from cr_einvoice.testing.smtpd import MailServer
from cr_einvoice.vouchers.jsonio import document_from_json


def test_the_worker_delivers_at_issue_and_after_the_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("CR_EINVOICE_DEMO_USERNAME", "CR_EINVOICE_DEMO_PASSWORD", "CR_EINVOICE_DEMO_PIN"):
        monkeypatch.setenv(name, "")  # LocalSandbox sets them; monkeypatch restores them afterwards
    with LocalSandbox(tmp_path / "box", processing_delay=0.05) as box, MailServer() as server:
        assert box.config is not None and box.config_path is not None
        config = replace(
            box.config,
            delivery=DeliveryConfig(enabled=True, mode="two", sender="facturacion@tecnovalle.example.cr"),
            smtp=SmtpConfig(host="127.0.0.1", port=server.port, security="none", timeout=5.0),
        )
        path = write_config(config, box.config_path, overwrite=True)
        issued = box.issuer().issue(document_from_json(example_json("fe")))
        store = box.runtime.store
        main(["worker", "--once", "--config", str(path)])
        capsys.readouterr()
        (first,) = server.messages
        assert first.rcpt_tos == ("cuentasporpagar@lasabana.example.cr",)
        names = sorted(str(p.get_filename()) for p in _attachments(first.message))
        assert names == [f"{issued.clave}.pdf", f"{issued.clave}.xml"]
        for _ in range(100):
            if store.require(issued.key).state is VoucherState.ACCEPTED and len(server.messages) == 2:
                break
            main(["worker", "--once", "--config", str(path)])
            capsys.readouterr()
            time.sleep(0.05)
        assert store.require(issued.key).state is VoucherState.ACCEPTED
        assert len(server.messages) == 2
        files = {
            str(p.get_filename()): p.get_payload(decode=True)
            for p in _attachments(server.messages[1].message)
        }
        assert files[f"{issued.clave}.xml"] == store.require(issued.key).signed_xml
        assert files[f"{issued.clave}-respuesta-hacienda.xml"] == store.respuestas(issued.key)[-1].raw_xml
        stages = [(d.stage, d.state) for d in store.deliveries(issued.key)]
        assert stages == [
            (DeliveryStage.ISSUE, DeliveryState.SENT),
            (DeliveryStage.ANSWER, DeliveryState.SENT),
        ]


def _attachments(message: object) -> list[EmailMessage]:
    assert isinstance(message, EmailMessage)
    return list(message.iter_attachments())  # type: ignore[arg-type]
