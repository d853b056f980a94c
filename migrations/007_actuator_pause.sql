-- The actuator's pause switch, one per consumer group (docs/actuator.md, "Pause"; docs/
-- operations.md, "Pausing the actuator"). A row present means the group is paused; deleting
-- it resumes. Written only by `reconciler-actuator --pause "reason"` / `--resume`, read by
-- every actuator of the group at every decision (inside the decision's transaction) and by
-- every restart claim, so it takes effect without a restart, on every actuator at once.
--
--   paused_by   who paused: the operator's user and host as the command saw them
--   reason      why, in the operator's words; copied into the Action of every verdict the
--               pause holds back, so the audit says why a death was not healed
--   paused_at   when, on the database's clock
--
-- Like Cluster API's paused annotation: while paused, a NOT_RUNNING verdict changes nothing
-- (no flip, no restart, no breaker count) and is recorded as skipped with the reason
-- actuator_paused; the first sweep after --resume reports the workspace again and heals it.
CREATE TABLE IF NOT EXISTS reconciler_actuator_pause (
  consumer_group text        PRIMARY KEY,
  paused_by      text        NOT NULL,
  reason         text        NOT NULL,
  paused_at      timestamptz NOT NULL DEFAULT now()
);
