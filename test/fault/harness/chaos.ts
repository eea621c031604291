/**
 * The chaos kill loop of a scenario (crash-recovery.test.ts d's pattern, shared): every
 * U(minIntervalMs, maxIntervalMs) it SIGKILLs one live worker, preferring one that holds
 * running activities (the interesting kill is the one mid-activity), never the last live one
 * (a restart takes seconds on 2 cores: with every worker down a test measures startup, not
 * recovery), and restarts it after U(0.1, 1) s. Seeded: its own stream from the scenario's
 * seed, so CHAOS_SEED reproduces the victims and the intervals.
 *
 * @example
 * const chaos = startKillLoop(s, { maxKills: 8 });
 * try { result = await s.result(handle, 120_000); } finally { await chaos.stop(); }
 * expect(chaos.kills.length).toBeGreaterThanOrEqual(1);
 */
import { seededRandom, type Scenario } from './scenario.js';

export interface ChaosKill {
  readonly index: number;
  readonly pid: number;
  /** ms since the loop started */
  readonly atMs: number;
  /** Activity attempts the victim held (status running) when it was killed. */
  readonly activitiesInFlight: number;
  /** Workflow tasks the victim held when it was killed. */
  readonly workflowTasksInFlight: number;
}

export interface KillLoopOptions {
  /** Default 500. */
  readonly minIntervalMs?: number;
  /** Default 2000. */
  readonly maxIntervalMs?: number;
  /** Stop killing after this many kills. Default 15. */
  readonly maxKills?: number;
}

export interface KillLoop {
  /** The kills so far, in order. */
  readonly kills: readonly ChaosKill[];
  /** Stops the loop, waits for the restarts it began, and rethrows an error the loop hit. */
  stop(): Promise<void>;
}

/** Starts the loop on the scenario's supervisor (whose workers must already be started). */
export function startKillLoop(s: Scenario, options: KillLoopOptions = {}): KillLoop {
  const minMs = options.minIntervalMs ?? 500;
  const maxMs = options.maxIntervalMs ?? 2000;
  const maxKills = options.maxKills ?? 15;
  const random = seededRandom(s.seed ^ 0x9e3779b9);
  const u = (min: number, max: number) => min + random() * (max - min);
  const t0 = Date.now();
  const kills: ChaosKill[] = [];
  const restarts: Promise<unknown>[] = [];
  let done = false;
  let wake: (() => void) | undefined;
  let loopError: unknown;

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const loop = (async () => {
    while (!done && kills.length < maxKills) {
      await pause(u(minMs, maxMs));
      const pick = random();
      const live = s.supervisor.liveSlots();
      if (done || live.length < 2) continue;
      const identities = live.map((i) => `w${i}-${s.supervisor.pid(i)}`);
      const { rows } = await s.db.pool.query<{ identity: string; a: number; w: number }>(
        `SELECT x.ident AS identity,
                (SELECT count(*) FROM chronicle.activity_tasks t WHERE t.status = 'running' AND t.identity = x.ident)::int AS a,
                (SELECT count(*) FROM chronicle.workflow_tasks t WHERE t.status = 'running' AND t.identity = x.ident)::int AS w
         FROM unnest($1::text[]) WITH ORDINALITY AS x(ident, k) ORDER BY x.k`,
        [identities],
      );
      if (done) break;
      const busy = live.filter((_, k) => rows[k]!.a > 0);
      const candidates = busy.length ? busy : live;
      const index = candidates[Math.floor(pick * candidates.length)]!;
      const pid = s.supervisor.pid(index);
      const held = rows[live.indexOf(index)]!;
      if (s.supervisor.current(index).pid !== pid || !s.supervisor.isAlive(index)) continue;
      s.supervisor.kill(index, 'SIGKILL');
      kills.push({ index, pid, atMs: Date.now() - t0, activitiesInFlight: held.a, workflowTasksInFlight: held.w });
      restarts.push(s.supervisor.restart(index, { randomDelay: true }));
    }
  })().catch((err: unknown) => {
    loopError = err;
  });

  return {
    kills,
    async stop() {
      done = true;
      wake?.();
      await loop;
      await Promise.all(restarts);
      if (loopError !== undefined) throw loopError;
    },
  };
}
