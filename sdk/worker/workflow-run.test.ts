import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WorkflowRunInfo } from '../../engine/protocol/activation.js';
import type { WorkflowCommand } from '../../engine/protocol/commands.js';
import type { HistoryEvent } from '../../engine/protocol/events.js';
import { toFailureInfo } from '../../engine/protocol/failures.js';
import { ApplicationFailure } from '../workflow/errors.js';
import { HistoryBuilder, commandsOf, inbox, liveTask, runInfo } from './__fixtures__/history.js';
import { bundleWorkflowCode } from './bundler.js';
import { batchHistoryLength, splitHistory } from './replay/history-batches.js';
import { jobsFromEvents } from './replay/jobs.js';
import { NonDeterminismError } from './replay/matcher.js';
import { createSandboxFactory, type WorkflowSandboxFactory } from './sandbox.js';
import { WorkflowRun, WorkflowTaskError } from './workflow-run.js';

const fixture = (name: string) => new URL(`./__fixtures__/${name}`, import.meta.url).pathname;
const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);

let factory: WorkflowSandboxFactory;
let reorderedFactory: WorkflowSandboxFactory;
beforeAll(async () => {
  factory = createSandboxFactory(await bundleWorkflowCode({ workflowsPath: fixture('workflows.ts') }), { deadlockTimeoutMs: 200 });
  reorderedFactory = createSandboxFactory(await bundleWorkflowCode({ workflowsPath: fixture('reordered.ts') }));
});

const runs: WorkflowRun[] = [];
afterEach(() => {
  for (const run of runs.splice(0)) run.dispose();
});

/** A live run with event 1 recorded, ready for its first task. */
function begin(workflowType: string, args: unknown[] = [], info: WorkflowRunInfo = runInfo(workflowType), from = factory) {
  const history = new HistoryBuilder();
  const started = history.start(info, args);
  const run = WorkflowRun.create(from, info);
  runs.push(run);
  return { history, started, run, info };
}

function fresh(info: WorkflowRunInfo, from = factory): WorkflowRun {
  const run = WorkflowRun.create(from, info);
  runs.push(run);
  return run;
}

/**
 * Replays `history` batch by batch directly through a fresh sandbox and returns the commands
 * of each batch, for comparing whole commands (args, options, results), not only what the
 * matcher compares.
 */
function replayedCommands(info: WorkflowRunInfo, history: readonly HistoryEvent[]): WorkflowCommand[][] {
  const sandbox = factory.create(info);
  try {
    return splitHistory(history).batches.map((batch) =>
      commandsOf(
        sandbox.activate({
          timestamp: batch.completed.attributes.workflowTime,
          isReplaying: true,
          historyLength: batchHistoryLength(batch),
          jobs: jobsFromEvents(batch.inputs),
        }),
      ),
    );
  } finally {
    sandbox.dispose();
  }
}

