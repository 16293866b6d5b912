"""Two taxpayers in one configuration file and one store, against the simulator with two IdP users (each
allowed to send for its own taxpayer only): each voucher is signed with its taxpayer's certificate, sent with
its taxpayer's token, numbered on its own; secrets come from variables or files and never reach the database
or the logs; one taxpayer's 429 does not hold the other up."""

from __future__ import annotations

import asyncio
import json
import logging
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cr_einvoice import Runtime
from cr_einvoice.app.cli import main
from cr_einvoice.app.config import load_config
from cr_einvoice.core.errors import ConfigError, ExitCode
from cr_einvoice.outbox.store import VoucherState
from cr_einvoice.sandbox import Simulator, SimulatorSettings
from cr_einvoice.signing.xades import TrustStore, verify
from cr_einvoice.testing.examples import example_json
from cr_einvoice.testing.pki import TestPKI, make_test_pki


@dataclass(frozen=True)
class Party:
    name: str
    numero: str
    user: str
    password: str
    pin: str
    pki: TestPKI


@pytest.fixture(scope="module")
def parties(tmp_path_factory: pytest.TempPathFactory) -> tuple[Party, Party]:
    out = []
    for name, numero, password, pin in (
        ("alfa", "3101111111", "alfa-pw-5b1e", "4821"),
        ("beta", "3101222222", "beta-pw-9c3d", "7305"),
    ):
        pki = make_test_pki(
            tmp_path_factory.mktemp(f"pki-{name}"),
            pin=pin,
            taxpayer_id=numero,
            taxpayer_name=f"{name.upper()} SOCIEDAD ANONIMA",
            rc2=False,
        )
        user = f"cpj-3-101-{numero[4:]}@stag.comprobanteselectronicos.go.cr"
        out.append(Party(name, numero, user, password, pin, pki))
    return out[0], out[1]


def simulator(parties: tuple[Party, Party], **settings: object) -> Simulator:
    return Simulator(
        SimulatorSettings(
            users={p.user: p.password for p in parties},
            user_emisores={p.user: [p.numero] for p in parties},
            trust=TrustStore.from_pem_files(*(p.pki.ca_cert_pem for p in parties)),
            processing_delay=0.05,
            **settings,  # type: ignore[arg-type]
        )
    )


@pytest.fixture(scope="module")
def sim(parties: tuple[Party, Party]) -> Iterator[Simulator]:
    with simulator(parties) as s:
        yield s


def write_config(
    folder: Path, sim: Simulator, parties: tuple[Party, Party], monkeypatch: pytest.MonkeyPatch
) -> Path:
    """``init --issuer`` twice: Alfa's secrets in variables, Beta's password and PIN in files."""
    alfa, beta = parties
    path = folder / "cr-einvoice.toml"
    assert sim.sello_ca_cert_pem is not None
    common = [
        "init",
        "--config",
        str(path),
        "--environment",
        "custom",
        "--token-url",
        sim.token_url,
        "--recepcion-url",
        sim.base_url,
        "--client-id",
        sim.settings.client_id,
        "--trust-ca",
        str(sim.sello_ca_cert_pem),
        "--db",
        "outbox.db",
        "--correo",
        "caja@example.cr",
        "--ubicacion",
        "1,01,08,Frente al parque central",
    ]
    monkeypatch.setenv("CR_EINVOICE_ALFA_USERNAME", alfa.user)
    monkeypatch.setenv("CR_EINVOICE_ALFA_PASSWORD", alfa.password)
    monkeypatch.setenv("CR_EINVOICE_ALFA_PIN", alfa.pin)
    monkeypatch.setenv("BETA_USER", beta.user)
    (folder / "secrets").mkdir()
    (folder / "secrets" / "beta-password").write_text(beta.password + "\n")
    (folder / "secrets" / "beta-pin").write_text(beta.pin + "\n")
    first = [
        *common,
        "--issuer",
        "alfa",
        "--p12",
        str(alfa.pki.taxpayer_p12),
        "--nombre",
        "Alfa S.A.",
        "--terminals",
        "1/1,1/2",
    ]
    assert main(first) == 0
    second = [
        *common,
        "--issuer",
        "beta",
        "--p12",
        str(beta.pki.taxpayer_p12),
        "--numero-identificacion",
        beta.numero,
        "--nombre",
        "Beta S.A.",
        "--username-env",
        "BETA_USER",
        "--password-file",
        "secrets/beta-password",
        "--pin-file",
        "secrets/beta-pin",
    ]
    assert main(second) == 0
    return path


