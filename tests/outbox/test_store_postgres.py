"""What only the PostgreSQL store has to prove: its URL and password handling, its migrations, and its
behaviour between several connections (nodes) -- gapless numbering under concurrency, SKIP LOCKED claims,
leases taken over from a dead node, LISTEN/NOTIFY wake-ups. The contract shared with SQLite is in
test_store.py."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator

import psycopg
import pytest
from test_store import builder_for, woken_by

from cr_einvoice.core.errors import StoreError
from cr_einvoice.core.secret import Secret
from cr_einvoice.outbox.store import CounterKey, NewVoucher, Store, VoucherState, open_store
from cr_einvoice.outbox.store.postgres import PG_SCHEMA_VERSION, PostgresStore
from cr_einvoice.outbox.store.postgres_schema import masked_url
from cr_einvoice.testing.pgserver import PgServer, start_postgres

EMISOR = "3101123456"
KEY = CounterKey(EMISOR, 1, 1, "01")


def build_for(key: CounterKey, ref: str | None = None, fail: bool = False):  # type: ignore[no-untyped-def]
    """test_store's builder, or one whose signing fails (``fail``)."""
    ok = builder_for(key, ref)

    def build(numero: int, situacion: str) -> NewVoucher:
        if fail:
            raise RuntimeError("signer exploded")
        return ok(numero, situacion)  # type: ignore[no-any-return]

    return build


@pytest.fixture
def url(pg_server: PgServer) -> str:
    return pg_server.create_database()


@pytest.fixture
def pg(url: str) -> Iterator[Store]:
    s = open_store(url, create=True)
    s.add_issuer("02", EMISOR, "Empresa de Prueba")
    yield s
    s.close()


def test_the_url_picks_postgres_and_the_password_is_never_shown(pg_server: PgServer, url: str) -> None:
    secret = "s3cr3t-Pa55"
    with_password = url.replace(f"{pg_server.user}@", f"{pg_server.user}:{secret}@")
    with open_store(with_password, create=True) as s:
        assert isinstance(s, PostgresStore) and isinstance(s, Store)
        assert secret not in s.path and secret not in repr(s)
        assert s.path == url
        s.add_issuer("02", EMISOR, "X")
        s.issue(KEY, build_for(KEY))
        s.log_event(None, "note", {"where": s.path})
    with psycopg.connect(url) as conn:  # nothing in the database carries it
        for table in ("events", "settings", "workers", "vouchers", "schema_migrations"):
            rows = conn.execute(f"SELECT t::text FROM {table} t").fetchall()  # noqa: S608
            assert not [r for r in rows if secret in r[0]], table
    missing = with_password.rsplit("/", 1)[0] + "/no_such_db"
    with pytest.raises(StoreError) as caught:
        open_store(missing)
    assert secret not in str(caught.value) and "no_such_db" in str(caught.value)
    with pytest.raises(StoreError) as caught:
        PostgresStore(url.rsplit("/", 1)[0] + "/no_such_db", password=Secret(secret))
    assert secret not in str(caught.value)
    assert masked_url("postgresql://u:pw@db.example:6543/outbox?sslmode=require") == (
        "postgresql://u@db.example:6543/outbox"
    )


def test_a_closed_port_is_a_store_error_naming_the_server(pg_server: PgServer) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(
        StoreError, match=rf"cannot connect to the outbox database postgresql://x@127.0.0.1:{port}/db"
    ):
        open_store(f"postgresql://x@127.0.0.1:{port}/db")


def test_migrations_are_recorded_and_a_newer_schema_is_refused(url: str) -> None:
    with pytest.raises(StoreError, match="not an outbox database"):
        open_store(url)  # an empty database is not initialised unasked
    with open_store(url, create=True) as s:
        assert isinstance(s, PostgresStore) and s.schema_version == PG_SCHEMA_VERSION
    with psycopg.connect(url) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
        assert versions == list(range(1, PG_SCHEMA_VERSION + 1))
        conn.execute("INSERT INTO schema_migrations VALUES (%s, 'later')", (PG_SCHEMA_VERSION + 1,))
    with pytest.raises(StoreError, match="newer than this"):
        open_store(url)


