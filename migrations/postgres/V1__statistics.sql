-- Question statistics and reloads, shared by every instance (see src/state/postgres.rs).
-- The same columns as the SQLite store's schema version 1; `id` orders rows written in the
-- same second.
CREATE TABLE IF NOT EXISTS questions (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    asker BYTEA,
    question TEXT,
    fate TEXT NOT NULL,
    score REAL,
    guild BIGINT
);
CREATE INDEX IF NOT EXISTS questions_at ON questions (at);
CREATE INDEX IF NOT EXISTS questions_guild_at ON questions (guild, at);

CREATE TABLE IF NOT EXISTS reloads (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    "by" TEXT NOT NULL,
    outcome TEXT NOT NULL,
    guild BIGINT
);
CREATE INDEX IF NOT EXISTS reloads_at ON reloads (at);
