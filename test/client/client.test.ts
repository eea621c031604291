// chronicle/client against a real engine and worker: messages (signal, query, update),
// with-start operations, visibility (describe, list, count), following continue-as-new,
// Temporal's error shapes, start options, and async activity completion by task token.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PgEngine } from '../../engine/pg-engine.js';
import {
  ActivityCancelledError,
  ActivityFailure,
  ActivityNotFoundError,
  ApplicationFailure,
  CancelledFailure,
  Client,
  InvalidArgumentError,
  Connection,
  QueryFailedError,
  QueryNotRegisteredError,
  QueryRejectedError,
  TerminatedFailure,
  TimeoutFailure,
  WithStartWorkflowOperation,
  WorkflowContinuedAsNewError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateStage,
} from '../../sdk/client/index.js';
import { clientFor, startWorker, testEngine } from '../helpers/chronicle.js';
import { createTestDatabase, waitUntil, type TestDatabase } from '../helpers/database.js';
import * as activities from './fixtures/activities.js';
import { addSignal, depositUpdate, failingQuery, finishSignal, totalQuery, type chain, type counter } from './fixtures/workflows.js';

const workflowsPath = fileURLToPath(new URL('./fixtures/workflows.ts', import.meta.url));
const taskQueue = 'client';

let t: TestDatabase;
let engine: PgEngine;
let stop: () => Promise<void>;
let client: Client;
beforeAll(async () => {
  t = await createTestDatabase();
  engine = await testEngine(t.url);
  stop = (await startWorker(engine, { taskQueue, workflowsPath, activities })).stop;
  client = clientFor(engine);
});
afterAll(async () => {
  await stop?.();
  await engine?.close();
  await t?.drop();
});

let n = 0;
const id = (p: string) => `${p}-${++n}`;
const rejection = (p: Promise<unknown>): Promise<Error> =>
  p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: Error) => e,
  );
const types = (events: readonly { eventType: string }[]) => events.map((e) => e.eventType);

