/**
 * The compiler's SQL and parameters, checked without a database (kysely's DummyDriver);
 * test/engine/visibility.test.ts runs the same shapes against PostgreSQL.
 */
import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from 'kysely';
import { describe, expect, it } from 'vitest';
import { compileListFilter, escapeLike, type SearchAttributeType } from './filter-sql.js';
import { ListFilterError, parseListFilter } from './list-filter.js';

const db = new Kysely<unknown>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (k) => new PostgresIntrospector(k),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

const TYPES = new Map<string, SearchAttributeType>([
  ['CustomKeywordField', 'Keyword'],
  ['CustomTextField', 'Text'],
  ['CustomIntField', 'Int'],
  ['CustomDoubleField', 'Double'],
  ['CustomBoolField', 'Bool'],
  ['CustomDatetimeField', 'Datetime'],
  ['Tags', 'KeywordList'],
]);

function compile(q: string) {
  const c = compileListFilter(parseListFilter(q), TYPES);
  const compiled = c.where?.compile(db);
  return { sql: compiled?.sql, params: compiled?.parameters, orderBy: c.orderBy };
}

function compileError(q: string): ListFilterError {
  try {
    compile(q);
  } catch (err) {
    expect(err).toBeInstanceOf(ListFilterError);
    expect((err as ListFilterError).field).toBe('query');
    return err as ListFilterError;
  }
  throw new Error(`expected '${q}' not to compile`);
}

