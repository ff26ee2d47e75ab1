-- The articles the instances sharing this database have seen (see src/state/postgres.rs,
-- `AnnouncedStore`): a new article is announced by the one instance whose insert of its slug
-- went in, so several instances reloading the same content post it once. `at` is when it was
-- first seen (seconds since the epoch).
CREATE TABLE IF NOT EXISTS announced (
    slug TEXT PRIMARY KEY,
    at BIGINT NOT NULL
);
