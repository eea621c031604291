// Signals, conditions, updates and queries through WorkflowRun (SEMANTICS.md items 1–4, 9).
import { describe, expect, it } from 'vitest';
import { T0, useFixture } from './__fixtures__/harness.js';
import { HistoryBuilder, commandsOf, inbox, liveTask, runInfo } from './__fixtures__/history.js';
import { NonDeterminismError } from './replay/matcher.js';

const { begin, fresh } = useFixture('model.ts');

describe('signals', () => {
  it('signals that arrive before their handler are buffered and dispatched inside setHandler of their name', () => {
    const { history, started, run, info } = begin('bufferedSignals');
    expect(commandsOf(liveTask(run, history, [started, inbox.signal('add', 1), inbox.signal('stage', 'x'), inbox.signal('add', 2)], T0))).toEqual([
      { kind: 'StartTimer', seq: 1, durationMs: 10 },
    ]);
    const [done] = commandsOf(liveTask(run, history, [inbox.timerFired(1)], T0 + 10));
    expect(done).toEqual({
      kind: 'CompleteWorkflow',
      result: [['add', 1], ['add', 2], 'after add handler', ['stage', 'x'], 'after stage handler'],
    });
    expect(fresh(info).replay(history.events).replayedBatches).toBe(2);
  });

  it('signal jobs run before timer results: handlers see the state from before the activation', () => {
    const { history, started, run, info } = begin('handlersSeePreActivationState');
    commandsOf(liveTask(run, history, [started], T0));
    // The timer fired before the signal arrived, yet the handler runs first.
    expect(commandsOf(liveTask(run, history, [inbox.timerFired(1), inbox.signal('stage', 'a')], T0 + 1000))).toEqual([
      { kind: 'StartTimer', seq: 2, durationMs: 1000 },
    ]);
    const [done] = commandsOf(liveTask(run, history, [inbox.timerFired(2), inbox.signal('stage', 'b')], T0 + 2000));
    expect(done).toEqual({ kind: 'CompleteWorkflow', result: ['a saw sleeping', 'b saw woke'] });
    expect(fresh(info).replay(history.events).replayedBatches).toBe(3);
  });

  it('async handlers count for allHandlersFinished', () => {
    const { history, started, run, info } = begin('waitsForHandlers');
    commandsOf(liveTask(run, history, [started], T0));
    expect(commandsOf(liveTask(run, history, [inbox.signal('stage', 'a'), inbox.signal('finish')], T0 + 1))).toEqual([
      { kind: 'StartTimer', seq: 1, durationMs: 100 },
    ]);
    expect(commandsOf(liveTask(run, history, [inbox.timerFired(1)], T0 + 101))).toEqual([
      { kind: 'CompleteWorkflow', result: ['finished, handlers done: false', 'a'] },
    ]);
    expect(fresh(info).replay(history.events).replayedBatches).toBe(3);
  });
});

describe('condition', () => {
  it('with a timeout: true when the predicate holds first, and the timer is cancelled', () => {
    const { history, started, run, info } = begin('approval', ['1 day']);
    expect(commandsOf(liveTask(run, history, [started], T0))).toEqual([{ kind: 'StartTimer', seq: 1, durationMs: 86_400_000 }]);
    expect(commandsOf(liveTask(run, history, [inbox.signal('finish')], T0 + 5))).toEqual([
      { kind: 'CancelTimer', seq: 1 },
      { kind: 'CompleteWorkflow', result: true },
    ]);
    expect(fresh(info).replay(history.events).replayedBatches).toBe(2);
  });

  it('with a timeout: false when the timer fires first', () => {
    const { history, started, run } = begin('approval', ['1s']);
    commandsOf(liveTask(run, history, [started], T0));
    expect(commandsOf(liveTask(run, history, [inbox.timerFired(1)], T0 + 1000))).toEqual([{ kind: 'CompleteWorkflow', result: false }]);
  });

  it('a predicate true at once resolves without a timer being needed later', () => {
    const { history, started, run } = begin('approval', ['1s']);
    // The signal arrives with the start: the handler is registered before condition runs, so it holds at once.
    expect(commandsOf(liveTask(run, history, [started, inbox.signal('finish')], T0))).toEqual([
      { kind: 'StartTimer', seq: 1, durationMs: 1000 },
      { kind: 'CancelTimer', seq: 1 },
      { kind: 'CompleteWorkflow', result: true },
    ]);
  });
});

