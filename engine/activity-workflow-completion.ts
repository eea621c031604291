import { sql, type Kysely } from 'kysely';
import type { Database } from './db/database.js';
import { retryOnDeadlock } from './deadlock-retry.js';
import type { ActivityAndWorkflowTaskCompletion, ActivityAndWorkflowTaskCompletionResult } from './engine.js';
import { StaleTaskError } from './errors.js';
import { defaultLimits, historyLimitsJson } from './limits.js';
import type { Logger } from './logger.js';
import type { Notification, Notifier } from './notifier.js';
import { decodeActivityTaskToken } from './task-token.js';
import { STALE_LEASE_SQLSTATE, toWorkflowTasks, type WorkflowTaskClaimRow } from './task-rows.js';
import { payloadJson, validatePayload, validatePayloadSize } from './validation.js';
import { prepareCompletionCommands } from './workflow-commands.js';
import { recordedTask, type CompletionSettings, type RecordedTaskRow } from './workflow-tasks.js';

/**
 * An activity's result and the workflow task it unblocks, in one round trip and one commit
 * (chronicle.complete_activity_and_workflow_task, migrations/0004). Sequential workflows
 * then cost one durable commit per activity instead of two. The commands are those of any
 * workflow task (engine/workflow-commands.ts).
 */
export async function completeActivityAndWorkflowTask(
  db: Kysely<Database>,
  log: Logger,
  notifier: Notifier,
  taskToken: string,
  c: ActivityAndWorkflowTaskCompletion,
  leaseMs: number,
  settings: CompletionSettings = { namespace: 'default', limits: defaultLimits() },
): Promise<ActivityAndWorkflowTaskCompletionResult> {
  const t = decodeActivityTaskToken(taskToken);
  validatePayload('result', c.result);
  validatePayloadSize('result', c.result, settings.limits.payloadMaxBytes);
  const p = await prepareCompletionCommands(db, settings.namespace, c.commands, { limits: settings.limits });
  try {
    const { rows } = await retryOnDeadlock(() =>
      sql<RecordedTaskRow & { applied: boolean; eager_workflow_task: WorkflowTaskClaimRow | null }>`
        SELECT * FROM chronicle.complete_activity_and_workflow_task(
          ${t.taskId}::bigint, ${t.runId}::uuid, ${t.leaseId}::uuid, ${payloadJson(c.result)}::jsonb, ${c.identity},
          ${c.previousCompletedEventId}::int, ${c.workflowTime}::bigint, ${p.commandEvents}::jsonb, ${p.activities}::jsonb,
          ${p.timers}::jsonb, ${p.canceledTimers}::int[], ${p.close}::jsonb, ${c.eagerActivitySlots ?? 0},
          ${c.eagerWorkflowTaskQueue ?? null}, ${leaseMs}, ${p.effects}::jsonb, ${historyLimitsJson(settings.limits)}::jsonb)`.execute(db),
    );
    const r = rows[0]!;
    if (r.applied) {
      const growth = { limits: settings.limits, sizeBefore: c.historySizeBytes ?? 0, appendedBytes: Buffer.byteLength(p.commandEvents) + Buffer.byteLength(payloadJson(c.result)) };
      return { applied: true, ...recordedTask(r, notifier, growth) };
    }
    notifier.send(r.notifications as Notification[]);
    const eager = r.eager_workflow_task ? (await toWorkflowTasks(db, log, [r.eager_workflow_task], settings.limits, leaseMs))[0] : undefined;
    return { applied: false, ...(eager ? { eagerWorkflowTask: eager } : {}) };
  } catch (err) {
    if ((err as { code?: string }).code === STALE_LEASE_SQLSTATE) throw new StaleTaskError(taskToken, (err as Error).message);
    throw err;
  }
}
