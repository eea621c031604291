/**
 * Row types for kysely, one interface per table of `migrations/`. Kysely table names carry
 * the schema: `db.selectFrom('chronicle.executions')`.
 *
 * Conventions, matching what `createPool` (connect.ts) makes pg return:
 * - `timestamptz` is selected as a `Date`; insert or update a `Date`, an ISO string, or an SQL
 *   expression (`sql\`now()\``, which is usually what you want: the database clock is the one
 *   clock every process shares).
 * - `bigint` is selected as a decimal `string` (int8 does not fit a JS number), `bigint[]` as
 *   `string[]`.
 * - `jsonb` is selected as `unknown` (narrow it where it is read) and written as JSON text:
 *   `JSON.stringify(value)`. The insert type is deliberately `string`: pg turns a JS array
 *   parameter into a Postgres array literal (`{1,2}`), not JSON, so passing `args` (an array)
 *   straight through would fail or, worse, store the wrong thing.
 * - Columns with a database default are optional on insert (`Generated`); identity columns
 *   (`GENERATED ALWAYS`) cannot be written at all (`GeneratedAlways`).
 *
 * Keep this file in step with the migrations: a new column in SQL is a new field here.
 */
import type { ColumnType, Generated, GeneratedAlways } from 'kysely';
import type { WorkflowExecutionStatus } from '../engine.js';

/** A `timestamptz NOT NULL` column without a default. */
export type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** A `timestamptz NOT NULL DEFAULT now()` column. */
export type TimestampDefaultNow = ColumnType<Date, Date | string | undefined, Date | string>;
/** A nullable `timestamptz` column. */
export type NullableTimestamp = ColumnType<Date | null, Date | string | null, Date | string | null>;

/** JSON text, as produced by `JSON.stringify`: what a jsonb column is written with. */
export type JsonText = string;
/** A `jsonb NOT NULL` column. */
export type Jsonb = ColumnType<unknown, JsonText, JsonText>;
/** A nullable `jsonb` column. */
export type NullableJsonb = ColumnType<unknown, JsonText | null, JsonText | null>;

/** A `bigint GENERATED ALWAYS AS IDENTITY` column, selected as a decimal string. */
export type BigintIdentity = GeneratedAlways<string>;

export type WorkflowTaskStatus = 'pending' | 'running';
export type ActivityTaskStatus = 'pending' | 'running';

