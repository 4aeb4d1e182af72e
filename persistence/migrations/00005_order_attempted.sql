-- +goose Up

-- When the purchase first went to place its order at the provider (NULL
-- before). The order step sets it just before placing the order: a step
-- that finds it set may have placed one already (its answer lost with the
-- worker that ran it) and looks for it by customer reference before
-- placing another; one that set it knows no order exists and skips that
-- look, a round trip to Telnyx on every purchase.
ALTER TABLE phone_numbers ADD COLUMN order_attempted_at timestamptz;

-- +goose Down

ALTER TABLE phone_numbers DROP COLUMN order_attempted_at;
