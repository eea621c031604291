/**
 * The invariant checker (RELIABILITY.md, harness item 6): named checks over a test database
 * after a fault test, each with how many things it checked, how many violations it found and
 * a few examples. Pure SQL reads plus the supervisor's records; it changes nothing.
 *
 *   I1  run closure: exactly one terminal event per closed run, matching executions.status;
 *       none for open runs; nothing appended after it but its WorkflowTaskCompleted; no
 *       workflow task, activity task, timer or inbox row left for a closed run
 *   I2  history shape: event ids dense 1..n, event 1 is WorkflowExecutionStarted,
 *       next_event_id = n + 1, created_at non-decreasing in id order; no orphan events
 *   I3  activities: one ActivityTaskScheduled per seq, ≤ 1 outcome (Completed/Failed/TimedOut)
 *       and never an outcome without a schedule; ledger executions ≤ the recorded attempt
 *       count (not for an attempt its run's close dropped: nothing records it); no attempt
 *       number executed twice; no ledger row for an unscheduled activity
 *   I4  timers: ≤ 1 TimerFired/TimerCanceled per TimerStarted, exactly 1 in a COMPLETED run;
 *       never fired early (TimerFired is appended after fireAt, by the DB clock); no
 *       TimerFired without a TimerStarted
 *   I6  nothing stuck silently: every open run has a workflow task, an activity task or a
 *       timer row; every open activity has its activity task row (or its outcome waits in
 *       the inbox); every open timer has its timer row (or its firing waits in the inbox);
 *       inbox events always have a workflow task to deliver them
 *   I8  every duplicate execution in the ledger is explained: the earlier execution's process
 *       was killed (or paused) before the next execution started
 *   I9  (from the supervisor) no process died unless the test killed it
 *
 * I5 (signals) and I7 (replay of every final history) come with signals and the replayer.
 */
import type pg from 'pg';
import type { KillRecord, ProcessCheck } from './supervisor.js';

export interface CheckResult {
  readonly name: string;
  readonly description: string;
  /** How many things (runs, activities, timers, duplicates, processes) the check looked at. */
  readonly checked: number;
  readonly violations: number;
  /** Up to MAX_EXAMPLES of the violations, as JSON-friendly objects. */
  readonly examples: unknown[];
}

export interface InvariantInput {
  /** A pool on the test database. */
  readonly pool: pg.Pool;
  /** The supervisor's kill records (SIGKILL and SIGSTOP, by the test or a failpoint). */
  readonly kills?: readonly KillRecord[];
  /** The supervisor's I9 result (`supervisor.checkProcesses()`), appended as is. */
  readonly processes?: ProcessCheck;
}

const MAX_EXAMPLES = 5;

// Every status a run can close with: a run that continued as new or timed out is closed too,
// and its closing event is its one terminal event (continue-as-new tests, late-event tests).
const TERMINAL_BY_STATUS: Readonly<Record<string, string>> = {
  COMPLETED: 'WorkflowExecutionCompleted',
  FAILED: 'WorkflowExecutionFailed',
  CANCELLED: 'WorkflowExecutionCanceled',
  TERMINATED: 'WorkflowExecutionTerminated',
  CONTINUED_AS_NEW: 'WorkflowExecutionContinuedAsNew',
  TIMED_OUT: 'WorkflowExecutionTimedOut',
};
const TERMINAL_TYPES = Object.values(TERMINAL_BY_STATUS);
const ACTIVITY_OUTCOMES = ['ActivityTaskCompleted', 'ActivityTaskFailed', 'ActivityTaskTimedOut'];

class Check {
  checked = 0;
  violations = 0;
  readonly examples: unknown[] = [];
  constructor(
    readonly name: string,
    readonly description: string,
  ) {}
  violation(example: unknown): void {
    this.violations++;
    if (this.examples.length < MAX_EXAMPLES) this.examples.push(example);
  }
  result(): CheckResult {
    return { name: this.name, description: this.description, checked: this.checked, violations: this.violations, examples: this.examples };
  }
}

/** Runs every check and returns one result per check, in order I1, I2, I3, I4, I6, I8, (I9). */
export async function checkInvariants(input: InvariantInput): Promise<CheckResult[]> {
  const { pool } = input;
  const hasLedger = (await pool.query<{ t: string | null }>(`SELECT to_regclass('public.fault_ledger')::text AS t`)).rows[0]?.t !== null;
  const results = [await checkI1(pool), await checkI2(pool), await checkI3(pool, hasLedger), await checkI4(pool), await checkI6(pool), await checkI8(pool, hasLedger, input.kills ?? [])];
  if (input.processes) results.push(input.processes);
  return results;
}

