/**
 * docs/errors.md documents every error code (STYLE.md rule 4, after fastify's errors test).
 *
 * The codes are the values of ERROR_CODES plus any `CHR_…` code inside a string or template
 * literal of the sources of engine/, sdk/ and server/: an HTTP body's code, a code compared
 * against, a code a class builds. Each must have its own section, a heading such as
 * "### `CHR_STALE_TASK`". A section whose code exists nowhere any more fails too, so the page
 * does not keep entries for errors that cannot happen.
 *
 * Comments are not read (the TypeScript parser tells them apart), and neither are tests and
 * fixtures, which may use made-up codes. No database needed.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../engine/protocol/codes.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CODE = /\bCHR_[A-Z0-9_]+\b/g;

/** Codes inside string and template literals of a source text (not in comments). */
export function codesInLiterals(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteralLike(node) || ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) {
      found.push(...(node.text.match(CODE) ?? []));
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const abs = path.join(d, name);
      if (statSync(abs).isDirectory()) {
        if (name !== 'node_modules' && name !== '__fixtures__') walk(abs);
      } else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts')) {
        out.push(abs);
      }
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/** Code → the files whose literals mention it. */
const literalCodes = new Map<string, string[]>();
for (const abs of ['engine', 'sdk', 'server'].flatMap((d) => sourceFiles(path.join(ROOT, d)))) {
  for (const code of codesInLiterals(abs, readFileSync(abs, 'utf8'))) {
    const files = literalCodes.get(code) ?? [];
    const file = path.relative(ROOT, abs).split(path.sep).join('/');
    if (!files.includes(file)) files.push(file);
    literalCodes.set(code, files);
  }
}

const docsPath = path.join(ROOT, 'docs/errors.md');
const documented = new Set(
  [...readFileSync(docsPath, 'utf8').matchAll(/^#{2,4}\s+`?(CHR_[A-Z0-9_]+)`?\s*$/gm)].map((m) => m[1]!),
);

describe('docs/errors.md', () => {
  it('has a section for every code of ERROR_CODES', () => {
    const missing = Object.values(ERROR_CODES).filter((code) => !documented.has(code));
    expect(missing, 'add a "### `CHR_…`" section to docs/errors.md for each').toEqual([]);
  });

  it('has a section for every CHR_ code in a string literal of engine/, sdk/ and server/', () => {
    const missing = [...literalCodes].filter(([code]) => !documented.has(code)).map(([code, files]) => `${code} (in ${files.join(', ')})`);
    expect(missing, 'add a "### `CHR_…`" section to docs/errors.md for each').toEqual([]);
  });

  it('documents no code that exists nowhere in the code', () => {
    const known = new Set<string>([...Object.values(ERROR_CODES), ...literalCodes.keys()]);
    expect([...documented].filter((code) => !known.has(code)), 'remove these sections, or restore the codes').toEqual([]);
  });

  it('reads literals, not comments (so the checks above can fail)', () => {
    const text = [
      "const a = 'CHR_IN_STRING';",
      'const b = `x ${a} CHR_IN_TEMPLATE y`;',
      '// CHR_IN_LINE_COMMENT',
      '/** CHR_IN_DOC_COMMENT */',
      "reply.send({ code: 'CHR_IN_OBJECT' });",
    ].join('\n');
    expect(codesInLiterals('x.ts', text)).toEqual(['CHR_IN_STRING', 'CHR_IN_TEMPLATE', 'CHR_IN_OBJECT']);
    expect(documented.size).toBeGreaterThanOrEqual(Object.keys(ERROR_CODES).length);
  });
});
