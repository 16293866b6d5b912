"""The configuration file: round trip, validation naming the setting, secrets only by variable name."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from cr_einvoice.app.config import (
    Config,
    EmisorSettings,
    HaciendaSettings,
    SigningSettings,
    load_config,
    render_config,
    write_config,
)
from cr_einvoice.core.errors import ConfigError


def sample(base: Path) -> Config:
    return Config(
        hacienda=HaciendaSettings(
            environment="custom",
            token_url="http://127.0.0.1:9/token",
            recepcion_url="http://127.0.0.1:9/recepcion/v1/",
            client_id="api-stag",
            username_env="MY_USER",
            password_env="MY_PASS",
        ),
        signing=SigningSettings(p12_path="certs/e.p12", pin_env="MY_PIN"),
        emisor=EmisorSettings("02", "3101123456", 'Café "La Ñ" S.A.\\', 2, 7),
        base_dir=base,
    )


def test_round_trip_and_relative_paths(tmp_path: Path) -> None:
    cfg = sample(tmp_path)
    path = write_config(cfg, tmp_path / "cr-einvoice.toml")
    again = load_config(path)
    assert again == cfg
    assert again.p12_path == tmp_path / "certs" / "e.p12"
    assert again.store_path == tmp_path / ".cr-einvoice" / "outbox.db"
    with pytest.raises(ConfigError, match="already exists"):
        write_config(cfg, path)
    write_config(replace(cfg, emisor=replace(cfg.emisor, terminal=9)), path, overwrite=True)
    assert load_config(path).emisor.terminal == 9


def test_secrets_come_from_named_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = sample(tmp_path)
    text = render_config(cfg)
    assert "MY_PASS" in text and "MY_PIN" in text
    monkeypatch.setenv("MY_PASS", "s3cr3t-value")
    monkeypatch.setenv("MY_USER", "cpj-3-101-123456@stag")
    monkeypatch.delenv("MY_PIN", raising=False)
    assert cfg.password().reveal() == "s3cr3t-value"
    assert cfg.username() == "cpj-3-101-123456@stag"
    with pytest.raises(ConfigError, match="MY_PIN") as info:
        cfg.pin()
    assert "s3cr3t" not in str(info.value)
    assert "s3cr3t" not in render_config(cfg)


def test_environment_selection(tmp_path: Path) -> None:
    env = sample(tmp_path).environment()
    assert env.recepcion_url == "http://127.0.0.1:9/recepcion/v1/"
    named = replace(sample(tmp_path), hacienda=HaciendaSettings(environment="sandbox")).environment()
    assert named.client_id == "api-stag"
    bad = replace(
        sample(tmp_path), hacienda=HaciendaSettings(environment="custom", token_url="http://127.0.0.1/t")
    )
    with pytest.raises(ConfigError, match="recepcion_url"):
        bad.environment()


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[emisor]\nsucursal = 0\n", "emisor.sucursal"),
        ("[emisor]\nterminal = 'x'\n", "emisor.terminal must be a int"),
        ("[emisor]\ncolor = 'red'\n", "unknown setting emisor.color"),
        ("[colors]\n", r"unknown section \[colors\]"),
        ("[hacienda]\nenvironment = 'moon'\n", "hacienda.environment"),
        ("[hacienda]\npassword_env = 'not a name'\n", "hacienda.password_env"),
        ("[worker]\npoll_initial = 100\npoll_max = 10\n", "worker.poll_initial"),
        ("[worker]\nconcurrency = 0\n", "worker.concurrency"),
        ("not toml [", "not valid TOML"),
    ],
)
def test_bad_files_name_the_setting(tmp_path: Path, text: str, match: str) -> None:
    p = tmp_path / "c.toml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_config(p)


def test_missing_file_says_how_to_create_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cr-einvoice init"):
        load_config(tmp_path / "nope.toml")