/** Runs the checks and throws one error listing every violated check with its examples. */
export async function assertInvariants(input: InvariantInput): Promise<CheckResult[]> {
  const results = await checkInvariants(input);
  if (results.some((r) => r.violations > 0)) throw new Error(invariantFailureMessage(results));
  return results;
}

/** The table of checks followed by the examples of every violated one. */
export function invariantFailureMessage(results: readonly CheckResult[]): string {
  const failed = results.filter((r) => r.violations > 0);
  return (
    `invariants violated:\n${formatInvariants(results)}\n\n` +
    failed.map((r) => `${r.name} examples:\n${r.examples.map((e) => '  ' + JSON.stringify(e)).join('\n')}`).join('\n\n')
  );
}

/** One line per check: `I1  ok   checked 30  run closure …`. */
export function formatInvariants(results: readonly CheckResult[]): string {
  return results
    .map((r) => `  ${r.name.padEnd(3)} ${r.violations ? `FAIL ${r.violations}` : 'ok'.padEnd(6)} checked ${String(r.checked).padStart(4)}  ${r.description}`)
    .join('\n');
}

// ---- I1 -------------------------------------------------------------------------------------

async function checkI1(pool: pg.Pool): Promise<CheckResult> {
  const c = new Check('I1', 'each closed run has exactly one terminal event matching its status, nothing after it, and no leftover work rows');
  const { rows } = await pool.query<{
    run_id: string;
    workflow_id: string;
    status: string;
    closed_at: Date | null;
    terminals: string[] | null;
    first_terminal_id: number | null;
    after_terminal: string[] | null;
    workflow_tasks: number;
    activity_tasks: number;
    timers: number;
    inbox: number;
  }>(
    `WITH term AS (
       SELECT run_id, array_agg(event_type ORDER BY event_id) AS terminals, min(event_id) AS first_terminal_id
       FROM chronicle.history_events WHERE event_type = ANY($1::text[]) GROUP BY run_id
     )
     SELECT e.run_id, e.workflow_id, e.status, e.closed_at, t.terminals, t.first_terminal_id,
       (SELECT array_agg(h.event_type ORDER BY h.event_id) FROM chronicle.history_events h
         WHERE h.run_id = e.run_id AND h.event_id > t.first_terminal_id) AS after_terminal,
       (SELECT count(*) FROM chronicle.workflow_tasks x WHERE x.run_id = e.run_id)::int AS workflow_tasks,
       (SELECT count(*) FROM chronicle.activity_tasks x WHERE x.run_id = e.run_id)::int AS activity_tasks,
       (SELECT count(*) FROM chronicle.timers x WHERE x.run_id = e.run_id)::int AS timers,
       (SELECT count(*) FROM chronicle.workflow_inbox x WHERE x.run_id = e.run_id)::int AS inbox
     FROM chronicle.executions e LEFT JOIN term t ON t.run_id = e.run_id`,
    [TERMINAL_TYPES],
  );
  for (const r of rows) {
    c.checked++;
    const run = { runId: r.run_id, workflowId: r.workflow_id, status: r.status };
    const terminals = r.terminals ?? [];
    if (r.status === 'RUNNING') {
      if (terminals.length) c.violation({ ...run, problem: 'open run has terminal events', terminals });
      continue;
    }
    const expected = TERMINAL_BY_STATUS[r.status];
    if (terminals.length !== 1) c.violation({ ...run, problem: `closed run has ${terminals.length} terminal events (want 1)`, terminals });
    else if (terminals[0] !== expected) c.violation({ ...run, problem: `status ${r.status} but terminal event ${terminals[0]}`, expected });
    const after = r.after_terminal ?? [];
    if (after.some((t) => t !== 'WorkflowTaskCompleted') || after.length > 1) c.violation({ ...run, problem: 'events appended after the terminal event', after });
    if (!r.closed_at) c.violation({ ...run, problem: 'closed run without closed_at' });
    const left = { workflowTasks: r.workflow_tasks, activityTasks: r.activity_tasks, timers: r.timers, inbox: r.inbox };
    if (r.workflow_tasks + r.activity_tasks + r.timers + r.inbox > 0) c.violation({ ...run, problem: 'work rows left for a closed run', ...left });
  }
  return c.result();
}

