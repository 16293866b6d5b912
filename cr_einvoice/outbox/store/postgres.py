"""PostgreSQL backend of the durable store (psycopg 3 with a connection pool; the ``[postgres]`` extra).

Several processes on several machines share one database, each with its own :class:`PostgresStore`:

- The consecutive counter row is locked (``SELECT ... FOR UPDATE``) in the transaction that inserts the signed
  voucher, so two nodes never draw the same number and a failure while signing rolls the counter back (no
  gap). A voucher issued idempotently (``external_ref``) is looked up *after* the lock is held, so a second
  node issuing the same order finds the first one's voucher instead of numbering it again.
- A due voucher is claimed with ``FOR UPDATE SKIP LOCKED``: a worker never waits behind another that is
  claiming the same voucher, and only one of them gets it. Leases name the worker, whose heartbeat row says
  whether it lives; :meth:`recover_leases` frees the vouchers of a worker whose heartbeat went stale (a node
  that crashed), so another takes them over within seconds.
- Issuing (and releasing leases) sends ``NOTIFY`` on :data:`WORK_CHANNEL`; :meth:`wait_for_work` waits on
  ``LISTEN`` so idle workers on every node wake when there is work.
- Schema changes are numbered migrations recorded in ``schema_migrations``, applied under an advisory lock.

The password never enters the store's messages, reprs or tables: :attr:`path` is the URL without it. It comes
from the URL itself, from ``password`` (a :class:`~cr_einvoice.core.secret.Secret`), or from libpq's own
``PGPASSWORD``/``~/.pgpass``.

The API is synchronous like the SQLite store's; each thread takes its own connection from the pool for the
length of one transaction (:meth:`atomic` keeps it for several operations).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar, Unpack

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool

from cr_einvoice.core.errors import StoreError
from cr_einvoice.core.secret import Secret
from cr_einvoice.outbox.store.apikey_tables import ApiKeyTables
from cr_einvoice.outbox.store.base import (
    RELAXED_TARGETS,
    Answer,
    Builder,
    Change,
    CounterKey,
    Counters,
    IssuerRecord,
    NewVoucher,
    ReceivedRecord,
    RespuestaRecord,
    TerminalRecord,
    VoucherRecord,
    VoucherState,
    check_transition,
)
from cr_einvoice.outbox.store.cache_tables import CacheTables
from cr_einvoice.outbox.store.delivery_tables import DeliveryTables
from cr_einvoice.outbox.store.postgres_deliveries import PG_DELIVERIES_MIGRATION
from cr_einvoice.outbox.store.postgres_host import Cursor
from cr_einvoice.outbox.store.postgres_schema import PG_BASE_MIGRATION, WORK_CHANNEL, masked_url
from cr_einvoice.outbox.store.postgres_service import PG_CONSOLE_MIGRATION, PG_SERVICE_MIGRATION
from cr_einvoice.outbox.store.reads import StoreReads
from cr_einvoice.outbox.store.rows import (
    IDLE_STATES,
    MAX_SEQUENCE,
    RECEIVED_FIELDS,
    RESPUESTA_FIELDS,
    VOUCHER_COLUMNS,
    columns,
    counter_sets,
    event_values,
    iso,
    issuer,
    key_dict,
    new_voucher_row,
    received,
    transition_sets,
    voucher,
)
from cr_einvoice.outbox.store.rows import now as _utcnow
from cr_einvoice.outbox.store.service_tables import ConsoleTables

__all__ = ["PG_MIGRATIONS", "PG_SCHEMA_VERSION", "PostgresStore"]

log = logging.getLogger("cr_einvoice.store")

_T = TypeVar("_T")


#: Numbered migrations; index i brings the schema from version i to i + 1.
PG_MIGRATIONS: tuple[str, ...] = (
    PG_BASE_MIGRATION,
    # 2: durable e-mail deliveries (postgres_deliveries).
    PG_DELIVERIES_MIGRATION,
    # 3: the issuing service's API keys and listing indexes (postgres_service).
    PG_SERVICE_MIGRATION,
    # 4: the web console's users and sessions, the received vouchers' listing index (postgres_service).
    PG_CONSOLE_MIGRATION,
)
PG_SCHEMA_VERSION = len(PG_MIGRATIONS)

#: Advisory lock keys (one per concern) taken with ``pg_advisory_xact_lock``.
_MIGRATE_LOCK = 0x6372_6569_6E76_0001
_LEASES_LOCK = 0x6372_6569_6E76_0002

_COUNTER_WHERE = "emisor = %s AND sucursal = %s AND terminal = %s AND tipo = %s"


def _counter_params(key: CounterKey) -> tuple[str, int, int, str]:
    return (key.emisor, key.sucursal, key.terminal, key.tipo)


def _insert_row(cur: Cursor, table: str, values: Mapping[str, object], tail: str = "") -> DictRow | None:
    """INSERT one row (``tail``: ON CONFLICT / RETURNING); ``table``, the column names and ``tail`` are this
    module's constants, values are bound. Returns the row RETURNING gave, if any."""
    names = ", ".join(values)
    marks = ", ".join(f"%({n})s" for n in values)
    cur.execute(f"INSERT INTO {table} ({names}) VALUES ({marks}) {tail}", values)  # noqa: S608
    return cur.fetchone() if tail else None


