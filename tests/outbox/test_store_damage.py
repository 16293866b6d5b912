"""A damaged outbox database is refused, never silently re-initialised (issue #10, item 5): an empty
(0-byte) file, a missing file, a file with a garbage page, a full disk; through the API and through the CLI
(exit code 6, one clear line, no traceback)."""

from __future__ import annotations

import json
import os
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from outbox_docs import EMISOR_ID

from cr_einvoice.app.cli import main
from cr_einvoice.core.errors import ExitCode, StoreError
from cr_einvoice.outbox import store as store_module
from cr_einvoice.outbox.store import CounterKey, NewVoucher, SQLiteStore, Store, VoucherKind, open_store
from cr_einvoice.testing.examples import example_json
from cr_einvoice.testing.pki import TestPKI

KEY = CounterKey(EMISOR_ID, 1, 1, "04")


def _build(numero: int, situacion: str) -> NewVoucher:
    consecutivo = f"0010000104{numero:010d}"
    clave = f"506010126000{EMISOR_ID}{consecutivo}{situacion}12345678"
    return NewVoucher(
        key=clave,
        clave=clave,
        consecutivo=consecutivo,
        kind=VoucherKind.ISSUED,
        tipo="04",
        situacion=situacion,
        fecha_emision=datetime(2026, 1, 1, tzinfo=UTC),
        emisor_tipo="02",
        emisor_numero=EMISOR_ID,
        receptor_tipo=None,
        receptor_numero=None,
        signed_xml=b"<signed>" + b"x" * 3000 + b"</signed>",
    )


def _filled(path: Path, n: int = 40) -> None:
    with open_store(path, create=True) as s:
        s.add_issuer("02", EMISOR_ID, "Empresa")
        for _ in range(n):
            s.issue(KEY, _build)
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0