// ---- I2 -------------------------------------------------------------------------------------

async function checkI2(pool: pg.Pool): Promise<CheckResult> {
  const c = new Check('I2', 'event ids dense 1..n from WorkflowExecutionStarted, next_event_id = n+1, created_at non-decreasing, no orphan events');
  const { rows } = await pool.query<{
    run_id: string;
    workflow_id: string;
    next_event_id: number;
    n: number;
    min_id: number | null;
    max_id: number | null;
    first_type: string | null;
    backwards: number;
    first_backwards: unknown;
  }>(
    `WITH h AS (
       SELECT run_id, event_id, event_type, created_at,
              lag(created_at) OVER (PARTITION BY run_id ORDER BY event_id) AS prev_created_at
       FROM chronicle.history_events
     )
     SELECT e.run_id, e.workflow_id, e.next_event_id, count(h.event_id)::int AS n, min(h.event_id) AS min_id, max(h.event_id) AS max_id,
            (SELECT event_type FROM chronicle.history_events f WHERE f.run_id = e.run_id AND f.event_id = 1) AS first_type,
            count(*) FILTER (WHERE h.created_at < h.prev_created_at)::int AS backwards,
            (array_agg(jsonb_build_object('eventId', h.event_id, 'type', h.event_type, 'createdAt', h.created_at, 'previousCreatedAt', h.prev_created_at)
               ORDER BY h.event_id) FILTER (WHERE h.created_at < h.prev_created_at))[1] AS first_backwards
     FROM chronicle.executions e LEFT JOIN h ON h.run_id = e.run_id
     GROUP BY e.run_id, e.workflow_id, e.next_event_id`,
  );
  for (const r of rows) {
    c.checked++;
    const run = { runId: r.run_id, workflowId: r.workflow_id };
    if (r.n === 0) {
      c.violation({ ...run, problem: 'run has no history' });
      continue;
    }
    if (r.min_id !== 1 || r.max_id !== r.n) c.violation({ ...run, problem: 'event ids are not dense 1..n', count: r.n, min: r.min_id, max: r.max_id });
    if (r.first_type !== 'WorkflowExecutionStarted') c.violation({ ...run, problem: 'event 1 is not WorkflowExecutionStarted', firstType: r.first_type });
    if (r.next_event_id !== r.n + 1) c.violation({ ...run, problem: 'next_event_id is not n + 1', nextEventId: r.next_event_id, events: r.n });
    if (r.backwards > 0) c.violation({ ...run, problem: 'created_at decreases in event-id order', times: r.backwards, first: r.first_backwards });
  }
  const { rows: orphans } = await pool.query<{ run_id: string; n: number }>(
    `SELECT h.run_id, count(*)::int AS n FROM chronicle.history_events h
     WHERE NOT EXISTS (SELECT 1 FROM chronicle.executions e WHERE e.run_id = h.run_id) GROUP BY h.run_id`,
  );
  for (const o of orphans) c.violation({ runId: o.run_id, problem: 'history events of a run that does not exist', events: o.n });
  return c.result();
}

// ---- I3 -------------------------------------------------------------------------------------

interface ActivityFacts {
  run_id: string;
  workflow_id: string;
  status: string;
  seq: number;
  scheduled: number;
  outcomes: string[] | null;
  outcome_attempts: number[] | null;
  pending_attempt: number | null;
}

async function activityFacts(pool: pg.Pool): Promise<ActivityFacts[]> {
  const { rows } = await pool.query<ActivityFacts>(
    `WITH a AS (
       SELECT run_id, (attributes->>'seq')::int AS seq, event_type, (attributes->>'attempt')::int AS attempt, event_id
       FROM chronicle.history_events
       WHERE event_type = 'ActivityTaskScheduled' OR event_type = ANY($1::text[])
     )
     SELECT a.run_id, e.workflow_id, e.status, a.seq,
            count(*) FILTER (WHERE a.event_type = 'ActivityTaskScheduled')::int AS scheduled,
            array_agg(a.event_type ORDER BY a.event_id) FILTER (WHERE a.event_type <> 'ActivityTaskScheduled') AS outcomes,
            array_agg(a.attempt ORDER BY a.event_id) FILTER (WHERE a.event_type <> 'ActivityTaskScheduled') AS outcome_attempts,
            (SELECT t.attempt FROM chronicle.activity_tasks t WHERE t.run_id = a.run_id AND t.seq = a.seq) AS pending_attempt
     FROM a JOIN chronicle.executions e ON e.run_id = a.run_id
     GROUP BY a.run_id, e.workflow_id, e.status, a.seq`,
    [ACTIVITY_OUTCOMES],
  );
  return rows;
}