describe('signals, queries, updates on a handle', () => {
  it('signal and query by definition and by name; a query right after start waits for the first task', async () => {
    const handle = await client.workflow.start<typeof counter>('counter', { workflowId: id('counter'), taskQueue, args: [10] });
    expect(await handle.query(totalQuery)).toBe(10);
    await handle.signal(addSignal, 5);
    await handle.signal('add', 2);
    await waitUntil(async () => (await handle.query<number>('total')) === 17);
    await handle.signal(finishSignal);
    expect(await handle.result()).toBe(17);
    // Queries add nothing to history and work on the closed run.
    expect(types((await handle.fetchHistory()).events).filter((e) => e === 'WorkflowExecutionSignaled')).toHaveLength(3);
    expect(await handle.query(totalQuery)).toBe(17);
  });

  it('an unknown query type: QueryNotRegisteredError; a throwing handler: QueryFailedError with the failure as cause', async () => {
    const handle = await client.workflow.start<typeof counter>('counter', { workflowId: id('queries'), taskQueue });
    const unknown = await rejection(handle.query('nope'));
    expect(unknown).toBeInstanceOf(QueryNotRegisteredError);
    expect(unknown.message).toContain('nope');
    const failed = await rejection(handle.query(failingQuery, 'closed for lunch'));
    expect(failed).toBeInstanceOf(QueryFailedError);
    expect(failed.cause).toBeInstanceOf(ApplicationFailure);
    expect([(failed.cause as ApplicationFailure).type, (failed.cause as ApplicationFailure).message]).toEqual(['QueryRefused', 'query refused: closed for lunch']);
    await handle.signal(finishSignal);
    await handle.result();
  });

  it('queryRejectCondition NOT_OPEN refuses closed runs with QueryRejectedError', async () => {
    const strict = new Client({ connection: Connection.fromEngine(engine), workflow: { queryRejectCondition: 'NOT_OPEN' } });
    const handle = await strict.workflow.start<typeof counter>('counter', { workflowId: id('reject'), taskQueue });
    expect(await handle.query(totalQuery)).toBe(0);
    await handle.signal(finishSignal);
    await handle.result();
    const err = await rejection(handle.query(totalQuery));
    expect(err).toBeInstanceOf(QueryRejectedError);
    expect((err as QueryRejectedError).status).toBe('COMPLETED');
  });

  it('executeUpdate returns the handler’s result; rejection writes nothing; a failed handler fails only the update', async () => {
    const handle = await client.workflow.start<typeof counter>('counter', { workflowId: id('updates'), taskQueue });
    expect(await handle.executeUpdate(depositUpdate, { args: [100] })).toBe(100);

    const rejected = await rejection(handle.executeUpdate(depositUpdate, { args: [-4242] }));
    expect(rejected).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(rejected.cause).toBeInstanceOf(ApplicationFailure);
    expect((rejected.cause as Error).message).toContain('deposit must be positive, got -4242');

    const failed = await rejection(handle.executeUpdate(depositUpdate, { args: [13] }));
    expect(failed).toBeInstanceOf(WorkflowUpdateFailedError);
    expect([(failed.cause as ApplicationFailure).type, (failed.cause as ApplicationFailure).details]).toEqual(['Unlucky', [13]]);

    expect(await handle.query(totalQuery)).toBe(100);
    const { events } = await handle.fetchHistory();
    expect(JSON.stringify(events)).not.toContain('-4242');
    expect(types(events).filter((e) => e === 'WorkflowExecutionUpdateAccepted')).toHaveLength(2);
    await handle.signal(finishSignal);
    expect(await handle.result()).toBe(100);
  });

  it('startUpdate returns once accepted; an update id is idempotent; getUpdateHandle finds the outcome', async () => {
    const handle = await client.workflow.start<typeof counter>('counter', { workflowId: id('start-update'), taskQueue });
    const update = await handle.startUpdate(depositUpdate, { args: [7], updateId: 'dep-1', waitForStage: WorkflowUpdateStage.ACCEPTED });
    expect([update.updateId, update.workflowId]).toEqual(['dep-1', handle.workflowId]);
    expect(typeof update.workflowRunId).toBe('string');
    expect(await update.result()).toBe(7);
    // The same id again: the first outcome, not a second deposit.
    expect(await handle.executeUpdate(depositUpdate, { args: [7], updateId: 'dep-1' })).toBe(7);
    expect(await handle.getUpdateHandle<number>('dep-1').result()).toBe(7);
    expect(await handle.query(totalQuery)).toBe(7);
    await handle.signal(finishSignal);
    await handle.result();
  });

  it('messages to a workflow id that does not exist: WorkflowNotFoundError', async () => {
    const handle = client.workflow.getHandle('no-such-workflow');
    expect(await rejection(handle.signal(addSignal, 1))).toBeInstanceOf(WorkflowNotFoundError);
    expect(await rejection(handle.describe())).toBeInstanceOf(WorkflowNotFoundError);
    expect(await rejection(handle.result())).toBeInstanceOf(WorkflowNotFoundError);
  });
});

