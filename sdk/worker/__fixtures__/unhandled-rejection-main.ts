/**
 * Run as a separate Node process by sandbox.test.ts (`node --import tsx <this> <mode>`), so
 * that the test runner's own unhandled-rejection handling stays out of the picture.
 * mode 'sandbox': a workflow leaves a rejection unhandled → logged, the process carries on.
 * mode 'host': the host itself leaves one unhandled → Node's default (crash) still applies.
 */
import { bundleWorkflowCode } from '../bundler.js';
import { createSandboxFactory } from '../sandbox.js';
import { runInfo } from './history.js';

const mode = process.argv[2];
const warnings: string[] = [];
const bundle = await bundleWorkflowCode({ workflowsPath: new URL('./workflows.ts', import.meta.url).pathname });
const logger = { debug() {}, info() {}, warn: (m: string) => void warnings.push(m), error() {} };
const sandbox = createSandboxFactory(bundle, { logger }).create(runInfo('unhandledUserRejection'));
const first = sandbox.activate({ timestamp: 1, isReplaying: false, historyLength: 1, jobs: [{ kind: 'StartWorkflow', workflowType: 'unhandledUserRejection', args: [] }] });
if (mode === 'host') void Promise.reject(new Error('a host bug nobody handles'));
await new Promise((resolve) => setTimeout(resolve, 50));
const second = sandbox.activate({ timestamp: 2, isReplaying: false, historyLength: 5, jobs: [{ kind: 'FireTimer', seq: 1 }] });
console.log(JSON.stringify({ first, second, warnings }));
