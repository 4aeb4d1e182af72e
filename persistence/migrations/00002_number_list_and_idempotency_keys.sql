-- The team's list of live numbers, and the Idempotency-Keys of API
-- requests.

-- +goose Up

-- The default list (pending and active numbers, newest first, with
-- (created_at, id) as the cursor). phone_numbers_team_list_idx serves it
-- too, but walks every released and expired row of the team on the way;
-- history only grows, so the default list and its count get an index that
-- holds live rows alone.
CREATE INDEX phone_numbers_team_live_list_idx ON phone_numbers (team_id, created_at DESC, id DESC)
    WHERE status IN ('pending', 'active');

-- One row per Idempotency-Key a team has sent: the first request claims the
-- key, and a retry finds the claim and answers with what the first request
-- started. Keys are kept 24 hours (see IdempotencyStore).
CREATE TABLE idempotency_keys (
    team_id      text        NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    key          text        NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255),
    -- A hash of the first request's method, path and body: the same key
    -- with another request is the client's mistake, not a retry.
    request_hash text        NOT NULL,
    -- What the first request started (a workflow and update id).
    target       text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, key)
);

-- Purging expired keys without scanning the table.
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);

-- +goose Down

DROP TABLE idempotency_keys;
DROP INDEX phone_numbers_team_live_list_idx;
