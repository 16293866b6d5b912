"""``cr-einvoice apikey``, ``cr-einvoice user`` and ``cr-einvoice serve`` as a real process, called by a
non-Python client (curl); the OpenAPI document checked by openapi-spec-validator, its request schema the input
format's own."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from service_support import ticket_json

from cr_einvoice.app.cli import main
from cr_einvoice.app.demo import EMISOR, LocalSandbox
from cr_einvoice.service.auth import check_secret
from cr_einvoice.service.openapi import openapi_document


def cli_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    capsys.readouterr()
    code = main([*argv, "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


def test_apikey_create_list_revoke(box: LocalSandbox, capsys: pytest.CaptureFixture[str]) -> None:
    config = str(box.config_path)
    created = cli_json(capsys, "apikey", "create", "--config", config, "--name", "caja 1")
    assert re.fullmatch(r"crk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", created["key"])
    assert created["emisor"] == EMISOR and created["key_id"] in created["key"]
    listed = cli_json(capsys, "apikey", "list", "--config", config)
    mine = [k for k in listed if k["key_id"] == created["key_id"]]
    assert mine and mine[0]["revoked_at"] is None and mine[0]["name"] == "caja 1"
    assert created["key"] not in json.dumps(listed)  # the key is shown once, never listed
    row = box.runtime.store.get_api_key(created["key_id"])
    assert row is not None and row.secret_hash.startswith("scrypt$") and created["key"] not in repr(row)
    revoked = cli_json(capsys, "apikey", "revoke", created["key_id"], "--config", config)
    assert revoked["revoked_at"]
    capsys.readouterr()
    assert main(["apikey", "revoke", "000000000000", "--config", config]) == 6
    assert "no API key 000000000000" in capsys.readouterr().err
    assert main(["apikey", "create", "--issuer", "12", "--config", config]) == 3


def test_user_create_list_disable(
    box: LocalSandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    config = str(box.config_path)
    password = "una contraseña de prueba"
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    created = cli_json(capsys, "user", "create", "eva.cli", "--config", config, "--password-stdin")
    assert created["username"] == "eva.cli" and created["emisor"] == EMISOR
    monkeypatch.setenv("CLI_USER_PASSWORD", password)
    other = cli_json(
        capsys,
        "user",
        "create",
        "Fer.Cli",
        "--config",
        config,
        "--password-env",
        "CLI_USER_PASSWORD",
        "--name",
        "Fernanda",
        "--issuer",
        "3101999777",
    )
    assert (other["username"], other["emisor"], other["name"]) == ("fer.cli", "3101999777", "Fernanda")
    row = box.runtime.store.get_console_user("eva.cli")
    assert row is not None and row.password_hash.startswith("scrypt$") and password not in repr(row)
    listed = cli_json(capsys, "user", "list", "--config", config)
    assert {"eva.cli", "fer.cli"} <= {u["username"] for u in listed}
    assert password not in json.dumps(listed) and "scrypt" not in json.dumps(listed)
    mine = cli_json(capsys, "user", "list", "--config", config, "--issuer", "3101999777")
    assert [u["username"] for u in mine] == ["fer.cli"]
    disabled = cli_json(capsys, "user", "disable", "eva.cli", "--config", config)
    assert disabled["disabled_at"]
    assert cli_json(capsys, "user", "enable", "eva.cli", "--config", config)["disabled_at"] is None
    monkeypatch.setattr("sys.stdin", io.StringIO("otra contraseña larga\n"))
    changed = cli_json(capsys, "user", "password", "eva.cli", "--config", config, "--password-stdin")
    assert changed["failed_logins"] == 0 and "otra contraseña" not in json.dumps(changed)
    row = box.runtime.store.get_console_user("eva.cli")
    assert row is not None and check_secret("otra contraseña larga", row.password_hash)
    capsys.readouterr()
    # Refusals: one line naming the problem, the right exit code, never the password.
    monkeypatch.setattr("sys.stdin", io.StringIO("corta\n"))
    assert main(["user", "create", "gil.cli", "--config", config, "--password-stdin"]) == 3
    err = capsys.readouterr().err
    assert "password" in err and "corta" not in err
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal: no prompt
    assert main(["user", "create", "gil.cli", "--config", config]) == 2
    assert "--password-stdin" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    assert main(["user", "create", "fer.cli", "--config", config, "--password-stdin"]) == 6
    assert "already exists" in capsys.readouterr().err
    assert main(["user", "disable", "nadie", "--config", config]) == 6
    assert "no console user 'nadie'" in capsys.readouterr().err


def test_serve_as_a_process_called_with_curl(
    box: LocalSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if shutil.which("curl") is None:
        pytest.fail("curl is needed (make test installs it with apt-get: make test-deps)")
    config = str(box.config_path)
    key = cli_json(capsys, "apikey", "create", "--config", config)["key"]
    process = subprocess.Popen(
        [sys.executable, "-m", "cr_einvoice", "serve", "--config", config, "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        found = re.search(r"serving on (http://\S+)", line)
        assert found, line
        url = found.group(1)
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(url + "/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the service did not get ready"
            time.sleep(0.1)
        document = tmp_path / "ticket.json"
        document.write_text(json.dumps(ticket_json()), encoding="utf-8")
        curl = [
            "curl", "--silent", "--show-error", "--fail-with-body",
            "-H", f"Authorization: Bearer {key}",
            "-H", "Content-Type: application/json",
            "-H", "Idempotency-Key: curl-venta-1",
        ]  # fmt: skip
        posted = subprocess.run(
            [*curl, "--data-binary", f"@{document}", url + "/v1/vouchers"],
            capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
        issued = json.loads(posted.stdout)
        assert issued["created"] is True and len(issued["clave"]) == 50
        deadline = time.monotonic() + 30
        while True:
            shown = subprocess.run(
                [*curl, url + f"/v1/vouchers/{issued['key']}"],
                capture_output=True, text=True, check=True, timeout=60,
            )  # fmt: skip
            state = json.loads(shown.stdout)["state"]
            if state == "accepted" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert state == "accepted"  # the worker of the serve process sent it and got the answer
        refused = subprocess.run(
            ["curl", "--silent", "-i", url + "/v1/vouchers"],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert refused.stdout.startswith("HTTP/1.1 401")
        assert "content-type: application/problem+json" in refused.stdout.lower()
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0
    assert process.stderr is not None
    assert key not in process.stderr.read()


def test_the_openapi_document_is_valid_and_its_request_schema_is_the_input_format_s(
    box: LocalSandbox,
) -> None:
    from jsonschema import Draft202012Validator
    from openapi_spec_validator import validate
    from referencing import Registry
    from referencing.jsonschema import DRAFT202012

    from cr_einvoice.testing.examples import example_json
    from cr_einvoice.vouchers.jsonschema import json_schema

    document = openapi_document()
    validate(document)  # OpenAPI 3.1
    assert document["openapi"] == "3.1.0"
    body = document["paths"]["/v1/vouchers"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/Document"}
    schemas = document["components"]["schemas"]
    generated = json_schema()
    assert set(generated["$defs"]) <= set(schemas)
    text = json.dumps(schemas["Document"])
    assert "$defs" not in text
    assert json.loads(text.replace("#/components/schemas/", "#/$defs/")) == {
        k: v for k, v in generated.items() if k not in ("$defs", "$schema", "$id")
    }
    registry: Registry[Any] = Registry().with_resource("urn:openapi", DRAFT202012.create_resource(document))
    validator = Draft202012Validator({"$ref": "urn:openapi#/components/schemas/Document"}, registry=registry)
    for kind in ("fe", "te", "nc", "fec"):
        assert list(validator.iter_errors(example_json(kind))) == [], kind
    wrong = example_json("te") | {"color": "rojo"}
    assert list(validator.iter_errors(wrong))


def test_the_service_serves_its_openapi_document(box: LocalSandbox) -> None:
    from service_support import running_service

    with running_service(box, run_worker=False) as service:
        served = httpx.get(service.url + "/openapi.json")
        assert served.status_code == 200 and served.json() == openapi_document()
        ready = httpx.get(service.url + "/readyz").json()
        assert ready["worker"] == "separate process"


def test_serve_refuses_to_start_without_the_worker_s_credentials(
    box: LocalSandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CR_EINVOICE_DEMO_PASSWORD")
    capsys.readouterr()
    assert main(["serve", "--config", str(box.config_path), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "CR_EINVOICE_DEMO_PASSWORD" in err and "Traceback" not in err
    monkeypatch.delenv("CR_EINVOICE_DEMO_PIN")
    assert main(["serve", "--no-worker", "--config", str(box.config_path), "--port", "0"]) == 2
    assert "CR_EINVOICE_DEMO_PIN" in capsys.readouterr().err
