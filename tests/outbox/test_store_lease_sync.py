"""A lease claim and a move to ``submitted`` are committed without waiting for the disk (a power cut only
makes the voucher due again, or leaves it in ``sending``, where the worker asks Hacienda first); everything
else -- and either of them inside another transaction -- keeps fsync'd commits."""

from __future__ import annotations

from pathlib import Path

from outbox_docs import EMISOR_ID, ticket

from cr_einvoice.outbox.issuing import Issuer, IssuerSettings
from cr_einvoice.outbox.store import SQLiteStore, Store, VoucherState, open_store
from cr_einvoice.outbox.store.postgres import PostgresStore
from cr_einvoice.signing.xades import Signer

FULL, NORMAL = 2, 1


def traced(store: SQLiteStore) -> list[str]:
    statements: list[str] = []
    store._conn.set_trace_callback(statements.append)
    return statements


def test_claim_relaxed_then_full_again(tmp_path: Path, signer: Signer) -> None:
    with open_store(tmp_path / "o.db", create=True) as store:
        issued = Issuer(store, signer, IssuerSettings("02", EMISOR_ID, "X")).issue(ticket())
        statements = traced(store)
        claimed = store.claim(issued.key, VoucherState.SIGNED, 1e12, 2e12, owner="w1")
        assert claimed is not None and claimed.lease_owner == "w1"
        assert statements[0] == "PRAGMA synchronous = NORMAL"
        assert statements[1] == "BEGIN IMMEDIATE" and statements[-2] == "COMMIT"
        assert statements[-1] == "PRAGMA synchronous = FULL"
        store._conn.set_trace_callback(None)
        assert store.pragma("synchronous") == FULL
        # a claim that finds nothing to claim restores the setting too
        assert store.claim(issued.key, VoucherState.SIGNED, 0.0, 1.0, owner="w2") is None
        assert store.pragma("synchronous") == FULL


def test_durable_writes_and_nested_claims_stay_fsynced(tmp_path: Path, signer: Signer) -> None:
    with open_store(tmp_path / "o.db", create=True) as store:
        issuer = Issuer(store, signer, IssuerSettings("02", EMISOR_ID, "X"))
        statements = traced(store)
        issued = issuer.issue(ticket())
        store.transition(issued.key, VoucherState.SENDING, event="send")
        with store.atomic():  # the claim is part of this fsync'd transaction
            assert store.claim(issued.key, VoucherState.SENDING, 1e12, 2e12, owner="w1") is not None
            assert store.pragma("synchronous") == FULL
        assert not any(s.startswith("PRAGMA synchronous =") for s in statements)
        assert store.pragma("synchronous") == FULL
        assert store.require(issued.key).lease_owner == "w1"


def test_submitted_relaxed_the_other_moves_fsynced(tmp_path: Path, signer: Signer) -> None:
    with open_store(tmp_path / "o.db", create=True) as store:
        issued = Issuer(store, signer, IssuerSettings("02", EMISOR_ID, "X")).issue(ticket())
        statements = traced(store)
        store.transition(issued.key, VoucherState.SENDING, event="send")
        assert not any(s.startswith("PRAGMA synchronous =") for s in statements)
        store.transition(issued.key, VoucherState.SUBMITTED, event="submitted")
        assert statements[-1] == "PRAGMA synchronous = FULL"
        assert "PRAGMA synchronous = NORMAL" in statements
        del statements[:]
        store.transition(issued.key, VoucherState.ACCEPTED)
        assert not any(s.startswith("PRAGMA synchronous =") for s in statements)
        store._conn.set_trace_callback(None)
        assert store.pragma("synchronous") == FULL
        assert store.require(issued.key).state is VoucherState.ACCEPTED


def test_a_claim_does_not_change_later_commits(store: Store, signer: Signer) -> None:
    """Both backends: a claim, alone or inside another transaction, then a durable write; on PostgreSQL
    the relaxed commit is the claim's own (SET LOCAL), never a later transaction's."""

    def setting() -> object:
        assert isinstance(store, PostgresStore)
        with store._tx() as cur:
            cur.execute("SHOW synchronous_commit")
            return cur.fetchone()

    before = setting() if isinstance(store, PostgresStore) else None
    issued = Issuer(store, signer, IssuerSettings("02", EMISOR_ID, "X")).issue(ticket())
    assert store.claim(issued.key, VoucherState.SIGNED, 1e12, 2e12, owner="w1") is not None
    with store.atomic():
        assert store.claim(issued.key, VoucherState.SIGNED, 3e12, 4e12, owner="w2") is not None
    assert store.require(issued.key).lease_owner == "w2"
    assert store.transition(issued.key, VoucherState.SENDING, event="send").state is VoucherState.SENDING
    assert store.transition(issued.key, VoucherState.SUBMITTED).state is VoucherState.SUBMITTED
    assert store.transition(issued.key, VoucherState.ACCEPTED).state is VoucherState.ACCEPTED
    if isinstance(store, PostgresStore):
        assert setting() == before
