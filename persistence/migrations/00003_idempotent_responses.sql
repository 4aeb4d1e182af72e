-- +goose Up

-- The final answer to the first request with a key (its HTTP status and JSON
-- body), so a retry gets exactly that answer even after the purchase's
-- workflow has ended. NULL while the first request has no final answer yet
-- (it is running, or was answered 202).
ALTER TABLE idempotency_keys
    ADD COLUMN response_status integer CHECK (response_status BETWEEN 100 AND 599),
    ADD COLUMN response_body   bytea;

-- +goose Down

ALTER TABLE idempotency_keys DROP COLUMN response_status, DROP COLUMN response_body;
