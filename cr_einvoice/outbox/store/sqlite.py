"""Embedded SQLite backend of the durable store (stdlib ``sqlite3``).

Durability and concurrency choices:

- WAL journal with ``synchronous=FULL``: a committed transaction survives a crash or power loss, and readers
  never block the writer.
- ``busy_timeout`` so several processes (a POS issuing, a worker submitting, the CLI looking) share one file.
- The consecutive counter is read and advanced inside ``BEGIN IMMEDIATE`` -- the write lock is taken *before*
  the read -- in the same transaction that inserts the voucher, so two processes can never draw the same
  number and a failure while signing rolls the counter back (no gap).
- Schema changes are numbered migrations tracked in ``PRAGMA user_version``.

One :class:`SQLiteStore` holds one connection guarded by a lock, so it may be shared by the threads of one
process; every process opens its own.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Unpack

from cr_einvoice.core.errors import StoreError
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
from cr_einvoice.outbox.store.health import check_file as _check_file
from cr_einvoice.outbox.store.health import damaged as _damaged
from cr_einvoice.outbox.store.health import explain as _explain
from cr_einvoice.outbox.store.health import is_damage as _is_damage
from cr_einvoice.outbox.store.reads import StoreReads
from cr_einvoice.outbox.store.rows import IDLE_STATES as _IDLE_STATES
from cr_einvoice.outbox.store.rows import MAX_SEQUENCE, event_values, new_voucher_row, transition_sets
from cr_einvoice.outbox.store.rows import RECEIVED_FIELDS as _RECEIVED_FIELDS
from cr_einvoice.outbox.store.rows import RESPUESTA_FIELDS as _RESPUESTA_FIELDS
from cr_einvoice.outbox.store.rows import VOUCHER_COLUMNS as _VOUCHER_COLUMNS
from cr_einvoice.outbox.store.rows import columns as _columns
from cr_einvoice.outbox.store.rows import counter_sets as _counter_sets
from cr_einvoice.outbox.store.rows import iso as _iso
from cr_einvoice.outbox.store.rows import key_dict as _key_dict
from cr_einvoice.outbox.store.rows import now as _now
from cr_einvoice.outbox.store.rows import received as _received
from cr_einvoice.outbox.store.rows import voucher as _voucher
from cr_einvoice.outbox.store.service_tables import ConsoleTables
from cr_einvoice.outbox.store.sqlite_cache import CACHE_MIGRATION
from cr_einvoice.outbox.store.sqlite_deliveries import DELIVERIES_MIGRATION
from cr_einvoice.outbox.store.sqlite_service import CONSOLE_MIGRATION as _CONSOLE_MIGRATION
from cr_einvoice.outbox.store.sqlite_service import MIGRATION as _SERVICE_MIGRATION

__all__ = ["MAX_SEQUENCE", "MIGRATIONS", "SCHEMA_VERSION", "SQLiteStore"]

log = logging.getLogger("cr_einvoice.store")

#: How often an idle worker's :meth:`SQLiteStore.wait_for_work` looks whether another process committed to the
#: file (seconds): a voucher issued elsewhere is sent within about this long, for one tiny read a look.
LOOK_FOR_OTHERS = 0.05

#: Numbered migrations; index i brings the schema from version i to i + 1.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE issuers (
        numero_identificacion TEXT PRIMARY KEY,
        tipo_identificacion TEXT NOT NULL,
        nombre TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE terminals (
        emisor TEXT NOT NULL REFERENCES issuers(numero_identificacion),
        sucursal INTEGER NOT NULL,
        terminal INTEGER NOT NULL,
        descripcion TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (emisor, sucursal, terminal)
    );
    CREATE TABLE counters (
        emisor TEXT NOT NULL,
        sucursal INTEGER NOT NULL,
        terminal INTEGER NOT NULL,
        tipo TEXT NOT NULL,
        last_number INTEGER NOT NULL,
        PRIMARY KEY (emisor, sucursal, terminal, tipo)
    );
    CREATE TABLE vouchers (
        key TEXT PRIMARY KEY,
        clave TEXT NOT NULL,
        consecutivo TEXT NOT NULL,
        kind TEXT NOT NULL,
        tipo TEXT NOT NULL,
        situacion TEXT NOT NULL,
        fecha_emision TEXT NOT NULL,
        emisor_tipo TEXT NOT NULL,
        emisor_numero TEXT NOT NULL,
        receptor_tipo TEXT,
        receptor_numero TEXT,
        sucursal INTEGER NOT NULL,
        terminal INTEGER NOT NULL,
        numero INTEGER NOT NULL,
        signed_xml BLOB NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        polls INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        submitted_at TEXT,
        finished_at TEXT,
        next_action_at REAL NOT NULL DEFAULT 0,
        last_error TEXT,
        total_comprobante TEXT,
        consecutivo_receptor TEXT,
        external_ref TEXT UNIQUE,
        detail TEXT NOT NULL DEFAULT '{}',
        UNIQUE (emisor_numero, consecutivo)
    );
    CREATE INDEX vouchers_due ON vouchers(state, next_action_at);
    CREATE INDEX vouchers_clave ON vouchers(clave);
    CREATE TABLE respuestas (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        key TEXT NOT NULL REFERENCES vouchers(key),
        received_at TEXT NOT NULL,
        source TEXT NOT NULL,
        estado TEXT NOT NULL,
        mensaje INTEGER,
        detalle TEXT,
        errores TEXT NOT NULL DEFAULT '[]',
        raw_xml BLOB
    );
    CREATE INDEX respuestas_key ON respuestas(key);
    CREATE TABLE received (
        clave TEXT PRIMARY KEY,
        tipo TEXT NOT NULL,
        emisor_tipo TEXT NOT NULL,
        emisor_numero TEXT NOT NULL,
        emisor_nombre TEXT NOT NULL,
        receptor_numero TEXT,
        fecha_emision TEXT NOT NULL,
        total_comprobante TEXT NOT NULL,
        total_impuesto TEXT,
        xml BLOB NOT NULL,
        signer_subject TEXT NOT NULL,
        received_at TEXT NOT NULL,
        decision TEXT,
        mr_key TEXT
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        key TEXT,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX events_key ON events(key);
    CREATE TABLE settings (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # 2: persisted retry counters (a restart does not forget them), the time of the last POST, leases tied to
    # live workers (heartbeats).
    """
    ALTER TABLE vouchers ADD COLUMN not_found INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE vouchers ADD COLUMN troubles INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE vouchers ADD COLUMN resends INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE vouchers ADD COLUMN sent_at REAL;
    ALTER TABLE vouchers ADD COLUMN lease_owner TEXT;
    CREATE TABLE workers (
        id TEXT PRIMARY KEY,
        started_at TEXT NOT NULL,
        heartbeat REAL NOT NULL,
        info TEXT NOT NULL DEFAULT '{}'
    );
    """,
    # 3: the cache of public data (api.hacienda.go.cr answers), see sqlite_cache.
    CACHE_MIGRATION,
    # 4: durable e-mail deliveries (sqlite_deliveries).
    DELIVERIES_MIGRATION,
    # 5: the issuing service's API keys and listing indexes (sqlite_service.py).
    _SERVICE_MIGRATION,
    # 6: the web console's users and sessions, the received vouchers' listing index (sqlite_service.py).
    _CONSOLE_MIGRATION,
)
SCHEMA_VERSION = len(MIGRATIONS)


def _insert_row(
    conn: sqlite3.Connection, table: str, values: Mapping[str, object], tail: str = ""
) -> sqlite3.Cursor:
    """INSERT one row (``tail``: a RETURNING clause); ``table``, the column names and ``tail`` are this
    module's constants, values are bound."""
    names = ", ".join(values)
    marks = ", ".join(f":{n}" for n in values)
    return conn.execute(f"INSERT INTO {table} ({names}) VALUES ({marks}) {tail}", values)  # noqa: S608


