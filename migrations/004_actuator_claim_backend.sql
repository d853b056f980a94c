-- A publisher's claim on Action rows (publish_claimed_until, 003) also names the PostgreSQL
-- backend of the connection that made it. A claim whose backend no longer exists (its
-- actuator was killed, or lost that connection) is taken over at once instead of when it
-- expires a minute later: the actions topic no longer lags behind a crash. NULL (claims made
-- before this migration) falls back to the expiry.
ALTER TABLE reconciler_actuator_actions
  ADD COLUMN IF NOT EXISTS publish_claimed_backend integer;
