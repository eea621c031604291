-- 0002: the hot paths (claiming and completing tasks) as functions, one round trip each.
--
-- Measured before this migration on a 2-core machine: a workflow-task claim was five
-- statements (≈5 ms) and a completion seven (≈8–15 ms), almost all of it round trips and
-- per-statement planning; a three-activity workflow took ≈55 ms end to end with nothing
-- else running. A PL/pgSQL function runs its statements with cached plans inside the
-- server, so each of these operations costs one round trip.
--
-- Workflow-task claims commit with synchronous_commit = off. Losing one in a crash of
-- Postgres only returns the task to the queue (its lease never existed) and the workflow
-- code runs again over the same history, which has no side effects; any later durable
-- commit that depends on the claim (the task's completion) flushes the WAL up to and
-- including it. Activity claims stay synchronous: a lost activity claim whose attempt had
-- already run would make the activity run again under the same attempt number, a
-- duplicate the history could not show. Completions and starts are synchronous too: those
-- are the writes acknowledged to someone.
--
-- The functions that commit synchronously do not NOTIFY: a transaction that notifies takes
-- a database-wide lock at pre-commit and holds it until its commit is flushed, so under
-- load every notifying commit waits for the fsync of the one before it (measured here: the
-- start and close transactions queued on that lock, `Lock:object` in pg_stat_activity).
-- They return the notifications instead, as a jsonb array of [channel, payload], and the
-- engine sends them right after in a transaction of its own with asynchronous commit
-- (engine/notifier.ts). A NOTIFY is only ever a latency hint: one lost to a crash between
-- the two costs a polling interval, never work.
--
-- Stale leases are reported with SQLSTATE 'CH001' (class CH is not used by Postgres); the
-- engine maps it to StaleTaskError.

-- When an activity attempt started at p_start loses its lease: the earliest of start +
-- startToClose, start + heartbeatTimeout (heartbeats push this part) and the
-- scheduleToClose deadline. One expression for the claim and for eager dispatch; a SQL
-- function this simple is inlined by the planner, so it costs nothing per call.
CREATE FUNCTION chronicle.activity_lease_end(p_start timestamptz, p_start_to_close_ms integer, p_heartbeat_timeout_ms integer, p_deadline timestamptz)
RETURNS timestamptz
LANGUAGE sql IMMUTABLE AS $$
  SELECT least(
    p_start + make_interval(secs => p_start_to_close_ms / 1000.0),
    p_start + make_interval(secs => coalesce(p_heartbeat_timeout_ms, p_start_to_close_ms) / 1000.0),
    coalesce(p_deadline, 'infinity'))
$$;

-- What an activity claim returns: the engine's claim shape (engine/task-rows.ts).
CREATE TYPE chronicle.activity_claim AS (
  id bigint, namespace text, run_id uuid, seq integer, workflow_id text, workflow_type text, activity_type text,
  task_queue text, args jsonb, priority smallint, attempt integer, lease_id uuid, heartbeat_details jsonb,
  start_to_close_ms integer, heartbeat_timeout_ms integer, scheduled_ms bigint, started_ms bigint, lease_ms bigint,
  deadline_ms bigint);

-- Leases pending activity tasks the caller has locked to p_identity (the queue claim).
CREATE FUNCTION chronicle.lease_activity_tasks(p_ids bigint[], p_identity text)
RETURNS SETOF chronicle.activity_claim
-- PL/pgSQL rather than SQL: before PostgreSQL 18 a SQL-language function's statements are
-- planned again on every call, PL/pgSQL keeps the plan for the session.
LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY
  UPDATE chronicle.activity_tasks t
  SET status = 'running', lease_id = gen_random_uuid(), started_at = now(), last_heartbeat_at = NULL, identity = p_identity,
      lease_expires_at = chronicle.activity_lease_end(now(), t.start_to_close_ms, t.heartbeat_timeout_ms, t.schedule_to_close_deadline)
  WHERE t.id = ANY(p_ids)
  RETURNING t.id, t.namespace, t.run_id, t.seq, t.workflow_id, t.workflow_type, t.activity_type, t.task_queue, t.args,
    t.priority, t.attempt, t.lease_id, t.heartbeat_details, t.start_to_close_ms, t.heartbeat_timeout_ms,
    (extract(epoch FROM t.scheduled_at) * 1000)::bigint, (extract(epoch FROM t.started_at) * 1000)::bigint,
    (extract(epoch FROM t.lease_expires_at) * 1000)::bigint, (extract(epoch FROM t.schedule_to_close_deadline) * 1000)::bigint;
END $$;

-- Claims up to p_max visible activity tasks of a queue: highest priority first, then the
-- longest visible, then oldest (the order of activity_tasks_claim, so Postgres walks that
-- index and stops after p_max rows); SKIP LOCKED lets concurrent pollers take disjoint
-- tasks without waiting on each other.
CREATE FUNCTION chronicle.claim_activity_tasks(p_namespace text, p_task_queue text, p_max integer, p_identity text)
RETURNS SETOF chronicle.activity_claim
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  ids bigint[];
BEGIN
  SELECT array_agg(c.id) INTO ids FROM (
    SELECT a.id FROM chronicle.activity_tasks a
    WHERE a.namespace = p_namespace AND a.task_queue = p_task_queue AND a.status = 'pending' AND a.visible_at <= now()
    ORDER BY a.priority DESC, a.visible_at, a.id
    LIMIT p_max
    FOR UPDATE SKIP LOCKED) c;
  IF ids IS NULL THEN RETURN; END IF;
  RETURN QUERY SELECT * FROM chronicle.lease_activity_tasks(ids, p_identity);
END $$;

-- What a workflow-task claim returns per task: the lease, and what the worker has not seen
-- yet: history after the run's last WorkflowTaskCompleted (event 1 for a first task)
-- followed by the run's inbox.
CREATE TYPE chronicle.workflow_task_claim AS (
  run_id uuid, lease_id uuid, attempt integer, now_ms bigint, namespace text, workflow_id text, workflow_type text,
  task_queue text, run_status text, history_length integer, previous_completed_event_id integer, events jsonb);

-- Leases workflow tasks the caller has already locked (FOR UPDATE) to p_identity.
--
-- The inbox is read by a later statement than the one that took the row locks: in READ
-- COMMITTED each statement of a function gets a new snapshot, so it sees every event whose
-- producer committed before our locks were granted, and every later producer finds the
-- task running and marks it dirty. Reading the inbox with the locking statement's snapshot
-- could miss an event (its producer committed while we waited for the lock) while also
-- clearing `dirty`: a lost wake-up.
CREATE FUNCTION chronicle.lease_workflow_tasks(p_run_ids uuid[], p_identity text, p_lease_ms integer)
RETURNS SETOF chronicle.workflow_task_claim
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE chronicle.workflow_tasks t
  SET status = 'running', lease_id = gen_random_uuid(), dirty = false, identity = p_identity,
      lease_expires_at = now() + make_interval(secs => p_lease_ms / 1000.0),
      claimed_inbox_ids = coalesce((SELECT array_agg(i.id ORDER BY i.id) FROM chronicle.workflow_inbox i WHERE i.run_id = t.run_id), '{}')
  WHERE t.run_id = ANY(p_run_ids);

  RETURN QUERY
  SELECT t.run_id, t.lease_id, t.attempt, (extract(epoch FROM now()) * 1000)::bigint, e.namespace, e.workflow_id,
    e.workflow_type, e.task_queue, e.status, e.next_event_id - 1, e.last_completed_event_id,
    coalesce((
      SELECT jsonb_agg(jsonb_build_object('eventId', h.event_id, 'eventType', h.event_type,
               'timestamp', (extract(epoch FROM h.created_at) * 1000)::bigint, 'attributes', h.attributes)
             || CASE WHEN h.headers IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('headers', h.headers) END
             ORDER BY h.event_id)
      FROM chronicle.history_events h WHERE h.run_id = t.run_id AND h.event_id > e.last_completed_event_id), '[]'::jsonb)
    || coalesce((
      SELECT jsonb_agg(jsonb_build_object('eventType', i.event_type, 'attributes', i.attributes) ORDER BY i.id)
      FROM chronicle.workflow_inbox i WHERE i.id = ANY(t.claimed_inbox_ids)), '[]'::jsonb)
  FROM chronicle.workflow_tasks t JOIN chronicle.executions e ON e.run_id = t.run_id
  WHERE t.run_id = ANY(p_run_ids);
END $$;

-- Claims up to p_max pending workflow tasks of a queue, oldest visible first; SKIP LOCKED
-- so that concurrent pollers take disjoint tasks without waiting on each other.
CREATE FUNCTION chronicle.claim_workflow_tasks(p_namespace text, p_task_queue text, p_max integer, p_identity text, p_lease_ms integer)
RETURNS SETOF chronicle.workflow_task_claim
LANGUAGE plpgsql AS $$
DECLARE
  claimed uuid[];
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);
  SELECT array_agg(c.run_id) INTO claimed FROM (
    SELECT t.run_id FROM chronicle.workflow_tasks t
    WHERE t.namespace = p_namespace AND t.task_queue = p_task_queue AND t.status = 'pending' AND t.visible_at <= now()
    ORDER BY t.visible_at
    LIMIT p_max
    FOR UPDATE SKIP LOCKED) c;
  IF claimed IS NULL THEN RETURN; END IF;
  RETURN QUERY SELECT * FROM chronicle.lease_workflow_tasks(claimed, p_identity, p_lease_ms);
