"""The SQLite schema migrations of the issuing service's tables (:mod:`cr_einvoice.service`): its API keys and
listing indexes (:data:`MIGRATION`), the web console's users and sessions (:data:`CONSOLE_MIGRATION`). Their
SQL, shared with PostgreSQL, is in :mod:`~cr_einvoice.outbox.store.apikey_tables` and
:mod:`~cr_einvoice.outbox.store.service_tables`."""

from __future__ import annotations

__all__ = ["CONSOLE_MIGRATION", "MIGRATION"]

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
