"""Durable store of the issuing pipeline: interface (:class:`Store`), the embedded SQLite backend and the
PostgreSQL backend.

``open_store("path/to/file.db")`` (or ``"sqlite:///path"``) returns a ready :class:`SQLiteStore`;
``open_store("postgresql://user@host/db")`` a :class:`~cr_einvoice.outbox.store.postgres.PostgresStore`
(needs the ``[postgres]`` extra: psycopg and psycopg-pool, imported only then).
"""

from __future__ import annotations

from pathlib import Path

from cr_einvoice.core.errors import StoreError
from cr_einvoice.core.secret import Secret
from cr_einvoice.outbox.store.base import (
    ALLOWED_TRANSITIONS,
    FINAL_STATES,
    Answer,
    ApiKeyRecord,
    Builder,
    CacheEntry,
    Change,
    ConsoleSessionRecord,
    ConsoleUserRecord,
    CounterKey,
    Counters,
    EventRecord,
    IllegalTransitionError,
    IssuerRecord,
    NewVoucher,
    ReceivedPage,
    ReceivedRecord,
    RespuestaRecord,
    Store,
    TerminalRecord,
    VoucherKind,
    VoucherPage,
    VoucherRecord,
    VoucherState,
    check_transition,
)
from cr_einvoice.outbox.store.deliveries import (
    DeliveryRecord,
    DeliveryStage,
    DeliveryState,
    DeliveryStore,
    NewDelivery,
)
from cr_einvoice.outbox.store.postgres_schema import is_postgres_url
from cr_einvoice.outbox.store.sqlite import SCHEMA_VERSION, SQLiteStore

__all__ = [
    "ALLOWED_TRANSITIONS",
    "FINAL_STATES",
    "SCHEMA_VERSION",
    "Answer",
    "ApiKeyRecord",
    "Builder",
    "CacheEntry",
    "Change",
    "ConsoleSessionRecord",
    "ConsoleUserRecord",
    "CounterKey",
    "Counters",
    "DeliveryRecord",
    "DeliveryStage",
    "DeliveryState",
    "DeliveryStore",
    "EventRecord",
    "IllegalTransitionError",
    "IssuerRecord",
    "NewDelivery",
    "NewVoucher",
    "ReceivedPage",
    "ReceivedRecord",
    "RespuestaRecord",
    "SQLiteStore",
    "Store",
    "TerminalRecord",
    "VoucherKind",
    "VoucherPage",
    "VoucherRecord",
    "VoucherState",
    "check_transition",
    "open_store",
]


def open_store(
    location: str | Path, *, create: bool = False, password: Secret | None = None, pool_size: int = 4
) -> Store:
    """Open (and migrate) the store at ``location``: a file path, ``sqlite:///path`` or
    ``postgresql://user@host:port/db`` (``password``: when the URL carries none and libpq's PGPASSWORD or
    ~/.pgpass should not be used; ``pool_size``: the most connections one PostgreSQL store holds, besides
    its listening one).

    The database must hold the outbox's schema unless ``create`` is True (``cr-einvoice init``); an empty
    (0-byte) or damaged SQLite file is always refused -- initialising it again would restart the numbering
    at 1.
    """
    text = str(location)
    if is_postgres_url(text):
        try:
            from cr_einvoice.outbox.store.postgres import PostgresStore
        except ImportError as exc:
            raise StoreError(
                f"a PostgreSQL store needs the 'postgres' extra (pip install 'cr-einvoice[postgres]'): {exc}"
            ) from None
        return PostgresStore(text, create=create, password=password, pool_size=pool_size)
    if text.startswith("sqlite:///"):
        text = text[len("sqlite:///") :]
    elif "://" in text:
        scheme = text.split("://", 1)[0]
        raise StoreError(
            f"database URL scheme {scheme!r} is not supported (use a file path, sqlite:///PATH or "
            "postgresql://USER@HOST:PORT/DB)"
        )
    if not text:
        raise StoreError("the database path is empty")
    return SQLiteStore(text, create=create)