describe('signalWithStart and update-with-start', () => {
  it('signalWithStart from concurrent callers creates exactly one run, which gets every signal', async () => {
    const workflowId = id('sws');
    const handles = await Promise.all(
      [1, 2, 3, 4, 5].map((v) => client.workflow.signalWithStart<typeof counter>('counter', { workflowId, taskQueue, args: [0], signal: addSignal, signalArgs: [v] })),
    );
    expect(new Set(handles.map((h) => h.signaledRunId)).size).toBe(1);
    await handles[0]!.signal(finishSignal);
    expect(await handles[0]!.result()).toBe(15);
    expect((await client.workflow.count(`WorkflowId = '${workflowId}'`)).count).toBe(1);
  });

  it('signalWithStart refuses conflict policy FAIL, as Temporal’s server does (it is an invalid option there)', async () => {
    const err = await rejection(
      client.workflow.signalWithStart<typeof counter>('counter', { workflowId: id('sws-fail'), taskQueue, signal: addSignal, signalArgs: [1], workflowIdConflictPolicy: 'FAIL' }),
    );
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).field).toBe('workflowIdConflictPolicy');
  });

  it('executeUpdateWithStart from concurrent callers: one run, every update applied, each operation’s handle resolves', async () => {
    const workflowId = id('uws');
    const ops = [1, 2, 3, 4].map(() =>
      WithStartWorkflowOperation.create<typeof counter>('counter', { workflowId, taskQueue, args: [0], workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING }),
    );
    const results = await Promise.all(ops.map((startWorkflowOperation, i) => client.workflow.executeUpdateWithStart(depositUpdate, { args: [10 ** i], startWorkflowOperation })));
    expect([...results].sort((a, b) => a - b).at(-1)).toBe(1111);
    const handles = await Promise.all(ops.map((op) => op.workflowHandle()));
    expect(handles.filter((h) => h.firstExecutionRunId !== undefined)).toHaveLength(1);
    expect((await client.workflow.count(`WorkflowId = '${workflowId}'`)).count).toBe(1);
    await handles[0]!.signal(finishSignal);
    expect(await handles[0]!.result()).toBe(1111);
  });

  it('startUpdateWithStart with FAIL on an open run rejects, and so does its workflowHandle()', async () => {
    const workflowId = id('uws-fail');
    const running = await client.workflow.start<typeof counter>('counter', { workflowId, taskQueue });
    const op = WithStartWorkflowOperation.create<typeof counter>('counter', { workflowId, taskQueue, workflowIdConflictPolicy: 'FAIL' });
    const err = await rejection(client.workflow.startUpdateWithStart(depositUpdate, { args: [1], waitForStage: 'ACCEPTED', startWorkflowOperation: op }));
    expect(err).toBeInstanceOf(WorkflowExecutionAlreadyStartedError);
    expect(await rejection(op.workflowHandle())).toBe(err);
    await running.signal(finishSignal);
    expect(await running.result()).toBe(0);
  });
});

describe('continue-as-new', () => {
  it('result() from start() follows a chain of 10 runs; signals by workflow id reach each current run', async () => {
    const handle = await client.workflow.start<typeof chain>('chain', { workflowId: id('chain'), taskQueue, args: [10, true] });
    for (let i = 1; i <= 10; i++) {
      // Wait for run i to exist, then signal the workflow id: it reaches that run.
      await waitUntil(async () => (await handle.describe()).status.name === 'RUNNING' && (await client.workflow.count(`WorkflowId = '${handle.workflowId}'`)).count === i);
      await handle.signal(addSignal, i);
    }
    expect(await handle.result()).toEqual({ sum: 55, runs: 10 });
    const statuses = [];
    for await (const run of client.workflow.list({ query: `WorkflowId = '${handle.workflowId}'` })) statuses.push(run.status.name);
    expect(statuses.filter((s) => s === 'CONTINUED_AS_NEW')).toHaveLength(9);
    expect(statuses.filter((s) => s === 'COMPLETED')).toHaveLength(1);
  });

  it('execute() returns the last run’s result', async () => {
    expect(await client.workflow.execute<typeof chain>('chain', { workflowId: id('chain-exec'), taskQueue, args: [4, false] })).toEqual({ sum: 0, runs: 4 });
  });

  it('followRuns: false throws WorkflowContinuedAsNewError naming the next run', async () => {
    const handle = await client.workflow.start<typeof chain>('chain', { workflowId: id('chain-nofollow'), taskQueue, args: [2, false], followRuns: false });
    const err = await rejection(handle.result());
    expect(err).toBeInstanceOf(WorkflowContinuedAsNewError);
    const next = (err as WorkflowContinuedAsNewError).newExecutionRunId;
    expect(await client.workflow.getHandle<typeof chain>(handle.workflowId, next).result()).toEqual({ sum: 0, runs: 2 });
    const first = await client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).describe();
    expect(first.status).toEqual({ code: 6, name: 'CONTINUED_AS_NEW' });
  });
});

