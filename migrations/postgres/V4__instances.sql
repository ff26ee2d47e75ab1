-- The serving instances sharing this database and what each made of a reload (see
-- src/state/postgres.rs): each instance's reload listener says it is alive every few seconds
-- (`seen`, in milliseconds of the database's clock) and an instance that stops removes its
-- row; each instance told of a reload records its outcome under the reload's id, which the
-- instance that was asked for the reload waits for (a few seconds at most).
CREATE TABLE IF NOT EXISTS instances (
    instance TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    seen BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS reload_outcomes (
    reload TEXT NOT NULL,
    instance TEXT NOT NULL,
    name TEXT NOT NULL,
    applied BOOLEAN NOT NULL,
    outcome TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (reload, instance)
);
CREATE INDEX IF NOT EXISTS reload_outcomes_at ON reload_outcomes (at);
