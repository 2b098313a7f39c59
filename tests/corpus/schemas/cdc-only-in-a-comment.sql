-- A polling outbox whose only word about CDC is a plan in a comment. Written for this corpus.
-- We may move to debezium later; for now a poller reads the table.
CREATE TABLE outbox (
    id           uuid        PRIMARY KEY,
    aggregate_id text        NOT NULL,
    event_type   text        NOT NULL,
    payload      jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
