/**
 * Code in README.md and docs/*.md must not rot (STYLE.md rule 10).
 *
 * - A code block announced by `<!-- quote: examples/hello/workflows.ts -->` must appear
 *   verbatim in that file. The examples are run by test/examples/, so a quote that matches
 *   is code that works; when an example changes, this test names the quote to update.
 * - Every name a TypeScript code block imports from `chronicle/*` must be exported by that
 *   entry point, so the documentation cannot show an API that does not exist.
 *
 * No database needed.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface CodeBlock {
  readonly doc: string;
  readonly line: number;
  readonly lang: string;
  readonly code: string;
  /** The file named by a `<!-- quote: … -->` comment right before the block. */
  readonly quoteOf?: string;
}

/** Fenced code blocks of a markdown text, with the quote marker that precedes each, if any. */
export function codeBlocks(doc: string, markdown: string): CodeBlock[] {
  const lines = markdown.split('\n');
  const blocks: CodeBlock[] = [];
  let pendingQuote: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const quote = /^<!--\s*quote:\s*(\S+)\s*-->\s*$/.exec(lines[i]!);
    if (quote) {
      pendingQuote = quote[1];
      continue;
    }
    const fence = /^(`{3,})(\w*)\s*$/.exec(lines[i]!);
    if (!fence) {
      if (lines[i]!.trim() !== '') pendingQuote = undefined;
      continue;
    }
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== fence[1]; i++) body.push(lines[i]!);
    blocks.push({ doc, line: start + 1, lang: fence[2]!, code: body.join('\n'), ...(pendingQuote ? { quoteOf: pendingQuote } : {}) });
    pendingQuote = undefined;
  }
  return blocks;
}

const docs = ['README.md', ...readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const blocks = docs.flatMap((doc) => codeBlocks(doc, readFileSync(path.join(ROOT, doc), 'utf8')));

/** Named imports from `chronicle/*` in a code block. */
function chronicleImports(code: string): { module: string; name: string }[] {
  const source = ts.createSourceFile('block.ts', code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: { module: string; name: string }[] = [];
  for (const statement of source.statements) {
    if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier)) continue;
    const module = statement.moduleSpecifier.text;
    if (!module.startsWith('chronicle/')) continue;
    const bindings = statement.importClause?.namedBindings;
    if (bindings && ts.isNamedImports(bindings)) {
      for (const element of bindings.elements) out.push({ module, name: (element.propertyName ?? element.name).text });
    } else {
      out.push({ module, name: '*' });
    }
  }
  return out;
}

/** Export names of each `chronicle/*` entry point, read by the TypeScript checker. */
function entryPointExports(): Map<string, Set<string>> {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; exports: Record<string, string> };
  const entries = Object.entries(pkg.exports)
    .map(([key, file]) => ({ module: `${pkg.name}${key.slice(1)}`, file: path.join(ROOT, file) }))
    .filter((e) => existsSync(e.file));
  const program = ts.createProgram(
    entries.map((e) => e.file),
    { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, noEmit: true, skipLibCheck: true, types: ['node'] },
  );
  const checker = program.getTypeChecker();
  const exports = new Map<string, Set<string>>();
  for (const { module, file } of entries) {
    const symbol = checker.getSymbolAtLocation(program.getSourceFile(file)!);
    exports.set(module, new Set(symbol ? checker.getExportsOfModule(symbol).map((s) => s.getName()) : []));
  }
  return exports;
}

describe('code in README.md and docs/', () => {
  it('finds the documents and their code (a guard against passing vacuously)', () => {
    expect(docs).toContain('README.md');
    expect(blocks.filter((b) => b.quoteOf).length).toBeGreaterThanOrEqual(3);
  });

  it('quotes examples verbatim', () => {
    const stale = blocks
      .filter((b) => b.quoteOf)
      .filter((b) => {
        const file = path.join(ROOT, b.quoteOf!);
        return !existsSync(file) || !readFileSync(file, 'utf8').includes(b.code);
      })
      .map((b) => `${b.doc}:${b.line} no longer matches ${b.quoteOf}: copy the current code into the quote`);
    expect(stale).toEqual([]);
  });

  it('imports from chronicle/* only names that the entry points export', () => {
    const exports = entryPointExports();
    expect(exports.get('chronicle/workflow')).toContain('proxyActivities');
    expect(exports.get('chronicle/client')).toContain('WorkflowFailedError');
    const missing: string[] = [];
    for (const b of blocks.filter((block) => block.lang === 'ts')) {
      for (const { module, name } of chronicleImports(b.code)) {
        const names = exports.get(module);
        if (!names) missing.push(`${b.doc}:${b.line} imports from '${module}', which is not an entry point that exists`);
        else if (name !== '*' && !names.has(name)) missing.push(`${b.doc}:${b.line} imports '${name}' from '${module}', which does not export it`);
      }
    }
    expect(missing).toEqual([]);
  }, 30_000);

  it('reads quote markers and imports as intended (so the checks above can fail)', () => {
    const md = ['<!-- quote: a.ts -->', '', '```ts', "import { x, y as z } from 'chronicle/workflow';", '```', 'text', '```ts', 'other', '```'].join('\n');
    const parsed = codeBlocks('t.md', md);
    expect(parsed.map((b) => [b.line, b.quoteOf])).toEqual([
      [3, 'a.ts'],
      [7, undefined],
    ]);
    expect(chronicleImports(parsed[0]!.code)).toEqual([
      { module: 'chronicle/workflow', name: 'x' },
      { module: 'chronicle/workflow', name: 'y' },
    ]);
  });
});
