/**
 * F6c and F6d (RELIABILITY.md, scaled down): history and payload limits, on a worker in the
 * test process whose engine has small limits (docs/programming-model.md#limits).
 *
 * F6c: a workflow that never finishes grows its history through one append path each
 * (signals from a sender loop, one activity result after another, one timer after
 * another). The worker logs the warning threshold first; then the completion that would
 * pass historyLengthMax terminates the run instead (TERMINATED, identity chronicle-limits,
 * a reason starting HISTORY_LIMIT_EXCEEDED that names the count and the limit); the closed
 * run can still be described and its history read, terminate and cancel answer
 * WorkflowNotRunningError, signals CHR_WORKFLOW_NOT_RUNNING, and nothing is left to run.
 *
 * F6d: a command payload over payloadMaxBytes (an activity argument, the workflow's result)
 * fails the workflow task with cause BAD_COMMAND, visible in describe().workflowTaskFailure
 * (and raw) with a message naming the field, the size and the limit; the task is retried
 * with backoff while the run stays open, its history records the failure once, and the run
 * can be described and terminated. A workflow task whose commands are each under the
 * payload limit but together over historySizeMaxBytes terminates the run with
 * HISTORY_SIZE_LIMIT_EXCEEDED naming the size and the limit (the behaviour documented in
 * docs/programming-model.md#limits).
 *
 * Each case is a fault scenario (own database; the invariant checker runs after it).
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { LimitSettings } from '../../engine/limits.js';
import type { Logger } from '../../engine/logger.js';
import type { PgEngine } from '../../engine/pg-engine.js';
import type { HistoryEvent } from '../../engine/protocol/index.js';
import { TerminatedFailure, WorkflowFailedError, WorkflowNotRunningError, type Client, type WorkflowHandle } from '../../sdk/client/index.js';
import { clientFor, startWorker, testEngine } from '../helpers/chronicle.js';
import { waitUntil } from '../helpers/database.js';
import { runScenario, type Scenario } from './harness/scenario.js';
import { recordSignal, type InProcessActivities } from './workflows.js';

const workflowsPath = fileURLToPath(new URL('./workflows.ts', import.meta.url));

const LIMITS: LimitSettings = {
  historyLengthWarn: 50,
  historyLengthMax: 120,
  historySizeWarnBytes: 64 * 1024,
  historySizeMaxBytes: 128 * 1024,
  payloadMaxBytes: 4096,
};

interface LogEntry {
  readonly level: string;
  readonly message: string;
  readonly meta: Record<string, unknown> | undefined;
}

/** A logger that keeps every warning and error, in order, and prints nothing. */
function keepingLogger(): Logger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const at = (level: string) => (message: string, meta?: Record<string, unknown>) => void entries.push({ level, message, meta });
  return { entries, debug() {}, info() {}, warn: at('warn'), error: at('error') };
}

const activities: InProcessActivities = {
  tick: async (n) => n + 1,
  measure: async (s) => s.length,
  lateStep: async () => 'unused here',
};

interface Limited {
  readonly engine: PgEngine;
  readonly client: Client;
  readonly workerLog: ReturnType<typeof keepingLogger>;
  readonly taskQueue: string;
}

/** An engine with LIMITS (running the timer and reaper loops) and one worker on it, for `body`. */
async function withLimitedWorker(s: Scenario, body: (l: Limited) => Promise<void>): Promise<void> {
  const engine = await testEngine(s.db.url, { limits: LIMITS, logger: keepingLogger() });
  const workerLog = keepingLogger();
  const taskQueue = `${s.taskQueue}-limits`;
  try {
    const worker = await startWorker(engine, { taskQueue, workflowsPath, activities, logger: workerLog, identity: 'limits-worker' });
    try {
      await body({ engine, client: clientFor(engine), workerLog, taskQueue });
    } finally {
      await worker.stop();
    }
  } finally {
    await engine.close();
  }
}

function ofType<T extends HistoryEvent['eventType']>(events: readonly HistoryEvent[], type: T): Extract<HistoryEvent, { eventType: T }>[] {
  return events.filter((e): e is Extract<HistoryEvent, { eventType: T }> => e.eventType === type);
}

const TERMINAL_TYPES = new Set([
  'WorkflowExecutionCompleted',
  'WorkflowExecutionFailed',
  'WorkflowExecutionCanceled',
  'WorkflowExecutionTerminated',
  'WorkflowExecutionContinuedAsNew',
  'WorkflowExecutionTimedOut',
]);

