/**
 * F8c, late events (RELIABILITY.md): runs closed while a signal, an activity completion, a
 * timer and a child's close race the close. Each `lateRacer` run starts, in its first
 * workflow task, an activity it never awaits (no heartbeat), a timer and a child, all due
 * at about the same moment, while a sender signals it; the test closes it at about that
 * moment, three ways in turn:
 *
 *   terminate  the client terminates it (its child gets the TERMINATE parent close policy);
 *   complete   the client sends `finish` and terminates the child at the same time as the
 *              child completes on its own; the run returns once the child closed, cancelling
 *              its timer if it has not fired;
 *   timeout    its workflowRunTimeout expires (the engine's loop closes it).
 *
 * Asserted, per run: the close the test made (TERMINATED / COMPLETED / TIMED_OUT) and
 * exactly one terminal event, for the parent and for the child; no state change after the
 * close: the history length when the close was observed is the final one, once every late
 * thing had its chance (each started activity's completion was either recorded before the
 * close or dropped as stale, every timer's fireAt has passed); every signal after the close
 * was refused with CHR_WORKFLOW_NOT_RUNNING (the sender's last one and one more sent on
 * purpose); late activity completions raise StaleTaskError (the worker dropped and logged
 * them; completing, failing or heartbeating with the token afterwards is refused the same
 * way); the parent got at most one child-closed event for its child, exactly one when it
 * completed (it waited for it), matching how the child ended; a completed run delivered
 * every acknowledged signal. Then the invariant checker (I1–I4, I6, I8) over all of it.
 * Across the suite the races must have been hit: some activities completed after their run
 * closed, some timers came due after it. Figures: test-results/fault-f8c-late-events.json.
 */
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { deadlockRetryCount } from '../../engine/deadlock-retry.js';
import { StaleTaskError } from '../../engine/errors.js';
import type { Logger } from '../../engine/logger.js';
import type { WorkflowOutcome } from '../../engine/engine.js';
import type { HistoryEvent } from '../../engine/protocol/index.js';
import { activityInfo, sleep as activitySleep } from '../../sdk/activity/index.js';
import type { WorkflowHandle } from '../../sdk/client/index.js';
import pg from 'pg';
import { PgEngine } from '../../engine/pg-engine.js';
import { fireDueTimers } from '../../engine/timers.js';
import { clientFor, startWorker, testEngine } from '../helpers/chronicle.js';
import { waitUntil } from '../helpers/database.js';
import { recordExecution } from './harness/ledger.js';
import { runScenario, seededRandom } from './harness/scenario.js';
import { finishSignal, recordSignal, type InProcessActivities, type LateRacePlan, type LateRaceResult } from './workflows.js';

const workflowsPath = fileURLToPath(new URL('./workflows.ts', import.meta.url));
const RUNS = 100;
const IN_PARALLEL = 20;
const MODES = ['terminate', 'complete', 'timeout'] as const;
type Mode = (typeof MODES)[number];
const EXPECTED_STATUS: Record<Mode, string> = { terminate: 'TERMINATED', complete: 'COMPLETED', timeout: 'TIMED_OUT' };

const TERMINAL_TYPES = new Set([
  'WorkflowExecutionCompleted',
  'WorkflowExecutionFailed',
  'WorkflowExecutionCanceled',
  'WorkflowExecutionTerminated',
  'WorkflowExecutionContinuedAsNew',
  'WorkflowExecutionTimedOut',
]);
const CHILD_CLOSED: Record<string, string> = {
  ChildWorkflowExecutionCompleted: 'COMPLETED',
  ChildWorkflowExecutionFailed: 'FAILED',
  ChildWorkflowExecutionCanceled: 'CANCELLED',
  ChildWorkflowExecutionTerminated: 'TERMINATED',
  ChildWorkflowExecutionTimedOut: 'TIMED_OUT',
};

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

interface LogEntry {
  readonly level: string;
  readonly message: string;
  readonly meta: Record<string, unknown> | undefined;
}

function keepingLogger(): Logger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at = (level: string) => (message: string, meta?: Record<string, unknown>) => void entries.push({ level, message, meta });
  return { entries, debug() {}, info() {}, warn: at('warn'), error: at('error') };
}

