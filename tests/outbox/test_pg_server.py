"""The throwaway PostgreSQL server the tests and benchmarks start (cr_einvoice.testing.pgserver)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from cr_einvoice.testing.pgserver import PgServer, PgServerError, find_pg_bin, start_postgres


def test_the_session_server_listens_on_loopback_and_makes_fresh_databases(pg_server: PgServer) -> None:
    assert pg_server.host == "127.0.0.1" and pg_server.port > 0
    first, second = pg_server.create_database(), pg_server.create_database()
    assert first != second
    with psycopg.connect(first, autocommit=True) as conn:
        conn.execute("CREATE TABLE only_here (x int)")
        assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
    with psycopg.connect(second) as conn:
        row = conn.execute("SELECT count(*) FROM pg_tables WHERE tablename = 'only_here'").fetchone()
        assert row == (0,)
    pg_server.drop_database(first.rsplit("/", 1)[1])
    with pytest.raises(psycopg.OperationalError, match="does not exist"):
        psycopg.connect(first).close()


def test_missing_programs_are_explained_not_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CR_EINVOICE_TEST_PG_DSN", raising=False)
    monkeypatch.setenv("CR_EINVOICE_PG_BIN", str(tmp_path))  # no initdb there
    assert find_pg_bin() is None
    with pytest.raises(PgServerError, match="initdb/pg_ctl were not found"):
        start_postgres(install=False)


def test_a_second_server_starts_and_stops_cleanly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CR_EINVOICE_TEST_PG_DSN", raising=False)
    server = start_postgres()
    assert server.datadir is not None and server.datadir.is_dir()
    with psycopg.connect(server.dsn) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    server.stop()
    assert not server.datadir.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(server.dsn, connect_timeout=2).close()
    server.stop()  # twice is harmless
