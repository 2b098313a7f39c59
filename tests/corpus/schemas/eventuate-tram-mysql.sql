-- The message and received-message tables of Eventuate Tram on MySQL (eventuate-foundation's
-- eventuate-common schema scripts), restated in this project's own words. The CDC service tails
-- the MySQL binlog, or polls on `published`, and marks rows it has sent.
CREATE TABLE message (
  id                VARCHAR(767) PRIMARY KEY,
  destination       LONGTEXT NOT NULL,
  headers           LONGTEXT NOT NULL,
  payload           LONGTEXT NOT NULL,
  published         SMALLINT DEFAULT 0,
  message_partition SMALLINT,
  creation_time     BIGINT
) ENGINE = InnoDB;

CREATE INDEX message_published_idx ON message(published, id);

-- Consumer-side dedupe: one row per (consumer, message) handled.
CREATE TABLE received_messages (
  consumer_id   VARCHAR(767),
  message_id    VARCHAR(767),
  creation_time BIGINT,
  published     SMALLINT DEFAULT 0,
  PRIMARY KEY (consumer_id, message_id)
) ENGINE = InnoDB;