describe('compileListFilter: SQL', () => {
  it('compiles system fields to their columns with bound, typed parameters', () => {
    expect(compile("WorkflowType = 'order' AND ExecutionStatus = 'Running'")).toEqual({
      sql: '((workflow_type = $1::text) AND (status = $2::text))',
      params: ['order', 'RUNNING'],
      orderBy: { field: 'StartTime', direction: 'DESC' },
    });
    expect(compile("WorkflowId != 'a'").sql).toBe('(workflow_id <> $1::text)');
    expect(compile("TaskQueue IN ('a', 'b')")).toMatchObject({ sql: '(task_queue IN ($1::text, $2::text))', params: ['a', 'b'] });
    expect(compile('HistoryLength >= 10').sql).toBe('((next_event_id - 1) >= $1::numeric)');
    expect(compile('HistorySizeBytes BETWEEN 1 AND 1000').sql).toBe('(history_size_bytes BETWEEN $1::numeric AND $2::numeric)');
    expect(compile("StartTime > '2024-05-01T12:00:00Z'")).toMatchObject({ sql: '(started_at > $1::timestamptz)', params: ['2024-05-01T12:00:00Z'] });
    expect(compile("WorkflowId STARTS_WITH 'ord%'")).toMatchObject({ sql: 'starts_with(workflow_id::text, $1)', params: ['ord%'] });
  });

  it('never splices a value into the SQL text', () => {
    const evil = "x'); DROP TABLE chronicle.executions; --";
    const { sql, params } = compile(`WorkflowId = '${evil.replace(/'/g, "''")}' OR CustomKeywordField = '${evil.replace(/'/g, "''")}'`);
    expect(sql).not.toContain('DROP');
    expect(params).toEqual([evil, JSON.stringify({ CustomKeywordField: [evil] })]);
  });

  it('reads NULL of nullable columns as false, so that NOT is the plain complement', () => {
    expect(compile("CloseTime > '2024-01-01'").sql).toBe('COALESCE(closed_at > $1::timestamptz, false)');
    expect(compile("ParentWorkflowId != 'p'").sql).toBe('COALESCE(parent_workflow_id <> $1::text, false)');
    expect(compile("NOT CloseTime < '2024-01-01'").sql).toBe('(NOT COALESCE(closed_at < $1::timestamptz, false))');
    expect(compile('CloseTime IS NULL').sql).toBe('(closed_at IS NULL)');
    expect(compile('ParentRunId IS NOT NULL').sql).toBe('(parent_run_id IS NOT NULL)');
  });

  it('compiles = on Keyword, KeywordList, Int, Double and Bool attributes to GIN-indexed containment', () => {
    expect(compile("CustomKeywordField = 'c-1'")).toMatchObject({
      sql: '(search_attributes @> $1::jsonb)',
      params: ['{"CustomKeywordField":["c-1"]}'],
    });
    expect(compile("Tags = 'vip'").params).toEqual(['{"Tags":["vip"]}']);
    expect(compile('CustomIntField = 5').params).toEqual(['{"CustomIntField":[5]}']);
    expect(compile('CustomDoubleField = 1.5').params).toEqual(['{"CustomDoubleField":[1.5]}']);
    expect(compile('CustomBoolField = true').params).toEqual(['{"CustomBoolField":[true]}']);
    expect(compile("CustomBoolField = 'FALSE'").params).toEqual(['{"CustomBoolField":[false]}']);
  });

  it('requires the attribute to be present for !=, and ORs containments for IN', () => {
    expect(compile("CustomKeywordField != 'a'").sql).toBe('((search_attributes ? $1::text) AND NOT (search_attributes @> $2::jsonb))');
    expect(compile("Tags IN ('a', 'b')").sql).toBe('((search_attributes @> $1::jsonb) OR (search_attributes @> $2::jsonb))');
    expect(compile("Tags NOT IN ('a')").sql).toBe('((search_attributes ? $1::text) AND NOT ((search_attributes @> $2::jsonb)))');
  });

  it('compares ranges element-wise with guarded casts', () => {
    const { sql, params } = compile('CustomIntField > 3');
    expect(sql).toContain("jsonb_array_elements(CASE WHEN jsonb_typeof(search_attributes -> $1::text) = 'array'");
    expect(sql).toContain("(CASE WHEN jsonb_typeof(v) = 'number' THEN (v #>> '{}')::numeric END) > $3::numeric");
    expect(params).toEqual(['CustomIntField', 'CustomIntField', 3]);
    expect(compile("CustomDatetimeField <= '2024-01-01'").sql).toContain("THEN (v #>> '{}')::timestamptz END) <= $3::timestamptz");
    expect(compile("CustomDatetimeField = '2024-01-01T00:00:00+01:00'").params).toEqual([
      'CustomDatetimeField',
      'CustomDatetimeField',
      '2024-01-01T00:00:00+01:00',
    ]);
    expect(compile("CustomKeywordField BETWEEN 'a' AND 'm'").sql).toContain("THEN v #>> '{}' END) BETWEEN $3::text AND $4::text");
  });

  it('matches Text attributes by case-insensitive substring, wildcards escaped', () => {
    const { sql, params } = compile("CustomTextField = '50%_off'");
    expect(sql).toContain('ILIKE $3');
    expect(params![2]).toBe('%50\\%\\_off%');
    expect(escapeLike('a\\b%c_d')).toBe('a\\\\b\\%c\\_d');
  });

  it('compiles STARTS_WITH on a KeywordList to any element, and IS NULL to key presence', () => {
    expect(compile("Tags STARTS_WITH 'v'").sql).toContain("starts_with((CASE WHEN jsonb_typeof(v) = 'string' THEN v #>> '{}' END), $3)");
    expect(compile('CustomKeywordField IS NULL').sql).toBe('(NOT (search_attributes ? $1::text))');
    expect(compile('CustomKeywordField IS NOT NULL').sql).toBe('(search_attributes ? $1::text)');
  });

  it('accepts every spelling of each status', () => {
    const statuses: Array<[string, string]> = [
      ['Running', 'RUNNING'],
      ['RUNNING', 'RUNNING'],
      ['Completed', 'COMPLETED'],
      ['Failed', 'FAILED'],
      ['Canceled', 'CANCELLED'],
      ['Cancelled', 'CANCELLED'],
      ['CANCELLED', 'CANCELLED'],
      ['Terminated', 'TERMINATED'],
      ['ContinuedAsNew', 'CONTINUED_AS_NEW'],
      ['CONTINUED_AS_NEW', 'CONTINUED_AS_NEW'],
      ['TimedOut', 'TIMED_OUT'],
      ['timed_out', 'TIMED_OUT'],
    ];
    for (const [given, stored] of statuses) expect(compile(`ExecutionStatus = '${given}'`).params).toEqual([stored]);
  });

  it('normalizes times: a date is midnight UTC; zones without a colon get one; sub-millisecond digits are kept', () => {
    expect(compile("StartTime > '2024-05-01'").params).toEqual(['2024-05-01T00:00:00Z']);
    expect(compile("StartTime > '2024-05-01 12:30+0200'").params).toEqual(['2024-05-01T12:30+02:00']);
    expect(compile("StartTime > '2024-05-01T12:30:00.123456z'").params).toEqual(['2024-05-01T12:30:00.123456Z']);
    expect(compile("StartTime > '2024-05-01T12:30:00-05'").params).toEqual(['2024-05-01T12:30:00-05:00']);
  });

  it('orders by StartTime DESC unless told otherwise', () => {
    expect(compile('').orderBy).toEqual({ field: 'StartTime', direction: 'DESC' });
    expect(compile('ORDER BY StartTime').orderBy).toEqual({ field: 'StartTime', direction: 'ASC' });
    expect(compile("WorkflowId = 'a' ORDER BY CloseTime DESC").orderBy).toEqual({ field: 'CloseTime', direction: 'DESC' });
    expect(compile('').sql).toBeUndefined();
  });

  it('lowercases run ids so that any spelling matches', () => {
    expect(compile("RunId = '0B0E7A36-2F1C-4C1A-9A57-3F4F3C1E2D10'")).toMatchObject({
      sql: '(run_id = $1::uuid)',
      params: ['0b0e7a36-2f1c-4c1a-9a57-3f4f3c1e2d10'],
    });
    expect(compile("RunId STARTS_WITH '0b0e'").sql).toBe('starts_with(run_id::text, $1)');
  });
});

