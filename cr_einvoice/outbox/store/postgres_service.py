"""The PostgreSQL schema migrations of the issuing service's tables (:mod:`cr_einvoice.service`): its API keys
and listing indexes (:data:`PG_SERVICE_MIGRATION`), the web console's users and sessions
(:data:`PG_CONSOLE_MIGRATION`). Their SQL, shared with SQLite, is in
:mod:`~cr_einvoice.outbox.store.apikey_tables` and :mod:`~cr_einvoice.outbox.store.service_tables`."""

from __future__ import annotations

__all__ = ["PG_CONSOLE_MIGRATION", "PG_SERVICE_MIGRATION"]

#: The service's API keys and the indexes of its listing.
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