END $$;

-- Records an activity's result in one round trip: deletes the attempt's row (only while
-- this lease holds it), delivers ActivityTaskCompleted to the run's inbox and makes sure
-- the run has a workflow task (see engine/inbox.ts for the delivery rules). The run's
-- executions row is locked first: the global lock order (run, then its rows), the same as
-- a completion that closes the run, so the two cannot deadlock.
--
-- Eager dispatch (p_eager_queue not null): when the run's workflow task is pending on that
-- queue after the delivery, it is leased to the completing worker and returned, saving the
-- claim's round trip, commit and wake-up. Raises CH001 when the lease is stale.
CREATE FUNCTION chronicle.complete_activity_task(
  p_task_id bigint, p_run_id uuid, p_lease_id uuid, p_result jsonb, p_identity text, p_eager_queue text, p_lease_ms integer)
RETURNS TABLE (eager jsonb, notifications jsonb)
LANGUAGE plpgsql AS $$
DECLARE
  done chronicle.activity_tasks%ROWTYPE;
  notify_queue text;
  eager_run uuid;
BEGIN
  PERFORM 1 FROM chronicle.executions x WHERE x.run_id = p_run_id FOR NO KEY UPDATE;
  DELETE FROM chronicle.activity_tasks a
  WHERE a.id = p_task_id AND a.run_id = p_run_id AND a.lease_id = p_lease_id AND a.status = 'running'
  RETURNING * INTO done;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'the lease expired, the activity was already completed, or its run closed' USING ERRCODE = 'CH001';
  END IF;

  INSERT INTO chronicle.workflow_inbox (run_id, event_type, attributes)
  VALUES (p_run_id, 'ActivityTaskCompleted',
    jsonb_build_object('seq', done.seq, 'result', p_result, 'attempt', done.attempt, 'identity', p_identity)
      || CASE WHEN done.last_failure IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('lastFailure', done.last_failure) END);

  INSERT INTO chronicle.workflow_tasks AS w (run_id, namespace, task_queue)
  VALUES (p_run_id, done.namespace, done.workflow_task_queue)
  ON CONFLICT (run_id) DO UPDATE SET dirty = true
  RETURNING CASE WHEN w.status = 'pending' THEN w.task_queue END INTO notify_queue;

  IF notify_queue IS NOT NULL AND notify_queue = p_eager_queue THEN
    SELECT t.run_id INTO eager_run FROM chronicle.workflow_tasks t
    WHERE t.run_id = p_run_id AND t.status = 'pending' AND t.visible_at <= now();
    IF eager_run IS NOT NULL THEN
      RETURN QUERY SELECT to_jsonb(l), '[]'::jsonb FROM chronicle.lease_workflow_tasks(ARRAY[eager_run], p_identity, p_lease_ms) l;
      RETURN;
    END IF;
  END IF;
  RETURN QUERY SELECT NULL::jsonb,
    CASE WHEN notify_queue IS NULL THEN '[]'::jsonb
         ELSE jsonb_build_array(jsonb_build_array('chronicle_wft', done.namespace || '/' || notify_queue)) END;
