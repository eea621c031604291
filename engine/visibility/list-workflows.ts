/**
 * `listWorkflows` and `countWorkflows`: runs of the namespace matching a list filter
 * (docs/visibility.md), newest first by default, paged by keyset so that a page costs the
 * same however deep it is and runs started meanwhile neither shift nor repeat rows.
 */
import { createHash } from 'node:crypto';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../db/database.js';
import type { ListWorkflowsPage, ListWorkflowsRequest } from '../engine.js';
import { executionInfo, type ExecutionInfoRow } from '../executions.js';
import { InvalidArgumentError } from '../errors.js';
import { getSearchAttributeTypes, type SearchAttributeType } from '../search-attributes.js';
import { compileListFilter, ORDER_FIELDS, type CompiledFilter } from './filter-sql.js';
import { parseListFilter } from './list-filter.js';

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

async function compile(db: Kysely<Database>, namespace: string, query: string | undefined): Promise<CompiledFilter> {
  const parsed = parseListFilter(query ?? '');
  // Only a filter that names a field needs the declared types.
  const types = parsed.where ? await getSearchAttributeTypes(db, namespace) : new Map<string, SearchAttributeType>();
  return compileListFilter(parsed, types);
}

interface PageToken {
  readonly v: 1;
  /** Fingerprint of the namespace and filter the token belongs to. */
  readonly f: string;
  /** The last row's sort key: an RFC 3339 UTC time with microseconds, or 'infinity'. */
  readonly k: string;
  /** The last row's run id (tie-breaker). */
  readonly r: string;
}

function fingerprint(namespace: string, query: string): string {
  return createHash('sha256').update(`${namespace}\u0000${query}`).digest('base64url').slice(0, 16);
}

function encodeToken(t: PageToken): string {
  return Buffer.from(JSON.stringify(t)).toString('base64url');
}

function decodeToken(token: string, expectedFingerprint: string): PageToken {
  const bad = (why: string): never => {
    throw new InvalidArgumentError('nextPageToken', `${why}; pass back the nextPageToken of the previous page exactly as returned, with the same query`);
  };
  if (typeof token !== 'string' || token.length > 500) return bad('is not a listWorkflows page token');
  let t: Partial<PageToken>;
  try {
    t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<PageToken>;
  } catch {
    return bad('is not a listWorkflows page token');
  }
  if (
    t?.v !== 1 ||
    typeof t.f !== 'string' ||
    typeof t.k !== 'string' ||
    !(t.k === 'infinity' || /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/.test(t.k)) ||
    typeof t.r !== 'string' ||
    !/^[0-9a-f-]{36}$/.test(t.r)
  ) {
    return bad('is not a listWorkflows page token');
  }
  if (t.f !== expectedFingerprint) return bad('belongs to a listing with another query');
  return t as PageToken;
}

interface ListRow extends ExecutionInfoRow {
  sort_key: string;
}

/** Runs matching `req.query`, one page, in the filter's order (default StartTime DESC). */
export async function listWorkflows(db: Kysely<Database>, namespace: string, req: ListWorkflowsRequest = {}): Promise<ListWorkflowsPage> {
  const pageSize = req.pageSize ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
    throw new InvalidArgumentError('pageSize', `must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${String(pageSize)}`);
  }
  const query = req.query ?? '';
  const compiled = await compile(db, namespace, query);
  const fp = fingerprint(namespace, query);
  const after = req.nextPageToken !== undefined && req.nextPageToken !== '' ? decodeToken(req.nextPageToken, fp) : undefined;

  const key = ORDER_FIELDS[compiled.orderBy.field];
  const desc = compiled.orderBy.direction === 'DESC';
  // The run id breaks ties in the direction opposite to the time, so that the default
  // (started_at DESC, run_id ASC) walks executions_list (namespace, started_at DESC, run_id)
  // forward and ASC walks it backward. The keyset condition repeats the bound as a plain
  // range (key <= k) so the index can start there rather than filter from the top.
  let keyset: RawBuilder<unknown> = sql`true`;
  if (after) {
    keyset = desc
      ? sql`${key} <= ${after.k}::timestamptz AND (${key} < ${after.k}::timestamptz OR run_id > ${after.r}::uuid)`
      : sql`${key} >= ${after.k}::timestamptz AND (${key} > ${after.k}::timestamptz OR run_id < ${after.r}::uuid)`;
  }
  const order = desc ? sql`${key} DESC, run_id ASC` : sql`${key} ASC, run_id DESC`;
  const { rows } = await sql<ListRow>`
    SELECT run_id, namespace, workflow_id, workflow_type, task_queue, status, started_at, closed_at, next_event_id,
           history_size_bytes, search_attributes, memo, parent_workflow_id, parent_run_id, first_execution_run_id,
           CASE WHEN isfinite(${key}) THEN to_char(${key} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') ELSE 'infinity' END AS sort_key
    FROM chronicle.executions
    WHERE namespace = ${namespace} AND ${compiled.where ?? sql`true`} AND ${keyset}
    ORDER BY ${order}
    LIMIT ${pageSize + 1}`.execute(db);
  const more = rows.length > pageSize;
  if (more) rows.pop();
  const last = rows[rows.length - 1];
  return {
    executions: rows.map(executionInfo),
    ...(more && last ? { nextPageToken: encodeToken({ v: 1, f: fp, k: last.sort_key, r: last.run_id }) } : {}),
  };
}

/** How many runs match `query` (its ORDER BY, if any, is ignored). */
export async function countWorkflows(db: Kysely<Database>, namespace: string, query?: string): Promise<number> {
  const compiled = await compile(db, namespace, query);
  const { rows } = await sql<{ n: string }>`
    SELECT count(*) AS n FROM chronicle.executions WHERE namespace = ${namespace} AND ${compiled.where ?? sql`true`}`.execute(db);
  return Number(rows[0]!.n);
}