class PostgresStore(StoreReads, CacheTables, DeliveryTables, ApiKeyTables, ConsoleTables):
    """The :class:`~cr_einvoice.outbox.store.base.Store` on a PostgreSQL database (``postgresql://...``)."""

    _MARK = "%s"
    _SEQ = "seq"
    # the row locks of the shared write paths (sql_tables): several nodes write at once
    _FOR_UPDATE = " FOR UPDATE"
    _FOR_SHARE = " FOR SHARE"
    _SKIP_LOCKED = " FOR UPDATE SKIP LOCKED"

    def __init__(
        self,
        url: str,
        *,
        password: Secret | None = None,
        create: bool = False,
        pool_size: int = 4,
        connect_timeout: float = 10.0,
    ) -> None:
        self._url = url
        self._shown = masked_url(url)
        try:
            given = conninfo_to_dict(url).get("connect_timeout")
        except psycopg.Error:
            raise StoreError(f"the PostgreSQL URL of the store is malformed: {self._shown}") from None
        if given is not None and str(given).strip().isdigit():
            connect_timeout = float(str(given))  # the URL's own setting bounds every wait for a connection
        self._kwargs: dict[str, Any] = {
            "connect_timeout": max(1, round(connect_timeout)),
            "application_name": "cr-einvoice",
            "autocommit": True,  # transactions are explicit (_tx): a read alone is one round trip
        }
        if password is not None:
            self._kwargs["password"] = password.reveal()
        self._local = threading.local()
        self._listen_lock = threading.Lock()
        self._listener: psycopg.Connection[Any] | None = None
        self._closed = False
        try:  # one direct connection first: a refusal is reported as it is, not as a pool timeout
            psycopg.connect(url, **self._kwargs).close()
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot connect to the outbox database {self._shown}: {_first_line(exc)}. Check that the "
                "server runs and accepts this user, and the URL and password in the configuration"
            ) from None
        self._pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            url,
            kwargs=self._kwargs,
            min_size=1,
            max_size=max(1, pool_size),
            open=False,
            timeout=connect_timeout,
            name="cr-einvoice-store",
        )
        self._pool.open(wait=True, timeout=connect_timeout)
        try:
            self._migrate(create=create)
        except BaseException:
            self._pool.close()
            raise

    @property
    def path(self) -> str:
        """The database's URL without its password (what messages and ``repr`` show)."""
        return self._shown

    def __repr__(self) -> str:
        return f"PostgresStore({self._shown!r})"

    # -- plumbing ---------------------------------------------------------------------------------
    @contextmanager
    def _tx(self, *, write: bool = True) -> Iterator[Cursor]:
        """One transaction on a pooled connection held by this thread; nested calls join it. A read
        (``write=False``) outside a transaction is one statement in autocommit (no BEGIN/COMMIT round
        trips)."""
        held: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if held is not None:
            with held.cursor(row_factory=dict_row) as cur:
                yield cur
            return
        if self._closed:
            raise StoreError(f"the outbox database {self._shown} was closed")
        try:
            with self._pool.connection() as conn:
                if not write:
                    with conn.cursor(row_factory=dict_row) as cur:
                        yield cur
                    return
                self._local.conn = conn
                try:
                    with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
                        yield cur
                finally:
                    self._local.conn = None
        except psycopg.Error as exc:
            raise self._failure(exc) from None

    def _failure(self, exc: psycopg.Error) -> StoreError:
        if isinstance(exc, psycopg.OperationalError):
            with contextlib.suppress(psycopg.Error):
                self._pool.check()  # drop the pooled connections the same outage broke (a server restart)
            return _ConnectionLost(
                f"the outbox database {self._shown} cannot be used ({_first_line(exc)}). Check that the "
                "server runs and is reachable, then run the command again"
            )
        return StoreError(f"the outbox database {self._shown} failed: {_first_line(exc)}")

    def _reading(self, read: Callable[[Cursor], _T]) -> _T:
        """``read`` on a cursor outside a transaction; asked once more on a fresh connection when the
        connection broke (a read is safe to repeat; a write never is)."""
        nested = getattr(self._local, "conn", None) is not None
        for attempt in (1, 2):
            try:
                with self._tx(write=False) as cur:
                    return read(cur)
            except _ConnectionLost:
                if nested or attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """Group several store operations into one transaction; nests freely."""
        with self._tx():
            yield

    def _read(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[DictRow]:
        def read(cur: Cursor) -> list[DictRow]:
            cur.execute(sql, params)
            return cur.fetchall()

        return self._reading(read)

    def _select(self, cur: Cursor, where: str, params: Sequence[Any] = ()) -> list[VoucherRecord]:
        """Vouchers matching ``where`` -- a constant SQL fragment of this module; values go in ``params``."""
        cur.execute(f"SELECT {VOUCHER_COLUMNS} FROM vouchers {where}", params)  # noqa: S608
        return [voucher(r) for r in cur.fetchall()]

    def require(self, key: str) -> VoucherRecord:
        record = self.get(key)
        if record is None:
            raise StoreError(f"no voucher {key} in the store {self._shown}")
        return record

    def _vouchers(self, where: str, params: Sequence[Any] = ()) -> list[VoucherRecord]:
        return self._reading(lambda cur: self._select(cur, where, params))

    def _migrate(self, *, create: bool) -> None:
        with self._tx() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATE_LOCK,))
            cur.execute("SELECT to_regclass('schema_migrations') IS NOT NULL AS present")
            row = cur.fetchone()
            if row is None or not row["present"]:
                if not create:
                    raise StoreError(
                        f"{self._shown} is not an outbox database (no cr-einvoice schema in it); refusing to "
                        "initialise it unasked. Point the configuration at the outbox, or create its tables "
                        "with 'cr-einvoice init' (open_store(..., create=True))"
                    )
                cur.execute("CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied_at text)")
            cur.execute("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations")
            found = cur.fetchone()
            version = int(found["v"]) if found else 0
            if version > PG_SCHEMA_VERSION:
                raise StoreError(
                    f"the store database {self._shown} has schema version {version}, newer than this "
                    f"cr-einvoice supports ({PG_SCHEMA_VERSION}); upgrade cr-einvoice"
                )
            for index in range(version, PG_SCHEMA_VERSION):
                log.info("store %s: migrating schema %d -> %d", self._shown, index, index + 1)
                cur.execute(PG_MIGRATIONS[index])  # our constant DDL
                cur.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (%s, %s)",
                    (index + 1, iso(_utcnow())),
                )

    @property
    def schema_version(self) -> int:
        rows = self._read("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations")
        return int(rows[0]["v"])

    def close(self) -> None:
        self._closed = True
        with self._listen_lock:
            if self._listener is not None:
                self._listener.close()
                self._listener = None
        self._pool.close()

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def _event(cur: Cursor, key: str | None, kind: str, detail: Mapping[str, Any]) -> None:
        cur.execute(
            "INSERT INTO events (key, at, kind, detail) VALUES (%s, %s, %s, %s)",
            (key, *event_values(kind, detail)),
        )

    @staticmethod
    def _notify(cur: Cursor) -> None:
        """Wake the idle workers (delivered when the transaction commits; repeats in one are merged)."""
        cur.execute("SELECT pg_notify(%s, '')", (WORK_CHANNEL,))

    # -- waking idle workers ----------------------------------------------------------------------
    def wait_for_work(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a NOTIFY that work is due (from any process); True if one came.

        One listening connection per store, opened on first use; notifications that arrive between two waits
        are kept by it, so none is missed once the first wait has begun."""
        deadline = time.monotonic() + max(0.0, timeout)
        if not self._listen_lock.acquire(timeout=max(0.0, timeout)):
            return False
        try:
            if self._closed:
                return False
            try:
                if self._listener is None:
                    self._listener = psycopg.connect(self._url, **self._kwargs)
                    self._listener.execute(f"LISTEN {WORK_CHANNEL}")
                left = max(0.0, deadline - time.monotonic())
                return any(True for _ in self._listener.notifies(timeout=left, stop_after=1))
            except psycopg.Error as exc:
                log.warning("store %s: listening for work failed (%s)", self._shown, _first_line(exc))
                if self._listener is not None:
                    self._listener.close()
                    self._listener = None
                time.sleep(max(0.0, deadline - time.monotonic()))
                return False
        finally:
            self._listen_lock.release()

    # -- issuers and terminals --------------------------------------------------------------------
    def add_issuer(self, tipo_identificacion: str, numero_identificacion: str, nombre: str) -> IssuerRecord:
        if not numero_identificacion:
            raise StoreError("numero_identificacion of the issuer is empty")
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO issuers VALUES (%s, %s, %s, %s) ON CONFLICT (numero_identificacion) DO NOTHING "
                "RETURNING numero_identificacion",
                (numero_identificacion, tipo_identificacion, nombre, iso(_utcnow())),
            )
            if cur.fetchone() is not None:
                self._event(cur, None, "issuer_added", {"emisor": numero_identificacion})
            else:
                cur.execute(
                    "UPDATE issuers SET tipo_identificacion = %s, nombre = %s "
                    "WHERE numero_identificacion = %s",
                    (tipo_identificacion, nombre, numero_identificacion),
                )
            cur.execute("SELECT * FROM issuers WHERE numero_identificacion = %s", (numero_identificacion,))
            row = cur.fetchone()
            assert row is not None
            return issuer(row)

    def add_terminal(
        self, emisor: str, sucursal: int, terminal: int, descripcion: str = ""
    ) -> TerminalRecord:
        CounterKey(emisor, sucursal, terminal, "01")  # range checks
        with self._tx() as cur:
            cur.execute("SELECT 1 FROM issuers WHERE numero_identificacion = %s", (emisor,))
            if cur.fetchone() is None:
                raise StoreError(f"unknown issuer {emisor}: add it before its terminals")
            cur.execute(
                "INSERT INTO terminals VALUES (%s, %s, %s, %s) ON CONFLICT (emisor, sucursal, terminal) "
                "DO UPDATE SET descripcion = excluded.descripcion",
                (emisor, sucursal, terminal, descripcion),
            )
        return TerminalRecord(emisor, sucursal, terminal, descripcion)

    # -- numbering and persistence ----------------------------------------------------------------
    def _lock_counter(self, cur: Cursor, key: CounterKey) -> int:
        """The counter's last number, its row locked until the transaction ends (created at 0 if new)."""
        return self._draw(cur, key, advance=False)[0]

    @staticmethod
    def _draw(cur: Cursor, key: CounterKey, *, advance: bool) -> tuple[int, str]:
        """The counter's number, its row locked until the transaction ends, and the situación of a voucher
        issued now (3 while Hacienda is unreachable, else 1): one upsert, whose DO UPDATE locks an existing
        row as FOR UPDATE would. ``advance``: the number drawn (the counter advanced, created at 1, back to 1
        after MAX_SEQUENCE; the transaction's rollback takes it back), else the last number (created at 0)."""
        cur.execute(
            "INSERT INTO counters VALUES (%s, %s, %s, %s, %s) ON CONFLICT (emisor, sucursal, terminal, tipo) "
            "DO UPDATE SET last_number = CASE WHEN NOT %s THEN counters.last_number "
            "WHEN counters.last_number >= %s THEN 1 ELSE counters.last_number + 1 END RETURNING last_number, "
            "EXISTS (SELECT 1 FROM settings WHERE name = 'offline_since') AS offline",
            (*_counter_params(key), 1 if advance else 0, advance, MAX_SEQUENCE),
        )
        row = cur.fetchone()
        assert row is not None
        return int(row["last_number"]), "3" if row["offline"] else "1"

    @staticmethod
    def _write_counter(cur: Cursor, key: CounterKey, number: int) -> None:
        cur.execute(
            f"UPDATE counters SET last_number = %s WHERE {_COUNTER_WHERE}",  # noqa: S608
            (number, *_counter_params(key)),
        )

    def set_counter(self, key: CounterKey, last_number: int) -> None:
        """Continue an existing sequence (a taxpayer moving from other software keeps its numbering)."""
        if not 0 <= last_number <= MAX_SEQUENCE:
            raise StoreError(f"last_number must be 0..{MAX_SEQUENCE}, got {last_number}")
        with self._tx() as cur:
            current = self._lock_counter(cur, key)
            if last_number < current:
                raise StoreError(
                    f"counter {key.emisor}/{key.sucursal}/{key.terminal}/{key.tipo} is at {current}; "
                    f"moving it back to {last_number} would repeat numbers"
                )
            self._write_counter(cur, key, last_number)
            self._event(cur, None, "counter_set", {"key": key_dict(key), "last_number": last_number})

    def issue(
        self, key: CounterKey, build: Builder, *, external_ref: str | None = None
    ) -> tuple[VoucherRecord, bool]:
        """Four round trips: BEGIN, the draw, the voucher with its event and NOTIFY, COMMIT. (libpq's pipeline
        mode, which would send BEGIN with the draw, costs psycopg more time than the round trip it saves.)"""
        with self._tx() as cur:
            if external_ref is not None:
                self._lock_counter(cur, key)
                # looked up under the lock: a concurrent issue of it has committed
                found = self._select(cur, "WHERE external_ref = %s", (external_ref,))
                if found:
                    return found[0], False
            numero, situacion = self._draw(cur, key, advance=True)
            new = build(numero, situacion)
            if new.external_ref != external_ref:
                raise StoreError("the built voucher does not carry the external_ref it was issued under")
            return self._insert(cur, new, key, numero), True

    def _insert(self, cur: Cursor, new: NewVoucher, key: CounterKey, numero: int) -> VoucherRecord:
        """Store the new voucher, its event and wake the workers (NOTIFY, delivered at commit): one statement,
        no check before, no read after. Returns the stored record."""
        row = new_voucher_row(new, key, numero)
        detail = {
            "consecutivo": new.consecutivo,
            "situacion": new.situacion,
            "external_ref": new.external_ref,
        }
        at, kind, detail_json = event_values("issued", detail)
        names = ", ".join(row)
        marks = ", ".join(f"%({n})s" for n in row)
        cur.execute(
            f"WITH stored AS (INSERT INTO vouchers ({names}) VALUES ({marks}) "  # noqa: S608 (constant names)
            f"ON CONFLICT DO NOTHING RETURNING {VOUCHER_COLUMNS}), "
            "logged AS (INSERT INTO events (key, at, kind, detail) "
            "SELECT key, %(_at)s, %(_kind)s, %(_detail)s FROM stored) "
            "SELECT stored.*, pg_notify(%(_channel)s, '') FROM stored",
            row
            | {
                "_at": at,
                "_kind": kind,
                "_detail": detail_json,
                "_channel": WORK_CHANNEL,
            },
        )
        stored = cur.fetchone()
        if (
            stored is None
        ):  # a key, consecutivo or external_ref taken (a failed INSERT would end the transaction)
            raise StoreError(f"voucher {new.key} (consecutivo {new.consecutivo}) is already stored")
        return voucher(stored)

    # -- vouchers ---------------------------------------------------------------------------------
    def transition(self, key: str, target: VoucherState, **change: Unpack[Change]) -> VoucherRecord:
        relaxed = target in RELAXED_TARGETS and getattr(self._local, "conn", None) is None
        with self._tx() as cur:
            if relaxed:  # not waiting for the disk: see RELAXED_TARGETS
                cur.execute("SET LOCAL synchronous_commit = off")
            cur.execute("SELECT state FROM vouchers WHERE key = %s FOR UPDATE", (key,))
            row = cur.fetchone()
            if row is None:
                raise StoreError(f"no voucher {key} in the store {self._shown}")
            current = VoucherState(row["state"])
            sets, params, info = transition_sets(key, current, target, change, "%s")
            check_transition(key, current, target)
            # The move, its event and the record as it is now: one statement, one round trip.
            cur.execute(
                f"WITH moved AS (UPDATE vouchers SET {', '.join(sets)} WHERE key = %s "  # noqa: S608 (constant)
                f"RETURNING {VOUCHER_COLUMNS}), logged AS (INSERT INTO events (key, at, kind, detail) "
                "SELECT key, %s, %s, %s FROM moved) SELECT * FROM moved",
                [*params, key, *event_values(change.get("event") or f"state_{target.value}", info)],
            )
            row = cur.fetchone()
            assert row is not None, "the row is locked FOR UPDATE above"
            return voucher(row)

    def claim(
        self, key: str, state: VoucherState, now: float, until: float, *, owner: str | None = None
    ) -> VoucherRecord | None:
        """Reserve ``key`` for worker ``owner`` until ``until`` when it is still in ``state`` and due at
        ``now``; None when another worker holds it (even at this instant: its row lock is skipped) or moved
        it. The lease does not wait for the disk (a crash only makes the voucher due again)."""
        outermost = getattr(self._local, "conn", None) is None
        with self._tx() as cur:
            if outermost:  # inside another transaction the claim is part of it, and so is its commit
                cur.execute("SET LOCAL synchronous_commit = off")
            cur.execute(
                f"UPDATE vouchers SET next_action_at = %s, updated_at = %s, lease_owner = %s WHERE key = ("  # noqa: S608
                "SELECT key FROM vouchers WHERE key = %s AND state = %s AND next_action_at <= %s "
                f"FOR UPDATE SKIP LOCKED) RETURNING {VOUCHER_COLUMNS}",
                (until, iso(_utcnow()), owner, key, state.value, now),
            )
            row = cur.fetchone()
            return None if row is None else voucher(row)

    def reschedule(
        self, key: str, next_action_at: float, *, error: str | None = None, **counters: Unpack[Counters]
    ) -> VoucherRecord:
        sets = ["next_action_at = %s", "last_error = COALESCE(%s, last_error)", "updated_at = %s"]
        params: list[Any] = [next_action_at, error, iso(_utcnow())]
        counter_sets(counters, sets, params, "%s")
        with self._tx() as cur:
            update = f"UPDATE vouchers SET {', '.join(sets)} WHERE key = %s RETURNING {VOUCHER_COLUMNS}"  # noqa: S608
            cur.execute(update, [*params, key])
            row = cur.fetchone()
            if row is None:
                raise StoreError(f"no voucher {key} in the store {self._shown}")
            if next_action_at <= time.time():
                self._notify(cur)
            return voucher(row)

    # -- live workers -----------------------------------------------------------------------------
    def heartbeat(self, worker_id: str, now: float, *, info: Mapping[str, Any] | None = None) -> None:
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO workers (id, started_at, heartbeat, info) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (id) DO UPDATE SET heartbeat = excluded.heartbeat",
                (worker_id, iso(_utcnow()), now, json.dumps(dict(info or {}), default=str)),
            )

    def retire(self, worker_id: str) -> None:
        with self._tx() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_LEASES_LOCK,))
            cur.execute(
                "UPDATE vouchers SET lease_owner = NULL, next_action_at = LEAST(next_action_at, %s) "
                "WHERE lease_owner = %s",
                (time.time(), worker_id),
            )
            if cur.rowcount:
                self._notify(cur)
            cur.execute("DELETE FROM workers WHERE id = %s", (worker_id,))

    def recover_leases(self, now: float, stale_after: float) -> list[str]:
        with self._tx() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_LEASES_LOCK,))
            cur.execute(
                "UPDATE vouchers SET lease_owner = NULL, next_action_at = LEAST(next_action_at, %s) "
                "WHERE lease_owner IS NOT NULL AND lease_owner NOT IN "
                "(SELECT id FROM workers WHERE heartbeat >= %s) RETURNING key, state, lease_owner",
                (now, now - stale_after),
            )
            released = cur.fetchall()
            if not released:
                return []
            dead = sorted({str(r["lease_owner"]) for r in released})
            keys = [str(r["key"]) for r in released if r["state"] not in IDLE_STATES]
            cur.execute("DELETE FROM workers WHERE id = ANY(%s)", (dead,))
            for owner in dead:
                count = sum(
                    1 for r in released if r["lease_owner"] == owner and r["state"] not in IDLE_STATES
                )
                self._event(cur, None, "worker_dead", {"worker": owner, "released": count})
            for key in keys:
                self._event(cur, key, "lease_recovered", {"from_worker": dead})
            self._notify(cur)
            return keys

    # -- respuestas -------------------------------------------------------------------------------
    def add_respuesta(self, key: str, **answer: Unpack[Answer]) -> RespuestaRecord:
        errores = tuple(dict(e) for e in answer["errores"])
        got = (answer["source"], answer["estado"], answer["mensaje"], answer["detalle"])
        record = RespuestaRecord(0, key, _utcnow(), *got, errores, answer["raw_xml"])
        with self._tx() as cur:
            # locked for update now: the state change that usually follows in the same transaction must not
            # have to upgrade a shared lock another worker also holds (a deadlock)
            cur.execute("SELECT 1 FROM vouchers WHERE key = %s FOR UPDATE", (key,))
            if cur.fetchone() is None:
                raise StoreError(f"no voucher {key} in the store {self._shown}")
            row = columns(record, RESPUESTA_FIELDS) | {"errores": json.dumps(errores, default=str)}
            new = _insert_row(cur, "respuestas", row, "RETURNING id")
            assert new is not None
            info = {"source": record.source, "estado": record.estado, "mensaje": record.mensaje}
            self._event(cur, key, "respuesta", info)
        return dataclasses.replace(record, id=int(new["id"]))

    # -- received vouchers ------------------------------------------------------------------------
    def add_received(self, record: ReceivedRecord) -> ReceivedRecord:
        with self._tx() as cur:
            row = columns(record, RECEIVED_FIELDS)
            if _insert_row(cur, "received", row, "ON CONFLICT (clave) DO NOTHING RETURNING clave") is None:
                cur.execute("SELECT * FROM received WHERE clave = %s", (record.clave,))
                existing = cur.fetchone()
                assert existing is not None
                if bytes(existing["xml"]) != record.xml:
                    raise StoreError(
                        f"a different voucher with clave {record.clave} was already received; refusing to "
                        "replace it"
                    )
                return received(existing)
            self._event(cur, record.clave, "received", {"emisor": record.emisor_numero, "tipo": record.tipo})
        return record

    def _lock_received(self, cur: Cursor, clave: str) -> ReceivedRecord:
        cur.execute("SELECT * FROM received WHERE clave = %s FOR UPDATE", (clave,))
        row = cur.fetchone()
        if row is None:
            raise StoreError(f"no received voucher {clave} in the store {self._shown}")
        record = received(row)
        if record.decision is not None:
            raise StoreError(f"received voucher {clave} was already answered ({record.decision})")
        return record

    def set_received_decision(self, clave: str, decision: str, mr_key: str) -> ReceivedRecord:
        with self._tx() as cur:
            self._lock_received(cur, clave)
            cur.execute(
                "UPDATE received SET decision = %s, mr_key = %s WHERE clave = %s RETURNING *",
                (decision, mr_key, clave),
            )
            row = cur.fetchone()
            assert row is not None
            self._event(cur, clave, "received_decision", {"decision": decision, "mr_key": mr_key})
            return received(row)

    def issue_receptor_message(
        self, key: CounterKey, clave_recibida: str, decision: str, build: Builder
    ) -> VoucherRecord:
        """Number, persist and link our MensajeReceptor to the received voucher, all in one transaction (the
        received voucher's row locked first: two answers to it cannot both be numbered)."""
        with self._tx() as cur:
            self._lock_received(cur, clave_recibida)
            record, _ = self.issue(key, build)
            self.set_received_decision(clave_recibida, decision, record.key)
            return record

    # -- events -----------------------------------------------------------------------------------
    def log_event(self, key: str | None, kind: str, detail: Mapping[str, Any] | None = None) -> None:
        with self._tx() as cur:
            self._event(cur, key, kind, detail or {})

    # -- contingency ------------------------------------------------------------------------------

    def set_connectivity(self, online: bool, *, reason: str = "") -> bool:
        if self.connectivity()[0] == online:
            return False  # the common case: no write at all
        with self._tx() as cur:
            if online:
                cur.execute("DELETE FROM settings WHERE name = 'offline_since' RETURNING name")
            else:
                cur.execute(
                    "INSERT INTO settings VALUES ('offline_since', %s) ON CONFLICT (name) DO NOTHING "
                    "RETURNING name",
                    (iso(_utcnow()),),
                )
            if cur.fetchone() is None:
                return False  # another process changed it first
            self._event(cur, None, "online" if online else "offline", {"reason": reason})
        log.warning(
            "Hacienda is %s%s",
            "reachable again" if online else "unreachable",
            f": {reason}" if reason else "",
        )
        return True


class _ConnectionLost(StoreError):
    """The connection to the server failed (refused, reset, the server restarted)."""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
