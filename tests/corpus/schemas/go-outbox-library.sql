-- An outbox as open-source Go outbox libraries for pgx ship it: migrations plus the sqlc-style
-- queries the library runs. Written for this corpus in its own words after the common shape of
-- those libraries; no one library's text. `process_after` delays a row (a retry back-off); the
-- relay's own WHERE and SET show that `processed_at` is the sent marker.
CREATE TABLE outbox_messages (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    topic         text        NOT NULL,
    message_key   text,
    headers       jsonb       NOT NULL DEFAULT '{}',
    payload       jsonb       NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    process_after timestamptz NOT NULL DEFAULT now() + ('30 seconds')::interval,
    processed_at  timestamptz,
    attempts      integer     NOT NULL DEFAULT 0
);

CREATE INDEX outbox_messages_pending_idx ON outbox_messages (created_at)
    WHERE processed_at IS NULL;

-- name: InsertOutboxMessage :exec
INSERT INTO outbox_messages (topic, message_key, headers, payload)
VALUES ($1, $2, $3, $4);

-- name: ClaimPending :many
SELECT id, topic, message_key, headers, payload
FROM outbox_messages
WHERE processed_at IS NULL AND process_after <= now()
ORDER BY created_at
LIMIT $1
FOR UPDATE SKIP LOCKED;

-- name: MarkProcessed :exec
UPDATE outbox_messages SET processed_at = now() WHERE id = ANY($1::uuid[]);