END $$;

-- Records one workflow task's batch for a run whose executions row the caller has locked:
-- the input events (p_inputs, already removed from wherever they waited), one event per
-- command (TimerStarted gets its fireAt from this transaction's clock; an activity without
-- a queue gets the workflow's), one WorkflowTaskCompleted, then the activities and timers
-- the commands ask for, or the run's close (p_close). The caller deals with the run's
-- workflow-task row when the run stays open.
--
-- Eager dispatch: up to p_eager_max of the activities just scheduled on the workflow's own
-- queue (which the completing worker polls) are leased to that worker in the same
-- transaction and returned, saving the activity claim's round trip and commit.
CREATE FUNCTION chronicle.record_workflow_task(
  ex chronicle.executions, p_inputs jsonb, p_attempt integer, p_identity text, p_workflow_time bigint,
  p_command_events jsonb, p_activities jsonb, p_timers jsonb, p_canceled_timers integer[], p_close jsonb, p_eager_max integer)
RETURNS TABLE (completed_event_id integer, closed boolean, eager jsonb, notifications jsonb)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  now_ms bigint := (extract(epoch FROM now()) * 1000)::bigint;
  all_events jsonb;
  completed integer;
  eager_rows jsonb := '[]'::jsonb;
  pending_notes jsonb;
  notes jsonb := '[]'::jsonb;
BEGIN
  SELECT p_inputs
    || coalesce(jsonb_agg(
         CASE WHEN c->>'eventType' = 'TimerStarted'
                THEN jsonb_set(c, '{attributes,fireAt}', to_jsonb(now_ms + (c->'attributes'->>'durationMs')::bigint))
              WHEN c->>'eventType' = 'ActivityTaskScheduled' AND NOT (c->'attributes' ? 'taskQueue')
                THEN jsonb_set(c, '{attributes,taskQueue}', to_jsonb(ex.task_queue))
              ELSE c END ORDER BY o), '[]'::jsonb)
    || jsonb_build_array(jsonb_build_object('eventType', 'WorkflowTaskCompleted', 'attributes',
         jsonb_build_object('workflowTime', p_workflow_time, 'identity', p_identity, 'attempt', p_attempt)))
  INTO all_events
  FROM jsonb_array_elements(p_command_events) WITH ORDINALITY AS x(c, o);

  INSERT INTO chronicle.history_events (run_id, event_id, event_type, attributes)
  SELECT ex.run_id, ex.next_event_id + o - 1, e->>'eventType', e->'attributes'
  FROM jsonb_array_elements(all_events) WITH ORDINALITY AS x(e, o);
  completed := ex.next_event_id + jsonb_array_length(all_events) - 1;

  IF p_close IS NOT NULL THEN
    UPDATE chronicle.executions x
    SET next_event_id = completed + 1, last_completed_event_id = completed, status = p_close->>'status',
        result = p_close->'result', failure = p_close->'failure', closed_at = now()
    WHERE x.run_id = ex.run_id;
    DELETE FROM chronicle.activity_tasks a WHERE a.run_id = ex.run_id;
    DELETE FROM chronicle.timers m WHERE m.run_id = ex.run_id;
    DELETE FROM chronicle.workflow_inbox i WHERE i.run_id = ex.run_id;
    DELETE FROM chronicle.workflow_tasks w WHERE w.run_id = ex.run_id;
    RETURN QUERY SELECT completed, true, '[]'::jsonb, jsonb_build_array(jsonb_build_array('chronicle_closed', ex.run_id::text));
    RETURN;
  END IF;

  UPDATE chronicle.executions x SET next_event_id = completed + 1, last_completed_event_id = completed WHERE x.run_id = ex.run_id;

  IF jsonb_array_length(p_activities) > 0 THEN
    -- Eager ones are inserted already leased (running), highest priority first: no second
    -- write to the same row, no dead tuple.
    WITH r AS (
      SELECT x.*, coalesce(x.task_queue, ex.task_queue) AS queue,
             CASE WHEN coalesce(x.task_queue, ex.task_queue) = ex.task_queue
                  THEN row_number() OVER (PARTITION BY coalesce(x.task_queue, ex.task_queue) = ex.task_queue ORDER BY x.priority DESC, x.seq)
             END AS eager_rank
      FROM jsonb_to_recordset(p_activities) AS x(
        seq int, activity_type text, task_queue text, args jsonb, priority smallint, start_to_close_ms int,
        heartbeat_timeout_ms int, schedule_to_close_ms float8, retry_policy jsonb)
    ), ins AS (
      INSERT INTO chronicle.activity_tasks AS t
        (namespace, run_id, seq, workflow_id, workflow_type, workflow_task_queue, activity_type, task_queue, args,
         priority, start_to_close_ms, heartbeat_timeout_ms, schedule_to_close_deadline, retry_policy,
         status, lease_id, started_at, identity, lease_expires_at)
      SELECT ex.namespace, ex.run_id, r.seq, ex.workflow_id, ex.workflow_type, ex.task_queue, r.activity_type,
             r.queue, r.args, r.priority, r.start_to_close_ms, r.heartbeat_timeout_ms,
             now() + make_interval(secs => r.schedule_to_close_ms / 1000.0), r.retry_policy,
             CASE WHEN r.eager_rank <= p_eager_max THEN 'running' ELSE 'pending' END,
             CASE WHEN r.eager_rank <= p_eager_max THEN gen_random_uuid() END,
             CASE WHEN r.eager_rank <= p_eager_max THEN now() END,
             CASE WHEN r.eager_rank <= p_eager_max THEN p_identity END,
             CASE WHEN r.eager_rank <= p_eager_max THEN chronicle.activity_lease_end(now(), r.start_to_close_ms,
               r.heartbeat_timeout_ms, now() + make_interval(secs => r.schedule_to_close_ms / 1000.0)) END
      FROM r
      RETURNING t.*
    )
    SELECT coalesce(jsonb_agg(jsonb_build_object(
             'id', i.id, 'namespace', i.namespace, 'run_id', i.run_id, 'seq', i.seq, 'workflow_id', i.workflow_id,
             'workflow_type', i.workflow_type, 'activity_type', i.activity_type, 'task_queue', i.task_queue, 'args', i.args,
             'priority', i.priority, 'attempt', i.attempt, 'lease_id', i.lease_id, 'heartbeat_details', i.heartbeat_details,
             'start_to_close_ms', i.start_to_close_ms, 'heartbeat_timeout_ms', i.heartbeat_timeout_ms,
             'scheduled_ms', (extract(epoch FROM i.scheduled_at) * 1000)::bigint,
             'started_ms', (extract(epoch FROM i.started_at) * 1000)::bigint,
             'lease_ms', (extract(epoch FROM i.lease_expires_at) * 1000)::bigint,
             'deadline_ms', (extract(epoch FROM i.schedule_to_close_deadline) * 1000)::bigint)
           ORDER BY i.priority DESC, i.seq) FILTER (WHERE i.status = 'running'), '[]'::jsonb),
           coalesce(jsonb_agg(DISTINCT jsonb_build_array('chronicle_act', i.namespace || '/' || i.task_queue))
             FILTER (WHERE i.status = 'pending'), '[]'::jsonb)
    INTO eager_rows, pending_notes
    FROM ins i;
    -- Wake pollers only for what eager dispatch did not take.
    notes := notes || pending_notes;
  END IF;

  IF jsonb_array_length(p_timers) > 0 THEN
    INSERT INTO chronicle.timers (run_id, seq, namespace, workflow_task_queue, fire_at)
    SELECT ex.run_id, r.seq, ex.namespace, ex.task_queue, now() + make_interval(secs => r.duration_ms / 1000.0)
    FROM jsonb_to_recordset(p_timers) AS r(seq int, duration_ms float8);
    notes := notes || jsonb_build_array(jsonb_build_array('chronicle_timer',
      (now_ms + (SELECT min((r->>'duration_ms')::float8) FROM jsonb_array_elements(p_timers) r))::bigint::text));
  END IF;

  IF coalesce(array_length(p_canceled_timers, 1), 0) > 0 THEN
    DELETE FROM chronicle.timers m WHERE m.run_id = ex.run_id AND m.seq = ANY(p_canceled_timers);
    -- A timer that fired while this task was in flight has its TimerFired waiting in the
    -- inbox; the workflow cancelled it without seeing it, so it must never be recorded (a
    -- timer ends fired or cancelled, not both).
    DELETE FROM chronicle.workflow_inbox i
    WHERE i.run_id = ex.run_id AND i.event_type = 'TimerFired' AND (i.attributes->>'seq')::int = ANY(p_canceled_timers);
  END IF;

  RETURN QUERY SELECT completed, false, coalesce(eager_rows, '[]'::jsonb), notes;
END $$;

-- Completes a claimed workflow task: under the run's row lock (then the task's: the global
-- lock order), checks the lease, moves the inbox events the task saw into history and
-- records the batch (record_workflow_task). If a producer marked the task dirty while it was
-- in flight, a new pending task is left behind for what it delivered.
CREATE FUNCTION chronicle.complete_workflow_task(
  p_run_id uuid, p_lease_id uuid, p_identity text, p_workflow_time bigint, p_command_events jsonb,
  p_activities jsonb, p_timers jsonb, p_canceled_timers integer[], p_close jsonb, p_eager_max integer)