async function checkI3(pool: pg.Pool, hasLedger: boolean): Promise<CheckResult> {
  const c = new Check(
    'I3',
    'one ActivityTaskScheduled and ≤ 1 outcome per activity; ledger executions ≤ recorded attempts; no attempt executed twice',
  );
  const facts = await activityFacts(pool);
  const byKey = new Map(facts.map((f) => [`${f.run_id}/${f.seq}`, f]));
  for (const f of facts) {
    c.checked++;
    const act = { runId: f.run_id, workflowId: f.workflow_id, seq: f.seq };
    const outcomes = f.outcomes ?? [];
    if (f.scheduled !== 1) c.violation({ ...act, problem: `${f.scheduled} ActivityTaskScheduled events (want 1)`, outcomes });
    if (outcomes.length > 1) c.violation({ ...act, problem: `${outcomes.length} outcome events (want ≤ 1)`, outcomes, attempts: f.outcome_attempts });
  }
  if (!hasLedger) return c.result();

  const { rows: ledger } = await pool.query<{ workflow_id: string; run_id: string | null; activity_seq: string; executions: number; attempts: number[]; pids: number[] }>(
    `SELECT workflow_id, run_id, activity_seq, count(*)::int AS executions,
            array_agg(attempt ORDER BY at, id) AS attempts, array_agg(pid ORDER BY at, id) AS pids
     FROM public.fault_ledger GROUP BY workflow_id, run_id, activity_seq`,
  );
  for (const l of ledger) {
    const act = { workflowId: l.workflow_id, runId: l.run_id, seq: l.activity_seq, executions: l.executions, attempts: l.attempts, pids: l.pids };
    const f = byKey.get(`${l.run_id}/${l.activity_seq}`);
    if (!f) {
      c.violation({ ...act, problem: 'ledger execution of an activity that history never scheduled' });
      continue;
    }
    // An attempt still running when its run closed has no record left: the close deletes its
    // task row and no outcome is ever appended (Temporal drops it the same way). Its
    // executions are bounded by nothing recorded; only the duplicate-attempt rule applies.
    const droppedAtClose = f.status !== 'RUNNING' && !f.outcome_attempts?.length && f.pending_attempt === null;
    const recorded = f.outcome_attempts?.[0] ?? f.pending_attempt ?? 0;
    if (!droppedAtClose && l.executions > recorded) c.violation({ ...act, problem: `executed ${l.executions} times but history/task records ${recorded} attempt(s)`, recordedAttempt: recorded });
    if (new Set(l.attempts).size !== l.attempts.length) c.violation({ ...act, problem: 'the same attempt number was executed more than once (two holders of one lease)' });
  }
  return c.result();
}

// ---- I4 -------------------------------------------------------------------------------------

