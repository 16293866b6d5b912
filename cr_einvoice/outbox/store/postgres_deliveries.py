"""The PostgreSQL schema migration of the durable e-mail deliveries
(:mod:`cr_einvoice.outbox.store.deliveries`); their write path, shared with SQLite (row locks where several
nodes write at once), is
:class:`~cr_einvoice.outbox.store.delivery_tables.DeliveryTables`."""

from __future__ import annotations

__all__ = ["PG_DELIVERIES_MIGRATION"]

#: The schema migration that adds the deliveries.
PG_DELIVERIES_MIGRATION = """
    CREATE TABLE delivery_plans (
        key text COLLATE "C" NOT NULL REFERENCES vouchers(key),
        stage text COLLATE "C" NOT NULL,
        planned_at text COLLATE "C" NOT NULL,
        PRIMARY KEY (key, stage)
    );
    CREATE TABLE deliveries (
        id bigserial PRIMARY KEY,
        key text COLLATE "C" NOT NULL REFERENCES vouchers(key),
        recipient text COLLATE "C" NOT NULL,
        stage text COLLATE "C" NOT NULL,
        state text COLLATE "C" NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        last_error text COLLATE "C",
        message_id text COLLATE "C" NOT NULL,
        next_attempt_at double precision NOT NULL DEFAULT 0,
        created_at text COLLATE "C" NOT NULL,
        updated_at text COLLATE "C" NOT NULL,
        sent_at text COLLATE "C",
        handed_over boolean NOT NULL DEFAULT false,
        lease_owner text COLLATE "C",
        UNIQUE (key, recipient, stage)
    );
    CREATE INDEX deliveries_due ON deliveries(state, next_attempt_at);
    CREATE INDEX deliveries_key ON deliveries(key);
    CREATE INDEX vouchers_created ON vouchers(created_at);
"""
