"""Choosing the outbox in the configuration: ``[store] path`` (SQLite) or ``url`` (PostgreSQL), the password
only from the environment -- never in the file, the database, a message or the output."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import pytest

from cr_einvoice.app.cli import main
from cr_einvoice.app.config import (
    Config,
    EmisorSettings,
    StoreSettings,
    config_from_mapping,
    load_config,
    write_config,
)
from cr_einvoice.app.runtime import Runtime
from cr_einvoice.core.errors import ConfigError
from cr_einvoice.outbox.store import SQLiteStore
from cr_einvoice.outbox.store.postgres import PostgresStore
from cr_einvoice.testing.pgserver import PgServer

SECRET = "Pg-s3cret-!"  # the test server checks the password of its one checked role


def _config(tmp_path: Path, store: StoreSettings) -> Config:
    return Config(emisor=EmisorSettings("02", "3101123456", "Empresa"), store=store, base_dir=tmp_path)


def test_path_keeps_sqlite_and_url_picks_postgres_with_the_password_from_the_environment(
    pg_server: PgServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Runtime(_config(tmp_path, StoreSettings())) as rt:
        assert isinstance(rt.store, SQLiteStore)
    database = pg_server.create_database().rsplit("/", 1)[1]
    url = pg_server.create_checked_role(SECRET, database)
    path = write_config(
        _config(tmp_path, StoreSettings(url=url, password_env="OUTBOX_DB_PASSWORD")), tmp_path / "c.toml"
    )
    assert SECRET not in path.read_text() and "OUTBOX_DB_PASSWORD" in path.read_text()
    config = load_config(path)
    monkeypatch.setenv("OUTBOX_DB_PASSWORD", SECRET)
    with Runtime(config) as rt:
        store = rt.store
        assert isinstance(store, PostgresStore) and store.path == url and SECRET not in repr(store)
        store.add_issuer("02", "3101123456", "Empresa")
    secret_file = tmp_path / "db-password"
    secret_file.write_text(f"{SECRET}\n")
    from_file = _config(
        tmp_path, StoreSettings(url=url, password_env="UNSET_VARIABLE", password_file="db-password")
    )
    with Runtime(replace(from_file, store=replace(from_file.store, pool_size=2))) as rt:  # the file wins
        assert rt.store.get_issuer("3101123456") is not None
        assert rt.store._pool.max_size == 2  # type: ignore[attr-defined]
    monkeypatch.setenv("OUTBOX_DB_PASSWORD", "wrong")
    with pytest.raises(Exception, match="password authentication failed") as caught, Runtime(config) as rt:
        rt.store  # noqa: B018
    assert "wrong" not in str(caught.value) and SECRET not in str(caught.value)


def test_url_env_holds_the_whole_url_and_wins(
    pg_server: PgServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = pg_server.create_database().rsplit("/", 1)[1]
    url = pg_server.create_checked_role(SECRET, database)
    full = url.replace("@", f":{SECRET}@", 1)
    monkeypatch.setenv("OUTBOX_URL", full)
    config = _config(
        tmp_path, StoreSettings(url="postgresql://nobody@127.0.0.1:1/none", url_env="OUTBOX_URL")
    )
    assert config.store_location() == full
    with Runtime(config) as rt:
        assert rt.store.path == url
    monkeypatch.delenv("OUTBOX_URL")
    with pytest.raises(ConfigError, match="OUTBOX_URL is not set"):
        config.store_location()


@pytest.mark.parametrize(
    ("store", "message"),
    [
        (StoreSettings(url="postgresql://u:pw@db/x"), "must not carry a password"),
        (StoreSettings(url="postgresql://u@db/x?password=pw"), "must not carry a password"),
        (StoreSettings(url="mysql://u@db/x"), "store.url must be postgresql://"),
        (StoreSettings(password_env="not a name"), "store.password_env must name"),
        (StoreSettings(url_env="1BAD"), "store.url_env must name"),
        (StoreSettings(pool_size=0), "store.pool_size must be 1..100"),
    ],
)
def test_a_bad_store_section_names_the_setting(tmp_path: Path, store: StoreSettings, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config_from_mapping({"store": asdict(store)}, base_dir=tmp_path)


def test_init_creates_the_postgres_outbox_and_shows_no_password(
    pg_server: PgServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database = pg_server.create_database().rsplit("/", 1)[1]
    url = pg_server.create_checked_role(SECRET, database)
    monkeypatch.setenv("OUTBOX_DB_PASSWORD", SECRET)
    target = tmp_path / "cr-einvoice.toml"
    argv = ["init", "--config", str(target), "--numero-identificacion", "3101123456", "--nombre", "Empresa"]
    code = main([*argv, "--db-url", url, "--db-password-env", "OUTBOX_DB_PASSWORD", "--json"])
    out = capsys.readouterr().out
    assert code == 0 and SECRET not in out and SECRET not in target.read_text()
    assert json.loads(out)["database"] == url
    with Runtime(load_config(target)) as rt:
        assert rt.store.get_issuer("3101123456") is not None
    code = main([*argv, "--force", "--db-url", url.replace("@", ":pw@", 1), "--json"])
    assert code == 2 and "must not carry a password" in capsys.readouterr().out
