// chronicle/common is imported by workflow code too (`ApplicationFailure` from '@temporalio/common'
// becomes 'chronicle/common'), so it must bundle for the sandbox: no Node built-in in its graph.
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { describe, expect, it } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));

describe('chronicle/common', () => {
  it('bundles for a neutral platform with no node: imports', async () => {
    const result = await esbuild.build({
      entryPoints: [path.join(here, 'index.ts')],
      bundle: true,
      write: false,
      metafile: true,
      platform: 'neutral',
      format: 'esm',
      logLevel: 'silent',
      external: ['node:*', ...builtinModules],
    });
    const nodeImports = Object.entries(result.metafile.inputs).flatMap(([file, input]) =>
      input.imports.filter((i) => i.path.startsWith('node:') || builtinModules.includes(i.path.split('/')[0]!)).map((i) => `${file} → ${i.path}`),
    );
    expect(nodeImports).toEqual([]);
  });
});