def _corrupt(path: Path) -> None:
    """Write garbage over a page of the vouchers table in the middle of a real SQLite file (found with the
    dbstat table: the middle of the file may hold the schema's empty tables, which nothing reads)."""
    page = 4096
    size = path.stat().st_size
    assert size >= 6 * page
    with sqlite3.connect(path) as conn:
        pages = [
            n
            for (n,) in conn.execute(
                "SELECT pageno FROM dbstat WHERE name = 'vouchers' AND pagetype = 'leaf'"
            )
        ]
    conn.close()
    assert len(pages) >= 4
    with path.open("r+b") as f:
        f.seek((sorted(pages)[len(pages) // 2] - 1) * page)
        f.write(os.urandom(page))


# -- the API --------------------------------------------------------------------------------------------
def test_an_empty_file_is_refused_not_reinitialised(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    path.write_bytes(b"")
    for create in (False, True):
        with pytest.raises(StoreError, match=r"empty \(0 bytes\).*restart the numbering at 1"):
            open_store(path, create=create)
    assert path.stat().st_size == 0  # nothing was written into it


def test_a_missing_file_is_created_only_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "outbox.db"
    with pytest.raises(StoreError, match=r"no outbox database at .*cr-einvoice init"):
        open_store(path)
    assert not path.exists()
    with open_store(path, create=True) as s:
        assert s.peek_next_number(KEY) == 1
    with open_store(path) as s:  # exists now
        assert s.peek_next_number(KEY) == 1


def test_a_foreign_sqlite_file_is_not_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.close()
    with pytest.raises(StoreError, match="not an outbox database"):
        open_store(path)
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("t",)]
    conn.close()


def test_a_garbage_page_is_refused_at_open(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    _filled(path)
    _corrupt(path)
    with pytest.raises(StoreError, match=r"is damaged .*do not delete it.*\.recover"):
        open_store(path)


def test_damage_found_after_open_stops_every_later_write(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    _filled(path)
    s = open_store(path)  # healthy at open
    try:
        _corrupt(path)  # ... damaged under it
        s._conn.execute("PRAGMA cache_size = 0")  # read the pages from the file again
        with pytest.raises(StoreError, match="is damaged"):
            list(s.iter_vouchers())
        with pytest.raises(StoreError, match="is damaged"):
            s.issue(KEY, _build)  # issue does not keep writing into a damaged file
        with pytest.raises(StoreError, match="is damaged"):
            s.log_event(None, "x")
    finally:
        s.close()


def test_a_full_disk_is_a_clear_error_and_the_transaction_is_rolled_back(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    _filled(path, 2)
    with open_store(path) as s:
        pages = int(s.pragma("page_count"))
        s._conn.execute(f"PRAGMA max_page_count = {pages + 1}")
        issued = 0
        failure: StoreError | None = None
        for _ in range(50):
            try:
                s.issue(KEY, _build)
            except StoreError as exc:
                failure = exc
                break
            issued += 1
        assert failure is not None
        assert re.search(r"is full .*nothing was written\. Free disk space", str(failure))
        assert "rollback" not in str(failure)
        assert not s._conn.in_transaction
        # the counter moved exactly as far as the vouchers stored: no gap, no repeat
        assert s.peek_next_number(KEY) == 3 + issued
        assert len(list(s.iter_vouchers())) == 2 + issued
        s._conn.execute("PRAGMA max_page_count = 1000000")
        s.issue(KEY, _build)  # room again: the store goes on
        assert s.peek_next_number(KEY) == 4 + issued


def test_a_rollback_with_no_transaction_left_is_not_a_second_error(tmp_path: Path) -> None:
    """SQLite may roll back by itself (disk full); our ROLLBACK must not replace the real error."""
    with SQLiteStore(tmp_path / "o.db", create=True) as s:

        def build(numero: int, situacion: str) -> NewVoucher:
            s._conn.execute("ROLLBACK")  # the transaction is gone before our code ends it
            raise sqlite3.OperationalError("database or disk is full")

        with pytest.raises(StoreError, match="is full"):
            s.issue(KEY, build)
        assert s.peek_next_number(KEY) == 1


# -- the CLI --------------------------------------------------------------------------------------------
@pytest.fixture
def cfg(tmp_path: Path, pki: TestPKI, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("T_PIN", pki.pin)
    monkeypatch.setenv("T_USER", "u")
    monkeypatch.setenv("T_PASS", "p")
    path = tmp_path / "cr-einvoice.toml"
    argv = ["init", "--config", str(path), "--environment", "custom", "--token-url"]
    argv += ["http://127.0.0.1:9/token", "--recepcion-url", "http://127.0.0.1:9/recepcion/v1/"]
    argv += ["--p12", str(pki.taxpayer_p12), "--pin-env", "T_PIN", "--username-env", "T_USER"]
    argv += ["--password-env", "T_PASS", "--numero-identificacion", EMISOR_ID]
    assert main(argv) == 0
    return path


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    _, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, err


@pytest.fixture
def ticket(tmp_path: Path) -> str:
    path = tmp_path / "fe.json"
    path.write_text(json.dumps(example_json("fe")))
    return str(path)


def test_cli_refuses_an_empty_outbox(cfg: Path, ticket: str, capsys: pytest.CaptureFixture[str]) -> None:
    db = cfg.parent / ".cr-einvoice" / "outbox.db"
    db.write_bytes(b"")
    for argv in (["list"], ["worker", "--once"], ["issue", ticket], ["submit"], ["poll"]):
        code, err = _cli(capsys, *argv, "--config", str(cfg))
        assert code == ExitCode.STORE == 6, argv
        assert "empty (0 bytes)" in err and str(db) in err, argv
    assert db.stat().st_size == 0


def test_cli_refuses_a_missing_outbox(cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = cfg.parent / ".cr-einvoice" / "outbox.db"
    db.unlink()
    code, err = _cli(capsys, "list", "--config", str(cfg))
    assert code == ExitCode.STORE and "cr-einvoice init" in err
    assert not db.exists()


def test_cli_refuses_a_damaged_outbox(cfg: Path, ticket: str, capsys: pytest.CaptureFixture[str]) -> None:
    db = cfg.parent / ".cr-einvoice" / "outbox.db"
    _filled(db)
    before = db.read_bytes()
    _corrupt(db)
    damaged = db.read_bytes()
    assert damaged != before
    for argv in (["list"], ["worker", "--once"], ["issue", ticket], ["show", "x"], ["poll"]):
        code, err = _cli(capsys, *argv, "--config", str(cfg))
        assert code == ExitCode.STORE, argv
        assert "is damaged" in err and "Stop issuing" in err, argv
    assert db.read_bytes() == damaged  # issue wrote nothing into it


def test_cli_disk_full_while_issuing(
    cfg: Path, ticket: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = store_module.open_store

    def capped(location: str | Path, **options: Any) -> Store:
        s = real(location, **options)
        assert isinstance(s, SQLiteStore)
        s._conn.execute(f"PRAGMA max_page_count = {int(s.pragma('page_count'))}")
        return s

    monkeypatch.setattr(store_module, "open_store", capped)
    code, err = _cli(capsys, "issue", ticket, "--config", str(cfg))
    assert code == ExitCode.STORE, err
    assert "is full" in err and "Free disk space" in err and "rollback" not in err
    monkeypatch.setattr(store_module, "open_store", real)
    code, _ = _cli(capsys, "list", "--config", str(cfg))
    assert code == 0
