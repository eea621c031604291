// Child workflows, external handles and continue-as-new through WorkflowRun (plan §7–9).
import { describe, expect, it } from 'vitest';
import { T0, useFixture } from './__fixtures__/harness.js';
import { commandsOf, inbox, liveTask } from './__fixtures__/history.js';

const { begin, fresh } = useFixture('model.ts');

describe('child workflows', () => {
  function parentStarted(workflowId = 'kid-1') {
    const b = begin('parent', [workflowId]);
    expect(commandsOf(liveTask(b.run, b.history, [b.started], T0))).toEqual([
      {
        kind: 'StartChildWorkflow',
        seq: 1,
        workflowId,
        workflowType: 'childWorkflow',
        args: ['x'],
        parentClosePolicy: 'ABANDON', // given as Temporal's PARENT_CLOSE_POLICY_ABANDON
        cancellationType: 'WAIT_CANCELLATION_COMPLETED',
        memo: { who: 'parent' },
      },
    ]);
    return b;
  }

  it('starts, signals and returns the child result', () => {
    const { history, run, info } = parentStarted();
    expect(commandsOf(liveTask(run, history, [inbox.childStarted(1, 'kid-1', 'kid-run')], T0 + 1))).toEqual([
      { kind: 'SignalExternalWorkflow', seq: 1, workflowId: 'kid-1', signalName: 'stage', args: ['hello'], childWorkflowOnly: true },
    ]);
    expect(commandsOf(liveTask(run, history, [inbox.externalSignaled(1, 'kid-1')], T0 + 2))).toEqual([]);
    expect(commandsOf(liveTask(run, history, [inbox.childCompleted(1, 'kid-1', 'kid-run', 'childWorkflow', 'child x')], T0 + 3))).toEqual([
      { kind: 'CompleteWorkflow', result: { workflowId: 'kid-1', firstExecutionRunId: 'kid-run', result: 'child x' } },
    ]);
    expect(fresh(info).replay(history.events).replayedBatches).toBe(4);
  });

  it('the default workflow id is a uuid4 from the seeded generator, the same on replay', () => {
    const { history, started, run, info } = begin('parent', []);
    const [start] = commandsOf(liveTask(run, history, [started], T0));
    expect(start).toMatchObject({ kind: 'StartChildWorkflow', workflowId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(fresh(info).replay(history.events).replayedBatches).toBe(1);
  });

  it('a child that failed rejects result() with ChildWorkflowFailure(cause: its failure)', () => {
    const { history, run } = parentStarted();
    commandsOf(liveTask(run, history, [inbox.childStarted(1, 'kid-1', 'kid-run')], T0 + 1));
    commandsOf(liveTask(run, history, [inbox.externalSignaled(1, 'kid-1')], T0 + 1));
    const failure = { failureType: 'application' as const, message: 'child broke', type: 'Broken' };
    expect(commandsOf(liveTask(run, history, [inbox.childFailed(1, 'kid-1', 'kid-run', 'childWorkflow', failure)], T0 + 2))).toEqual([
      {
        kind: 'CompleteWorkflow',
        result: {
          name: 'ChildWorkflowFailure',
          message: 'Child Workflow execution failed',
          cancellation: false,
          cause: { name: 'ApplicationFailure', message: 'child broke' },
          alreadyStarted: false,
          childFailure: { workflowType: 'childWorkflow', execution: { workflowId: 'kid-1', runId: 'kid-run' }, retryState: 'NON_RETRYABLE_FAILURE' },
        },
      },
    ]);
  });

  it('a terminated child: ChildWorkflowFailure(cause: TerminatedFailure)', () => {
    const { history, run } = parentStarted();
    commandsOf(liveTask(run, history, [inbox.childStarted(1, 'kid-1', 'kid-run')], T0 + 1));
    commandsOf(liveTask(run, history, [inbox.externalSignaled(1, 'kid-1')], T0 + 1));
    const [done] = commandsOf(liveTask(run, history, [inbox.childTerminated(1, 'kid-1', 'kid-run', 'childWorkflow', 'ops')], T0 + 2));
    expect(done).toMatchObject({ kind: 'CompleteWorkflow', result: { name: 'ChildWorkflowFailure', cause: { name: 'TerminatedFailure', message: 'Child Workflow execution terminated: ops' } } });
  });

  it('a workflow id in use rejects startChild with WorkflowExecutionAlreadyStartedError', () => {
    const { history, run } = parentStarted();
    expect(commandsOf(liveTask(run, history, [inbox.childStartFailed(1, 'kid-1', 'childWorkflow')], T0 + 1))).toEqual([
      {
        kind: 'CompleteWorkflow',
        result: expect.objectContaining({ name: 'WorkflowExecutionAlreadyStartedError', alreadyStarted: true, message: expect.stringContaining("Workflow 'kid-1' is already running") }),
      },
    ]);
  });

  it('cancelling the parent cancels the child (WAIT_CANCELLATION_COMPLETED) and waits for it to close', () => {
    const { history, started, run, info } = begin('executesChild');
    expect(commandsOf(liveTask(run, history, [started], T0))).toMatchObject([{ kind: 'StartChildWorkflow', seq: 1, workflowId: 'kid-2', parentClosePolicy: 'TERMINATE' }]);
    commandsOf(liveTask(run, history, [inbox.childStarted(1, 'kid-2', 'kid-run')], T0 + 1));
    expect(commandsOf(liveTask(run, history, [inbox.cancelRequested()], T0 + 2))).toEqual([
      { kind: 'RequestCancelExternalWorkflow', seq: 1, workflowId: 'kid-2', childWorkflowOnly: true },
    ]);
    commandsOf(liveTask(run, history, [inbox.externalCancelRequested(1, 'kid-2')], T0 + 3));
    // The child closes cancelled: ChildWorkflowFailure(CancelledFailure) is a cancellation, so the parent ends CANCELLED.
    expect(commandsOf(liveTask(run, history, [inbox.childCanceled(1, 'kid-2', 'kid-run', 'childWorkflow')], T0 + 4))).toEqual([{ kind: 'CancelWorkflow' }]);
    expect(fresh(info).replay(history.events).replayedBatches).toBe(5);
  });

  it('a cancellation before the child started rejects startChild with the CancelledFailure: the run ends CANCELLED', () => {
    const { history, started, run } = begin('executesChild');
    commandsOf(liveTask(run, history, [started], T0));
    expect(commandsOf(liveTask(run, history, [inbox.cancelRequested()], T0 + 1))).toEqual([{ kind: 'CancelWorkflow' }]);
  });
});

describe('external workflow handles', () => {
  it('signal and cancel resolve when delivered', () => {
    const { history, started, run, info } = begin('external');
    expect(commandsOf(liveTask(run, history, [started], T0))).toEqual([
      { kind: 'SignalExternalWorkflow', seq: 1, workflowId: 'other', runId: 'other-run', signalName: 'add', args: [1], childWorkflowOnly: false },
    ]);
    expect(commandsOf(liveTask(run, history, [inbox.externalSignaled(1, 'other')], T0 + 1))).toEqual([
      { kind: 'RequestCancelExternalWorkflow', seq: 1, workflowId: 'other', runId: 'other-run', childWorkflowOnly: false },
    ]);
    expect(commandsOf(liveTask(run, history, [inbox.externalCancelRequested(1, 'other')], T0 + 2))).toEqual([
      { kind: 'CompleteWorkflow', result: { signalled: 'ok', cancelled: 'ok' } },
    ]);
    expect(fresh(info).replay(history.events).replayedBatches).toBe(3);
  });

  it('signal and cancel reject when the target does not exist', () => {
    const { history, started, run } = begin('external');
    commandsOf(liveTask(run, history, [started], T0));
    commandsOf(liveTask(run, history, [inbox.externalSignalFailed(1, 'other')], T0 + 1));
    const [done] = commandsOf(liveTask(run, history, [inbox.externalCancelFailed(1, 'other')], T0 + 2));
    const notFound = { name: 'ApplicationFailure', cancellation: false, message: expect.stringContaining("Unable to signal external workflow 'other'") };
    expect(done).toMatchObject({
      kind: 'CompleteWorkflow',
      result: { signalled: notFound, cancelled: { ...notFound, message: expect.stringContaining("Unable to cancel external workflow 'other'") } },
    });
  });
});

describe('continue-as-new', () => {
  it('continueAsNew closes the run with the command; the state goes through JSON (a Map becomes {})', () => {
    const { history, started, run, info } = begin('loop', [3]);
    expect(commandsOf(liveTask(run, history, [started], T0))).toEqual([{ kind: 'ContinueAsNew', args: [2, { seen: {}, at: 1 }] }]);
    expect(run.closed).toBe(true);
    const replayed = fresh(info);
    replayed.replay(history.events);
    expect(replayed.closed).toBe(true);
  });

  it('makeContinueAsNewFunc carries its options', () => {
    const { history, started, run } = begin('loopWithOptions', [3]);
    expect(commandsOf(liveTask(run, history, [started], T0))).toEqual([
      { kind: 'ContinueAsNew', workflowType: 'loop', taskQueue: 'other-queue', args: [2], memo: { reason: 'test' } },
    ]);
  });
});
