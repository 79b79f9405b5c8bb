// The chaos run's checker finds what it is there to find: planted faults are counted.
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateMultipartUploadCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { assertBuilt } from '../helpers/expect-cli.js';
import { tempDirs } from '../helpers/temp.js';
import { check } from './check.js';
import { committedVersion, makeTrees, treesAt } from './scenario.js';
import { Trial } from './trial.js';

const s3 = inject('s3');
const fresh = tempDirs('strata-chaos-checker-');

beforeAll(assertBuilt);

describe.skipIf(!s3)('the chaos checker (Ceph RGW)', () => {
  it('counts a lost file, a manifest the bucket changed, a temp file and an open upload', async () => {
    const scratch = fresh();
    const trees = treesAt(join(scratch, 'trees'));
    makeTrees(trees, 'short');
    const t = await Trial.open(s3!, 'checker', scratch);
    try {
      const ref = await committedVersion(t, trees.small);
      const more = t.dir('more');
      cpSync(trees.small, more, { recursive: true, preserveTimestamps: true });
      writeFileSync(join(more, 'one-more.txt'), 'the version never had this\n');
      t.expected.set(ref, more);
      const [datasetId, versionId] = ref.split(':');
      const key = `datasets/${datasetId}/versions/${versionId}.json`;
      const manifest = await t.bucket.json<{ files: unknown[] }>(key);
      manifest.files.pop();
      await t.bucket.client.send(
        new PutObjectCommand({ Bucket: t.bucket.name, Key: key, Body: JSON.stringify(manifest) }),
      );
      writeFileSync(join(t.a.home, 'storage-tmp.strata-tmp-x'), ''); // not a temp name: not counted
      writeFileSync(join(t.a.home, '.strata-tmp-left-behind'), '');
      await t.bucket.client.send(new CreateMultipartUploadCommand({ Bucket: t.bucket.name, Key: 'abandoned' }));
      expect(await check(t)).toMatchObject({ lost: 1, corrupt: 0, divergent: 1, tempFiles: 1, other: 1 });
    } finally {
      await t.close();
    }
  });
});
