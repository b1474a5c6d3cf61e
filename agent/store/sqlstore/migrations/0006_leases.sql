-- Schema 6: per-connector leases (which agent runs a connector's passes and
-- writer), and the in-flight journal of pending Brevo writes, so that a
-- new leader resolves what its predecessor was sending instead of sending
-- it again.

CREATE TABLE leases (
    connector_id TEXT PRIMARY KEY,
    holder       TEXT NOT NULL,
    token        BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);

ALTER TABLE pending ADD COLUMN in_flight TEXT NOT NULL DEFAULT '';
ALTER TABLE pending ADD COLUMN in_flight_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE pending ADD COLUMN in_flight_process BIGINT NOT NULL DEFAULT 0;
