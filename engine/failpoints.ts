/**
 * Failpoints: named places where a fault test can make this process die, throw, stall or
 * stop, to prove that nothing is lost when that happens there. Configured by the
 * environment variable CHRONICLE_FAILPOINTS, e.g.
 *
 *   CHRONICLE_FAILPOINTS="activity.afterExecute=kill@1,wft.afterCommit=sleep(200)@0.5"
 *
 * `name=action@probability` (probability defaults to 1), actions: `kill` (SIGKILL self),
 * `throw`, `sleep(ms)`, `pause` (SIGSTOP self). `kill@1` with a `#n` suffix fires on the
 * n-th hit only: `activity.afterExecute=kill#2`. With the variable unset, `failpoint()` is
 * an empty function: no parsing, no lookups on the hot path.
 *
 * Points (see docs/reliability.md): claim.afterLock, activity.afterExecute,
 * activity.beforeCompleteCommit, wft.beforeCommit, wft.afterCommit, timer.afterFireCommit.
 */
export type FailpointName =
  | 'claim.afterLock'
  | 'activity.afterExecute'
  | 'activity.beforeCompleteCommit'
  | 'wft.beforeCommit'
  | 'wft.afterCommit'
  | 'timer.afterFireCommit';

interface Rule {
  action: 'kill' | 'throw' | 'sleep' | 'pause';
  sleepMs: number;
  probability: number;
  onlyHit?: number;
  hits: number;
}

export class FailpointError extends Error {
  constructor(readonly point: string) {
    super(`failpoint ${point} fired`);
  }
}

const POINTS: readonly FailpointName[] = [
  'claim.afterLock',
  'activity.afterExecute',
  'activity.beforeCompleteCommit',
  'wft.beforeCommit',
  'wft.afterCommit',
  'timer.afterFireCommit',
];

function parse(spec: string): Map<string, Rule> {
  const rules = new Map<string, Rule>();
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([\w.]+)=(kill|throw|pause|sleep\((\d+)\))(?:@([\d.]+))?(?:#(\d+))?$/.exec(part);
    if (!m) throw new Error(`CHRONICLE_FAILPOINTS: cannot parse '${part}'; expected name=kill|throw|pause|sleep(ms)[@probability][#hit]`);
    if (!POINTS.includes(m[1] as FailpointName)) {
      throw new Error(`CHRONICLE_FAILPOINTS: unknown failpoint '${m[1]}'; known: ${POINTS.join(', ')}`);
    }
    rules.set(m[1]!, {
      action: m[2]!.startsWith('sleep') ? 'sleep' : (m[2] as Rule['action']),
      sleepMs: Number(m[3] ?? 0),
      probability: m[4] !== undefined ? Number(m[4]) : 1,
      ...(m[5] !== undefined ? { onlyHit: Number(m[5]) } : {}),
      hits: 0,
    });
  }
  return rules;
}

const spec = typeof process !== 'undefined' ? process.env.CHRONICLE_FAILPOINTS : undefined;
const rules = spec ? parse(spec) : undefined;

async function hit(name: FailpointName): Promise<void> {
  const rule = rules!.get(name);
  if (!rule) return;
  rule.hits++;
  if (rule.onlyHit !== undefined && rule.hits !== rule.onlyHit) return;
  if (Math.random() >= rule.probability) return;
  switch (rule.action) {
    case 'kill':
      process.stderr.write(`failpoint ${name}: SIGKILL pid ${process.pid}\n`);
      process.kill(process.pid, 'SIGKILL');
      await new Promise(() => {}); // never continue past a kill
      return;
    case 'pause':
      process.kill(process.pid, 'SIGSTOP');
      return;
    case 'sleep':
      await new Promise((r) => setTimeout(r, rule.sleepMs));
      return;
    case 'throw':
      throw new FailpointError(name);
  }
}

/** Await at a named point; a no-op unless CHRONICLE_FAILPOINTS configures it. */
export const failpoint: (name: FailpointName) => Promise<void> | undefined = rules ? hit : () => undefined;
