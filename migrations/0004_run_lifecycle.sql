-- 0004: the life of a run beyond activities and timers (issue 3). Every command a workflow
-- task can carry is recorded by the completion functions, still in one round trip; every
-- path that closes a run (a completing command, continue-as-new, terminate, a run or
-- execution timeout, a history limit) goes through one function, chronicle.apply_run_close,
-- which notifies the parent, applies the parent close policy to open children, fails
-- unfinished updates and deletes the run's work rows.
--
-- Lock order: a transaction locks the run it acts for first (its executions row), then that
-- run's own rows, then other runs (a parent's children, the target of an external signal or
-- cancel), each with FOR NO KEY UPDATE. A transaction that closes a child run locks the
-- child's parent before the child (chronicle.lock_parent_of), so closes take locks from
-- ancestors to descendants and a parent closing while its child closes cannot deadlock
-- (measured before this rule: 2 deadlocks in 8 such races, each costing deadlock_timeout,
-- 1 s). Runs acting on each other otherwise (two runs signalling each other at the same
-- instant: 4 deadlocks in 6 such races in test/engine/commands.test.ts) still can;
-- Postgres detects it within deadlock_timeout and aborts one transaction, which rolled back
-- entirely, and the engine retries it (engine/deadlock-retry.ts). Locking every involved
-- run in one global order up front would need the targets before the lock that decides
-- them (an open run can close and be replaced meanwhile).
--
-- The functions that commit synchronously return their notifications instead of sending
-- them (see 0002); so do the new ones.

-- ---- helpers ------------------------------------------------------------------------------

