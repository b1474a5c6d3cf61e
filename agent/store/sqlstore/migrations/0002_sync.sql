-- Schema 2: sync state — links (id map + digest of what was written), the
-- outbox of pending Brevo writes, company memberships, failures.

CREATE TABLE links (
    connector_id      TEXT NOT NULL,
    kind              TEXT NOT NULL,
    intercom_id       TEXT NOT NULL,
    brevo_id          TEXT NOT NULL DEFAULT '',
    email             TEXT NOT NULL DEFAULT '',
    hash              TEXT NOT NULL DEFAULT '',
    lists             TEXT NOT NULL DEFAULT '',
    source_updated_at BIGINT NOT NULL DEFAULT 0,
    data              TEXT NOT NULL DEFAULT '',
    seen              BIGINT NOT NULL DEFAULT 0,
    updated_at        BIGINT NOT NULL,
    PRIMARY KEY (connector_id, kind, intercom_id)
);
CREATE INDEX links_email ON links (connector_id, kind, email);

CREATE TABLE pending (
    connector_id TEXT NOT NULL,
    kind         TEXT NOT NULL,
    intercom_id  TEXT NOT NULL,
    payload      TEXT NOT NULL,
    version      BIGINT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    not_before   BIGINT NOT NULL DEFAULT 0,
    last_error   TEXT NOT NULL DEFAULT '',
    enqueued_at  BIGINT NOT NULL,
    PRIMARY KEY (connector_id, kind, intercom_id)
);
CREATE INDEX pending_ready ON pending (connector_id, kind, not_before, enqueued_at);

CREATE TABLE members (
    connector_id TEXT NOT NULL,
    company_id   TEXT NOT NULL,
    contact_id   TEXT NOT NULL,
    PRIMARY KEY (connector_id, company_id, contact_id)
);
CREATE INDEX members_contact ON members (connector_id, contact_id);

CREATE TABLE failures (
    connector_id TEXT NOT NULL,
    kind         TEXT NOT NULL,
    intercom_id  TEXT NOT NULL,
    reason       TEXT NOT NULL,
    attempts     INTEGER NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (connector_id, kind, intercom_id)
);
