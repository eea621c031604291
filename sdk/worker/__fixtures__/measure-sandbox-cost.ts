/**
 * Measures what a sandbox costs: `npx tsx sdk/worker/__fixtures__/measure-sandbox-cost.ts`.
 * Prints bundling, compiling, create() + first activation, and a later activation, in ms.
 */
import { performance } from 'node:perf_hooks';
import { bundleWorkflowCode } from '../bundler.js';
import { createSandboxFactory } from '../sandbox.js';
import { runInfo } from './history.js';

const N = Number(process.argv[2] ?? 200);
const ms = (t: number) => `${t.toFixed(3)} ms`;

let t = performance.now();
const bundle = await bundleWorkflowCode({ workflowsPath: new URL('./workflows.ts', import.meta.url).pathname });
const bundleMs = performance.now() - t;
t = performance.now();
const factory = createSandboxFactory(bundle);
const compileMs = performance.now() - t;

const start = { kind: 'StartWorkflow', workflowType: 'sequential', args: ['o-1'] } as const;
function createAndStart(i: number) {
  const sandbox = factory.create(runInfo('sequential', { runId: `run-${i}` }));
  sandbox.activate({ timestamp: 1, isReplaying: false, historyLength: 1, jobs: [start] });
  return sandbox;
}

// warm-up (JIT, V8 code cache for the compiled script)
for (let i = 0; i < 20; i++) createAndStart(i).dispose();

const createTimes: number[] = [];
const laterTimes: number[] = [];
for (let i = 0; i < N; i++) {
  t = performance.now();
  const sandbox = createAndStart(i);
  createTimes.push(performance.now() - t);
  t = performance.now();
  sandbox.activate({ timestamp: 2, isReplaying: false, historyLength: 5, jobs: [{ kind: 'ResolveActivity', seq: 1, result: { status: 'completed', result: 'r' } }] });
  laterTimes.push(performance.now() - t);
  sandbox.dispose();
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)];
console.log(`bundle: ${bundle.code.length} bytes of code, built in ${ms(bundleMs)}; vm.Script compile ${ms(compileMs)}`);
console.log(`create() + first activation: median ${ms(median(createTimes))}, p95 ${ms(p95(createTimes))} (n=${N})`);
console.log(`later activation:            median ${ms(median(laterTimes))}, p95 ${ms(p95(laterTimes))} (n=${N})`);
console.log(`heap used after: ${(process.memoryUsage().heapUsed / 1e6).toFixed(1)} MB`);
