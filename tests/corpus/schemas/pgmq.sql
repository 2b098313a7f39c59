-- How pgmq (tembo-io/pgmq, pgmq--*.sql) makes a queue: pgmq.create(name) builds the queue table
-- and its archive with format() and EXECUTE. Restated in this project's own words and cut down
-- to the queue table; a queue is a work queue, read with a visibility timeout (`vt`), not an
-- outbox, and its DDL only exists once the function runs.
CREATE SCHEMA IF NOT EXISTS pgmq;

CREATE FUNCTION pgmq.create_queue_table(queue_name TEXT)
RETURNS void AS $$
DECLARE
  qtable TEXT := 'q_' || queue_name;
BEGIN
  EXECUTE FORMAT(
    $QUERY$
    CREATE TABLE IF NOT EXISTS pgmq.%I (
        msg_id BIGINT PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
        read_ct INT DEFAULT 0 NOT NULL,
        enqueued_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
        vt TIMESTAMP WITH TIME ZONE NOT NULL,
        message JSONB,
        headers JSONB
    )
    $QUERY$,
    qtable
  );
  EXECUTE FORMAT(
    $QUERY$
    CREATE INDEX IF NOT EXISTS %I ON pgmq.%I (vt ASC);
    $QUERY$,
    qtable || '_vt_idx', qtable
  );
END;
$$ LANGUAGE plpgsql;

SELECT pgmq.create_queue_table('orders');
