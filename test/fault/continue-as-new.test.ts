/**
 * F6b, continue-as-new under kills (RELIABILITY.md, scaled down): worker processes with
 * small history limits (warn 200 / max 400 events, through the CHRONICLE_* variables, as
 * docs/programming-model.md#limits recommends for every process) run one `generations`
 * chain: a loop of parallel activities and a timer that continues as new whenever
 * `workflowInfo().continueAsNewSuggested` turns true, for 10 runs, while a seeded chaos loop
 * SIGKILLs a worker every U(1, 3) s and restarts it.
 *
 * Asserted: the oracle's result (items and value: nothing lost, repeated or reordered, state
 * carried across every continue-as-new); 10 runs, each between the warning and the maximum
 * (it continued only when told to, and never came near being terminated); the chain linked
 * both ways (WorkflowExecutionStarted.continuedExecutionRunId = the previous run,
 * WorkflowExecutionContinuedAsNew.newExecutionRunId = the next, first_execution_run_id the
 * same for all); per run, the activities and timers its state says it did; every run was
 * warned about by a worker log; the invariant checker (I1–I4, I6, I8, I9) green.
 * Figures go to test-results/fault-f6b-continue-as-new.json.
 */
import { expect, it } from 'vitest';
import type { HistoryEvent } from '../../engine/protocol/index.js';
import { startKillLoop } from './harness/chaos.js';
import { executionsByActivity } from './harness/ledger.js';
import { runScenario, type Scenario } from './harness/scenario.js';
import { GENERATION_BATCH, generationsValue } from './oracle.js';
import type * as wf from './workflows.js';

const GENERATIONS = 10;
const WARN = 200;
const MAX = 400;
const WORKFLOW_ID = 'f6b-chain';

function ofType<T extends HistoryEvent['eventType']>(events: readonly HistoryEvent[], type: T): Extract<HistoryEvent, { eventType: T }>[] {
  return events.filter((e): e is Extract<HistoryEvent, { eventType: T }> => e.eventType === type);
}

async function runHistory(s: Scenario, runId: string): Promise<HistoryEvent[]> {
  return (await s.client.workflow.getHandle(WORKFLOW_ID, runId).fetchHistory()).events;
}

