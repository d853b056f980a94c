-- reconciler-actuator's bookkeeping (docs/actuator.md). Every row is scoped by the Kafka
-- consumer group (ACTUATOR_GROUP_ID): actuators sharing a group are one logical actuator and
-- share decisions, breaker counts and outboxes; a dry-run shadow with its own group keeps its
-- own and can neither mark a live verdict as handled nor publish or send the live actuator's
-- work.

-- Idempotency: one row per NOT_RUNNING verdict decided, keyed by the verdict's Kafka
-- coordinates. Inserted first in the decision's transaction (ON CONFLICT DO NOTHING), so a
-- redelivered or replayed verdict finds its row and changes nothing; a concurrent duplicate
-- (rebalance) waits on the row lock and then finds it.
CREATE TABLE IF NOT EXISTS reconciler_actuator_decisions (
  consumer_group    text        NOT NULL,
  verdict_topic     text        NOT NULL,
  verdict_partition integer     NOT NULL,
  verdict_offset    bigint      NOT NULL,
  workspace_id      text        NOT NULL,
  sweep_id          text        NOT NULL,
  decided_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer_group, verdict_topic, verdict_partition, verdict_offset)
);
CREATE INDEX IF NOT EXISTS reconciler_actuator_decisions_decided_at_idx
  ON reconciler_actuator_decisions (decided_at);

-- Mass-failure breaker, one row per sweep: how many distinct workspaces the sweep reported
-- NOT_RUNNING so far (stale verdicts are not counted). Incremented with INSERT ... ON CONFLICT
-- DO UPDATE ... RETURNING inside the decision's transaction; the row lock serialises
-- concurrent actuators, so the count (and the threshold) holds however the verdict partitions
-- are shared. held_open is fixed when the row is created: the group's previous sweep ended
-- beyond its limit recently (ACTUATOR_BREAKER_CARRY_OVER), so this sweep acts on nothing.
-- opened_at is set once, by the transaction that first found the breaker open.
CREATE TABLE IF NOT EXISTS reconciler_actuator_sweeps (
  consumer_group   text        NOT NULL,
  sweep_id         text        NOT NULL,
  sweep_size       bigint      NOT NULL,
  not_running_seen bigint      NOT NULL DEFAULT 0,
  breaker_limit    bigint      NOT NULL,
  held_open        boolean     NOT NULL DEFAULT false,
  opened_at        timestamptz,
  first_seen_at    timestamptz NOT NULL DEFAULT now(),
  last_seen_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer_group, sweep_id)
);
CREATE INDEX IF NOT EXISTS reconciler_actuator_sweeps_last_seen_at_idx
  ON reconciler_actuator_sweeps (last_seen_at);
-- "The group's previous sweep": the latest first_seen_at.
CREATE INDEX IF NOT EXISTS reconciler_actuator_sweeps_first_seen_at_idx
  ON reconciler_actuator_sweeps (consumer_group, first_seen_at);

-- Which workspaces a sweep counted, and at which position: a checker's duplicate verdict for
-- the same workspace (at another offset) reuses its rank instead of counting twice.
CREATE TABLE IF NOT EXISTS reconciler_actuator_sweep_members (
  consumer_group text   NOT NULL,
  sweep_id       text   NOT NULL,
  workspace_id   uuid   NOT NULL,
  rank           bigint NOT NULL,
  PRIMARY KEY (consumer_group, sweep_id, workspace_id),
  FOREIGN KEY (consumer_group, sweep_id)
    REFERENCES reconciler_actuator_sweeps (consumer_group, sweep_id) ON DELETE CASCADE
);

-- Every Action record, written in the transaction of what it reports; doubles as the outbox
-- of reconciler.actions: published_at stays NULL until Kafka's delivery report confirms the
-- record, and a publisher sends unpublished rows in id order. A publisher claims rows for a
-- while (publish_claimed_until) so two actuators do not both send them; a claim that expires
-- (crash) is taken over. Actions are therefore never lost, and duplicated only after a crash.
CREATE TABLE IF NOT EXISTS reconciler_actuator_actions (
  id                    bigserial   PRIMARY KEY,
  consumer_group        text        NOT NULL,
  workspace_id          text        NOT NULL,
  instance_id           text        NOT NULL,
  verdict_topic         text        NOT NULL,
  verdict_partition     integer     NOT NULL,
  verdict_offset        bigint      NOT NULL,
  outcome               text        NOT NULL,
  reason                text,
  acted_at              timestamptz NOT NULL,
  dry_run               boolean     NOT NULL,
  sweep_id              text        NOT NULL DEFAULT '',
  verdict_checked_at    timestamptz NOT NULL,
  attempt               integer     NOT NULL DEFAULT 0,
  actuator_id           text        NOT NULL DEFAULT '',
  publish_claimed_by    text,
  publish_claimed_until timestamptz,
  published_at          timestamptz
);
CREATE INDEX IF NOT EXISTS reconciler_actuator_actions_unpublished_idx
  ON reconciler_actuator_actions (consumer_group, id) WHERE published_at IS NULL;
-- No index on workspace_id: it is the verdict's text as received (up to the codec's 16 KiB for
-- a malformed one), which could exceed a btree entry and fail the decision on every retry.

-- The restart outbox: written in the same transaction as the flip, so a decided restart
-- exists exactly when the flip does. A worker takes due pending rows with FOR UPDATE SKIP
-- LOCKED (several actuators share the work), makes the call, records the result in the same
-- transaction. pending -> accepted (2xx) | failed (attempts used up) | skipped (the workspace
-- was reprovisioned or removed meanwhile; restarting it again would hurt).
CREATE TABLE IF NOT EXISTS reconciler_actuator_restarts (
  id                 bigserial   PRIMARY KEY,
  consumer_group     text        NOT NULL,
  workspace_id       uuid        NOT NULL,
  instance_id        text        NOT NULL,
  verdict_topic      text        NOT NULL,
  verdict_partition  integer     NOT NULL,
  verdict_offset     bigint      NOT NULL,
  sweep_id           text        NOT NULL,
  verdict_checked_at timestamptz NOT NULL,
  state              text        NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'accepted', 'failed', 'skipped')),
  attempts           integer     NOT NULL DEFAULT 0,
  next_attempt_at    timestamptz NOT NULL DEFAULT now(),
  last_error_name    text,
  last_http_status   integer,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  UNIQUE (consumer_group, verdict_topic, verdict_partition, verdict_offset)
);
CREATE INDEX IF NOT EXISTS reconciler_actuator_restarts_due_idx
  ON reconciler_actuator_restarts (consumer_group, next_attempt_at) WHERE state = 'pending';
