-- Schema 1: configuration documents, revision, status, checkpoints.
-- Type words BYTES are replaced per dialect (BLOB / BYTEA). Times are Unix
-- microseconds.

CREATE TABLE revision (
    id    INTEGER PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO revision (id, value) VALUES (1, 0);

CREATE TABLE documents (
    kind         TEXT NOT NULL,
    id           TEXT NOT NULL,
    connector_id TEXT NOT NULL,
    version      BIGINT NOT NULL,
    revision     BIGINT NOT NULL,
    body         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX documents_connector ON documents (connector_id);

CREATE TABLE status (
    connector_id TEXT PRIMARY KEY,
    body         TEXT NOT NULL,
    updated_at   BIGINT NOT NULL
);

CREATE TABLE checkpoints (
    connector_id TEXT NOT NULL,
    name         TEXT NOT NULL,
    value        BYTES NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (connector_id, name)
);