/** `chronicle.migrations`: created by `migrate()` itself, one row per applied migration file. */
export interface MigrationsTable {
  /** The file's number: `0001_init.sql` → 1. */
  id: number;
  /** The file's name without `.sql`: `0001_init`. */
  name: string;
  applied_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

/** `chronicle.executions`: one row per run. */
export interface ExecutionsTable {
  run_id: string;
  namespace: string;
  workflow_id: string;
  workflow_type: string;
  task_queue: string;
  status: Generated<WorkflowExecutionStatus>;
  /** The id the next appended history event gets; the optimistic-concurrency token. */
  next_event_id: Generated<number>;
  /** Id of the last WorkflowTaskCompleted event (0 before the first). */
  last_completed_event_id: Generated<number>;
  result: NullableJsonb;
  failure: NullableJsonb;
  close_reason: string | null;
  started_at: TimestampDefaultNow;
  closed_at: NullableTimestamp;
  /** `{ name: [values…] }`; names declared in search_attribute_types. */
  search_attributes: ColumnType<unknown, JsonText | undefined, JsonText>;
  memo: NullableJsonb;
  parent_namespace: ColumnType<string | null, string | null | undefined, string | null>;
  parent_workflow_id: ColumnType<string | null, string | null | undefined, string | null>;
  parent_run_id: ColumnType<string | null, string | null | undefined, string | null>;
  parent_seq: ColumnType<number | null, number | null | undefined, number | null>;
  parent_close_policy: ColumnType<'TERMINATE' | 'ABANDON' | 'REQUEST_CANCEL' | null, string | null | undefined, string | null>;
  first_execution_run_id: ColumnType<string | null, string | null | undefined, string | null>;
  continued_from_run_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** Kept by a trigger on history_events; bigint → decimal string. */
  history_size_bytes: ColumnType<string, never, never>;
  execution_deadline: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  run_deadline: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

/** `chronicle.history_events`: append-only (a trigger refuses UPDATE). */
export interface HistoryEventsTable {
  run_id: string;
  event_id: number;
  event_type: string;
  attributes: Jsonb;
  headers: NullableJsonb;
  created_at: TimestampDefaultNow;
}

/** `chronicle.workflow_inbox`: events waiting for the run's next workflow task. */
export interface WorkflowInboxTable {
  id: BigintIdentity;
  run_id: string;
  event_type: string;
  attributes: Jsonb;
  created_at: TimestampDefaultNow;
}

/** `chronicle.workflow_tasks`: at most one per run. */
export interface WorkflowTasksTable {
  run_id: string;
  namespace: string;
  task_queue: string;
  status: Generated<WorkflowTaskStatus>;
  visible_at: TimestampDefaultNow;
  attempt: Generated<number>;
  dirty: Generated<boolean>;
  lease_id: string | null;
  lease_expires_at: NullableTimestamp;
  /** Ids of the inbox rows the running task was given (bigint[] → decimal strings). */
  claimed_inbox_ids: ColumnType<string[] | null, readonly string[] | null, readonly string[] | null>;
  identity: string | null;
  last_failure: NullableJsonb;
  created_at: TimestampDefaultNow;
}

/** `chronicle.activity_tasks`: one row per scheduled activity until its final outcome. */
export interface ActivityTasksTable {
  id: BigintIdentity;
  namespace: string;
  run_id: string;
  seq: number;
  workflow_id: string;
  workflow_type: string;
  workflow_task_queue: string;
  activity_type: string;
  task_queue: string;
  args: Jsonb;
  /** 0..100, higher is claimed first. */
  priority: number;
  status: Generated<ActivityTaskStatus>;
  attempt: Generated<number>;
  visible_at: TimestampDefaultNow;
  scheduled_at: TimestampDefaultNow;
  started_at: NullableTimestamp;
  lease_id: string | null;
  lease_expires_at: NullableTimestamp;
  last_heartbeat_at: NullableTimestamp;
  heartbeat_details: NullableJsonb;
  last_failure: NullableJsonb;
  identity: string | null;
  cancel_requested: Generated<boolean>;
  start_to_close_ms: number;
  heartbeat_timeout_ms: number | null;
  schedule_to_close_deadline: NullableTimestamp;
  retry_policy: Jsonb;
}

/** `chronicle.timers`: one row per pending timer. */
export interface TimersTable {
  run_id: string;
  seq: number;
  namespace: string;
  workflow_task_queue: string;
  fire_at: Timestamp;
}

/** `chronicle.task_queue_workflow_types`: which workflow types a task queue's workers run. */
export interface TaskQueueWorkflowTypesTable {
  namespace: string;
  task_queue: string;
  workflow_type: string;
  last_seen_at: TimestampDefaultNow;
}

/** `chronicle.search_attribute_types`: declared search attributes per namespace. */
export interface SearchAttributeTypesTable {
  namespace: string;
  name: string;
  type: 'Keyword' | 'Text' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';
}

/** `chronicle.workflow_updates`: one row per update request, admission to outcome. */
export interface WorkflowUpdatesTable {
  run_id: string;
  update_id: string;
  namespace: string;
  workflow_id: string;
  name: string;
  args: Jsonb;
  stage: ColumnType<'ADMITTED' | 'ACCEPTED' | 'COMPLETED', 'ADMITTED' | 'ACCEPTED' | 'COMPLETED' | undefined, 'ADMITTED' | 'ACCEPTED' | 'COMPLETED'>;
  outcome: NullableJsonb;
  identity: string | null;
  created_at: TimestampDefaultNow;
  updated_at: TimestampDefaultNow;
}

/** `chronicle.query_tasks`: queries waiting for (or answered by) a worker. Never history. */
export interface QueryTasksTable {
  id: string;
  namespace: string;
  task_queue: string;
  run_id: string;
  query_type: string;
  args: Jsonb;
  status: Generated<'pending' | 'running' | 'answered'>;
  lease_expires_at: NullableTimestamp;
  outcome: NullableJsonb;
  created_at: TimestampDefaultNow;
  expires_at: Timestamp;
}

/** The whole schema, as kysely sees it. */
export interface Database {
  'chronicle.migrations': MigrationsTable;
  'chronicle.executions': ExecutionsTable;
  'chronicle.history_events': HistoryEventsTable;
  'chronicle.workflow_inbox': WorkflowInboxTable;
  'chronicle.workflow_tasks': WorkflowTasksTable;
  'chronicle.activity_tasks': ActivityTasksTable;
  'chronicle.timers': TimersTable;
  'chronicle.task_queue_workflow_types': TaskQueueWorkflowTypesTable;
  'chronicle.search_attribute_types': SearchAttributeTypesTable;
  'chronicle.workflow_updates': WorkflowUpdatesTable;
  'chronicle.query_tasks': QueryTasksTable;
}