RETURNS TABLE (completed_event_id integer, closed boolean, eager jsonb, notifications jsonb)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  ex chronicle.executions%ROWTYPE;
  tk chronicle.workflow_tasks%ROWTYPE;
  task_found boolean;
  seen jsonb;
  r record;
BEGIN
  SELECT * INTO ex FROM chronicle.executions x WHERE x.run_id = p_run_id FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'the run does not exist' USING ERRCODE = 'CH001';
  END IF;
  SELECT * INTO tk FROM chronicle.workflow_tasks w WHERE w.run_id = p_run_id FOR UPDATE;
  task_found := FOUND;
  IF ex.status <> 'RUNNING' THEN
    RAISE EXCEPTION 'the run is %', ex.status USING ERRCODE = 'CH001';
  END IF;
  IF NOT task_found OR tk.status <> 'running' OR tk.lease_id IS DISTINCT FROM p_lease_id THEN
    RAISE EXCEPTION 'the lease expired or the task was already completed' USING ERRCODE = 'CH001';
  END IF;

  WITH d AS (
    DELETE FROM chronicle.workflow_inbox i WHERE i.id = ANY(coalesce(tk.claimed_inbox_ids, '{}'))
    RETURNING i.id, i.event_type, i.attributes)
  SELECT coalesce(jsonb_agg(jsonb_build_object('eventType', d.event_type, 'attributes', d.attributes) ORDER BY d.id), '[]'::jsonb)
  INTO seen FROM d;

  SELECT * INTO r FROM chronicle.record_workflow_task(ex, seen, tk.attempt, p_identity, p_workflow_time, p_command_events,
    p_activities, p_timers, p_canceled_timers, p_close, p_eager_max);
  IF r.closed THEN
    RETURN QUERY SELECT r.completed_event_id, r.closed, r.eager, r.notifications;
    RETURN;
  END IF;

  IF tk.dirty THEN
    UPDATE chronicle.workflow_tasks w
    SET status = 'pending', visible_at = now(), attempt = 1, lease_id = NULL, lease_expires_at = NULL,
        dirty = false, claimed_inbox_ids = NULL, last_failure = NULL
    WHERE w.run_id = p_run_id;
    RETURN QUERY SELECT r.completed_event_id, false, r.eager,
      r.notifications || jsonb_build_array(jsonb_build_array('chronicle_wft', tk.namespace || '/' || tk.task_queue));
  ELSE
    DELETE FROM chronicle.workflow_tasks w WHERE w.run_id = p_run_id;
    RETURN QUERY SELECT r.completed_event_id, false, r.eager, r.notifications;
  END IF;
