-- 0003: the tables and columns of the full programming model (issue 3): parents and
-- children, continue-as-new chains, search attributes and the list filter, history size,
-- run and execution deadlines, updates and queries. Functions that use them come in later
-- migrations; this one only shapes the data.

-- ---- executions: lineage, visibility, limits, deadlines ------------------------------------
ALTER TABLE chronicle.executions
  -- Indexed attributes for `listWorkflows`: { name: [values…] } (Temporal's legacy shape).
  -- Types are declared in search_attribute_types and checked on every write.
  ADD COLUMN search_attributes      jsonb   NOT NULL DEFAULT '{}',
  ADD COLUMN memo                   jsonb,
  -- Set for a child run (and every run of a child's continue-as-new chain).
  ADD COLUMN parent_namespace       text,
  ADD COLUMN parent_workflow_id     text,
  ADD COLUMN parent_run_id          uuid,
  ADD COLUMN parent_seq             integer,
  ADD COLUMN parent_close_policy    text CHECK (parent_close_policy IN ('TERMINATE', 'ABANDON', 'REQUEST_CANCEL')),
  -- The first run of this run's continue-as-new chain (its own id for a first run).
  ADD COLUMN first_execution_run_id uuid,
  -- The run this one continues, if any.
  ADD COLUMN continued_from_run_id  uuid,
  -- Sum of octet_length(attributes::text) over the run's history (kept by a trigger).
  ADD COLUMN history_size_bytes     bigint  NOT NULL DEFAULT 0,
  -- workflowExecutionTimeout (whole chain) and workflowRunTimeout (this run).
  ADD COLUMN execution_deadline     timestamptz,
  ADD COLUMN run_deadline           timestamptz;

-- The list filter's common shapes: newest first, by type, by status; search attributes by
-- containment (`search_attributes @> '{"CustomerId":["c-1"]}'`).
CREATE INDEX executions_list ON chronicle.executions (namespace, started_at DESC, run_id);
CREATE INDEX executions_list_by_type ON chronicle.executions (namespace, workflow_type, started_at DESC);
CREATE INDEX executions_list_by_status ON chronicle.executions (namespace, status, started_at DESC);
CREATE INDEX executions_search_attributes ON chronicle.executions USING gin (search_attributes jsonb_path_ops);
-- Children still open when their parent closes (parent close policy).
CREATE INDEX executions_open_children ON chronicle.executions (parent_run_id) WHERE parent_run_id IS NOT NULL AND status = 'RUNNING';
-- Runs whose deadline can pass (the timeout loop walks these).
CREATE INDEX executions_deadlines ON chronicle.executions (least(execution_deadline, run_deadline))
  WHERE status = 'RUNNING' AND (execution_deadline IS NOT NULL OR run_deadline IS NOT NULL);

-- History size per run, kept by one statement-level trigger rather than by every path that
-- appends: one UPDATE per appending statement (not per event), and no path can forget it.
CREATE FUNCTION chronicle.history_events_count_size() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE chronicle.executions x SET history_size_bytes = x.history_size_bytes + n.bytes
  FROM (SELECT run_id, sum(octet_length(attributes::text))::bigint AS bytes FROM new_events GROUP BY run_id) n
  WHERE x.run_id = n.run_id;
  RETURN NULL;
END $$;
CREATE TRIGGER history_events_size AFTER INSERT ON chronicle.history_events
  REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION chronicle.history_events_count_size();

-- ---- search attribute types -----------------------------------------------------------------
-- Temporal's types. A search attribute must be declared before use (as in Temporal); the
-- engine rejects unknown names and values of the wrong type, naming the attribute.
CREATE TABLE chronicle.search_attribute_types (
  namespace  text NOT NULL,
  name       text NOT NULL,
  type       text NOT NULL CHECK (type IN ('Keyword', 'Text', 'Int', 'Double', 'Bool', 'Datetime', 'KeywordList')),
  PRIMARY KEY (namespace, name)
);
-- Temporal's development server predeclares these; so does Chronicle, in the default namespace.
INSERT INTO chronicle.search_attribute_types (namespace, name, type) VALUES
  ('default', 'CustomKeywordField', 'Keyword'),
  ('default', 'CustomStringField', 'Text'),
  ('default', 'CustomTextField', 'Text'),
  ('default', 'CustomIntField', 'Int'),
  ('default', 'CustomDoubleField', 'Double'),
  ('default', 'CustomBoolField', 'Bool'),
  ('default', 'CustomDatetimeField', 'Datetime');

-- ---- updates ----------------------------------------------------------------------------------
-- One row per update request, from admission to its outcome. A validator's rejection leaves
-- the row COMPLETED with a failure outcome and nothing in history; an accepted update is in
-- history (WorkflowExecutionUpdateAccepted, then …Completed) and mirrored here so callers can
-- wait for a stage without reading history.
CREATE TABLE chronicle.workflow_updates (
  run_id        uuid        NOT NULL,
  update_id     text        NOT NULL,
  namespace     text        NOT NULL,
  workflow_id   text        NOT NULL,
  name          text        NOT NULL,
  args          jsonb       NOT NULL,
  stage         text        NOT NULL DEFAULT 'ADMITTED' CHECK (stage IN ('ADMITTED', 'ACCEPTED', 'COMPLETED')),
  -- { result } or { failure } once COMPLETED.
  outcome       jsonb,
  identity      text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, update_id)
);
CREATE INDEX workflow_updates_by_workflow ON chronicle.workflow_updates (namespace, workflow_id, update_id);

-- ---- queries ----------------------------------------------------------------------------------
-- A query waits here for a worker of the run's task queue. Nothing about it is ever written to
-- history; rows are deleted once the caller read the answer, or when they expire.
CREATE TABLE chronicle.query_tasks (
  id            uuid        PRIMARY KEY,
  namespace     text        NOT NULL,
  task_queue    text        NOT NULL,
  run_id        uuid        NOT NULL,
  query_type    text        NOT NULL,
  args          jsonb       NOT NULL,
  status        text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'answered')),
  lease_expires_at timestamptz,
  -- { result } or { failure } once answered.
  outcome       jsonb,
  created_at    timestamptz NOT NULL DEFAULT now(),
  -- The caller stops waiting at this time; the row may then be deleted.
  expires_at    timestamptz NOT NULL
);
CREATE INDEX query_tasks_claim ON chronicle.query_tasks (namespace, task_queue, created_at) WHERE status = 'pending';
CREATE INDEX query_tasks_expiry ON chronicle.query_tasks (expires_at);
