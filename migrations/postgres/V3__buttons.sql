-- The state behind a message's buttons when it does not fit in their custom ids (see
-- src/discord/interactions/keep.rs), so that a button made by one instance works when pressed
-- on another: JSON the bot reads back, whose buttons they are, and when it was kept (in
-- milliseconds of the database's clock, so that instances whose clocks differ agree on
-- expiry).
CREATE TABLE IF NOT EXISTS buttons (
    id BIGINT PRIMARY KEY,
    asker BIGINT NOT NULL,
    state TEXT NOT NULL,
    created BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS buttons_created ON buttons (created);
