// Option normalization of the client: policy spellings, start options, definitions. No engine.
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, PayloadNotSerializableError } from '../../engine/protocol/errors.js';
import { defineQuery, defineSignal, defineUpdate } from '../workflow/definitions.js';
import { messageName } from './definitions.js';
import {
  QueryRejectCondition,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  WorkflowUpdateStage,
  toEngineConflictPolicy,
  toEngineReusePolicy,
  toEngineUpdateStage,
  toQueryRejectCondition,
} from './policies.js';
import { compileSearchAttributes, compileStartOptions } from './workflow-options.js';

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a throw');
}

describe('policy names', () => {
  it('accept Temporal’s constants, the protobuf spellings and numbers, and map them to the engine’s names', () => {
    expect(toEngineReusePolicy(WorkflowIdReusePolicy.REJECT_DUPLICATE)).toBe('REJECT_DUPLICATE');
    expect(toEngineReusePolicy(WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY)).toBe('ALLOW_DUPLICATE_FAILED_ONLY');
    expect(toEngineReusePolicy('WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING')).toBe('TERMINATE_IF_RUNNING');
    expect(toEngineReusePolicy(1)).toBe('ALLOW_DUPLICATE');
    expect(toEngineConflictPolicy(WorkflowIdConflictPolicy.USE_EXISTING)).toBe('USE_EXISTING');
    expect(toEngineConflictPolicy('WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING')).toBe('TERMINATE_EXISTING');
    expect(toEngineConflictPolicy(WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_FAIL)).toBe('FAIL');
    expect(toEngineConflictPolicy(3)).toBe('TERMINATE_EXISTING');
    expect(toEngineUpdateStage(WorkflowUpdateStage.ACCEPTED)).toBe('ACCEPTED');
    expect(toEngineUpdateStage('UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED')).toBe('COMPLETED');
    expect(toQueryRejectCondition(QueryRejectCondition.QUERY_REJECT_CONDITION_NOT_OPEN)).toBe('NOT_OPEN');
  });

  it('treat unset, 0 and UNSPECIFIED as not set', () => {
    expect(toEngineReusePolicy(undefined)).toBeUndefined();
    expect(toEngineReusePolicy(0)).toBeUndefined();
    expect(toEngineReusePolicy(WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_UNSPECIFIED)).toBeUndefined();
    expect(toEngineConflictPolicy('WORKFLOW_ID_CONFLICT_POLICY_UNSPECIFIED')).toBeUndefined();
    expect(toQueryRejectCondition(undefined)).toBe('NONE');
  });

  it('refuse anything else, naming the option and the accepted names', () => {
    const err = thrown(() => toEngineConflictPolicy('REUSE'));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).field).toBe('workflowIdConflictPolicy');
    expect(err.message).toBe(`workflowIdConflictPolicy: "REUSE" is not one of 'FAIL', 'USE_EXISTING', 'TERMINATE_EXISTING'`);
    expect(thrown(() => toEngineReusePolicy(9)).message).toContain('9 is not one of');
  });
});