/** What the test knows about one run once it closed. */
interface ClosedRun {
  readonly i: number;
  readonly mode: Mode;
  readonly plan: LateRacePlan;
  readonly workflowId: string;
  readonly runId: string;
  readonly outcome: WorkflowOutcome;
  /** History length when the close was observed. */
  readonly length: number;
  readonly child?: { readonly workflowId: string; readonly runId: string; readonly status: string; readonly length: number };
  readonly acked: readonly number[];
  /** Sends refused after the close (the sender's last one, plus the one sent on purpose). */
  readonly refused: number;
  /** For a complete-mode run: whether the test's terminate reached the child before it completed. */
  readonly childTerminatedByTest?: boolean;
}

function percentiles(values: readonly number[]): { min: number; p10: number; p50: number; p90: number; max: number } | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((x, y) => x - y);
  const at = (p: number) => sorted[Math.max(0, Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1))]!;
  return { min: sorted[0]!, p10: at(10), p50: at(50), p90: at(90), max: at(100) };
}

function ofType<T extends HistoryEvent['eventType']>(events: readonly HistoryEvent[], type: T): Extract<HistoryEvent, { eventType: T }>[] {
  return events.filter((e): e is Extract<HistoryEvent, { eventType: T }> => e.eventType === type);
}

it(`F8c: ${RUNS} runs closed (terminate / complete / run timeout) while signals, an activity completion, a timer and a child close race the close: nothing changes a closed run`, () =>
  runScenario('fault-f8c-late-events', async (s) => {
    const engineLog = keepingLogger();
    const workerLog = keepingLogger();
    const engine = await testEngine(s.db.url, { logger: engineLog });
    const client = clientFor(engine);
    const taskQueue = `${s.taskQueue}-f8c`;
    /** Per workflow id: the lateStep attempt's task token and when it started (ms, host clock). */
    const attempts = new Map<string, { token: string; startedAt: number }>();
    const activities: InProcessActivities = {
      tick: async (n) => n + 1,
      measure: async (x) => x.length,
      lateStep: async (ms) => {
        const info = activityInfo();
        await recordExecution(s.db.pool, { workflowId: info.workflowId, runId: info.runId, activitySeq: info.activityId, activityType: info.activityType, attempt: info.attempt });
        attempts.set(info.workflowId, { token: info.taskToken, startedAt: Date.now() });
        await activitySleep(ms);
        return 'late-done';
      },
    };
    // The worker's engine, instrumented: how each activity report (by task token) ended.
    const reports = new Map<string, { via: string; outcome: 'accepted' | 'stale' | 'error'; error?: unknown }>();
    const REPORTS = new Set(['completeActivityTask', 'completeActivityAndWorkflowTask', 'failActivityTask']);
    const observed = new Proxy(engine, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (typeof value !== 'function') return value;
        if (typeof prop !== 'string' || !REPORTS.has(prop)) return value.bind(target);
        return async (token: string, ...rest: unknown[]) => {
          try {
            const r = await (value as (...a: unknown[]) => Promise<unknown>).call(target, token, ...rest);
            reports.set(token, { via: prop, outcome: 'accepted' });
            return r;
          } catch (error) {
            reports.set(token, { via: prop, outcome: error instanceof StaleTaskError ? 'stale' : 'error', error });
            throw error;
          }
        };
      },
    });
    const worker = await startWorker(observed, { taskQueue, workflowsPath, activities, logger: workerLog, identity: 'late-worker' });
    const closed: ClosedRun[] = [];
    const t0 = Date.now();
    try {
      const one = async (i: number): Promise<void> => {
        // Every draw before the first await: a seed reproduces the plans whatever the interleaving.
        const mode = MODES[i % MODES.length]!;
        const base = Math.round(s.uniform(250, 450));
        const jitter = () => Math.round(s.uniform(-60, 60));
        const plan: LateRacePlan = { activityMs: base + jitter(), timerMs: base + jitter(), childMs: base + jitter() };
        // A little before the others are due on average: the close call and the workflow task
        // it races take some ms, so this balances closes before and after the late events.
        const closeAfterMs = base + jitter() - 40;
        const childCloseOffsetMs = Math.round(s.uniform(0, 350));
        const anchorOnTimer = mode === 'terminate' && Math.floor(i / MODES.length) % 2 === 1;
        const timerCloseOffsetMs = Math.round(s.uniform(-180, 20)); // the terminate call itself takes ≈ 100 ms under this load
        const pace = seededRandom(s.seed + i);
        const workflowId = `f8c-${i}`;
        const childId = `${workflowId}-child`;

        const handle: WorkflowHandle<LateRaceResult> = await client.workflow.start<(p: LateRacePlan) => Promise<LateRaceResult>>('lateRacer', {
          workflowId,
          taskQueue,
          args: [plan],
          // Counted from the start, and the engine notices an expired run at its next reaper
          // tick (200 ms here, more under load): aimed well before the others are due.
          ...(mode === 'timeout' ? { workflowRunTimeout: Math.max(100, closeAfterMs - 120) } : {}),
        });
        const runId = handle.firstExecutionRunId!;

        const acked: number[] = [];
        let refused = 0;
        const sender = (async () => {
          for (let k = 0; ; k++) {
            const value = i * 100_000 + k;
            try {
              await handle.signal(recordSignal, value);
              acked.push(value);
            } catch (err) {
              expect((err as { code?: string }).code, `run ${i}: a send refused is refused as not running`).toBe('CHR_WORKFLOW_NOT_RUNNING');
              refused++;
              return;
            }
            await sleep(5 + pace() * 25);
          }
        })();

        let childTerminatedByTest: boolean | undefined;
        if (mode !== 'timeout') {
          // Anchor the close on the activity's start, so the races happen whatever the load;
          // every other terminate on the timer's fireAt (database clock, the same host's)
          // instead: the activity starts some ms after the timer (more under load), so the
          // two anchors make closes land before and after each of them.
          const started = await waitUntil(() => attempts.get(workflowId), { timeoutMs: 30_000, intervalMs: 5, message: `run ${i}: activity started` });
          if (anchorOnTimer) {
            const timer = await waitUntil(
              async () => (await engine.getHistory({ workflowId, runId })).events.find((e) => e.eventType === 'TimerStarted'),
              { timeoutMs: 30_000, intervalMs: 10, message: `run ${i}: the timer started` },
            );
            await sleep((timer.attributes as { fireAt: number }).fireAt + timerCloseOffsetMs - Date.now());
          } else {
            await sleep(started.startedAt + closeAfterMs - Date.now());
          }
          if (mode === 'terminate') {
            await handle.terminate('late-events test');
          } else {
            // The child's terminate races its own completion: aimed at its timer's fireAt (the
            // database's clock, the same host's) plus U(0, 350) ms, when its last task runs (a child
            // that completes on its own closes ≈ 50–300 ms after its fireAt here).
            const childTimer = await waitUntil(
              async () => (await engine.getHistory({ workflowId: childId })).events.find((e) => e.eventType === 'TimerStarted'),
              { timeoutMs: 30_000, message: `run ${i}: the child's timer started` },
            );
            const childFireAt = (childTimer.attributes as { fireAt: number }).fireAt;
            const [childTerminate] = await Promise.all([
              sleep(childFireAt + childCloseOffsetMs - Date.now())
                .then(() => client.workflow.getHandle(childId).terminate('late-events test: child'))
                .then(
                  () => true,
                  (err: unknown) => {
                    // The child completed on its own first.
                    expect((err as { code?: string }).code).toBe('CHR_WORKFLOW_NOT_RUNNING');
                    return false;
                  },
                ),
              handle.signal(finishSignal),
            ]);
            childTerminatedByTest = childTerminate;
          }
        }

        // Expected ≈ 0.5 s; deadline 60 s.
        const outcome = await engine.awaitOutcome({ workflowId, runId }, { signal: AbortSignal.timeout(60_000) });
        const length = (await engine.describeWorkflow({ workflowId, runId })).historyLength;
        // A late signal, on purpose: refused.
        await expect(handle.signal(recordSignal, -1)).rejects.toMatchObject({ code: 'CHR_WORKFLOW_NOT_RUNNING' });
        refused++;
        await sender;

        // The child: closed by now or soon (its parent close policy, or on its own).
        let child: ClosedRun['child'];
        const childRun = await engine.describeWorkflow({ workflowId: childId }).catch((err: unknown) => {
          // A run that timed out before its first task committed never started its child.
          if ((err as { code?: string }).code === 'CHR_WORKFLOW_NOT_FOUND' && mode === 'timeout') return undefined;
          throw err;
        });
        if (childRun) {
          const childOutcome = await engine.awaitOutcome({ workflowId: childId, runId: childRun.runId }, { signal: AbortSignal.timeout(60_000) });
          const childLength = (await engine.describeWorkflow({ workflowId: childId, runId: childRun.runId })).historyLength;
          await expect(client.workflow.getHandle(childId, childRun.runId).signal(recordSignal, -1)).rejects.toMatchObject({ code: 'CHR_WORKFLOW_NOT_RUNNING' });
          child = { workflowId: childId, runId: childRun.runId, status: childOutcome.status, length: childLength };
        }
        closed.push({ i, mode, plan, workflowId, runId, outcome, length, acked, refused, ...(child ? { child } : {}), ...(childTerminatedByTest !== undefined ? { childTerminatedByTest } : {}) });
      };
      for (let first = 0; first < RUNS; first += IN_PARALLEL) {
        await Promise.all(Array.from({ length: Math.min(IN_PARALLEL, RUNS - first) }, (_, k) => one(first + k)));
      }
      const runsMs = Date.now() - t0;

      // Every late thing gets its chance. Activities: each started attempt was reported by
      // the worker, and the report was either accepted while the run was open (the result
      // is in history, or it was still in the inbox when the close dropped it) or refused as
      // stale because the run had closed (and the worker dropped and logged it).
      const dropped = (workflowId: string) =>
        workerLog.entries.some((e) => e.level === 'warn' && e.message.startsWith('activity result dropped') && e.meta?.workflowId === workflowId);
      const histories = new Map<string, HistoryEvent[]>();
      const historyOf = async (workflowId: string, runId: string) => {
        const events: HistoryEvent[] = [];
        for (let from: number | undefined = 1; from !== undefined; ) {
          const page = await engine.getHistory({ workflowId, runId }, { fromEventId: from, pageSize: 1000 });
          events.push(...page.events);
          from = page.nextEventId;
        }
        return events;
      };
      let lateActivityCompletions = 0;
      let acceptedThenDroppedByClose = 0;
      for (const run of closed) {
        const attempt = attempts.get(run.workflowId);
        if (!attempt) continue;
        // The attempt ends ≤ ≈ 0.5 s after it started; deadline 30 s.
        const report = await waitUntil(() => reports.get(attempt.token), { timeoutMs: 30_000, intervalMs: 20, message: `run ${run.i}: the activity's result reported` });
        expect(report.outcome, `run ${run.i}: the activity report was accepted or refused as stale (${String(report.error)})`).not.toBe('error');
        const recorded = ofType(await historyOf(run.workflowId, run.runId), 'ActivityTaskCompleted').length;
        if (report.outcome === 'stale') {
          lateActivityCompletions++;
          expect(recorded, `run ${run.i}: a stale result is not recorded`).toBe(0);
          expect(dropped(run.workflowId), `run ${run.i}: the worker logged the dropped result`).toBe(true);
        } else if (recorded === 0) {
          acceptedThenDroppedByClose++;
        }
        // The token of an attempt whose run closed (or that already completed) holds no lease.
        const staleOps = [
          () => engine.completeActivityTask(attempt.token, { result: 'late', identity: 'late-test' }),
          () => engine.failActivityTask(attempt.token, { failure: { failureType: 'application', message: 'late' }, identity: 'late-test' }),
          () => engine.heartbeatActivityTask(attempt.token, { late: true }),
        ];
        for (const op of staleOps) await expect(op(), `run ${run.i}: a late call with the activity's token`).rejects.toBeInstanceOf(StaleTaskError);
      }
      // Timers: wait until every timer's fireAt has passed by the database clock, then one
      // more poll interval of the timer loop (250 ms) and some.
      await waitUntil(
        async () => {
          const { rows } = await s.db.pool.query<{ due: boolean }>(
            `SELECT coalesce(max((attributes->>'fireAt')::float8), 0) < extract(epoch FROM now()) * 1000 AS due
             FROM chronicle.history_events WHERE event_type = 'TimerStarted'`,
          );
          return rows[0]!.due;
        },
        { timeoutMs: 30_000, message: 'every timer due' },
      );
      await sleep(750);

      // Now nothing may have changed: per run, parent and child.
      let lateTimers = 0;
      let childClosedEvents = 0;
      const childOutcomes: Record<string, number> = {};
      /** For children that completed on their own: their close's timestamp minus their timer's fireAt. */
      const childCloseLagMs: number[] = [];
      /** Per run: its timer's fireAt minus its close (both database time); > 0: the timer came due after the close. */
      const timerDueMinusCloseMs: Partial<Record<Mode, number[]>> = {};
      for (const run of closed) {
        const where = `run ${run.i} (${run.mode})`;
        expect(run.outcome.status, `${where}: closed the way the test closed it`).toBe(EXPECTED_STATUS[run.mode]);
        const events = await historyOf(run.workflowId, run.runId);
        histories.set(run.runId, events);
        expect(events.length, `${where}: history length unchanged after the close`).toBe(run.length);
        const terminals = events.filter((e) => TERMINAL_TYPES.has(e.eventType));
        expect(terminals.map((e) => e.eventType), `${where}: exactly one terminal event`).toHaveLength(1);
        const closedAt = terminals[0]!.timestamp;
        // Nothing but the closing task's WorkflowTaskCompleted after the terminal event.
        expect(events.filter((e) => e.eventId > terminals[0]!.eventId).every((e) => e.eventType === 'WorkflowTaskCompleted')).toBe(true);
        const described = await engine.describeWorkflow({ workflowId: run.workflowId, runId: run.runId });
        expect(described).toMatchObject({ status: EXPECTED_STATUS[run.mode], historyLength: run.length, pendingEventCount: 0, pendingActivityCount: 0, pendingTimerCount: 0 });
        expect(run.refused, `${where}: late signals refused`).toBeGreaterThanOrEqual(1);

        const timerStarted = ofType(events, 'TimerStarted');
        const timerEnds = events.filter((e) => e.eventType === 'TimerFired' || e.eventType === 'TimerCanceled');
        expect(timerEnds.length, `${where}: a timer ends at most once`).toBeLessThanOrEqual(1);
        if (timerStarted[0] && timerStarted[0].attributes.fireAt > closedAt) lateTimers++;
        if (timerStarted[0]) (timerDueMinusCloseMs[run.mode] ??= []).push(timerStarted[0].attributes.fireAt - closedAt);

        // The child: one terminal event, nothing after its close; the parent heard of it at most once.
        const heard = events.filter((e) => e.eventType in CHILD_CLOSED);
        expect(heard.length, `${where}: child-closed events in the parent`).toBeLessThanOrEqual(1);
        childClosedEvents += heard.length;
        if (run.child) {
          const childEvents = await historyOf(run.child.workflowId, run.child.runId);
          expect(childEvents.length, `${where}: the child's history unchanged after its close`).toBe(run.child.length);
          expect(childEvents.filter((e) => TERMINAL_TYPES.has(e.eventType)), `${where}: the child has exactly one terminal event`).toHaveLength(1);
          childOutcomes[`${run.mode}:${run.child.status}`] = (childOutcomes[`${run.mode}:${run.child.status}`] ?? 0) + 1;
          const childFired = ofType(childEvents, 'TimerFired')[0];
          const childFireAt = ofType(childEvents, 'TimerStarted')[0]?.attributes.fireAt;
          if (childFired && childFireAt !== undefined) {
            childCloseLagMs.push(childEvents.find((e) => TERMINAL_TYPES.has(e.eventType))!.timestamp - childFireAt);
          }
          if (heard[0]) {
            expect(CHILD_CLOSED[heard[0].eventType], `${where}: the parent heard how the child really ended`).toBe(run.child.status);
            expect(heard[0].attributes).toMatchObject({ workflowId: run.child.workflowId, runId: run.child.runId });
          }
          if (run.mode === 'complete') {
            expect(heard, `${where}: a parent that waited for its child heard of its close exactly once`).toHaveLength(1);
            // The child completed on its own, or was terminated by the test, never both.
            expect(run.child.status).toBe(run.childTerminatedByTest ? 'TERMINATED' : 'COMPLETED');
          } else if (run.child.status === 'TERMINATED') {
            // Terminated by the test's close of the parent (parent close policy) unless it completed first.
            expect(heard, `${where}: a parent closed before its child hears nothing of it`).toHaveLength(0);
          }
        } else {
          expect(run.mode).toBe('timeout');
        }

        if (run.mode === 'complete' && run.outcome.status === 'COMPLETED') {
          const result = run.outcome.result as LateRaceResult;
          // F8b on the way: every acknowledged signal was delivered, in order.
          expect(result.values, `${where}: every acknowledged signal delivered`).toEqual(run.acked);
          expect(result.child).toBe(run.childTerminatedByTest ? 'TerminatedFailure' : 'completed');
          expect(['fired', 'cancelled']).toContain(result.timer);
          expect(ofType(events, result.timer === 'fired' ? 'TimerFired' : 'TimerCanceled')).toHaveLength(1);
        }
      }

      // No error from the worker or the engine while all this raced (stale results are
      // warnings). A timer-loop deadlock (40P01) would be counted separately in the report;
      // the timer pass skips busy runs, so there should be none (the test below pins it).
      const isTimerLoopDeadlock = (e: LogEntry) =>
        e.message.startsWith("background loop 'timers' failed") && (e.meta?.error as { code?: string } | undefined)?.code === '40P01';
      const timerLoopDeadlocks = engineLog.entries.filter(isTimerLoopDeadlock).length;
      const errors = [...workerLog.entries, ...engineLog.entries].filter((e) => e.level === 'error' && !isTimerLoopDeadlock(e));
      const errorLines = errors.map((e) => `${e.message} ${JSON.stringify(e.meta ?? {})}`.slice(0, 400));
      s.report.errorsLogged = errorLines;
      expect(errorLines.length, `errors logged: ${errorLines.join(' | ')}`).toBe(0);

      const staleWorkflowTasks = workerLog.entries.filter((e) => e.message.startsWith('workflow task result dropped')).length;
      const figures = {
        runs: RUNS,
        byMode: Object.fromEntries(MODES.map((m) => [m, closed.filter((r) => r.mode === m).length])),
        activitiesStarted: closed.filter((r) => attempts.has(r.workflowId)).length,
        lateActivityCompletions,
        acceptedThenDroppedByClose,
        lateTimers,
        lateSignalsRefused: closed.reduce((n, r) => n + r.refused, 0),
        signalsAcknowledged: closed.reduce((n, r) => n + r.acked.length, 0),
        childClosedEventsInParents: childClosedEvents,
        childOutcomes,
        childrenTerminatedByTestInCompleteMode: closed.filter((r) => r.childTerminatedByTest).length,
        childrenCompletedInCompleteMode: closed.filter((r) => r.mode === 'complete' && r.childTerminatedByTest === false).length,
        childCloseAfterFireAtMs: percentiles(childCloseLagMs),
        timerDueMinusCloseMs: Object.fromEntries(MODES.map((m) => [m, percentiles(timerDueMinusCloseMs[m] ?? [])])),
        staleWorkflowTaskResults: staleWorkflowTasks,
        timerLoopDeadlocks,
        deadlocksRetriedInThisProcess: deadlockRetryCount(),
        completionsRejected: worker.worker.stats.completionsRejected,
        runsMs,
        totalMs: Date.now() - t0,
      };
      Object.assign(s.report, figures);
      console.log('[fault] F8c:', figures);
      expect(closed).toHaveLength(RUNS);
      // The races were hit, or the test proved nothing: re-run with another seed.
      expect(lateActivityCompletions, `no activity completed after its run closed (CHAOS_SEED=${s.seed})`).toBeGreaterThan(0);
      expect(lateTimers, `no timer came due after its run closed (CHAOS_SEED=${s.seed})`).toBeGreaterThan(0);
    } finally {
      await worker.stop();
      await engine.close();
    }
  }));

