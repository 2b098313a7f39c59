-- A CDC relay set up in SQL: the outbox is read through a logical replication slot with the
-- wal2json output plugin, so nothing polls the table. Written for this corpus in its own words
-- after the setup the wal2json README and Debezium's PostgreSQL guide describe.
CREATE TABLE outbox (
    id           uuid        PRIMARY KEY,
    aggregate_id text        NOT NULL,
    event_type   text        NOT NULL,
    payload      jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE outbox REPLICA IDENTITY FULL;

SELECT pg_create_logical_replication_slot('outbox_slot', 'wal2json');
