// gc reads a manifest larger than it parses whole (8 MiB) as it streams (src/storage/doc-shas.ts):
// every blob it names is kept, down to the last entry, and a damaged one stops the gc with nothing
// removed, as a small one does.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { strata, strataJson } from '../helpers/cli.js';
import { assertBuilt } from '../helpers/expect-cli.js';
import { writeFiles } from '../helpers/fixtures.js';
import { committed, createDataset, team } from '../helpers/team.js';
import { tempDirs } from '../helpers/temp.js';

const s3 = inject('s3');
const fresh = tempDirs('strata-gc-large-');
beforeAll(assertBuilt);

const sha = (text: string): string => createHash('sha256').update(text).digest('hex');
const FILES = { 'a.txt': 'named by every padding entry\n', 'b.txt': 'named by v1 alone\n', 'c.txt': 'named last\n' };

interface ManifestJson {
  files: { path: string; size: number; sha256: string; mode: number; mtimeMs: number }[];
}

describe.skipIf(!s3)('gc and a manifest too large to parse whole (Ceph RGW)', () => {
  it(
    'keeps every blob it names, the last one too; a damaged one stops gc with nothing removed',
    { timeout: 120_000 },
    async () => {
      const { bucket, a } = await team(s3!, 'gc-large', fresh, ['--no-packs']);
      try {
        const ds = await createDataset(a, 'big');
        const v1 = await committed(a, 'big', writeFiles(join(fresh(), 'v1'), FILES));
        const v1Key = `datasets/${ds.id}/versions/${v1.id}.json`;
        const manifest = await bucket.json<ManifestJson & Record<string, unknown>>(v1Key);
        const [fileA, , fileC] = ['a.txt', 'b.txt', 'c.txt'].map((p) => manifest.files.find((f) => f.path === p)!);
        // Another version's manifest, of 70,000 files (~9 MB): all of A's content but the last, C.
        const padding = Array.from({ length: 70_000 }, (_, i) => ({
          ...fileA!,
          path: `pad/${String(i).padStart(6, '0')}.txt`,
        }));
        const big = { ...manifest, versionId: 'zzzzzzz', files: [...padding, { ...fileC!, path: 'zz/last.txt' }] };
        const bigKey = `datasets/${ds.id}/versions/zzzzzzz.json`;
        const text = JSON.stringify(big);
        expect(text.length).toBeGreaterThan(8 * 1024 * 1024);
        const upload = (body: string): Promise<unknown> =>
          bucket.client.send(new PutObjectCommand({ Bucket: bucket.name, Key: bigKey, Body: body }));
        await upload(text);
        await strataJson(['datasets', 'versions', 'delete', '--id', v1.ref, '--force'], a);

        const gc = await strataJson<{ manifests: number; referenced: number; removed: { sha256: string }[] }>(
          ['gc', '--storageProviderId', 'team', '--grace', '0s'],
          a,
        );
        expect(gc).toMatchObject({ manifests: 1, referenced: 2, removed: [{ sha256: sha(FILES['b.txt']) }] });
        const blobs = await bucket.keys('blobs/');
        expect(blobs.map((k) => k.split('/').at(-1)).sort()).toEqual([fileA!.sha256, fileC!.sha256].sort());

        // Cut short: refused by the scan, the gc stops, both blobs stay.
        await upload(text.slice(0, -10));
        const stopped = await strata(['gc', '--storageProviderId', 'team', '--grace', '0s'], a);
        expect(stopped.code).not.toBe(0);
        expect(stopped.stderr.trim()).toMatch(
          /refusing datasets\/dst[a-z0-9]+\/versions\/zzzzzzz\.json: not valid JSON \(it ends early\); garbage collection stopped, nothing was removed$/,
        );
        expect(await bucket.keys('blobs/')).toEqual(blobs);
      } finally {
        await bucket.destroy();
      }
    },
  );
});
