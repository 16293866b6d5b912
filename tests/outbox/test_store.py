"""The durable store: migrations, gapless counters, the state machine, respuestas, events, contingency."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cr_einvoice.core.errors import StoreError
from cr_einvoice.outbox.store import (
    ALLOWED_TRANSITIONS,
    SCHEMA_VERSION,
    CounterKey,
    IllegalTransitionError,
    NewVoucher,
    ReceivedRecord,
    SQLiteStore,
    Store,
    VoucherKind,
    VoucherState,
    open_store,
)

EMISOR = "3101123456"
KEY = CounterKey(EMISOR, 1, 1, "01")


def builder_for(key: CounterKey, ref: str | None = None, payload: bytes = b"<x/>"):  # type: ignore[no-untyped-def]
    def build(numero: int, situacion: str) -> NewVoucher:
        consecutivo = f"{key.sucursal:03d}{key.terminal:05d}{key.tipo}{numero:010d}"
        clave = f"506010126{'00' + key.emisor}{consecutivo}{situacion}12345678"
        return NewVoucher(
            key=clave,
            clave=clave,
            consecutivo=consecutivo,
            kind=VoucherKind.ISSUED,
            tipo=key.tipo,
            situacion=situacion,
            fecha_emision=datetime(2026, 1, 1, tzinfo=UTC),
            emisor_tipo="02",
            emisor_numero=key.emisor,
            receptor_tipo=None,
            receptor_numero=None,
            signed_xml=payload,
            external_ref=ref,
        )

    return build


def builder(ref: str | None = None, payload: bytes = b"<signed/>"):  # type: ignore[no-untyped-def]
    return builder_for(KEY, ref, payload)


def woken_by(waiting: Store, cause: Callable[[], object]) -> tuple[bool, float]:
    """``waiting.wait_for_work(10)`` in a thread, ``cause()`` called 0.3 s after it began: what the wait
    returned and how long it took (seconds)."""
    woke: list[tuple[bool, float]] = []

    def wait() -> None:
        t0 = time.monotonic()
        woke.append((waiting.wait_for_work(10), time.monotonic() - t0))

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.3)
    cause()
    waiter.join(15)
    assert woke, "wait_for_work did not return"
    return woke[0]


@pytest.fixture
def store(store: Store) -> Store:
    """The store of every backend (tests/outbox/conftest.py) with this file's issuer."""
    store.add_issuer("02", EMISOR, "Empresa de Prueba")
    return store


def test_sqlite_opens_in_wal_with_full_sync_and_current_schema(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "outbox.db", create=True)
    assert isinstance(store, Store)
    assert str(store.pragma("journal_mode")).lower() == "wal"
    assert int(store.pragma("synchronous")) == 2  # FULL
    assert store.schema_version == SCHEMA_VERSION
    assert int(store.pragma("busy_timeout")) > 0


def test_reopen_keeps_data_and_does_not_remigrate(store_url: str) -> None:
    with open_store(store_url, create=True) as s:
        s.add_issuer("02", EMISOR, "X")
        s.issue(KEY, builder())
        version = s.schema_version
        events = len(s.events())
    with open_store(store_url) as s:
        assert isinstance(s, Store)
        assert s.schema_version == version
        assert len(s.list_vouchers()) == 1
        assert s.peek_next_number(KEY) == 2
        assert len(s.events()) == events


def test_refuses_a_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this"):
        SQLiteStore(path)


def test_open_store_urls(tmp_path: Path) -> None:
    s = open_store(f"sqlite:///{tmp_path}/u.db", create=True)
    assert Path(s.path) == tmp_path / "u.db"
    with pytest.raises(StoreError, match="scheme 'mysql' is not supported"):
        open_store("mysql://localhost/x")


def test_numbers_are_sequential_per_key(store: Store) -> None:
    numbers = [store.issue(KEY, builder())[0].numero for _ in range(5)]
    assert numbers == [1, 2, 3, 4, 5]
    other = CounterKey(EMISOR, 1, 2, "01")
    rec, created = store.issue(other, builder_for(other))
    assert created and rec.numero == 1
    assert store.peek_next_number(KEY) == 6


