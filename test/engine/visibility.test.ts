import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { PgEngine } from '../../engine/pg-engine.js';
import { InvalidArgumentError } from '../../engine/errors.js';
import { addSearchAttributes } from '../../engine/search-attributes.js';
import type { WorkflowCommand } from '../../engine/protocol/index.js';
import type { WorkflowExecutionInfo } from '../../engine/engine.js';
import { compileListFilter } from '../../engine/visibility/filter-sql.js';
import { ListFilterError, parseListFilter } from '../../engine/visibility/list-filter.js';
import { getSearchAttributeTypes } from '../../engine/search-attributes.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

let t: TestDatabase;
let engine: PgEngine;
const identity = 'test-worker';
const quietLog = { debug() {}, info() {}, warn() {}, error: (m: string, meta?: unknown) => console.error(m, meta) };

/** The fixture runs by name → run id. */
const runs: Record<string, string> = {};
const BULK = 25;

async function closeWith(workflowId: string, taskQueue: string, command: WorkflowCommand) {
  const [task] = await engine.pollWorkflowTasks({ taskQueue, maxTasks: 1, identity, waitMs: 5000 });
  await engine.completeWorkflowTask(task!.taskToken, { commands: [command], workflowTime: task!.startedAt, identity });
  expect((await engine.describeWorkflow({ workflowId })).status).not.toBe('RUNNING');
}

async function setTimes(runId: string, startedAt: string, closedAt?: string) {
  await sql`UPDATE chronicle.executions SET started_at = ${startedAt}::timestamptz, closed_at = ${closedAt ?? null}::timestamptz WHERE run_id = ${runId}`.execute(t.db);
}

beforeAll(async () => {
  t = await createTestDatabase();
  engine = await PgEngine.connect({ databaseUrl: t.url, migrate: false, pollIntervalMs: 200, logger: quietLog });
  await addSearchAttributes(t.db, 'default', { Tags: 'KeywordList', Region: 'Keyword' });

  const start = async (name: string, workflowType: string, searchAttributes: Record<string, unknown[]> = {}) => {
    const { runId } = await engine.startWorkflow({ workflowId: name, workflowType, taskQueue: `vis-${name}`, searchAttributes: searchAttributes as never });
    runs[name] = runId;
    return runId;
  };
  // r1: completed order, January.
  await start('r1', 'order', { CustomKeywordField: ['c-1'], CustomIntField: [5], Tags: ['vip', 'eu'], Region: ['eu-west'] });
  await closeWith('r1', 'vis-r1', { kind: 'CompleteWorkflow', result: 'done' });
  await setTimes(runs.r1!, '2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z');
  // r2: running order, February.
  await start('r2', 'order', { CustomKeywordField: ['c-2'], CustomIntField: [10], CustomTextField: ['Hello World, big Order'] });
  await setTimes(runs.r2!, '2024-02-01T00:00:00Z');
  // r3: failed refund, March.
  await start('r3', 'refund', { CustomDoubleField: [1.5], CustomBoolField: [true], CustomDatetimeField: ['2024-03-05T10:00:00Z'] });
  await closeWith('r3', 'vis-r3', { kind: 'FailWorkflow', failure: { failureType: 'application', message: 'boom' } });
  await setTimes(runs.r3!, '2024-03-01T00:00:00Z', '2024-03-10T00:00:00Z');
  // r4: terminated refund, April.
  await start('r4', 'refund');
  await engine.terminateWorkflow({ workflowId: 'r4' });
  await setTimes(runs.r4!, '2024-04-01T00:00:00Z', '2024-04-02T00:00:00Z');
  // r5: running order, May.
  await start('r5', 'order', { Tags: ['us'], CustomBoolField: [false], CustomDoubleField: [-2] });
  await setTimes(runs.r5!, '2024-05-01T00:00:00Z');
  // bulk: many runs with one start time (ties), June.
  for (let i = 0; i < BULK; i++) await start(`bulk-${String(i).padStart(2, '0')}`, 'bulk');
  await sql`UPDATE chronicle.executions SET started_at = '2024-06-01T00:00:00Z' WHERE workflow_type = 'bulk'`.execute(t.db);
});
afterAll(async ({}, suite) => {
  await engine?.close();
  await t?.drop(suite);
});

