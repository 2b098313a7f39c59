-- An outbox meant for a CDC connector that the file never sets up: the booking and its event are
-- written together, the table has no sent marker and nothing polls it, but no publication or
-- replication slot appears. Written for this corpus.
CREATE TABLE bookings (
    id    uuid PRIMARY KEY,
    guest text NOT NULL
);

CREATE TABLE outbox (
    id           uuid        PRIMARY KEY,
    aggregate_id uuid        NOT NULL,
    event_type   text        NOT NULL,
    payload      jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

BEGIN;
INSERT INTO bookings (id, guest) VALUES ('5b1e0c84-3f5d-4d0e-9a43-0d0c2a8d7e11', 'Ada');
INSERT INTO outbox (id, aggregate_id, event_type, payload)
VALUES ('9c2f1a77-8e4b-4c6d-b1f0-2e3d4c5b6a79', '5b1e0c84-3f5d-4d0e-9a43-0d0c2a8d7e11',
        'BookingCreated', '{"guest": "Ada"}');
COMMIT;