async function checkI4(pool: pg.Pool): Promise<CheckResult> {
  const c = new Check('I4', 'each TimerStarted fires or is canceled at most once (exactly once in a completed run), never before fireAt; no TimerFired without TimerStarted');
  const { rows } = await pool.query<{
    run_id: string;
    workflow_id: string;
    status: string;
    seq: number;
    fire_at: number;
    fired: number;
    canceled: number;
    early_ms: number | null;
  }>(
    `SELECT s.run_id, e.workflow_id, e.status, (s.attributes->>'seq')::int AS seq, (s.attributes->>'fireAt')::float8 AS fire_at,
            count(f.event_id) FILTER (WHERE f.event_type = 'TimerFired')::int AS fired,
            count(f.event_id) FILTER (WHERE f.event_type = 'TimerCanceled')::int AS canceled,
            -- How early the earliest TimerFired was appended, if it was (ms, positive = early).
            max((s.attributes->>'fireAt')::float8 - extract(epoch FROM f.created_at) * 1000) FILTER (WHERE f.event_type = 'TimerFired') AS early_ms
     FROM chronicle.history_events s
     JOIN chronicle.executions e ON e.run_id = s.run_id
     LEFT JOIN chronicle.history_events f
       ON f.run_id = s.run_id AND f.event_type IN ('TimerFired', 'TimerCanceled') AND (f.attributes->>'seq')::int = (s.attributes->>'seq')::int
     WHERE s.event_type = 'TimerStarted'
     GROUP BY s.run_id, s.event_id, e.workflow_id, e.status, s.attributes`,
  );
  for (const r of rows) {
    c.checked++;
    const timer = { runId: r.run_id, workflowId: r.workflow_id, status: r.status, seq: r.seq, fired: r.fired, canceled: r.canceled };
    if (r.fired + r.canceled > 1) c.violation({ ...timer, problem: 'timer fired/canceled more than once' });
    if (r.status === 'COMPLETED' && r.fired + r.canceled !== 1) c.violation({ ...timer, problem: 'completed run with a timer that never fired nor was canceled' });
    // fireAt is rounded to the ms; allow 1 ms for that rounding.
    if (r.early_ms !== null && r.early_ms > 1) c.violation({ ...timer, problem: `TimerFired appended ${r.early_ms.toFixed(1)} ms before fireAt`, fireAt: r.fire_at });
  }
  const { rows: unmatched } = await pool.query<{ run_id: string; seq: number }>(
    `SELECT f.run_id, (f.attributes->>'seq')::int AS seq FROM chronicle.history_events f
     WHERE f.event_type = 'TimerFired' AND NOT EXISTS (
       SELECT 1 FROM chronicle.history_events s WHERE s.run_id = f.run_id AND s.event_type = 'TimerStarted'
         AND (s.attributes->>'seq')::int = (f.attributes->>'seq')::int AND s.event_id < f.event_id)`,
  );
  for (const u of unmatched) c.violation({ runId: u.run_id, seq: u.seq, problem: 'TimerFired without an earlier TimerStarted' });
  const { rows: restarted } = await pool.query<{ run_id: string; seq: number; n: number }>(
    `SELECT run_id, (attributes->>'seq')::int AS seq, count(*)::int AS n FROM chronicle.history_events
     WHERE event_type = 'TimerStarted' GROUP BY run_id, (attributes->>'seq')::int HAVING count(*) > 1`,
  );
  for (const r of restarted) c.violation({ runId: r.run_id, seq: r.seq, problem: `${r.n} TimerStarted events for one seq` });
  return c.result();
}

// ---- I6 -------------------------------------------------------------------------------------

