-- The first schema: plans, teams and their members, API keys, assistants,
-- held phone numbers and the plan-slot reservations of purchases.
--
-- Identifiers are text made by domain.NewID ("team_01j…"), so they say what
-- they name in logs and the public API. Every timestamp is timestamptz.

-- +goose Up

CREATE TABLE plans (
    name         text    PRIMARY KEY CHECK (name <> '' AND name = lower(name)),
    display_name text    NOT NULL CHECK (display_name <> ''),
    max_numbers  integer NOT NULL CHECK (max_numbers >= 0),
    paid         boolean NOT NULL
);

-- The defaults of domain.DefaultPlans(); SyncPlans applies the configured
-- limits at start-up, and a test keeps this list equal to DefaultPlans.
INSERT INTO plans (name, display_name, max_numbers, paid) VALUES
    ('free',    'Free',    1,  false),
    ('starter', 'Starter', 3,  true),
    ('growth',  'Growth',  10, true),
    ('scale',   'Scale',   50, true);

CREATE TABLE teams (
    id           text        PRIMARY KEY,
    name         text        NOT NULL CHECK (btrim(name) <> ''),
    -- ON UPDATE CASCADE lets a plan be renamed; deleting a plan that teams
    -- are on is refused.
    plan_name    text        NOT NULL REFERENCES plans (name) ON UPDATE CASCADE,
    -- The plan counter: pending and active numbers (one per held
    -- reservation). Reservations change it with one conditional UPDATE, so
    -- the limit holds under any concurrency.
    numbers_held integer     NOT NULL DEFAULT 0 CHECK (numbers_held >= 0),
    -- A free team gets one trial number ever: this stays true after the
    -- trial number is released or expires.
    trial_used   boolean     NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id         text        PRIMARY KEY,
    email      text        NOT NULL CHECK (btrim(email) <> ''),
    name       text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Email addresses are matched case-insensitively: Ann@x.io and ann@x.io are
-- one person, whatever case each sign-up used.
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

CREATE TABLE team_memberships (
    team_id    text        NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id    text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       text        NOT NULL DEFAULT 'owner' CHECK (role IN ('owner', 'admin', 'member')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, user_id)
);

-- "Which teams is this user in" without scanning every membership.
CREATE INDEX team_memberships_user_id_idx ON team_memberships (user_id);

CREATE TABLE api_keys (
    id           text        PRIMARY KEY,
    user_id      text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- Only the SHA-256 of a token is stored. The CHECK refuses anything that
    -- is not a hex digest, so a plaintext token can never land here by
    -- mistake.
    token_hash   text        NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    -- The first characters of the token, so a user can tell keys apart in
    -- a list without the token being recoverable.
    token_prefix text        NOT NULL DEFAULT '' CHECK (char_length(token_prefix) <= 7),
    name         text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);

CREATE INDEX api_keys_user_id_idx ON api_keys (user_id);

CREATE TABLE assistants (
    id         text        PRIMARY KEY,
    team_id    text        NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    name       text        NOT NULL CHECK (btrim(name) <> ''),
    created_at timestamptz NOT NULL DEFAULT now(),
    -- The target of phone_numbers' (team_id, assistant_id) foreign key,
    -- which keeps a number from being assigned another team's assistant.
    UNIQUE (team_id, id)
);

-- Listing a team's assistants in creation order.
CREATE INDEX assistants_team_id_idx ON assistants (team_id, created_at, id);

CREATE TABLE phone_numbers (
    id                 text        PRIMARY KEY,
    -- No cascade: a team that holds numbers at the provider must not vanish
    -- and leave them orphaned (and billed).
    team_id            text        NOT NULL REFERENCES teams (id),
    phone_number       text        NOT NULL CHECK (phone_number ~ '^\+[1-9][0-9]{1,14}$'),
    provider           text        NOT NULL DEFAULT 'telnyx',
    provider_number_id text        NOT NULL DEFAULT '',
    provider_order_id  text        NOT NULL DEFAULT '',
    connection_id      text        NOT NULL DEFAULT '',
    status             text        NOT NULL CHECK (status IN ('pending', 'active', 'released', 'expired', 'failed')),
    is_trial           boolean     NOT NULL DEFAULT false,
    trial_expires_at   timestamptz,
    assistant_id       text,
    created_by_user_id text        NOT NULL REFERENCES users (id),
    workflow_id        text        NOT NULL DEFAULT '',
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    released_at        timestamptz,
    -- Through (team_id, id) the assistant must be one of the number's own
    -- team. Deleting the assistant unassigns the number and keeps its team
    -- (the column list needs PostgreSQL 15).
    FOREIGN KEY (team_id, assistant_id) REFERENCES assistants (team_id, id)
        ON DELETE SET NULL (assistant_id)
);

-- One live record per E.164 number: two teams (or two purchases) can never
-- both hold it, while released and expired rows stay as history.
CREATE UNIQUE INDEX phone_numbers_live_number_key ON phone_numbers (phone_number)
    WHERE status IN ('pending', 'active');

-- The team's list, newest first, with (created_at, id) as the cursor.
CREATE INDEX phone_numbers_team_list_idx ON phone_numbers (team_id, created_at DESC, id DESC);

-- Deleting an assistant finds its numbers without a scan.
CREATE INDEX phone_numbers_assistant_idx ON phone_numbers (team_id, assistant_id)
    WHERE assistant_id IS NOT NULL;

CREATE TABLE number_reservations (
    id           text        PRIMARY KEY,
    team_id      text        NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    -- One plan slot per purchase: a retried reservation finds its row here
    -- instead of taking a second slot.
    workflow_id  text        NOT NULL UNIQUE CHECK (workflow_id <> ''),
    phone_number text        NOT NULL CHECK (phone_number ~ '^\+[1-9][0-9]{1,14}$'),
    is_trial     boolean     NOT NULL DEFAULT false,
    status       text        NOT NULL DEFAULT 'held' CHECK (status IN ('held', 'released')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    released_at  timestamptz,
    CHECK ((status = 'released') = (released_at IS NOT NULL))
);

-- A team's held slots, for operators reconciling numbers_held.
CREATE INDEX number_reservations_team_held_idx ON number_reservations (team_id)
    WHERE status = 'held';

-- +goose Down

DROP TABLE number_reservations;
DROP TABLE phone_numbers;
DROP TABLE assistants;
DROP TABLE api_keys;
DROP TABLE team_memberships;
DROP TABLE users;
DROP TABLE teams;
DROP TABLE plans;
