"""The SQLite parts the issuing service (:mod:`cr_einvoice.service`) needs: its API keys and the filtered,
cursor-paginated listing of one taxpayer's vouchers; the received vouchers' listing and the console's users
and sessions come from :class:`~cr_einvoice.outbox.store.service_tables.ConsoleTables` (SQL shared with
PostgreSQL). A mixin of :class:`~cr_einvoice.outbox.store.SQLiteStore` (kept out of ``sqlite.py``); its
tables and indexes come with schema migrations :data:`MIGRATION` and :data:`CONSOLE_MIGRATION`."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cr_einvoice.core.errors import StoreError
from cr_einvoice.outbox.store.base import ApiKeyRecord, VoucherPage, VoucherRecord
from cr_einvoice.outbox.store.rows import page_query
from cr_einvoice.outbox.store.service_tables import ConsoleTables

__all__ = ["CONSOLE_MIGRATION", "MIGRATION", "ServiceTables"]

#: Schema migration adding the service's table and the index of its listing.
MIGRATION = """
    CREATE TABLE api_keys (
        key_id TEXT PRIMARY KEY,
        emisor TEXT NOT NULL,
        name TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        revoked_at TEXT
    );
    CREATE INDEX api_keys_emisor ON api_keys(emisor);
    CREATE INDEX vouchers_emisor_created ON vouchers(emisor_numero, created_at);
    CREATE INDEX vouchers_receptor_created ON vouchers(receptor_numero, created_at)
"""

#: Schema migration adding the web console's users and sessions and the received vouchers' listing index
#: (their SQL is in :mod:`cr_einvoice.outbox.store.service_tables`).
CONSOLE_MIGRATION = """
    CREATE TABLE console_users (
        username TEXT PRIMARY KEY,
        emisor TEXT NOT NULL,
        name TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        disabled_at TEXT,
        failed_logins INTEGER NOT NULL DEFAULT 0,
        locked_until TEXT,
        last_login_at TEXT
    );
    CREATE INDEX console_users_emisor ON console_users(emisor);
    CREATE TABLE console_sessions (
        token_hash TEXT PRIMARY KEY,
        username TEXT NOT NULL,
        emisor TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    CREATE INDEX console_sessions_username ON console_sessions(username);
    CREATE INDEX console_sessions_expires ON console_sessions(expires_at);
    CREATE INDEX received_receptor_received ON received(receptor_numero, received_at)
"""


def _api_key(row: sqlite3.Row) -> ApiKeyRecord:
    revoked = row["revoked_at"]
    return ApiKeyRecord(
        key_id=row["key_id"],
        emisor=row["emisor"],
        name=row["name"],
        secret_hash=row["secret_hash"],
        created_at=datetime.fromisoformat(row["created_at"]),
        revoked_at=datetime.fromisoformat(revoked) if revoked else None,
    )


class ServiceTables(ConsoleTables):
    """API keys and the paginated listing, over the host store's connection and transactions."""

    if TYPE_CHECKING:
        path: str

        def _tx(self) -> AbstractContextManager[sqlite3.Connection]: ...

        def _read(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]: ...

        def _select(
            self, where: str, params: Sequence[Any] = (), conn: sqlite3.Connection | None = None
        ) -> list[VoucherRecord]: ...

        def _event(self, conn: sqlite3.Connection, key: str | None, kind: str, detail: Any) -> None: ...

    # -- API keys ---------------------------------------------------------------------------------
    def add_api_key(self, record: ApiKeyRecord) -> ApiKeyRecord:
        if not record.key_id or not record.emisor:
            raise StoreError("an API key needs a key_id and an emisor")
        with self._tx() as conn:
            try:
                conn.execute(
                    "INSERT INTO api_keys (key_id, emisor, name, secret_hash, created_at, revoked_at) "
                    "VALUES (?, ?, ?, ?, ?, NULL)",
                    (
                        record.key_id,
                        record.emisor,
                        record.name,
                        record.secret_hash,
                        record.created_at.isoformat(),
                    ),
                )
            except sqlite3.IntegrityError:
                raise StoreError(f"an API key {record.key_id} already exists") from None
            self._event(conn, None, "api_key_created", {"key_id": record.key_id, "emisor": record.emisor})
        return record

    def get_api_key(self, key_id: str) -> ApiKeyRecord | None:
        rows = self._read("SELECT * FROM api_keys WHERE key_id = ?", (key_id,))
        return _api_key(rows[0]) if rows else None

    def list_api_keys(self, emisor: str | None = None) -> list[ApiKeyRecord]:
        if emisor is None:
            rows = self._read("SELECT * FROM api_keys ORDER BY created_at, key_id")
        else:
            rows = self._read(
                "SELECT * FROM api_keys WHERE emisor = ? ORDER BY created_at, key_id", (emisor,)
            )
        return [_api_key(r) for r in rows]

    def revoke_api_key(self, key_id: str) -> ApiKeyRecord:
        with self._tx() as conn:
            row = conn.execute("SELECT revoked_at FROM api_keys WHERE key_id = ?", (key_id,)).fetchone()
            if row is None:
                raise StoreError(f"no API key {key_id} in the store {self.path}")
            if row["revoked_at"] is None:
                conn.execute(
                    "UPDATE api_keys SET revoked_at = ? WHERE key_id = ?",
                    (datetime.now(UTC).isoformat(), key_id),
                )
                self._event(conn, None, "api_key_revoked", {"key_id": key_id})
        record = self.get_api_key(key_id)
        assert record is not None
        return record

    # -- the service's listing --------------------------------------------------------------------
    def page_vouchers(self, page: VoucherPage) -> list[VoucherRecord]:
        return self._select(*page_query(page))
