/**
 * The dependency direction of DESIGN.md and STYLE.md, enforced on the import graph.
 *
 * Every `.ts` file of the project is parsed with the TypeScript compiler (so commented-out
 * imports and imports quoted in doc comments do not count), and every module specifier is
 * collected: `import … from`, `import type … from`, `export … from`, `import x = require()`
 * and `import()`. Type-only imports count too: a type import of a module is still a
 * dependency on it, and the next edit may turn it into a value import. Each rule reports
 * its violations as `file:line imports 'specifier' (why)`.
 *
 * Tests beside their sources (`*.test.ts`) and the worker's fixtures (`__fixtures__/`) are
 * test code, which may import anything, as test/ may; the rules cover the modules that ship.
 *
 * No database needed: the integration project's globalSetup starts one anyway.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Entry points examples may use (DESIGN.md: "the public sdk entry points only"). */
const PUBLIC_ENTRY_POINTS = ['chronicle/workflow', 'chronicle/activity', 'chronicle/client', 'chronicle/worker', 'chronicle/testing'];

interface ImportRef {
  /** Importing file, relative to the repository root, with `/` separators. */
  readonly file: string;
  readonly line: number;
  readonly specifier: string;
  /** The project file it resolves to (relative, `/`), for relative and `chronicle/*` specifiers. */
  readonly target?: string;
  readonly kind: 'project' | 'node' | 'package' | 'unresolved';
}

// ---- collecting ---------------------------------------------------------------------------

function rel(abs: string): string {
  return path.relative(ROOT, abs).split(path.sep).join('/');
}

function listTsFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      if (name === 'node_modules' || name.startsWith('.')) continue;
      const abs = path.join(d, name);
      if (statSync(abs).isDirectory()) walk(abs);
      else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(abs);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out.sort();
}

/** Module specifiers of a source text, with their line numbers. */
export function moduleSpecifiers(fileName: string, text: string): { specifier: string; line: number }[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: { specifier: string; line: number }[] = [];
  const add = (node: ts.Node | undefined): void => {
    if (node && ts.isStringLiteralLike(node)) {
      found.push({ specifier: node.text, line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1 });
    }
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) add(node.moduleReference.expression);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) add(node.arguments[0]);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node.argument.literal);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const packageExports: Record<string, string> = (() => {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; exports: Record<string, string> };
  const map: Record<string, string> = {};
  for (const [key, target] of Object.entries(pkg.exports)) map[`${pkg.name}${key.slice(1)}`] = rel(path.join(ROOT, target));
  return map;
})();

const NODE_BUILTINS = new Set(builtinModules);

function isNodeBuiltin(specifier: string): boolean {
  return specifier.startsWith('node:') || NODE_BUILTINS.has(specifier) || NODE_BUILTINS.has(specifier.split('/')[0]!);
}

function resolveRelative(fromAbs: string, specifier: string): string | undefined {
  const base = path.resolve(path.dirname(fromAbs), specifier);
  const candidates = [base, base.replace(/\.js$/, '.ts'), base.replace(/\.mjs$/, '.mts'), `${base}.ts`, path.join(base, 'index.ts')];
  const hit = candidates.find((c) => existsSync(c) && statSync(c).isFile());
  return hit === undefined ? undefined : rel(hit);
}

function classify(fromAbs: string, specifier: string, line: number): ImportRef {
  const file = rel(fromAbs);
  if (specifier.startsWith('.') || specifier.startsWith('/')) {
    const target = resolveRelative(fromAbs, specifier);
    return target ? { file, line, specifier, target, kind: 'project' } : { file, line, specifier, kind: 'unresolved' };
  }
  if (isNodeBuiltin(specifier)) return { file, line, specifier, kind: 'node' };
  const exported = packageExports[specifier];
  if (exported !== undefined) return { file, line, specifier, target: exported, kind: 'project' };
  return { file, line, specifier, kind: 'package' };
}

const allImports: ImportRef[] = ['engine', 'sdk', 'server', 'examples', 'bench', 'test'].flatMap((dir) =>
  listTsFiles(path.join(ROOT, dir)).flatMap((abs) =>
    moduleSpecifiers(abs, readFileSync(abs, 'utf8')).map(({ specifier, line }) => classify(abs, specifier, line)),
  ),
);

/** Modules that ship: not tests beside their sources, not test fixtures. */
function isShippedModule(file: string): boolean {
  return !file.endsWith('.test.ts') && !file.split('/').includes('__fixtures__');
}

function importsOf(folder: string): ImportRef[] {
  return allImports.filter((i) => i.file.startsWith(folder) && isShippedModule(i.file));
}

function show(i: ImportRef, why: string): string {
  return `${i.file}:${i.line} imports '${i.specifier}'${i.target && i.target !== i.specifier ? ` (${i.target})` : ''}: ${why}`;
}

// ---- cycles ---------------------------------------------------------------------------------

/** Every cycle a depth-first search meets (one per back edge), as `a → b → … → a`. */
export function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const s = state.get(next);
      if (s === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next].join(' → '));
      else if (s === undefined) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return cycles;
}

// ---- the rules --------------------------------------------------------------------------------