describe('updates', () => {
  function counter() {
    const b = begin('counter');
    commandsOf(liveTask(b.run, b.history, [b.started], T0));
    return b;
  }

  it('a validator that throws rejects the update: RejectUpdate only, nothing recorded', () => {
    const { history, run } = counter();
    const length = history.length;
    expect(commandsOf(liveTask(run, history, [inbox.update('u1', 'set', -1)], T0 + 1))).toEqual([
      {
        kind: 'RejectUpdate',
        updateId: 'u1',
        failure: expect.objectContaining({ failureType: 'application', type: 'Negative', message: 'negative value -1 refused' }),
      },
    ]);
    expect(history.length).toBe(length + 1); // only the WorkflowTaskCompleted
  });

  it('an accepted update is recorded, its handler runs and answers', () => {
    const { history, run, info } = counter();
    expect(commandsOf(liveTask(run, history, [inbox.update('u1', 'set', 5)], T0 + 1))).toEqual([
      { kind: 'AcceptUpdate', updateId: 'u1', name: 'set', args: [5] },
      { kind: 'CompleteUpdate', updateId: 'u1', outcome: { result: 0 } },
    ]);
    expect(commandsOf(liveTask(run, history, [inbox.update('u2', 'set', 7), inbox.signal('finish')], T0 + 2))).toEqual([
      { kind: 'AcceptUpdate', updateId: 'u2', name: 'set', args: [7] },
      { kind: 'CompleteUpdate', updateId: 'u2', outcome: { result: 5 } },
      { kind: 'CompleteWorkflow', result: 7 },
    ]);
    expect(fresh(info).replay(history.events).replayedBatches).toBe(3);
  });

  it('a handler that throws an ApplicationFailure fails only the update', () => {
    const { history, run } = counter();
    expect(commandsOf(liveTask(run, history, [inbox.update('u1', 'failing', 'application')], T0 + 1))).toEqual([
      { kind: 'AcceptUpdate', updateId: 'u1', name: 'failing', args: ['application'] },
      { kind: 'StartTimer', seq: 1, durationMs: 5 },
    ]);
    expect(commandsOf(liveTask(run, history, [inbox.timerFired(1)], T0 + 6))).toEqual([
      {
        kind: 'CompleteUpdate',
        updateId: 'u1',
        outcome: { failure: expect.objectContaining({ failureType: 'application', type: 'UpdateFailed', message: 'the update failed' }) },
      },
    ]);
    expect(run.usable).toBe(true);
  });

  it('a handler that throws a plain Error fails the workflow task', () => {
    const { history, run } = counter();
    commandsOf(liveTask(run, history, [inbox.update('u1', 'failing', 'bug')], T0 + 1));
    expect(liveTask(run, history, [inbox.timerFired(1)], T0 + 6)).toMatchObject({
      kind: 'WORKFLOW_ERROR',
      error: { type: 'TypeError', message: 'a bug in the update handler' },
    });
  });

  it('an async validator cannot reject (as in Temporal)', () => {
    const { history, run } = counter();
    expect(commandsOf(liveTask(run, history, [inbox.update('u1', 'asyncValidated', -1)], T0 + 1))).toEqual([
      { kind: 'AcceptUpdate', updateId: 'u1', name: 'asyncValidated', args: [-1] },
      { kind: 'CompleteUpdate', updateId: 'u1', outcome: { result: 'accepted -1' } },
    ]);
  });

  it('a validator may not issue commands: calling sleep() rejects the update', () => {
    const { history, run } = counter();
    expect(commandsOf(liveTask(run, history, [inbox.update('u1', 'sleepyValidated')], T0 + 1))).toEqual([
      {
        kind: 'RejectUpdate',
        updateId: 'u1',
        failure: expect.objectContaining({ type: 'DeterminismViolationError', message: expect.stringContaining('sleep() was called from an update validator') }),
      },
    ]);
  });

  it('an update with no handler at the end of the activation is rejected, naming the registered ones', () => {
    const { history, run } = counter();
    expect(commandsOf(liveTask(run, history, [inbox.update('u1', 'unknown')], T0 + 1))).toEqual([
      {
        kind: 'RejectUpdate',
        updateId: 'u1',
        failure: expect.objectContaining({ message: expect.stringContaining("No handler is registered for update 'unknown' (registered updates: [set, failing, asyncValidated, sleepyValidated])") }),
      },
    ]);
  });

  it('an update left without a handler is rejected even when the workflow completes in the same activation', () => {
    const { history, run, info } = counter();
    expect(commandsOf(liveTask(run, history, [inbox.update('u1', 'unknown'), inbox.signal('finish')], T0 + 1))).toEqual([
      expect.objectContaining({ kind: 'RejectUpdate', updateId: 'u1' }),
      { kind: 'CompleteWorkflow', result: 0 },
    ]);
    expect(fresh(info).replay(history.events).replayedBatches).toBe(2);
  });

  it('an update delivered with the start finds a handler registered later in the same activation', () => {
    const { history, started, run, info } = begin('lateUpdateHandler');
    expect(commandsOf(liveTask(run, history, [started, inbox.update('u1', 'set', 3)], T0))).toEqual([
      { kind: 'AcceptUpdate', updateId: 'u1', name: 'set', args: [3] },
      { kind: 'StartTimer', seq: 1, durationMs: 1 },
      { kind: 'CompleteUpdate', updateId: 'u1', outcome: { result: 0 } },
    ]);
    expect(commandsOf(liveTask(run, history, [inbox.timerFired(1)], T0 + 1))).toEqual([{ kind: 'CompleteWorkflow', result: 3 }]);
    expect(fresh(info).replay(history.events).replayedBatches).toBe(2);
  });

  it('replays an accepted update without running its validator', () => {
    // Recorded by code whose validator accepted -1; today's validator would reject it.
    const info = runInfo('counter');
    const history = new HistoryBuilder();
    const started = history.start(info, []);
    history.completeTask([started], [], T0);
    history.completeTask(
      [inbox.update('u1', 'set', -1)],
      [
        { kind: 'AcceptUpdate', updateId: 'u1', name: 'set', args: [-1] },
        { kind: 'CompleteUpdate', updateId: 'u1', outcome: { result: 0 } },
      ],
      T0 + 1,
    );
    const run = fresh(info);
    expect(run.replay(history.events).replayedBatches).toBe(2);
    expect(run.query('values', [])).toEqual({ result: [-1] });
  });

  it('a replayed update whose acceptance the code no longer produces is non-deterministic', () => {
    const info = runInfo('counter');
    const history = new HistoryBuilder();
    const started = history.start(info, []);
    history.completeTask([started], [], T0);
    history.completeTask([inbox.update('u1', 'gone', 1)], [{ kind: 'AcceptUpdate', updateId: 'u1', name: 'gone', args: [1] }], T0 + 1);
    expect(() => fresh(info).replay(history.events)).toThrow(NonDeterminismError);
  });
});

