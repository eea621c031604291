import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import * as esbuild from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { toFailureInfo } from '../../engine/protocol/failures.js';
import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  ChildWorkflowFailure,
  TemporalFailure,
  TerminatedFailure,
  TimeoutFailure,
  WorkflowExecutionAlreadyStartedError,
  fromFailureInfo,
  isCancellation,
} from './errors.js';

const here = path.dirname(fileURLToPath(import.meta.url));

describe('error classes', () => {
  it('ApplicationFailure factories follow Temporal', () => {
    const a = ApplicationFailure.nonRetryable('declined', 'CardDeclined', { last4: '4242' });
    expect(a).toBeInstanceOf(ApplicationFailure);
    expect(a).toBeInstanceOf(TemporalFailure);
    expect(a).toBeInstanceOf(Error);
    expect([a.name, a.message, a.type, a.nonRetryable, a.details]).toEqual(['ApplicationFailure', 'declined', 'CardDeclined', true, [{ last4: '4242' }]]);
    const r = ApplicationFailure.retryable('flaky');
    expect([r.type, r.nonRetryable]).toEqual(['Error', false]);
    const c = ApplicationFailure.create({ message: 'm', type: 'T', nonRetryable: true, details: [1], cause: new Error('root') });
    expect([c.type, c.nonRetryable, c.details, (c.cause as Error).message]).toEqual(['T', true, [1], 'root']);
    expect(ApplicationFailure.create({ message: 'no type' }).type).toBeUndefined();
  });

  it('fromError keeps an ApplicationFailure and wraps anything else by name', () => {
    const a = ApplicationFailure.nonRetryable('x', 'X');
    expect(ApplicationFailure.fromError(a)).toBe(a);
    const wrapped = ApplicationFailure.fromError(new RangeError('out of range'));
    expect([wrapped.message, wrapped.type, wrapped.nonRetryable]).toEqual(['out of range', 'RangeError', false]);
    expect(wrapped.stack).toContain('RangeError');
    expect(ApplicationFailure.fromError('text', { nonRetryable: true }).nonRetryable).toBe(true);
  });

  it('user subclasses keep ordinary instanceof', () => {
    class MyFailure extends ApplicationFailure {}
    const mine = new MyFailure('m');
    expect(mine).toBeInstanceOf(MyFailure);
    expect(mine).toBeInstanceOf(ApplicationFailure);
    expect(ApplicationFailure.nonRetryable('x')).not.toBeInstanceOf(MyFailure);
  });

  it('round-trips through FailureInfo, rebuilding the class chain', () => {
    const original = new ActivityFailure('Activity task failed', 'chargeCard', '2', 'MAXIMUM_ATTEMPTS_REACHED', undefined, ApplicationFailure.nonRetryable('declined', 'CardDeclined', 7));
    const info = toFailureInfo(original);
    expect(info).toMatchObject({
      failureType: 'activity',
      activity: { activityType: 'chargeCard', activityId: '2', retryState: 'MAXIMUM_ATTEMPTS_REACHED' },
      cause: { failureType: 'application', type: 'CardDeclined', nonRetryable: true, details: [7], message: 'declined' },
    });
    const rebuilt = fromFailureInfo(JSON.parse(JSON.stringify(info)));
    expect(rebuilt).toBeInstanceOf(ActivityFailure);
    expect((rebuilt as ActivityFailure).activityType).toBe('chargeCard');
    expect(rebuilt.cause).toBeInstanceOf(ApplicationFailure);
    expect((rebuilt.cause as ApplicationFailure).type).toBe('CardDeclined');
    expect((rebuilt.cause as ApplicationFailure).stack).toBe(info.cause?.stack);
    const timeout = fromFailureInfo({ failureType: 'timeout', message: 't', timeoutType: 'HEARTBEAT', details: ['progress'] });
    expect(timeout).toBeInstanceOf(TimeoutFailure);
    expect([(timeout as TimeoutFailure).timeoutType, (timeout as TimeoutFailure).lastHeartbeatDetails]).toEqual(['HEARTBEAT', 'progress']);
  });

  it('isCancellation: CancelledFailure, or an ActivityFailure caused by one', () => {
    const cancelled = new CancelledFailure('Workflow cancelled');
    expect(isCancellation(cancelled)).toBe(true);
    expect(isCancellation(new ActivityFailure('x', 't', '1', 'CANCEL_REQUESTED', undefined, cancelled))).toBe(true);
    expect(isCancellation(new ActivityFailure('x', 't', '1', 'UNSPECIFIED', undefined, new Error('no')))).toBe(false);
    expect(isCancellation(new Error('Workflow cancelled'))).toBe(false);
  });

  it('ChildWorkflowFailure round-trips with its execution, type and retry state', () => {
    const original = new ChildWorkflowFailure('default', { workflowId: 'kid', runId: 'kr' }, 'child', 'NON_RETRYABLE_FAILURE', new TerminatedFailure('ops'));
    const info = toFailureInfo(original);
    expect(info).toMatchObject({
      failureType: 'childWorkflow',
      message: 'Child Workflow execution failed',
      childWorkflow: { namespace: 'default', workflowId: 'kid', runId: 'kr', workflowType: 'child', retryState: 'NON_RETRYABLE_FAILURE' },
      cause: { failureType: 'terminated', message: 'ops' },
    });
    const rebuilt = fromFailureInfo(JSON.parse(JSON.stringify(info))) as ChildWorkflowFailure;
    expect(rebuilt).toBeInstanceOf(ChildWorkflowFailure);
    expect(rebuilt).toBeInstanceOf(TemporalFailure);
    expect([rebuilt.namespace, rebuilt.execution, rebuilt.workflowType, rebuilt.retryState]).toEqual(['default', { workflowId: 'kid', runId: 'kr' }, 'child', 'NON_RETRYABLE_FAILURE']);
    expect(rebuilt.cause).toBeInstanceOf(TerminatedFailure);
    expect(isCancellation(rebuilt)).toBe(false);
    expect(isCancellation(new ChildWorkflowFailure(undefined, { workflowId: 'k' }, 'c', 'CANCEL_REQUESTED', new CancelledFailure('c')))).toBe(true);
  });

  it('WorkflowExecutionAlreadyStartedError is a TemporalFailure with the stable code (it fails the workflow, not the task)', () => {
    const err = new WorkflowExecutionAlreadyStartedError('already running', 'kid', 'child');
    expect(err).toBeInstanceOf(TemporalFailure);
    expect([err.name, err.code, err.workflowId, err.workflowType]).toEqual(['WorkflowExecutionAlreadyStartedError', 'CHR_WORKFLOW_ALREADY_STARTED', 'kid', 'child']);
    expect(toFailureInfo(err)).toMatchObject({ failureType: 'application', type: 'WorkflowExecutionAlreadyStartedError', nonRetryable: true });
  });

  describe('across realms and bundle copies', () => {
    let context: vm.Context;
    beforeAll(async () => {
      // A second, independent copy of errors.ts, evaluated in another realm: the situation
      // of an error created inside the sandbox and inspected by the worker.
      const out = await esbuild.build({
        entryPoints: [path.join(here, 'errors.ts')],
        bundle: true,
        write: false,
        format: 'iife',
        globalName: 'copy',
        platform: 'neutral',
        keepNames: true,
        logLevel: 'silent',
      });
      context = vm.createContext({});
      vm.runInContext(out.outputFiles[0].text, context);
    });

    it('instanceof answers by brand, not by prototype identity', () => {
      const foreign = vm.runInContext(
        `new copy.ActivityFailure('failed', 'ship', '3', 'TIMEOUT', undefined, copy.ApplicationFailure.nonRetryable('nope', 'Nope'))`,
        context,
      ) as unknown;
      expect(foreign instanceof ActivityFailure).toBe(true);
      expect(foreign instanceof TemporalFailure).toBe(true);
      expect(foreign instanceof ApplicationFailure).toBe(false);
      expect(foreign instanceof Error).toBe(false); // the realm's own Error: why branding is needed
      expect((foreign as ActivityFailure).cause instanceof ApplicationFailure).toBe(true);
      expect(isCancellation(vm.runInContext(`new copy.CancelledFailure('c')`, context))).toBe(true);
      expect(toFailureInfo(foreign)).toMatchObject({ failureType: 'activity', cause: { type: 'Nope', nonRetryable: true } });
    });
  });
});
