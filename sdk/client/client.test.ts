// The client against a scripted engine: which engine calls each API makes, and how engine
// answers and errors become Temporal's results and error shapes. No database; the same
// behaviours are exercised end to end in test/client/.
import { describe, expect, it } from 'vitest';
import type { UpdateStatus, WorkflowOutcome } from '../../engine/engine.js';
import { ERROR_CODES } from '../../engine/protocol/codes.js';
import {
  InvalidArgumentError,
  QueryFailedError,
  QueryTimeoutError,
  StaleTaskError,
  UpdateWaitTimeoutError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowNotRunningError,
} from '../../engine/protocol/errors.js';
import { ActivityFailure, ApplicationFailure, CancelledFailure, TerminatedFailure, TimeoutFailure } from '../workflow/errors.js';
import { defineQuery, defineSignal, defineUpdate } from '../workflow/definitions.js';
import { description, fakeEngine, type Script } from './__fixtures__/fake-engine.js';
import { Client } from './client.js';
import {
  ActivityCancelledError,
  ActivityCompletionError,
  ActivityNotFoundError,
  QueryNotRegisteredError,
  QueryRejectedError,
  WorkflowContinuedAsNewError,
  WorkflowFailedError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from './errors.js';
import { WorkflowIdConflictPolicy, WorkflowUpdateStage } from './policies.js';
import { WithStartWorkflowOperation } from './with-start.js';

const order = async (id: string, qty: number): Promise<{ id: string; qty: number }> => ({ id, qty });
const addSignal = defineSignal<[number]>('add');
const totalQuery = defineQuery<number, [string]>('total');
const depositUpdate = defineUpdate<number, [number]>('deposit');

function setup(script: Script, options: { queryRejectCondition?: 'NOT_OPEN' | 'NOT_COMPLETED_CLEANLY' } = {}) {
  const engine = fakeEngine(script);
  const client = new Client({ connection: { engine }, identity: 'tester', workflow: options });
  return { engine, client };
}

const completed = (updateId: string, outcome: UpdateStatus['outcome']): UpdateStatus => ({ updateId, workflowId: 'w', runId: 'run-1', stage: 'COMPLETED', outcome });

async function rejection(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: Error) => err,
  );
}

describe('client.workflow.start and the handle it returns', () => {
  it('sends the workflow type, compiled options and identity; the handle addresses the workflow id', async () => {
    const { engine, client } = setup({ startWorkflow: () => ({ runId: 'run-1', started: true }), signalWorkflow: () => undefined });
    const handle = await client.workflow.start(order, { workflowId: 'order-1', taskQueue: 'orders', args: ['o1', 2], workflowRunTimeout: '1m' });
    expect(engine.callsOf('startWorkflow')).toEqual([
      [{ workflowId: 'order-1', workflowType: 'order', taskQueue: 'orders', args: ['o1', 2], workflowRunTimeoutMs: 60_000, identity: 'tester' }],
    ]);
    expect([handle.workflowId, handle.runId, handle.firstExecutionRunId]).toEqual(['order-1', undefined, 'run-1']);
    await handle.signal(addSignal, 5);
    expect(engine.callsOf('signalWorkflow')).toEqual([[{ workflowId: 'order-1' }, { signalName: 'add', args: [5], identity: 'tester' }]]);
  });

  it('accepts a type name, and refuses anything that is neither a function nor a name', async () => {
    const { engine, client } = setup({ startWorkflow: () => ({ runId: 'r', started: true }) });
    await client.workflow.start('order', { workflowId: 'w', taskQueue: 'q' });
    expect((engine.callsOf('startWorkflow')[0]![0] as { workflowType: string }).workflowType).toBe('order');
    const err = await rejection(client.workflow.start(42 as unknown as string, { workflowId: 'w', taskQueue: 'q' }));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(engine.callsOf('startWorkflow')).toHaveLength(1);
  });

  it('passes WorkflowExecutionAlreadyStartedError through', async () => {
    const { client } = setup({
      startWorkflow: () => {
        throw new WorkflowExecutionAlreadyStartedError('order-1', 'order', 'run-0');
      },
    });
    expect(await rejection(client.workflow.start(order, { workflowId: 'order-1', taskQueue: 'orders', args: ['o', 1] }))).toBeInstanceOf(
      WorkflowExecutionAlreadyStartedError,
    );
  });
});