const ids = (page: { executions: readonly WorkflowExecutionInfo[] }) => page.executions.map((e) => e.workflowId);
async function list(query: string): Promise<string[]> {
  return ids(await engine.listWorkflows({ query, pageSize: 1000 }));
}
async function listAndCount(query: string): Promise<string[]> {
  const found = await list(query);
  expect(await engine.countWorkflows(query)).toBe(found.length);
  return found;
}
const nonBulk = (xs: string[]) => xs.filter((x) => !x.startsWith('bulk-'));

describe('listWorkflows', () => {
  it('lists every run of the namespace newest first, as WorkflowExecutionInfo', async () => {
    const page = await engine.listWorkflows({ pageSize: 1000 });
    expect(nonBulk(ids(page))).toEqual(['r5', 'r4', 'r3', 'r2', 'r1']);
    expect(page.executions).toHaveLength(BULK + 5);
    expect(page.nextPageToken).toBeUndefined();
    const r1 = page.executions.find((e) => e.workflowId === 'r1')!;
    expect(r1).toMatchObject({
      namespace: 'default',
      runId: runs.r1,
      workflowType: 'order',
      taskQueue: 'vis-r1',
      status: 'COMPLETED',
      startTime: Date.parse('2024-01-01T00:00:00Z'),
      closeTime: Date.parse('2024-01-02T00:00:00Z'),
      historyLength: 3,
      searchAttributes: { CustomKeywordField: ['c-1'], CustomIntField: [5], Tags: ['vip', 'eu'], Region: ['eu-west'] },
    });
    expect(r1.historySizeBytes).toBeGreaterThan(0);
    expect(page.executions.find((e) => e.workflowId === 'r2')!.closeTime).toBeUndefined();
    expect(await engine.countWorkflows()).toBe(BULK + 5);
    expect(await engine.countWorkflows('')).toBe(BULK + 5);
  });

  it('filters by status, in Temporal or Chronicle spelling', async () => {
    expect(nonBulk(await listAndCount("ExecutionStatus = 'Running'"))).toEqual(['r5', 'r2']);
    expect(await listAndCount("ExecutionStatus = 'COMPLETED'")).toEqual(['r1']);
    expect(await listAndCount("ExecutionStatus IN ('Failed', 'Terminated')")).toEqual(['r4', 'r3']);
    expect(await listAndCount("ExecutionStatus != 'Running'")).toEqual(['r4', 'r3', 'r1']);
    expect(await listAndCount("ExecutionStatus = 'Canceled'")).toEqual([]);
  });

  it('filters by type, id, queue and run id', async () => {
    expect(await listAndCount("WorkflowType = 'refund'")).toEqual(['r4', 'r3']);
    expect(await listAndCount("WorkflowType = 'order' AND ExecutionStatus = 'Running'")).toEqual(['r5', 'r2']);
    expect(await listAndCount("WorkflowId = 'r3' OR TaskQueue = 'vis-r1'")).toEqual(['r3', 'r1']);
    expect(await listAndCount("WorkflowId STARTS_WITH 'bulk-0'")).toHaveLength(10);
    expect(await listAndCount(`RunId = '${runs.r2!.toUpperCase()}'`)).toEqual(['r2']);
    expect(await listAndCount(`RunId IN ('${runs.r1}', '${runs.r4}')`)).toEqual(['r4', 'r1']);
    expect(await listAndCount("WorkflowId IN ('r1', 'nope') AND NOT WorkflowType = 'refund'")).toEqual(['r1']);
  });

  it('filters by start and close time', async () => {
    expect(await listAndCount("StartTime >= '2024-02-01' AND StartTime < '2024-04-01T00:00:00Z'")).toEqual(['r3', 'r2']);
    expect(await listAndCount("StartTime BETWEEN '2024-01-01T00:00:00Z' AND '2024-02-01T00:00:00+00:00'")).toEqual(['r2', 'r1']);
    expect(await listAndCount("StartTime NOT BETWEEN '2024-01-15' AND '2024-12-31' ")).toEqual(['r1']);
    expect(await listAndCount("StartTime > '2024-02-01T01:00:00+02:00' AND StartTime < '2024-03-01'")).toEqual(['r2']);
    expect(await listAndCount("CloseTime < '2024-03-15'")).toEqual(['r3', 'r1']);
    // Open runs have no CloseTime: a comparison is false, NOT of it true.
    expect(nonBulk(await listAndCount("NOT CloseTime < '2024-03-15'"))).toEqual(['r5', 'r4', 'r2']);
    expect(nonBulk(await listAndCount('CloseTime IS NULL'))).toEqual(['r5', 'r2']);
    expect(await listAndCount('CloseTime IS NOT NULL')).toEqual(['r4', 'r3', 'r1']);
    expect(await listAndCount('HistoryLength >= 3 AND HistorySizeBytes > 0')).toEqual(['r3', 'r1']);
    expect(await listAndCount('HistoryLength = 2')).toEqual(['r4']);
    expect(await listAndCount('ParentWorkflowId IS NOT NULL')).toEqual([]);
  });

  it('filters by Keyword, KeywordList, Int, Double, Bool, Datetime and Text search attributes', async () => {
    expect(await listAndCount("CustomKeywordField = 'c-1'")).toEqual(['r1']);
    expect(await listAndCount("CustomKeywordField IN ('c-1', 'c-2')")).toEqual(['r2', 'r1']);
    expect(await listAndCount("CustomKeywordField != 'c-1'")).toEqual(['r2']);
    expect(nonBulk(await listAndCount("NOT CustomKeywordField = 'c-1'"))).toEqual(['r5', 'r4', 'r3', 'r2']);
    expect(await listAndCount("CustomKeywordField NOT IN ('c-2')")).toEqual(['r1']);
    expect(await listAndCount("CustomKeywordField STARTS_WITH 'c-'")).toEqual(['r2', 'r1']);
    expect(await listAndCount("CustomKeywordField > 'c-1'")).toEqual(['r2']);
    expect(await listAndCount('CustomKeywordField IS NOT NULL')).toEqual(['r2', 'r1']);
    expect(nonBulk(await listAndCount('CustomKeywordField IS NULL'))).toEqual(['r5', 'r4', 'r3']);

    expect(await listAndCount("Tags = 'vip'")).toEqual(['r1']);
    expect(await listAndCount("Tags = 'eu'")).toEqual(['r1']);
    expect(await listAndCount("Tags IN ('eu', 'us')")).toEqual(['r5', 'r1']);
    expect(await listAndCount("Tags STARTS_WITH 'v'")).toEqual(['r1']);
    expect(await listAndCount("Tags != 'us'")).toEqual(['r1']);
    expect(await listAndCount("Region = 'eu-west'")).toEqual(['r1']);

    expect(await listAndCount('CustomIntField = 5')).toEqual(['r1']);
    expect(await listAndCount('CustomIntField = 5.0')).toEqual(['r1']);
  });

  it('filters numbers, booleans, times and text by their types', async () => {
    expect(await listAndCount('CustomIntField > 5')).toEqual(['r2']);
    expect(await listAndCount('CustomIntField BETWEEN 1 AND 10')).toEqual(['r2', 'r1']);
    expect(await listAndCount('CustomIntField IN (5, 7)')).toEqual(['r1']);
    expect(await listAndCount('CustomDoubleField = 1.5')).toEqual(['r3']);
    expect(await listAndCount('CustomDoubleField < 0')).toEqual(['r5']);
    expect(await listAndCount('CustomDoubleField >= -2')).toEqual(['r5', 'r3']);
    expect(await listAndCount('CustomBoolField = true')).toEqual(['r3']);
    expect(await listAndCount('CustomBoolField != true')).toEqual(['r5']);
    expect(await listAndCount("CustomDatetimeField > '2024-03-05T09:00:00Z'")).toEqual(['r3']);
    expect(await listAndCount("CustomDatetimeField = '2024-03-05T12:00:00+02:00'")).toEqual(['r3']);
    expect(await listAndCount("CustomDatetimeField < '2024-03-05'")).toEqual([]);
    expect(await listAndCount("CustomTextField = 'world'")).toEqual(['r2']);
    expect(await listAndCount("CustomTextField = 'BIG order'")).toEqual(['r2']);
    expect(await listAndCount("CustomTextField = 'w_rld'")).toEqual([]);
    expect(await listAndCount("CustomTextField != 'nothing'")).toEqual(['r2']);
  });

  it('combines with AND, OR, NOT and parentheses', async () => {
    expect(await listAndCount("(WorkflowType = 'refund' OR CustomIntField > 5) AND CloseTime IS NOT NULL")).toEqual(['r4', 'r3']);
    expect(await listAndCount("WorkflowType = 'refund' OR CustomIntField > 5 AND CloseTime IS NOT NULL")).toEqual(['r4', 'r3']);
    expect(await listAndCount("NOT (WorkflowType = 'bulk' OR WorkflowType = 'refund')")).toEqual(['r5', 'r2', 'r1']);
  });

  it('serves = on a search attribute from the GIN index', async () => {
    const compiled = compileListFilter(parseListFilter("CustomKeywordField = 'c-1'"), await getSearchAttributeTypes(t.db, 'default'));
    const plan = await t.db.connection().execute(async (conn) => {
      // A tiny table is scanned whole by preference; forbid that (and plain index scans, which
      // GIN has not) to see whether the planner can use an index for the condition at all.
      await sql`SET enable_seqscan = off`.execute(conn);
      await sql`SET enable_indexscan = off`.execute(conn);
      const { rows } = await sql<{ 'QUERY PLAN': string }>`EXPLAIN SELECT run_id FROM chronicle.executions WHERE ${compiled.where!}`.execute(conn);
      await sql`RESET enable_seqscan`.execute(conn);
      await sql`RESET enable_indexscan`.execute(conn);
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    });
    expect(plan).toContain("executions_search_attributes");
  });

  it('orders by StartTime or CloseTime, ascending or descending', async () => {
    expect(nonBulk(await list('ORDER BY StartTime ASC'))).toEqual(['r1', 'r2', 'r3', 'r4', 'r5']);
    expect(nonBulk(await list("WorkflowType != 'bulk' ORDER BY StartTime"))).toEqual(['r1', 'r2', 'r3', 'r4', 'r5']);
    // Open runs sort as if closing at +infinity: first when descending, last when ascending;
    // among themselves (a tie) by run id, opposite to the time direction.
    const open = [runs.r2!, runs.r5!].sort();
    const name = (runId: string) => (runId === runs.r2 ? 'r2' : 'r5');
    expect(await list("WorkflowType != 'bulk' ORDER BY CloseTime DESC")).toEqual([name(open[0]!), name(open[1]!), 'r4', 'r3', 'r1']);
    expect(await list("WorkflowType != 'bulk' ORDER BY CloseTime ASC")).toEqual(['r1', 'r3', 'r4', name(open[1]!), name(open[0]!)]);
  });

  it('pages with an opaque token: no run twice, none missed, ties broken by run id', async () => {
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await engine.listWorkflows({ query: "WorkflowType = 'bulk'", pageSize: 10, ...(token ? { nextPageToken: token } : {}) });
      seen.push(...ids(page));
      token = page.nextPageToken;
      pages++;
      expect(page.executions.length).toBeLessThanOrEqual(10);
    } while (token);
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(BULK);
    // Same start time: ascending run id.
    const runIdsInOrder = seen.map((id) => runs[id]!);
    expect(runIdsInOrder).toEqual([...runIdsInOrder].sort());
  });

  it('pages across every order, including the open runs of a CloseTime order', async () => {
    for (const query of ['', 'ORDER BY StartTime ASC', 'ORDER BY CloseTime DESC', 'ORDER BY CloseTime ASC']) {
      const all = await list(query);
      const seen: string[] = [];
      let token: string | undefined;
      do {
        const page = await engine.listWorkflows({ query, pageSize: 4, ...(token ? { nextPageToken: token } : {}) });
        seen.push(...ids(page));
        token = page.nextPageToken;
      } while (token);
      expect(seen).toEqual(all);
    }
  });

  it('does not end a listing early when the last page is exactly full', async () => {
    const page = await engine.listWorkflows({ query: "WorkflowType = 'refund'", pageSize: 2 });
    expect(ids(page)).toEqual(['r4', 'r3']);
    expect(page.nextPageToken).toBeUndefined();
  });

  it('refuses a token from another query, a damaged token and a bad page size', async () => {
    const first = await engine.listWorkflows({ query: "WorkflowType = 'bulk'", pageSize: 5 });
    const other = await engine.listWorkflows({ query: "WorkflowType = 'order'", nextPageToken: first.nextPageToken! }).catch((e: unknown) => e);
    expect(other).toBeInstanceOf(InvalidArgumentError);
    expect(other).toMatchObject({ field: 'nextPageToken' });
    expect((other as Error).message).toMatch(/belongs to a listing with another query/);
    await expect(engine.listWorkflows({ nextPageToken: 'garbage' })).rejects.toMatchObject({ field: 'nextPageToken' });
    const forged = Buffer.from(JSON.stringify({ v: 1, f: 'x', k: "'; DROP", r: 'y' })).toString('base64url');
    await expect(engine.listWorkflows({ nextPageToken: forged })).rejects.toMatchObject({ field: 'nextPageToken' });
    await expect(engine.listWorkflows({ pageSize: 0 })).rejects.toMatchObject({ field: 'pageSize' });
    await expect(engine.listWorkflows({ pageSize: 1001 })).rejects.toMatchObject({ field: 'pageSize' });
    await expect(engine.listWorkflows({ pageSize: 1.5 })).rejects.toMatchObject({ field: 'pageSize' });
  });

  it('refuses bad filters with the position and the fix, and changes nothing', async () => {
    const before = await engine.countWorkflows();
    const cases: Array<[string, RegExp]> = [
      ["WorkflowType = 'order' AND", /unexpected end of the filter at position 27/],
      ["Customer = 'c-1'", /unknown field 'Customer' at position 1\..*declared search attributes: .*Region \(Keyword\).*Tags \(KeywordList\)/],
      ["executionstatus = 'Running'", /did you mean 'ExecutionStatus'/],
      ['CustomIntField = 5.5', /CustomIntField \(Int\) needs an integer/],
      ["ExecutionStatus = 'Done'", /needs one of 'Running', 'Completed'/],
      ["StartTime > 'last week'", /needs an RFC 3339 time/],
      ["Tags > 'a'", /operator > cannot be used with search attribute Tags \(KeywordList\)/],
      ["WorkflowId = 'x'; DELETE FROM chronicle.executions", /unexpected character ';' at position 17/],
    ];
    for (const [query, message] of cases) {
      for (const call of [() => engine.listWorkflows({ query }), () => engine.countWorkflows(query)]) {
        const err = await call().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ListFilterError);
        expect(err).toMatchObject({ code: 'CHR_INVALID_ARGUMENT', field: 'query' });
        expect((err as Error).message).toMatch(message);
      }
    }
    expect(await engine.countWorkflows()).toBe(before);
  });

  it('sees only its own namespace', async () => {
    const other = await PgEngine.connect({ databaseUrl: t.url, migrate: false, namespace: 'elsewhere', logger: quietLog });
    try {
      await other.startWorkflow({ workflowId: 'r1', workflowType: 'order', taskQueue: 'q' });
      expect(ids(await other.listWorkflows())).toEqual(['r1']);
      expect(await other.countWorkflows("WorkflowId = 'r1'")).toBe(1);
      expect(await engine.countWorkflows("WorkflowId = 'r1'")).toBe(1);
      // The predeclared attributes belong to namespace 'default' only.
      await expect(other.countWorkflows("CustomKeywordField = 'x'")).rejects.toThrow(/declared search attributes: none/);
    } finally {
      await other.close();
    }
  });
});
