"""The PostgreSQL store's cursor type (its transactions' handle, rows as dicts by column name)."""

from __future__ import annotations

import psycopg
from psycopg.rows import DictRow

__all__ = ["Cursor"]

#: A cursor of the store's transaction, rows as dicts by column name.
Cursor = psycopg.Cursor[DictRow]