describe('describe, list, count and start options', () => {
  it('describe() has Temporal’s shape, with memo, search attributes and the raw description', async () => {
    const handle = await client.workflow.start<typeof counter>('counter', {
      workflowId: id('describe'),
      taskQueue,
      memo: { customer: 'ada' },
      searchAttributes: { CustomKeywordField: ['gold'], CustomIntField: 3 },
    });
    const d = await handle.describe();
    expect(d).toMatchObject({
      type: 'counter',
      workflowId: handle.workflowId,
      runId: handle.firstExecutionRunId,
      taskQueue,
      status: { code: 1, name: 'RUNNING' },
      memo: { customer: 'ada' },
      searchAttributes: { CustomKeywordField: ['gold'], CustomIntField: [3] },
    });
    expect(d.startTime).toBeInstanceOf(Date);
    expect(d.closeTime).toBeUndefined();
    expect(d.historyLength).toBeGreaterThan(0);
    expect(d.historySize).toBeGreaterThan(0);
    expect(d.raw.workflowId).toBe(handle.workflowId);
    await handle.signal(finishSignal);
    await handle.result();
    const closed = await handle.describe();
    expect(closed.status).toEqual({ code: 2, name: 'COMPLETED' });
    expect(closed.closeTime).toBeInstanceOf(Date);
  });

  it('list({ query }) by search attribute and status yields WorkflowExecutionInfo; count agrees', async () => {
    const tag = id('tag');
    const handles = await Promise.all(
      [1, 2, 3].map((i) => client.workflow.start<typeof counter>('counter', { workflowId: `${tag}-${i}`, taskQueue, searchAttributes: { CustomKeywordField: [tag] } })),
    );
    await handles[0]!.signal(finishSignal);
    await handles[0]!.result();
    const running = [];
    for await (const info of client.workflow.list({ query: `CustomKeywordField = '${tag}' AND ExecutionStatus = 'Running'`, pageSize: 1 })) {
      running.push(info.workflowId);
      expect(info.type).toBe('counter');
      expect(info.startTime).toBeInstanceOf(Date);
    }
    expect(running.sort()).toEqual([`${tag}-2`, `${tag}-3`]);
    expect(await client.workflow.count(`CustomKeywordField = '${tag}'`)).toEqual({ count: 3, groups: [] });
    for (const h of handles.slice(1)) await h.terminate('done');
  });

  it('conflict policies: USE_EXISTING returns the open run, TERMINATE_EXISTING replaces it', async () => {
    const workflowId = id('conflict');
    const first = await client.workflow.start<typeof counter>('counter', { workflowId, taskQueue });
    const same = await client.workflow.start<typeof counter>('counter', { workflowId, taskQueue, workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING });
    expect(same.firstExecutionRunId).toBe(first.firstExecutionRunId);
    const replaced = await client.workflow.start<typeof counter>('counter', { workflowId, taskQueue, workflowIdConflictPolicy: WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING });
    expect(replaced.firstExecutionRunId).not.toBe(first.firstExecutionRunId);
    expect((await client.workflow.getHandle(workflowId, first.firstExecutionRunId).describe()).status.name).toBe('TERMINATED');
    await replaced.terminate();
  });

  it('reuse policy REJECT_DUPLICATE refuses a closed id', async () => {
    const workflowId = id('reuse');
    const first = await client.workflow.start<typeof counter>('counter', { workflowId, taskQueue });
    await first.signal(finishSignal);
    await first.result();
    const err = await rejection(client.workflow.start<typeof counter>('counter', { workflowId, taskQueue, workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE }));
    expect(err).toBeInstanceOf(WorkflowExecutionAlreadyStartedError);
  });
});

