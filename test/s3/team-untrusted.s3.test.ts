// Issue 7, acceptance 3: what a bucket holds is untrusted input. Manifests with a `../` path, a
// sha256 that is not 64 hex digits, broken JSON or a size that does not match the blob, a tag on a
// missing version and a broken dataset.json — planted with the SDK — are each refused by name,
// nothing of them enters B's catalog, and a legitimate version committed in the same bucket is
// still applied by the same sync.
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { strata, strataJson, type CliOptions } from '../helpers/cli.js';
import { assertBuilt, expectFailure } from '../helpers/expect-cli.js';
import { writeFiles, type VersionJson } from '../helpers/fixtures.js';
import type { TestBucket } from '../helpers/s3-bucket.js';
import {
  catalogView,
  committed,
  createDataset,
  expectSameView,
  getOk,
  providerArgs,
  setTag,
  team,
  type ImportJson,
} from '../helpers/team.js';
import { tempDirs } from '../helpers/temp.js';
import { readTree } from '../helpers/tree.js';

const s3 = inject('s3');
const fresh = tempDirs('strata-team-untrusted-');
const buckets: TestBucket[] = [];

beforeAll(assertBuilt);
afterEach(async () => {
  for (const b of buckets.splice(0)) await b.destroy();
});

interface ManifestDocJson {
  format: string;
  datasetId: string;
  versionId: string;
  message: string;
  createdAt: string;
  committedAt: string;
  files: { path: string; size: number; sha256: string; mode: number; mtimeMs: number }[];
}

async function plant(bucket: TestBucket, key: string, body: string | object): Promise<string> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  await bucket.client.send(
    new PutObjectCommand({ Bucket: bucket.name, Key: key, Body: text, ContentType: 'application/json' }),
  );
  return key;
}

/** The part of an error message about one key: "KEY (reason)". */
function aboutKey(message: string, key: string): string {
  const at = message.indexOf(`${key} (`);
  expect(at, `${key} is not named in: ${message}`).toBeGreaterThanOrEqual(0);
  return message.slice(at).split('; ')[0]!;
}

/** A dataset with one committed, tagged version, and B's catalog imported from the bucket. */
async function shared(label: string): Promise<{
  bucket: TestBucket;
  a: CliOptions;
  b: CliOptions;
  datasetId: string;
  v1: VersionJson;
}> {
  const t = await team(s3!, label, fresh);
  buckets.push(t.bucket);
  const ds = await createDataset(t.a, 'mnist');
  const v1 = await committed(
    t.a,
    'mnist',
    writeFiles(join(fresh(), 'v1'), { 'a.txt': 'alpha\n', 'sub/b.txt': 'beta\n' }),
  );
  await setTag(t.a, v1.ref, 'prod');
  const imported = await strataJson<ImportJson>(providerArgs('import', s3!, t.bucket.name), t.b);
  expect(imported.sync.refused).toEqual([]);
  return { bucket: t.bucket, a: t.a, b: t.b, datasetId: ds.id, v1 };
}

