/**
 * Drives a PgEngine by hand for the run-lifecycle tests: start runs, claim their workflow
 * tasks, complete them with commands, read history, describe and outcome. No worker, no
 * workflow code: each test states the commands a workflow would have produced.
 */
import { expect } from 'vitest';
import { PgEngine, type PgEngineOptions } from '../../engine/pg-engine.js';
import type { StartWorkflowRequest, WorkflowRef } from '../../engine/engine.js';
import {
  DEFAULT_RETRY,
  type ActivityScheduleOptions,
  type HistoryEvent,
  type WorkflowCommand,
  type WorkflowTask,
  type WorkflowTaskCompletion,
  type WorkflowTaskCompletionResult,
} from '../../engine/protocol/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

export const identity = 'test-worker';
const quietLog = { debug() {}, info() {}, warn() {}, error: (m: string, meta?: unknown) => console.error(m, meta) };

export interface Driven {
  readonly t: TestDatabase;
  readonly engine: PgEngine;
  close(): Promise<void>;
}

/** A fresh database and an engine on it (no background loops: tests trigger what they need). */
export async function drivenEngine(overrides: Partial<PgEngineOptions> = {}): Promise<Driven> {
  const t = await createTestDatabase();
  const engine = await PgEngine.connect({
    databaseUrl: t.url,
    migrate: false,
    workflowTaskTimeoutMs: 5000,
    pollIntervalMs: 100,
    logger: quietLog,
    ...overrides,
  });
  return {
    t,
    engine,
    async close() {
      await engine.close();
      await t.drop();
    },
  };
}

let counter = 0;
/** A name unique within the test process. */
export const unique = (prefix: string): string => `${prefix}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;

export class Driver {
  constructor(readonly engine: PgEngine) {}

  async start(over: Partial<StartWorkflowRequest> = {}): Promise<{ workflowId: string; runId: string; taskQueue: string }> {
    const workflowId = over.workflowId ?? unique('wf');
    const taskQueue = over.taskQueue ?? unique('q');
    const { runId } = await this.engine.startWorkflow({ workflowType: 'wf', args: [], ...over, workflowId, taskQueue });
    return { workflowId, runId, taskQueue };
  }

  /** Claims exactly one workflow task of the queue (waiting up to 5 s). */
  async poll(taskQueue: string): Promise<WorkflowTask> {
    const tasks = await this.engine.pollWorkflowTasks({ taskQueue, maxTasks: 1, identity, waitMs: 5000 });
    expect(tasks, `a workflow task on ${taskQueue}`).toHaveLength(1);
    return tasks[0]!;
  }

  /** No task is claimable on the queue right now. */
  async expectNoTask(taskQueue: string): Promise<void> {
    expect(await this.engine.pollWorkflowTasks({ taskQueue, maxTasks: 1, identity, waitMs: 0 })).toEqual([]);
  }

  complete(task: WorkflowTask, commands: WorkflowCommand[], extra: Partial<WorkflowTaskCompletion> = {}): Promise<WorkflowTaskCompletionResult> {
    return this.engine.completeWorkflowTask(task.taskToken, { commands, workflowTime: task.startedAt, identity, ...extra });
  }

  /** Polls the queue and completes its task with `commands`. */
  async step(taskQueue: string, commands: WorkflowCommand[]): Promise<{ task: WorkflowTask; result: WorkflowTaskCompletionResult }> {
    const task = await this.poll(taskQueue);
    return { task, result: await this.complete(task, commands) };
  }

  async history(ref: WorkflowRef | string): Promise<HistoryEvent[]> {
    return [...(await this.engine.getHistory(typeof ref === 'string' ? { workflowId: ref } : ref)).events];
  }

  async types(ref: WorkflowRef | string): Promise<string[]> {
    return types(await this.history(ref));
  }
}

export const types = (events: readonly { eventType: string }[]): string[] => events.map((e) => e.eventType);

/** The attributes of the only event of a type in a list (fails if there is not exactly one). */
export function only<T = Record<string, unknown>>(events: readonly { eventType: string; attributes: unknown }[], eventType: string): T {
  const found = events.filter((e) => e.eventType === eventType);
  expect(found.map((e) => e.eventType), `exactly one ${eventType}`).toEqual([eventType]);
  return found[0]!.attributes as T;
}

export const activityOptions = (over: Partial<ActivityScheduleOptions> = {}): ActivityScheduleOptions => ({
  startToCloseTimeoutMs: 10_000,
  priority: 50,
  retry: { ...DEFAULT_RETRY, maximumIntervalMs: 100_000, nonRetryableErrorTypes: [] },
  ...over,
});

export const scheduleActivity = (seq: number, activityType = 'act', args: unknown[] = []): WorkflowCommand => ({
  kind: 'ScheduleActivity',
  seq,
  activityType,
  args,
  options: activityOptions(),
});

export const complete = (result: unknown = null): WorkflowCommand => ({ kind: 'CompleteWorkflow', result });

/** Delivers an event to a run's inbox the way every producer does (chronicle.deliver_event). */
export async function deliver(t: TestDatabase, runId: string, eventType: string, attributes: unknown): Promise<void> {
  await t.pool.query(
    `SELECT chronicle.deliver_event(run_id, namespace, task_queue, $2, $3::jsonb)
     FROM chronicle.executions WHERE run_id = $1 FOR NO KEY UPDATE`,
    [runId, eventType, JSON.stringify(attributes)],
  );
}

/** Admits an update the way a client's updateWorkflow does: a workflow_updates row and an inbox event. */
export async function admitUpdate(t: TestDatabase, runId: string, updateId: string, name = 'upd', args: unknown[] = []): Promise<void> {
  await t.pool.query(
    `INSERT INTO chronicle.workflow_updates (run_id, update_id, namespace, workflow_id, name, args)
     SELECT run_id, $2, namespace, workflow_id, $3, $4::jsonb FROM chronicle.executions WHERE run_id = $1`,
    [runId, updateId, name, JSON.stringify(args)],
  );
  await deliver(t, runId, 'WorkflowExecutionUpdateAdmitted', { updateId, name, args });
}

export async function updateRow(t: TestDatabase, runId: string, updateId: string): Promise<{ stage: string; outcome: unknown } | undefined> {
  const { rows } = await t.pool.query(`SELECT stage, outcome FROM chronicle.workflow_updates WHERE run_id = $1 AND update_id = $2`, [runId, updateId]);
  return rows[0];
}

export async function status(t: TestDatabase, runId: string): Promise<string> {
  const { rows } = await t.pool.query(`SELECT status FROM chronicle.executions WHERE run_id = $1`, [runId]);
  return rows[0]?.status;
}