def ticket_file(folder: Path) -> Path:
    data = example_json("te")
    del data["emisor"]  # each taxpayer's [issuers.NAME.emisor] fills it
    path = folder / "ticket.json"
    path.write_text(json.dumps(data))
    return path


def test_two_taxpayers_sign_send_and_number_on_their_own(  # noqa: PLR0917 (fixtures)
    sim: Simulator,
    parties: tuple[Party, Party],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    alfa = parties[0]
    config_path = write_config(tmp_path, sim, parties, monkeypatch)
    config = load_config(config_path)
    assert config.issuer_names() == ["alfa", "beta"]  # no top-level [emisor] taxpayer: two named ones
    assert config.taxpayer("alfa").emisor.numero_identificacion == alfa.numero  # read from its .p12
    assert config.taxpayer("alfa").emisor.terminals == ((1, 1), (1, 2))
    with pytest.raises(ConfigError, match=r"several issuers are configured \(alfa, beta\).*--issuer"):
        config.taxpayer()
    doc = str(ticket_file(tmp_path))
    caplog.set_level(logging.DEBUG)
    capsys.readouterr()
    claves: dict[str, list[str]] = {"alfa": [], "beta": []}
    for name in ("alfa", "beta", "alfa", "beta"):
        assert main(["-vv", "issue", doc, "--config", str(config_path), "--issuer", name, "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        claves[name].append(out["issued"][0]["clave"])
    assert main(["-vv", "submit", "--config", str(config_path), "--within", "30", "--json"]) == 0
    logged = caplog.text + capsys.readouterr().err

    with Runtime.from_file(config_path) as runtime:
        for party in parties:
            for number, clave in enumerate(claves[party.name], start=1):
                record = runtime.store.require(clave)
                assert record.state is VoucherState.ACCEPTED, record.last_error
                assert record.emisor_numero == party.numero and record.numero == number  # its own sequence
                # Signed with its own certificate ...
                assert verify(record.signed_xml).signer_cedula == party.numero
                # ... and sent with its own token (the simulator also refuses another user's taxpayer).
                submission = sim.store.get(clave)
                assert submission is not None and submission.username == party.user

    # `list --issuer` shows one taxpayer's vouchers.
    assert main(["list", "--config", str(config_path), "--issuer", "beta", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert sorted(v["clave"] for v in listed) == sorted(claves["beta"])

    # The secrets are in no byte of the outbox database (with its WAL) nor of the logs nor of the file.
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("outbox.db*"))
    assert stored and config_path.is_file()
    for party in parties:
        for secret in (party.password, party.pin):
            assert secret.encode() not in stored
            assert secret not in logged
            assert secret not in config_path.read_text()


def test_a_terminal_outside_the_taxpayer_s_set_and_a_missing_secret_name_the_setting(
    sim: Simulator,
    parties: tuple[Party, Party],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config_path = write_config(tmp_path, sim, parties, monkeypatch)
    doc = str(ticket_file(tmp_path))
    capsys.readouterr()
    argv = ["issue", doc, "--config", str(config_path), "--issuer", "alfa", "--terminal", "3"]
    assert main(argv) == ExitCode.USAGE
    assert (
        "sucursal 1 terminal 3 is not one of issuers.alfa.emisor.terminals (1/1, 1/2)"
        in capsys.readouterr().err
    )
    monkeypatch.delenv("CR_EINVOICE_ALFA_PIN")
    assert main(argv[:-2]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "issuers.alfa.signing.pin_env: environment variable CR_EINVOICE_ALFA_PIN is not set" in err
    assert "Traceback" not in err
    (tmp_path / "secrets" / "beta-pin").unlink()
    assert main(["issue", doc, "--config", str(config_path), "--issuer", "beta"]) == ExitCode.USAGE
    assert "issuers.beta.signing.pin_file: cannot read" in capsys.readouterr().err
    assert main(["issue", doc, "--config", str(config_path), "--issuer", "gamma"]) == ExitCode.USAGE
    assert "no issuer named 'gamma' in the configuration file (known: alfa, beta)" in capsys.readouterr().err
    # apikey takes a configured name as well as a number.
    assert main(["apikey", "create", "--config", str(config_path), "--issuer", "beta", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["emisor"] == parties[1].numero
    # Adding an issuer that is there already needs --force.
    again = [
        "init",
        "--config",
        str(config_path),
        "--issuer",
        "alfa",
        "--numero-identificacion",
        "3101111111",
    ]
    assert main(again) == ExitCode.USAGE
    assert "issuer 'alfa' is already in" in capsys.readouterr().err


def test_one_taxpayer_s_429_does_not_hold_the_other_up(
    parties: tuple[Party, Party], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alfa, beta = parties
    # Two accepted POSTs per taxpayer per 4 s: Alfa's third and fourth are answered 429 and wait.
    with simulator(parties, rate_limit_table={"submit_accepted": 2}, rate_limit_window=4.0) as limited:
        config_path = write_config(tmp_path, limited, parties, monkeypatch)
        document = json.loads(ticket_file(tmp_path).read_text())
        from cr_einvoice.vouchers.jsonio import document_from_json

        with Runtime.from_file(config_path) as runtime:
            issued = {
                name: [
                    runtime.issuer(name)
                    .issue(document_from_json(document, emisor=runtime.issuer(name).settings.emisor()))
                    .clave
                    for _ in range(n)
                ]
                for name, n in (("alfa", 4), ("beta", 2))
            }
            asyncio.run(runtime.drain(within=40))
            for clave in issued["alfa"] + issued["beta"]:
                assert runtime.store.require(clave).state is VoucherState.ACCEPTED
        received = {k: s.received_at for k in issued["alfa"] + issued["beta"] if (s := limited.store.get(k))}
        alfa_times = sorted(received[k] for k in issued["alfa"])
        # Alfa waited for its window (its last two POSTs came at least ~4 s after the first) ...
        assert alfa_times[2] - alfa_times[0] > 3.0
        # ... and Beta's vouchers went through meanwhile, not after Alfa's wait.
        assert max(received[k] for k in issued["beta"]) < alfa_times[2]
        assert {limited.store.get(k).username for k in issued["beta"]} == {beta.user}  # type: ignore[union-attr]
        assert {limited.store.get(k).username for k in issued["alfa"]} == {alfa.user}  # type: ignore[union-attr]


def test_issuer_tables_inherit_all_but_the_credentials_and_survive_a_round_trip(tmp_path: Path) -> None:
    from cr_einvoice.app.config import config_from_mapping, render_config

    top = {
        "hacienda": {"environment": "production", "recepcion_url": "https://example.invalid/recepcion/v1/"},
        "emisor": {"numero_identificacion": "3101123456", "nombre": "Casa Matriz S.A."},
        "signing": {"p12_path": "certs/matriz.p12"},
    }
    acme = {
        "hacienda": {"username_env": "ACME_USER", "password_file": "/run/secrets/acme"},
        "signing": {"p12_path": "certs/acme.p12", "pin_env": "ACME_PIN"},
        "emisor": {"numero_identificacion": "3101654321", "terminals": [[1, 1], [2, 5]], "terminal": 1},
    }
    config = config_from_mapping({**top, "issuers": {"acme": acme}}, base_dir=tmp_path)
    assert config.issuer_names() == ["default", "acme"]
    assert config.taxpayer().name == "default"  # the top-level taxpayer is the default
    assert config.taxpayer_of("3101654321") is not None and config.taxpayer_of("1") is None
    taxpayer = config.taxpayer("acme")
    assert taxpayer.hacienda.environment == "production"  # inherited
    assert taxpayer.hacienda.recepcion_url == "https://example.invalid/recepcion/v1/"
    assert taxpayer.hacienda.username_env == "ACME_USER" and taxpayer.signing.pin_env == "ACME_PIN"
    assert taxpayer.p12_path == tmp_path / "certs/acme.p12"
    text = render_config(config)
    assert "[issuers.acme.hacienda]" in text and 'environment = "production"' in text
    again = config_from_mapping(tomllib.loads(text), base_dir=tmp_path)
    assert again == config
    # A legacy single-taxpayer file is unchanged: one taxpayer, "default".
    legacy = config_from_mapping(top, base_dir=tmp_path)
    assert legacy.issuer_names() == ["default"] and legacy.issuers == {}
    # A named taxpayer must have its own credentials and numero; names are checked.
    for broken, message in (
        (
            {"signing": acme["signing"], "emisor": acme["emisor"]},
            r"issuers\.acme\.hacienda\.username_env or username_file must be set",
        ),
        (
            {**acme, "signing": {"p12_path": "x.p12"}},
            r"issuers\.acme\.signing\.pin_env or pin_file must be set",
        ),
        ({**acme, "emisor": {"nombre": "Acme"}}, r"issuers\.acme\.emisor\.numero_identificacion must be set"),
        (
            {**acme, "emisor": {**acme["emisor"], "terminal": 3}},
            r"not one of issuers\.acme\.emisor\.terminals",
        ),
        (
            {**acme, "emisor": {**acme["emisor"], "numero_identificacion": "3101123456"}},
            "same numero_identificacion",
        ),
        (
            {**acme, "hacienda": {**acme["hacienda"], "username_env": "not a name"}},
            r"issuers\.acme\.hacienda\.username_env must name",
        ),
    ):
        with pytest.raises(ConfigError, match=message):
            config_from_mapping({**top, "issuers": {"acme": broken}}, base_dir=tmp_path)
    with pytest.raises(ConfigError, match="issuer name 'Acme!'"):
        config_from_mapping({**top, "issuers": {"Acme!": acme}}, base_dir=tmp_path)
    with pytest.raises(ConfigError, match="'default' names the top-level tables"):
        config_from_mapping({**top, "issuers": {"default": acme}}, base_dir=tmp_path)
    with pytest.raises(
        ConfigError, match=r"emisor\.terminals must be a list of \[sucursal, terminal\] pairs"
    ):
        config_from_mapping(
            {**top, "issuers": {"acme": {**acme, "emisor": {**acme["emisor"], "terminals": [1, 2]}}}},
            base_dir=tmp_path,
        )


def test_the_issuing_service_issues_for_each_key_s_taxpayer(
    parties: tuple[Party, Party], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``serve`` over a file with two taxpayers: an API key of each issues with its taxpayer's key and
    account; a key of a taxpayer the file does not hold is refused. (Its own simulator: a new store numbers
    from 1 again, which a simulator that saw those consecutivos refuses with -99.)"""
    with simulator(parties) as sim:
        _serve_two_taxpayers(sim, parties, tmp_path, monkeypatch)


def _serve_two_taxpayers(
    sim: Simulator, parties: tuple[Party, Party], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    import httpx

    from cr_einvoice.service.app import create_app
    from cr_einvoice.service.auth import ApiKeys
    from cr_einvoice.service.server import BackgroundServer
    from cr_einvoice.service.settings import ServiceSettings

    config_path = write_config(tmp_path, sim, parties, monkeypatch)
    document = json.loads(ticket_file(tmp_path).read_text())
    with Runtime.from_file(config_path) as runtime:
        keys = {p.numero: ApiKeys(runtime.store).create(p.numero, p.name)[0].reveal() for p in parties}
        stranger = ApiKeys(runtime.store).create("3101999888", "not configured")[0].reveal()
        app = create_app(runtime, ServiceSettings(), run_worker=True, worker_options={"poll_initial": 0.1})
        with BackgroundServer(app, port=0) as server:

            def post(key: str) -> httpx.Response:
                return httpx.post(
                    server.url + "/v1/vouchers",
                    json=document,
                    headers={"Authorization": f"Bearer {key}"},
                    timeout=30,
                )

            issued = {}
            for party in parties:
                response = post(keys[party.numero])
                assert response.status_code == 201, response.text
                issued[party.numero] = response.json()["key"]
            refused = post(stranger)
            assert refused.status_code == 403
            assert "3101999888, which is not a taxpayer configured here" in refused.json()["detail"]
            deadline = time.monotonic() + 30
            for party in parties:
                key = issued[party.numero]
                while runtime.store.require(key).state is not VoucherState.ACCEPTED:
                    assert time.monotonic() < deadline, runtime.store.require(key).last_error
                    time.sleep(0.1)
                record = runtime.store.require(key)
                assert record.emisor_numero == party.numero
                assert verify(record.signed_xml).signer_cedula == party.numero
                submission = sim.store.get(key)
                assert submission is not None and submission.username == party.user


def test_reissue_issues_again_as_the_voucher_s_own_taxpayer(
    sim: Simulator,
    parties: tuple[Party, Party],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    beta = parties[1]
    config_path = write_config(tmp_path, sim, parties, monkeypatch)
    doc = str(ticket_file(tmp_path))
    capsys.readouterr()
    assert main(["issue", doc, "--config", str(config_path), "--issuer", "beta", "--json"]) == 0
    clave = json.loads(capsys.readouterr().out)["issued"][0]["clave"]
    with Runtime.from_file(config_path) as runtime:
        runtime.store.transition(clave, VoucherState.ERROR, error="test: given up")
    # No --issuer: the voucher says whose it is (the file has two taxpayers and no default).
    assert main(["reissue", clave, "--config", str(config_path), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["reissue_of"] == clave and again["clave"] != clave
    with Runtime.from_file(config_path) as runtime:
        record = runtime.store.require(again["key"])
        assert record.emisor_numero == beta.numero and record.numero == 2  # Beta's own sequence
        assert verify(record.signed_xml).signer_cedula == beta.numero


def test_worker_issuer_sends_only_that_taxpayer_s_vouchers(
    parties: tuple[Party, Party],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with simulator(parties) as sim:
        config_path = write_config(tmp_path, sim, parties, monkeypatch)
        doc = str(ticket_file(tmp_path))
        capsys.readouterr()
        claves = {}
        for name in ("alfa", "beta"):
            assert main(["issue", doc, "--config", str(config_path), "--issuer", name, "--json"]) == 0
            claves[name] = json.loads(capsys.readouterr().out)["issued"][0]["clave"]
        argv = ["worker", "--once", "--config", str(config_path), "--issuer", "alfa", "--json"]
        assert main(argv) == 0
        assert json.loads(capsys.readouterr().out)["sent"] == 1
        assert sim.store.get(claves["alfa"]) is not None and sim.store.get(claves["beta"]) is None
        with Runtime.from_file(config_path) as runtime:
            assert runtime.store.require(claves["beta"]).state is VoucherState.SIGNED


def test_sign_and_token_use_the_named_taxpayer(
    sim: Simulator,
    parties: tuple[Party, Party],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from cr_einvoice.app.cli.build import number_document
    from cr_einvoice.vouchers.jsonio import document_from_json
    from cr_einvoice.vouchers.xmlwrite import to_xml

    config_path = write_config(tmp_path, sim, parties, monkeypatch)
    for party in parties:
        data = example_json("fe")
        data["emisor"]["identificacion"] = {"tipo": "02", "numero": party.numero}
        unsigned = tmp_path / f"{party.name}.xml"
        unsigned.write_bytes(to_xml(number_document(document_from_json(data))))
        signed = tmp_path / f"{party.name}-signed.xml"
        argv = [
            "sign",
            str(unsigned),
            "--config",
            str(config_path),
            "--issuer",
            party.name,
            "-o",
            str(signed),
        ]
        assert main(argv) == 0
        assert verify(signed.read_bytes()).signer_cedula == party.numero  # its own key, its own PIN source
        capsys.readouterr()
        assert main(["token", "--config", str(config_path), "--issuer", party.name, "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["username"] == party.user  # logged in as its own user
    # Without --p12 and with two taxpayers and no default: the choice is asked for.
    assert main(["sign", str(unsigned), "--config", str(config_path)]) == ExitCode.USAGE
    assert "choose one with --issuer NAME" in capsys.readouterr().err