/** Operations on a closed run: describe and read work; terminate, cancel and signal are refused as not running. */
async function expectClosedRunStillServed(handle: WorkflowHandle<unknown>, historyLength: number): Promise<void> {
  const terminate = handle.terminate('once more');
  await expect(terminate).rejects.toBeInstanceOf(WorkflowNotRunningError);
  await expect(terminate).rejects.toMatchObject({ code: 'CHR_WORKFLOW_NOT_RUNNING', status: 'TERMINATED' });
  await expect(handle.cancel()).rejects.toMatchObject({ code: 'CHR_WORKFLOW_NOT_RUNNING' });
  await expect(handle.signal('record', 1)).rejects.toMatchObject({ code: 'CHR_WORKFLOW_NOT_RUNNING' });
  const d = await handle.describe();
  expect(d.status.name).toBe('TERMINATED');
  expect(d.historyLength, 'nothing appended to the closed run').toBe(historyLength);
  expect((await handle.fetchHistory()).events).toHaveLength(historyLength);
}

type AppendPath = 'signal' | 'activity' | 'timer';
const WORKFLOW_BY_PATH: Record<AppendPath, string> = { signal: 'signalRecorder', activity: 'activityLoop', timer: 'timerLoop' };

describe('F6c: the history length limit', () => {
  it.each<AppendPath>(['signal', 'activity', 'timer'])(
    'a run that grows through %s events is terminated with HISTORY_LIMIT_EXCEEDED naming the count and the limit, after a worker warning; the closed run is still served',
    (path) =>
      runScenario(`fault-f6c-history-limit-${path}`, (s) =>
        withLimitedWorker(s, async ({ engine, client, workerLog, taskQueue }) => {
          const workflowId = `f6c-${path}`;
          const handle = await client.workflow.start(WORKFLOW_BY_PATH[path], { workflowId, taskQueue, args: [] });
          const runId = (await handle.describe()).runId;

          // The signal path: a sender loop until the run refuses signals.
          const acked: number[] = [];
          let refusal: unknown;
          if (path === 'signal') {
            for (let i = 0; refusal === undefined; i++) {
              try {
                await handle.signal(recordSignal, i);
                acked.push(i);
              } catch (err) {
                refusal = err;
              }
              // Expected ≈ 60 signals; bounded in case the limit never acts.
              expect(i, 'the run is still open after 2,000 signals: the limit never acted').toBeLessThan(2_000);
            }
            expect(refusal).toBeInstanceOf(WorkflowNotRunningError);
            expect(refusal).toMatchObject({ code: 'CHR_WORKFLOW_NOT_RUNNING', status: 'TERMINATED' });
          }

          // Expected ≈ 1–3 s (120 events); deadline 60 s.
          const outcome = await engine.awaitOutcome({ workflowId, runId }, { signal: AbortSignal.timeout(60_000) });
          expect(outcome.status).toBe('TERMINATED');
          const reason = (outcome as { reason?: string }).reason ?? '';
          const m = /^HISTORY_LIMIT_EXCEEDED: the history would reach (\d+) events, over the limit historyLengthMax = (\d+)\b/.exec(reason);
          expect(m, `reason names the count and the limit: ${reason}`).not.toBeNull();
          const wouldReach = Number(m![1]);
          expect(Number(m![2])).toBe(LIMITS.historyLengthMax);
          expect(wouldReach).toBeGreaterThan(LIMITS.historyLengthMax);

          // handle.result(): WorkflowFailedError with a TerminatedFailure carrying the reason.
          const failed = await handle.result().then(
            () => undefined,
            (err: unknown) => err,
          );
          expect(failed).toBeInstanceOf(WorkflowFailedError);
          expect((failed as WorkflowFailedError).cause).toBeInstanceOf(TerminatedFailure);
          expect((failed as WorkflowFailedError).cause?.message).toContain('HISTORY_LIMIT_EXCEEDED');

          // History: within the maximum, then exactly one terminal event, the limit's.
          const events = (await handle.fetchHistory()).events;
          expect(events.length).toBeLessThanOrEqual(LIMITS.historyLengthMax + 1);
          expect(events.filter((e) => TERMINAL_TYPES.has(e.eventType))).toHaveLength(1);
          const last = events.at(-1)!;
          expect(last.eventType).toBe('WorkflowExecutionTerminated');
          expect(last.attributes).toEqual({ reason, identity: 'chronicle-limits' });
          // The refused batch would have brought the recorded history (all but the terminal event) past the maximum.
          expect(wouldReach).toBeGreaterThan(events.length - 1);

          const d = await handle.describe();
          expect(d.status.name).toBe('TERMINATED');
          expect(d).toMatchObject({ historyLength: events.length, pendingEventCount: 0, pendingActivityCount: 0, pendingTimerCount: 0 });
          expect(d.workflowTaskFailure).toBeUndefined();

          // The worker logged the warning threshold for this run first: while its history was
          // past the warning and still under the maximum (on the activity path the one-commit
          // path learns it from the engine's answer; the test below pins that down).
          const warnings = workerLog.entries.filter((e) => e.level === 'warn' && e.message.includes('past the warning threshold') && e.meta?.runId === runId);
          const warnedAt = warnings.length ? Number(warnings[0]!.meta!.historyLength) : undefined;
          expect(warnings.length, 'the worker warned about the run').toBeGreaterThanOrEqual(1);
          expect(warnedAt).toBeGreaterThanOrEqual(LIMITS.historyLengthWarn);
          expect(warnedAt).toBeLessThan(LIMITS.historyLengthMax);

          // Per path: the events that grew the history are there.
          if (path === 'signal') {
            const recorded = ofType(events, 'WorkflowExecutionSignaled').map((e) => e.attributes.args[0]);
            expect(recorded.length).toBeGreaterThan(0);
            // One sender: commit order is send order; what was recorded is a prefix of what was acknowledged.
            expect(recorded).toEqual(acked.slice(0, recorded.length));
          } else if (path === 'activity') {
            expect(ofType(events, 'ActivityTaskCompleted').length).toBeGreaterThan(0);
          } else {
            expect(ofType(events, 'TimerFired').length).toBeGreaterThan(0);
          }

          await expectClosedRunStillServed(handle as WorkflowHandle<unknown>, events.length);
          Object.assign(s.report, {
            path,
            limits: LIMITS,
            reason,
            historyLength: events.length,
            warnedAtHistoryLength: warnedAt ?? null,
            signalsAcknowledged: acked.length,
            signalsRecorded: ofType(events, 'WorkflowExecutionSignaled').length,
          });
          console.log(`[fault] F6c ${path}: warned at ${warnedAt ?? 'never'} events, terminated at ${events.length} (${reason.slice(0, 90)}…)`);
        }),
      ),
  );
});