END $$;

-- An activity's result and the workflow task it unblocks, in one commit. The worker that
-- ran the activity holds the run in its cache: it ran the workflow over the result already
-- and sends the commands with it. That is only valid while nothing else happened to the
-- run since the worker's cached point, which is checked under the run's lock: the run's last
-- WorkflowTaskCompleted is p_previous_completed_event_id, and the run has no workflow task
-- row (every inbox event comes with one, so no row means no pending event and no task in
-- flight). Then the batch [ActivityTaskCompleted, commands…, WorkflowTaskCompleted] is
-- recorded exactly as a claimed task's would be. Otherwise the result is delivered the
-- ordinary way (complete_activity_task, with its eager workflow task) and `applied` is
-- false: the worker drops its speculative state.
CREATE FUNCTION chronicle.complete_activity_and_workflow_task(
  p_task_id bigint, p_run_id uuid, p_lease_id uuid, p_result jsonb, p_identity text,
  p_previous_completed_event_id integer, p_workflow_time bigint, p_command_events jsonb,
  p_activities jsonb, p_timers jsonb, p_canceled_timers integer[], p_close jsonb, p_eager_max integer,
  p_eager_queue text, p_lease_ms integer)
RETURNS TABLE (applied boolean, completed_event_id integer, closed boolean, eager jsonb, eager_workflow_task jsonb, notifications jsonb)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  ex chronicle.executions%ROWTYPE;
  act chronicle.activity_tasks%ROWTYPE;
  r record;
