// Builds dist/cli.cjs: every command, Strata's code and @oclif/core in one CommonJS file, and
// dist/thread.cjs, the entry of Strata's worker threads (src/transfer/threads.ts). One file,
// because loading ~600 small modules cost a third of every command's start-up. CommonJS, because
// bin/run.cjs compiles it with V8's code cache (vm.Script cachedData), which Node 20 offers for
// scripts and not for ES modules: compiling the bundle afresh was another third. Code only some paths need
// (the S3 SDK, URL import) stays in the file but runs only when first required.
// Commands are found here, from src/commands (oclif's "explicit" discovery then reads COMMANDS);
// the hooks of package.json's oclif.hooks are exports of the bundle too.
// Type checking is tsc's (`npm run build` runs it first, with --noEmit).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
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
  "export { commandNotFound as COMMAND_NOT_FOUND } from './src/ui/not-found.ts';",
  ...files.map((f, i) => `import C${i} from './${relative(root, f)}';`),
  `export const COMMANDS = {\n${files.map((f, i) => `  '${id(f)}': C${i},`).join('\n')}\n};`,
].join('\n');

/** The generated entry, as a module esbuild can resolve beside the thread entry. */
const cliEntry = {
  name: 'cli-entry',
  setup(b) {
    b.onResolve({ filter: /^strata:cli$/ }, () => ({ path: 'cli-entry.ts', namespace: 'strata' }));
    b.onLoad({ filter: /.*/, namespace: 'strata' }, () => ({ contents: entry, resolveDir: root, loader: 'ts' }));
  },
};

/**
 * oclif sorts each plugin's commands with localeCompare at every start, and the first
 * localeCompare builds ICU's collator: ~10 ms of a quick command. Command ids are ASCII, so
 * comparing code units gives the same order. The build fails if oclif's line changes.
 */
const oclifSort = {
  name: 'oclif-sort',
  setup(b) {
    b.onLoad({ filter: /@oclif[\\/]core[\\/]lib[\\/]config[\\/]plugin\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const sort = '.sort((a, b) => a.id.localeCompare(b.id))';
      if (!source.includes(sort)) throw new Error(`${args.path} no longer sorts with "${sort}": review this plugin`);
      return {
        contents: source.replace(sort, '.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))'),
        loader: 'js',
      };
    });
  },
};

await build({
  entryPoints: [
    { in: 'strata:cli', out: 'cli' },
    { in: join(root, 'src/thread.ts'), out: 'thread' },
  ],
  plugins: [cliEntry, oclifSort],
  outdir: join(root, 'dist'),
  outExtension: { '.js': '.cjs' },
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  define: { 'import.meta.url': '__strataModuleUrl' },
  banner: { js: "const __strataModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  sourcemap: true,
  logLevel: 'warning',
  // Native code, packages read from their own directories at run time (typescript only for a
  // development mode we do not use), and the S3 SDK, which is large and required only when needed.
  external: ['better-sqlite3', 'typescript', '@aws-sdk/*', '@smithy/*'],
});

// The web app of `strata ui`: its own files, read only by that command (no other command loads
// them). Bundled with its libraries (Preact, dagre), so the page needs no network at run time.
const webOut = join(root, 'dist/web');
await mkdir(webOut, { recursive: true });
await build({
  entryPoints: [join(root, 'web/src/main.tsx')],
  outfile: join(webOut, 'app.js'),
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2022',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
});
await Promise.all(['index.html', 'app.css'].map((f) => copyFile(join(root, 'web', f), join(webOut, f))));

// The code cache: the launcher writes it when it finds none (see bin/run.cjs).
execFileSync(process.execPath, [join(root, 'bin/run.cjs'), '--version'], { stdio: 'ignore' });
