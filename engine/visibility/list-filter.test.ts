import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import { ListFilterError, MAX_FILTER_DEPTH, MAX_FILTER_LENGTH, parseListFilter, type FilterNode, type Literal } from './list-filter.js';

/** A compact rendering of the AST, so expectations stay readable. */
function show(n: FilterNode | undefined): string {
  if (!n) return '∅';
  const lit = (l: Literal) => (l.kind === 'string' ? JSON.stringify(l.value) : String(l.value));
  switch (n.kind) {
    case 'And':
      return `(${show(n.left)} AND ${show(n.right)})`;
    case 'Or':
      return `(${show(n.left)} OR ${show(n.right)})`;
    case 'Not':
      return `NOT ${show(n.operand)}`;
    case 'Compare':
      return `${n.field.name} ${n.op} ${lit(n.value)}`;
    case 'In':
      return `${n.field.name} ${n.negated ? 'NOT IN' : 'IN'} [${n.values.map(lit).join(', ')}]`;
    case 'Between':
      return `${n.field.name} ${n.negated ? 'NOT BETWEEN' : 'BETWEEN'} ${lit(n.low)}..${lit(n.high)}`;
    case 'StartsWith':
      return `${n.field.name} STARTS_WITH ${lit(n.prefix)}`;
    case 'IsNull':
      return `${n.field.name} IS ${n.negated ? 'NOT ' : ''}NULL`;
  }
}
const where = (q: string) => show(parseListFilter(q).where);

function parseError(q: string): ListFilterError {
  try {
    parseListFilter(q);
  } catch (err) {
    expect(err).toBeInstanceOf(ListFilterError);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as ListFilterError).field).toBe('query');
    expect((err as ListFilterError).code).toBe('CHR_INVALID_ARGUMENT');
    return err as ListFilterError;
  }
  throw new Error(`expected '${q}' not to parse`);
}