// The timer loop and a child's close. Every close locks a parent before its child
// (migrations/0004), and no order of run ids agrees with that for every pair, so a timer pass
// that waited for run rows could deadlock with a close: it held the child and waited for the
// parent while the close held the parent and waited for the child (found here under load,
// about one run in four on a busy 2-core box, before the fix). fireDueTimers now takes run
// rows with SKIP LOCKED and leaves a busy run's timers to its next pass. This test makes the
// interleaving happen deterministically, with a session that takes the close's locks in the
// close's order (parent, then child).
it("the timer loop never waits for a busy run, so it cannot deadlock with a child's close (parent, then child)", () =>
  runScenario('fault-f8c-timer-close-lock-order', async (s) => {
    const log = keepingLogger();
    // No background loops anywhere: the due timers wait until the test fires them.
    const engine = await PgEngine.connect({ databaseUrl: s.db.url, migrate: false, workflowTaskTimeoutMs: 2000, pollIntervalMs: 250, logger: log });
    const client = clientFor(engine);
    const taskQueue = `${s.taskQueue}-lock-order`;
    const activities: InProcessActivities = { tick: async (n) => n + 1, measure: async (x) => x.length, lateStep: async () => 'late-done' };
    const worker = await startWorker(engine, { taskQueue, workflowsPath, activities, logger: keepingLogger(), identity: 'lock-order-worker', runEngineLoops: false });
    const session = new pg.Client({ connectionString: s.db.url, application_name: 'f8c-close-lock-order' });
    await session.connect();
    session.on('error', () => {});
    const parents: string[] = [];
    try {
      // A parent and its child, each with a due timer, the child's run id sorting first (a
      // pair in two; Postgres compares uuids as their hex text).
      let pair: { parent: string; child: string } | undefined;
      for (let k = 0; !pair; k++) {
        expect(k, 'no parent/child pair with the child sorting first in 20 tries').toBeLessThan(20);
        const workflowId = `lock-order-${k}`;
        const handle = await client.workflow.start('lateRacer', { workflowId, taskQueue, args: [{ activityMs: 1, timerMs: 1, childMs: 1 }] });
        parents.push(workflowId);
        const parent = handle.firstExecutionRunId!;
        const child = await waitUntil(
          async () => {
            const { rows } = await s.db.pool.query<{ run_id: string }>(
              `SELECT e.run_id FROM chronicle.executions e JOIN chronicle.timers t ON t.run_id = e.run_id
               WHERE e.parent_run_id = $1 AND t.fire_at <= now()
                 AND EXISTS (SELECT 1 FROM chronicle.timers p WHERE p.run_id = $1 AND p.fire_at <= now())`,
              [parent],
            );
            return rows[0]?.run_id;
          },
          { timeoutMs: 30_000, message: `${workflowId}: parent and child timers due` },
        );
        if (child < parent) pair = { parent, child };
      }

      // The timers due now, by (run, seq): the workflows may start new ones as they go on.
      const { rows: dueBefore } = await s.db.pool.query<{ run_id: string; seq: number }>(
        'SELECT run_id, seq FROM chronicle.timers WHERE run_id = ANY($1::uuid[]) AND fire_at <= now()',
        [[pair.parent, pair.child]],
      );
      // The close of the child, step 1 (chronicle.lock_parent_of): the parent's row.
      await session.query('BEGIN');
      await session.query('SELECT 1 FROM chronicle.executions WHERE run_id = $1 FOR NO KEY UPDATE', [pair.parent]);
      // The timer loop's pass does not wait for the busy parent: it fires what it can lock.
      const timers = await fireDueTimers(engine.db).then(
        (fired) => ({ fired }),
        (error: unknown) => ({ error }),
      );
      // The close of the child, step 2: the child's row is free (the timer pass committed).
      const second = await session.query('SELECT 1 FROM chronicle.executions WHERE run_id = $1 FOR NO KEY UPDATE', [pair.child]).then(
        () => ({ locked: true }),
        (error: unknown) => ({ error }),
      );
      await session.query('error' in second ? 'ROLLBACK' : 'COMMIT');
      const deadlocked = [{ who: 'close of the child', ...second }, { who: 'timer loop', ...timers }].filter(
        (r) => 'error' in r && (r.error as { code?: string }).code === '40P01',
      );
      // The parent's timer, skipped while its row was held, fires on a later pass (or a few:
      // the worker's own completions hold these rows now and then, and a pass skips them too).
      const leftOf = async () => {
        const { rows } = await s.db.pool.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM chronicle.timers t JOIN unnest($1::uuid[], $2::int[]) AS d(run_id, seq) ON t.run_id = d.run_id AND t.seq = d.seq',
          [dueBefore.map((d) => d.run_id), dueBefore.map((d) => d.seq)],
        );
        return rows[0]!.n;
      };
      await waitUntil(async () => (await fireDueTimers(engine.db), (await leftOf()) === 0), {
        timeoutMs: 15_000,
        message: 'every timer of the pair that was due fired once the parent was free',
      });
      expect(dueBefore.length, 'both runs had a due timer').toBeGreaterThanOrEqual(2);
      Object.assign(s.report, { pair, deadlocked: deadlocked.map((d) => d.who), timers: 'fired' in timers ? timers : { error: String(timers.error) } });
      expect(deadlocked.map((d) => d.who), 'transactions aborted as deadlock victims').toEqual([]);
    } finally {
      await session.end().catch(() => {});
      for (const workflowId of parents) await client.workflow.getHandle(workflowId).terminate('cleanup').catch(() => {});
      await worker.stop();
      await engine.close();
    }
  }));