describe('dependency direction (DESIGN.md, STYLE.md)', () => {
  it('scans the project (a guard against passing vacuously)', () => {
    const files = new Set(allImports.map((i) => i.file));
    for (const f of ['engine/pg-engine.ts', 'sdk/workflow/activator.ts', 'sdk/worker/worker.ts', 'sdk/client/client.ts', 'examples/run.ts']) {
      expect(files, f).toContain(f);
    }
    expect(allImports.filter((i) => i.kind === 'unresolved' && isShippedModule(i.file)).map((i) => show(i, 'does not resolve to a file'))).toEqual([]);
  });

  it('engine/ never imports sdk/ or server/', () => {
    const bad = importsOf('engine/').filter((i) => i.target?.startsWith('sdk/') || i.target?.startsWith('server/'));
    expect(bad.map((i) => show(i, 'the engine must not depend on an SDK or the server'))).toEqual([]);
  });

  it('engine/protocol/ imports nothing outside engine/protocol/ (it is pure data shared with the sandbox)', () => {
    const bad = importsOf('engine/protocol/').filter((i) => !(i.kind === 'project' && i.target!.startsWith('engine/protocol/')));
    expect(bad.map((i) => show(i, 'protocol/ is imported by sandboxed workflow code, so it must stay pure'))).toEqual([]);
  });

  it('sdk/workflow/ imports no Node built-in and, of the project, only sdk/workflow/ and engine/protocol/', () => {
    const bad = importsOf('sdk/workflow/').filter(
      (i) => i.kind === 'node' || (i.kind === 'project' && !i.target!.startsWith('sdk/workflow/') && !i.target!.startsWith('engine/protocol/')),
    );
    expect(bad.map((i) => show(i, 'workflow code runs in the deterministic sandbox'))).toEqual([]);
  });

  it('sdk/activity/ imports, of the project, only engine/protocol/ and sdk/workflow/errors.ts, and no package but Node built-ins', () => {
    const allowed = (t: string) => t.startsWith('sdk/activity/') || t.startsWith('engine/protocol/') || t === 'sdk/workflow/errors.ts';
    const bad = importsOf('sdk/activity/').filter((i) => i.kind === 'package' || (i.kind === 'project' && !allowed(i.target!)));
    expect(bad.map((i) => show(i, 'activity code must not pull in the worker, the engine or a driver'))).toEqual([]);
  });

  it('sdk/client/ never imports sdk/worker/', () => {
    const bad = importsOf('sdk/client/').filter((i) => i.target?.startsWith('sdk/worker/'));
    expect(bad.map((i) => show(i, 'a client must not load the bundler and the sandbox'))).toEqual([]);
  });

  it('examples/ import only public entry points, their own files, Node built-ins, and (examples/run.ts) server/dev-database.ts', () => {
    const bad = allImports
      .filter((i) => i.file.startsWith('examples/'))
      .filter((i) => {
        if (i.kind === 'node') return false;
        if (PUBLIC_ENTRY_POINTS.includes(i.specifier)) return false;
        if (i.kind === 'project' && i.target!.startsWith('examples/') && !i.specifier.startsWith('chronicle/')) return false;
        if (i.file === 'examples/run.ts' && i.target === 'server/dev-database.ts') return false;
        return true;
      });
    expect(bad.map((i) => show(i, `examples show what users can write: use ${PUBLIC_ENTRY_POINTS.join(', ')}`))).toEqual([]);
  });

  it('has no import cycles among the modules of engine/ and sdk/', () => {
    const graph = new Map<string, string[]>();
    for (const i of allImports) {
      if (!isShippedModule(i.file) || !/^(engine|sdk)\//.test(i.file)) continue;
      if (!graph.has(i.file)) graph.set(i.file, []);
      if (i.kind === 'project' && /^(engine|sdk)\//.test(i.target!) && isShippedModule(i.target!)) graph.get(i.file)!.push(i.target!);
    }
    expect(graph.size).toBeGreaterThan(30);
    expect(findCycles(graph)).toEqual([]);
  });
});

describe('the checks themselves', () => {
  it('collect every form of import, and ignore comments', () => {
    const text = [
      "import a from 'node:fs';",
      "import type { B } from './b.js';",
      "export * from './c.js';",
      "export { d } from '../d.js';",
      "import e = require('e');",
      "const f = await import('./f.js');",
      "type G = import('./g.js').G;",
      "// import h from './h.js';",
      "/** @example import { i } from 'chronicle/i'; */",
      "const s = \"import j from './j.js'\";",
    ].join('\n');
    expect(moduleSpecifiers('x.ts', text)).toEqual([
      { specifier: 'node:fs', line: 1 },
      { specifier: './b.js', line: 2 },
      { specifier: './c.js', line: 3 },
      { specifier: '../d.js', line: 4 },
      { specifier: 'e', line: 5 },
      { specifier: './f.js', line: 6 },
      { specifier: './g.js', line: 7 },
    ]);
  });

  it('find a cycle, and only real ones', () => {
    const graph = new Map([
      ['a', ['b']],
      ['b', ['c', 'd']],
      ['c', ['a']],
      ['d', []],
      ['e', ['d']],
    ]);
    expect(findCycles(graph)).toEqual(['a → b → c → a']);
    expect(findCycles(new Map([['a', ['b']], ['b', []]]))).toEqual([]);
  });
});