describe('result()', () => {
  const outcomes = (...list: WorkflowOutcome[]) => {
    const queue = [...list];
    return () => queue.shift()!;
  };

  it('follows continue-as-new from the started run to the last one', async () => {
    const { engine, client } = setup({
      startWorkflow: () => ({ runId: 'run-1', started: true }),
      awaitOutcome: outcomes(
        { status: 'CONTINUED_AS_NEW', runId: 'run-1', newRunId: 'run-2' },
        { status: 'CONTINUED_AS_NEW', runId: 'run-2', newRunId: 'run-3' },
        { status: 'COMPLETED', runId: 'run-3', result: { id: 'x', qty: 3 } },
      ),
    });
    const handle = await client.workflow.start(order, { workflowId: 'w', taskQueue: 'q', args: ['x', 3] });
    const result: { id: string; qty: number } = await handle.result();
    expect(result).toEqual({ id: 'x', qty: 3 });
    expect(engine.callsOf('awaitOutcome').map(([ref]) => ref)).toEqual([
      { workflowId: 'w', runId: 'run-1' },
      { workflowId: 'w', runId: 'run-2' },
      { workflowId: 'w', runId: 'run-3' },
    ]);
  });

  it('with followRuns: false, throws WorkflowContinuedAsNewError naming the next run', async () => {
    const { client } = setup({ awaitOutcome: () => ({ status: 'CONTINUED_AS_NEW', runId: 'run-1', newRunId: 'run-2' }) });
    const err = await rejection(client.workflow.getHandle('w', 'run-1', { followRuns: false }).result());
    expect(err).toBeInstanceOf(WorkflowContinuedAsNewError);
    expect((err as WorkflowContinuedAsNewError).newExecutionRunId).toBe('run-2');
  });

  it('a failed run: WorkflowFailedError whose cause is the rebuilt failure chain', async () => {
    const { client } = setup({
      awaitOutcome: () => ({
        status: 'FAILED',
        runId: 'r',
        failure: {
          failureType: 'activity',
          message: 'activity failed',
          activity: { activityType: 'charge', activityId: '1', retryState: 'MAXIMUM_ATTEMPTS_REACHED' },
          cause: { failureType: 'application', message: 'declined', type: 'CardDeclined', nonRetryable: true },
        },
      }),
    });
    const err = (await rejection(client.workflow.getHandle('w').result())) as WorkflowFailedError;
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect([err.message, err.retryState]).toEqual(['Workflow execution failed', 'NON_RETRYABLE_FAILURE']);
    expect(err.cause).toBeInstanceOf(ActivityFailure);
    expect(err.cause!.cause).toBeInstanceOf(ApplicationFailure);
    expect((err.cause!.cause as ApplicationFailure).type).toBe('CardDeclined');
  });

  it('a cancelled run: cause CancelledFailure("Workflow canceled") with the details', async () => {
    const { client } = setup({ awaitOutcome: () => ({ status: 'CANCELLED', runId: 'r', details: { why: 'user' } }) });
    const err = (await rejection(client.workflow.getHandle('w').result())) as WorkflowFailedError;
    expect(err.message).toBe('Workflow execution cancelled');
    expect(err.cause).toBeInstanceOf(CancelledFailure);
    expect([err.cause!.message, (err.cause as CancelledFailure).details]).toEqual(['Workflow canceled', [{ why: 'user' }]]);
  });

  it('a terminated run: cause TerminatedFailure with the reason as message', async () => {
    const { client } = setup({ awaitOutcome: () => ({ status: 'TERMINATED', runId: 'r', reason: 'operator' }) });
    const err = (await rejection(client.workflow.getHandle('w').result())) as WorkflowFailedError;
    expect(err.cause).toBeInstanceOf(TerminatedFailure);
    expect([err.message, err.cause!.message]).toEqual(['operator', 'operator']);
    const { client: c2 } = setup({ awaitOutcome: () => ({ status: 'TERMINATED', runId: 'r' }) });
    expect(((await rejection(c2.workflow.getHandle('w').result())) as WorkflowFailedError).cause!.message).toBe('Workflow execution terminated');
  });

  it('a timed-out run: cause TimeoutFailure with the timeout type and retry state of its closing event', async () => {
    const { client } = setup({
      awaitOutcome: () => ({ status: 'TIMED_OUT', runId: 'r' }),
      describeWorkflow: () => description({ runId: 'r', status: 'TIMED_OUT', historyLength: 7 }),
      getHistory: (_ref, opts) => {
        expect(opts).toMatchObject({ fromEventId: 7 });
        return {
          events: [{ eventId: 7, eventType: 'WorkflowExecutionTimedOut', timestamp: 1, attributes: { timeoutType: 'WORKFLOW_RUN_TIMEOUT', retryState: 'RETRY_POLICY_NOT_SET' } }],
        };
      },
    });
    const err = (await rejection(client.workflow.getHandle('w').result())) as WorkflowFailedError;
    expect(err.cause).toBeInstanceOf(TimeoutFailure);
    expect([(err.cause as TimeoutFailure).timeoutType, err.retryState]).toEqual(['WORKFLOW_RUN_TIMEOUT', 'RETRY_POLICY_NOT_SET']);
  });

  it('execute() starts and returns the result', async () => {
    const { client } = setup({ startWorkflow: () => ({ runId: 'r', started: true }), awaitOutcome: () => ({ status: 'COMPLETED', runId: 'r', result: 9 }) });
    expect(await client.workflow.execute('sum', { workflowId: 'w', taskQueue: 'q' })).toBe(9);
  });
});

