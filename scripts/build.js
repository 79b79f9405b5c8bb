// Builds dist/cli.js: every command, Strata's code and @oclif/core in one ES module (code loaded
// only on some paths — the S3 SDK, URL import — in chunks beside it). Loading ~600 small modules
// cost a third of every command's start-up; one file takes the module resolver out of it.
// Commands are found here, from src/commands (oclif's "explicit" discovery then reads COMMANDS).
// Type checking is tsc's (`npm run build` runs it first, with --noEmit).
import { build } from 'esbuild';
import { readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const commandsDir = join(root, 'src/commands');

function commandFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? commandFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

const files = commandFiles(commandsDir).sort();
const id = (file) => relative(commandsDir, file).slice(0, -'.ts'.length).split(sep).join(':');
const entry = [
  "export { execute } from '@oclif/core/execute';",
  ...files.map((f, i) => `import C${i} from './${relative(root, f)}';`),
  `export const COMMANDS = {\n${files.map((f, i) => `  '${id(f)}': C${i},`).join('\n')}\n};`,
].join('\n');

/** The generated entry, as a module esbuild can resolve beside the thread entries. */
const cliEntry = {
  name: 'cli-entry',
  setup(b) {
    b.onResolve({ filter: /^strata:cli$/ }, () => ({ path: 'cli-entry.ts', namespace: 'strata' }));
    b.onLoad({ filter: /.*/, namespace: 'strata' }, () => ({ contents: entry, resolveDir: root, loader: 'ts' }));
  },
};

await build({
  entryPoints: [
    { in: 'strata:cli', out: 'cli' },
    // Worker threads load their own entry, found beside cli.js.
    { in: join(root, 'src/cache/place-worker.ts'), out: 'place-worker' },
  ],
  plugins: [cliEntry],
  outdir: join(root, 'dist'),
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  // Native code, packages read from their own directories at run time (oclif loads plugin-help as
  // a plugin; typescript only for a development mode we do not use), and the S3 SDK, which is
  // large and loaded only when needed.
  external: ['better-sqlite3', '@oclif/plugin-help', 'typescript', '@aws-sdk/*', '@smithy/*'],
  // Bundled CommonJS (oclif) calls require(): give the ES module one.
  banner: {
    js: "import { createRequire as __strataRequire } from 'node:module';\nconst require = __strataRequire(import.meta.url);",
  },
});
