-- One mass-failure breaker and one flip and restart rate per consumer group, shared by every
-- actuator of the group (docs/actuator.md, "Breaker" and "Flip and restart rates").
--
-- Until this migration the breaker counted per sweep (reconciler_actuator_sweeps, 003) and
-- decided only at a sweep's first verdict whether the previous sweep's open breaker carried
-- over; overlapping sweeps each got a fresh quota. Restarts were rate-limited per process, and
-- flips not at all. 003's sweep tables are no longer written (an actuator of an older version
-- still running during a roll-out keeps working with them) and are emptied by retention.

-- The group's breaker: its row is locked (INSERT ... ON CONFLICT DO UPDATE) first thing in
-- every counted decision, which serialises the window's count across actuators. opened_at is
-- set by the decision that first found the breaker open and cleared by the first that found
-- it closed again, so a trip is logged and counted once.
CREATE TABLE IF NOT EXISTS reconciler_actuator_breaker (
  consumer_group text        PRIMARY KEY,
  opened_at      timestamptz,
  updated_at     timestamptz NOT NULL DEFAULT now()
);

-- The rolling window: one row per workspace whose verdict would have acted (flipped, dry-run
-- "would flip", or held back by the breaker), stamped with the database's clock at its latest
-- such verdict. The window's count is the number of rows of the group counted within
-- ACTUATOR_BREAKER_WINDOW. One row per workspace, not per verdict: a workspace re-reported
-- every sweep counts once, however many sweeps the window spans.
CREATE TABLE IF NOT EXISTS reconciler_actuator_breaker_window (
  consumer_group text        NOT NULL,
  workspace_id   uuid        NOT NULL,
  counted_at     timestamptz NOT NULL,
  PRIMARY KEY (consumer_group, workspace_id)
);
CREATE INDEX IF NOT EXISTS reconciler_actuator_breaker_window_counted_at_idx
  ON reconciler_actuator_breaker_window (consumer_group, counted_at);

-- Group-wide token buckets: 'flip' (taken in the decision transaction before the
-- compare-and-swap, ACTUATOR_MAX_FLIPS_PER_MIN) and 'restart' (taken by a restart worker
-- before it claims a due restart, ACTUATOR_MAX_RESTARTS_PER_MIN). tokens as of refilled_ms
-- (the database's clock in ms since the epoch, so actuators on hosts with skewed clocks
-- share one timeline); the refill is computed by common/token_bucket.c under the row lock
-- (SELECT ... FOR UPDATE), so N actuators together take no more than one bucket allows.
CREATE TABLE IF NOT EXISTS reconciler_actuator_rate_limits (
  consumer_group text             NOT NULL,
  kind           text             NOT NULL CHECK (kind IN ('flip', 'restart')),
  tokens         double precision NOT NULL,
  refilled_ms    bigint           NOT NULL,
  PRIMARY KEY (consumer_group, kind)
);