describe('F6c: continueAsNewSuggested on the one-commit path', () => {
  // A run whose progress goes through the worker's one-commit path (an activity result and
  // the workflow task it unblocks committed together, sdk/worker/speculation.ts) has no
  // claimed task to tell it the history size. Before the fix it kept the facts of its last
  // claimed task, so continueAsNewSuggested stayed false and the documented pattern ran into
  // historyLengthMax; now the engine's answer to each completion carries the history facts
  // after it, and the worker hands those to the next activation.
  it('a loop of activities that stops when continueAsNewSuggested turns true sees it before the maximum', () =>
    runScenario('fault-f6c-activities-until-suggested', (s) =>
      withLimitedWorker(s, async ({ client, workerLog, taskQueue }) => {
        const workflowId = 'f6c-activities-until-suggested';
        const handle = await client.workflow.start('activitiesUntilSuggested', { workflowId, taskQueue, args: [] });
        const runId = (await handle.describe()).runId;
        const outcome = await handle.result({ signal: AbortSignal.timeout(60_000) }).then(
          (result: unknown) => ({ result }),
          (error: unknown) => ({ error: String((error as WorkflowFailedError).cause?.message ?? error) }),
        );
        const events = (await handle.fetchHistory()).events;
        Object.assign(s.report, {
          limits: LIMITS,
          outcome,
          historyLength: events.length,
          taskCompletionsSayingSuggested: ofType(events, 'WorkflowTaskCompleted').filter((e) => e.attributes.continueAsNewSuggested === true).length,
          workerWarnings: workerLog.entries.filter((e) => e.message.includes('past the warning threshold')).length,
        });
        console.log('[fault] F6c activitiesUntilSuggested:', s.report);
        expect(outcome, 'the loop returned when suggested (instead of being terminated at the maximum)').toMatchObject({
          result: { historyLength: expect.any(Number) },
        });
        const seen = (outcome as { result: { historyLength: number } }).result.historyLength;
        expect(seen).toBeGreaterThanOrEqual(LIMITS.historyLengthWarn);
        expect(seen).toBeLessThan(LIMITS.historyLengthMax);
        expect(workerLog.entries.some((e) => e.message.includes('past the warning threshold') && e.meta?.runId === runId)).toBe(true);
      }),
    ));
});

