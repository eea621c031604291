/**
 * The list filter language of `listWorkflows` / `countWorkflows`: the subset of Temporal's
 * visibility query language documented in docs/visibility.md, parsed into a small AST.
 *
 * PURE: no database, no field knowledge beyond the grammar. Whether a name is a known field
 * and whether a value fits its type is decided by the compiler (filter-sql.ts), which has
 * the namespace's declared search attributes; the AST keeps every token's position so those
 * errors can point into the text too.
 *
 * Grammar (keywords case-insensitive, field names case-sensitive):
 *
 *   filter     := [ or ] [ ORDER BY field [ASC | DESC] ]
 *   or         := and { OR and }
 *   and        := not { AND not }
 *   not        := NOT not | primary
 *   primary    := '(' or ')' | predicate
 *   predicate  := field ( '=' | '!=' | '<>' | '<' | '<=' | '>' | '>=' ) value
 *               | field [NOT] IN '(' value { ',' value } ')'
 *               | field [NOT] BETWEEN value AND value
 *               | field STARTS_WITH value
 *               | field IS [NOT] NULL
 *   field      := identifier | '`' any text but '`' '`'
 *   value      := 'text' | "text" | number | TRUE | FALSE
 */
import { InvalidArgumentError } from '../errors.js';

/** Longest filter accepted: far beyond any hand-written one, short enough to bound parsing work. */
export const MAX_FILTER_LENGTH = 10_000;
/** Deepest nesting of parentheses / NOT accepted (the parser recurses). */
export const MAX_FILTER_DEPTH = 100;

export type ComparisonOperator = '=' | '!=' | '<' | '<=' | '>' | '>=';

/** A field name as written, with its 1-based position in the filter text. */
export interface FieldRef {
  readonly name: string;
  readonly position: number;
}

export type Literal =
  | { readonly kind: 'string'; readonly value: string; readonly position: number }
  | { readonly kind: 'number'; readonly value: number; readonly text: string; readonly position: number }
  | { readonly kind: 'boolean'; readonly value: boolean; readonly position: number };

export type FilterNode =
  | { readonly kind: 'And'; readonly left: FilterNode; readonly right: FilterNode }
  | { readonly kind: 'Or'; readonly left: FilterNode; readonly right: FilterNode }
  | { readonly kind: 'Not'; readonly operand: FilterNode }
  | { readonly kind: 'Compare'; readonly field: FieldRef; readonly op: ComparisonOperator; readonly value: Literal }
  | { readonly kind: 'In'; readonly field: FieldRef; readonly values: readonly Literal[]; readonly negated: boolean }
  | { readonly kind: 'Between'; readonly field: FieldRef; readonly low: Literal; readonly high: Literal; readonly negated: boolean }
  | { readonly kind: 'StartsWith'; readonly field: FieldRef; readonly prefix: Literal }
  | { readonly kind: 'IsNull'; readonly field: FieldRef; readonly negated: boolean };

export interface OrderBy {
  readonly field: FieldRef;
  readonly direction: 'ASC' | 'DESC';
}

export interface ListFilter {
  /** Absent for an empty filter (every run). */
  readonly where?: FilterNode;
  readonly orderBy?: OrderBy;
}

/**
 * A filter that cannot be parsed or compiled. An InvalidArgumentError for field `query`
 * (code CHR_INVALID_ARGUMENT) that also carries the 1-based `position` of the offending
 * token in the filter text.
 */
export class ListFilterError extends InvalidArgumentError {
  readonly position: number;
  constructor(position: number, message: string) {
    super('query', message);
    this.position = position;
  }
}

// ---- lexer ------------------------------------------------------------------------------------

type TokenKind = 'ident' | 'keyword' | 'string' | 'number' | 'op' | 'lparen' | 'rparen' | 'comma' | 'end';

interface Token {
  readonly kind: TokenKind;
  /** Keywords upper-cased; identifiers as written; strings unescaped; operators as written. */
  readonly value: string;
  /** The token as it appears in the text (for messages). */
  readonly text: string;
  /** 1-based offset of its first character. */
  readonly position: number;
}

const KEYWORDS = new Set(['AND', 'OR', 'NOT', 'IN', 'BETWEEN', 'IS', 'NULL', 'ORDER', 'BY', 'ASC', 'DESC', 'STARTS_WITH', 'TRUE', 'FALSE']);

