"""The store's part for the service's console and received listing -- users, sessions, failed sign-ins, pages
of received vouchers -- on every backend (SQL written once in ``service_tables``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from outbox_docs import EMISOR_ID

from cr_einvoice.core.errors import StoreError
from cr_einvoice.outbox.store import (
    ConsoleSessionRecord,
    ConsoleUserRecord,
    ReceivedPage,
    ReceivedRecord,
    Store,
)

CREATED = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
OTHER = "3101999999"


def user(username: str = "ana", emisor: str = EMISOR_ID) -> ConsoleUserRecord:
    return ConsoleUserRecord(username, emisor, "Ana Mora", "scrypt$1$2$3$salt$hash", CREATED)


def test_users_are_added_once_listed_and_disabled_keeping_the_date(store: Store) -> None:
    assert store.add_console_user(user()) == user()
    with pytest.raises(StoreError, match="'ana' already exists"):
        store.add_console_user(user())
    store.add_console_user(user("beto", OTHER))
    store.add_console_user(user("carla"))
    assert store.get_console_user("ana") == user() and store.get_console_user("nadie") is None
    assert [u.username for u in store.list_console_users()] == ["ana", "carla", "beto"]
    assert [u.username for u in store.list_console_users(OTHER)] == ["beto"]
    disabled = store.disable_console_user("ana")
    assert not disabled.active and disabled.disabled_at is not None
    assert store.disable_console_user("ana").disabled_at == disabled.disabled_at
    with pytest.raises(StoreError, match="no console user 'nadie'"):
        store.disable_console_user("nadie")
    kinds = [e.kind for e in store.events() if e.kind.startswith("console_user")]
    assert kinds == ["console_user_created"] * 3 + ["console_user_disabled"]
    assert "scrypt" not in repr(disabled)


def test_a_new_password_or_enabling_lifts_the_lock_and_a_new_password_ends_the_sessions(store: Store) -> None:
    store.add_console_user(user())
    until = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    store.console_login_failed("ana", lambda failures: until)
    now = datetime.now(UTC)
    store.open_console_session(
        ConsoleSessionRecord("c" * 64, "ana", EMISOR_ID, now, now + timedelta(hours=1))
    )
    changed = store.set_console_password("ana", "scrypt$new")
    assert (changed.password_hash, changed.failed_logins, changed.locked_until) == ("scrypt$new", 0, None)
    assert store.get_console_session("c" * 64) is None
    store.disable_console_user("ana")
    store.console_login_failed("ana", lambda failures: until)
    enabled = store.enable_console_user("ana")
    assert enabled.active and (enabled.failed_logins, enabled.locked_until) == (0, None)
    for change in (
        lambda: store.set_console_password("nadie", "x"),
        lambda: store.enable_console_user("nadie"),
    ):
        with pytest.raises(StoreError, match="no console user 'nadie'"):
            change()
    kinds = [e.kind for e in store.events() if e.kind.startswith("console_")]
    assert kinds == [
        "console_user_created",
        "console_password_set",
        "console_user_disabled",
        "console_user_enabled",
    ]


def test_failed_sign_ins_count_lock_and_are_forgotten_after_a_good_one(store: Store) -> None:
    store.add_console_user(user())
    seen: list[int] = []
    until = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

    def lock(failures: int) -> datetime | None:
        seen.append(failures)
        return until if failures >= 3 else None

    for _ in range(3):
        after = store.console_login_failed("ana", lock)
    assert seen == [1, 2, 3]
    assert after is not None and after.failed_logins == 3 and after.locked_until == until
    assert store.console_login_failed("nadie", lock) is None
    at = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    store.console_login_succeeded("ana", at)
    good = store.get_console_user("ana")
    assert good is not None and (good.failed_logins, good.locked_until, good.last_login_at) == (0, None, at)


def test_sessions_open_read_close_and_end_with_their_user(store: Store) -> None:
    store.add_console_user(user())
    now = datetime.now(UTC)
    live = ConsoleSessionRecord("a" * 64, "ana", EMISOR_ID, now, now + timedelta(hours=1))
    ended = ConsoleSessionRecord(
        "b" * 64, "ana", EMISOR_ID, now - timedelta(hours=2), now - timedelta(hours=1)
    )
    store.open_console_session(ended)
    assert store.get_console_session("b" * 64) == ended  # kept until the next session opens
    store.open_console_session(live)
    assert store.get_console_session("a" * 64) == live
    assert store.get_console_session("b" * 64) is None
    store.close_console_session("a" * 64)
    assert store.get_console_session("a" * 64) is None
    store.open_console_session(live)
    store.disable_console_user("ana")
    assert store.get_console_session("a" * 64) is None


def _received(
    clave_tail: int,
    *,
    receptor: str = EMISOR_ID,
    supplier: str = "3101555555",
    day: int = 3,
    tipo: str = "01",
    at: datetime | None = None,
) -> ReceivedRecord:
    return ReceivedRecord(
        clave=f"506{clave_tail:047d}",
        tipo=tipo,
        emisor_tipo="02",
        emisor_numero=supplier,
        emisor_nombre="Proveedor S.A.",
        receptor_numero=receptor,
        fecha_emision=datetime.fromisoformat(f"2026-03-{day:02d}T10:00:00-06:00"),
        total_comprobante="1130.00000",
        total_impuesto="130.00000",
        xml=b"<FacturaElectronica/>",
        signer_subject="CN=Proveedor",
        received_at=at or CREATED + timedelta(minutes=clave_tail),
        decision=None,
        mr_key=None,
    )


def test_received_pages_run_newest_first_filter_and_continue_after_the_cursor(store: Store) -> None:
    rows = [
        _received(1, day=1),
        _received(2, day=2, supplier="3101666666"),
        _received(3, day=3, tipo="08"),
        _received(4, day=4),
        _received(5, receptor=OTHER),
    ]
    for row in rows:
        store.add_received(row)
    store.set_received_decision(rows[3].clave, "05", "mr-key")

    def claves(**filters: object) -> list[str]:
        return [r.clave for r in store.page_received(ReceivedPage(owner=EMISOR_ID, **filters))]  # type: ignore[arg-type]

    mine = [r.clave for r in rows[:4]][::-1]
    assert claves() == mine
    first = store.page_received(ReceivedPage(owner=EMISOR_ID, limit=2))
    assert [r.clave for r in first] == mine[:2]
    last = first[-1]
    assert claves(after=(last.received_at.isoformat(), last.clave)) == mine[2:]
    assert claves(answered=True) == [rows[3].clave]
    assert claves(answered=False) == mine[1:]
    assert claves(decision="05") == [rows[3].clave] and claves(decision="07") == []
    assert claves(tipo="08") == [rows[2].clave]
    assert claves(emisor="3101666666") == [rows[1].clave]
    assert claves(since="2026-03-02", until="2026-03-03") == [rows[2].clave, rows[1].clave]
    assert [r.clave for r in store.page_received(ReceivedPage(owner=OTHER))] == [rows[4].clave]
    assert store.page_received(ReceivedPage(owner="nadie")) == []
    with pytest.raises(StoreError, match="until must be a date"):
        store.page_received(ReceivedPage(owner=EMISOR_ID, until="mañana"))
