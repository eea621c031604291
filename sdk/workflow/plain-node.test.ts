// SEMANTICS.md item 13: workflow modules load outside the sandbox (clients import them).
import { describe, expect, it } from 'vitest';
import * as model from '../worker/__fixtures__/model.js';
import * as workflows from '../worker/__fixtures__/workflows.js';
import {
  CancellationScope,
  NotInWorkflowContextError,
  ParentClosePolicy,
  condition,
  continueAsNew,
  defineSignal,
  deprecatePatch,
  getExternalWorkflowHandle,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from './index.js';

function notInContext(fn: () => unknown, api: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(NotInWorkflowContextError);
    expect((err as NotInWorkflowContextError).code).toBe('CHR_NOT_IN_WORKFLOW_CONTEXT');
    expect((err as Error).message).toContain(`${api} may only be used from a workflow execution`);
    return;
  }
  throw new Error(`${api} did not throw`);
}

describe('chronicle/workflow in plain Node', () => {
  it('a workflow module with top-level proxyActivities imports fine', () => {
    expect(typeof workflows.sequential).toBe('function');
    expect(typeof workflows.acts.reserveStock).toBe('function');
    expect(workflows.acts.reserveStock.name).toBe('reserveStock');
  });

  it('calling an activity outside a workflow throws CHR_NOT_IN_WORKFLOW_CONTEXT', () => {
    notInContext(() => workflows.acts.reserveStock('o-1'), "Calling activity 'reserveStock'");
    notInContext(() => proxyActivities({ startToCloseTimeout: 1000 }).anything(), "Calling activity 'anything'");
  });

  it('sleep, workflowInfo, uuid4 and log throw the same way', () => {
    notInContext(() => sleep(1), 'sleep()');
    notInContext(() => workflowInfo(), 'workflowInfo()');
    notInContext(() => uuid4(), 'uuid4()');
    notInContext(() => log.info('x'), 'log.info()');
  });

  it('module-level define*, proxyLocalActivities and makeContinueAsNewFunc load; the definitions are plain data', () => {
    expect(model.add).toEqual({ type: 'signal', name: 'add' });
    expect(model.valuesQuery).toEqual({ type: 'query', name: 'values' });
    expect(model.setUpdate).toEqual({ type: 'update', name: 'set' });
    expect(JSON.parse(JSON.stringify(model.setUpdate))).toEqual({ type: 'update', name: 'set' });
    expect(typeof model.local.echo).toBe('function');
    expect(typeof model.nextLoop).toBe('function');
    expect(ParentClosePolicy.PARENT_CLOSE_POLICY_TERMINATE).toBe('TERMINATE');
    expect(() => defineSignal('')).toThrow("name: defineSignal(name) needs a non-empty string");
    expect(() => proxyLocalActivities({ startToCloseTimeout: '1s', taskQueue: 'x' } as never)).toThrow(/^taskQueue: local activities run in the workflow's own worker/);
  });

  it('the other workflow APIs throw CHR_NOT_IN_WORKFLOW_CONTEXT when called', () => {
    notInContext(() => setHandler(model.add, () => undefined), 'setHandler()');
    notInContext(() => condition(() => true), 'condition()');
    notInContext(() => CancellationScope.current(), 'CancellationScope.current()');
    notInContext(() => new CancellationScope(), 'CancellationScope.current()');
    notInContext(() => patched('p'), 'patched()');
    notInContext(() => deprecatePatch('p'), 'deprecatePatch()');
    notInContext(() => upsertSearchAttributes({}), 'upsertSearchAttributes()');
    notInContext(() => getExternalWorkflowHandle('w'), 'getExternalWorkflowHandle()');
    notInContext(() => continueAsNew(), 'continueAsNew()');
    notInContext(() => model.local.echo('x'), "Calling local activity 'echo'");
  });

  it('running the workflow function itself fails at its first workflow API call', async () => {
    await expect(workflows.sequential('o-1')).rejects.toThrow(NotInWorkflowContextError);
  });

  it('the proxy is not a thenable and ignores symbols', () => {
    const proxy = proxyActivities({ startToCloseTimeout: '1s' }) as Record<string | symbol, unknown>;
    expect(proxy.then).toBeUndefined();
    expect(proxy[Symbol.toPrimitive]).toBeUndefined();
  });

  it('bad static options fail at proxyActivities time, naming the field', () => {
    expect(() => proxyActivities({})).toThrow(/^startToCloseTimeout: either startToCloseTimeout or scheduleToCloseTimeout is required/);
    expect(() => proxyActivities({ startToCloseTimeout: '1s', priority: 101 })).toThrow(/^priority: 101 must be an integer from 0 to 100/);
  });
});

describe('in a real Node process (no test runner)', () => {
  it('imports the workflow file and refuses an activity call with CHR_NOT_IN_WORKFLOW_CONTEXT', async () => {
    const { execFileSync } = await import('node:child_process');
    const fixture = new URL('../worker/__fixtures__/workflows.ts', import.meta.url).href;
    const script = `
      const w = await import(${JSON.stringify(fixture)});
      let code = 'none';
      try { w.acts.chargeCard('o-1', 5); } catch (err) { code = err.code; }
      console.log(JSON.stringify({ types: Object.keys(w).filter((k) => typeof w[k] === 'function').length, code }));`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(JSON.parse(out.trim())).toEqual({ types: 21, code: 'CHR_NOT_IN_WORKFLOW_CONTEXT' });
  });

  it('imports a workflow file with module-level define*, proxyLocalActivities and makeContinueAsNewFunc', async () => {
    const { execFileSync } = await import('node:child_process');
    const fixture = new URL('../worker/__fixtures__/model.ts', import.meta.url).href;
    const script = `
      const m = await import(${JSON.stringify(fixture)});
      let code = 'none';
      try { m.local.echo('x'); } catch (err) { code = err.code; }
      console.log(JSON.stringify({ signal: m.add, update: m.setUpdate, code }));`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(JSON.parse(out.trim())).toEqual({ signal: { type: 'signal', name: 'add' }, update: { type: 'update', name: 'set' }, code: 'CHR_NOT_IN_WORKFLOW_CONTEXT' });
  });
});
