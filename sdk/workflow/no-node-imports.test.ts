// STYLE.md: sdk/workflow imports no Node built-in; proven by esbuild's metafile.
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { describe, expect, it } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Every import of a Node built-in in the graph of `entry`, as `importer → specifier`. */
async function nodeImports(entry: string): Promise<string[]> {
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'neutral',
    format: 'esm',
    logLevel: 'silent',
    // Keep built-ins external so that they show up in the metafile instead of failing resolution.
    external: ['node:*', ...builtinModules],
  });
  const found: string[] = [];
  for (const [file, input] of Object.entries(result.metafile.inputs)) {
    for (const imported of input.imports) {
      if (imported.path.startsWith('node:') || builtinModules.includes(imported.path.split('/')[0])) {
        found.push(`${file} → ${imported.path}`);
      }
    }
  }
  return found;
}

describe('sdk/workflow', () => {
  it('bundles for a neutral platform with no node: imports', async () => {
    expect(await nodeImports(path.join(here, 'index.ts'))).toEqual([]);
    expect(await nodeImports(path.join(here, 'worker-interface.ts'))).toEqual([]);
  });

  it('the check does catch a Node import (so the test above can fail)', async () => {
    const found = await nodeImports(path.join(here, '../worker/__fixtures__/node-import.ts'));
    expect(found).toEqual(['sdk/worker/__fixtures__/node-import.ts → node:fs']);
  });
});
