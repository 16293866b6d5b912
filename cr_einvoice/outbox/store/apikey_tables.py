"""The issuing service's API keys (the :class:`~cr_einvoice.outbox.store.base.Store`'s ``add_api_key`` ...),
written once for both SQL backends: a mixin of :class:`~cr_einvoice.outbox.store.sqlite.SQLiteStore` and
:class:`~cr_einvoice.outbox.store.postgres.PostgresStore` (see :mod:`~cr_einvoice.outbox.store.sql_tables`).
The table comes with SQLite's ``MIGRATION`` (:mod:`~cr_einvoice.outbox.store.sqlite_service`) and PostgreSQL's
``PG_SERVICE_MIGRATION`` (:mod:`~cr_einvoice.outbox.store.postgres_service`); the keys' hashing and checking
are :mod:`cr_einvoice.service.auth`'s.
"""

from __future__ import annotations

from datetime import UTC, datetime

from cr_einvoice.core.errors import StoreError
from cr_einvoice.outbox.store.base import ApiKeyRecord
from cr_einvoice.outbox.store.rows import parse_dt, reader
from cr_einvoice.outbox.store.sql_tables import SqlTables

__all__ = ["ApiKeyTables"]

_api_key = reader(ApiKeyRecord, revoked_at=parse_dt)


class ApiKeyTables(SqlTables):
    """API keys over the host store's reads and transactions."""

    def add_api_key(self, record: ApiKeyRecord) -> ApiKeyRecord:
        if not record.key_id or not record.emisor:
            raise StoreError("an API key needs a key_id and an emisor")
        with self._tx() as tx:
            added = self._one(
                tx,
                "INSERT INTO api_keys (key_id, emisor, name, secret_hash, created_at, revoked_at) "
                "VALUES (?, ?, ?, ?, ?, NULL) ON CONFLICT (key_id) DO NOTHING RETURNING key_id",
                (
                    record.key_id,
                    record.emisor,
                    record.name,
                    record.secret_hash,
                    record.created_at.isoformat(),
                ),
            )
            if added is None:
                raise StoreError(f"an API key {record.key_id} already exists")
            self._event(tx, None, "api_key_created", {"key_id": record.key_id, "emisor": record.emisor})
        return record

    def get_api_key(self, key_id: str) -> ApiKeyRecord | None:
        rows = self._rows("SELECT * FROM api_keys WHERE key_id = ?", (key_id,))
        return _api_key(rows[0]) if rows else None

    def list_api_keys(self, emisor: str | None = None) -> list[ApiKeyRecord]:
        if emisor is None:
            rows = self._rows("SELECT * FROM api_keys ORDER BY created_at, key_id")
        else:
            rows = self._rows(
                "SELECT * FROM api_keys WHERE emisor = ? ORDER BY created_at, key_id", (emisor,)
            )
        return [_api_key(r) for r in rows]

    def revoke_api_key(self, key_id: str) -> ApiKeyRecord:
        with self._tx() as tx:
            locked = f"SELECT * FROM api_keys WHERE key_id = ?{self._FOR_UPDATE}"  # noqa: S608 (a constant)
            row = self._one(tx, locked, (key_id,))
            if row is None:
                raise StoreError(f"no API key {key_id} in the store {self.path}")
            if row["revoked_at"] is None:
                row = self._one(
                    tx,
                    "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? RETURNING *",
                    (datetime.now(UTC).isoformat(), key_id),
                )
                assert row is not None
                self._event(tx, None, "api_key_revoked", {"key_id": key_id})
            return _api_key(row)