def test_concurrent_opens_migrate_once(url: str) -> None:
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            open_store(url, create=True).close()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone() == (PG_SCHEMA_VERSION,)


def test_threads_sharing_one_store_number_without_gaps_even_when_signing_fails(pg: Store) -> None:
    rng = random.Random(7)
    plan = [rng.random() < 0.2 for _ in range(160)]  # about one build in five fails
    lock = threading.Lock()
    failures = 0

    def work(part: list[bool]) -> None:
        nonlocal failures
        for fail in part:
            try:
                pg.issue(KEY, build_for(KEY, fail=fail))
            except RuntimeError:
                with lock:
                    failures += 1

    threads = [threading.Thread(target=work, args=(plan[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    issued = sum(1 for f in plan if not f)
    assert failures == len(plan) - issued
    assert sorted(v.numero for v in pg.iter_vouchers()) == list(range(1, issued + 1))
    assert pg.peek_next_number(KEY) == issued + 1


NODE = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime
    from cr_einvoice.outbox.store import CounterKey, NewVoucher, VoucherKind, open_store
    url, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = open_store(url)
    for i in range(n):
        for tipo in ("01", "04"):
            key = CounterKey("3101123456", 1, 1, tipo)
            ref = f"order-{i}-{tipo}"  # every node issues the same orders: each must be numbered once
            def build(numero, situacion, key=key, ref=ref):
                c = f"00100001{key.tipo}{numero:010d}"
                return NewVoucher(key=c, clave=c, consecutivo=c, kind=VoucherKind.ISSUED, tipo=key.tipo,
                    situacion=situacion, fecha_emision=datetime.now(UTC), emisor_tipo="02",
                    emisor_numero="3101123456", receptor_tipo=None, receptor_numero=None,
                    signed_xml=f"{tag}".encode(), external_ref=ref)
            store.issue(key, build, external_ref=ref)
    store.close()
    """
)


def test_processes_issuing_the_same_orders_number_each_once_without_gaps(pg: Store, url: str) -> None:
    n = 40
    procs = [
        subprocess.Popen([sys.executable, "-c", NODE, url, f"node{i}", str(n)], stderr=subprocess.PIPE)
        for i in range(3)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    vouchers = list(pg.iter_vouchers())
    assert len(vouchers) == 2 * n
    for tipo in ("01", "04"):
        mine = [v for v in vouchers if v.tipo == tipo]
        assert sorted(v.numero for v in mine) == list(range(1, n + 1))
        assert {v.external_ref for v in mine} == {f"order-{i}-{tipo}" for i in range(n)}
    assert {v.signed_xml for v in vouchers} <= {b"node0", b"node1", b"node2"}


def test_a_claim_skips_a_voucher_another_node_is_claiming(pg: Store, url: str) -> None:
    rec, _ = pg.issue(KEY, build_for(KEY))
    with psycopg.connect(url) as other:  # another node in the middle of its claim: the row is locked
        other.execute("SELECT 1 FROM vouchers WHERE key = %s FOR UPDATE", (rec.key,))
        started = time.monotonic()
        assert pg.claim(rec.key, VoucherState.SIGNED, time.time(), time.time() + 30, owner="w1") is None
        assert time.monotonic() - started < 2  # skipped, not waited for
    claimed = pg.claim(rec.key, VoucherState.SIGNED, time.time(), time.time() + 30, owner="w1")
    assert claimed is not None and claimed.lease_owner == "w1"
    assert pg.claim(rec.key, VoucherState.SIGNED, time.time(), time.time() + 30, owner="w2") is None


def test_many_workers_claiming_at_once_give_each_voucher_to_one(pg: Store, url: str) -> None:
    keys = [pg.issue(KEY, build_for(KEY))[0].key for _ in range(30)]
    stores = [open_store(url) for _ in range(3)]
    won: dict[str, list[str]] = {k: [] for k in keys}
    lock = threading.Lock()

    def worker(name: str, store: Store) -> None:
        for key in keys:
            got = store.claim(key, VoucherState.SIGNED, time.time(), time.time() + 60, owner=name)
            if got is not None:
                with lock:
                    won[key].append(name)

    threads = [threading.Thread(target=worker, args=(f"w{i}", s)) for i, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    assert all(len(names) == 1 for names in won.values()), won


def test_a_dead_nodes_leases_are_taken_over_by_another(pg: Store, url: str) -> None:
    rec, _ = pg.issue(KEY, build_for(KEY))
    other = open_store(url)
    try:
        now = time.time()
        pg.heartbeat("node-a", now)
        other.heartbeat("node-b", now)
        assert pg.claim(rec.key, VoucherState.SIGNED, now, now + 120, owner="node-a") is not None
        assert other.recover_leases(now + 1, stale_after=3) == []  # node-a is alive
        other.heartbeat("node-b", now + 10)  # node-a stopped beating (killed) ...
        assert other.recover_leases(now + 10, stale_after=3) == [rec.key]  # ... its voucher is free again
        assert other.recover_leases(now + 10, stale_after=3) == []
        freed = other.require(rec.key)
        assert freed.lease_owner is None and freed.next_action_at <= now + 10
        assert "lease_recovered" in [e.kind for e in other.events(rec.key)]
        assert other.claim(rec.key, VoucherState.SIGNED, now + 10, now + 130, owner="node-b") is not None
    finally:
        other.close()


def test_idle_workers_wake_on_another_nodes_issue(pg: Store, url: str) -> None:
    listener = open_store(url)
    try:
        started = time.monotonic()
        assert listener.wait_for_work(0.3) is False  # nothing happens: times out
        assert 0.25 <= time.monotonic() - started < 2
        # another connection's issue, as another node's
        woken, took = woken_by(listener, lambda: pg.issue(KEY, build_for(KEY)))
        assert woken is True and took < 5, took
        # a release of leases wakes them too
        pg.heartbeat("gone", 0.0)
        key = pg.list_vouchers()[0].key
        assert pg.claim(key, VoucherState.SIGNED, time.time(), time.time() + 99, owner="gone") is not None
        pg.recover_leases(time.time(), stale_after=1)
        assert listener.wait_for_work(5) is True
    finally:
        listener.close()


def test_a_server_gone_mid_run_is_a_store_error_not_a_traceback(pg_server: PgServer) -> None:
    url = pg_server.create_database()
    store = open_store(f"{url}?connect_timeout=2", create=True)
    name = url.rsplit("/", 1)[1]
    pg_server.drop_database(name)  # ends its connections and removes it
    started = time.monotonic()
    with pytest.raises(StoreError, match=r"outbox database postgresql://.* cannot be used"):
        store.count_by_state()
    assert time.monotonic() - started < 10  # the URL's connect_timeout bounds the wait
    store.close()


def test_a_server_restart_costs_at_most_one_failed_write(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CR_EINVOICE_TEST_PG_DSN", raising=False)
    server = start_postgres()  # its own server: the session's is not restarted under other tests
    try:
        url = server.create_database()
        store = open_store(url, create=True)
        listener = open_store(url)
        store.add_issuer("02", EMISOR, "X")
        for _ in range(3):  # a few pooled connections in use
            store.issue(KEY, build_for(KEY))
        assert listener.wait_for_work(0.1) in (True, False)  # listening from now on
        server.restart()
        assert store.count_by_state()[VoucherState.SIGNED] == 3  # a read is asked again on a new connection
        failures = []
        for _ in range(2):  # a write on a connection the restart broke is reported, never repeated
            try:
                store.issue(KEY, build_for(KEY))
            except StoreError as exc:
                failures.append(str(exc))
        assert len(failures) <= 1 and all("cannot be used" in f for f in failures), failures
        assert sorted(v.numero for v in store.iter_vouchers()) == list(
            range(1, len(store.list_vouchers()) + 1)
        )
        # the listening connection broke too: the next waits reconnect and hear a NOTIFY again
        deadline = time.monotonic() + 10
        heard = False
        while not heard and time.monotonic() < deadline:
            listener.wait_for_work(0.2)
            store.issue(KEY, build_for(KEY))
            heard = listener.wait_for_work(2)
        assert heard
        store.close()
        listener.close()
    finally:
        server.stop()