describe('error shapes of result()', () => {
  it('failed: WorkflowFailedError with the ApplicationFailure as cause', async () => {
    const err = await rejection(client.workflow.execute('fails', { workflowId: id('fails'), taskQueue, args: ['on purpose'] }));
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(err.cause).toBeInstanceOf(ApplicationFailure);
    expect([(err.cause as ApplicationFailure).type, (err.cause as ApplicationFailure).details]).toEqual(['Deliberate', [{ at: 'fails' }]]);
  });

  it('cancelled: cause CancelledFailure "Workflow canceled"', async () => {
    const handle = await client.workflow.start('sleeper', { workflowId: id('cancel'), taskQueue, args: [3_600_000] });
    await waitUntil(async () => (await handle.describe()).pendingTimerCount === 1);
    await handle.cancel();
    const err = (await rejection(handle.result())) as WorkflowFailedError;
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(err.cause).toBeInstanceOf(CancelledFailure);
    expect(err.cause!.message).toBe('Workflow canceled');
    expect((await handle.describe()).status.name).toBe('CANCELLED');
  });

  it('terminated: cause TerminatedFailure with the reason', async () => {
    const handle = await client.workflow.start('sleeper', { workflowId: id('terminate'), taskQueue, args: [3_600_000] });
    await handle.terminate('operator said so');
    const err = (await rejection(handle.result())) as WorkflowFailedError;
    expect(err.cause).toBeInstanceOf(TerminatedFailure);
    expect(err.cause!.message).toBe('operator said so');
  });

  it('timed out (workflowRunTimeout): cause TimeoutFailure', async () => {
    const handle = await client.workflow.start('sleeper', { workflowId: id('timeout'), taskQueue, args: [3_600_000], workflowRunTimeout: '300ms' });
    // Drive the engine's run-timeout pass directly, so the test does not depend on its loop's period.
    await waitUntil(async () => (await engine.timeOutExpiredRuns()) > 0 || (await handle.describe()).status.name === 'TIMED_OUT', { message: 'the run never timed out' });
    const err = (await rejection(handle.result())) as WorkflowFailedError;
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(err.cause).toBeInstanceOf(TimeoutFailure);
    expect((err.cause as TimeoutFailure).timeoutType).toBe('WORKFLOW_RUN_TIMEOUT');
    expect((await handle.describe()).status).toEqual({ code: 7, name: 'TIMED_OUT' });
  });
});

describe('client.activity: async completion by task token', () => {
  const tokenOf = async (key: string) => {
    await waitUntil(async () => activities.tokens.has(key), { message: `activity ${key} never ran` });
    return activities.tokens.get(key)!.token;
  };

  it('complete(token, result) completes the activity; the token is then stale', async () => {
    const key = id('complete');
    const handle = await client.workflow.start('awaitsExternal', { workflowId: key, taskQueue, args: [key] });
    const token = await tokenOf(key);
    await client.activity.heartbeat(token, { progress: 1 });
    await client.activity.complete(token, { approved: true });
    expect(await handle.result()).toEqual({ approved: true });
    expect(await rejection(client.activity.complete(token, 'again'))).toBeInstanceOf(ActivityNotFoundError);
  });

  it('fail(token, err) fails it with that failure as the ActivityFailure’s cause', async () => {
    const key = id('fail');
    const handle = await client.workflow.start('awaitsExternal', { workflowId: key, taskQueue, args: [key] });
    await client.activity.fail(await tokenOf(key), ApplicationFailure.nonRetryable('denied by reviewer', 'Denied'));
    const err = (await rejection(handle.result())) as WorkflowFailedError;
    expect(err.cause).toBeInstanceOf(ActivityFailure);
    const cause = (err.cause as ActivityFailure).cause as ApplicationFailure;
    expect([cause.type, cause.message]).toEqual(['Denied', 'denied by reviewer']);
  });

  it('heartbeat reports a cancel request as ActivityCancelledError; reportCancellation ends the activity as cancelled', async () => {
    const key = id('cancel-async');
    const handle = await client.workflow.start('awaitsExternal', { workflowId: key, taskQueue, args: [key, true] });
    const token = await tokenOf(key);
    await handle.cancel();
    await waitUntil(() => client.activity.heartbeat(token).then(() => false, (e: unknown) => e instanceof ActivityCancelledError), {
      message: 'the cancel request never reached the heartbeat',
    });
    await client.activity.reportCancellation(token, 'stopped by reviewer');
    const err = (await rejection(handle.result())) as WorkflowFailedError;
    expect(err.cause).toBeInstanceOf(CancelledFailure);
    expect(types((await handle.fetchHistory()).events)).toContain('ActivityTaskCanceled');
  });
});