describe('WorkflowRun: live activations, then replay in a fresh sandbox', () => {
  it('a 3-activity sequential workflow', () => {
    const { history, started, run, info } = begin('sequential', ['o-1']);
    const live: WorkflowCommand[][] = [];
    live.push(commandsOf(liveTask(run, history, [started], T0 + 10)));
    expect(live[0]).toEqual([
      {
        kind: 'ScheduleActivity',
        seq: 1,
        activityType: 'reserveStock',
        args: ['o-1'],
        options: {
          startToCloseTimeoutMs: 60_000,
          retry: { initialIntervalMs: 1000, backoffCoefficient: 2, maximumIntervalMs: 100_000, maximumAttempts: 3, nonRetryableErrorTypes: [], jitter: 0.25 },
          priority: 50,
        },
      },
    ]);
    expect(run.lastCompletedEventId).toBe(3);
    live.push(commandsOf(liveTask(run, history, [inbox.activityCompleted(1, 'reserved:o-1')], T0 + 20)));
    expect(live[1]).toMatchObject([{ kind: 'ScheduleActivity', seq: 2, activityType: 'chargeCard', args: ['o-1', 100] }]);
    live.push(commandsOf(liveTask(run, history, [inbox.activityCompleted(2, { chargeId: 'ch_o-1', amount: 100 })], T0 + 30)));
    expect(live[2]).toMatchObject([{ kind: 'ScheduleActivity', seq: 3, activityType: 'ship' }]);
    live.push(commandsOf(liveTask(run, history, [inbox.activityCompleted(3, 'shipped:o-1')], T0 + 40)));
    expect(live[3]).toEqual([{ kind: 'CompleteWorkflow', result: 'o-1: reserved:o-1 -> ch_o-1 -> shipped:o-1' }]);
    expect(run.closed).toBe(true);
    expect(history.events.map((e) => e.eventType)).toEqual([
      'WorkflowExecutionStarted', 'ActivityTaskScheduled', 'WorkflowTaskCompleted',
      'ActivityTaskCompleted', 'ActivityTaskScheduled', 'WorkflowTaskCompleted',
      'ActivityTaskCompleted', 'ActivityTaskScheduled', 'WorkflowTaskCompleted',
      'ActivityTaskCompleted', 'WorkflowExecutionCompleted', 'WorkflowTaskCompleted',
    ]);

    const replayed = fresh(info);
    expect(replayed.replay(history.events)).toEqual({ replayedBatches: 4, lastCompletedEventId: 12 });
    expect(replayed.closed).toBe(true);
    expect(replayedCommands(info, history.events)).toEqual(live);
  });

  it('a parallel Promise.all fan-out schedules every activity in one activation', () => {
    const { history, started, run, info } = begin('fanOut', [['a', 'b', 'c']]);
    const first = commandsOf(liveTask(run, history, [started], T0 + 1));
    expect(first.map((c) => [c.kind, 'seq' in c && c.seq, 'args' in c && c.args])).toEqual([
      ['ScheduleActivity', 1, ['a']],
      ['ScheduleActivity', 2, ['b']],
      ['ScheduleActivity', 3, ['c']],
    ]);
    // results arrive out of order, two in one task, then the last one
    expect(commandsOf(liveTask(run, history, [inbox.activityCompleted(3, 'C'), inbox.activityCompleted(1, 'A')], T0 + 2))).toEqual([]);
    expect(commandsOf(liveTask(run, history, [inbox.activityCompleted(2, 'B')], T0 + 3))).toEqual([{ kind: 'CompleteWorkflow', result: ['A', 'B', 'C'] }]);

    expect(fresh(info).replay(history.events).replayedBatches).toBe(3);
    expect(replayedCommands(info, history.events).flat()).toHaveLength(4);
  });

  it('sleep is a durable timer and workflow time moves with the activations', () => {
    const { history, started, run, info } = begin('sleeper', ['5s']);
    expect(commandsOf(liveTask(run, history, [started], T0 + 1000))).toEqual([{ kind: 'StartTimer', seq: 1, durationMs: 5000 }]);
    expect(commandsOf(liveTask(run, history, [inbox.timerFired(1)], T0 + 6200))).toEqual([{ kind: 'CompleteWorkflow', result: 5200 }]);
    expect(replayedCommands(info, history.events)).toEqual([[{ kind: 'StartTimer', seq: 1, durationMs: 5000 }], [{ kind: 'CompleteWorkflow', result: 5200 }]]);
  });

  it.each([
    [0, 1],
    [-50, 1],
    ['250ms', 250],
    ['1.5h', 5_400_000],
  ])('sleep(%j) starts a %d ms timer', (duration, ms) => {
    const { history, started, run } = begin('sleeper', [duration]);
    expect(commandsOf(liveTask(run, history, [started], T0))).toEqual([{ kind: 'StartTimer', seq: 1, durationMs: ms }]);
  });

  it('sleep with a malformed duration fails the task, naming the argument', () => {
    const { history, started, run } = begin('sleeper', ['soon']);
    expect(liveTask(run, history, [started], T0)).toMatchObject({ kind: 'WORKFLOW_ERROR', error: { type: 'InvalidArgumentError', message: expect.stringContaining("ms: 'soon' is not a duration") } });
  });

  it('Date, Math.random, uuid4 and crypto are deterministic per run and identical on replay', () => {
    const { history, started, run, info } = begin('randomness');
    commandsOf(liveTask(run, history, [started], T0 + 1000));
    const [done] = commandsOf(liveTask(run, history, [inbox.timerFired(1)], T0 + 2500));
    expect(done.kind).toBe('CompleteWorkflow');
    const result = (done as { result: any }).result;
    expect(result.first.now).toBe(T0 + 1000);
    expect(result.second.now).toBe(T0 + 2500);
    expect(result.first.date).toBe(new Date(T0 + 1000).toISOString());
    expect(result.first.dateString).toBe('string');
    expect(result.fixedDate).toBe('1970-01-01T00:00:00.000Z');
    for (const sample of [result.first, result.second]) {
      expect(sample.random).toBeGreaterThanOrEqual(0);
      expect(sample.random).toBeLessThan(1);
      expect(sample.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(sample.cryptoUuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
    expect(result.second.random).not.toBe(result.first.random);
    expect(result.second.uuid).not.toBe(result.first.uuid);

    // Replay in a fresh sandbox: same values everywhere, module-level Math.random included.
    const replayed = replayedCommands(info, history.events);
    expect(replayed[1]).toEqual([{ kind: 'CompleteWorkflow', result }]);
    expect(fresh(info).replay(history.events).replayedBatches).toBe(2);

    // Another run draws other numbers.
    const other = begin('randomness', [], runInfo('randomness', { runId: 'another-run' }));
    commandsOf(liveTask(other.run, other.history, [other.started], T0 + 1000));
    const [otherDone] = commandsOf(liveTask(other.run, other.history, [inbox.timerFired(1)], T0 + 2500));
    const otherResult = (otherDone as { result: any }).result;
    expect(otherResult.first.now).toBe(result.first.now);
    expect(otherResult.first.random).not.toBe(result.first.random);
    expect(otherResult.first.uuid).not.toBe(result.first.uuid);
    expect(otherResult.moduleRandom).not.toBe(result.moduleRandom);
  });

  it('workflowInfo: run facts and a history length that replay reproduces', () => {
    const info = runInfo('info');
    const { history, started, run } = begin('info', [], info);
    commandsOf(liveTask(run, history, [started], T0 + 5));
    history.append('WorkflowTaskFailed', { cause: 'WORKFLOW_ERROR', failure: { failureType: 'application', message: 'x' }, identity: 'w', attempt: 1 }, T0 + 6);
    const [done] = commandsOf(liveTask(run, history, [inbox.timerFired(1)], T0 + 7));
    expect(done).toEqual({
      kind: 'CompleteWorkflow',
      result: {
        first: {
          namespace: 'default', workflowId: 'order-1', runId: info.runId, workflowType: 'info', taskQueue: 'orders',
          startTime: info.startTime, historyLength: 1, historySize: 0, continueAsNewSuggested: false, attempt: 1,
          searchAttributes: {}, firstExecutionRunId: info.runId, unsafe: { isReplaying: false },
        },
        // 1 started + 1 timer + 1 completed + 1 task failed + 1 timer fired
        second: { historyLength: 5 },
      },
    });
    expect(replayedCommands(info, history.events)[1]).toEqual([
      { ...done, result: { ...(done as any).result, first: { ...(done as any).result.first, unsafe: { isReplaying: true } } } },
    ]);
  });

  it('activity options reach the command: task queue, priority, scheduleToClose as startToClose', () => {
    const { history, started, run } = begin('withOptions');
    expect(commandsOf(liveTask(run, history, [started], T0))).toMatchObject([
      {
        kind: 'ScheduleActivity',
        activityType: 'ship',
        taskQueue: 'payments',
        options: { startToCloseTimeoutMs: 600_000, scheduleToCloseTimeoutMs: 600_000, priority: 90 },
      },
    ]);
  });

  it('setTimeout/clearTimeout are durable timers; a cleared timer is cancelled and never calls back', () => {
    const { history, started, run, info } = begin('timeouts');
    expect(commandsOf(liveTask(run, history, [started], T0))).toEqual([
      { kind: 'StartTimer', seq: 1, durationMs: 5000 },
      { kind: 'StartTimer', seq: 2, durationMs: 1000 },
      { kind: 'CancelTimer', seq: 1 },
      { kind: 'StartTimer', seq: 3, durationMs: 2000 },
    ]);
    expect(commandsOf(liveTask(run, history, [inbox.timerFired(2), inbox.timerFired(3)], T0 + 2000))).toEqual([{ kind: 'CompleteWorkflow', result: ['kept'] }]);
    expect(fresh(info).replay(history.events).replayedBatches).toBe(2);
  });
});

describe('failures', () => {
  it('an activity failure reaches the workflow as ActivityFailure with an ApplicationFailure cause', () => {
    const { history, started, run, info } = begin('catchesActivityFailure');
    commandsOf(liveTask(run, history, [started], T0));
    const failure = toFailureInfo(ApplicationFailure.nonRetryable('card declined', 'CardDeclined'));
    const [done] = commandsOf(liveTask(run, history, [inbox.activityFailed(1, failure, 'NON_RETRYABLE_FAILURE')], T0 + 1));
    expect(done).toEqual({
      kind: 'CompleteWorkflow',
      result: {
        name: 'ActivityFailure',
        activityType: 'chargeCard',
        activityId: '1',
        retryState: 'NON_RETRYABLE_FAILURE',
        causeIsApplicationFailure: true,
        causeType: 'CardDeclined',
        causeMessage: 'card declined',
      },
    });
    expect(fresh(info).replay(history.events).replayedBatches).toBe(2);
  });

  it('a plain Error fails the task (WORKFLOW_ERROR); the run must be disposed', () => {
    const { history, started, run } = begin('throwsPlainError');
    const result = liveTask(run, history, [started], T0);
    expect(result).toMatchObject({ kind: 'WORKFLOW_ERROR', error: { type: 'TypeError', message: 'a bug in workflow code' } });
    expect(run.usable).toBe(false);
    expect(() => run.activate([], { timestamp: T0, historyLength: 1 })).toThrow('an earlier activation (or query) failed; dispose it and replay into a new run');
    expect(history.length).toBe(1); // nothing recorded
  });

  it('an ApplicationFailure fails the workflow (FailWorkflow) and replays', () => {
    const { history, started, run, info } = begin('throwsApplicationFailure');
    const [fail] = commandsOf(liveTask(run, history, [started], T0));
    expect(fail).toMatchObject({ kind: 'FailWorkflow', failure: { failureType: 'application', type: 'OrderRejected', nonRetryable: true, details: [{ orderId: 'o-1' }] } });
    expect(run.closed).toBe(true);
    const replayed = fresh(info);
    replayed.replay(history.events);
    expect(replayed.closed).toBe(true);
  });

  it('the infinite loop is a DEADLOCK result within the timeout', () => {
    const { history, started, run } = begin('infiniteLoop');
    const began = performance.now();
    expect(liveTask(run, history, [started], T0)).toMatchObject({ kind: 'DEADLOCK', error: { type: 'WorkflowDeadlockError' } });
    expect(performance.now() - began).toBeLessThan(1500);
    expect(run.usable).toBe(false);
  });
});

describe('cancellation', () => {
  it('pending timers are cancelled and the run ends cancelled when the cancellation propagates', () => {
    const { history, started, run, info } = begin('cancellable');
    expect(commandsOf(liveTask(run, history, [started], T0)).map((c) => c.kind)).toEqual(['ScheduleActivity', 'StartTimer']);
    expect(commandsOf(liveTask(run, history, [inbox.cancelRequested('user asked')], T0 + 1))).toEqual([
      { kind: 'RequestCancelActivity', seq: 1 }, // TRY_CANCEL, the default
      { kind: 'CancelTimer', seq: 1 },
      { kind: 'CancelWorkflow' },
    ]);
    expect(run.closed).toBe(true);
    expect(fresh(info).replay(history.events).replayedBatches).toBe(2);
  });

  it('a workflow that catches the cancellation completes; the activity reports ActivityFailure(CancelledFailure)', () => {
    const { history, started, run } = begin('cancellationCaught');
    commandsOf(liveTask(run, history, [started], T0));
    expect(commandsOf(liveTask(run, history, [inbox.cancelRequested()], T0 + 1))).toEqual([
      { kind: 'RequestCancelActivity', seq: 1 },
      { kind: 'CompleteWorkflow', result: { cancelled: true, name: 'ActivityFailure', causeName: 'CancelledFailure' } },
    ]);
  });

  it('a late activity result after the cancellation is dropped', () => {
    const { history, started, run } = begin('unawaitedActivity');
    commandsOf(liveTask(run, history, [started], T0));
    expect(commandsOf(liveTask(run, history, [inbox.cancelRequested(), inbox.activityCompleted(1, 'late')], T0 + 1))).toEqual([
      { kind: 'RequestCancelActivity', seq: 1 },
      { kind: 'CancelTimer', seq: 1 },
      { kind: 'CancelWorkflow' },
    ]);
  });
});

describe('non-determinism', () => {
  function twoStepsHistory() {
    const { history, started, run, info } = begin('twoSteps', ['o-1'], runInfo('twoSteps'));
    commandsOf(liveTask(run, history, [started], T0));
    commandsOf(liveTask(run, history, [inbox.activityCompleted(1, 'reserved')], T0 + 1));
    commandsOf(liveTask(run, history, [inbox.activityCompleted(2, { chargeId: 'c', amount: 100 })], T0 + 2));
    return { history, info };
  }

  it('the reordered variant replayed against the original history throws, naming event and both sides', () => {
    const { history, info } = twoStepsHistory();
    expect(fresh(info).replay(history.events).replayedBatches).toBe(3); // the original code replays fine
    const run = fresh(info, reorderedFactory);
    let error: unknown;
    try {
      run.replay(history.events);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(NonDeterminismError);
    const nde = error as NonDeterminismError;
    expect(nde.code).toBe('CHR_NON_DETERMINISM');
    expect(nde.taskFailureCause).toBe('NON_DETERMINISM');
    expect(nde.eventId).toBe(2);
    expect(nde.recorded).toEqual({ eventId: 2, eventType: 'ActivityTaskScheduled', seq: 1, activityType: 'reserveStock' });
    expect(nde.produced).toEqual({ kind: 'ScheduleActivity', seq: 1, activityType: 'chargeCard' });
    expect(nde.message).toMatch(
      /^Non-determinism at event 2: history has ActivityTaskScheduled\(seq 1, 'reserveStock'\) but the workflow produced ScheduleActivity\(seq 1, 'chargeCard'\)\./,
    );
    expect(run.usable).toBe(false);
  });

  it('a history missing a command the code produces fails at the completion event', () => {
    const { history, info } = twoStepsHistory();
    // Drop the first ActivityTaskScheduled (event 2) and renumber: the code now produces an extra command.
    const edited = history.events.filter((e) => e.eventId !== 2).map((e, i) => ({ ...e, eventId: i + 1 }) as HistoryEvent);
    expect(() => fresh(info).replay(edited)).toThrow(/^Non-determinism at event 2: history has no further command in this workflow task but the workflow produced ScheduleActivity\(seq 1, 'reserveStock'\)/);
  });

  it('a replayed activation that throws a plain error is a WorkflowTaskError (WORKFLOW_ERROR)', () => {
    const info = runInfo('throwsPlainError');
    const history = new HistoryBuilder();
    const started = history.start(info, []);
    history.completeTask([started], [{ kind: 'StartTimer', seq: 1, durationMs: 10 }], T0);
    const err = (() => {
      try {
        fresh(info).replay(history.events);
      } catch (e) {
        return e;
      }
    })() as WorkflowTaskError;
    expect(err).toBeInstanceOf(WorkflowTaskError);
    expect(err.taskFailureCause).toBe('WORKFLOW_ERROR');
    expect(err.eventId).toBe(3);
    expect(toFailureInfo(err)).toMatchObject({ type: 'TypeError', message: 'a bug in workflow code' });
  });

  it('a replayed activation that deadlocks is a WorkflowTaskError (DEADLOCK)', () => {
    const info = runInfo('infiniteLoop');
    const history = new HistoryBuilder();
    const started = history.start(info, []);
    history.completeTask([started], [], T0);
    expect(() => fresh(info).replay(history.events)).toThrow(expect.objectContaining({ taskFailureCause: 'DEADLOCK' }));
  });
});

describe('replay then continue live (a cache miss)', () => {
  it('replays completed tasks, skipping failed-task events, then takes the open inputs live', () => {
    const { history, started, run, info } = begin('sequential', ['o-1']);
    commandsOf(liveTask(run, history, [started], T0));
    commandsOf(liveTask(run, history, [inbox.activityCompleted(1, 'reserved:o-1')], T0 + 1));
    history.append('WorkflowTaskFailed', { cause: 'DEADLOCK', failure: { failureType: 'application', message: 'x' }, identity: 'w', attempt: 1 }, T0 + 2);

    const rebuilt = fresh(info);
    expect(rebuilt.replay(history.events)).toEqual({ replayedBatches: 2, lastCompletedEventId: 6 });
    expect(rebuilt.lastCompletedEventId).toBe(run.lastCompletedEventId);
    const next = [inbox.activityCompleted(2, { chargeId: 'ch', amount: 100 })];
    const fromRebuilt = rebuilt.activate(next, { timestamp: T0 + 3, historyLength: history.length + 1 });
    const fromCached = run.activate(next, { timestamp: T0 + 3, historyLength: history.length + 1 });
    expect(fromRebuilt).toEqual(fromCached);
    expect(commandsOf(fromRebuilt)).toMatchObject([{ kind: 'ScheduleActivity', seq: 3, activityType: 'ship' }]);
  });

  it('guards its protocol: one activation per completion, replay only on a new run, increasing ids', () => {
    const { history, started, run } = begin('sequential', ['o-1']);
    run.activate([started], { timestamp: T0, historyLength: 1 });
    expect(() => run.activate([], { timestamp: T0, historyLength: 1 })).toThrow('its last activation was never marked completed');
    expect(() => run.replay(history.events)).toThrow('cannot replay()');
    expect(() => run.markCompleted(0)).toThrow('completion ids must increase');
    run.markCompleted(3);
    expect(() => run.markCompleted(4)).toThrow('cannot markCompleted()');
    run.dispose();
    expect(() => run.activate([], { timestamp: T0, historyLength: 1 })).toThrow('it was disposed');
  });

  it('refuses command events among the inputs', () => {
    const { history, started, run } = begin('sequential', ['o-1']);
    liveTask(run, history, [started], T0);
    expect(() => run.activate([history.events[1]], { timestamp: T0, historyLength: 3 })).toThrow('ActivityTaskScheduled is not an input of a workflow task');
  });
});
