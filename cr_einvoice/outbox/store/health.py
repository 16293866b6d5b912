"""The SQLite outbox file's health: whether a file may be opened (never an empty one, a missing one only when
asked to create it) and every database failure as a message a person can act on (damaged, full, locked)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from cr_einvoice.core.errors import StoreError

__all__ = ["check_file", "damaged", "explain", "is_damage"]


_DAMAGE = frozenset({"SQLITE_CORRUPT", "SQLITE_NOTADB"})


def is_damage(exc: sqlite3.Error) -> bool:
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc).lower()
    return name.startswith(tuple(_DAMAGE)) or "malformed" in text or "not a database" in text


def damaged(path: str, detail: str) -> str:
    """What to say of a damaged database: one line (SQLite's own report may span several)."""
    detail = " ".join(detail.split())
    return (
        f"the outbox database {path} is damaged ({detail}). Stop issuing with it; do not delete it (the "
        f"numbering lives in it): restore the latest backup, or recover what is readable with "
        f"'sqlite3 {path} .recover | sqlite3 recovered.db' and point the configuration at the copy"
    )


def explain(exc: sqlite3.Error, path: str, doing: str) -> str:
    """A database failure as a person can act on it: what happened to which file and what to do."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    if is_damage(exc):
        return damaged(path, str(exc))
    if name.startswith("SQLITE_FULL") or "full" in str(exc).lower():
        return (
            f"the outbox database {path} is full (the disk, or its size limit): could not {doing}, nothing "
            "was written. Free disk space and run the command again"
        )
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return (
            f"the outbox database {path} stayed locked by another process longer than the busy timeout: "
            f"could not {doing} ({exc}). Run the command again; if it persists, look for a stuck process"
        )
    if name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_IOERR")):
        return (
            f"the outbox database {path} cannot be used (could not {doing}: {exc}). Check the file, its "
            "directory and their permissions, and the disk"
        )
    return f"the outbox database {path} failed (could not {doing}: {exc})"


def check_file(path: Path, *, create: bool) -> None:
    """Refuse a missing file unless asked to create one, and an empty (0-byte) file always: SQLite would take
    either as a new database and the numbering would restart at 1."""
    if path.exists():
        if not path.is_file():
            raise StoreError(f"the outbox database {path} is not a file")
        if path.stat().st_size == 0:
            raise StoreError(
                f"the outbox database {path} is empty (0 bytes): it was truncated or never initialised. "
                "Refusing to initialise it again, which would restart the numbering at 1. Restore it from a "
                "backup; only if no voucher was ever issued with it, delete it and run 'cr-einvoice init'"
            )
        return
    if not create:
        raise StoreError(
            f"there is no outbox database at {path}; create it with 'cr-einvoice init' "
            "(open_store(..., create=True)), or point the configuration at the existing one"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
