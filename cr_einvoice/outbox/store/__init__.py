"""Durable store of the issuing pipeline: interface (:class:`Store`) and the embedded SQLite backend.

``open_store("path/to/file.db")`` (or ``"sqlite:///path"``) returns a ready :class:`SQLiteStore`; a server
database backend will implement the same :class:`Store` protocol.
"""

from __future__ import annotations

from pathlib import Path

from cr_einvoice.core.errors import StoreError
from cr_einvoice.outbox.store.base import (
    ALLOWED_TRANSITIONS,
    FINAL_STATES,
    Answer,
    ApiKeyRecord,
    Builder,
    CacheEntry,
    Change,
    CounterKey,
    Counters,
    EventRecord,
    IllegalTransitionError,
    IssuerRecord,
    NewVoucher,
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


def open_store(location: str | Path, *, create: bool = False) -> SQLiteStore:
    """Open (and migrate) the store at ``location``: a file path or ``sqlite:///path``.

    The database must exist unless ``create`` is True (``cr-einvoice init``); an empty (0-byte) or damaged
    file is always refused -- initialising it again would restart the numbering at 1.
    """
    text = str(location)
    if text.startswith("sqlite:///"):
        text = text[len("sqlite:///") :]
    elif "://" in text:
        scheme = text.split("://", 1)[0]
        raise StoreError(
            f"database URL scheme {scheme!r} is not supported yet (use a file path or sqlite:///)"
        )
    if not text:
        raise StoreError("the database path is empty")
    return SQLiteStore(text, create=create)