async function checkI6(pool: pg.Pool): Promise<CheckResult> {
  const c = new Check('I6', 'every open run has a workflow task, activity task or timer row; open activities/timers have their rows; inbox events have a task');
  const { rows: open } = await pool.query<{
    run_id: string;
    workflow_id: string;
    workflow_task: string | null;
    workflow_task_failure: unknown;
    activity_tasks: number;
    timers: number;
    inbox: number;
  }>(
    `SELECT e.run_id, e.workflow_id,
            (SELECT w.status FROM chronicle.workflow_tasks w WHERE w.run_id = e.run_id) AS workflow_task,
            (SELECT w.last_failure FROM chronicle.workflow_tasks w WHERE w.run_id = e.run_id) AS workflow_task_failure,
            (SELECT count(*) FROM chronicle.activity_tasks a WHERE a.run_id = e.run_id)::int AS activity_tasks,
            (SELECT count(*) FROM chronicle.timers t WHERE t.run_id = e.run_id)::int AS timers,
            (SELECT count(*) FROM chronicle.workflow_inbox i WHERE i.run_id = e.run_id)::int AS inbox
     FROM chronicle.executions e WHERE e.status = 'RUNNING'`,
  );
  for (const r of open) {
    c.checked++;
    const run = { runId: r.run_id, workflowId: r.workflow_id };
    if (!r.workflow_task && r.activity_tasks === 0 && r.timers === 0) c.violation({ ...run, problem: 'open run with nothing that will make progress (no workflow task, activity task or timer)', inbox: r.inbox });
    if (r.inbox > 0 && !r.workflow_task) c.violation({ ...run, problem: `${r.inbox} inbox event(s) but no workflow task to deliver them` });
  }

  // Open activities: scheduled, no outcome in history, no outcome waiting in the inbox.
  const { rows: activities } = await pool.query<{ run_id: string; seq: number }>(
    `SELECT s.run_id, (s.attributes->>'seq')::int AS seq
     FROM chronicle.history_events s JOIN chronicle.executions e ON e.run_id = s.run_id AND e.status = 'RUNNING'
     WHERE s.event_type = 'ActivityTaskScheduled'
       AND NOT EXISTS (SELECT 1 FROM chronicle.history_events o WHERE o.run_id = s.run_id AND o.event_type = ANY($1::text[])
                         AND (o.attributes->>'seq')::int = (s.attributes->>'seq')::int)
       AND NOT EXISTS (SELECT 1 FROM chronicle.workflow_inbox i WHERE i.run_id = s.run_id AND i.event_type = ANY($1::text[])
                         AND (i.attributes->>'seq')::int = (s.attributes->>'seq')::int)
       AND NOT EXISTS (SELECT 1 FROM chronicle.activity_tasks a WHERE a.run_id = s.run_id AND a.seq = (s.attributes->>'seq')::int)`,
    [ACTIVITY_OUTCOMES],
  );
  for (const a of activities) c.violation({ runId: a.run_id, seq: a.seq, problem: 'open activity without an activity task row or a pending outcome' });

  const { rows: timers } = await pool.query<{ run_id: string; seq: number }>(
    `SELECT s.run_id, (s.attributes->>'seq')::int AS seq
     FROM chronicle.history_events s JOIN chronicle.executions e ON e.run_id = s.run_id AND e.status = 'RUNNING'
     WHERE s.event_type = 'TimerStarted'
       AND NOT EXISTS (SELECT 1 FROM chronicle.history_events o WHERE o.run_id = s.run_id AND o.event_type IN ('TimerFired', 'TimerCanceled')
                         AND (o.attributes->>'seq')::int = (s.attributes->>'seq')::int)
       AND NOT EXISTS (SELECT 1 FROM chronicle.workflow_inbox i WHERE i.run_id = s.run_id AND i.event_type = 'TimerFired'
                         AND (i.attributes->>'seq')::int = (s.attributes->>'seq')::int)
       AND NOT EXISTS (SELECT 1 FROM chronicle.timers t WHERE t.run_id = s.run_id AND t.seq = (s.attributes->>'seq')::int)`,
  );
  for (const t of timers) c.violation({ runId: t.run_id, seq: t.seq, problem: 'open timer without a timer row or a pending TimerFired' });
  return c.result();
}

// ---- I8 -------------------------------------------------------------------------------------

async function checkI8(pool: pg.Pool, hasLedger: boolean, kills: readonly KillRecord[]): Promise<CheckResult> {
  const c = new Check('I8', 'every duplicate ledger execution is explained: the earlier execution’s process was killed/paused before the next one started');
  if (!hasLedger) return c.result();
  const { rows } = await pool.query<{ workflow_id: string; activity_seq: string; attempts: number[]; pids: number[]; at_ms: string[] }>(
    `SELECT workflow_id, activity_seq, array_agg(attempt ORDER BY at, id) AS attempts, array_agg(pid ORDER BY at, id) AS pids,
            array_agg((extract(epoch FROM at) * 1000)::bigint ORDER BY at, id) AS at_ms
     FROM public.fault_ledger GROUP BY workflow_id, run_id, activity_seq HAVING count(*) > 1`,
  );
  // Only an upper bound on the kill time: a kill explains the duplicate if it came before the
  // next execution started. No lower bound: `at` is when the server ran the INSERT, which can
  // be after the SIGKILL of a process that had already sent it. Same host clock on both
  // sides; the slack covers the ledger's ms rounding.
  const SLACK_MS = 5;
  for (const r of rows) {
    for (let i = 0; i + 1 < r.pids.length; i++) {
      c.checked++;
      const pid = r.pids[i]!;
      const nextAt = Number(r.at_ms[i + 1]);
      const kill = kills.find((k) => k.pid === pid && k.killedAt <= nextAt + SLACK_MS);
      if (!kill) {
        c.violation({
          workflowId: r.workflow_id,
          seq: r.activity_seq,
          problem: kills.some((k) => k.pid === pid)
            ? `pid ${pid} was killed, but only after the next execution started (lease expired while it was alive?)`
            : `pid ${pid} was never killed or paused: unexplained duplicate`,
          attempts: r.attempts,
          pids: r.pids,
          atMs: r.at_ms.map(Number),
        });
      }
    }
  }
  return c.result();
}
