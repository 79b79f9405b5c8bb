// Packed blobs in the team cache (docs/cache.md, "Packed blobs"), against Ceph RGW: a cold get of
// packed blobs keeps them in one cache file per pack, at their offsets in the pack; later gets of
// any link mode read them from there, checked, and a damaged or missing one is fetched again.
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createHash } from 'node:crypto';
import { strataJson, type CliOptions } from '../helpers/cli.js';
import { assertBuilt } from '../helpers/expect-cli.js';
import { listFilesJson } from '../helpers/fixtures.js';
import type { TestBucket } from '../helpers/s3-bucket.js';
import { committed, onTeamBucket } from '../helpers/team.js';
import { tempDirs } from '../helpers/temp.js';
import { readTree } from '../helpers/tree.js';
import { packTables } from '../helpers/packs.js';

const s3 = inject('s3');
const fresh = tempDirs('strata-s3-cache-packs-');

beforeAll(assertBuilt);

interface GetJson {
  files: number;
  hits: number;
  misses: number;
  link: string;
}

function tree(dir: string, count: number, size: number): string {
  for (let i = 0; i < count; i++) {
    mkdirSync(join(dir, `d${i % 3}`), { recursive: true });
    writeFileSync(join(dir, `d${i % 3}`, `f${i}.bin`), randomBytes(size));
  }
  return dir;
}

/** The files under a cache directory's blobs/ or packs/ shards. */
const cached = (o: CliOptions, of: 'blobs' | 'packs'): string[] => {
  const root = join(o.home, 'cache', of, 'sha256');
  return existsSync(root) ? readdirSync(root).flatMap((shard) => readdirSync(join(root, shard))) : [];
};

const get = (o: CliOptions, ref: string, target: string, ...flags: string[]): Promise<GetJson> =>
  strataJson<GetJson>(['datasets', 'files', 'get', '--id', ref, '--target-path', target, ...flags], o);

/** Where a blob is in its pack, and the path of the cache's file of that pack. */
async function located(
  bucket: TestBucket,
  o: CliOptions,
  sha256: string,
): Promise<{ path: string; offset: number; size: number }> {
  const { tables } = await packTables(bucket);
  const table = tables.find((t) => t.blobs.some(([sha]) => sha === sha256))!;
  const [, offset, size] = table.blobs.find(([sha]) => sha === sha256)!;
  return { path: join(o.home, 'cache', 'packs', 'sha256', table.pack.slice(0, 2), table.pack), offset, size };
}

function readAt(path: string, offset: number, size: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const bytes = Buffer.alloc(size);
    readSync(fd, bytes, 0, size, offset);
    return bytes;
  } finally {
    closeSync(fd);
  }
}

function flipAt(path: string, offset: number): void {
  const byte = readAt(path, offset, 1);
  const fd = openSync(path, 'r+');
  writeSync(fd, Buffer.from([byte[0]! ^ 0xff]), 0, 1, offset);
  closeSync(fd);
}

const sha256Of = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

const withTeam = onTeamBucket(s3!, fresh);

describe('packed blobs in the cache (Ceph RGW)', () => {
  it(
    'a cold get keeps packed blobs in one file per pack; warm, hardlink and other versions read them from there',
    withTeam('cache-packs', async ({ bucket, a }) => {
      const src = tree(fresh(), 60, 3000);
      const v1 = await committed(a, 'ds', src);
      expect(await get(a, v1.ref, fresh())).toMatchObject({ files: 60, hits: 0, misses: 60, link: 'copy' });
      expect(cached(a, 'blobs')).toEqual([]);
      expect(cached(a, 'packs').length).toBeGreaterThanOrEqual(1);

      const warm = fresh();
      expect(await get(a, v1.ref, warm)).toMatchObject({ files: 60, hits: 60, misses: 0 });
      expect(readTree(warm)).toEqual(readTree(src));

      // A hardlink needs a blob file: each is made from the pack file, none fetched but the one
      // damaged there.
      const damaged = (await listFilesJson(a, v1.ref))[11]!.sha256!;
      const at = await located(bucket, a, damaged);
      flipAt(at.path, at.offset + 5);
      const linked = fresh();
      expect(await get(a, v1.ref, linked, '--link', 'hardlink')).toMatchObject({ hits: 59, misses: 1 });
      const content = (dir: string) => readTree(dir).map(({ path, sha256 }) => ({ path, sha256 })); // read-only links: their own modes and times
      expect(content(linked)).toEqual(content(src));
      expect(cached(a, 'blobs')).toHaveLength(60);

      // A second version: only its new files are fetched.
      tree(src, 5, 2500);
      writeFileSync(join(src, 'new.bin'), randomBytes(2222));
      const v2 = await committed(a, 'ds', src);
      const out = fresh();
      expect(await get(a, v2.ref, out)).toMatchObject({ files: 61, misses: 6 });
      expect(readTree(out)).toEqual(readTree(src));
    }),
  );

  it(
    'a damaged blob in a pack file is fetched again and rewritten there; cache verify zeroes one it finds',
    withTeam('cache-packs-bad', async ({ bucket, a }) => {
      const src = tree(fresh(), 30, 2000);
      const v = await committed(a, 'ds', src);
      await get(a, v.ref, fresh());
      const [first, second] = (await listFilesJson(a, v.ref)).slice(3, 5);

      const one = await located(bucket, a, first!.sha256!);
      flipAt(one.path, one.offset + 7);
      const out = fresh();
      expect(await get(a, v.ref, out)).toMatchObject({ files: 30, misses: 1 });
      expect(readTree(out)).toEqual(readTree(src));
      expect(sha256Of(readAt(one.path, one.offset, one.size))).toBe(first!.sha256);

      const two = await located(bucket, a, second!.sha256!);
      flipAt(two.path, two.offset);
      const verified = await strataJson<{ checked: number; dropped: string[] }>(['cache', 'verify'], a);
      expect(verified).toMatchObject({ checked: 30, dropped: [second!.sha256] });
      expect(readAt(two.path, two.offset, two.size).every((b) => b === 0)).toBe(true);
      expect(await get(a, v.ref, fresh())).toMatchObject({ misses: 1 });
    }),
  );

  it(
    'cache stats counts pack files; prune evicts them, and the next get fetches again',
    withTeam('cache-packs-prune', async ({ a }) => {
      const v = await committed(a, 'ds', tree(fresh(), 20, 1500));
      await get(a, v.ref, fresh());
      const stats = await strataJson<{ blobs: number; packFiles: number; size: number }>(['cache', 'stats'], a);
      expect(stats).toMatchObject({ blobs: 0, packFiles: cached(a, 'packs').length });
      expect(stats.size).toBeGreaterThanOrEqual(20 * 1500);
      await strataJson(['cache', 'prune', '--max-size', '0'], a);
      expect(cached(a, 'packs')).toEqual([]);
      expect(await get(a, v.ref, fresh())).toMatchObject({ misses: 20 });
    }),
  );
});
