/**
 * The external side-effect ledger: every test activity's FIRST action is one INSERT here, on
 * its own pool and in its own autocommit statement, outside any Chronicle transaction. It is
 * the "email that was sent": once the row is committed, the side effect happened, whatever
 * becomes of the attempt afterwards (the worker is killed, the lease expires, the completion
 * is rejected as stale). The invariant checker compares it with history (I3, I8).
 *
 * `run_id` and `activity_type` are extra to the minimal (workflow_id, activity_seq, attempt,
 * pid, at): they let the checker join a row to exactly one run even if a workflow id is
 * reused, and make failure examples readable.
 */
import pg from 'pg';

/** Idempotent; run once per test database, before any worker starts. */
export const LEDGER_DDL = `
  CREATE TABLE IF NOT EXISTS public.fault_ledger (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workflow_id    text        NOT NULL,
    run_id         text,
    activity_seq   text        NOT NULL,
    activity_type  text,
    attempt        int         NOT NULL,
    pid            int         NOT NULL,
    -- clock_timestamp(), not now(): the wall-clock moment of this statement, comparable
    -- with the supervisor's kill times (same host clock).
    at             timestamptz NOT NULL DEFAULT clock_timestamp()
  );
  CREATE INDEX IF NOT EXISTS fault_ledger_by_activity ON public.fault_ledger (workflow_id, activity_seq, attempt);`;

export interface ExecutionInfo {
  readonly workflowId: string;
  readonly runId?: string;
  /** The activity's seq within its run (ActivityInfo.activityId). */
  readonly activitySeq: string;
  readonly activityType?: string;
  readonly attempt: number;
  /** The process that executed the attempt (default: this one). */
  readonly pid?: number;
}

export interface LedgerRow {
  readonly id: number;
  readonly workflowId: string;
  readonly runId: string | null;
  readonly activitySeq: string;
  readonly activityType: string | null;
  readonly attempt: number;
  readonly pid: number;
  /** ms since epoch (host clock, via clock_timestamp()). */
  readonly at: number;
}

export async function createLedger(pool: pg.Pool): Promise<void> {
  await pool.query(LEDGER_DDL);
}

/** Records one execution of an activity attempt. Call it first thing in every test activity. */
export async function recordExecution(pool: pg.Pool, info: ExecutionInfo): Promise<void> {
  await pool.query(
    `INSERT INTO public.fault_ledger (workflow_id, run_id, activity_seq, activity_type, attempt, pid) VALUES ($1, $2, $3, $4, $5, $6)`,
    [info.workflowId, info.runId ?? null, info.activitySeq, info.activityType ?? null, info.attempt, info.pid ?? process.pid],
  );
}

interface RawRow {
  id: string;
  workflow_id: string;
  run_id: string | null;
  activity_seq: string;
  activity_type: string | null;
  attempt: number;
  pid: number;
  at_ms: string;
}

const SELECT_ROWS = `
  SELECT id, workflow_id, run_id, activity_seq, activity_type, attempt, pid,
         (extract(epoch FROM at) * 1000)::bigint AS at_ms
  FROM public.fault_ledger`;

function toRow(r: RawRow): LedgerRow {
  return {
    id: Number(r.id),
    workflowId: r.workflow_id,
    runId: r.run_id,
    activitySeq: r.activity_seq,
    activityType: r.activity_type,
    attempt: r.attempt,
    pid: r.pid,
    at: Number(r.at_ms),
  };
}

/** Ledger rows in execution order, optionally of one workflow. */
export async function ledgerRows(pool: pg.Pool, filter: { readonly workflowId?: string } = {}): Promise<LedgerRow[]> {
  const { rows } = filter.workflowId
    ? await pool.query<RawRow>(`${SELECT_ROWS} WHERE workflow_id = $1 ORDER BY at, id`, [filter.workflowId])
    : await pool.query<RawRow>(`${SELECT_ROWS} ORDER BY at, id`);
  return rows.map(toRow);
}

export interface ActivityExecutions {
  readonly workflowId: string;
  readonly runId: string | null;
  readonly activitySeq: string;
  /** In execution order. */
  readonly executions: readonly LedgerRow[];
}

/** Ledger rows grouped per activity (workflow, run, seq), in execution order. */
export async function executionsByActivity(pool: pg.Pool): Promise<ActivityExecutions[]> {
  const groups = new Map<string, ActivityExecutions & { executions: LedgerRow[] }>();
  for (const row of await ledgerRows(pool)) {
    const key = `${row.workflowId}\u0000${row.runId ?? ''}\u0000${row.activitySeq}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { workflowId: row.workflowId, runId: row.runId, activitySeq: row.activitySeq, executions: [] }));
    g.executions.push(row);
  }
  return [...groups.values()];
}

/** Activities executed more than once. */
export async function duplicateExecutions(pool: pg.Pool): Promise<ActivityExecutions[]> {
  return (await executionsByActivity(pool)).filter((g) => g.executions.length > 1);
}

export interface LedgerSummary {
  readonly executions: number;
  readonly activities: number;
  /** Executions beyond the first of each activity. */
  readonly duplicateExecutions: number;
  readonly activitiesExecutedMoreThanOnce: number;
}

export async function ledgerSummary(pool: pg.Pool): Promise<LedgerSummary> {
  const groups = await executionsByActivity(pool);
  const executions = groups.reduce((n, g) => n + g.executions.length, 0);
  return {
    executions,
    activities: groups.length,
    duplicateExecutions: executions - groups.length,
    activitiesExecutedMoreThanOnce: groups.filter((g) => g.executions.length > 1).length,
  };
}

// ---- the pool activities use inside a worker process --------------------------------------

let envPool: pg.Pool | undefined;

/**
 * A pool on process.env.DATABASE_URL, created on first use: the ledger connection of a worker
 * process's activities. Separate from Chronicle's pool on purpose (the side effect must not
 * ride on, or wait for, an engine transaction).
 */
export function ledgerPoolFromEnv(): pg.Pool {
  if (envPool) return envPool;
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('fault ledger: DATABASE_URL is not set in this process; the supervisor passes it to every worker process');
  envPool = new pg.Pool({ connectionString: url, max: 4, application_name: 'fault-ledger' });
  // A connection error between queries must not crash the worker; the next query reports it.
  envPool.on('error', (err) => process.stderr.write(`fault ledger pool error: ${err.message}\n`));
  return envPool;
}

export async function closeLedgerPoolFromEnv(): Promise<void> {
  const p = envPool;
  envPool = undefined;
  await p?.end();
}
