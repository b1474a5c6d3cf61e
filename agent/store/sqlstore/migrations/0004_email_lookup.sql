-- Schema 4: case-insensitive lookup of contacts by email (Brevo webhooks
-- name contacts by email).

CREATE INDEX links_email_lower ON links (connector_id, kind, LOWER(email));
