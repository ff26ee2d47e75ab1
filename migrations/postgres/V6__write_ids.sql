-- Each statistics row carries the random id its instance gave it when it was made (see
-- `QuestionRow::id` in src/state/mod.rs): a write that is tried again after a try whose answer
-- was lost (the connection broke after the commit) inserts nothing the second time. Rows
-- written before this migration have none (NULLs never conflict).
ALTER TABLE questions ADD COLUMN IF NOT EXISTS write_id BIGINT;
CREATE UNIQUE INDEX IF NOT EXISTS questions_write_id ON questions (write_id);
ALTER TABLE reloads ADD COLUMN IF NOT EXISTS write_id BIGINT;
CREATE UNIQUE INDEX IF NOT EXISTS reloads_write_id ON reloads (write_id);
