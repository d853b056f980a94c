-- reconciler-producer's shared state, one row per producer group (producers sharing a
-- PRODUCER_LOCK_KEY). It lives in the database, not in a producer's memory, so that a standby
-- taking over after a failover continues the round-robin where the dead producer stopped and
-- keeps the sweep schedule instead of sweeping twice in a row.
CREATE TABLE IF NOT EXISTS reconciler_producer_cursor (
  -- The advisory lock id of the group (PRODUCER_LOCK_KEY).
  lock_key              bigint PRIMARY KEY,
  -- Last workspace id a successful capped sweep enqueued; the next capped sweep starts just
  -- after it. NULL = start at the first row. Not a foreign key: the row may be gone, and
  -- keyset pagination (id > last_id) does not need it to exist.
  last_id               uuid,
  -- Start of the most recent sweep (database clock), successful or not: a new active
  -- producer waits for the rest of that interval before its first sweep.
  last_sweep_started_at timestamptz,
  last_sweep_id         uuid,
  -- End of the most recent sweep whose every message Kafka confirmed.
  last_success_at       timestamptz,
  -- Which producer (PRODUCER_ID) wrote the row last, for operators.
  producer_id           text NOT NULL DEFAULT '',
  updated_at            timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE reconciler_producer_cursor IS
  'reconciler-producer: round-robin cursor and sweep schedule per producer group (lock key)';
