import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, ROOT } from '../helpers/expect-cli.js';
import { tempDirs } from '../helpers/temp.js';

const fresh = tempDirs('strata-launcher-');

beforeAll(assertBuilt);

const sha256 = (bytes: Buffer): Buffer => createHash('sha256').update(bytes).digest();

/** A private copy of the built CLI (bin, dist, package.json, manifest; node_modules linked), as installed. */
function install(): string {
  const dir = fresh();
  for (const f of ['bin', 'dist', 'package.json', '.oclif.manifest.json']) {
    cpSync(join(ROOT, f), join(dir, f), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

function run(dir: string, args: string[]): { code: number | null; stdout: string; stderr: string } {
  const home = fresh();
  const r = spawnSync(process.execPath, [join(dir, 'bin/run.cjs'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, NODE_ENV: undefined, STRATA_HOME: home },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the launcher and its code cache', () => {
  it('the build leaves a code cache made from the bundle beside it', () => {
    const cache = readFileSync(join(ROOT, 'dist/cli.cjs.cache'));
    expect(cache.subarray(0, 32)).toEqual(sha256(readFileSync(join(ROOT, 'dist/cli.cjs'))));
    expect(cache.length).toBeGreaterThan(32 + 1024);
  });

  it("never runs another bundle's compiled code, even one of the same length, and makes its own cache", () => {
    const dir = install();
    const bundle = join(dir, 'dist/cli.cjs');
    const cacheFile = `${bundle}.cache`;
    const before = run(dir, ['datasets', 'details', '--id', 'nosuch']);
    expect(before).toMatchObject({ code: 3, stderr: expect.stringContaining('not found; see: strata datasets list') });

    // The same length, so V8 would take the old cache for it: the launcher must not offer it.
    const source = readFileSync(bundle, 'utf8');
    const edited = source.replace('not found; see: strata datasets list', 'NOT FOUND; see: strata datasets list');
    expect(edited).not.toBe(source);
    expect(edited.length).toBe(source.length);
    writeFileSync(bundle, edited);
    const after = run(dir, ['datasets', 'details', '--id', 'nosuch']);
    expect(after).toMatchObject({ code: 3, stderr: expect.stringContaining('NOT FOUND; see: strata datasets list') });
    expect(readFileSync(cacheFile).subarray(0, 32)).toEqual(sha256(Buffer.from(edited)));
  });

  it('a damaged cache or none at all only costs the compile: the CLI runs and writes a good one', () => {
    const dir = install();
    const bundle = join(dir, 'dist/cli.cjs');
    const cacheFile = `${bundle}.cache`;
    const version = run(dir, ['--version']).stdout;
    expect(version).toMatch(/^strata\/\d/);

    // The right bundle's digest, then bytes V8 refuses.
    writeFileSync(cacheFile, Buffer.concat([sha256(readFileSync(bundle)), Buffer.from('not a code cache')]));
    expect(run(dir, ['--version'])).toEqual({ code: 0, stdout: version, stderr: '' });
    expect(readFileSync(cacheFile).length).toBeGreaterThan(32 + 1024);

    // V8 takes the cache it wrote: the next run leaves it alone.
    const written = statSync(cacheFile).ino;
    expect(run(dir, ['--version'])).toEqual({ code: 0, stdout: version, stderr: '' });
    expect(statSync(cacheFile).ino).toBe(written);

    rmSync(cacheFile);
    expect(run(dir, ['--version'])).toEqual({ code: 0, stdout: version, stderr: '' });
    expect(readFileSync(cacheFile).subarray(0, 32)).toEqual(sha256(readFileSync(bundle)));
  });

  it("the README's install (npm install -g of the clone) gives a strata that runs from anywhere", () => {
    const prefix = fresh();
    const npm = spawnSync('npm', ['install', '-g', '--prefix', prefix, ROOT, '--no-audit', '--no-fund'], {
      encoding: 'utf8',
      env: { ...process.env, NODE_ENV: undefined },
    });
    expect({ code: npm.status, stderr: npm.stderr }).toMatchObject({ code: 0 });
    const home = fresh();
    const r = spawnSync(join(prefix, 'bin/strata'), ['datasets', 'create', '--name', 'demo', '--json'], {
      encoding: 'utf8',
      cwd: fresh(),
      env: { ...process.env, NODE_ENV: undefined, STRATA_HOME: home },
    });
    expect({ code: r.status, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(JSON.parse(r.stdout)).toMatchObject({ name: 'demo' });
  });
});