BEGIN
  SELECT * INTO ex FROM chronicle.executions x WHERE x.run_id = p_run_id FOR NO KEY UPDATE;
  SELECT * INTO act FROM chronicle.activity_tasks a
  WHERE a.id = p_task_id AND a.run_id = p_run_id AND a.lease_id = p_lease_id AND a.status = 'running'
  FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'the lease expired, the activity was already completed, or its run closed' USING ERRCODE = 'CH001';
  END IF;

  IF ex.last_completed_event_id = p_previous_completed_event_id
     AND NOT EXISTS (SELECT 1 FROM chronicle.workflow_tasks w WHERE w.run_id = p_run_id) THEN
    DELETE FROM chronicle.activity_tasks a WHERE a.id = act.id;
    SELECT * INTO r FROM chronicle.record_workflow_task(ex,
      jsonb_build_array(jsonb_build_object('eventType', 'ActivityTaskCompleted', 'attributes',
        jsonb_build_object('seq', act.seq, 'result', p_result, 'attempt', act.attempt, 'identity', p_identity)
        || CASE WHEN act.last_failure IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('lastFailure', act.last_failure) END)),
      1, p_identity, p_workflow_time, p_command_events, p_activities, p_timers, p_canceled_timers, p_close, p_eager_max);
    RETURN QUERY SELECT true, r.completed_event_id, r.closed, r.eager, NULL::jsonb, r.notifications;
    RETURN;
  END IF;

  RETURN QUERY SELECT false, NULL::integer, false, '[]'::jsonb, c.eager, c.notifications
  FROM chronicle.complete_activity_task(p_task_id, p_run_id, p_lease_id, p_result, p_identity, p_eager_queue, p_lease_ms) c;
END $$;
