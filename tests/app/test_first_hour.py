"""A new user's first hour (issue #11): offline schema opt-outs, the POS path (emisor defaults), the
simulator's setup line, examples from the command line, and the small fixes (401 once, fault names, quiet
progress)."""

from __future__ import annotations

import dataclasses
import io
import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from cr_einvoice.app.cli import main
from cr_einvoice.app.cli.build import number_document
from cr_einvoice.app.cli.listing import Progress
from cr_einvoice.app.cli.sandbox import DEFAULT_PASSWORD, DEFAULT_USER, setup_lines
from cr_einvoice.app.config import Config, EmisorSettings, IssuerOptions, load_config, write_config
from cr_einvoice.app.demo import cli_command
from cr_einvoice.core.errors import AuthenticationError, ConfigError, SchemaNotFoundError, ValidationError
from cr_einvoice.core.secret import Secret
from cr_einvoice.hacienda.auth import Credentials, TokenManager
from cr_einvoice.sandbox import Simulator, SimulatorSettings
from cr_einvoice.sandbox.checks import VoucherChecker
from cr_einvoice.sandbox.state import SubmissionStore
from cr_einvoice.testing.examples import example_json
from cr_einvoice.vouchers.jsonio import document_from_json
from cr_einvoice.vouchers.xmlwrite import to_xml

REPO = Path(__file__).resolve().parents[2]
SHOP = EmisorSettings(
    numero_identificacion="3101123456",
    nombre="Soluciones Tecnológicas del Valle S.A.",
    correo_electronico="caja@tecnovalle.example.cr",
    provincia="1",
    canton="01",
    distrito="08",
    otras_senas="Frente al parque central",
)


def test_issuer_validate_xsd_setting_reaches_the_runtime_issuer(tmp_path: Path) -> None:
    path = write_config(Config(emisor=SHOP, base_dir=tmp_path), tmp_path / "a.toml")
    text = path.read_text()
    assert "[issuer]\n" in text and "validate_xsd = true" in text
    assert load_config(path).issuer_settings().validate_xsd is True
    path.write_text(text.replace("validate_xsd = true", "validate_xsd = false"))
    assert load_config(path).issuer_settings().validate_xsd is False
    path.write_text(text.replace("validate_xsd = true", 'validate_xsd = "no"'))
    with pytest.raises(ConfigError, match=r"issuer\.validate_xsd must be a bool"):
        load_config(path)
    assert (
        Config(issuer=IssuerOptions(validate_xsd=False), emisor=SHOP).issuer_settings().validate_xsd is False
    )


def test_a_document_without_emisor_gets_the_configured_one() -> None:
    settings = Config(emisor=SHOP).issuer_settings()
    ticket = example_json("te")
    del ticket["emisor"]
    with pytest.raises(ValidationError) as info:
        document_from_json(ticket)  # nobody to fill it from: the missing key is named, no Python wording
    assert [(p.path, p.message) for p in info.value.problems] == [("emisor", "required field is missing")]
    doc = document_from_json(ticket, emisor=settings.emisor())
    emisor = doc.emisor  # type: ignore[union-attr]
    assert emisor.nombre == SHOP.nombre and emisor.identificacion.numero == "3101123456"
    assert emisor.correos_electronicos == ("caja@tecnovalle.example.cr",)
    assert emisor.ubicacion is not None and emisor.ubicacion.otras_senas == "Frente al parque central"
    assert "<Nombre>Soluciones Tecnológicas".encode() in to_xml(number_document(doc))
    # A document with its own emisor block of the same taxpayer keeps it (its telefono, nombre comercial).
    own = document_from_json(example_json("fe"), emisor=settings.emisor())
    assert own.emisor.telefono is not None  # type: ignore[union-attr]


def test_a_conflicting_emisor_is_refused_clearly() -> None:
    configured = Config(emisor=SHOP).issuer_settings().emisor()
    other_name = example_json("fe")
    other_name["emisor"]["nombre"] = "Otra Empresa S.A."
    with pytest.raises(ValidationError) as info:
        document_from_json(other_name, emisor=configured)
    (problem,) = info.value.problems
    assert problem.path == "emisor.nombre"
    assert "'Otra Empresa S.A.'" in problem.message and "omit the emisor block" in problem.message
    other_id = example_json("fe")
    other_id["emisor"]["identificacion"]["numero"] = "3101999999"
    with pytest.raises(
        ValidationError, match=r"emisor is 3101999999, but the configured issuer is 3101123456"
    ):
        document_from_json(other_id, emisor=configured)
    # A FacturaCompra's emisor is the seller: never compared with the configured issuer.
    assert document_from_json(example_json("fec"), emisor=configured).emisor.nombre != SHOP.nombre  # type: ignore[union-attr]


