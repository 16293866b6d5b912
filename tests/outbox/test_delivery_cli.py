"""``cr-einvoice send`` and the deliveries in ``show``/``list``, with the configuration file's ``[delivery]``
and ``[smtp]`` and a real SMTP server on loopback (STARTTLS with a login read from environment variables)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
from outbox_docs import EMISOR_ID, factura

from cr_einvoice.app.cli import main
from cr_einvoice.app.config import (
    Config,
    EmisorSettings,
    SigningSettings,
    StoreSettings,
    load_config,
    write_config,
)
from cr_einvoice.app.mailing import DeliveryConfig, SmtpConfig
from cr_einvoice.app.runtime import Runtime
from cr_einvoice.core.errors import ConfigError
from cr_einvoice.outbox.store import VoucherState
from cr_einvoice.sandbox.mensaje import MensajeHaciendaData, render_mensaje_hacienda
from cr_einvoice.testing.pki import TestPKI
from cr_einvoice.testing.smtpd import MailServer, ServerCertificate, server_certificate


def respuesta(clave: str, mensaje: int) -> bytes:
    """Hacienda's answer as the simulator writes it (unsigned: the PDF prints it, the e-mail carries it)."""
    data = MensajeHaciendaData(
        clave, "Empresa de Pruebas S.A.", "02", EMISOR_ID, mensaje, "Aceptado", "7152.00"
    )
    return render_mensaje_hacienda(data)


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> ServerCertificate:
    return server_certificate(tmp_path_factory.mktemp("smtp-cli"))


@pytest.fixture
def server(cert: ServerCertificate) -> Iterator[MailServer]:
    refuse = {"rebota@example.com": (550, "5.1.1 unknown user")}
    with MailServer(tls="starttls", certificate=cert, credentials=("mailer", "pw-smtp"), refuse=refuse) as s:
        yield s


@pytest.fixture
def cfg(
    tmp_path: Path, pki: TestPKI, server: MailServer, cert: ServerCertificate, monkeypatch: pytest.MonkeyPatch
) -> Path:
    monkeypatch.setenv("T_PIN", pki.pin)
    monkeypatch.setenv("T_SMTP_USER", "mailer")
    monkeypatch.setenv("T_SMTP_PASS", "pw-smtp")
    config = Config(
        signing=SigningSettings(p12_path=str(pki.taxpayer_p12), pin_env="T_PIN"),
        emisor=EmisorSettings(numero_identificacion=EMISOR_ID, correo_electronico="facturas@example.com"),
        store=StoreSettings(path="outbox.db"),
        delivery=DeliveryConfig(enabled=True, copies="archivo@example.com"),
        smtp=SmtpConfig(
            host="127.0.0.1",
            port=server.port,
            username_env="T_SMTP_USER",
            password_env="T_SMTP_PASS",
            timeout=5.0,
            ca_file=str(cert.ca_pem),
        ),
        base_dir=tmp_path,
    )
    path = write_config(config, tmp_path / "cr-einvoice.toml")
    text = path.read_text()
    assert "pw-smtp" not in text and 'password_env = "T_SMTP_PASS"' in text
    assert load_config(path) == config
    return path


def accepted_voucher(cfg: Path, *, rejected: bool = False) -> str:
    with Runtime.from_file(cfg, create_store=True) as runtime:
        record = runtime.issuer().issue(factura())
        store = runtime.store
        store.transition(record.key, VoucherState.SENDING)
        estado, mensaje = ("rechazado", 3) if rejected else ("aceptado", 1)
        raw = respuesta(record.clave, mensaje)
        store.add_respuesta(
            record.key, source="poll", estado=estado, mensaje=mensaje, detalle=None, errores=[], raw_xml=raw
        )
        store.transition(record.key, VoucherState.REJECTED if rejected else VoucherState.ACCEPTED)
        return record.clave


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_send_show_and_list(cfg: Path, server: MailServer, capsys: pytest.CaptureFixture[str]) -> None:
    clave = accepted_voucher(cfg)
    code, out, err = run(capsys, "send", clave, "--config", str(cfg), "--json")
    assert code == 0, err
    sent = json.loads(out)["deliveries"]
    assert sorted((d["recipient"], d["state"]) for d in sent) == [
        ("archivo@example.com", "sent"),
        ("compras@example.com", "sent"),
    ]
    assert all(m.tls and m.login == "mailer" for m in server.messages)
    msg = message_from_bytes(server.messages[0].data, policy=default_policy)
    names = sorted(str(p.get_filename()) for p in msg.iter_attachments())  # type: ignore[attr-defined]
    assert names == [f"{clave}-respuesta-hacienda.xml", f"{clave}.pdf", f"{clave}.xml"]
    pdf = next(p for p in msg.iter_attachments() if p.get_filename() == f"{clave}.pdf")  # type: ignore[attr-defined]
    assert pdf.get_payload(decode=True).startswith(b"%PDF")
    # again: nothing is sent twice
    code, out, _ = run(capsys, "send", clave, "--config", str(cfg))
    assert code == 0 and len(server.messages) == 2
    assert "2 sent" in out
    # another address on request; a refused one is recorded, exit 1
    code, out, _ = run(capsys, "send", clave, "--config", str(cfg), "--to", "rebota@example.com")
    assert code == 1 and "bounced" in out and "550 5.1.1 unknown user" in out
    code, out, _ = run(capsys, "show", clave, "--config", str(cfg), "--json")
    shown = json.loads(out)
    assert {d["recipient"]: d["state"] for d in shown["deliveries"]} == {
        "compras@example.com": "sent",
        "archivo@example.com": "sent",
        "rebota@example.com": "bounced",
    }
    assert "delivery_bounced" in [e["kind"] for e in shown["events"]]
    code, out, _ = run(capsys, "show", clave, "--config", str(cfg))
    assert "e-mail: rebota@example.com single bounced (attempts 1): 550 5.1.1 unknown user" in " ".join(
        out.split()
    )
    code, out, _ = run(capsys, "list", "--config", str(cfg), "--json")
    (listed,) = json.loads(out)
    assert listed["e_mail"] == "e-mail: 2 sent, 1 bounced" or listed["e_mail"] == "e-mail: 1 bounced, 2 sent"
    code, out, _ = run(capsys, "list", "--config", str(cfg))
    assert "e-mail:" in out
    # --force sends a bounced one again (the server still refuses it)
    code, out, _ = run(capsys, "send", clave, "--config", str(cfg), "--to", "rebota@example.com", "--force")
    assert code == 1 and "(attempts 2)" in out


