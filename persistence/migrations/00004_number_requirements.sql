-- +goose Up

-- What a regulated purchase waits on (the state of its documents, the
-- requirements still without a value, Telnyx's deadline), as JSON: the team
-- reads it in the number list while the purchase is pending, and it stays on
-- a failed record to say which documents were missing. NULL for every
-- number that waits on nothing.
-- failure_reason is the error code that ended a failed purchase (for
-- example requirements_deadline_passed); NULL otherwise.
ALTER TABLE phone_numbers
    ADD COLUMN requirements   jsonb CHECK (requirements IS NULL OR jsonb_typeof(requirements) = 'object'),
    ADD COLUMN failure_reason text;

-- +goose Down

ALTER TABLE phone_numbers DROP COLUMN requirements, DROP COLUMN failure_reason;