describe('compileListFilter: errors name the field, the value and the fix', () => {
  const cases: Array<[string, number, RegExp]> = [
    ["Foo = 'x'", 1, /unknown field 'Foo' at position 1\. Fields: WorkflowId, RunId, .*; declared search attributes: .*CustomIntField \(Int\).*must be declared/],
    ["workflowtype = 'x'", 1, /unknown field 'workflowtype' at position 1; did you mean 'WorkflowType'\? Field names are case-sensitive/],
    ['customintfield = 1', 1, /did you mean 'CustomIntField'/],
    ['WorkflowId = 5', 14, /WorkflowId \(a Keyword\) needs a quoted string \('5'\), got 5 at position 14/],
    ["CustomIntField = '5'", 18, /search attribute CustomIntField \(Int\) needs an integer, without quotes, got '5' at position 18/],
    ['CustomIntField = 1.5', 18, /needs an integer/],
    ["CustomDoubleField > 'x'", 21, /CustomDoubleField \(Double\) needs a number, without quotes/],
    ['CustomBoolField = 1', 19, /needs true or false, got 1/],
    ["ExecutionStatus = 'Runing'", 19, /needs one of 'Running', 'Completed', 'Failed', 'Canceled', 'Terminated', 'ContinuedAsNew', 'TimedOut', got 'Runing'/],
    ["StartTime > 'yesterday'", 13, /StartTime \(a Datetime\) needs an RFC 3339 time with a zone/],
    ["StartTime > '2024-05-01T12:00:00'", 13, /needs an RFC 3339 time with a zone/],
    ["StartTime > '2024-13-01'", 13, /needs an RFC 3339 time/],
    ['StartTime > 1714564800', 13, /needs a quoted RFC 3339 time/],
    ["RunId = 'abc'", 9, /RunId \(a run id\) needs a run id \(a UUID/],
    ["ExecutionStatus > 'Running'", 1, /operator < , <=|operator > cannot be used with ExecutionStatus \(the run status\) \(position 1\); it supports =, !=, IN, NOT IN, IS NULL, IS NOT NULL/],
    ["CustomTextField STARTS_WITH 'a'", 1, /operator STARTS_WITH cannot be used with search attribute CustomTextField \(Text\) \(position 1\); it supports =, !=, IS NULL/],
    ["Tags > 'a'", 1, /operator > cannot be used with search attribute Tags \(KeywordList\)/],
    ['CustomBoolField IN (true)', 1, /operator IN cannot be used with search attribute CustomBoolField \(Bool\)/],
    ['HistoryLength STARTS_WITH 1', 1, /operator STARTS_WITH cannot be used with HistoryLength \(a Int\)/],
    ["RunId BETWEEN 'a' AND 'b'", 1, /operator BETWEEN cannot be used with RunId/],
    ['ORDER BY WorkflowId', 10, /cannot order by 'WorkflowId' \(position 10\); ORDER BY takes StartTime or CloseTime/],
    ['ORDER BY CustomIntField', 10, /cannot order by 'CustomIntField'/],
    ["WorkflowId = 'a' AND (Nope = 1 OR WorkflowId = 'b')", 23, /unknown field 'Nope' at position 23/],
  ];
  it.each(cases)('%s', (q, position, message) => {
    const err = compileError(q);
    expect(err.message).toMatch(message);
    expect(err.position).toBe(position);
  });

  it('says when no search attribute is declared at all', () => {
    expect(() => compileListFilter(parseListFilter("Foo = 'x'"), new Map())).toThrow(/declared search attributes: none/);
  });
});