class SQLiteStore(StoreReads, CacheTables, DeliveryTables, ApiKeyTables, ConsoleTables):
    """The :class:`~cr_einvoice.outbox.store.base.Store` on one SQLite file (or ``":memory:"`` for tests)."""

    path: str

    def __init__(self, path: str | Path, *, busy_timeout: float = 30.0, create: bool = False) -> None:
        self.path = str(path)
        #: Why the database cannot be written any more (set on the first sign of damage), or None.
        self._broken: str | None = None
        if self.path != ":memory:":
            _check_file(Path(self.path), create=create)
        try:
            self._conn = sqlite3.connect(
                self.path,
                timeout=busy_timeout,
                isolation_level=None,  # we issue BEGIN/COMMIT ourselves
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise StoreError(_explain(exc, self.path, "open")) from None
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._depth = 0
        #: Set when this process issues a voucher (:meth:`wait_for_work`).
        self._work = threading.Event()
        #: The file's ``PRAGMA data_version`` last seen by :meth:`wait_for_work` (read once open).
        self._seen_version = 0
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            self._check_integrity()
            mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if self.path != ":memory:" and str(mode).lower() != "wal":
                raise StoreError(f"the store database {self.path} could not switch to WAL mode (got {mode})")
            self._conn.execute("PRAGMA synchronous = FULL")
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._migrate(create=create or self.path == ":memory:")
            self._seen_version = int(self._conn.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error as exc:
            self._conn.close()
            raise StoreError(_explain(exc, self.path, "open")) from None
        except StoreError:
            self._conn.close()
            raise

    def _check_integrity(self) -> None:
        """``PRAGMA quick_check`` at open: a damaged file is refused before anything reads or writes it."""
        rows = [str(r[0]) for r in self._conn.execute("PRAGMA quick_check(5)").fetchall()]
        if rows != ["ok"]:
            raise StoreError(_damaged(self.path, "; ".join(rows)))

    # -- plumbing ---------------------------------------------------------------------------------
    def _migrate(self, *, create: bool) -> None:
        with self._tx():
            version = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"the store database {self.path} has schema version {version}, newer than this "
                    f"cr-einvoice supports ({SCHEMA_VERSION}); upgrade cr-einvoice"
                )
            if version == 0 and not create:
                raise StoreError(
                    f"{self.path} is not an outbox database (no cr-einvoice schema in it); refusing to "
                    "initialise it, which would restart the numbering at 1. Point the configuration at the "
                    "outbox, or create a new one with 'cr-einvoice init' (open_store(..., create=True))"
                )
            for index in range(version, SCHEMA_VERSION):
                log.info("store %s: migrating schema %d -> %d", self.path, index, index + 1)
                for statement in MIGRATIONS[index].split(";"):
                    if statement.strip():
                        self._conn.execute(statement)
                # PRAGMA does not take parameters; the value is our own integer.
                self._conn.execute(f"PRAGMA user_version = {index + 1}")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``: the write lock is taken up front). Re-entrant."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._conn
                finally:
                    self._depth -= 1
                return
            if self._broken is not None:
                raise StoreError(self._broken)
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._failure(exc, "start a transaction") from None
            self._depth = 1
            try:
                yield self._conn
            except sqlite3.Error as exc:
                self._rollback()
                raise self._failure(exc, "write") from None
            except BaseException:
                self._rollback()
                raise
            else:
                try:
                    self._conn.execute("COMMIT")
                except sqlite3.Error as exc:
                    self._rollback()
                    raise self._failure(exc, "commit") from None
            finally:
                self._depth = 0

    @contextmanager
    def _relaxed_tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction committed without waiting for the disk (``synchronous = NORMAL`` for it), for
        what a power cut may undo harmlessly: a lease (the voucher is simply due again), a move to one of
        :data:`~cr_einvoice.outbox.store.base.RELAXED_TARGETS`. It reaches the disk
        with the next durable commit, and no later commit survives without it (the WAL is replayed in
        order). Inside another transaction it is part of that one."""
        with self._lock:
            if self._depth:
                with self._tx() as conn:
                    yield conn
                return
            try:
                self._conn.execute("PRAGMA synchronous = NORMAL")
            except sqlite3.Error as exc:
                raise self._failure(exc, "start a transaction") from None
            try:
                with self._tx() as conn:
                    yield conn
            finally:
                try:
                    self._conn.execute("PRAGMA synchronous = FULL")
                except sqlite3.Error as exc:  # never write again without fsync'd commits
                    self._broken = _explain(exc, self.path, "restore synchronous commits")

    def _rollback(self) -> None:
        """Roll back when a transaction is still open (SQLite may already have rolled it back itself, as it
        does on a full disk: a second ROLLBACK would fail with "no transaction is active")."""
        if not self._conn.in_transaction:
            return
        try:
            self._conn.execute("ROLLBACK")
        except sqlite3.Error as exc:  # the failure that brought us here is the one to report
            log.warning("store %s: rollback failed: %s", self.path, exc)

    def _failure(self, exc: sqlite3.Error, doing: str) -> StoreError:
        """The :class:`StoreError` for a database failure; damage also stops every later write."""
        message = _explain(exc, self.path, doing)
        if _is_damage(exc):
            self._broken = message
        return StoreError(message)

    def require(self, key: str) -> VoucherRecord:
        record = self.get(key)
        if record is None:
            raise StoreError(f"no voucher {key} in the store {self.path}")
        return record

    def _vouchers(self, where: str, params: Sequence[Any] = ()) -> list[VoucherRecord]:
        return self._select(where, params)

    def _select(
        self, where: str, params: Sequence[Any] = (), conn: sqlite3.Connection | None = None
    ) -> list[VoucherRecord]:
        """Vouchers matching ``where`` -- a constant SQL fragment of this module; values go in ``params``."""
        sql = f"SELECT {_VOUCHER_COLUMNS} FROM vouchers {where}"  # noqa: S608 (constant fragments only)
        if conn is not None:  # inside _tx, which reports a failure
            return [_voucher(r) for r in conn.execute(sql, params).fetchall()]
        return [_voucher(r) for r in self._read(sql, params)]

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """Group several store operations into one transaction (one fsync); nests freely."""
        with self._tx():
            yield

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return list(self._conn.execute(sql, params).fetchall())
            except sqlite3.Error as exc:
                raise self._failure(exc, "read") from None

    @property
    def schema_version(self) -> int:
        return int(self._read("PRAGMA user_version")[0][0])

    def pragma(self, name: str) -> Any:
        """Read one PRAGMA (``journal_mode``, ``synchronous``, ...); for diagnostics and tests."""
        if not name.isidentifier():
            raise StoreError(f"not a pragma name: {name!r}")
        return self._read(f"PRAGMA {name}")[0][0]

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _event(self, conn: sqlite3.Connection, key: str | None, kind: str, detail: Mapping[str, Any]) -> None:
        conn.execute(
            "INSERT INTO events (key, at, kind, detail) VALUES (?, ?, ?, ?)",
            (key, *event_values(kind, detail)),
        )

    # -- issuers and terminals --------------------------------------------------------------------
    def add_issuer(self, tipo_identificacion: str, numero_identificacion: str, nombre: str) -> IssuerRecord:
        if not numero_identificacion:
            raise StoreError("numero_identificacion of the issuer is empty")
        with self._tx() as conn:
            row = conn.execute(
                "SELECT * FROM issuers WHERE numero_identificacion = ?", (numero_identificacion,)
            ).fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO issuers VALUES (?, ?, ?, ?)",
                    (numero_identificacion, tipo_identificacion, nombre, _iso(_now())),
                )
                self._event(conn, None, "issuer_added", {"emisor": numero_identificacion})
            elif row["tipo_identificacion"] != tipo_identificacion or row["nombre"] != nombre:
                conn.execute(
                    "UPDATE issuers SET tipo_identificacion = ?, nombre = ? WHERE numero_identificacion = ?",
                    (tipo_identificacion, nombre, numero_identificacion),
                )
        issuer = self.get_issuer(numero_identificacion)
        assert issuer is not None
        return issuer

    def add_terminal(
        self, emisor: str, sucursal: int, terminal: int, descripcion: str = ""
    ) -> TerminalRecord:
        CounterKey(emisor, sucursal, terminal, "01")  # range checks
        with self._tx() as conn:
            if (
                conn.execute("SELECT 1 FROM issuers WHERE numero_identificacion = ?", (emisor,)).fetchone()
                is None
            ):
                raise StoreError(f"unknown issuer {emisor}: add it before its terminals")
            conn.execute(
                "INSERT INTO terminals VALUES (?, ?, ?, ?) ON CONFLICT (emisor, sucursal, terminal) "
                "DO UPDATE SET descripcion = excluded.descripcion",
                (emisor, sucursal, terminal, descripcion),
            )
        return TerminalRecord(emisor, sucursal, terminal, descripcion)

    # -- numbering and persistence ----------------------------------------------------------------
    def _last_number(self, conn: sqlite3.Connection, key: CounterKey) -> int:
        row = conn.execute(
            "SELECT last_number FROM counters "
            "WHERE emisor = ? AND sucursal = ? AND terminal = ? AND tipo = ?",
            (key.emisor, key.sucursal, key.terminal, key.tipo),
        ).fetchone()
        return int(row[0]) if row is not None else 0

    def set_counter(self, key: CounterKey, last_number: int) -> None:
        """Continue an existing sequence (a taxpayer moving from other software keeps its numbering)."""
        if not 0 <= last_number <= MAX_SEQUENCE:
            raise StoreError(f"last_number must be 0..{MAX_SEQUENCE}, got {last_number}")
        with self._tx() as conn:
            current = self._last_number(conn, key)
            if last_number < current:
                raise StoreError(
                    f"counter {key.emisor}/{key.sucursal}/{key.terminal}/{key.tipo} is at {current}; "
                    f"moving it back to {last_number} would repeat numbers"
                )
            self._write_counter(conn, key, last_number)
            self._event(conn, None, "counter_set", {"key": _key_dict(key), "last_number": last_number})

    @staticmethod
    def _write_counter(conn: sqlite3.Connection, key: CounterKey, number: int) -> None:
        conn.execute(
            "INSERT INTO counters VALUES (?, ?, ?, ?, ?) ON CONFLICT (emisor, sucursal, terminal, tipo) "
            "DO UPDATE SET last_number = excluded.last_number",
            (key.emisor, key.sucursal, key.terminal, key.tipo, number),
        )

    def issue(
        self, key: CounterKey, build: Builder, *, external_ref: str | None = None
    ) -> tuple[VoucherRecord, bool]:
        with self._tx() as conn:
            if external_ref is not None:
                found = self._select("WHERE external_ref = ?", (external_ref,), conn)
                if found:
                    return found[0], False
            numero, situacion = self._draw(conn, key)
            new = build(numero, situacion)
            if new.external_ref != external_ref:
                raise StoreError("the built voucher does not carry the external_ref it was issued under")
            record = self._insert(conn, new, key, numero)
            self._work.set()
            return record, True

    @staticmethod
    def _draw(conn: sqlite3.Connection, key: CounterKey) -> tuple[int, str]:
        """Advance the counter (created at 1; after MAX_SEQUENCE back to 1) and return the number drawn and
        the situación of a voucher issued now (3 while Hacienda is unreachable, else 1): one statement. The
        transaction's rollback takes the number back."""
        row = conn.execute(
            "INSERT INTO counters VALUES (?, ?, ?, ?, 1) ON CONFLICT (emisor, sucursal, terminal, tipo) "
            "DO UPDATE SET last_number = CASE WHEN last_number >= ? THEN 1 ELSE last_number + 1 END "
            "RETURNING last_number, EXISTS (SELECT 1 FROM settings WHERE name = 'offline_since')",
            (key.emisor, key.sucursal, key.terminal, key.tipo, MAX_SEQUENCE),
        ).fetchone()
        return int(row[0]), "3" if row[1] else "1"

    def _insert(
        self, conn: sqlite3.Connection, new: NewVoucher, key: CounterKey, numero: int
    ) -> VoucherRecord:
        """Store the new voucher and its event; the stored record (RETURNING: no read after)."""
        row = new_voucher_row(new, key, numero)
        try:
            stored = _insert_row(conn, "vouchers", row, f"RETURNING {_VOUCHER_COLUMNS}").fetchone()
        except sqlite3.IntegrityError as exc:
            raise StoreError(
                f"voucher {new.key} (consecutivo {new.consecutivo}) is already stored: {exc}"
            ) from None
        self._event(
            conn,
            new.key,
            "issued",
            {"consecutivo": new.consecutivo, "situacion": new.situacion, "external_ref": new.external_ref},
        )
        return _voucher(stored)

    # -- vouchers ---------------------------------------------------------------------------------
    def transition(self, key: str, target: VoucherState, **change: Unpack[Change]) -> VoucherRecord:
        with self._relaxed_tx() if target in RELAXED_TARGETS else self._tx() as conn:
            row = conn.execute("SELECT state FROM vouchers WHERE key = ?", (key,)).fetchone()
            if row is None:
                raise StoreError(f"no voucher {key} in the store {self.path}")
            current = VoucherState(row["state"])
            sets, params, info = transition_sets(key, current, target, change)
            check_transition(key, current, target)
            update = f"UPDATE vouchers SET {', '.join(sets)} WHERE key = ? RETURNING {_VOUCHER_COLUMNS}"  # noqa: S608
            stored = conn.execute(update, [*params, key]).fetchone()
            self._event(conn, key, change.get("event") or f"state_{target.value}", info)
            return _voucher(stored)

    def claim(
        self, key: str, state: VoucherState, now: float, until: float, *, owner: str | None = None
    ) -> VoucherRecord | None:
        """Reserve ``key`` for worker ``owner`` until ``until`` when it is still in ``state`` and due at
        ``now``.

        Returns the claimed record, or None when another worker holds it or moved it. The lease is not
        fsync'd (a power cut only makes the voucher due again).
        """
        with self._relaxed_tx() as conn:
            stored = conn.execute(
                "UPDATE vouchers SET next_action_at = ?, updated_at = ?, lease_owner = ? "  # noqa: S608 (constant)
                f"WHERE key = ? AND state = ? AND next_action_at <= ? RETURNING {_VOUCHER_COLUMNS}",
                (until, _iso(_now()), owner, key, state.value, now),
            ).fetchone()
            return None if stored is None else _voucher(stored)

    def reschedule(
        self, key: str, next_action_at: float, *, error: str | None = None, **counters: Unpack[Counters]
    ) -> VoucherRecord:
        sets = ["next_action_at = ?", "last_error = COALESCE(?, last_error)", "updated_at = ?"]
        params: list[Any] = [next_action_at, error, _iso(_now())]
        _counter_sets(counters, sets, params)
        with self._tx() as conn:
            update = f"UPDATE vouchers SET {', '.join(sets)} WHERE key = ? RETURNING {_VOUCHER_COLUMNS}"  # noqa: S608
            stored = conn.execute(update, [*params, key]).fetchone()
            if stored is None:
                raise StoreError(f"no voucher {key} in the store {self.path}")
            return _voucher(stored)

    # -- live workers -----------------------------------------------------------------------------
    def heartbeat(self, worker_id: str, now: float, *, info: Mapping[str, Any] | None = None) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO workers (id, started_at, heartbeat, info) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET heartbeat = excluded.heartbeat",
                (worker_id, _iso(_now()), now, json.dumps(dict(info or {}), default=str)),
            )

    def retire(self, worker_id: str) -> None:
        with self._tx() as conn:
            conn.execute(
                "UPDATE vouchers SET lease_owner = NULL, next_action_at = MIN(next_action_at, ?) "
                "WHERE lease_owner = ?",
                (time.time(), worker_id),
            )
            conn.execute("DELETE FROM workers WHERE id = ?", (worker_id,))

    def recover_leases(self, now: float, stale_after: float) -> list[str]:
        with self._tx() as conn:
            dead = [
                str(r[0])
                for r in conn.execute(
                    "SELECT DISTINCT lease_owner FROM vouchers WHERE lease_owner IS NOT NULL AND "
                    "lease_owner NOT IN (SELECT id FROM workers WHERE heartbeat >= ?)",
                    (now - stale_after,),
                ).fetchall()
            ]
            keys: list[str] = []
            for owner in dead:
                rows = conn.execute(
                    "SELECT key FROM vouchers WHERE lease_owner = ? AND state NOT IN (?, ?, ?)",
                    (owner, *_IDLE_STATES),
                ).fetchall()
                keys += [str(r[0]) for r in rows]
                conn.execute(
                    "UPDATE vouchers SET lease_owner = NULL, next_action_at = MIN(next_action_at, ?) "
                    "WHERE lease_owner = ?",
                    (now, owner),
                )
                conn.execute("DELETE FROM workers WHERE id = ?", (owner,))
                self._event(conn, None, "worker_dead", {"worker": owner, "released": len(rows)})
            for key in keys:
                self._event(conn, key, "lease_recovered", {"from_worker": dead})
            return keys

    # -- respuestas -------------------------------------------------------------------------------
    def add_respuesta(self, key: str, **answer: Unpack[Answer]) -> RespuestaRecord:
        errores = tuple(dict(e) for e in answer["errores"])
        got = (answer["source"], answer["estado"], answer["mensaje"], answer["detalle"])
        record = RespuestaRecord(0, key, _now(), *got, errores, answer["raw_xml"])
        with self._tx() as conn:
            if conn.execute("SELECT 1 FROM vouchers WHERE key = ?", (key,)).fetchone() is None:
                raise StoreError(f"no voucher {key} in the store {self.path}")
            row = _columns(record, _RESPUESTA_FIELDS) | {"errores": json.dumps(errores, default=str)}
            cur = _insert_row(conn, "respuestas", row)
            info = {"source": record.source, "estado": record.estado, "mensaje": record.mensaje}
            self._event(conn, key, "respuesta", info)
        return dataclasses.replace(record, id=int(cur.lastrowid or 0))

    # -- received vouchers ------------------------------------------------------------------------
    def add_received(self, record: ReceivedRecord) -> ReceivedRecord:
        with self._tx() as conn:
            existing = conn.execute("SELECT * FROM received WHERE clave = ?", (record.clave,)).fetchone()
            if existing is not None:
                if bytes(existing["xml"]) != record.xml:
                    raise StoreError(
                        f"a different voucher with clave {record.clave} was already received; refusing to "
                        "replace it"
                    )
                return _received(existing)
            _insert_row(conn, "received", _columns(record, _RECEIVED_FIELDS))
            self._event(conn, record.clave, "received", {"emisor": record.emisor_numero, "tipo": record.tipo})
        return record

    def set_received_decision(self, clave: str, decision: str, mr_key: str) -> ReceivedRecord:
        with self._tx() as conn:
            row = conn.execute("SELECT decision FROM received WHERE clave = ?", (clave,)).fetchone()
            if row is None:
                raise StoreError(f"no received voucher {clave} in the store {self.path}")
            if row["decision"] is not None:
                raise StoreError(f"received voucher {clave} was already answered ({row['decision']})")
            conn.execute(
                "UPDATE received SET decision = ?, mr_key = ? WHERE clave = ?", (decision, mr_key, clave)
            )
            self._event(conn, clave, "received_decision", {"decision": decision, "mr_key": mr_key})
        record = self.get_received(clave)
        assert record is not None
        return record

    def issue_receptor_message(
        self, key: CounterKey, clave_recibida: str, decision: str, build: Builder
    ) -> VoucherRecord:
        """Number, persist and link our MensajeReceptor to the received voucher, all in one transaction."""
        with self._tx():
            received = self.get_received(clave_recibida)
            if received is None:
                raise StoreError(f"no received voucher {clave_recibida} in the store {self.path}")
            if received.decision is not None:
                raise StoreError(
                    f"received voucher {clave_recibida} was already answered ({received.decision})"
                )
            record, _ = self.issue(key, build)
            self.set_received_decision(clave_recibida, decision, record.key)
            return record

    # -- events -----------------------------------------------------------------------------------
    def log_event(self, key: str | None, kind: str, detail: Mapping[str, Any] | None = None) -> None:
        with self._tx() as conn:
            self._event(conn, key, kind, detail or {})

    # -- contingency ------------------------------------------------------------------------------
    @staticmethod
    def _situacion(conn: sqlite3.Connection) -> str:
        row = conn.execute("SELECT value FROM settings WHERE name = 'offline_since'").fetchone()
        return "3" if row is not None else "1"

    def set_connectivity(self, online: bool, *, reason: str = "") -> bool:
        if self.connectivity()[0] == online:
            return False  # the common case: no write transaction at all
        with self._tx() as conn:
            row = conn.execute("SELECT value FROM settings WHERE name = 'offline_since'").fetchone()
            was_online = row is None
            if online == was_online:
                return False
            if online:
                conn.execute("DELETE FROM settings WHERE name = 'offline_since'")
            else:
                conn.execute("INSERT INTO settings VALUES ('offline_since', ?)", (_iso(_now()),))
            self._event(conn, None, "online" if online else "offline", {"reason": reason})
            log.warning(
                "Hacienda is %s%s",
                "reachable again" if online else "unreachable",
                f": {reason}" if reason else "",
            )
            return True

    def wait_for_work(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for new work: a voucher issued by this process (heard at once), or
        anything another process (or another connection of this one) committed to the file -- a voucher
        issued by ``cr-einvoice serve`` for a separate worker, released leases -- looked for every
        :data:`LOOK_FOR_OTHERS` seconds (``PRAGMA data_version``, which changes with every commit of another
        connection). True when woken, False on timeout."""
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            left = deadline - time.monotonic()
            if self._work.wait(max(0.0, min(left, LOOK_FOR_OTHERS))):
                self._work.clear()
                return True
            version = int(self._read("PRAGMA data_version")[0][0])
            seen, self._seen_version = self._seen_version, version
            if version != seen:
                return True
            if left <= LOOK_FOR_OTHERS:
                return False

    def wait_time(self) -> float:
        """Seconds until the next voucher is due (0 when one is due now, 3600 when none waits)."""
        nxt = self.next_due_at()
        return 3600.0 if nxt is None else max(0.0, nxt - time.time())
