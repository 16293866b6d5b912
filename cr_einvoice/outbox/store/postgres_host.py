"""What the PostgreSQL store's mixins (deliveries, service tables) use of the store that hosts them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.rows import DictRow

if TYPE_CHECKING:
    from cr_einvoice.outbox.store.base import VoucherRecord

__all__ = ["Cursor", "PgHost"]

#: A cursor of the store's transaction, rows as dicts by column name.
Cursor = psycopg.Cursor[DictRow]


class PgHost:
    """The plumbing of :class:`~cr_einvoice.outbox.store.postgres.PostgresStore` its mixins call."""

    if TYPE_CHECKING:

        @property
        def path(self) -> str: ...

        def _tx(self, *, write: bool = True) -> AbstractContextManager[Cursor]: ...

        def _read(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[DictRow]: ...

        def _vouchers(self, where: str, params: Sequence[Any] = ()) -> list[VoucherRecord]: ...

        @staticmethod
        def _event(cur: Cursor, key: str | None, kind: str, detail: Mapping[str, Any]) -> None: ...