describe('compileStartOptions', () => {
  it('turns Temporal options into the engine request: durations in ms, policies by name', () => {
    expect(
      compileStartOptions({
        workflowId: 'order-1',
        taskQueue: 'orders',
        args: [1, { a: 'b' }],
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
        workflowIdReusePolicy: 'WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE',
        workflowExecutionTimeout: '1 day',
        workflowRunTimeout: 90_000,
        memo: { customer: 'ada', skipped: undefined },
        searchAttributes: { CustomKeywordField: ['gold'], CustomIntField: 7 },
        followRuns: false,
        workflowTaskTimeout: '10s', // accepted and ignored
      }),
    ).toEqual({
      workflowId: 'order-1',
      taskQueue: 'orders',
      args: [1, { a: 'b' }],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      workflowExecutionTimeoutMs: 86_400_000,
      workflowRunTimeoutMs: 90_000,
      memo: { customer: 'ada' },
      searchAttributes: { CustomKeywordField: ['gold'], CustomIntField: [7] },
    });
  });

  it('uses the call’s default conflict policy when none is given', () => {
    expect(compileStartOptions({ workflowId: 'w', taskQueue: 'q' }, 'USE_EXISTING')).toMatchObject({ workflowIdConflictPolicy: 'USE_EXISTING', args: [] });
    expect(compileStartOptions({ workflowId: 'w', taskQueue: 'q' })).not.toHaveProperty('workflowIdConflictPolicy');
  });

  it('names the option at fault', () => {
    const cases: [unknown, string, string][] = [
      [undefined, 'options', 'is required'],
      [{ taskQueue: 'q' }, 'workflowId', 'it is missing'],
      [{ workflowId: 'w' }, 'taskQueue', 'it is missing'],
      [{ workflowId: 'w', taskQueue: 'q', args: 5 }, 'args', 'must be an array'],
      [{ workflowId: 'w', taskQueue: 'q', workflowRunTimeout: 0 }, 'workflowRunTimeout', 'must be positive'],
      [{ workflowId: 'w', taskQueue: 'q', workflowExecutionTimeout: '3 fortnights' }, 'workflowExecutionTimeout', 'is not a duration'],
      [{ workflowId: 'w', taskQueue: 'q', cronSchedule: '* * * * *' }, 'options.cronSchedule', 'cron workflows are not supported'],
      [{ workflowId: 'w', taskQueue: 'q', retry: { maximumAttempts: 3 } }, 'options.retry', 'workflow retry policies are not supported'],
      [{ workflowId: 'w', taskQueue: 'q', memo: ['x'] }, 'memo', 'must be an object'],
      [{ workflowId: 'w', taskQueue: 'q', followRuns: 'yes' }, 'followRuns', 'must be a boolean'],
    ];
    for (const [options, field, text] of cases) {
      const err = thrown(() => compileStartOptions(options));
      expect(err, field).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).field).toBe(field);
      expect(err.message).toContain(text);
    }
  });

  it('refuses payloads JSON cannot carry, with their path', () => {
    const err = thrown(() => compileStartOptions({ workflowId: 'w', taskQueue: 'q', args: [{ tags: new Set(['a']) }] }));
    expect(err).toBeInstanceOf(PayloadNotSerializableError);
    expect(err.message).toContain('args[0].tags is a Set');
    expect(thrown(() => compileStartOptions({ workflowId: 'w', taskQueue: 'q', memo: { n: 10n } })).message).toContain('memo.n is a bigint');
  });

  it('search attributes: single values wrapped, Dates as ISO strings, undefined dropped, bad values named', () => {
    const at = new Date(Date.UTC(2024, 4, 1, 12));
    expect(compileSearchAttributes({ CustomDatetimeField: [at], CustomBoolField: true, Gone: undefined }, 'searchAttributes')).toEqual({
      CustomDatetimeField: ['2024-05-01T12:00:00.000Z'],
      CustomBoolField: [true],
    });
    const err = thrown(() => compileSearchAttributes({ CustomIntField: [1, Number.NaN] }, 'searchAttributes'));
    expect((err as InvalidArgumentError).field).toBe('searchAttributes.CustomIntField[1]');
    expect(thrown(() => compileSearchAttributes([], 'searchAttributes')).message).toContain('must be an object');
  });
});

describe('message definitions', () => {
  it('take the name from a definition made by chronicle/workflow, or a plain name', () => {
    expect(messageName(defineSignal<[number]>('add'), 'signal')).toBe('add');
    expect(messageName(defineQuery<number>('total'), 'query')).toBe('total');
    expect(messageName(defineUpdate<number, [number]>('deposit'), 'update')).toBe('deposit');
    expect(messageName('free-form', 'signal')).toBe('free-form');
    expect(messageName({ name: 'no-type' }, 'query')).toBe('no-type');
  });

  it('refuse a definition of the wrong kind and anything without a name', () => {
    expect(thrown(() => messageName(defineQuery('total'), 'signal')).message).toBe(
      "signal: expected a signal definition (defineSignal) or a signal name, got a query definition 'total'",
    );
    expect((thrown(() => messageName('', 'update')) as InvalidArgumentError).field).toBe('update');
    expect(thrown(() => messageName(undefined, 'query')).message).toContain('got undefined');
  });
});
