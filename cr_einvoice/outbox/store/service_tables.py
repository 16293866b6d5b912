"""The issuing service's tables written once for both SQL backends: the listings of a taxpayer's vouchers and
of the vouchers it received, and the web console's users and sessions (a mixin of
:class:`~cr_einvoice.outbox.store.sqlite.SQLiteStore` and :class:`~cr_einvoice.outbox.store.postgres.
PostgresStore`; the host's plumbing is :class:`~cr_einvoice.outbox.store.sql_tables.SqlTables`).

The SQL is written with ``?`` marks and passed through the host's ``_q``. Both backends' tables (in their
migrations: :mod:`~cr_einvoice.outbox.store.sqlite_service`,
:mod:`~cr_einvoice.outbox.store.postgres_service`) have the same columns; times are ISO 8601 text in UTC, so
they compare as text.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from cr_einvoice.core.errors import StoreError
from cr_einvoice.outbox.store.base import (
    ConsoleSessionRecord,
    ConsoleUserRecord,
    ReceivedPage,
    ReceivedRecord,
    VoucherPage,
    VoucherRecord,
)
from cr_einvoice.outbox.store.rows import iso, now, page_query, paged, parse_dt, reader, received
from cr_einvoice.outbox.store.sql_tables import SqlTables

__all__ = ["ConsoleTables", "received_page_query"]

_user = reader(
    ConsoleUserRecord, disabled_at=parse_dt, locked_until=parse_dt, last_login_at=parse_dt, failed_logins=int
)
_session = reader(ConsoleSessionRecord, expires_at=parse_dt)
_USER_COLUMNS = (
    "username",
    "emisor",
    "name",
    "password_hash",
    "created_at",
    "disabled_at",
    "failed_logins",
    "locked_until",
    "last_login_at",
)


def _utc(value: datetime) -> str:
    """An aware time as UTC ISO text (so that stored times compare as text)."""
    return iso(value.astimezone(UTC))


def received_page_query(page: ReceivedPage) -> tuple[str, list[Any]]:
    """The WHERE ... ORDER BY ... LIMIT (``?`` marks) of one page of received vouchers, and its values."""
    where = ["receptor_numero = ?"]
    params: list[Any] = [page.owner]
    if page.answered is not None:
        where.append("decision IS NOT NULL" if page.answered else "decision IS NULL")
    for column, value in (("decision", page.decision), ("tipo", page.tipo), ("emisor_numero", page.emisor)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    # FechaEmision is kept as the supplier stated it (ISO text): a day's bounds compare with its date part.
    return paged(where, params, page, time_column="received_at", key_column="clave")


class ConsoleTables(SqlTables):
    """The service's listings, console users and sessions, over the host store's reads and transactions."""

    # -- the service's listing of a taxpayer's vouchers -------------------------------------------
    def page_vouchers(self, page: VoucherPage) -> list[VoucherRecord]:
        return self._vouchers_where(*page_query(page))

    # -- received vouchers ------------------------------------------------------------------------
    def page_received(self, page: ReceivedPage) -> list[ReceivedRecord]:
        where, params = received_page_query(page)
        return [received(r) for r in self._rows(f"SELECT * FROM received {where}", params)]  # noqa: S608

    # -- console users ----------------------------------------------------------------------------
    def add_console_user(self, record: ConsoleUserRecord) -> ConsoleUserRecord:
        if not record.username or not record.emisor:
            raise StoreError("a console user needs a username and an emisor")
        values = [
            record.username,
            record.emisor,
            record.name,
            record.password_hash,
            _utc(record.created_at),
            None if record.disabled_at is None else _utc(record.disabled_at),
            record.failed_logins,
            None if record.locked_until is None else _utc(record.locked_until),
            None if record.last_login_at is None else _utc(record.last_login_at),
        ]
        marks = ", ".join("?" for _ in values)
        with self._tx() as tx:
            added = self._one(
                tx,
                f"INSERT INTO console_users ({', '.join(_USER_COLUMNS)}) VALUES ({marks}) "  # noqa: S608
                "ON CONFLICT (username) DO NOTHING RETURNING username",
                values,
            )
            if added is None:
                raise StoreError(f"a console user {record.username!r} already exists")
            self._event(
                tx, None, "console_user_created", {"username": record.username, "emisor": record.emisor}
            )
        found = self.get_console_user(record.username)
        assert found is not None
        return found

    def get_console_user(self, username: str) -> ConsoleUserRecord | None:
        rows = self._rows("SELECT * FROM console_users WHERE username = ?", (username,))
        return _user(rows[0]) if rows else None

    def list_console_users(self, emisor: str | None = None) -> list[ConsoleUserRecord]:
        if emisor is None:
            rows = self._rows("SELECT * FROM console_users ORDER BY emisor, username")
        else:
            rows = self._rows("SELECT * FROM console_users WHERE emisor = ? ORDER BY username", (emisor,))
        return [_user(r) for r in rows]

    def disable_console_user(self, username: str) -> ConsoleUserRecord:
        with self._tx() as tx:
            row = self._one(
                tx,
                "UPDATE console_users SET disabled_at = ? WHERE username = ? AND disabled_at IS NULL "
                "RETURNING *",
                (_utc(now()), username),
            )
            if row is None:
                row = self._one(tx, "SELECT * FROM console_users WHERE username = ?", (username,))
                if row is None:
                    raise StoreError(f"no console user {username!r} in the store {self.path}")
            else:
                self._event(tx, None, "console_user_disabled", {"username": username})
            self._run(tx, "DELETE FROM console_sessions WHERE username = ?", (username,))
            return _user(row)

    def enable_console_user(self, username: str) -> ConsoleUserRecord:
        with self._tx() as tx:
            row = self._one(
                tx,
                "UPDATE console_users SET disabled_at = NULL, failed_logins = 0, locked_until = NULL "
                "WHERE username = ? RETURNING *",
                (username,),
            )
            if row is None:
                raise StoreError(f"no console user {username!r} in the store {self.path}")
            self._event(tx, None, "console_user_enabled", {"username": username})
            return _user(row)

    def set_console_password(self, username: str, password_hash: str) -> ConsoleUserRecord:
        with self._tx() as tx:
            row = self._one(
                tx,
                "UPDATE console_users SET password_hash = ?, failed_logins = 0, locked_until = NULL "
                "WHERE username = ? RETURNING *",
                (password_hash, username),
            )
            if row is None:
                raise StoreError(f"no console user {username!r} in the store {self.path}")
            self._run(tx, "DELETE FROM console_sessions WHERE username = ?", (username,))
            self._event(tx, None, "console_password_set", {"username": username})
            return _user(row)

    def console_login_failed(
        self, username: str, locked_until: Callable[[int], datetime | None]
    ) -> ConsoleUserRecord | None:
        with self._tx() as tx:
            row = self._one(
                tx,
                "UPDATE console_users SET failed_logins = failed_logins + 1 WHERE username = ? "
                "RETURNING failed_logins",
                (username,),
            )
            if row is None:
                return None
            until = locked_until(int(row["failed_logins"]))
            if until is not None:
                sql = "UPDATE console_users SET locked_until = ? WHERE username = ?"
                self._run(tx, sql, (_utc(until), username))
            found = self._one(tx, "SELECT * FROM console_users WHERE username = ?", (username,))
            return None if found is None else _user(found)

    def console_login_succeeded(self, username: str, at: datetime) -> None:
        with self._tx() as tx:
            self._run(
                tx,
                "UPDATE console_users SET failed_logins = 0, locked_until = NULL, last_login_at = ? "
                "WHERE username = ?",
                (_utc(at), username),
            )

    # -- console sessions -------------------------------------------------------------------------
    def open_console_session(self, record: ConsoleSessionRecord) -> None:
        with self._tx() as tx:
            # The sessions that ended before this one began are forgotten.
            self._run(tx, "DELETE FROM console_sessions WHERE expires_at <= ?", (_utc(record.created_at),))
            self._run(
                tx,
                "INSERT INTO console_sessions (token_hash, username, emisor, created_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    record.token_hash,
                    record.username,
                    record.emisor,
                    _utc(record.created_at),
                    _utc(record.expires_at),
                ),
            )

    def get_console_session(self, token_hash: str) -> ConsoleSessionRecord | None:
        rows = self._rows("SELECT * FROM console_sessions WHERE token_hash = ?", (token_hash,))
        return _session(rows[0]) if rows else None

    def close_console_session(self, token_hash: str) -> None:
        with self._tx() as tx:
            self._run(tx, "DELETE FROM console_sessions WHERE token_hash = ?", (token_hash,))