describe('F6d: oversized commands', () => {
  const BYTES = 6000;
  it.each([
    { name: 'an activity argument', workflowType: 'oversizedActivityArgument', field: 'commands[0].args[0]' },
    { name: 'the workflow result', workflowType: 'oversizedResult', field: 'commands[0].result' },
  ])(
    'a payload over payloadMaxBytes in $name fails the workflow task (BAD_COMMAND, naming size and limit); the run stays open, can be described and terminated',
    ({ workflowType, field }) =>
      runScenario(`fault-f6d-${workflowType}`, (s) =>
        withLimitedWorker(s, async ({ client, workerLog, taskQueue }) => {
          const workflowId = `f6d-${workflowType}`;
          const handle = await client.workflow.start(workflowType, { workflowId, taskQueue, args: [BYTES] });
          // The JSON text of the payload: the characters plus two quotes.
          const size = BYTES + 2;
          const message = `${field}: is ${size} bytes as JSON; the limit is ${LIMITS.payloadMaxBytes} bytes`;

          // A second failed attempt shows the retry (backoff 1 s); deadline 30 s.
          const d = await waitUntil(
            async () => {
              const x = await handle.describe();
              return (x.workflowTaskFailure?.attempt ?? 0) >= 2 ? x : undefined;
            },
            { timeoutMs: 30_000, message: 'the workflow task failed twice' },
          );
          expect(d.status.name).toBe('RUNNING');
          expect(d.workflowTaskFailure).toMatchObject({ cause: 'BAD_COMMAND', message: expect.stringContaining(message) });
          expect(d.raw.workflowTaskFailure).toEqual(d.workflowTaskFailure);

          // Nothing of the refused commands was written; the failure is recorded once per streak.
          const events = (await handle.fetchHistory()).events;
          expect(events.map((e) => e.eventType)).toEqual(['WorkflowExecutionStarted', 'WorkflowTaskFailed']);
          expect(events[1]!.attributes).toMatchObject({ cause: 'BAD_COMMAND', failure: { message: expect.stringContaining(message) } });
          expect(workerLog.entries.some((e) => e.level === 'error' && e.message === 'workflow task failed' && e.meta?.workflowId === workflowId)).toBe(true);

          // Terminate works on the stuck run, and describe shows it.
          await handle.terminate('payload too large');
          const closed = await handle.describe();
          expect(closed.status.name).toBe('TERMINATED');
          expect(closed.workflowTaskFailure).toBeUndefined();
          const after = (await handle.fetchHistory()).events;
          expect(after).toHaveLength(events.length + 1);
          expect(after.at(-1)).toMatchObject({ eventType: 'WorkflowExecutionTerminated', attributes: { reason: 'payload too large' } });
          await expectClosedRunStillServed(handle as WorkflowHandle<unknown>, after.length);
          Object.assign(s.report, { limits: LIMITS, field, payloadBytes: size, workflowTaskFailure: d.workflowTaskFailure });
          console.log(`[fault] F6d ${workflowType}:`, d.workflowTaskFailure);
        }),
      ),
  );

  it('one workflow task whose commands together pass historySizeMaxBytes terminates the run with HISTORY_SIZE_LIMIT_EXCEEDED naming size and limit', () =>
    runScenario('fault-f6d-oversized-batch', (s) =>
      withLimitedWorker(s, async ({ client, taskQueue }) => {
        const workflowId = 'f6d-batch';
        // 40 activities of ≈ 3.5 KB arguments: each under payloadMaxBytes, ≈ 150 KB together.
        const handle = await client.workflow.start('oversizedBatch', { workflowId, taskQueue, args: [40, 3500] });
        const failed = await handle.result({ signal: AbortSignal.timeout(30_000) }).then(
          () => undefined,
          (err: unknown) => err,
        );
        expect(failed).toBeInstanceOf(WorkflowFailedError);
        const reason = (failed as WorkflowFailedError).cause?.message ?? '';
        const m = /^HISTORY_SIZE_LIMIT_EXCEEDED: the history would reach (\d+) bytes, over the limit historySizeMaxBytes = (\d+)\b/.exec(reason);
        expect(m, `reason names the size and the limit: ${reason}`).not.toBeNull();
        expect(Number(m![1])).toBeGreaterThan(LIMITS.historySizeMaxBytes);
        expect(Number(m![2])).toBe(LIMITS.historySizeMaxBytes);
        const events = (await handle.fetchHistory()).events;
        expect(events.map((e) => e.eventType)).toEqual(['WorkflowExecutionStarted', 'WorkflowExecutionTerminated']);
        expect(events[1]!.attributes).toEqual({ reason, identity: 'chronicle-limits' });
        await expectClosedRunStillServed(handle as WorkflowHandle<unknown>, events.length);
        Object.assign(s.report, { limits: LIMITS, reason });
      }),
    ));
});
