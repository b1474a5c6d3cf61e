-- Schema 7: indexes over the open (pending or processing) deliveries only.
-- The inbox keeps done deliveries until they are pruned, and a claim used
-- to sort every ready delivery by seq while holding the write lock (tens
-- of milliseconds behind a backlog of 10,000, during which no webhook
-- could be accepted on SQLite). A claim now walks the open deliveries in
-- arrival order and stops at its limit.

CREATE INDEX inbox_open ON inbox (connector_id, seq) WHERE state IN ('pending', 'processing');
CREATE INDEX inbox_open_key ON inbox (connector_id, order_key, seq) WHERE state IN ('pending', 'processing');
DROP INDEX inbox_ready;
DROP INDEX inbox_key;