def test_failing_build_rolls_back_the_counter(store: Store) -> None:
    store.issue(KEY, builder())

    def broken(numero: int, situacion: str) -> NewVoucher:
        assert numero == 2
        raise RuntimeError("signer exploded")

    with pytest.raises(RuntimeError, match="signer exploded"):
        store.issue(KEY, broken)
    assert store.peek_next_number(KEY) == 2
    assert store.issue(KEY, builder())[0].numero == 2
    assert [v.numero for v in store.iter_vouchers()] == [1, 2]


def test_external_ref_is_idempotent(store: Store) -> None:
    first, created = store.issue(KEY, builder("order-1"), external_ref="order-1")
    again, created_again = store.issue(KEY, builder("order-1"), external_ref="order-1")
    assert created and not created_again
    assert again.key == first.key
    assert store.peek_next_number(KEY) == 2
    assert store.find_by_ref("order-1") == first
    with pytest.raises(StoreError, match="external_ref"):
        store.issue(KEY, builder("other"), external_ref="order-2")
    assert store.peek_next_number(KEY) == 2


def test_signed_bytes_are_kept_exactly(store: Store) -> None:
    payload = b'<?xml version="1.0" encoding="UTF-8"?>\n<a>\r\n\xc3\xb1 </a>'
    rec, _ = store.issue(KEY, builder(payload=payload))
    assert store.require(rec.key).signed_xml == payload


def test_state_machine_happy_path_and_bookkeeping(store: Store) -> None:
    rec, _ = store.issue(KEY, builder())
    assert rec.state is VoucherState.SIGNED and rec.attempts == 0
    r = store.transition(rec.key, VoucherState.SENDING, expected=VoucherState.SIGNED, count_attempt=True)
    assert r.attempts == 1
    r = store.transition(rec.key, VoucherState.SUBMITTED, next_action_at=123.0)
    assert r.submitted_at is not None and r.next_action_at == 123.0
    r = store.transition(rec.key, VoucherState.PROCESSING, count_poll=True)
    r = store.transition(rec.key, VoucherState.ACCEPTED)
    assert r.is_final and r.finished_at is not None and r.polls == 1
    kinds = [e.kind for e in store.events(rec.key)]
    assert kinds == ["issued", "state_sending", "state_submitted", "state_processing", "state_accepted"]


@pytest.mark.parametrize("final", [VoucherState.ACCEPTED, VoucherState.REJECTED])
def test_final_states_cannot_be_left(store: Store, final: VoucherState) -> None:
    rec, _ = store.issue(KEY, builder())
    store.transition(rec.key, VoucherState.SENDING)
    store.transition(rec.key, final)
    for target in VoucherState:
        with pytest.raises(IllegalTransitionError):
            store.transition(rec.key, target)
    assert store.require(rec.key).state is final


def test_illegal_transitions_raise_and_change_nothing(store: Store) -> None:
    rec, _ = store.issue(KEY, builder())
    for target in (
        VoucherState.SUBMITTED,
        VoucherState.PROCESSING,
        VoucherState.ACCEPTED,
        VoucherState.REJECTED,
    ):
        with pytest.raises(IllegalTransitionError, match="signed -> "):
            store.transition(rec.key, target)
    assert store.require(rec.key).state is VoucherState.SIGNED
    assert [e.kind for e in store.events(rec.key)] == ["issued"]


def test_transition_table_is_closed() -> None:
    assert set(ALLOWED_TRANSITIONS) == set(VoucherState)
    # every non-final state can reach a final state; nothing goes back to signed
    for state, targets in ALLOWED_TRANSITIONS.items():
        assert VoucherState.SIGNED not in targets, state


def test_expected_state_guard(store: Store) -> None:
    rec, _ = store.issue(KEY, builder())
    store.transition(rec.key, VoucherState.SENDING)
    with pytest.raises(StoreError, match="expected signed"):
        store.transition(rec.key, VoucherState.SENDING, expected=VoucherState.SIGNED)
    with pytest.raises(StoreError, match="no voucher"):
        store.transition("nope", VoucherState.SENDING)


