-- 0001: Chronicle's core tables: runs, their append-only history, the inbox of events
-- waiting for a workflow task, and the three kinds of claimable work (workflow tasks,
-- activity tasks, timers). See docs/schema.md for the life of a row in each.
--
-- Hot tables carry no foreign keys: every FK check on insert is an index probe plus a
-- FOR KEY SHARE lock on the parent row, and the parent (executions) is the row every
-- workflow-task completion updates. Integrity is kept by the engine's transactions and
-- checked by test/fault's invariant checker.

CREATE TABLE chronicle.executions (
  run_id                  uuid PRIMARY KEY,
  namespace               text NOT NULL,
  workflow_id             text NOT NULL,
  workflow_type           text NOT NULL,
  task_queue              text NOT NULL,
  status                  text NOT NULL DEFAULT 'RUNNING'
                          CHECK (status IN ('RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'TERMINATED', 'CONTINUED_AS_NEW', 'TIMED_OUT')),
  -- The id the next appended history event gets; the optimistic-concurrency token.
  next_event_id           integer NOT NULL DEFAULT 2,
  -- Id of the last WorkflowTaskCompleted event (0 before the first): where a sticky
  -- worker's cached run must stand to skip replay.
  last_completed_event_id integer NOT NULL DEFAULT 0,
  result                  jsonb,
  failure                 jsonb,
  close_reason            text,
  started_at              timestamptz NOT NULL DEFAULT now(),
  closed_at               timestamptz
);
-- A workflow id is unique among open runs of a namespace.
CREATE UNIQUE INDEX executions_open_workflow_id ON chronicle.executions (namespace, workflow_id) WHERE status = 'RUNNING';
CREATE INDEX executions_by_workflow_id ON chronicle.executions (namespace, workflow_id, started_at DESC);

CREATE TABLE chronicle.history_events (
  run_id      uuid        NOT NULL,
  event_id    integer     NOT NULL,
  event_type  text        NOT NULL,
  attributes  jsonb       NOT NULL,
  headers     jsonb,
  -- clock_timestamp(), not now(): every append holds the run's row lock, so the wall clock
  -- at insert is non-decreasing in event order, while a transaction's start time (now())
  -- can be older than events appended by a transaction it waited for.
  created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (run_id, event_id)
);

-- History rows are never updated: enforce it rather than trust every code path.
CREATE FUNCTION chronicle.history_events_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'chronicle.history_events is append-only (run %, event %)', OLD.run_id, OLD.event_id;
END $$;
CREATE TRIGGER history_events_no_update BEFORE UPDATE ON chronicle.history_events
  FOR EACH ROW EXECUTE FUNCTION chronicle.history_events_immutable();

-- Events that happened to a run (activity results, timer firings, cancel requests) and
-- wait for the next workflow task. The task's completion moves the rows it saw into
-- history, before its commands, so events that arrive while a task is in flight are
-- ordered after that task's completion and trigger another task.
CREATE TABLE chronicle.workflow_inbox (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id      uuid        NOT NULL,
  event_type  text        NOT NULL,
  attributes  jsonb       NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workflow_inbox_by_run ON chronicle.workflow_inbox (run_id, id);

-- At most one workflow task per run: 'pending' (claimable from visible_at) or 'running'
-- (leased). Producers of inbox events upsert this row and set dirty when it is running,
-- so the completion knows to leave a new task behind.
CREATE TABLE chronicle.workflow_tasks (
  run_id             uuid PRIMARY KEY,
  namespace          text        NOT NULL,
  task_queue         text        NOT NULL,
  status             text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running')),
  visible_at         timestamptz NOT NULL DEFAULT now(),
  attempt            integer     NOT NULL DEFAULT 1,
  dirty              boolean     NOT NULL DEFAULT false,
  lease_id           uuid,
  lease_expires_at   timestamptz,
  claimed_inbox_ids  bigint[],
  identity           text,
  last_failure       jsonb,
  created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workflow_tasks_claim ON chronicle.workflow_tasks (namespace, task_queue, visible_at) WHERE status = 'pending';
CREATE INDEX workflow_tasks_leases ON chronicle.workflow_tasks (lease_expires_at) WHERE status = 'running';

-- One row per scheduled activity until its final outcome; attempts reuse the row.
CREATE TABLE chronicle.activity_tasks (
  id                          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  namespace                   text        NOT NULL,
  run_id                      uuid        NOT NULL,
  seq                         integer     NOT NULL,
  workflow_id                 text        NOT NULL,
  workflow_type               text        NOT NULL,
  workflow_task_queue         text        NOT NULL,
  activity_type               text        NOT NULL,
  task_queue                  text        NOT NULL,
  args                        jsonb       NOT NULL,
  priority                    smallint    NOT NULL CHECK (priority BETWEEN 0 AND 100),
  status                      text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running')),
  attempt                     integer     NOT NULL DEFAULT 1,
  visible_at                  timestamptz NOT NULL DEFAULT now(),
  scheduled_at                timestamptz NOT NULL DEFAULT now(),
  started_at                  timestamptz,
  lease_id                    uuid,
  lease_expires_at            timestamptz,
  last_heartbeat_at           timestamptz,
  heartbeat_details           jsonb,
  last_failure                jsonb,
  identity                    text,
  cancel_requested            boolean     NOT NULL DEFAULT false,
  start_to_close_ms           integer     NOT NULL,
  heartbeat_timeout_ms        integer,
  schedule_to_close_deadline  timestamptz,
  retry_policy                jsonb       NOT NULL,
  UNIQUE (run_id, seq)
);
-- The claim walks this index in order: priority (higher first), then oldest visible.
CREATE INDEX activity_tasks_claim ON chronicle.activity_tasks (namespace, task_queue, priority DESC, visible_at, id) WHERE status = 'pending';
CREATE INDEX activity_tasks_leases ON chronicle.activity_tasks (lease_expires_at) WHERE status = 'running';
CREATE INDEX activity_tasks_deadlines ON chronicle.activity_tasks (schedule_to_close_deadline) WHERE schedule_to_close_deadline IS NOT NULL;

CREATE TABLE chronicle.timers (
  run_id               uuid        NOT NULL,
  seq                  integer     NOT NULL,
  namespace            text        NOT NULL,
  workflow_task_queue  text        NOT NULL,
  fire_at              timestamptz NOT NULL,
  PRIMARY KEY (run_id, seq)
);
CREATE INDEX timers_due ON chronicle.timers (fire_at);

-- Which workflow types the workers of a task queue can run, so that starting an unknown
-- type is refused up front instead of failing later in a worker.
CREATE TABLE chronicle.task_queue_workflow_types (
  namespace      text        NOT NULL,
  task_queue     text        NOT NULL,
  workflow_type  text        NOT NULL,
  last_seen_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (namespace, task_queue, workflow_type)
);
