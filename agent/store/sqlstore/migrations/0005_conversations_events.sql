-- Schema 5: conversations (latest version of each, for exact per-contact
-- aggregates) and the outbox of Brevo events, keyed by a deterministic id
-- so that an event is sent once.

CREATE TABLE conversations (
    connector_id    TEXT NOT NULL,
    id              TEXT NOT NULL,
    contact_id      TEXT NOT NULL,
    state           TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    last_closed_at  BIGINT NOT NULL DEFAULT 0,
    rating          INTEGER NOT NULL DEFAULT 0,
    rating_at       BIGINT NOT NULL DEFAULT 0,
    remark          INTEGER NOT NULL DEFAULT 0,
    tags            TEXT NOT NULL DEFAULT '',
    ai_participated INTEGER NOT NULL DEFAULT 0,
    ai_resolution   TEXT NOT NULL DEFAULT '',
    ai_rating       INTEGER NOT NULL DEFAULT 0,
    ai_answer_type  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (connector_id, id)
);
CREATE INDEX conversations_contact ON conversations (connector_id, contact_id);

CREATE TABLE events (
    connector_id TEXT NOT NULL,
    event_key    TEXT NOT NULL,
    payload      TEXT NOT NULL,
    state        TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    not_before   BIGINT NOT NULL DEFAULT 0,
    last_error   TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    sent_at      BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (connector_id, event_key)
);
CREATE INDEX events_ready ON events (connector_id, state, not_before, created_at);