-- The top-level keys of an object whose value is JSON null, removed: optional event
-- attributes are absent rather than null (the protocol's optional fields). Only the top
-- level: a null inside a payload is data.
CREATE FUNCTION chronicle.without_null_keys(p jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(jsonb_object_agg(e.key, e.value), '{}'::jsonb) FROM jsonb_each(p) e WHERE e.value <> 'null'::jsonb
$$;

-- An upsert of search attributes: each key of p_delta replaces that key's values; an empty
-- array removes the key (Temporal's legacy upsert). engine/search-attributes.ts
-- mergeSearchAttributes is the same rule in TypeScript.
CREATE FUNCTION chronicle.merge_search_attributes(p_current jsonb, p_delta jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
  SELECT (p_current || coalesce((SELECT jsonb_object_agg(d.key, d.value) FROM jsonb_each(p_delta) d WHERE jsonb_array_length(d.value) > 0), '{}'::jsonb))
         - coalesce((SELECT array_agg(d.key) FROM jsonb_each(p_delta) d WHERE jsonb_array_length(d.value) = 0), '{}'::text[])
$$;

-- The reason a batch that would bring the history to p_length events and p_bytes bytes is
-- refused, or NULL. p_limits: { historyLengthMax, historySizeMaxBytes } (engine/limits.ts).
CREATE FUNCTION chronicle.history_limit_exceeded(p_length bigint, p_bytes bigint, p_limits jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    WHEN p_length > (p_limits->>'historyLengthMax')::bigint THEN format(
      'HISTORY_LIMIT_EXCEEDED: the history would reach %s events, over the limit historyLengthMax = %s. '
      'Continue-as-new when workflowInfo().continueAsNewSuggested turns true', p_length, p_limits->>'historyLengthMax')
    WHEN p_bytes > (p_limits->>'historySizeMaxBytes')::bigint THEN format(
      'HISTORY_SIZE_LIMIT_EXCEEDED: the history would reach %s bytes, over the limit historySizeMaxBytes = %s. '
      'Continue-as-new when workflowInfo().continueAsNewSuggested turns true, and keep large data out of payloads', p_bytes, p_limits->>'historySizeMaxBytes')
  END
$$;

-- Delivers one event to a run (engine/inbox.ts states the rules): into its inbox, and its
-- workflow task upserted (a running task is marked dirty so its completion leaves a new
-- one behind). The caller holds the run's executions row lock and knows the run is open.
-- Returns the wake-up to send when the task is claimable.
CREATE FUNCTION chronicle.deliver_event(p_run_id uuid, p_namespace text, p_task_queue text, p_event_type text, p_attributes jsonb)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  st text;
BEGIN
  INSERT INTO chronicle.workflow_inbox (run_id, event_type, attributes) VALUES (p_run_id, p_event_type, p_attributes);
  INSERT INTO chronicle.workflow_tasks AS w (run_id, namespace, task_queue) VALUES (p_run_id, p_namespace, p_task_queue)
  ON CONFLICT (run_id) DO UPDATE SET dirty = true
  RETURNING w.status INTO st;
  IF st = 'pending' THEN
    RETURN jsonb_build_array(jsonb_build_array('chronicle_wft', p_namespace || '/' || p_task_queue));
  END IF;
  RETURN '[]'::jsonb;
END $$;

-- A cancel request for an open run whose executions row the caller has locked: delivered
-- once (a second request while one waits in the inbox or is in history is a no-op, as in
-- engine/executions.ts requestCancelExecution).
CREATE FUNCTION chronicle.request_cancel_run(tgt chronicle.executions, p_reason text, p_identity text) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM chronicle.workflow_inbox i WHERE i.run_id = tgt.run_id AND i.event_type = 'WorkflowExecutionCancelRequested')
     OR EXISTS (SELECT 1 FROM chronicle.history_events h WHERE h.run_id = tgt.run_id AND h.event_type = 'WorkflowExecutionCancelRequested') THEN
    RETURN '[]'::jsonb;
  END IF;
  RETURN chronicle.deliver_event(tgt.run_id, tgt.namespace, tgt.task_queue, 'WorkflowExecutionCancelRequested',
    chronicle.without_null_keys(jsonb_build_object('reason', p_reason, 'identity', p_identity)));
END $$;

-- Locks the parent of a run about to be closed, if it has one, before the caller locks the
-- run itself (the lock order above). parent_run_id never changes, so it is read unlocked.
CREATE FUNCTION chronicle.lock_parent_of(p_run_id uuid) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM chronicle.executions p
  WHERE p.run_id = (SELECT x.parent_run_id FROM chronicle.executions x WHERE x.run_id = p_run_id)
  FOR NO KEY UPDATE;
END $$;

-- ---- starting a run -------------------------------------------------------------------------

-- Inserts a run: its executions row, history event 1 (WorkflowExecutionStarted) and its
-- first workflow task. Returns false, writing nothing, when the namespace already has an
-- open run with the workflow id: the partial unique index executions_open_workflow_id is the
-- arbiter, so concurrent inserts of one id produce exactly one run. Used by starts
-- (engine/executions.ts), child starts and continue-as-new. The caller sends the wake-up.
CREATE FUNCTION chronicle.insert_run(
  p_run_id uuid, p_namespace text, p_workflow_id text, p_workflow_type text, p_task_queue text, p_args jsonb,
  p_identity text, p_search_attributes jsonb, p_memo jsonb, p_parent jsonb, p_first_execution_run_id uuid,
  p_continued_from uuid, p_execution_timeout_ms float8, p_run_timeout_ms float8, p_execution_deadline timestamptz)
RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO chronicle.executions (run_id, namespace, workflow_id, workflow_type, task_queue, search_attributes, memo,
    parent_namespace, parent_workflow_id, parent_run_id, parent_seq, parent_close_policy, first_execution_run_id,
    continued_from_run_id, execution_deadline, run_deadline)
  VALUES (p_run_id, p_namespace, p_workflow_id, p_workflow_type, p_task_queue, coalesce(p_search_attributes, '{}'::jsonb), p_memo,
    p_parent->>'namespace', p_parent->>'workflowId', (p_parent->>'runId')::uuid, (p_parent->>'seq')::int, p_parent->>'parentClosePolicy',
    coalesce(p_first_execution_run_id, p_run_id), p_continued_from,
    coalesce(p_execution_deadline, now() + make_interval(secs => p_execution_timeout_ms / 1000.0)),
    now() + make_interval(secs => p_run_timeout_ms / 1000.0))
  ON CONFLICT (namespace, workflow_id) WHERE status = 'RUNNING' DO NOTHING;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  INSERT INTO chronicle.history_events (run_id, event_id, event_type, attributes)
  VALUES (p_run_id, 1, 'WorkflowExecutionStarted',
    jsonb_build_object('workflowType', p_workflow_type, 'workflowId', p_workflow_id, 'runId', p_run_id, 'taskQueue', p_task_queue,
      'args', coalesce(p_args, '[]'::jsonb), 'firstExecutionRunId', coalesce(p_first_execution_run_id, p_run_id))
    || chronicle.without_null_keys(jsonb_build_object('identity', p_identity, 'parent', p_parent,
      'continuedExecutionRunId', p_continued_from, 'searchAttributes', nullif(p_search_attributes, '{}'::jsonb), 'memo', p_memo,
      'workflowExecutionTimeoutMs', p_execution_timeout_ms, 'workflowRunTimeoutMs', p_run_timeout_ms)));
  INSERT INTO chronicle.workflow_tasks (run_id, namespace, task_queue) VALUES (p_run_id, p_namespace, p_task_queue);
  RETURN true;
END $$;

-- ---- closing a run --------------------------------------------------------------------------

-- Everything that follows a run's close, for every way a run closes. Precondition: in this
-- transaction the caller locked the run, appended its terminal event and set its closed
-- status (with result, failure, close_reason). Then:
-- 1. its work rows go (workflow task, inbox, activity tasks, timers): nothing can act on it;
-- 2. updates not completed yet complete with a failure (their callers stop waiting);
-- 3. its parent, if open and this is not a continue-as-new (the new run inherits the
--    parent), gets ChildWorkflowExecution{Completed|Failed|Canceled|Terminated|TimedOut};
-- 4. its open children get their parent close policy: TERMINATE (recursively, through
--    terminate_run), REQUEST_CANCEL (a cancel request), ABANDON (nothing).
-- Returns the notifications to send after the commit.
CREATE FUNCTION chronicle.apply_run_close(p_run_id uuid, p_depth integer) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  ex chronicle.executions%ROWTYPE;
  parent chronicle.executions%ROWTYPE;
  child chronicle.executions%ROWTYPE;
  notes jsonb := jsonb_build_array(jsonb_build_array('chronicle_closed', p_run_id::text));
  base jsonb;
  handled uuid[] := '{}';
BEGIN
  SELECT * INTO ex FROM chronicle.executions x WHERE x.run_id = p_run_id;

  -- One statement (each statement of a function costs an executor start-up; this runs at
  -- every close): the work rows, and the updates that can no longer complete.
  WITH a AS (DELETE FROM chronicle.activity_tasks a WHERE a.run_id = p_run_id),
       m AS (DELETE FROM chronicle.timers m WHERE m.run_id = p_run_id),
       i AS (DELETE FROM chronicle.workflow_inbox i WHERE i.run_id = p_run_id),
       t AS (DELETE FROM chronicle.workflow_tasks w WHERE w.run_id = p_run_id),
  u AS (
    UPDATE chronicle.workflow_updates w
    SET stage = 'COMPLETED', updated_at = now(),
        outcome = jsonb_build_object('failure', jsonb_build_object('failureType', 'application', 'type', 'AcceptedUpdateCompletedWorkflow',
          'nonRetryable', true, 'message', format('the workflow run %s closed (%s) before update ''%s'' completed', p_run_id, ex.status, w.update_id)))
    WHERE w.run_id = p_run_id AND w.stage <> 'COMPLETED'
    RETURNING w.update_id)
  SELECT notes || coalesce(jsonb_agg(jsonb_build_array('chronicle_update', p_run_id::text || '/' || u.update_id)), '[]'::jsonb)
  INTO notes FROM u;

  IF ex.parent_run_id IS NOT NULL AND ex.status <> 'CONTINUED_AS_NEW' THEN
    SELECT * INTO parent FROM chronicle.executions x WHERE x.run_id = ex.parent_run_id FOR NO KEY UPDATE;
    IF FOUND AND parent.status = 'RUNNING' THEN
      base := jsonb_build_object('seq', ex.parent_seq, 'workflowId', ex.workflow_id, 'runId', ex.run_id, 'workflowType', ex.workflow_type);
      notes := notes || CASE ex.status
        WHEN 'COMPLETED' THEN chronicle.deliver_event(parent.run_id, parent.namespace, parent.task_queue, 'ChildWorkflowExecutionCompleted',
          base || jsonb_build_object('result', coalesce(ex.result, 'null'::jsonb)))
        WHEN 'FAILED' THEN chronicle.deliver_event(parent.run_id, parent.namespace, parent.task_queue, 'ChildWorkflowExecutionFailed',
          base || jsonb_build_object('failure', ex.failure, 'retryState', 'RETRY_POLICY_NOT_SET'))
        WHEN 'CANCELLED' THEN chronicle.deliver_event(parent.run_id, parent.namespace, parent.task_queue, 'ChildWorkflowExecutionCanceled',
          base || chronicle.without_null_keys(jsonb_build_object('details', ex.result)))
        WHEN 'TERMINATED' THEN chronicle.deliver_event(parent.run_id, parent.namespace, parent.task_queue, 'ChildWorkflowExecutionTerminated',
          base || chronicle.without_null_keys(jsonb_build_object('reason', ex.close_reason)))
        WHEN 'TIMED_OUT' THEN chronicle.deliver_event(parent.run_id, parent.namespace, parent.task_queue, 'ChildWorkflowExecutionTimedOut',
          base || jsonb_build_object('retryState', 'RETRY_POLICY_NOT_SET'))
        ELSE '[]'::jsonb END;
    END IF;
  END IF;

  -- Children, in run_id order. Read again until a fresh probe finds none unhandled: a child
  -- that continued-as-new while we waited for its lock is skipped by the pass (its row no
  -- longer matches after the wait) and has a successor (same parent_run_id) that the pass's
  -- snapshot did not contain; the next statement's does. The probe, not "this pass locked
  -- something", decides: a pass whose only child was skipped so locked nothing. Most runs
  -- have no child: a plain EXISTS probe (3 µs here) skips the locking loop (13 µs).
  IF NOT EXISTS (SELECT 1 FROM chronicle.executions x WHERE x.parent_run_id = p_run_id AND x.status = 'RUNNING') THEN
    RETURN notes;
  END IF;
  LOOP
    FOR child IN
      SELECT * FROM chronicle.executions x
      WHERE x.parent_run_id = p_run_id AND x.status = 'RUNNING' AND x.parent_close_policy <> 'ABANDON' AND x.run_id <> ALL(handled)
      ORDER BY x.run_id
      FOR NO KEY UPDATE
    LOOP
      handled := handled || child.run_id;
      IF child.parent_close_policy = 'TERMINATE' THEN
        notes := notes || chronicle.terminate_run(child.run_id,
          format('parent run %s closed (%s) and the child''s parent close policy is TERMINATE', p_run_id, ex.status), 'chronicle', p_depth + 1);
      ELSE
        notes := notes || chronicle.request_cancel_run(child,
          format('parent run %s closed (%s) and the child''s parent close policy is REQUEST_CANCEL', p_run_id, ex.status), 'chronicle');
      END IF;
    END LOOP;
    EXIT WHEN NOT EXISTS (
      SELECT 1 FROM chronicle.executions x
      WHERE x.parent_run_id = p_run_id AND x.status = 'RUNNING' AND x.parent_close_policy <> 'ABANDON' AND x.run_id <> ALL(handled));
  END LOOP;

  RETURN notes;
END $$;

-- Terminates an open run whose executions row the caller has locked (and checked RUNNING):
-- WorkflowExecutionTerminated, status TERMINATED with the reason, then apply_run_close.
-- Used by terminateWorkflow, TERMINATE_EXISTING starts and the TERMINATE parent close policy.
CREATE FUNCTION chronicle.terminate_run(p_run_id uuid, p_reason text, p_identity text, p_depth integer DEFAULT 0) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  eid integer;
BEGIN
  UPDATE chronicle.executions x
  SET status = 'TERMINATED', next_event_id = x.next_event_id + 1, close_reason = p_reason, closed_at = now()
  WHERE x.run_id = p_run_id
  RETURNING x.next_event_id - 1 INTO eid;
  INSERT INTO chronicle.history_events (run_id, event_id, event_type, attributes)
  VALUES (p_run_id, eid, 'WorkflowExecutionTerminated', chronicle.without_null_keys(jsonb_build_object('reason', p_reason, 'identity', p_identity)));
  RETURN chronicle.apply_run_close(p_run_id, p_depth);
END $$;

-- Times a run out if it is open and past its run or execution deadline (by the database
-- clock): WorkflowExecutionTimedOut, status TIMED_OUT, apply_run_close. Returns NULL when
-- there was nothing to do (closed meanwhile, or not due). One call per run, so that one
-- run's trouble cannot hold back the others (engine/run-timeouts.ts).
CREATE FUNCTION chronicle.time_out_run(p_run_id uuid) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  ex chronicle.executions%ROWTYPE;
BEGIN
  PERFORM chronicle.lock_parent_of(p_run_id);
  SELECT * INTO ex FROM chronicle.executions x WHERE x.run_id = p_run_id FOR NO KEY UPDATE;
  IF NOT FOUND OR ex.status <> 'RUNNING' OR NOT coalesce(least(ex.execution_deadline, ex.run_deadline) <= now(), false) THEN
    RETURN NULL;
  END IF;
  UPDATE chronicle.executions x SET status = 'TIMED_OUT', next_event_id = x.next_event_id + 1, closed_at = now() WHERE x.run_id = p_run_id;
  INSERT INTO chronicle.history_events (run_id, event_id, event_type, attributes)
  VALUES (p_run_id, ex.next_event_id, 'WorkflowExecutionTimedOut', jsonb_build_object(
    'timeoutType', CASE WHEN ex.execution_deadline <= now() THEN 'WORKFLOW_EXECUTION_TIMEOUT' ELSE 'WORKFLOW_RUN_TIMEOUT' END,
    'retryState', 'RETRY_POLICY_NOT_SET'));
  RETURN chronicle.apply_run_close(p_run_id, 0);
END $$;

-- ---- effects of commands on other rows and runs -----------------------------------------

-- Update commands of a batch, one entry per update id (the engine keeps the last state when
-- a batch accepts and completes the same update): stage ACCEPTED, or COMPLETED with the
-- outcome (a rejection is COMPLETED with a failure and has no history event). A completed
-- row never changes again. An accepted update without a row (admitted by a path that wrote
-- none) gets one. Each changed row wakes its waiters (chronicle_update, `<run>/<update>`).
CREATE FUNCTION chronicle.apply_update_commands(ex chronicle.executions, p_updates jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  notes jsonb;
BEGIN
  INSERT INTO chronicle.workflow_updates (run_id, update_id, namespace, workflow_id, name, args)
  SELECT ex.run_id, u.update_id, ex.namespace, ex.workflow_id, u.name, coalesce(u.args, '[]'::jsonb)
  FROM jsonb_to_recordset(p_updates) AS u(update_id text, name text, args jsonb)
  WHERE u.name IS NOT NULL
  ON CONFLICT (run_id, update_id) DO NOTHING;

  WITH changed AS (
    UPDATE chronicle.workflow_updates w
    SET stage = u.stage, outcome = u.outcome, updated_at = now()
    FROM jsonb_to_recordset(p_updates) AS u(update_id text, stage text, outcome jsonb)
    WHERE w.run_id = ex.run_id AND w.update_id = u.update_id AND w.stage <> 'COMPLETED'
    RETURNING w.update_id)
  SELECT coalesce(jsonb_agg(jsonb_build_array('chronicle_update', ex.run_id::text || '/' || c.update_id)), '[]'::jsonb)
  INTO notes FROM changed c;
  RETURN notes;
END $$;

-- Updates a completed task saw (WorkflowExecutionUpdateAdmitted) but neither accepted nor
-- rejected: rejected here, so their callers do not wait for a decision that cannot come.
CREATE FUNCTION chronicle.reject_unhandled_updates(p_run_id uuid, p_update_ids text[]) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  notes jsonb;
BEGIN
  WITH changed AS (
    UPDATE chronicle.workflow_updates w
    SET stage = 'COMPLETED', updated_at = now(),
        outcome = jsonb_build_object('failure', jsonb_build_object('failureType', 'application', 'type', 'UpdateNotHandled', 'nonRetryable', true,
          'message', format('the workflow task that received update ''%s'' neither accepted nor rejected it', w.update_id)))
    WHERE w.run_id = p_run_id AND w.update_id = ANY(p_update_ids) AND w.stage = 'ADMITTED'
    RETURNING w.update_id)
  SELECT coalesce(jsonb_agg(jsonb_build_array('chronicle_update', p_run_id::text || '/' || c.update_id)), '[]'::jsonb)
  INTO notes FROM changed c;
  RETURN notes;
END $$;

-- Child runs started by a batch (StartChildWorkflow), in the same transaction: each one is
-- inserted with its parent's columns, and the parent's inbox gets ChildWorkflowExecutionStarted;
-- if the namespace already has an open run with the workflow id, StartChildWorkflowExecutionFailed
-- (WORKFLOW_ALREADY_EXISTS) instead. Both are delivered to the parent (ex) itself, so its
-- task is left pending for them.
CREATE FUNCTION chronicle.start_children(ex chronicle.executions, p_children jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  c record;
  child_run uuid;
  queue text;
  notes jsonb := '[]'::jsonb;
BEGIN
  FOR c IN
    SELECT * FROM jsonb_to_recordset(p_children) AS x(seq integer, workflow_id text, workflow_type text, task_queue text, args jsonb,
      parent_close_policy text, search_attributes jsonb, memo jsonb, execution_timeout_ms float8, run_timeout_ms float8)
  LOOP
    child_run := gen_random_uuid();
    queue := coalesce(c.task_queue, ex.task_queue);
    IF chronicle.insert_run(child_run, ex.namespace, c.workflow_id, c.workflow_type, queue, c.args, NULL, c.search_attributes, c.memo,
         jsonb_build_object('namespace', ex.namespace, 'workflowId', ex.workflow_id, 'runId', ex.run_id, 'seq', c.seq,
           'parentClosePolicy', c.parent_close_policy),
         NULL, NULL, c.execution_timeout_ms, c.run_timeout_ms, NULL) THEN
      notes := notes || jsonb_build_array(jsonb_build_array('chronicle_wft', ex.namespace || '/' || queue))
        || chronicle.deliver_event(ex.run_id, ex.namespace, ex.task_queue, 'ChildWorkflowExecutionStarted',
             jsonb_build_object('seq', c.seq, 'workflowId', c.workflow_id, 'runId', child_run));
    ELSE
      notes := notes || chronicle.deliver_event(ex.run_id, ex.namespace, ex.task_queue, 'StartChildWorkflowExecutionFailed',
        jsonb_build_object('seq', c.seq, 'workflowId', c.workflow_id, 'workflowType', c.workflow_type, 'cause', 'WORKFLOW_ALREADY_EXISTS'));
    END IF;
  END LOOP;
  RETURN notes;
END $$;

-- The open run an external signal or cancel targets, locked; NULL when there is none (or,
-- with p_child_only, when it is not a child of ex). Looked up twice when not found by
-- workflow id: if the open run continued-as-new while we waited for its lock, the first
-- statement's snapshot lacks its successor and the second one's has it.
CREATE FUNCTION chronicle.lock_external_target(ex chronicle.executions, p_workflow_id text, p_run_id uuid, p_child_only boolean)
RETURNS chronicle.executions
LANGUAGE plpgsql AS $$
DECLARE
  tgt chronicle.executions%ROWTYPE;
BEGIN
  FOR i IN 1..2 LOOP
    SELECT * INTO tgt FROM chronicle.executions x
    WHERE x.namespace = ex.namespace AND x.workflow_id = p_workflow_id AND x.status = 'RUNNING'
      AND (p_run_id IS NULL OR x.run_id = p_run_id)
    FOR NO KEY UPDATE;
    EXIT WHEN FOUND OR p_run_id IS NOT NULL;
  END LOOP;
  IF tgt.run_id IS NULL OR (p_child_only AND tgt.parent_run_id IS DISTINCT FROM ex.run_id) THEN
    RETURN NULL;
  END IF;
  RETURN tgt;
END $$;

-- SignalExternalWorkflow and RequestCancelExternalWorkflow commands of a batch: delivered to
-- the target's inbox in the same transaction, and answered in the caller's own inbox with
-- ExternalWorkflowExecutionSignaled / …CancelRequested, or …Failed
-- (EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND) when no open run matches.
CREATE FUNCTION chronicle.apply_external_commands(ex chronicle.executions, p_identity text, p_signals jsonb, p_cancels jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  s record;
  tgt chronicle.executions%ROWTYPE;
  notes jsonb := '[]'::jsonb;
BEGIN
  FOR s IN
    SELECT * FROM jsonb_to_recordset(coalesce(p_signals, '[]'::jsonb))
      AS x(seq integer, workflow_id text, run_id uuid, signal_name text, args jsonb, child_only boolean)
  LOOP
    tgt := chronicle.lock_external_target(ex, s.workflow_id, s.run_id, s.child_only);
    IF tgt.run_id IS NOT NULL THEN
      notes := notes
        || chronicle.deliver_event(tgt.run_id, tgt.namespace, tgt.task_queue, 'WorkflowExecutionSignaled',
             chronicle.without_null_keys(jsonb_build_object('signalName', s.signal_name, 'args', s.args, 'identity', p_identity)))
        || chronicle.deliver_event(ex.run_id, ex.namespace, ex.task_queue, 'ExternalWorkflowExecutionSignaled',
             jsonb_build_object('seq', s.seq, 'workflowId', s.workflow_id, 'runId', tgt.run_id));
    ELSE
      notes := notes || chronicle.deliver_event(ex.run_id, ex.namespace, ex.task_queue, 'SignalExternalWorkflowExecutionFailed',
        jsonb_build_object('seq', s.seq, 'workflowId', s.workflow_id, 'cause', 'EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND'));
    END IF;
  END LOOP;

  FOR s IN
    SELECT * FROM jsonb_to_recordset(coalesce(p_cancels, '[]'::jsonb)) AS x(seq integer, workflow_id text, run_id uuid, child_only boolean)
  LOOP
    tgt := chronicle.lock_external_target(ex, s.workflow_id, s.run_id, s.child_only);
    IF tgt.run_id IS NOT NULL THEN
      notes := notes
        || chronicle.request_cancel_run(tgt, format('requested by workflow %s (run %s)', ex.workflow_id, ex.run_id), p_identity)
        || chronicle.deliver_event(ex.run_id, ex.namespace, ex.task_queue, 'ExternalWorkflowExecutionCancelRequested',
             jsonb_build_object('seq', s.seq, 'workflowId', s.workflow_id, 'runId', tgt.run_id));
    ELSE
      notes := notes || chronicle.deliver_event(ex.run_id, ex.namespace, ex.task_queue, 'RequestCancelExternalWorkflowExecutionFailed',
        jsonb_build_object('seq', s.seq, 'workflowId', s.workflow_id, 'cause', 'EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND'));
    END IF;
  END LOOP;
  RETURN notes;
END $$;

-- RequestCancelActivity commands: a pending attempt (never started, or waiting for its retry)
-- is deleted and ActivityTaskCanceled goes to the run's own inbox at once; a running one is
-- marked cancel_requested, which its next heartbeat returns (the worker then aborts it and
-- its failure is recorded as ActivityTaskCanceled, engine/activity-tasks.ts). An activity
-- with no row has its outcome waiting in the inbox already; the workflow sees that.
CREATE FUNCTION chronicle.cancel_activities(ex chronicle.executions, p_seqs jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  s integer;
  notes jsonb := '[]'::jsonb;
BEGIN
  FOR s IN SELECT v::integer FROM jsonb_array_elements_text(p_seqs) v LOOP
    DELETE FROM chronicle.activity_tasks a WHERE a.run_id = ex.run_id AND a.seq = s AND a.status = 'pending';
    IF FOUND THEN
      notes := notes || chronicle.deliver_event(ex.run_id, ex.namespace, ex.task_queue, 'ActivityTaskCanceled', jsonb_build_object('seq', s));
    ELSE
      UPDATE chronicle.activity_tasks a SET cancel_requested = true WHERE a.run_id = ex.run_id AND a.seq = s AND a.status = 'running';
    END IF;
  END LOOP;
  RETURN notes;
END $$;

-- ---- claims: history size ---------------------------------------------------------------

-- Claims report the history's size too (WorkflowTask.historySizeBytes; the engine derives
-- continueAsNewSuggested from it and the length, engine/limits.ts).
ALTER TYPE chronicle.workflow_task_claim ADD ATTRIBUTE history_size_bytes bigint;

-- As in 0002, plus history_size_bytes.
CREATE OR REPLACE FUNCTION chronicle.lease_workflow_tasks(p_run_ids uuid[], p_identity text, p_lease_ms integer)
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
      FROM chronicle.workflow_inbox i WHERE i.id = ANY(t.claimed_inbox_ids)), '[]'::jsonb),
    e.history_size_bytes
  FROM chronicle.workflow_tasks t JOIN chronicle.executions e ON e.run_id = t.run_id
  WHERE t.run_id = ANY(p_run_ids);
END $$;

-- ---- recording a workflow task ----------------------------------------------------------

DROP FUNCTION chronicle.complete_activity_and_workflow_task(bigint, uuid, uuid, jsonb, text, integer, bigint, jsonb, jsonb, jsonb, integer[], jsonb, integer, text, integer);
DROP FUNCTION chronicle.complete_workflow_task(uuid, uuid, text, bigint, jsonb, jsonb, jsonb, integer[], jsonb, integer);
DROP FUNCTION chronicle.record_workflow_task(chronicle.executions, jsonb, integer, text, bigint, jsonb, jsonb, jsonb, integer[], jsonb, integer);

-- Records one workflow task's batch for a run whose executions row the caller has locked,
-- as in 0002 (inputs, one event per command, WorkflowTaskCompleted; activities, timers), and
-- now every other command:
-- - p_close: { status, result?, failure? }, or for continue-as-new { status: 'CONTINUED_AS_NEW',
--   continueAsNew: { workflowType?, taskQueue?, args, searchAttributes?, memo?, workflowRunTimeoutMs? } };
-- - p_effects (keys present only when used, so an activity-and-timer batch pays nothing):
--   wtc (extra WorkflowTaskCompleted attributes: historySizeBytes, continueAsNewSuggested),
--   upsert (search attributes, merged), updates, children, signals, cancels (external),
--   cancelActivities (seqs);
-- - p_limits: { historyLengthMax, historySizeMaxBytes }: a batch that would take the history
--   past either is not recorded; the run is terminated instead (WorkflowExecutionTerminated
--   with the limit in the reason, identity 'chronicle-limits').
-- Effects on other rows and runs happen before the close, so the close sees children started
-- by the same batch (and applies their parent close policy) and updates completed by it, and
-- before the run's own row changes status.
CREATE FUNCTION chronicle.record_workflow_task(
  ex chronicle.executions, p_inputs jsonb, p_attempt integer, p_identity text, p_workflow_time bigint,
  p_command_events jsonb, p_activities jsonb, p_timers jsonb, p_canceled_timers integer[], p_close jsonb, p_eager_max integer,
  p_effects jsonb, p_limits jsonb)
RETURNS TABLE (completed_event_id integer, closed boolean, eager jsonb, notifications jsonb)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  now_ms bigint := (extract(epoch FROM now()) * 1000)::bigint;
  closing boolean := p_close IS NOT NULL;
  new_run uuid;
  can jsonb;
  first_attrs jsonb;
  all_events jsonb;
  completed integer;
  over_limit text;
  current_attributes jsonb;
  eager_rows jsonb := '[]'::jsonb;
  pending_notes jsonb;
  notes jsonb := '[]'::jsonb;
BEGIN
  IF p_close->>'status' = 'CONTINUED_AS_NEW' THEN
    new_run := gen_random_uuid();
  END IF;

  SELECT p_inputs
    || coalesce(jsonb_agg(
         CASE c->>'eventType'
           WHEN 'TimerStarted'
             THEN jsonb_set(c, '{attributes,fireAt}', to_jsonb(now_ms + (c->'attributes'->>'durationMs')::bigint))
           WHEN 'ActivityTaskScheduled'
             THEN CASE WHEN c->'attributes' ? 'taskQueue' THEN c ELSE jsonb_set(c, '{attributes,taskQueue}', to_jsonb(ex.task_queue)) END
           WHEN 'StartChildWorkflowExecutionInitiated'
             THEN CASE WHEN c->'attributes' ? 'taskQueue' THEN c ELSE jsonb_set(c, '{attributes,taskQueue}', to_jsonb(ex.task_queue)) END
           WHEN 'WorkflowExecutionContinuedAsNew'
             THEN jsonb_set(c, '{attributes}', jsonb_build_object('workflowType', ex.workflow_type, 'taskQueue', ex.task_queue)
                    || (c->'attributes') || jsonb_build_object('newExecutionRunId', new_run))
           ELSE c END ORDER BY o), '[]'::jsonb)
    || jsonb_build_array(jsonb_build_object('eventType', 'WorkflowTaskCompleted', 'attributes',
         jsonb_build_object('workflowTime', p_workflow_time, 'identity', p_identity, 'attempt', p_attempt)
         || coalesce(p_effects->'wtc', '{}'::jsonb)))
  INTO all_events
  FROM jsonb_array_elements(p_command_events) WITH ORDINALITY AS x(c, o);
  completed := ex.next_event_id + jsonb_array_length(all_events) - 1;

  -- The batch's whole JSON text is an upper bound of the bytes the history-size trigger (0003)
  -- will add (the sum of its events' attribute texts), and one plain expression: the exact
  -- sum, a statement of its own, is computed only for a batch that might pass the limit.
  IF p_limits IS NOT NULL AND (completed > (p_limits->>'historyLengthMax')::bigint
       OR ex.history_size_bytes + octet_length(all_events::text) > (p_limits->>'historySizeMaxBytes')::bigint) THEN
    over_limit := chronicle.history_limit_exceeded(completed,
      ex.history_size_bytes + (SELECT coalesce(sum(octet_length((e->'attributes')::text)), 0) FROM jsonb_array_elements(all_events) e)::bigint,
      p_limits);
    IF over_limit IS NOT NULL THEN
      UPDATE chronicle.executions x
      SET status = 'TERMINATED', next_event_id = ex.next_event_id + 1, close_reason = over_limit, closed_at = now()
      WHERE x.run_id = ex.run_id;
      INSERT INTO chronicle.history_events (run_id, event_id, event_type, attributes)
      VALUES (ex.run_id, ex.next_event_id, 'WorkflowExecutionTerminated', jsonb_build_object('reason', over_limit, 'identity', 'chronicle-limits'));
      RETURN QUERY SELECT ex.next_event_id, true, '[]'::jsonb, chronicle.apply_run_close(ex.run_id, 0);
      RETURN;
    END IF;
  END IF;

  INSERT INTO chronicle.history_events (run_id, event_id, event_type, attributes)
  SELECT ex.run_id, ex.next_event_id + o - 1, e->>'eventType', e->'attributes'
  FROM jsonb_array_elements(all_events) WITH ORDINALITY AS x(e, o);

  -- Effects on other rows and runs, while this run is still RUNNING (so that a child given
  -- this run's own workflow id is refused, as a start would be).
  IF p_effects ? 'updates' THEN
    notes := notes || chronicle.apply_update_commands(ex, p_effects->'updates');
  END IF;
  IF p_effects ? 'children' THEN
    notes := notes || chronicle.start_children(ex, p_effects->'children');
  END IF;
  IF p_effects ? 'signals' OR p_effects ? 'cancels' THEN
    notes := notes || chronicle.apply_external_commands(ex, p_identity, p_effects->'signals', p_effects->'cancels');
  END IF;

  -- One UPDATE of the run row whatever the batch holds (a HOT update when it stays open).
  UPDATE chronicle.executions x
  SET next_event_id = completed + 1, last_completed_event_id = completed,
      search_attributes = CASE WHEN p_effects ? 'upsert' THEN chronicle.merge_search_attributes(x.search_attributes, p_effects->'upsert')
                               ELSE x.search_attributes END,
      status = coalesce(p_close->>'status', x.status),
      result = CASE WHEN closing THEN p_close->'result' ELSE x.result END,
      failure = CASE WHEN closing THEN p_close->'failure' ELSE x.failure END,
      close_reason = CASE WHEN new_run IS NOT NULL THEN new_run::text ELSE x.close_reason END,
      closed_at = CASE WHEN closing THEN now() ELSE x.closed_at END
  WHERE x.run_id = ex.run_id
  RETURNING x.search_attributes INTO current_attributes;

  IF closing THEN
    IF new_run IS NOT NULL THEN
      -- The next run of the chain: same workflow id; type, queue, search attributes, memo and
      -- run timeout default to this run's; parent, first run and execution deadline inherited.
      can := p_close->'continueAsNew';
      SELECT h.attributes INTO first_attrs FROM chronicle.history_events h WHERE h.run_id = ex.run_id AND h.event_id = 1;
      IF NOT chronicle.insert_run(new_run, ex.namespace, ex.workflow_id,
           coalesce(can->>'workflowType', ex.workflow_type), coalesce(can->>'taskQueue', ex.task_queue), can->'args', NULL,
           coalesce(can->'searchAttributes', current_attributes), coalesce(can->'memo', ex.memo),
           CASE WHEN ex.parent_run_id IS NOT NULL THEN jsonb_build_object('namespace', ex.parent_namespace, 'workflowId', ex.parent_workflow_id,
             'runId', ex.parent_run_id, 'seq', ex.parent_seq, 'parentClosePolicy', ex.parent_close_policy) END,
           coalesce(ex.first_execution_run_id, ex.run_id), ex.run_id,
           (first_attrs->>'workflowExecutionTimeoutMs')::float8,
           coalesce((can->>'workflowRunTimeoutMs')::float8, (first_attrs->>'workflowRunTimeoutMs')::float8),
           ex.execution_deadline) THEN
        RAISE EXCEPTION 'continue-as-new of run % found another open run of workflow id %', ex.run_id, ex.workflow_id;
      END IF;
      notes := notes || jsonb_build_array(jsonb_build_array('chronicle_wft', ex.namespace || '/' || coalesce(can->>'taskQueue', ex.task_queue)));
    END IF;
    notes := notes || chronicle.apply_run_close(ex.run_id, 0);
    RETURN QUERY SELECT completed, true, '[]'::jsonb, notes;
    RETURN;
  END IF;

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

  -- After the inserts above, so that an activity scheduled and cancelled by the same batch
  -- is cancelled too.
  IF p_effects ? 'cancelActivities' THEN
    notes := notes || chronicle.cancel_activities(ex, p_effects->'cancelActivities');
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

-- Completes a claimed workflow task, as in 0002, with two additions:
-- - F8b (RELIABILITY): a completion that would close the run (complete, fail, cancel,
--   continue-as-new) while the inbox holds a signal or an update the task did not see is
--   rejected: nothing is recorded, the task is pending again at once (same attempt), and
--   `rejected` is 'UNHANDLED_EVENTS'. The next claim hands the worker those events too. Only
--   checked when the task is dirty: a producer that delivered after the claim marked it so.
-- - claimed WorkflowExecutionUpdateAdmitted events are removed from the inbox but never
--   appended (inbox-only); an admitted update the task neither accepted nor rejected is
--   rejected here (chronicle.reject_unhandled_updates).
-- The task row: deleted unless dirty, which a producer (or this very batch, delivering to
-- its own run: a child started, an external signal answered) set; then it is left pending.
CREATE FUNCTION chronicle.complete_workflow_task(
  p_run_id uuid, p_lease_id uuid, p_identity text, p_workflow_time bigint, p_command_events jsonb,
  p_activities jsonb, p_timers jsonb, p_canceled_timers integer[], p_close jsonb, p_eager_max integer,
  p_effects jsonb, p_limits jsonb)
RETURNS TABLE (completed_event_id integer, closed boolean, eager jsonb, notifications jsonb, rejected text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  ex chronicle.executions%ROWTYPE;
  tk chronicle.workflow_tasks%ROWTYPE;
  task_found boolean;
  seen jsonb;
  admitted text[];
  notes jsonb;
  r record;
BEGIN
  -- A closing completion (not a continue-as-new: the parent is not told of that) locks the
  -- run's parent first; see the lock order at the top. (chronicle.lock_parent_of, inlined on
  -- this path.)
  IF p_close IS NOT NULL AND p_close->>'status' <> 'CONTINUED_AS_NEW' THEN
    PERFORM 1 FROM chronicle.executions p
    WHERE p.run_id = (SELECT x.parent_run_id FROM chronicle.executions x WHERE x.run_id = p_run_id)
    FOR NO KEY UPDATE;
  END IF;
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

  -- The event types here are MUST_SEE_EVENT_TYPES of engine/protocol/events.ts.
  IF p_close IS NOT NULL AND tk.dirty AND EXISTS (
       SELECT 1 FROM chronicle.workflow_inbox i
       WHERE i.run_id = p_run_id AND i.event_type IN ('WorkflowExecutionSignaled', 'WorkflowExecutionUpdateAdmitted')
         AND i.id <> ALL(coalesce(tk.claimed_inbox_ids, '{}'))) THEN
    UPDATE chronicle.workflow_tasks w
    SET status = 'pending', visible_at = now(), lease_id = NULL, lease_expires_at = NULL, dirty = false, claimed_inbox_ids = NULL
    WHERE w.run_id = p_run_id;
    RETURN QUERY SELECT 0, false, '[]'::jsonb,
      jsonb_build_array(jsonb_build_array('chronicle_wft', tk.namespace || '/' || tk.task_queue)), 'UNHANDLED_EVENTS'::text;
    RETURN;
  END IF;

  WITH d AS (
    DELETE FROM chronicle.workflow_inbox i WHERE i.id = ANY(coalesce(tk.claimed_inbox_ids, '{}'))
    RETURNING i.id, i.event_type, i.attributes)
  SELECT coalesce(jsonb_agg(jsonb_build_object('eventType', d.event_type, 'attributes', d.attributes) ORDER BY d.id)
                    FILTER (WHERE d.event_type <> 'WorkflowExecutionUpdateAdmitted'), '[]'::jsonb),
         array_agg(d.attributes->>'updateId') FILTER (WHERE d.event_type = 'WorkflowExecutionUpdateAdmitted')
  INTO seen, admitted FROM d;

  SELECT * INTO r FROM chronicle.record_workflow_task(ex, seen, tk.attempt, p_identity, p_workflow_time, p_command_events,
    p_activities, p_timers, p_canceled_timers, p_close, p_eager_max, p_effects, p_limits);
  notes := r.notifications;
  IF r.closed THEN
    RETURN QUERY SELECT r.completed_event_id, true, r.eager, notes, NULL::text;
    RETURN;
  END IF;
  IF admitted IS NOT NULL THEN
    notes := notes || chronicle.reject_unhandled_updates(p_run_id, admitted);
  END IF;

  DELETE FROM chronicle.workflow_tasks w WHERE w.run_id = p_run_id AND NOT w.dirty;
  IF NOT FOUND THEN
    UPDATE chronicle.workflow_tasks w
    SET status = 'pending', visible_at = now(), attempt = 1, lease_id = NULL, lease_expires_at = NULL,
        dirty = false, claimed_inbox_ids = NULL, last_failure = NULL
    WHERE w.run_id = p_run_id;
    notes := notes || jsonb_build_array(jsonb_build_array('chronicle_wft', tk.namespace || '/' || tk.task_queue));
  END IF;
  RETURN QUERY SELECT r.completed_event_id, false, r.eager, notes, NULL::text;
END $$;

-- As in 0002, with the commands of record_workflow_task (p_effects, p_limits). F8b needs no
-- check here: the batch applies only while the run has no workflow task row, hence no inbox
-- event at all (every delivery upserts the task row).
CREATE FUNCTION chronicle.complete_activity_and_workflow_task(
  p_task_id bigint, p_run_id uuid, p_lease_id uuid, p_result jsonb, p_identity text,
  p_previous_completed_event_id integer, p_workflow_time bigint, p_command_events jsonb,
  p_activities jsonb, p_timers jsonb, p_canceled_timers integer[], p_close jsonb, p_eager_max integer,
  p_eager_queue text, p_lease_ms integer, p_effects jsonb, p_limits jsonb)
RETURNS TABLE (applied boolean, completed_event_id integer, closed boolean, eager jsonb, eager_workflow_task jsonb, notifications jsonb)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  ex chronicle.executions%ROWTYPE;
  act chronicle.activity_tasks%ROWTYPE;
  r record;
BEGIN
  IF p_close IS NOT NULL AND p_close->>'status' <> 'CONTINUED_AS_NEW' THEN
    PERFORM 1 FROM chronicle.executions p
    WHERE p.run_id = (SELECT x.parent_run_id FROM chronicle.executions x WHERE x.run_id = p_run_id)
    FOR NO KEY UPDATE;
  END IF;
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
      1, p_identity, p_workflow_time, p_command_events, p_activities, p_timers, p_canceled_timers, p_close, p_eager_max,
      p_effects, p_limits);
    RETURN QUERY SELECT true, r.completed_event_id, r.closed, r.eager, NULL::jsonb, r.notifications;
    RETURN;
  END IF;

  RETURN QUERY SELECT false, NULL::integer, false, '[]'::jsonb, c.eager, c.notifications
  FROM chronicle.complete_activity_task(p_task_id, p_run_id, p_lease_id, p_result, p_identity, p_eager_queue, p_lease_ms) c;
END $$;
