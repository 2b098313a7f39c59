-- An outbox as open-source Rust (sqlx) outbox crates ship it, next to the HTTP idempotency table
-- a web service keeps for retried requests. Written for this corpus in its own words after the
-- common shape of those crates; no one crate's text. The event id is `idempotent_key`; the
-- idempotency table dedupes HTTP requests, not consumed events, so it is no inbox.
CREATE TABLE outbox (
    idempotent_key uuid        PRIMARY KEY,
    event_type     text        NOT NULL,
    aggregate_id   text        NOT NULL,
    payload        jsonb       NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    published_at   timestamptz
);

CREATE INDEX outbox_unpublished ON outbox (created_at) WHERE published_at IS NULL;

CREATE TABLE idempotency (
    user_id              uuid     NOT NULL,
    idempotency_key      text     NOT NULL,
    response_status_code smallint NOT NULL,
    response_headers     bytea    NOT NULL,
    response_body        bytea    NOT NULL,
    created_at           timestamptz NOT NULL,
    PRIMARY KEY (user_id, idempotency_key)
);