/** SQL words Temporal's grammar knows but Chronicle's subset does not, with what to use instead. */
const UNSUPPORTED: Readonly<Record<string, string>> = {
  LIKE: 'LIKE is not supported; use STARTS_WITH for a prefix (WorkflowId STARTS_WITH \'order-\'), or a Text search attribute with = for a substring',
  ILIKE: 'ILIKE is not supported; use STARTS_WITH for a prefix, or a Text search attribute with = for a case-insensitive substring',
  GROUP: 'GROUP BY is not supported; count each group with its own countWorkflows call',
  LIMIT: 'LIMIT is not supported; use pageSize',
  SELECT: 'write only the condition, without SELECT … WHERE: WorkflowType = \'order\'',
  WHERE: 'write only the condition, without WHERE: WorkflowType = \'order\'',
};

function describeToken(t: Token): string {
  return t.kind === 'end' ? 'end of the filter' : `'${t.text.length > 40 ? t.text.slice(0, 40) + '…' : t.text}'`;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const start = i;
    const position = i + 1;
    if (/[A-Za-z_]/.test(c)) {
      while (i < n && /[A-Za-z0-9_]/.test(text[i]!)) i++;
      const word = text.slice(start, i);
      const upper = word.toUpperCase();
      if (KEYWORDS.has(upper)) tokens.push({ kind: 'keyword', value: upper, text: word, position });
      else tokens.push({ kind: 'ident', value: word, text: word, position });
      continue;
    }
    if (c === '`') {
      const close = text.indexOf('`', i + 1);
      if (close < 0) throw new ListFilterError(position, `unterminated \`quoted\` field name starting at position ${position}; close it with a backquote`);
      const name = text.slice(i + 1, close);
      if (name.length === 0) throw new ListFilterError(position, `empty \`\` field name at position ${position}; write the field's name between the backquotes`);
      i = close + 1;
      tokens.push({ kind: 'ident', value: name, text: text.slice(start, i), position });
      continue;
    }
    if (c === "'" || c === '"') {
      // Escapes: the quote doubled ('it''s') or backslash-escaped ('it\'s'), and \\ for a
      // backslash; any other backslash is kept as written (so 'C:\temp' means what it says).
      let value = '';
      i++;
      for (;;) {
        if (i >= n) throw new ListFilterError(position, `unterminated string starting at position ${position}; close it with ${c}`);
        const d = text[i]!;
        if (d === '\\' && i + 1 < n && (text[i + 1] === c || text[i + 1] === '\\')) {
          value += text[i + 1];
          i += 2;
        } else if (d === c) {
          if (text[i + 1] === c) {
            value += c;
            i += 2;
          } else {
            i++;
            break;
          }
        } else {
          value += d;
          i++;
        }
      }
      tokens.push({ kind: 'string', value, text: text.slice(start, i), position });
      continue;
    }
    if (/[0-9]/.test(c) || ((c === '-' || c === '.') && /[0-9.]/.test(text[i + 1] ?? ''))) {
      const m = /^-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/.exec(text.slice(i));
      if (!m) throw new ListFilterError(position, `malformed number at position ${position}`);
      i += m[0].length;
      if (i < n && /[A-Za-z0-9_.]/.test(text[i]!)) {
        while (i < n && /[A-Za-z0-9_.]/.test(text[i]!)) i++;
        throw new ListFilterError(
          position,
          `malformed number '${text.slice(start, i)}' at position ${position}; quote text values ('${text.slice(start, i)}')`,
        );
      }
      tokens.push({ kind: 'number', value: m[0], text: m[0], position });
      continue;
    }
    const two = text.slice(i, i + 2);
    if (two === '!=' || two === '<>' || two === '<=' || two === '>=') {
      tokens.push({ kind: 'op', value: two === '<>' ? '!=' : two, text: two, position });
      i += 2;
      continue;
    }
    if (two === '==') throw new ListFilterError(position, `'==' at position ${position} is not an operator; use '=' to compare`);
    if (c === '=' || c === '<' || c === '>') {
      tokens.push({ kind: 'op', value: c, text: c, position });
      i++;
      continue;
    }
    if (c === '(') tokens.push({ kind: 'lparen', value: c, text: c, position });
    else if (c === ')') tokens.push({ kind: 'rparen', value: c, text: c, position });
    else if (c === ',') tokens.push({ kind: 'comma', value: c, text: c, position });
    else if (c === '&' || c === '|') {
      throw new ListFilterError(position, `'${c}' at position ${position} is not an operator; use ${c === '&' ? 'AND' : 'OR'}`);
    } else {
      throw new ListFilterError(position, `unexpected character '${c}' at position ${position}`);
    }
    i++;
  }
  tokens.push({ kind: 'end', value: '', text: '', position: n + 1 });
  return tokens;
}

// ---- parser -----------------------------------------------------------------------------------

const EXAMPLE = "e.g. WorkflowType = 'order' AND ExecutionStatus = 'Running'";