def test_due_order_limit_and_filter(store: Store) -> None:
    """due(): the earliest next_action_at first, ties in issue order; ``limit`` keeps the first ones, whole
    records (signed XML included) come back; ``signed`` picks never-sent or already-sent vouchers."""
    issued = [store.issue(KEY, builder())[0] for _ in range(5)]
    for record, at in zip(issued, (40.0, 10.0, 30.0, 10.0, 20.0), strict=True):
        store.reschedule(record.key, at)
    order = [issued[i].key for i in (1, 3, 4, 2, 0)]
    assert [v.key for v in store.due(100.0)] == order
    assert [v.key for v in store.due(100.0, limit=3)] == order[:3]
    assert [v.key for v in store.due(25.0)] == order[:3]
    by_key = {r.key: r.signed_xml for r in issued}
    assert all(v.signed_xml == by_key[v.key] for v in store.due(100.0))
    store.transition(issued[3].key, VoucherState.SENDING)
    store.reschedule(issued[3].key, 5.0)
    assert [v.key for v in store.due(100.0, signed=False)] == [issued[3].key]
    assert [v.key for v in store.due(100.0, signed=True, limit=2)] == [issued[1].key, issued[4].key]
    assert [v.key for v in store.due(100.0, limit=2)] == [issued[3].key, issued[1].key]


def test_due_and_reschedule(store: Store) -> None:
    a, _ = store.issue(KEY, builder())
    b, _ = store.issue(KEY, builder())
    store.reschedule(b.key, 500.0, error="backing off")
    assert [v.key for v in store.due(100.0)] == [a.key]
    assert {v.key for v in store.due(600.0)} == {a.key, b.key}
    store.transition(a.key, VoucherState.SENDING)
    store.transition(a.key, VoucherState.ERROR, error="-52 totals")
    assert [v.key for v in store.due(600.0)] == [b.key]
    assert store.require(a.key).last_error == "-52 totals"
    assert store.next_due_at() == 500.0
    assert store.count_by_state()[VoucherState.ERROR] == 1
    assert [v.key for v in store.list_vouchers(state=VoucherState.ERROR)] == [a.key]


def test_respuestas_keep_raw_bytes_and_decoded_fields(store: Store) -> None:
    rec, _ = store.issue(KEY, builder())
    raw = b"<MensajeHacienda>\r\n</MensajeHacienda>"
    errores = [{"codigo": -52, "mensaje": "totales", "fila": 0, "columna": 0}]
    store.add_respuesta(
        rec.key, source="poll", estado="rechazado", mensaje=3, detalle="d", errores=errores, raw_xml=raw
    )
    [resp] = store.respuestas(rec.key)
    assert resp.raw_xml == raw and resp.mensaje == 3 and resp.errores[0]["codigo"] == -52
    with pytest.raises(StoreError):
        store.add_respuesta(
            "missing", source="poll", estado="x", mensaje=None, detalle=None, errores=[], raw_xml=None
        )


def test_contingency_mode_sets_situacion(store: Store) -> None:
    assert store.connectivity() == (True, None)
    assert store.issue(KEY, builder())[0].situacion == "1"
    assert store.set_connectivity(False, reason="connection refused")
    assert not store.set_connectivity(False)
    online, since = store.connectivity()
    assert not online and since is not None
    assert store.issue(KEY, builder())[0].situacion == "3"
    assert store.set_connectivity(True)
    assert store.issue(KEY, builder())[0].situacion == "1"
    assert [e.kind for e in store.events() if e.key is None][-2:] == ["offline", "online"]


def test_terminals_require_issuer_and_validate_ranges(store: Store) -> None:
    store.add_terminal(EMISOR, 1, 2, "caja 2")
    assert [t.terminal for t in store.terminals(EMISOR)] == [2]
    with pytest.raises(StoreError, match="unknown issuer"):
        store.add_terminal("999", 1, 1)
    with pytest.raises(StoreError, match="sucursal"):
        CounterKey(EMISOR, 0, 1, "01")
    with pytest.raises(StoreError, match="terminal"):
        CounterKey(EMISOR, 1, 100000, "01")
    with pytest.raises(StoreError, match="tipo"):
        CounterKey(EMISOR, 1, 1, "1")


def test_set_counter_continues_but_never_goes_back(store: Store) -> None:
    store.set_counter(KEY, 41)
    assert store.issue(KEY, builder())[0].numero == 42
    with pytest.raises(StoreError, match="repeat numbers"):
        store.set_counter(KEY, 10)


