"""The SQLite schema migration of the durable e-mail deliveries (:mod:`cr_einvoice.outbox.store.deliveries`);
their write path, shared with PostgreSQL, is
:class:`~cr_einvoice.outbox.store.delivery_tables.DeliveryTables`."""

from __future__ import annotations

__all__ = ["DELIVERIES_MIGRATION"]

#: The schema migration that adds the deliveries (``vouchers_created`` serves ``vouchers_to_plan``).
DELIVERIES_MIGRATION = """
    CREATE TABLE delivery_plans (
        key TEXT NOT NULL REFERENCES vouchers(key),
        stage TEXT NOT NULL,
        planned_at TEXT NOT NULL,
        PRIMARY KEY (key, stage)
    );
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        key TEXT NOT NULL REFERENCES vouchers(key),
        recipient TEXT NOT NULL,
        stage TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        message_id TEXT NOT NULL,
        next_attempt_at REAL NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        sent_at TEXT,
        handed_over INTEGER NOT NULL DEFAULT 0,
        lease_owner TEXT,
        UNIQUE (key, recipient, stage)
    );
    CREATE INDEX deliveries_due ON deliveries(state, next_attempt_at);
    CREATE INDEX deliveries_key ON deliveries(key);
    CREATE INDEX vouchers_created ON vouchers(created_at);
"""
