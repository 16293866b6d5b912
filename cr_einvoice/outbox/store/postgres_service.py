"""The PostgreSQL parts the issuing service (:mod:`cr_einvoice.service`) needs: its API keys and the filtered,
cursor-paginated listing of one taxpayer's vouchers; the received vouchers' listing and the console's users
and sessions come from :class:`~cr_einvoice.outbox.store.service_tables.ConsoleTables` (SQL shared with
SQLite). A mixin of :class:`~cr_einvoice.outbox.store.postgres.PostgresStore`; the tables and indexes come
with :data:`PG_SERVICE_MIGRATION` and :data:`PG_CONSOLE_MIGRATION`."""

from __future__ import annotations

from datetime import UTC, datetime

from cr_einvoice.core.errors import StoreError
from cr_einvoice.outbox.store.base import ApiKeyRecord, VoucherPage, VoucherRecord
from cr_einvoice.outbox.store.postgres_host import PgHost
from cr_einvoice.outbox.store.rows import page_query, parse_dt, reader
from cr_einvoice.outbox.store.service_tables import ConsoleTables

__all__ = ["PG_CONSOLE_MIGRATION", "PG_SERVICE_MIGRATION", "PostgresService"]


PG_SERVICE_MIGRATION = """
    CREATE TABLE api_keys (
        key_id text COLLATE "C" PRIMARY KEY,
        emisor text COLLATE "C" NOT NULL,
        name text COLLATE "C" NOT NULL,
        secret_hash text COLLATE "C" NOT NULL,
        created_at text COLLATE "C" NOT NULL,
        revoked_at text COLLATE "C"
    );
    CREATE INDEX api_keys_emisor ON api_keys(emisor);
    CREATE INDEX vouchers_emisor_created ON vouchers(emisor_numero, created_at);
    CREATE INDEX vouchers_receptor_created ON vouchers(receptor_numero, created_at);
"""

#: The web console's users and sessions and the received vouchers' listing index (their SQL is in
#: :mod:`cr_einvoice.outbox.store.service_tables`).
PG_CONSOLE_MIGRATION = """
    CREATE TABLE console_users (
        username text COLLATE "C" PRIMARY KEY,
        emisor text COLLATE "C" NOT NULL,
        name text COLLATE "C" NOT NULL,
        password_hash text COLLATE "C" NOT NULL,
        created_at text COLLATE "C" NOT NULL,
        disabled_at text COLLATE "C",
        failed_logins integer NOT NULL DEFAULT 0,
        locked_until text COLLATE "C",
        last_login_at text COLLATE "C"
    );
    CREATE INDEX console_users_emisor ON console_users(emisor);
    CREATE TABLE console_sessions (
        token_hash text COLLATE "C" PRIMARY KEY,
        username text COLLATE "C" NOT NULL,
        emisor text COLLATE "C" NOT NULL,
        created_at text COLLATE "C" NOT NULL,
        expires_at text COLLATE "C" NOT NULL
    );
    CREATE INDEX console_sessions_username ON console_sessions(username);
    CREATE INDEX console_sessions_expires ON console_sessions(expires_at);
    CREATE INDEX received_receptor_received ON received(receptor_numero, received_at);
"""

_api_key = reader(ApiKeyRecord, revoked_at=parse_dt)


class PostgresService(PgHost, ConsoleTables):
    """API keys and the paginated listing, over the host store's transactions."""

    # -- API keys ---------------------------------------------------------------------------------
    def add_api_key(self, record: ApiKeyRecord) -> ApiKeyRecord:
        if not record.key_id or not record.emisor:
            raise StoreError("an API key needs a key_id and an emisor")
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO api_keys (key_id, emisor, name, secret_hash, created_at, revoked_at) "
                "VALUES (%s, %s, %s, %s, %s, NULL) ON CONFLICT (key_id) DO NOTHING RETURNING key_id",
                (
                    record.key_id,
                    record.emisor,
                    record.name,
                    record.secret_hash,
                    record.created_at.isoformat(),
                ),
            )
            if cur.fetchone() is None:
                raise StoreError(f"an API key {record.key_id} already exists")
            self._event(cur, None, "api_key_created", {"key_id": record.key_id, "emisor": record.emisor})
        return record

    def get_api_key(self, key_id: str) -> ApiKeyRecord | None:
        rows = self._read("SELECT * FROM api_keys WHERE key_id = %s", (key_id,))
        return _api_key(rows[0]) if rows else None

    def list_api_keys(self, emisor: str | None = None) -> list[ApiKeyRecord]:
        if emisor is None:
            rows = self._read("SELECT * FROM api_keys ORDER BY created_at, key_id")
        else:
            rows = self._read(
                "SELECT * FROM api_keys WHERE emisor = %s ORDER BY created_at, key_id", (emisor,)
            )
        return [_api_key(r) for r in rows]

    def revoke_api_key(self, key_id: str) -> ApiKeyRecord:
        with self._tx() as cur:
            cur.execute("SELECT * FROM api_keys WHERE key_id = %s FOR UPDATE", (key_id,))
            row = cur.fetchone()
            if row is None:
                raise StoreError(f"no API key {key_id} in the store {self.path}")
            if row["revoked_at"] is None:
                cur.execute(
                    "UPDATE api_keys SET revoked_at = %s WHERE key_id = %s RETURNING *",
                    (datetime.now(UTC).isoformat(), key_id),
                )
                row = cur.fetchone()
                assert row is not None
                self._event(cur, None, "api_key_revoked", {"key_id": key_id})
            return _api_key(row)

    # -- the service's listing --------------------------------------------------------------------
    def page_vouchers(self, page: VoucherPage) -> list[VoucherRecord]:
        return self._vouchers(*page_query(page, "%s"))
