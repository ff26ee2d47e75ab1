-- The rest of the state instances share (see src/state/postgres.rs): curated answers and
-- votes (the same columns as their SQLite tables), `/discuss` threads, the conversations that
-- outlive a process, and cooldowns (started, in milliseconds of the database's clock, so that
-- instances whose clocks differ agree).
CREATE TABLE IF NOT EXISTS curated (
    id BIGSERIAL PRIMARY KEY,
    guild BIGINT NOT NULL,
    question TEXT NOT NULL,
    article TEXT NOT NULL,
    section TEXT,
    note TEXT,
    created BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS curated_guild ON curated (guild);

CREATE TABLE IF NOT EXISTS votes (
    guild BIGINT NOT NULL,
    answer BIGINT NOT NULL,
    voter BYTEA NOT NULL,
    question_hash TEXT NOT NULL,
    question TEXT,
    passage TEXT NOT NULL,
    vote SMALLINT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (guild, answer, voter)
);
CREATE INDEX IF NOT EXISTS votes_question ON votes (guild, question_hash, passage);

CREATE TABLE IF NOT EXISTS threads (
    thread BIGINT PRIMARY KEY,
    slug TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS conversations (
    key TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_at ON conversations (at);

CREATE TABLE IF NOT EXISTS cooldowns (
    scope TEXT NOT NULL,
    user_id BIGINT NOT NULL,
    started BIGINT NOT NULL,
    PRIMARY KEY (scope, user_id)
);
