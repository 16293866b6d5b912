"""The store's part for the issuing service -- API keys and the paginated listing -- on every backend."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from outbox_docs import EMISOR_ID, ticket

from cr_einvoice.core.errors import StoreError
from cr_einvoice.outbox.issuing import Issuer
from cr_einvoice.outbox.store import ApiKeyRecord, Store, VoucherPage, VoucherState


def test_api_keys_are_added_once_listed_and_revoked_keeping_the_date(store: Store) -> None:
    created = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    key = ApiKeyRecord("kid1", EMISOR_ID, "caja", "scrypt$1$2$3$salt$hash", created)
    assert store.add_api_key(key) == key
    with pytest.raises(StoreError, match="already exists"):
        store.add_api_key(key)
    store.add_api_key(ApiKeyRecord("kid2", "3101999999", "otro", "h", created))
    assert store.get_api_key("kid1") == key and store.get_api_key("nope") is None
    assert [k.key_id for k in store.list_api_keys()] == ["kid1", "kid2"]
    assert [k.key_id for k in store.list_api_keys(EMISOR_ID)] == ["kid1"]
    revoked = store.revoke_api_key("kid1")
    assert not revoked.active and revoked.revoked_at is not None
    assert store.revoke_api_key("kid1").revoked_at == revoked.revoked_at
    with pytest.raises(StoreError, match="no API key"):
        store.revoke_api_key("nope")
    assert [e.kind for e in store.events() if e.kind.startswith("api_key")] == [
        "api_key_created",
        "api_key_created",
        "api_key_revoked",
    ]


def test_pages_run_newest_first_and_continue_after_the_cursor(store: Store, issuer: Issuer) -> None:
    keys = [issuer.issue(ticket()).key for _ in range(5)]
    first = store.page_vouchers(VoucherPage(owner=EMISOR_ID, limit=2))
    assert [v.key for v in first] == keys[::-1][:2]
    last = first[-1]
    rest = store.page_vouchers(VoucherPage(owner=EMISOR_ID, after=(last.created_at.isoformat(), last.key)))
    assert [v.key for v in rest] == keys[::-1][2:]
    assert store.page_vouchers(VoucherPage(owner="3101999999")) == []
    assert len(store.page_vouchers(VoucherPage(owner=EMISOR_ID, state=VoucherState.SIGNED, tipo="04"))) == 5
    assert store.page_vouchers(VoucherPage(owner=EMISOR_ID, tipo="01")) == []
    assert store.page_vouchers(VoucherPage(owner=EMISOR_ID, since="2000-01-01", until="2000-01-02")) == []
    with pytest.raises(StoreError, match="since must be a date"):
        store.page_vouchers(VoucherPage(owner=EMISOR_ID, since="yesterday"))