def test_send_refuses_a_rejected_voucher_and_bad_addresses(
    cfg: Path, server: MailServer, capsys: pytest.CaptureFixture[str]
) -> None:
    clave = accepted_voucher(cfg, rejected=True)
    code, out, _ = run(capsys, "send", clave, "--config", str(cfg))
    assert code == 0 and "no e-mail is due" in out and server.messages == []
    code, out, _ = run(capsys, "send", clave, "--config", str(cfg), "--to", "x@example.com", "--json")
    assert code == 4 and json.loads(out)["error"]["type"] == "DeliveryRefusedError"
    other = accepted_voucher(cfg)
    code, out, _ = run(
        capsys, "send", other, "--config", str(cfg), "--to", "x@example.com\r\nBcc: y@z.cr", "--json"
    )
    error = json.loads(out)["error"]
    assert code == 3 and error["problems"][0]["path"] == "--to" and "control characters" in error["message"]
    assert server.messages == []


def test_a_missing_smtp_password_is_a_clear_error(
    cfg: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    clave = accepted_voucher(cfg)
    monkeypatch.delenv("T_SMTP_PASS")
    code, _, err = run(capsys, "send", clave, "--config", str(cfg))
    assert code == 2 and "T_SMTP_PASS is not set" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"delivery": {"mode": "three"}}, "delivery.mode"),
        ({"delivery": {"copies": "a@example.com, b@x\r\nBcc: c@d.cr"}}, "delivery.copies"),
        ({"delivery": {"sender": "nobody"}}, "delivery.sender"),
        ({"delivery": {"enabled": True}}, "smtp.host is empty"),
        ({"smtp": {"security": "ssl"}}, "smtp.security"),
        ({"smtp": {"username_env": "not a name"}}, "smtp.username_env"),
        ({"delivery": {"pdf_format": "a5"}}, "delivery.pdf_format"),
    ],
)
def test_bad_settings_name_the_setting(section: dict[str, dict[str, object]], message: str) -> None:
    from cr_einvoice.app.config import config_from_mapping

    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        config_from_mapping(section, base_dir=Path.cwd())


def test_each_taxpayer_mails_from_its_own_address_unless_one_sender_is_set() -> None:
    from cr_einvoice.app.mailing import delivery_settings

    correos = {"3101123456": "facturas@acme.example", "3101999999": "ventas@beta.example"}
    own = delivery_settings(DeliveryConfig(enabled=True), emisor_correo="", senders=correos)
    assert own.sender_for("3101123456") == "facturas@acme.example"
    assert own.sender_for("3101999999") == "ventas@beta.example"
    assert own.sender_for("111111111") in correos.values()  # an unknown taxpayer still gets a From
    one = delivery_settings(
        DeliveryConfig(enabled=True, sender="cobros@proveedor.example"), emisor_correo="", senders=correos
    )
    assert {one.sender_for(t) for t in correos} == {"cobros@proveedor.example"}
    bad = {"3101999999": "no es correo"}
    with pytest.raises(ConfigError, match="3101999999"):
        delivery_settings(DeliveryConfig(enabled=True), emisor_correo="", senders=bad)
    with pytest.raises(ConfigError, match=r"delivery\.sender"):
        delivery_settings(DeliveryConfig(enabled=True), emisor_correo="", senders={})
