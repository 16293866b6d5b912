"""The PostgreSQL store's schema (numbered migrations) and its connection URL (kept out of every message).

The tables carry the same columns and representations as the SQLite backend (:mod:`.rows`): timestamps as
ISO 8601 text with the offset they were given, JSON as text, signed bytes as ``bytea``; numbers that reach
ten digits (consecutive numbers) are ``bigint``. ``schema_migrations`` lists the versions applied; a
database whose newest version is above :data:`PG_SCHEMA_VERSION` is refused (written by a newer
cr-einvoice).
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from cr_einvoice.core.errors import StoreError

__all__ = ["PG_MIGRATIONS", "PG_SCHEMA_VERSION", "WORK_CHANNEL", "is_postgres_url", "masked_url"]

#: The LISTEN/NOTIFY channel that wakes idle workers when a voucher becomes due at once.
WORK_CHANNEL = "cr_einvoice_work"

#: Numbered migrations; index i brings the schema from version i to i + 1.
PG_MIGRATIONS: tuple[str, ...] = (
    # 1: everything the SQLite backend reached with its migrations 1-3 (vouchers, leases, the cache).
    """
    CREATE TABLE issuers (
        numero_identificacion text PRIMARY KEY,
        tipo_identificacion text NOT NULL,
        nombre text NOT NULL,
        created_at text NOT NULL
    );
    CREATE TABLE terminals (
        emisor text NOT NULL REFERENCES issuers(numero_identificacion),
        sucursal integer NOT NULL,
        terminal integer NOT NULL,
        descripcion text NOT NULL DEFAULT '',
        PRIMARY KEY (emisor, sucursal, terminal)
    );
    CREATE TABLE counters (
        emisor text NOT NULL,
        sucursal integer NOT NULL,
        terminal integer NOT NULL,
        tipo text NOT NULL,
        last_number bigint NOT NULL,
        PRIMARY KEY (emisor, sucursal, terminal, tipo)
    );
    CREATE TABLE vouchers (
        seq bigserial UNIQUE,
        key text PRIMARY KEY,
        clave text NOT NULL,
        consecutivo text NOT NULL,
        kind text NOT NULL,
        tipo text NOT NULL,
        situacion text NOT NULL,
        fecha_emision text NOT NULL,
        emisor_tipo text NOT NULL,
        emisor_numero text NOT NULL,
        receptor_tipo text,
        receptor_numero text,
        sucursal integer NOT NULL,
        terminal integer NOT NULL,
        numero bigint NOT NULL,
        signed_xml bytea NOT NULL,
        state text NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        polls integer NOT NULL DEFAULT 0,
        created_at text NOT NULL,
        updated_at text NOT NULL,
        submitted_at text,
        finished_at text,
        next_action_at double precision NOT NULL DEFAULT 0,
        last_error text,
        total_comprobante text,
        consecutivo_receptor text,
        external_ref text UNIQUE,
        detail text NOT NULL DEFAULT '{}',
        not_found integer NOT NULL DEFAULT 0,
        troubles integer NOT NULL DEFAULT 0,
        resends integer NOT NULL DEFAULT 0,
        sent_at double precision,
        lease_owner text,
        UNIQUE (emisor_numero, consecutivo)
    );
    CREATE INDEX vouchers_due ON vouchers(state, next_action_at);
    CREATE INDEX vouchers_clave ON vouchers(clave);
    CREATE INDEX vouchers_lease ON vouchers(lease_owner) WHERE lease_owner IS NOT NULL;
    CREATE TABLE respuestas (
        id bigserial PRIMARY KEY,
        key text NOT NULL REFERENCES vouchers(key),
        received_at text NOT NULL,
        source text NOT NULL,
        estado text NOT NULL,
        mensaje integer,
        detalle text,
        errores text NOT NULL DEFAULT '[]',
        raw_xml bytea
    );
    CREATE INDEX respuestas_key ON respuestas(key);
    CREATE TABLE received (
        clave text PRIMARY KEY,
        tipo text NOT NULL,
        emisor_tipo text NOT NULL,
        emisor_numero text NOT NULL,
        emisor_nombre text NOT NULL,
        receptor_numero text,
        fecha_emision text NOT NULL,
        total_comprobante text NOT NULL,
        total_impuesto text,
        xml bytea NOT NULL,
        signer_subject text NOT NULL,
        received_at text NOT NULL,
        decision text,
        mr_key text
    );
    CREATE TABLE events (
        id bigserial PRIMARY KEY,
        key text,
        at text NOT NULL,
        kind text NOT NULL,
        detail text NOT NULL DEFAULT '{}'
    );
    CREATE INDEX events_key ON events(key);
    CREATE TABLE settings (
        name text PRIMARY KEY,
        value text NOT NULL
    );
    CREATE TABLE workers (
        id text PRIMARY KEY,
        started_at text NOT NULL,
        heartbeat double precision NOT NULL,
        info text NOT NULL DEFAULT '{}'
    );
    CREATE TABLE cache (
        namespace text NOT NULL,
        key text NOT NULL,
        value bytea NOT NULL,
        fetched_at text NOT NULL,
        PRIMARY KEY (namespace, key)
    );
    """,
)
PG_SCHEMA_VERSION = len(PG_MIGRATIONS)


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