describe('parseListFilter: accepted filters', () => {
  it('treats an empty or blank filter as "every run"', () => {
    expect(parseListFilter('')).toEqual({});
    expect(parseListFilter('  \n\t ')).toEqual({});
  });

  it('parses each comparison operator; <> is !=', () => {
    for (const op of ['=', '!=', '<', '<=', '>', '>=']) expect(where(`HistoryLength ${op} 5`)).toBe(`HistoryLength ${op} 5`);
    expect(where("WorkflowId <> 'a'")).toBe('WorkflowId != "a"');
  });

  it('needs no spaces around operators', () => {
    expect(where("WorkflowId='a'AND HistoryLength>=2")).toBe('(WorkflowId = "a" AND HistoryLength >= 2)');
  });

  it('reads string values in single or double quotes, with doubled or backslashed quotes', () => {
    expect(where(`WorkflowId = "a b"`)).toBe('WorkflowId = "a b"');
    expect(where(`WorkflowId = 'it''s'`)).toBe(`WorkflowId = "it's"`);
    expect(where(`WorkflowId = 'it\\'s'`)).toBe(`WorkflowId = "it's"`);
    expect(where(`WorkflowId = "say ""hi"""`)).toBe('WorkflowId = "say \\"hi\\""');
    expect(where(`WorkflowId = 'back\\\\slash'`)).toBe('WorkflowId = "back\\\\slash"');
    // Any other backslash is kept as written.
    expect(where(`WorkflowId = 'C:\\temp'`)).toBe('WorkflowId = "C:\\\\temp"');
    expect(where(`WorkflowId = ''`)).toBe('WorkflowId = ""');
    expect(where(`WorkflowId = 'ünïcødé ✓'`)).toBe('WorkflowId = "ünïcødé ✓"');
  });

  it('reads numbers: integers, negatives, decimals, exponents', () => {
    const values = (q: string) => {
      const n = parseListFilter(q).where as Extract<FilterNode, { kind: 'Compare' }>;
      return n.value;
    };
    expect(values('X = 42')).toMatchObject({ kind: 'number', value: 42, text: '42' });
    expect(values('X = -7')).toMatchObject({ kind: 'number', value: -7 });
    expect(values('X = 1.5')).toMatchObject({ kind: 'number', value: 1.5 });
    expect(values('X = .5')).toMatchObject({ kind: 'number', value: 0.5 });
    expect(values('X = 2e3')).toMatchObject({ kind: 'number', value: 2000 });
    expect(values('X = -1.25E-2')).toMatchObject({ kind: 'number', value: -0.0125 });
  });

  it('reads true and false in any case', () => {
    expect(where('CustomBoolField = true')).toBe('CustomBoolField = true');
    expect(where('CustomBoolField != FALSE')).toBe('CustomBoolField != false');
  });

  it('gives AND precedence over OR, left-associative', () => {
    expect(where("A = 'a' OR B = 'b' AND C = 'c'")).toBe('(A = "a" OR (B = "b" AND C = "c"))');
    expect(where("A = 'a' AND B = 'b' OR C = 'c'")).toBe('((A = "a" AND B = "b") OR C = "c")');
    expect(where("A = 'a' AND B = 'b' AND C = 'c'")).toBe('((A = "a" AND B = "b") AND C = "c")');
    expect(where("A = 'a' OR B = 'b' OR C = 'c'")).toBe('((A = "a" OR B = "b") OR C = "c")');
  });

  it('groups with parentheses, nested', () => {
    expect(where("(A = 'a' OR B = 'b') AND C = 'c'")).toBe('((A = "a" OR B = "b") AND C = "c")');
    expect(where("((A = 'a'))")).toBe('A = "a"');
    expect(where("A = 'a' AND (B = 'b' OR (C = 'c' AND D = 'd'))")).toBe('(A = "a" AND (B = "b" OR (C = "c" AND D = "d")))');
  });

  it('binds NOT tighter than AND, and repeats it', () => {
    expect(where("NOT A = 'a' AND B = 'b'")).toBe('(NOT A = "a" AND B = "b")');
    expect(where("NOT (A = 'a' AND B = 'b')")).toBe('NOT (A = "a" AND B = "b")');
    expect(where("NOT NOT A = 'a'")).toBe('NOT NOT A = "a"');
  });

  it('parses IN and NOT IN lists', () => {
    expect(where("ExecutionStatus IN ('Running')")).toBe('ExecutionStatus IN ["Running"]');
    expect(where("WorkflowType IN ('a', 'b','c')")).toBe('WorkflowType IN ["a", "b", "c"]');
    expect(where('HistoryLength NOT IN (1, 2)')).toBe('HistoryLength NOT IN [1, 2]');
  });

  it('parses BETWEEN and NOT BETWEEN, whose AND is not a conjunction', () => {
    expect(where("StartTime BETWEEN '2024-01-01' AND '2024-02-01'")).toBe('StartTime BETWEEN "2024-01-01".."2024-02-01"');
    expect(where('HistoryLength NOT BETWEEN 1 AND 5 AND WorkflowId = \'x\'')).toBe('(HistoryLength NOT BETWEEN 1..5 AND WorkflowId = "x")');
  });

  it('parses STARTS_WITH, IS NULL and IS NOT NULL', () => {
    expect(where("WorkflowId STARTS_WITH 'order-'")).toBe('WorkflowId STARTS_WITH "order-"');
    expect(where('CloseTime IS NULL')).toBe('CloseTime IS NULL');
    expect(where('CloseTime is not null')).toBe('CloseTime IS NOT NULL');
  });

  it('reads keywords in any case, but keeps field names as written', () => {
    expect(where("workflowType = 'a' and not B in ('x') or C starts_with 'p'")).toBe('((workflowType = "a" AND NOT B IN ["x"]) OR C STARTS_WITH "p")');
  });

  it('accepts backquoted field names, also for names that are keywords or hold spaces', () => {
    expect(where("`My Field` = 'a'")).toBe('My Field = "a"');
    expect(where("`Order` = 'a'")).toBe('Order = "a"');
  });

  it('records 1-based positions of fields and values', () => {
    const n = parseListFilter("  WorkflowId = 'x'").where as Extract<FilterNode, { kind: 'Compare' }>;
    expect(n.field).toEqual({ name: 'WorkflowId', position: 3 });
    expect(n.value.position).toBe(16);
  });

  it('parses ORDER BY with a direction, alone or after a condition', () => {
    expect(parseListFilter('ORDER BY StartTime')).toEqual({ orderBy: { field: { name: 'StartTime', position: 10 }, direction: 'ASC' } });
    expect(parseListFilter("WorkflowId = 'a' order by CloseTime desc").orderBy).toEqual({
      field: { name: 'CloseTime', position: 27 },
      direction: 'DESC',
    });
  });

  it('accepts line breaks and tabs as spaces', () => {
    expect(where("WorkflowType = 'a'\n\tAND\r\nHistoryLength > 1")).toBe('(WorkflowType = "a" AND HistoryLength > 1)');
  });
});