describe('queries', () => {
  it('send the query type and args to the addressed run', async () => {
    const { engine, client } = setup({ queryWorkflow: () => 12 });
    const total: number = await client.workflow.getHandle('w', 'run-1').query(totalQuery, 'EUR');
    expect(total).toBe(12);
    expect(engine.callsOf('queryWorkflow')).toEqual([[{ workflowId: 'w', runId: 'run-1' }, { queryType: 'total', args: ['EUR'] }]]);
  });

  it('an unknown query type becomes QueryNotRegisteredError', async () => {
    const { client } = setup({
      queryWorkflow: () => {
        throw new QueryFailedError('w', 'r', 'nope', {
          failureType: 'application',
          type: 'QueryNotRegistered',
          message: "Workflow 'w' (type counter) registered no handler for query 'nope'. Registered queries: [total]",
        });
      },
    });
    const err = await rejection(client.workflow.getHandle('w').query('nope'));
    expect(err).toBeInstanceOf(QueryNotRegisteredError);
    expect(err.message).toContain('Registered queries: [total]');
    expect((err as QueryNotRegisteredError).code).toBe(ERROR_CODES.QUERY_FAILED);
  });

  it('…also as Temporal’s sandbox words it', async () => {
    const { client } = setup({
      queryWorkflow: () => {
        throw new QueryFailedError('w', 'r', 'nope', { failureType: 'application', type: 'ReferenceError', message: 'Workflow did not register a handler for nope. Registered queries: []' });
      },
    });
    expect(await rejection(client.workflow.getHandle('w').query('nope'))).toBeInstanceOf(QueryNotRegisteredError);
  });

  it('a handler that threw stays a QueryFailedError, with the handler’s failure as cause', async () => {
    const { client } = setup({
      queryWorkflow: () => {
        // Even a handler's own error whose message sounds like a missing handler.
        throw new QueryFailedError('w', 'r', 'total', { failureType: 'application', type: 'RangeError', message: 'currency not registered' });
      },
    });
    const err = await rejection(client.workflow.getHandle('w').query(totalQuery, 'XXX'));
    expect(err).toBeInstanceOf(QueryFailedError);
    expect(err).not.toBeInstanceOf(QueryNotRegisteredError);
    expect(err.cause).toBeInstanceOf(ApplicationFailure);
    expect((err.cause as ApplicationFailure).type).toBe('RangeError');
  });

  it('other errors pass through', async () => {
    const { client } = setup({
      queryWorkflow: () => {
        throw new QueryTimeoutError('w', 'r', 'total', 'q', 100);
      },
    });
    expect(await rejection(client.workflow.getHandle('w').query(totalQuery, 'EUR'))).toBeInstanceOf(QueryTimeoutError);
  });

  it('queryRejectCondition refuses runs by status before querying', async () => {
    const { engine, client } = setup({ describeWorkflow: () => description({ status: 'FAILED' }) }, { queryRejectCondition: 'NOT_COMPLETED_CLEANLY' });
    const err = await rejection(client.workflow.getHandle('w').query(totalQuery, 'EUR'));
    expect(err).toBeInstanceOf(QueryRejectedError);
    expect((err as QueryRejectedError).status).toBe('FAILED');
    expect(engine.callsOf('queryWorkflow')).toHaveLength(0);

    const open = setup({ describeWorkflow: () => description({ status: 'COMPLETED', runId: 'run-9' }), queryWorkflow: () => 1 }, { queryRejectCondition: 'NOT_COMPLETED_CLEANLY' });
    expect(await open.client.workflow.getHandle('w').query(totalQuery, 'EUR')).toBe(1);
    expect(open.engine.callsOf('queryWorkflow')[0]![0]).toEqual({ workflowId: 'w', runId: 'run-9' });
    const notOpen = setup({ describeWorkflow: () => description({ status: 'COMPLETED' }) }, { queryRejectCondition: 'NOT_OPEN' });
    expect(await rejection(notOpen.client.workflow.getHandle('w').query(totalQuery, 'EUR'))).toBeInstanceOf(QueryRejectedError);
  });
});