it(`F6b: a loop that continues as new when suggested runs ${GENERATIONS} linked runs, none over the maximum, with the right result, while workers are SIGKILLed`, () =>
  runScenario(
    'fault-f6b-continue-as-new',
    async (s) => {
      await s.supervisor.start(3);
      const t0 = Date.now();
      const handle = await s.client.workflow.start<typeof wf.generations>('generations', { workflowId: WORKFLOW_ID, taskQueue: s.taskQueue, args: [GENERATIONS] });
      const chaos = startKillLoop(s, { minIntervalMs: 1000, maxIntervalMs: 3000, maxKills: 8 });
      let result: wf.GenerationsState;
      try {
        // Expected ≈ 15–25 s (≈ 120 iterations of 5 activities and a timer, a 2 s lease per
        // kill that lands on work in flight); deadline 120 s.
        result = await s.result(handle, 120_000);
      } finally {
        await chaos.stop();
      }
      const totalMs = Date.now() - t0;

      // The oracle: every item done exactly once, in order, across all runs.
      expect(result.generation).toBe(GENERATIONS);
      expect(result.perRun).toHaveLength(GENERATIONS);
      expect(result.perRun.every((n) => n > 0 && n % GENERATION_BATCH === 0)).toBe(true);
      expect(result.perRun.reduce((a, b) => a + b, 0)).toBe(result.items);
      expect(result.value).toBe(generationsValue(result.items));

      // The runs of the workflow id, followed from the first along the chain.
      const { rows } = await s.db.pool.query<{ run_id: string; status: string; events: number; first_execution_run_id: string; continued_from_run_id: string | null }>(
        `SELECT run_id, status, next_event_id - 1 AS events, first_execution_run_id, continued_from_run_id
         FROM chronicle.executions WHERE workflow_id = $1`,
        [WORKFLOW_ID],
      );
      expect(rows).toHaveLength(GENERATIONS);
      const first = rows.filter((r) => r.continued_from_run_id === null);
      expect(first, 'exactly one run starts the chain').toHaveLength(1);
      const byPrevious = new Map(rows.filter((r) => r.continued_from_run_id !== null).map((r) => [r.continued_from_run_id!, r]));
      const chain = [first[0]!];
      while (byPrevious.has(chain.at(-1)!.run_id)) chain.push(byPrevious.get(chain.at(-1)!.run_id)!);
      expect(chain, 'every run is reachable from the first through continued_from_run_id').toHaveLength(GENERATIONS);
      const firstRunId = chain[0]!.run_id;
      expect(handle.firstExecutionRunId ?? firstRunId).toBe(firstRunId);

      const perRun: Record<string, unknown>[] = [];
      for (const [g, run] of chain.entries()) {
        const last = g === GENERATIONS - 1;
        expect(run.status, `run ${g + 1}`).toBe(last ? 'COMPLETED' : 'CONTINUED_AS_NEW');
        expect(run.first_execution_run_id, `run ${g + 1}: first_execution_run_id`).toBe(firstRunId);
        // No run over the maximum; each one continued (or returned) only once suggested.
        expect(run.events, `run ${g + 1}: history length`).toBeLessThanOrEqual(MAX);
        expect(run.events, `run ${g + 1}: history length`).toBeGreaterThanOrEqual(WARN);

        const events = await runHistory(s, run.run_id);
        expect(events).toHaveLength(run.events);
        const started = events[0]!;
        expect(started.eventType).toBe('WorkflowExecutionStarted');
        const startedAttributes = (started as Extract<HistoryEvent, { eventType: 'WorkflowExecutionStarted' }>).attributes;
        expect(startedAttributes.continuedExecutionRunId, `run ${g + 1}: continuedExecutionRunId`).toBe(g === 0 ? undefined : chain[g - 1]!.run_id);
        expect(startedAttributes.firstExecutionRunId ?? run.run_id, `run ${g + 1}: firstExecutionRunId`).toBe(firstRunId);
        if (!last) {
          const continued = ofType(events, 'WorkflowExecutionContinuedAsNew');
          expect(continued).toHaveLength(1);
          expect(continued[0]!.attributes.newExecutionRunId).toBe(chain[g + 1]!.run_id);
          expect(continued[0]!.attributes.workflowType).toBe('generations');
        } else {
          expect(ofType(events, 'WorkflowExecutionCompleted')).toHaveLength(1);
        }
        // What the run's own history says it did matches the state it passed on.
        const completedActivities = ofType(events, 'ActivityTaskCompleted').length;
        const firedTimers = ofType(events, 'TimerFired').length;
        expect(completedActivities, `run ${g + 1}: activities completed`).toBe(result.perRun[g]);
        expect(firedTimers, `run ${g + 1}: timers fired`).toBe(result.perRun[g]! / GENERATION_BATCH);
        expect(ofType(events, 'ActivityTaskScheduled')).toHaveLength(completedActivities);
        // The engine told this run to continue as new (recorded for replay), and a worker logged it.
        expect(ofType(events, 'WorkflowTaskCompleted').some((e) => e.attributes.continueAsNewSuggested === true), `run ${g + 1}: continueAsNewSuggested recorded`).toBe(true);
        const warned = s.supervisor.processes.some((p) => p.log.some((line) => line.includes('past the warning threshold') && line.includes(run.run_id)));
        expect(warned, `run ${g + 1}: a worker logged the warning threshold`).toBe(true);
        perRun.push({ run: g + 1, events: run.events, activities: completedActivities, timers: firedTimers });
      }

      const killedPids = new Set(chaos.kills.map((k) => k.pid));
      const groups = await executionsByActivity(s.db.pool);
      const executions = groups.reduce((n, g) => n + g.executions.length, 0);
      const interrupted = groups.filter((g) => g.executions.slice(0, -1).some((e) => killedPids.has(e.pid))).length;
      const figures = {
        generations: GENERATIONS,
        limits: { historyLengthWarn: WARN, historyLengthMax: MAX },
        items: result.items,
        perRun,
        kills: chaos.kills.length,
        killsWithActivitiesInFlight: chaos.kills.filter((k) => k.activitiesInFlight > 0).length,
        killsWithWorkflowTasksInFlight: chaos.kills.filter((k) => k.workflowTasksInFlight > 0).length,
        chaosKills: chaos.kills,
        activityExecutions: executions,
        duplicateExecutions: executions - groups.length,
        activitiesInterruptedByAKill: interrupted,
        totalMs,
      };
      Object.assign(s.report, figures);
      console.log('[fault] F6b:', { ...figures, chaosKills: undefined, perRun: perRun.map((r) => r.events) });
      expect(groups).toHaveLength(result.items);
      expect(chaos.kills.length, `no kill happened (CHAOS_SEED=${s.seed})`).toBeGreaterThanOrEqual(1);
    },
    { workerEnv: { CHRONICLE_HISTORY_LENGTH_WARN: String(WARN), CHRONICLE_HISTORY_LENGTH_MAX: String(MAX) } },
  ));
