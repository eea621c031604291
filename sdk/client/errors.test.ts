// Error shapes of the client (SEMANTICS 19) and one set of failure classes across entry points.
import { describe, expect, it } from 'vitest';
import * as common from '../common/index.js';
import * as workflow from '../workflow/index.js';
import * as client from './index.js';
import {
  ActivityNotFoundError,
  QueryNotRegisteredError,
  QueryRejectedError,
  WorkflowContinuedAsNewError,
  WorkflowFailedError,
  WorkflowUpdateFailedError,
} from './errors.js';

describe('client error classes', () => {
  it('have Temporal’s constructor arguments, fields and names', () => {
    const cause = new client.ApplicationFailure('boom', 'Boom');
    const failed = new WorkflowFailedError('Workflow execution failed', cause, 'NON_RETRYABLE_FAILURE');
    expect([failed.name, failed.message, failed.cause, failed.retryState]).toEqual(['WorkflowFailedError', 'Workflow execution failed', cause, 'NON_RETRYABLE_FAILURE']);
    expect(failed).toBeInstanceOf(Error);

    const update = new WorkflowUpdateFailedError('Workflow Update failed', cause);
    expect([update.name, update.cause]).toEqual(['WorkflowUpdateFailedError', cause]);

    const can = new WorkflowContinuedAsNewError('Workflow execution continued as new', 'run-2');
    expect([can.name, can.newExecutionRunId]).toEqual(['WorkflowContinuedAsNewError', 'run-2']);

    expect(new QueryRejectedError('FAILED')).toMatchObject({ name: 'QueryRejectedError', status: 'FAILED', message: 'Query rejected: the run is FAILED' });
    expect(new QueryNotRegisteredError('no handler', 'CHR_QUERY_FAILED')).toMatchObject({ name: 'QueryNotRegisteredError', code: 'CHR_QUERY_FAILED' });
    expect(new ActivityNotFoundError('gone').name).toBe('ActivityNotFoundError');
  });

  it('answer instanceof by brand, so a copy of the class made elsewhere still matches', () => {
    const foreign = Object.create(Error.prototype) as Record<symbol, unknown>;
    foreign[Symbol.for('chronicle.error.WorkflowFailedError')] = true;
    expect(foreign).toBeInstanceOf(WorkflowFailedError);
    expect(new WorkflowUpdateFailedError('x', undefined)).not.toBeInstanceOf(WorkflowFailedError);
  });

  it('keeps user subclasses on the ordinary prototype check', () => {
    class MyFailed extends WorkflowFailedError {}
    expect(new MyFailed('m', undefined, 'TIMEOUT')).toBeInstanceOf(WorkflowFailedError);
    expect(new WorkflowFailedError('m', undefined, 'TIMEOUT')).not.toBeInstanceOf(MyFailed);
  });
});

describe('one set of classes for chronicle/client, chronicle/workflow and chronicle/common', () => {
  it('exports the very same failure class objects', () => {
    for (const name of ['ApplicationFailure', 'ActivityFailure', 'CancelledFailure', 'TerminatedFailure', 'TimeoutFailure', 'TemporalFailure', 'ServerFailure'] as const) {
      expect(client[name], name).toBe(workflow[name]);
      expect(common[name], name).toBe(workflow[name]);
    }
    expect(client.ChildWorkflowFailure).toBe(common.ChildWorkflowFailure);
    expect(client.WorkflowExecutionAlreadyStartedError).toBe(common.WorkflowExecutionAlreadyStartedError);
    expect(client.WorkflowNotFoundError).toBe(common.WorkflowNotFoundError);
    expect(client.WorkflowIdReusePolicy).toBe(common.WorkflowIdReusePolicy);
    expect(client.WorkflowIdConflictPolicy).toBe(common.WorkflowIdConflictPolicy);
  });

  it('an ApplicationFailure from one entry point is instanceof the others', () => {
    const failure = common.ApplicationFailure.nonRetryable('declined', 'CardDeclined');
    expect(failure).toBeInstanceOf(client.ApplicationFailure);
    expect(failure).toBeInstanceOf(workflow.TemporalFailure);
  });

  it('the option enums have Temporal’s values', () => {
    expect(common.ActivityCancellationType).toMatchObject({ TRY_CANCEL: 'TRY_CANCEL', WAIT_CANCELLATION_COMPLETED: 'WAIT_CANCELLATION_COMPLETED', ABANDON: 'ABANDON' });
    expect(common.ParentClosePolicy).toMatchObject({ TERMINATE: 'TERMINATE', ABANDON: 'ABANDON', REQUEST_CANCEL: 'REQUEST_CANCEL' });
    expect(common.WorkflowIdReusePolicy.ALLOW_DUPLICATE).toBe('ALLOW_DUPLICATE');
    expect(common.WorkflowIdConflictPolicy.TERMINATE_EXISTING).toBe('TERMINATE_EXISTING');
    expect(client.WorkflowUpdateStage).toEqual({ ADMITTED: 'ADMITTED', ACCEPTED: 'ACCEPTED', COMPLETED: 'COMPLETED' });
  });
});

describe('WorkflowExecutionAlreadyStartedError, client and workflow classes', () => {
  it('each class recognises the other one’s instances (startChild in a workflow, start in a client)', async () => {
    const { WorkflowExecutionAlreadyStartedError: FromClient } = await import('./index.js');
    const { WorkflowExecutionAlreadyStartedError: FromWorkflow } = await import('../workflow/index.js');
    const client = new FromClient('order-1', 'order', 'run-1');
    const workflow = new FromWorkflow('already started', 'order-1', 'order');
    expect(client).toBeInstanceOf(FromWorkflow);
    expect(workflow).toBeInstanceOf(FromClient);
    expect(new Error('other')).not.toBeInstanceOf(FromClient);
  });
});