describe('updates', () => {
  it('executeUpdate waits for COMPLETED and returns the handler’s result', async () => {
    const { engine, client } = setup({ updateWorkflow: (_ref, req) => completed(req.updateId!, { result: 150 }) });
    const balance: number = await client.workflow.getHandle('w').executeUpdate(depositUpdate, { args: [100], updateId: 'u-1' });
    expect(balance).toBe(150);
    expect(engine.callsOf('updateWorkflow')).toEqual([[{ workflowId: 'w' }, { updateId: 'u-1', name: 'deposit', args: [100], identity: 'tester', waitForStage: 'COMPLETED' }]]);
  });

  it('generates an update id when none is given', async () => {
    const { engine, client } = setup({ updateWorkflow: (_ref, req) => completed(req.updateId!, { result: null }) });
    await client.workflow.getHandle('w').executeUpdate('reset');
    const { updateId } = engine.callsOf('updateWorkflow')[0]![1] as { updateId: string };
    expect(updateId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('a rejected or failed update: WorkflowUpdateFailedError whose cause is the failure', async () => {
    const { client } = setup({
      updateWorkflow: (_ref, req) => completed(req.updateId!, { failure: { failureType: 'application', message: 'insufficient funds', type: 'Overdraft' } }),
    });
    const err = await rejection(client.workflow.getHandle('w').executeUpdate(depositUpdate, { args: [-1] }));
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(err.message).toBe('Workflow Update failed');
    expect((err.cause as ApplicationFailure).type).toBe('Overdraft');
  });

  it('startUpdate waits for ACCEPTED; the handle polls for the outcome', async () => {
    const { engine, client } = setup({
      updateWorkflow: (_ref, req) => ({ updateId: req.updateId!, workflowId: 'w', runId: 'run-1', stage: 'ACCEPTED' }),
      pollWorkflowUpdate: (_ref, updateId) => completed(updateId, { result: 7 }),
    });
    const handle = await client.workflow.getHandle('w').startUpdate(depositUpdate, { args: [7], updateId: 'u-2', waitForStage: WorkflowUpdateStage.ACCEPTED });
    expect([handle.updateId, handle.workflowId, handle.workflowRunId]).toEqual(['u-2', 'w', 'run-1']);
    expect((engine.callsOf('updateWorkflow')[0]![1] as { waitForStage: string }).waitForStage).toBe('ACCEPTED');
    expect(await handle.result()).toBe(7);
    expect(engine.callsOf('pollWorkflowUpdate')).toEqual([[{ workflowId: 'w', runId: 'run-1' }, 'u-2', { waitForStage: 'COMPLETED' }]]);
  });

  it('startUpdate raises ADMITTED to ACCEPTED, as Temporal does', async () => {
    const { engine, client } = setup({ updateWorkflow: (_ref, req) => ({ updateId: req.updateId!, workflowId: 'w', runId: 'r', stage: 'ACCEPTED' }) });
    await client.workflow.getHandle('w').startUpdate(depositUpdate, { args: [1], waitForStage: 'ADMITTED' as never });
    expect((engine.callsOf('updateWorkflow')[0]![1] as { waitForStage: string }).waitForStage).toBe('ACCEPTED');
  });

  it('getUpdateHandle polls by id; a wait that timed out becomes WorkflowUpdateRPCTimeoutOrCancelledError', async () => {
    const { client } = setup({
      pollWorkflowUpdate: () => {
        throw new UpdateWaitTimeoutError('w', 'r', 'u-3', 'ACCEPTED', 'COMPLETED', 10);
      },
    });
    const err = await rejection(client.workflow.getHandle('w').getUpdateHandle<number>('u-3').result());
    expect(err).toBeInstanceOf(WorkflowUpdateRPCTimeoutOrCancelledError);
    expect(err.cause).toBeInstanceOf(UpdateWaitTimeoutError);
  });
});

describe('signalWithStart and update-with-start', () => {
  it('signalWithStart defaults the conflict policy to USE_EXISTING and sends the signal with the start', async () => {
    const { engine, client } = setup({ signalWithStart: () => ({ runId: 'run-5', started: false }), awaitOutcome: () => ({ status: 'COMPLETED', runId: 'run-5', result: 1 }) });
    const handle = await client.workflow.signalWithStart(order, { workflowId: 'w', taskQueue: 'q', args: ['a', 1], signal: addSignal, signalArgs: [3] });
    expect(engine.callsOf('signalWithStart')).toEqual([
      [{ workflowId: 'w', taskQueue: 'q', args: ['a', 1], workflowIdConflictPolicy: 'USE_EXISTING', workflowType: 'order', identity: 'tester', signalName: 'add', signalArgs: [3] }],
    ]);
    expect(handle.signaledRunId).toBe('run-5');
    expect(handle.runId).toBeUndefined();
    await handle.result();
    expect(engine.callsOf('awaitOutcome')[0]![0]).toEqual({ workflowId: 'w', runId: 'run-5' });
  });

  it('executeUpdateWithStart sends start and update in one call and resolves the operation’s handle', async () => {
    const { engine, client } = setup({
      updateWithStart: (req) => ({ runId: 'run-7', started: true, update: completed(req.update.updateId!, { result: 100 }) }),
    });
    const startWorkflowOperation = WithStartWorkflowOperation.create(order, {
      workflowId: 'acct',
      taskQueue: 'bank',
      args: ['a', 1],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    });
    const balance: number = await client.workflow.executeUpdateWithStart(depositUpdate, { args: [100], startWorkflowOperation, updateId: 'u-9' });
    expect(balance).toBe(100);
    expect(engine.callsOf('updateWithStart')).toEqual([
      [
        {
          start: { workflowId: 'acct', taskQueue: 'bank', args: ['a', 1], workflowIdConflictPolicy: 'USE_EXISTING', workflowType: 'order', identity: 'tester' },
          update: { updateId: 'u-9', name: 'deposit', args: [100], identity: 'tester', waitForStage: 'COMPLETED' },
        },
      ],
    ]);
    const handle = await startWorkflowOperation.workflowHandle();
    expect([handle.workflowId, handle.firstExecutionRunId]).toEqual(['acct', 'run-7']);
    // One operation, one call.
    const again = await rejection(client.workflow.executeUpdateWithStart(depositUpdate, { args: [1], startWorkflowOperation }));
    expect(again.message).toContain('already used');
  });

  it('the operation’s handle resolves even when the update fails, and rejects when the start failed', async () => {
    const { client } = setup({
      updateWithStart: (req) => ({ runId: 'run-8', started: false, update: completed(req.update.updateId!, { failure: { failureType: 'application', message: 'invalid' } }) }),
    });
    const op = WithStartWorkflowOperation.create('account', { workflowId: 'acct', taskQueue: 'bank', workflowIdConflictPolicy: 'USE_EXISTING' });
    expect(await rejection(client.workflow.executeUpdateWithStart(depositUpdate, { args: [-5], startWorkflowOperation: op }))).toBeInstanceOf(WorkflowUpdateFailedError);
    expect((await op.workflowHandle()).workflowId).toBe('acct');

    const failing = setup({
      updateWithStart: () => {
        throw new WorkflowExecutionAlreadyStartedError('acct', 'account', 'run-0');
      },
    });
    const op2 = WithStartWorkflowOperation.create('account', { workflowId: 'acct', taskQueue: 'bank', workflowIdConflictPolicy: 'FAIL' });
    const err = await rejection(failing.client.workflow.startUpdateWithStart(depositUpdate, { args: [1], waitForStage: 'ACCEPTED', startWorkflowOperation: op2 }));
    expect(err).toBeInstanceOf(WorkflowExecutionAlreadyStartedError);
    expect(await rejection(op2.workflowHandle())).toBe(err);
  });

  it('refuses a conflict policy other than USE_EXISTING or FAIL before calling the engine', async () => {
    const { engine, client } = setup({});
    const op = WithStartWorkflowOperation.create('account', { workflowId: 'acct', taskQueue: 'bank', workflowIdConflictPolicy: 'TERMINATE_EXISTING' });
    const err = await rejection(client.workflow.executeUpdateWithStart(depositUpdate, { args: [1], startWorkflowOperation: op }));
    expect((err as InvalidArgumentError).field).toBe('startWorkflowOperation.options.workflowIdConflictPolicy');
    expect(await rejection(op.workflowHandle())).toBe(err);
    expect(engine.calls).toEqual([]);
  });
});

describe('describe, list, count', () => {
  it('describe(): Temporal’s shape with status {code, name}, Dates, parentExecution, raw', async () => {
    const raw = description({
      status: 'CONTINUED_AS_NEW',
      closeTime: Date.UTC(2024, 0, 2),
      memo: { customer: 'ada' },
      searchAttributes: { CustomKeywordField: ['gold'] },
      parent: { workflowId: 'p', runId: 'p-run' },
    });
    const { client } = setup({ describeWorkflow: () => raw });
    const d = await client.workflow.getHandle('wf-1').describe();
    expect(d).toMatchObject({
      type: 'order',
      workflowId: 'wf-1',
      runId: 'run-1',
      taskQueue: 'orders',
      status: { code: 6, name: 'CONTINUED_AS_NEW' },
      historyLength: 3,
      historySize: 420,
      startTime: new Date(Date.UTC(2024, 0, 1)),
      closeTime: new Date(Date.UTC(2024, 0, 2)),
      memo: { customer: 'ada' },
      searchAttributes: { CustomKeywordField: ['gold'] },
      parentExecution: { workflowId: 'p', runId: 'p-run' },
      pendingActivityCount: 1,
    });
    expect(d.raw).toBe(raw);
  });

  it('list() pages through the engine and yields WorkflowExecutionInfo', async () => {
    const { engine, client } = setup({
      listWorkflows: (req) =>
        req?.nextPageToken === undefined
          ? { executions: [description({ runId: 'a' }), description({ runId: 'b' })], nextPageToken: 't2' }
          : { executions: [description({ runId: 'c', status: 'COMPLETED' })] },
    });
    const seen = [];
    for await (const info of client.workflow.list({ query: `WorkflowType = 'order'`, pageSize: 2 })) seen.push(`${info.runId}:${info.status.name}:${info.startTime instanceof Date}`);
    expect(seen).toEqual(['a:RUNNING:true', 'b:RUNNING:true', 'c:COMPLETED:true']);
    expect(engine.callsOf('listWorkflows')).toEqual([[{ query: `WorkflowType = 'order'`, pageSize: 2 }], [{ query: `WorkflowType = 'order'`, pageSize: 2, nextPageToken: 't2' }]]);
  });

  it('list().intoHistories() fetches each run’s history, in order', async () => {
    const { client } = setup({
      listWorkflows: () => ({ executions: [description({ workflowId: 'x', runId: 'a' }), description({ workflowId: 'y', runId: 'b' })] }),
      getHistory: (ref) => ({ events: [{ eventId: 1, eventType: 'WorkflowExecutionStarted', timestamp: 0, attributes: { workflowId: ref.workflowId } }] }),
    });
    const got = [];
    for await (const h of client.workflow.list().intoHistories({ concurrency: 2 })) got.push([h.workflowId, h.history.events.length]);
    expect(got).toEqual([
      ['x', 1],
      ['y', 1],
    ]);
  });

  it('count() has Temporal’s shape', async () => {
    const { client } = setup({ countWorkflows: () => 4 });
    expect(await client.workflow.count(`ExecutionStatus = 'Running'`)).toEqual({ count: 4, groups: [] });
  });
});

describe('cancel and terminate', () => {
  it('a handle from start() acts on the current run of its own chain', async () => {
    const { engine, client } = setup({
      startWorkflow: () => ({ runId: 'run-1', started: true }),
      describeWorkflow: () => description({ workflowId: 'w', runId: 'run-3', firstExecutionRunId: 'run-1' }),
      requestCancelWorkflow: () => undefined,
    });
    const handle = await client.workflow.start('order', { workflowId: 'w', taskQueue: 'q' });
    await handle.cancel();
    expect(engine.callsOf('requestCancelWorkflow')).toEqual([[{ workflowId: 'w', runId: 'run-3' }, { identity: 'tester' }]]);
  });

  it('…and refuses to touch a run of another chain that reused the id', async () => {
    const { engine, client } = setup({
      startWorkflow: () => ({ runId: 'run-1', started: true }),
      describeWorkflow: () => description({ workflowId: 'w', runId: 'other', firstExecutionRunId: 'other' }),
    });
    const handle = await client.workflow.start('order', { workflowId: 'w', taskQueue: 'q' });
    expect(await rejection(handle.terminate('stop'))).toBeInstanceOf(WorkflowNotFoundError);
    expect(engine.callsOf('terminateWorkflow')).toHaveLength(0);
  });

  it('…and retries on the successor when the run continued as new in between', async () => {
    let describes = 0;
    const { engine, client } = setup({
      startWorkflow: () => ({ runId: 'run-1', started: true }),
      describeWorkflow: () => description({ workflowId: 'w', runId: ++describes === 1 ? 'run-1' : 'run-2', firstExecutionRunId: 'run-1' }),
      terminateWorkflow: (ref) => {
        if (ref.runId === 'run-1') throw new WorkflowNotRunningError('w', 'run-1', 'CONTINUED_AS_NEW');
      },
    });
    const handle = await client.workflow.start('order', { workflowId: 'w', taskQueue: 'q' });
    await handle.terminate('stop');
    expect(engine.callsOf('terminateWorkflow').map(([ref]) => ref)).toEqual([
      { workflowId: 'w', runId: 'run-1' },
      { workflowId: 'w', runId: 'run-2' },
    ]);
  });

  it('getHandle(id, runId) acts on that run directly', async () => {
    const { engine, client } = setup({ terminateWorkflow: () => undefined });
    await client.workflow.getHandle('w', 'run-1').terminate('why');
    expect(engine.callsOf('terminateWorkflow')).toEqual([[{ workflowId: 'w', runId: 'run-1' }, { reason: 'why', identity: 'tester' }]]);
  });
});

describe('client.activity (async completion)', () => {
  const token = 'a1.7.00000000-0000-4000-8000-000000000001.00000000-0000-4000-8000-000000000002';

  it('complete, fail, heartbeat, reportCancellation call the engine by token', async () => {
    const { engine, client } = setup({
      completeActivityTask: () => ({}),
      failActivityTask: () => undefined,
      heartbeatActivityTask: () => ({ cancelRequested: false }),
    });
    await client.activity.complete(token, { ok: true });
    await client.activity.complete(new TextEncoder().encode(token), 1);
    await client.activity.fail(token, ApplicationFailure.nonRetryable('nope', 'Rejected'));
    await client.activity.heartbeat(token, { progress: 3 });
    await client.activity.reportCancellation(token, 'stopped');
    expect(engine.callsOf('completeActivityTask')).toEqual([
      [token, { result: { ok: true }, identity: 'tester' }],
      [token, { result: 1, identity: 'tester' }],
    ]);
    const [failed, cancelled] = engine.callsOf('failActivityTask');
    expect(failed![1]).toMatchObject({ failure: { failureType: 'application', type: 'Rejected', nonRetryable: true, message: 'nope' }, identity: 'tester' });
    expect(cancelled![1]).toEqual({ failure: { failureType: 'cancelled', message: 'Activity cancelled', details: ['stopped'] }, identity: 'tester' });
    expect(engine.callsOf('heartbeatActivityTask')).toEqual([[token, { progress: 3 }]]);
  });

  it('heartbeat throws ActivityCancelledError when cancellation was requested', async () => {
    const { client } = setup({ heartbeatActivityTask: () => ({ cancelRequested: true }) });
    expect(await rejection(client.activity.heartbeat(token))).toBeInstanceOf(ActivityCancelledError);
  });

  it('a stale token becomes ActivityNotFoundError; other engine errors ActivityCompletionError; bad input stays InvalidArgumentError', async () => {
    const stale = setup({
      completeActivityTask: () => {
        throw new StaleTaskError(token, 'the attempt timed out');
      },
    });
    const err = await rejection(stale.client.activity.complete(token, 1));
    expect(err).toBeInstanceOf(ActivityNotFoundError);
    expect(err.cause).toBeInstanceOf(StaleTaskError);

    const broken = setup({
      failActivityTask: () => {
        throw new Error('connection reset');
      },
    });
    expect(await rejection(broken.client.activity.fail(token, new Error('x')))).toBeInstanceOf(ActivityCompletionError);

    const { engine, client } = setup({});
    expect(await rejection(client.activity.complete(token, new Map()))).toBeInstanceOf(InvalidArgumentError);
    expect(((await rejection(client.activity.complete(42 as never, 1))) as InvalidArgumentError).field).toBe('taskToken');
    expect((await rejection(client.activity.complete({ workflowId: 'w', activityId: '1' } as never, 1))).message).toContain('not supported');
    expect(engine.calls).toEqual([]);
  });
});
