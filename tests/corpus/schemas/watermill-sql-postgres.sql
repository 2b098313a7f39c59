-- The tables Watermill's SQL Pub/Sub creates on PostgreSQL with its default schema adapter and
-- offsets adapter (ThreeDotsLabs/watermill-sql, schema_adapter_postgresql.go and
-- offsets_adapter_postgresql.go), restated in this project's own words. One table per topic is
-- the outbox; subscribers poll it by (transaction_id, offset) past the last acked position, so no
-- row is ever marked sent.
CREATE TABLE IF NOT EXISTS "watermill_orders" (
    "offset"       SERIAL,
    "uuid"         VARCHAR(36) NOT NULL,
    "created_at"   TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "payload"      JSON DEFAULT NULL,
    "metadata"     JSON DEFAULT NULL,
    "transaction_id" xid8 NOT NULL,
    PRIMARY KEY ("transaction_id", "offset")
);

CREATE TABLE IF NOT EXISTS "watermill_offsets_orders" (
    consumer_group VARCHAR(255) NOT NULL,
    offset_acked BIGINT,
    last_processed_transaction_id xid8 NOT NULL,
    PRIMARY KEY(consumer_group)
);