describe('queries', () => {
  function counterAt5() {
    const b = begin('counter');
    commandsOf(liveTask(b.run, b.history, [b.started], T0));
    commandsOf(liveTask(b.run, b.history, [inbox.update('u1', 'set', 5)], T0 + 100));
    return b;
  }

  it('answers from a live run and from a replayed one, with workflow time', () => {
    const { run, history, info } = counterAt5();
    expect(run.query('values', [])).toEqual({ result: [5] });
    expect(run.query('now', [])).toEqual({ result: T0 + 100 });
    const replayed = fresh(info);
    replayed.replay(history.events);
    expect(replayed.query('values', [])).toEqual({ result: [5] });
    expect(replayed.query('now', [])).toEqual({ result: T0 + 100 });
  });

  it('answers from a closed run', () => {
    const { run, history, info } = counterAt5();
    commandsOf(liveTask(run, history, [inbox.signal('finish')], T0 + 200));
    expect(run.closed).toBe(true);
    expect(run.query('values', [])).toEqual({ result: [5] });
    const replayed = fresh(info);
    replayed.replay(history.events);
    expect(replayed.closed).toBe(true);
    expect(replayed.query('values', [])).toEqual({ result: [5] });
  });

  it('an unknown query type fails, listing the registered queries', () => {
    const { run } = counterAt5();
    const outcome = run.query('nope', []);
    expect(outcome).toEqual({ failure: expect.objectContaining({ failureType: 'application', type: 'QueryNotRegistered' }) });
    expect('failure' in outcome && outcome.failure.message).toContain("registered no handler for query 'nope'. Registered queries: [values, now, asyncQuery, sleepingQuery, throwing, spin]");
  });

  it('a query that issues a command fails and changes nothing; an async one fails; a throwing one reports its failure', () => {
    const { run, history } = counterAt5();
    const sleeping = run.query('sleepingQuery', []);
    expect('failure' in sleeping && sleeping.failure.message).toContain('sleep() was called from a query handler');
    expect(run.query('asyncQuery', [])).toEqual({ failure: expect.objectContaining({ message: expect.stringContaining('returned a Promise') }) });
    expect(run.query('throwing', [])).toEqual({ failure: expect.objectContaining({ type: 'Refused', message: 'query refused' }) });
    expect(run.usable).toBe(true);
    // No timer was started or left behind: the next task's commands are unaffected.
    expect(commandsOf(liveTask(run, history, [inbox.update('u2', 'failing', 'application')], T0 + 300))).toEqual([
      { kind: 'AcceptUpdate', updateId: 'u2', name: 'failing', args: ['application'] },
      { kind: 'StartTimer', seq: 1, durationMs: 5 },
    ]);
  });

  it('built-in queries: a stack-trace note and the registered definitions', () => {
    const { run } = counterAt5();
    expect(run.query('__stack_trace', [])).toEqual({ result: expect.stringContaining('does not capture workflow stack traces') });
    expect(run.query('__temporal_workflow_metadata', [])).toMatchObject({
      result: { definition: { type: 'counter', updateDefinitions: expect.arrayContaining([{ name: 'set', description: 'sets the value' }]) } },
    });
  });

  it('a handler that never returns is a deadlock failure, and the run must be replaced', () => {
    const { run } = counterAt5();
    expect(run.query('spin', [])).toEqual({ failure: expect.objectContaining({ type: 'WorkflowDeadlockError' }) });
    expect(run.usable).toBe(false);
    expect(() => run.query('values', [])).toThrow('an earlier activation (or query) failed');
  });

  it('is refused while a task is in progress', () => {
    const { run, started, history } = begin('counter');
    expect(() => run.query('values', [])).toThrow('cannot query()');
    run.activate([started], { timestamp: T0, historyLength: history.length });
    expect(() => run.query('values', [])).toThrow('its last activation was never marked completed');
  });
});