class Parser {
  private i = 0;
  private depth = 0;
  constructor(private readonly tokens: readonly Token[]) {}

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.i + offset, this.tokens.length - 1)]!;
  }
  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'end') this.i++;
    return t;
  }
  private isKeyword(word: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.kind === 'keyword' && t.value === word;
  }
  private fail(t: Token, expected: string): never {
    const unsupported = t.kind === 'ident' ? UNSUPPORTED[t.value.toUpperCase()] : undefined;
    if (unsupported) throw new ListFilterError(t.position, `${describeToken(t)} at position ${t.position}: ${unsupported}`);
    throw new ListFilterError(t.position, `unexpected ${describeToken(t)} at position ${t.position}; expected ${expected}`);
  }
  private expectKeyword(word: string, expected: string): Token {
    const t = this.peek();
    if (t.kind !== 'keyword' || t.value !== word) this.fail(t, expected);
    return this.next();
  }

  parse(): ListFilter {
    let where: FilterNode | undefined;
    if (this.peek().kind !== 'end' && !this.isKeyword('ORDER')) where = this.parseOr();
    let orderBy: OrderBy | undefined;
    if (this.isKeyword('ORDER')) {
      this.next();
      this.expectKeyword('BY', "BY after ORDER (ORDER BY StartTime DESC)");
      const field = this.parseField('a field to order by (StartTime or CloseTime)');
      let direction: 'ASC' | 'DESC' = 'ASC';
      if (this.isKeyword('ASC') || this.isKeyword('DESC')) direction = this.next().value as 'ASC' | 'DESC';
      orderBy = { field, direction };
      if (this.peek().kind === 'comma') {
        const t = this.peek();
        throw new ListFilterError(t.position, `ORDER BY takes a single field; remove ${describeToken(t)} at position ${t.position} and what follows`);
      }
    }
    const t = this.peek();
    if (t.kind !== 'end') {
      this.fail(t, orderBy ? 'the end of the filter (ORDER BY comes last)' : where ? 'AND, OR, ORDER BY or the end of the filter' : `a condition, ${EXAMPLE}`);
    }
    return { ...(where ? { where } : {}), ...(orderBy ? { orderBy } : {}) };
  }

  private parseOr(): FilterNode {
    let left = this.parseAnd();
    while (this.isKeyword('OR')) {
      this.next();
      left = { kind: 'Or', left, right: this.parseAnd() };
    }
    return left;
  }

  private parseAnd(): FilterNode {
    let left = this.parseNot();
    while (this.isKeyword('AND')) {
      this.next();
      left = { kind: 'And', left, right: this.parseNot() };
    }
    return left;
  }

  private enter(t: Token): void {
    if (++this.depth > MAX_FILTER_DEPTH) {
      throw new ListFilterError(t.position, `the filter nests deeper than ${MAX_FILTER_DEPTH} levels at position ${t.position}; simplify it`);
    }
  }

  private parseNot(): FilterNode {
    if (this.isKeyword('NOT')) {
      const t = this.next();
      this.enter(t);
      const operand = this.parseNot();
      this.depth--;
      return { kind: 'Not', operand };
    }
    return this.parsePrimary();
  }

  private parsePrimary(): FilterNode {
    const t = this.peek();
    if (t.kind === 'lparen') {
      this.next();
      this.enter(t);
      if (this.peek().kind === 'rparen') this.fail(this.peek(), `a condition inside the parentheses opened at position ${t.position}`);
      const inner = this.parseOr();
      this.depth--;
      const close = this.peek();
      if (close.kind !== 'rparen') this.fail(close, `')' to close the parenthesis opened at position ${t.position}, or AND / OR`);
      this.next();
      return inner;
    }
    return this.parsePredicate();
  }

  private parseField(expected: string): FieldRef {
    const t = this.peek();
    if (t.kind === 'ident') {
      this.next();
      return { name: t.value, position: t.position };
    }
    if (t.kind === 'keyword') {
      throw new ListFilterError(
        t.position,
        `unexpected keyword ${describeToken(t)} at position ${t.position}; expected ${expected}. To use it as a field name, quote it: \`${t.text}\``,
      );
    }
    if (t.kind === 'string') {
      throw new ListFilterError(
        t.position,
        `unexpected string ${describeToken(t)} at position ${t.position}; expected ${expected}. Field names are not quoted with ' or " (write WorkflowType = 'order', or \`My Field\` for a name with spaces)`,
      );
    }
    return this.fail(t, expected);
  }

  private parseValue(after: string): Literal {
    const t = this.peek();
    switch (t.kind) {
      case 'string':
        this.next();
        return { kind: 'string', value: t.value, position: t.position };
      case 'number': {
        this.next();
        const value = Number(t.value);
        if (!Number.isFinite(value)) throw new ListFilterError(t.position, `number '${t.text}' at position ${t.position} is out of range`);
        return { kind: 'number', value, text: t.text, position: t.position };
      }
      case 'keyword':
        if (t.value === 'TRUE' || t.value === 'FALSE') {
          this.next();
          return { kind: 'boolean', value: t.value === 'TRUE', position: t.position };
        }
        if (t.value === 'NULL') {
          throw new ListFilterError(t.position, `NULL at position ${t.position} is not a value to compare with; write IS NULL or IS NOT NULL`);
        }
        return this.unquoted(t, after);
      case 'ident':
        return this.unquoted(t, after);
    }
    return this.fail(t, `a value after ${after} (a 'quoted string', a number, true or false)`);
  }

  /** A word where a value belongs: most likely text that lacks its quotes. */
  private unquoted(t: Token, after: string): never {
    throw new ListFilterError(t.position, `unexpected ${describeToken(t)} at position ${t.position}; expected a value after ${after}. Quote text values: '${t.text}'`);
  }

  private parsePredicate(): FilterNode {
    const field = this.parseField(`a field name, ${EXAMPLE}`);
    const t = this.peek();
    if (t.kind === 'op') {
      this.next();
      return { kind: 'Compare', field, op: t.value as ComparisonOperator, value: this.parseValue(`'${t.text}'`) };
    }
    if (t.kind === 'keyword') {
      if (t.value === 'IN') {
        this.next();
        return { kind: 'In', field, values: this.parseList(t), negated: false };
      }
      if (t.value === 'BETWEEN') {
        this.next();
        return this.parseBetween(field, false);
      }
      if (t.value === 'NOT' && this.isKeyword('IN', 1)) {
        this.next();
        const inTok = this.next();
        return { kind: 'In', field, values: this.parseList(inTok), negated: true };
      }
      if (t.value === 'NOT' && this.isKeyword('BETWEEN', 1)) {
        this.next();
        this.next();
        return this.parseBetween(field, true);
      }
      if (t.value === 'STARTS_WITH') {
        this.next();
        return { kind: 'StartsWith', field, prefix: this.parseValue('STARTS_WITH') };
      }
      if (t.value === 'IS') {
        this.next();
        let negated = false;
        if (this.isKeyword('NOT')) {
          this.next();
          negated = true;
        }
        this.expectKeyword('NULL', negated ? 'NULL after IS NOT' : 'NULL or NOT NULL after IS');
        return { kind: 'IsNull', field, negated };
      }
    }
    return this.fail(t, `an operator after '${field.name}' (=, !=, <, <=, >, >=, IN, NOT IN, BETWEEN, STARTS_WITH, IS NULL, IS NOT NULL)`);
  }

  private parseList(inTok: Token): Literal[] {
    const open = this.peek();
    if (open.kind !== 'lparen') this.fail(open, `'(' after ${inTok.value}: ${inTok.value} ('a', 'b')`);
    this.next();
    const values = [this.parseValue(`'(' of ${inTok.value}`)];
    for (;;) {
      const t = this.peek();
      if (t.kind === 'comma') {
        this.next();
        values.push(this.parseValue("','"));
        continue;
      }
      if (t.kind === 'rparen') {
        this.next();
        return values;
      }
      this.fail(t, `',' or ')' in the IN list opened at position ${open.position}`);
    }
  }

  private parseBetween(field: FieldRef, negated: boolean): FilterNode {
    const low = this.parseValue('BETWEEN');
    this.expectKeyword('AND', `AND between the two bounds: ${field.name} BETWEEN low AND high`);
    const high = this.parseValue('BETWEEN … AND');
    return { kind: 'Between', field, low, high, negated };
  }
}

/**
 * Parses a list filter. An empty or blank filter matches every run. Throws ListFilterError
 * (an InvalidArgumentError for field `query`) naming the position and the token, and what
 * would have been valid there.
 */
export function parseListFilter(text: string): ListFilter {
  if (typeof text !== 'string') throw new InvalidArgumentError('query', `must be a string, got ${text === null ? 'null' : typeof text}`);
  if (text.length > MAX_FILTER_LENGTH) {
    throw new ListFilterError(MAX_FILTER_LENGTH + 1, `is ${text.length} characters long; the limit is ${MAX_FILTER_LENGTH}. Narrow it with a search attribute instead of long IN lists`);
  }
  const statement = /^\s*(SELECT|WHERE)\b/i.exec(text);
  if (statement) {
    const position = statement[0].length - statement[1]!.length + 1;
    throw new ListFilterError(position, `'${statement[1]}' at position ${position}: ${UNSUPPORTED[statement[1]!.toUpperCase()]}`);
  }
  return new Parser(tokenize(text)).parse();
}
