// What a person reads: the progress bar on a terminal, listings, and commands with nothing to do.
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN } from '../helpers/cli.js';
import { assertBuilt } from '../helpers/expect-cli.js';
import { createDataset, ok, openVersion, writeFiles } from '../helpers/fixtures.js';
import { tempDirs } from '../helpers/temp.js';

const fresh = tempDirs('strata-output-');

beforeAll(assertBuilt);

/**
 * Runs strata on a pseudo-terminal (util-linux's `script`, as a person's shell would give it), so
 * the progress bar is drawn; returns what the terminal showed, escape sequences included.
 */
function onTerminal(args: string[], home: string): string {
  const command = [process.execPath, BIN, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const r = spawnSync('script', ['-qec', command, '/dev/null'], {
    encoding: 'utf8',
    env: { ...process.env, NODE_ENV: undefined, STRATA_HOME: home },
  });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

describe.concurrent('output for people', () => {
  it('the progress bar counts bytes in units on both sides of the slash', async () => {
    const o = { home: fresh() };
    await createDataset(o);
    const v = await openVersion(o, 'demo');
    const src = writeFiles(fresh(), { 'a.bin': 'x'.repeat(40_000), 'b.bin': 'y'.repeat(20_000) });
    const shown = onTerminal(['datasets', 'files', 'put', '--id', v.ref, '--source-path', `${src}/`], o.home);
    expect(shown).toContain('| 2/2 files | 58.6 KiB/58.6 KiB |');
    expect(shown).not.toMatch(/B\/\d+ \|/);
  });

  it('files list: one line per file, with its mode in octal', async () => {
    const o = { home: fresh() };
    await createDataset(o);
    const v = await openVersion(o, 'demo');
    const src = writeFiles(fresh(), { 'a.txt': 'a', 'b.txt': 'b', 'c.txt': 'c' });
    await ok(['datasets', 'files', 'put', '--id', v.ref, '--source-path', `${src}/`], o);
    const lines = (await ok(['datasets', 'files', 'list', '--id', v.ref, '--recursive'], o)).trimEnd().split('\n');
    // top rule, header, three files, bottom rule
    expect(lines).toHaveLength(6);
    expect(lines.slice(2, 5).map((l) => l.split('│')[1]!.trim())).toEqual(['a.txt', 'b.txt', 'c.txt']);
    expect(lines[2]).toMatch(/│ 0644 │/);
  });

  it('files list read by a reader that stops early (| head -2) ends quietly with exit 0', async () => {
    const o = { home: fresh() };
    await createDataset(o);
    const v = await openVersion(o, 'demo');
    const files = Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`f${i}.txt`, `${i}`]));
    await ok(['datasets', 'files', 'put', '--id', v.ref, '--source-path', `${writeFiles(fresh(), files)}/`], o);
    const command = `'${process.execPath}' '${BIN}' datasets files list --id ${v.ref} --recursive | head -2; exit \${PIPESTATUS[0]}`;
    const r = spawnSync('bash', ['-c', command], { encoding: 'utf8', env: { ...process.env, STRATA_HOME: o.home } });
    expect(r.stdout.split('\n')).toHaveLength(3);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('catalog sync with no S3 provider says there is nothing to sync', async () => {
    const o = { home: fresh() };
    expect(await ok(['catalog', 'sync'], o)).toBe(
      "Nothing to sync: no S3 storage provider (the local one is this machine's own). Add one with strata storageProviders create s3 or import s3.\n",
    );
  });
});
