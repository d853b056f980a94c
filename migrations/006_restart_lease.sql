-- The restart outbox without a transaction across the HTTP call (docs/actuator.md, "Restart
-- outbox and worker").
--
-- Before: a worker kept its FOR UPDATE SKIP LOCKED transaction open while it POSTed the
-- restart. idle_in_transaction_session_timeout, a pooler, or any dropped connection ended
-- that transaction mid-call, the row was free again, and a peer sent the same restart a
-- second time. Now a claim is one committed UPDATE that leases the row:
--
--   claimed_by        the actuator (ACTUATOR_ID) that took the row last
--   claimed_until     when its lease ends: the request timeout plus a margin, so no peer can
--                     take the row while the call may still be in flight. The claim also
--                     sets next_attempt_at to the same instant, so the row is simply due
--                     again for everyone when the lease expires (an actuator that died
--                     mid-call hands its restart over then). NULL once the result is recorded.
--   claim_generation  bumped by every claim: the fencing token. The result is recorded only
--                     while it is unchanged, i.e. no peer took the row over after the lease
--                     expired; otherwise the late result is dropped (and counted).
--
-- The attempt is counted by the claim, before the call, so a crash mid-call still counts it
-- and a row cannot be retried past ACTUATOR_RESTART_MAX_ATTEMPTS by crashing.
--
--   skip_status       the workspaces row's status class when the pre-check skipped the
--                     restart (last_error_name then holds the reason: row_missing,
--                     instance_changed, status_changed, instance_cleared).
--
-- Rows written before this migration have generation 0 and no lease: they are due as before.
ALTER TABLE reconciler_actuator_restarts
  ADD COLUMN IF NOT EXISTS claimed_by text,
  ADD COLUMN IF NOT EXISTS claimed_until timestamptz,
  ADD COLUMN IF NOT EXISTS claim_generation bigint NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS skip_status text;
