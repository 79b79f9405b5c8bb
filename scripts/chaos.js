// `npm run chaos`: bundles the chaos run (test/chaos/main.ts, TypeScript that shares the tests'
// helpers) with esbuild and runs it with the arguments given. Packages stay external.
import { build } from 'esbuild';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = new URL('..', import.meta.url).pathname;
// Inside the project, so the bundle's bare imports resolve to its node_modules.
mkdirSync(join(root, 'node_modules/.cache'), { recursive: true });
const out = mkdtempSync(join(root, 'node_modules/.cache/strata-chaos-'));
const entry = join(out, 'chaos.mjs');
await build({
  entryPoints: [join(root, 'test/chaos/main.ts')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  outfile: entry,
  // The helpers find the repository from their own place (two levels down): keep it so.
  define: {
    'import.meta.dirname': JSON.stringify(join(root, 'test/chaos')),
    'import.meta.url': JSON.stringify(pathToFileURL(join(root, 'test/chaos/main.ts')).href),
  },
  logLevel: 'warning',
});
try {
  await import(pathToFileURL(entry).href);
} finally {
  rmSync(out, { recursive: true, force: true });
}
