// Invariant 4 on the local provider: a blob whose bytes changed in storage (same size: only the
// hash can tell) is caught by every read — files get through the cache and without it — and by
// `versions verify --deep`; plain `verify` only checks presence (and size), and fails on a missing blob.
import { existsSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { strata, strataJson, type CliOptions } from '../helpers/cli.js';
import { assertBuilt, expectErrorLine, expectFailure } from '../helpers/expect-cli.js';
import { committedVersion, createDataset, listFilesJson, writeFiles, type VersionJson } from '../helpers/fixtures.js';
import { statFiles } from '../helpers/snapshot.js';
import { tempDirs } from '../helpers/temp.js';
import { makeTree, randomBytesFrom, readTree, rng } from '../helpers/tree.js';

const fresh = tempDirs('strata-integrity-');

beforeAll(assertBuilt);

interface Setup {
  o: CliOptions;
  v: VersionJson;
  src: string;
  /** the storage path of the blob of `victim` */
  blob: string;
  sha256: string;
  size: number;
}

/** A committed version of 40 small files plus `models/victim.bin` (64 KiB). */
async function setup(): Promise<Setup> {
  const o = { home: fresh() };
  const src = join(fresh(), 'data');
  makeTree(src, { count: 40, seed: 21 });
  writeFiles(src, { 'models/readme.txt': 'weights below\n' });
  writeFileSync(join(src, 'models', 'victim.bin'), randomBytesFrom(rng(5), 64 * 1024));
  await createDataset(o);
  const v = await committedVersion(o, 'demo', `${src}/`);
  const victim = (await listFilesJson(o, v.ref)).find((f) => f.path === 'models/victim.bin')!;
  const sha256 = victim.sha256!;
  const blob = join(o.home, 'storage', 'blobs', 'sha256', sha256.slice(0, 2), sha256);
  return { o, v, src, blob, sha256, size: victim.size };
}

/** Other bytes, same length. */
function corrupt(path: string, size: number): void {
  writeFileSync(path, randomBytesFrom(rng(99), size));
}

const verify = (o: CliOptions, ref: string, ...flags: string[]) =>
  strata(['datasets', 'versions', 'verify', '--id', ref, ...flags], o);

describe.concurrent('integrity of the blobs in storage (local provider)', () => {
  it('a corrupted blob: plain verify passes (present, right size); verify --deep and files get (with and without the cache) fail with exit 5 naming the file', async () => {
    const { o, v, src, blob, sha256, size } = await setup();
    expect(await strataJson(['datasets', 'versions', 'verify', '--id', v.ref, '--deep'], o)).toMatchObject({
      ref: v.ref,
      deep: true,
      files: 42,
    });
    corrupt(blob, size);
    expect(await strataJson(['datasets', 'versions', 'verify', '--id', v.ref], o)).toMatchObject({
      ref: v.ref,
      deep: false,
      files: 42,
      blobs: 42,
    });
    const deep = await expectFailure(['datasets', 'versions', 'verify', '--id', v.ref, '--deep'], o, 5);
    expect(deep.line).toContain('models/victim.bin');
    expect(deep.line).toContain('1 blob(s) failed');
    expect(deep.error.code).toBe('EINTEGRITY');

    // Straight from storage: exit 5, the file does not appear, no temp file is left, nothing cached.
    const direct = fresh();
    const noCache = await expectFailure(
      ['datasets', 'files', 'get', '--id', v.ref, '--target-path', direct, '--no-cache'],
      o,
      5,
    );
    expect(noCache.line).toContain('models/victim.bin');
    expect(statFiles(direct).map((f) => f.path)).not.toContain('models/victim.bin');
    expect(statFiles(direct).filter((f) => f.path.includes('tmp'))).toEqual([]);
    expect(existsSync(join(o.home, 'cache'))).toBe(false);

    // Through the cache: the same, and the bad bytes are not cached.
    const out = fresh();
    const line = expectErrorLine(await strata(['datasets', 'files', 'get', '--id', v.ref, '--target-path', out], o), 5);
    expect(line).toContain('models/victim.bin');
    expect(statFiles(out).map((f) => f.path)).not.toContain('models/victim.bin');
    expect(statFiles(out).filter((f) => f.path.includes('tmp'))).toEqual([]);
    const cache = join(o.home, 'cache');
    expect(statFiles(join(cache, 'blobs')).map((f) => f.path)).not.toContain(`sha256/${sha256.slice(0, 2)}/${sha256}`);
    expect(statFiles(join(cache, 'tmp'))).toEqual([]);

    // Repaired in storage (the right bytes again), the same get succeeds and gives the exact tree.
    writeFileSync(blob, readFileSync(join(src, 'models', 'victim.bin')));
    await strataJson(['datasets', 'files', 'get', '--id', v.ref, '--target-path', out], o);
    expect(readTree(out)).toEqual(readTree(src));
  });

  it('a deleted blob and a truncated one fail plain verify with exit 5, naming both files', async () => {
    const { o, v, blob } = await setup();
    rmSync(blob);
    const readme = (await listFilesJson(o, v.ref)).find((f) => f.path === 'models/readme.txt')!;
    truncateSync(join(o.home, 'storage', 'blobs', 'sha256', readme.sha256!.slice(0, 2), readme.sha256!), 3);
    const { line, error } = await expectFailure(['datasets', 'versions', 'verify', '--id', v.ref], o, 5);
    expect(line).toContain('2 blob(s) failed');
    expect(line).toMatch(/models\/victim\.bin \(blob \w+… missing\)/);
    expect(line).toContain('models/readme.txt');
    expect(error.code).toBe('EINTEGRITY');
    expect(expectErrorLine(await verify(o, v.ref, '--deep'), 5)).toContain('models/victim.bin');
  });
});