describe.skipIf(!s3)('team untrusted input: planted documents are refused by key (Ceph RGW)', () => {
  it(
    'catalog sync refuses each planted manifest, tag and dataset.json by key (exit 5, plain and --json), leaves B’s catalog as it was, and applies A’s legitimate new version',
    { timeout: 120_000 },
    async () => {
      const { bucket, a, b, datasetId, v1 } = await shared('team-untrusted');
      const other = await createDataset(a, 'other');
      await strataJson(['catalog', 'sync'], b);
      const before = await expectSameView(a, b);
      expect(before.datasets.map((d) => d.name).sort()).toEqual(['mnist', 'other']);

      const good = await bucket.json<ManifestDocJson>(`datasets/${datasetId}/versions/${v1.id}.json`);
      const blob = good.files[0]!;
      const manifest = (versionId: string, file: Partial<ManifestDocJson['files'][number]>): ManifestDocJson => ({
        ...good,
        versionId,
        committedAt: new Date(Date.now() + 3_600_000).toISOString(), // would be `latest` if it got in
        files: [{ ...blob, ...file }],
      });
      const at = (versionId: string): string => `datasets/${datasetId}/versions/${versionId}.json`;
      const expected: Record<string, RegExp> = {
        [await plant(bucket, at('escape1'), manifest('escape1', { path: '../escape' }))]: /\.\.\/escape/,
        [await plant(bucket, at('badsha1'), manifest('badsha1', { sha256: 'abc123' }))]: /sha256 is not 64 hex/,
        [await plant(bucket, at('broken1'), '{"format": "strata.manifest/1", "files": [')]: /not valid JSON/,
        [await plant(bucket, at('sizes01'), manifest('sizes01', { size: blob.size + 1 }))]: /does not match its blob/,
        [await plant(bucket, `datasets/${datasetId}/tags/ghost.json`, {
          format: 'strata.tag/1',
          datasetId,
          name: 'ghost',
          versionId: 'nothere',
          updatedAt: new Date().toISOString(),
        })]: /nothere.*no manifest/,
        [await plant(bucket, `datasets/${other.id}/dataset.json`, '{"format": "strata.dataset/1", "id": ')]:
          /not valid JSON/,
      };

      // A, in the same bucket, commits a legitimate new version.
      const v2 = await committed(
        a,
        'mnist',
        writeFiles(join(fresh(), 'v2'), { 'a.txt': 'alpha 2\n', 'c.txt': 'gamma\n' }),
      );

      const { error } = await expectFailure(['catalog', 'sync'], b, 5);
      expect(error.code).toBe('EBADRECORD');
      expect(error.message).toMatch(/^refused 6 object\(s\) from the bucket: /);
      for (const [key, reason] of Object.entries(expected)) expect(aboutKey(error.message, key)).toMatch(reason);

      // B's catalog: exactly A's (v2 applied, none of the planted objects), in every listing.
      const after = await expectSameView(a, b);
      expect(after.datasets).toEqual(before.datasets);
      expect(after.tags).toEqual(before.tags);
      expect(after.versions.mnist!.map((v) => v.id).sort()).toEqual([v1.id, v2.id].sort());
      expect(after.versions.other).toEqual([]);
      expect(after.versions.mnist!.find((v) => v.id === v1.id)).toEqual(before.versions.mnist![0]);

      // A reader is not stopped by the junk: `latest` is A's v2, not a planted manifest.
      const out = fresh();
      await getOk(b, 'mnist:latest', out);
      expect(readTree(out).map((f) => f.path)).toEqual(['a.txt', 'c.txt']);

      // A third machine importing the bucket: the same refusals, the same catalog as A's.
      const c: CliOptions = { home: fresh() };
      const imported = await strata([...providerArgs('import', s3!, bucket.name), '--json'], c);
      expect(imported.code).toBe(5);
      const importError = JSON.parse(imported.stdout) as { error: { code: string; message: string } };
      for (const key of Object.keys(expected).filter((k) => !k.endsWith('dataset.json'))) {
        expect(importError.error.message).toContain(key);
      }
      const viewC = await catalogView(c);
      expect(viewC.datasets.map((d) => d.name)).toEqual(['mnist']);
      expect(viewC.versions.mnist).toEqual(after.versions.mnist);
      expect(viewC.tags.mnist).toEqual(after.tags.mnist);
    },
  );

  it(
    'a tag left on a version deleted from the bucket (a tag write racing a delete) is refused; the version still goes from B’s catalog',
    { timeout: 90_000 },
    async () => {
      const { bucket, a, b, datasetId, v1 } = await shared('team-dangling');
      const v2 = await committed(a, 'mnist', writeFiles(join(fresh(), 'v2'), { 'z.txt': 'zeta\n' }));
      await setTag(a, v1.ref, 'old');
      await strataJson(['catalog', 'sync'], b);
      await expectSameView(a, b);

      // A deletes v1 (its tags go with it) while B's write of `old` onto v1 lands just after.
      const oldTag = await bucket.text(`datasets/${datasetId}/tags/old.json`);
      await strataJson(['datasets', 'versions', 'delete', '--id', v1.ref, '--force'], a);
      const key = await plant(bucket, `datasets/${datasetId}/tags/old.json`, oldTag);

      const { error } = await expectFailure(['catalog', 'sync'], b, 5);
      expect(error.code).toBe('EBADRECORD');
      expect(aboutKey(error.message, key)).toMatch(new RegExp(`${v1.id}.*no manifest`));
      const view = await expectSameView(a, b);
      expect(view.versions.mnist!.map((v) => v.id)).toEqual([v2.id]);
      expect(view.tags.mnist).toEqual([]);
    },
  );
});
