"""``cr-einvoice lookup``: each verb over loopback against the simulator, --json, errors with their exit
codes, and --offline answering from the configured store's cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cr_einvoice.app.cli import main
from cr_einvoice.app.config import Config, StoreSettings, write_config
from cr_einvoice.app.publicdata import PublicDataConfig
from cr_einvoice.core.errors import ExitCode
from cr_einvoice.hacienda.publicdata import DEFAULT_BASE_URL
from cr_einvoice.outbox.store import open_store
from cr_einvoice.sandbox import Simulator


def _json(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    out: dict[str, object] = json.loads(capsys.readouterr().out)
    return out


@pytest.fixture
def no_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CR_EINVOICE_CONFIG", raising=False)


@pytest.mark.usefixtures("no_config")
def test_every_verb(sim: Simulator, capsys: pytest.CaptureFixture[str]) -> None:
    url = ["--base-url", sim.root_url, "--json"]
    assert main(["lookup", "taxpayer", "3-101-123456", *url]) == 0
    t = _json(capsys)
    assert t["nombre"] == "SOLUCIONES TECNOLOGICAS DEL VALLE SOCIEDAD ANONIMA" and t["source"] == "network"
    assert main(["lookup", "cabys", "4527100000100", *url]) == 0
    assert _json(capsys)["impuesto"] == "13"
    assert main(["lookup", "cabys", "jugo de tomate", "--top", "1", *url]) == 0
    assert _json(capsys)["total"] == 2
    assert main(["lookup", "tc", "--date", "2026-07-15", *url]) == 0
    assert _json(capsys)["venta"] == "511.70"
    assert main(["lookup", "tc", "--date", "2026-07-15", "--until", "2026-07-16", *url]) == 0
    assert [r["fecha"] for r in _json(capsys)["rates"]] == ["2026-07-15", "2026-07-16"]  # type: ignore[attr-defined]
    assert main(["lookup", "exoneracion", "AL-00460853-20", *url]) == 0
    assert _json(capsys)["porcentaje_exoneracion"] == "13"


@pytest.mark.usefixtures("no_config")
def test_human_output_and_errors(sim: Simulator, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lookup", "taxpayer", "112345678", "--base-url", sim.root_url]) == 0
    out = capsys.readouterr().out
    assert "nombre: MARIA FERNANDA SOLANO QUESADA" in out and "(network answer fetched" in out
    url = ["--base-url", sim.root_url]
    assert main(["lookup", "taxpayer", "3101999999", *url, "--json"]) == ExitCode.INVALID
    error: dict[str, str] = _json(capsys)["error"]  # type: ignore[assignment]
    assert error["type"] == "NotRegisteredError" and "identificacion=3101999999" in error["message"]
    assert main(["lookup", "taxpayer", "12345", "--base-url", sim.root_url]) == ExitCode.INVALID
    assert "not valid (HTTP 400)" in capsys.readouterr().err
    assert main(["lookup", "tc", "--currency", "JPY", "--base-url", sim.root_url]) == ExitCode.INVALID
    assert main(["lookup", "taxpayer", "3101123456", "--offline", "--base-url", sim.root_url]) == (
        ExitCode.UNREACHABLE
    )
    assert "not in the local cache" in capsys.readouterr().err


def test_the_configured_store_answers_offline(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    open_store(tmp_path / "outbox.db", create=True).close()
    config = Config(
        base_dir=tmp_path,
        store=StoreSettings(path="outbox.db"),
        publicdata=PublicDataConfig(base_url=sim.root_url),
    )
    path = write_config(config, tmp_path / "cr-einvoice.toml")
    assert main(["lookup", "cabys", "2316100000100", "--config", str(path), "--offline", "--json"]) == (
        ExitCode.UNREACHABLE
    )
    capsys.readouterr()
    assert main(["lookup", "cabys", "2316100000100", "--config", str(path), "--json"]) == 0
    assert _json(capsys)["source"] == "network"
    assert main(["lookup", "cabys", "2316100000100", "--config", str(path), "--offline", "--json"]) == 0
    cached = _json(capsys)
    assert (cached["source"], cached["stale"], cached["impuesto"]) == ("cache", False, "1")


def test_publicdata_settings(tmp_path: Path) -> None:
    assert PublicDataConfig().base_url == DEFAULT_BASE_URL
    path = tmp_path / "c.toml"
    path.write_text('[publicdata]\nbase_url = "ftp://x"\n')
    from cr_einvoice.app.config import load_config
    from cr_einvoice.core.errors import ConfigError

    with pytest.raises(ConfigError, match=r"publicdata\.base_url"):
        load_config(path)
    path.write_text("[publicdata]\nenabled = true\noffline = true\n")
    loaded = load_config(path).publicdata
    assert (loaded.enabled, loaded.offline, loaded.base_url) == (True, True, DEFAULT_BASE_URL)
