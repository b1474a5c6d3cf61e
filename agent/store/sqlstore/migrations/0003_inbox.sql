-- Schema 3: the durable webhook inbox. SERIAL_PK is an auto-incrementing
-- primary key per dialect.

CREATE TABLE inbox (
    seq          SERIAL_PK,
    connector_id TEXT NOT NULL,
    source       TEXT NOT NULL,
    delivery_id  TEXT NOT NULL,
    topic        TEXT NOT NULL,
    path         TEXT NOT NULL,
    order_key    TEXT NOT NULL,
    body         BYTES NOT NULL,
    received_at  BIGINT NOT NULL,
    state        TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    not_before   BIGINT NOT NULL DEFAULT 0,
    last_error   TEXT NOT NULL DEFAULT '',
    claimed_by   TEXT NOT NULL DEFAULT '',
    claim_until  BIGINT NOT NULL DEFAULT 0,
    done_at      BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX inbox_delivery ON inbox (connector_id, source, delivery_id);
CREATE INDEX inbox_ready ON inbox (connector_id, state, not_before, seq);
CREATE INDEX inbox_key ON inbox (connector_id, order_key, seq);