def test_counter_wraps_after_ten_digits(store: Store) -> None:
    store.set_counter(KEY, 9_999_999_999)
    assert store.issue(KEY, builder())[0].numero == 1


def received(clave: str, xml: bytes = b"<FE/>") -> ReceivedRecord:
    now = datetime(2026, 1, 2, tzinfo=UTC)
    return ReceivedRecord(
        clave=clave,
        tipo="01",
        emisor_tipo="02",
        emisor_numero="3101999999",
        emisor_nombre="Proveedor",
        receptor_numero=EMISOR,
        fecha_emision=now,
        total_comprobante="1130.00000",
        total_impuesto="130.00000",
        xml=xml,
        signer_subject="CN=Proveedor",
        received_at=now,
        decision=None,
        mr_key=None,
    )


def test_received_vouchers_and_receptor_message_linking(store: Store) -> None:
    clave = "5" * 50
    store.add_received(received(clave))
    assert store.add_received(received(clave)).clave == clave  # same bytes: idempotent
    with pytest.raises(StoreError, match="different voucher"):
        store.add_received(received(clave, b"<other/>"))
    mr_key = CounterKey(EMISOR, 1, 1, "05")

    def build(numero: int, situacion: str) -> NewVoucher:
        consecutivo = f"0010000105{numero:010d}"
        return NewVoucher(
            key=f"{clave}-{consecutivo}",
            clave=clave,
            consecutivo=consecutivo,
            kind=VoucherKind.RECEPTOR_MESSAGE,
            tipo="05",
            situacion=situacion,
            fecha_emision=datetime(2026, 1, 3, tzinfo=UTC),
            emisor_tipo="02",
            emisor_numero="3101999999",
            receptor_tipo="02",
            receptor_numero=EMISOR,
            signed_xml=b"<MR/>",
            consecutivo_receptor=consecutivo,
        )

    rec = store.issue_receptor_message(mr_key, clave, "05", build)
    assert rec.key == f"{clave}-00100001050000000001"
    got = store.get_received(clave)
    assert got is not None and got.decision == "05" and got.mr_key == rec.key
    with pytest.raises(StoreError, match="already answered"):
        store.issue_receptor_message(mr_key, clave, "07", build)
    assert store.peek_next_number(mr_key) == 2  # the refused second answer took no number


CHILD = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime
    from cr_einvoice.outbox.store import CounterKey, NewVoucher, VoucherKind, open_store
    path, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    key = CounterKey("3101123456", 1, 1, "04")
    store = open_store(path)
    for i in range(n):
        def build(numero, situacion, i=i):
            c = f"0010000104{numero:010d}"
            return NewVoucher(key=c, clave=c, consecutivo=c, kind=VoucherKind.ISSUED, tipo="04",
                situacion=situacion, fecha_emision=datetime.now(UTC), emisor_tipo="02",
                emisor_numero="3101123456", receptor_tipo=None, receptor_numero=None,
                signed_xml=f"{tag}-{i}".encode(), external_ref=f"{tag}-{i}")
        store.issue(key, build, external_ref=f"{tag}-{i}")
    """
)


def test_concurrent_processes_never_share_or_skip_a_number(store: Store, store_url: str) -> None:
    procs = [
        subprocess.Popen([sys.executable, "-c", CHILD, store_url, f"p{i}", "40"], stderr=subprocess.PIPE)
        for i in range(3)
    ]
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err.decode()
    vouchers = [v for v in store.iter_vouchers() if v.tipo == "04"]
    assert sorted(v.numero for v in vouchers) == list(range(1, 121))
    assert len({v.external_ref for v in vouchers}) == 120


def test_vouchers_with_a_consecutivo_are_found_without_reading_the_whole_outbox(store: Store) -> None:
    first = store.issue(KEY, builder())[0]
    store.issue(KEY, builder())
    other_taxpayer = CounterKey("3101999999", 1, 1, "01")
    theirs = store.issue(other_taxpayer, builder_for(other_taxpayer))[0]
    assert first.consecutivo == theirs.consecutivo
    assert [v.clave for v in store.with_consecutivo(first.consecutivo)] == [first.clave, theirs.clave]
    assert store.with_consecutivo("00100001010000009999") == []