describe('parseListFilter: errors name the position, the token and the fix', () => {
  const cases: Array<[string, number, RegExp]> = [
    ["WorkflowId = 'a' AND", 21, /unexpected end of the filter at position 21; expected a field name/],
    ["WorkflowId = 'a' OR", 20, /unexpected end of the filter at position 20/],
    ['WorkflowId =', 13, /expected a value after '='/],
    ['WorkflowId = order', 14, /unexpected 'order' at position 14; expected a value after '='\. Quote text values: 'order'/],
    ["WorkflowId 'a'", 12, /expected an operator after 'WorkflowId'/],
    ["WorkflowId == 'a'", 12, /'==' at position 12 is not an operator; use '='/],
    ["WorkflowId = 'a' && B = 'b'", 18, /'&' at position 18 is not an operator; use AND/],
    ["WorkflowId = 'a' || B = 'b'", 18, /use OR/],
    ["WorkflowId = 'abc", 14, /unterminated string starting at position 14; close it with '/],
    ['WorkflowId = "abc', 14, /close it with "/],
    ['`WorkflowId = 1', 1, /unterminated `quoted` field name/],
    ['`` = 1', 1, /empty `` field name/],
    ["(WorkflowId = 'a'", 18, /expected '\)' to close the parenthesis opened at position 1/],
    ["WorkflowId = 'a')", 17, /unexpected '\)' at position 17; expected AND, OR, ORDER BY or the end of the filter/],
    ['()', 2, /expected a condition inside the parentheses opened at position 1/],
    ["WorkflowId = 'a' WorkflowType = 'b'", 18, /unexpected 'WorkflowType' at position 18; expected AND, OR/],
    ["WorkflowId LIKE 'a%'", 12, /LIKE is not supported; use STARTS_WITH/],
    ["WorkflowId ILIKE 'a%'", 12, /ILIKE is not supported/],
    ['SELECT * FROM x', 1, /without SELECT/],
    ["  where WorkflowId = 'a'", 3, /'where' at position 3: write only the condition, without WHERE/],
    ["WorkflowId = 'a' LIMIT 5", 18, /LIMIT is not supported; use pageSize/],
    ['ExecutionStatus GROUP BY x', 17, /GROUP BY is not supported/],
    ["'WorkflowId' = 'a'", 1, /Field names are not quoted with ' or "/],
    ["AND = 'a'", 1, /unexpected keyword 'AND' at position 1; expected a field name.*quote it: `AND`/],
    ['CloseTime = NULL', 13, /NULL at position 13 is not a value to compare with; write IS NULL or IS NOT NULL/],
    ['CloseTime IS', 13, /expected NULL or NOT NULL after IS/],
    ['CloseTime IS NOT', 17, /expected NULL after IS NOT/],
    ["WorkflowId IN 'a'", 15, /expected '\(' after IN: IN \('a', 'b'\)/],
    ["WorkflowId IN ('a' 'b')", 20, /expected ',' or '\)' in the IN list opened at position 15/],
    ["WorkflowId IN ('a',)", 20, /expected a value after ','/],
    ['WorkflowId IN ()', 16, /expected a value after '\(' of IN/],
    ['HistoryLength BETWEEN 1 OR 2', 25, /expected AND between the two bounds: HistoryLength BETWEEN low AND high/],
    ['HistoryLength BETWEEN 1', 24, /expected AND between the two bounds/],
    ['HistoryLength = 12abc', 17, /malformed number '12abc' at position 17; quote text values/],
    ['HistoryLength = 1.2.3', 17, /malformed number '1.2.3'/],
    ['HistoryLength = 1e999', 17, /number '1e999' at position 17 is out of range/],
    ["WorkflowId = 'a' ; DROP TABLE x", 18, /unexpected character ';' at position 18/],
    ['ORDER StartTime', 7, /expected BY after ORDER/],
    ['ORDER BY', 9, /expected a field to order by/],
    ['ORDER BY StartTime, CloseTime', 19, /ORDER BY takes a single field; remove ',' at position 19/],
    ["ORDER BY StartTime WorkflowId = 'a'", 20, /unexpected 'WorkflowId' at position 20; expected the end of the filter \(ORDER BY comes last\)/],
    ["WorkflowId = 'a' ORDER BY StartTime AND B = 'b'", 37, /expected the end of the filter \(ORDER BY comes last\)/],
    ['NOT', 4, /unexpected end of the filter at position 4; expected a field name/],
  ];
  it.each(cases)('%s', (q, position, message) => {
    const err = parseError(q);
    expect(err.message).toMatch(/^query: /);
    expect(err.message).toMatch(message);
    expect(err.position).toBe(position);
  });

  it('refuses a filter over the length limit, and a non-string', () => {
    expect(parseError('x'.repeat(MAX_FILTER_LENGTH + 1)).message).toMatch(/characters long; the limit is 10000/);
    expect(() => parseListFilter(42 as unknown as string)).toThrow(/query: must be a string, got number/);
  });

  it('refuses nesting deeper than the limit instead of overflowing the stack', () => {
    const deep = '('.repeat(MAX_FILTER_DEPTH + 1) + "A = 'a'" + ')'.repeat(MAX_FILTER_DEPTH + 1);
    expect(parseError(deep).message).toMatch(/nests deeper than 100 levels/);
    const ok = '('.repeat(MAX_FILTER_DEPTH) + "A = 'a'" + ')'.repeat(MAX_FILTER_DEPTH);
    expect(where(ok)).toBe('A = "a"');
    expect(parseError('NOT '.repeat(MAX_FILTER_DEPTH + 1) + "A = 'a'").message).toMatch(/nests deeper/);
  });

  it('parses a long flat chain without recursion trouble', () => {
    const q = Array.from({ length: 500 }, (_, i) => `A = '${i}'`).join(' OR ');
    expect(where(q).startsWith('((((')).toBe(true);
  });
});