def test_bad_configured_emisor_names_the_setting() -> None:
    config = Config(emisor=dataclasses.replace(SHOP, canton="999"))
    with pytest.raises(ConfigError, match=r"emisor\.canton"):
        config.emisor_block()
    # Issuing still works for documents that carry their own emisor; nothing is filled from the bad block.
    assert config.issuer_settings().profile is None


def test_simulator_without_schemas_refuses_to_start_and_never_tracebacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CR_EINVOICE_SCHEMAS", str(tmp_path / "nowhere"))
    with pytest.raises(SchemaNotFoundError, match=r"--no-schema-check"), Simulator(SimulatorSettings()):
        pass
    with Simulator(SimulatorSettings(check_schema=False)) as sim:
        assert sim.port > 0  # without the XSD check it starts
    # Schemas gone while running: a -1 row, not an exception in the processing thread.
    checker = VoucherChecker(SimulatorSettings(), SubmissionStore())
    xml = to_xml(number_document(document_from_json(example_json("te"))))
    rows = checker._check_schema(etree.fromstring(xml), xml)
    assert [r.code for r in rows] == [-1] and "esquemas XSD" in rows[0].message


def test_sandbox_prints_password_and_an_init_line_that_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with Simulator(SimulatorSettings(users={DEFAULT_USER: DEFAULT_PASSWORD})) as sim:
        lines = setup_lines(sim, sim.settings.users, temporary=True)
        command = lines[1].replace("\\\n", " ")
        exports = dict(kv.split("=", 1) for kv in shlex.split(lines[2])[1:])
        assert exports["CR_EINVOICE_PASSWORD"] == DEFAULT_PASSWORD
        argv = shlex.split(command)
        assert argv[:4] == ["cr-einvoice", "init", "--environment", "custom"]
        monkeypatch.chdir(tmp_path)
        for name, value in exports.items():
            monkeypatch.setenv(name, value)
        assert main(argv[1:]) == 0
        config = load_config(tmp_path / "cr-einvoice.toml")
        assert config.environment().recepcion_url == sim.base_url
        assert config.issuer_settings().emisor() is not None
        capsys.readouterr()
        # `sandbox fault` answers in the names it was given.
        assert main(["sandbox", "fault", "--url", sim.root_url, '{"fail_next": {"n": 2}}']) == 0
        state = json.loads(capsys.readouterr().out)
        assert state["fail_next"] == 2 and "next_n_5xx" not in state
        # A wrong password names HTTP 401 once.
        wrong = Credentials(DEFAULT_USER, Secret("wrong"))
        with pytest.raises(AuthenticationError) as info:
            TokenManager(sim.environment(), wrong).access_token()
        assert str(info.value).count("HTTP 401") == 1


def test_no_tty_progress_prints_a_line_per_ten_percent(monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    with Progress(200, "issuing") as bar:
        for _ in range(200):
            bar.advance()
    lines = err.getvalue().splitlines()
    assert lines[-1] == "issuing: 200/200" and 2 <= len(lines) <= 11
    assert "issuing: 9/200" not in lines


def test_examples_list_and_show(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["examples", "list"]) == 0
    listed = capsys.readouterr().out
    assert "pos_ticket" in listed and "erp_batch" in listed
    assert main(["examples", "show", "pos_ticket"]) == 0
    assert capsys.readouterr().out == (REPO / "examples" / "pos_ticket.py").read_text(encoding="utf-8")
    assert main(["examples", "show", "nope"]) != 0
    assert "pos_ticket" in capsys.readouterr().err


def test_demo_closing_command_works_as_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # the venv is not activated after `make demo`
    command = cli_command()
    assert command != "cr-einvoice"
    done = subprocess.run([*shlex.split(command), "--version"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.startswith("cr-einvoice ")
