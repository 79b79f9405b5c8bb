// A warm default-mode get of many files places them on several threads (src/cache/place-sync.ts):
// whichever thread takes a file, it is a verified copy, and a damaged blob is fetched again.
import { createHash } from 'node:crypto';
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { strataJson } from '../helpers/cli.js';
import { assertBuilt } from '../helpers/expect-cli.js';
import {
  cacheApartFromStorage,
  committedVersion,
  createDataset,
  listFilesJson,
  OTHER_FS,
} from '../helpers/fixtures.js';
import { tempDirs } from '../helpers/temp.js';
import { makeTree, randomBytesFrom, readTree, rng } from '../helpers/tree.js';

const fresh = tempDirs('strata-cache-threads-');
const apart = tempDirs('strata-cache-threads-', OTHER_FS);
const sha256Of = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');
const blobPath = (cache: string, sha: string): string => join(cache, 'blobs', 'sha256', sha.slice(0, 2), sha);

beforeAll(assertBuilt);

describe('placing a warm version on several threads', () => {
  it('places 1,500 files as verified copies, and blobs damaged anywhere among them are fetched again', async () => {
    expect(availableParallelism()).toBeGreaterThan(1); // else one thread places all: not this test
    // The cache apart from the local provider's storage: a separate copy to damage (docs/cache.md).
    const { o, cache } = cacheApartFromStorage(fresh, apart);
    const src = join(fresh(), 'data');
    makeTree(src, { count: 1500, seed: 21, maxSize: 600 });
    await createDataset(o);
    const v = await committedVersion(o, 'demo', `${src}/`);
    const get = (target: string): Promise<{ files: number; hits: number; misses: number; link: string }> =>
      strataJson(['datasets', 'files', 'get', '--id', v.ref, '--target-path', target], o);
    await get(join(fresh(), 'cold'));

    // Same size, other bytes, in blobs spread over the whole version: every thread meets some.
    const files = await listFilesJson(o, v.ref);
    const victims = files.filter((_, i) => i % 97 === 5);
    for (const [i, f] of victims.entries()) {
      const path = blobPath(cache, f.sha256!);
      chmodSync(path, 0o644);
      writeFileSync(path, randomBytesFrom(rng(100 + i), f.size));
      chmodSync(path, 0o444);
    }

    const out = join(fresh(), 'warm');
    // The damaged blobs are fetched again: misses of the cache.
    expect(await get(out)).toMatchObject({ files: 1500, misses: victims.length, link: 'copy' });
    expect(readTree(out)).toEqual(readTree(src));
    for (const f of victims) expect(sha256Of(blobPath(cache, f.sha256!))).toBe(f.sha256);
    // Every temp file was renamed into place or removed.
    const names = readdirSync(out, { recursive: true, encoding: 'utf8' });
    expect(names.filter((n) => n.includes('.strata-tmp-'))).toEqual([]);
    // Modes and times are the manifest's, whichever thread wrote the file.
    for (const f of files) {
      const info = statSync(join(out, f.path));
      expect([info.mode & 0o777, new Date(Math.floor(info.mtimeMs)).toISOString()]).toEqual([f.mode, f.mtime]);
    }
  });
});
