-- The outbox table that Debezium's outbox event router reads, as its documentation describes it
-- (debezium.io, "Outbox Event Router"): one row per event, the router routes on the aggregate
-- type and keys on the aggregate id. Written out here in this project's own words.
-- Relay: Debezium's PostgreSQL connector streams inserts from the WAL through this publication.
CREATE TABLE outboxevent (
    id            uuid         NOT NULL PRIMARY KEY,
    aggregatetype varchar(255) NOT NULL,
    aggregateid   varchar(255) NOT NULL,
    type          varchar(255) NOT NULL,
    payload       jsonb
);

CREATE PUBLICATION dbz_publication FOR TABLE outboxevent;
