"""What one issue() asks of the SQLite store: five statements (BEGIN, the draw that advances the counter and
reads the contingency mode, the voucher's INSERT ... RETURNING, its event, COMMIT), the voucher returned as
stored, and the number given back when anything after the draw fails."""

from __future__ import annotations

from pathlib import Path

import pytest
from outbox_docs import EMISOR_ID, ticket

from cr_einvoice.core.errors import StoreError
from cr_einvoice.outbox.issuing import IssuedVoucher, Issuer, IssuerSettings
from cr_einvoice.outbox.store import CounterKey, SQLiteStore
from cr_einvoice.signing.xades import Signer

SETTINGS = IssuerSettings("02", EMISOR_ID, "Empresa de Pruebas S.A.")
KEY = CounterKey(EMISOR_ID, 1, 1, "04")


def test_one_issue_is_five_statements_and_returns_the_stored_record(tmp_path: Path, signer: Signer) -> None:
    with SQLiteStore(tmp_path / "o.db", create=True) as store:
        issuer = Issuer(store, signer, SETTINGS)
        issuer.issue(ticket())  # the first one creates the counter
        statements: list[str] = []
        store._conn.set_trace_callback(statements.append)
        issued = issuer.issue(ticket())
        store._conn.set_trace_callback(None)
        assert [s.split()[0] for s in statements] == ["BEGIN", "INSERT", "INSERT", "INSERT", "COMMIT"]
        assert issued == IssuedVoucher.from_record(store.require(issued.key), created=True)
        assert issued.numero == 2 and store.peek_next_number(KEY) == 3


def test_contingency_mode_and_the_wrap_come_from_the_draw(tmp_path: Path, signer: Signer) -> None:
    with SQLiteStore(tmp_path / "o.db", create=True) as store:
        issuer = Issuer(store, signer, SETTINGS)
        store.set_counter(KEY, 9_999_999_999)
        store.set_connectivity(False, reason="test")
        issued = issuer.issue(ticket())
        assert (issued.numero, issued.situacion) == (1, "3")
        store.set_connectivity(True)
        assert (issuer.issue(ticket()).numero, issuer.issue(ticket()).situacion) == (2, "1")


def test_a_duplicate_stored_voucher_gives_the_number_back(tmp_path: Path, signer: Signer) -> None:
    with SQLiteStore(tmp_path / "o.db", create=True) as store:
        first = Issuer(store, signer, SETTINGS).issue(ticket())
        store.set_counter(KEY, 5)
        with store.atomic():
            store._conn.execute("UPDATE counters SET last_number = 0")  # as if the counter had been lost
        with pytest.raises(StoreError, match="already stored"):
            Issuer(store, signer, SETTINGS).issue(ticket())
        assert store.peek_next_number(KEY) == 1 and len(list(store.iter_vouchers())) == 1
        assert store.require(first.key).numero == 1
