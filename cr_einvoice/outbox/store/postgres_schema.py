"""The PostgreSQL store's schema (numbered migrations) and its connection URL (kept out of every message).

The tables carry the same columns and representations as the SQLite backend (:mod:`.rows`): timestamps as
ISO 8601 text with the offset they were given, JSON as text, signed bytes as ``bytea``; numbers that reach
ten digits (consecutive numbers) are ``bigint``. Text compares and sorts byte by byte (``COLLATE "C"``), as
in SQLite, whatever the database's locale. ``schema_migrations`` lists the versions applied; a database
whose newest version is above the highest this cr-einvoice knows is refused (written by a newer one).

Nothing here needs psycopg: :func:`~cr_einvoice.outbox.store.open_store` reads the URL helpers without it.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from cr_einvoice.core.errors import StoreError

__all__ = ["PG_BASE_MIGRATION", "WORK_CHANNEL", "is_postgres_url", "masked_url"]

#: The LISTEN/NOTIFY channel that wakes idle workers when a voucher becomes due at once.
WORK_CHANNEL = "cr_einvoice_work"

#: Migration 1: what the SQLite backend reached with its migrations 1-3 (vouchers, leases, the cache). The
#: later ones live beside the code that uses them (postgres_deliveries, postgres_service); the numbered list
#: is :data:`cr_einvoice.outbox.store.postgres.PG_MIGRATIONS`.
PG_BASE_MIGRATION = """
    CREATE TABLE issuers (
        numero_identificacion text COLLATE "C" PRIMARY KEY,
        tipo_identificacion text COLLATE "C" NOT NULL,
        nombre text COLLATE "C" NOT NULL,
        created_at text COLLATE "C" NOT NULL
    );
    CREATE TABLE terminals (
        emisor text COLLATE "C" NOT NULL REFERENCES issuers(numero_identificacion),
        sucursal integer NOT NULL,
        terminal integer NOT NULL,
        descripcion text COLLATE "C" NOT NULL DEFAULT '',
        PRIMARY KEY (emisor, sucursal, terminal)
    );
    CREATE TABLE counters (
        emisor text COLLATE "C" NOT NULL,
        sucursal integer NOT NULL,
        terminal integer NOT NULL,
        tipo text COLLATE "C" NOT NULL,
        last_number bigint NOT NULL,
        PRIMARY KEY (emisor, sucursal, terminal, tipo)
    );
    CREATE TABLE vouchers (
        seq bigserial UNIQUE,
        key text COLLATE "C" PRIMARY KEY,
        clave text COLLATE "C" NOT NULL,
        consecutivo text COLLATE "C" NOT NULL,
        kind text COLLATE "C" NOT NULL,
        tipo text COLLATE "C" NOT NULL,
        situacion text COLLATE "C" NOT NULL,
        fecha_emision text COLLATE "C" NOT NULL,
        emisor_tipo text COLLATE "C" NOT NULL,
        emisor_numero text COLLATE "C" NOT NULL,
        receptor_tipo text COLLATE "C",
        receptor_numero text COLLATE "C",
        sucursal integer NOT NULL,
        terminal integer NOT NULL,
        numero bigint NOT NULL,
        signed_xml bytea NOT NULL,
        state text COLLATE "C" NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        polls integer NOT NULL DEFAULT 0,
        created_at text COLLATE "C" NOT NULL,
        updated_at text COLLATE "C" NOT NULL,
        submitted_at text COLLATE "C",
        finished_at text COLLATE "C",
        next_action_at double precision NOT NULL DEFAULT 0,
        last_error text COLLATE "C",
        total_comprobante text COLLATE "C",
        consecutivo_receptor text COLLATE "C",
        external_ref text COLLATE "C" UNIQUE,
        detail text COLLATE "C" NOT NULL DEFAULT '{}',
        not_found integer NOT NULL DEFAULT 0,
        troubles integer NOT NULL DEFAULT 0,
        resends integer NOT NULL DEFAULT 0,
        sent_at double precision,
        lease_owner text COLLATE "C",
        UNIQUE (emisor_numero, consecutivo)
    );
    CREATE INDEX vouchers_due ON vouchers(state, next_action_at);
    CREATE INDEX vouchers_clave ON vouchers(clave);
    CREATE INDEX vouchers_lease ON vouchers(lease_owner) WHERE lease_owner IS NOT NULL;
    CREATE TABLE respuestas (
        id bigserial PRIMARY KEY,
        key text COLLATE "C" NOT NULL REFERENCES vouchers(key),
        received_at text COLLATE "C" NOT NULL,
        source text COLLATE "C" NOT NULL,
        estado text COLLATE "C" NOT NULL,
        mensaje integer,
        detalle text COLLATE "C",
        errores text COLLATE "C" NOT NULL DEFAULT '[]',
        raw_xml bytea
    );
    CREATE INDEX respuestas_key ON respuestas(key);
    CREATE TABLE received (
        clave text COLLATE "C" PRIMARY KEY,
        tipo text COLLATE "C" NOT NULL,
        emisor_tipo text COLLATE "C" NOT NULL,
        emisor_numero text COLLATE "C" NOT NULL,
        emisor_nombre text COLLATE "C" NOT NULL,
        receptor_numero text COLLATE "C",
        fecha_emision text COLLATE "C" NOT NULL,
        total_comprobante text COLLATE "C" NOT NULL,
        total_impuesto text COLLATE "C",
        xml bytea NOT NULL,
        signer_subject text COLLATE "C" NOT NULL,
        received_at text COLLATE "C" NOT NULL,
        decision text COLLATE "C",
        mr_key text COLLATE "C"
    );
    CREATE TABLE events (
        id bigserial PRIMARY KEY,
        key text COLLATE "C",
        at text COLLATE "C" NOT NULL,
        kind text COLLATE "C" NOT NULL,
        detail text COLLATE "C" NOT NULL DEFAULT '{}'
    );
    CREATE INDEX events_key ON events(key);
    CREATE TABLE settings (
        name text COLLATE "C" PRIMARY KEY,
        value text COLLATE "C" NOT NULL
    );
    CREATE TABLE workers (
        id text COLLATE "C" PRIMARY KEY,
        started_at text COLLATE "C" NOT NULL,
        heartbeat double precision NOT NULL,
        info text COLLATE "C" NOT NULL DEFAULT '{}'
    );
    CREATE TABLE cache (
        namespace text COLLATE "C" NOT NULL,
        key text COLLATE "C" NOT NULL,
        value bytea NOT NULL,
        fetched_at text COLLATE "C" NOT NULL,
        PRIMARY KEY (namespace, key)
    );
"""


def is_postgres_url(location: str) -> bool:
    return location.startswith(("postgresql://", "postgres://"))


def masked_url(url: str) -> str:
    """``url`` as it may be shown: scheme, user, host, port and database -- never a password or options."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        raise StoreError(
            "the PostgreSQL URL of the store is malformed (postgresql://USER@HOST:PORT/DB)"
        ) from None
    user = unquote(parts.username or "")
    shown = f"{parts.scheme}://{user + '@' if user else ''}{host}{f':{port}' if port else ''}{parts.path}"
    return shown
