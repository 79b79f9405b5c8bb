// Invariant 4 against Ceph RGW: an object whose bytes changed in the bucket (rewritten with
// PutObject, same length) is caught by files get and by `versions verify --deep`; plain verify only
// checks presence, and fails on an object deleted from the bucket.
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { strata, strataJson, type CliOptions } from '../helpers/cli.js';
import { assertBuilt, expectErrorLine, expectFailure } from '../helpers/expect-cli.js';
import { listFilesJson, writeFiles, type VersionJson } from '../helpers/fixtures.js';
import { createS3ProviderArgs, TestBucket } from '../helpers/s3-bucket.js';
import { statFiles } from '../helpers/snapshot.js';
import { tempDirs } from '../helpers/temp.js';
import { makeTree, randomBytesFrom, readTree, rng } from '../helpers/tree.js';

const s3 = inject('s3');
const fresh = tempDirs('strata-s3-integrity-');
const VICTIM_SIZE = 2 * 1024 * 1024;

beforeAll(assertBuilt);

/** A committed version on a fresh bucket: 30 small files plus `models/victim.bin` (2 MiB: an object of its own, not in a pack). */
async function setup(
  label: string,
): Promise<{ o: CliOptions; bucket: TestBucket; v: VersionJson; src: string; key: string }> {
  const bucket = await TestBucket.create(s3!, label);
  const o: CliOptions = { home: fresh() };
  await strataJson(createS3ProviderArgs(s3!, bucket.name, 'ceph'), o);
  await strataJson(['datasets', 'create', '--name', 'demo', '--storageProviderId', 'ceph'], o);
  const src = join(fresh(), 'data');
  makeTree(src, { count: 30, seed: 31 });
  writeFiles(src, { 'models/readme.txt': 'weights below\n' });
  writeFileSync(join(src, 'models', 'victim.bin'), randomBytesFrom(rng(6), VICTIM_SIZE));
  const v = await strataJson<VersionJson>(
    ['datasets', 'versions', 'create', '--id', 'demo', '--source-path', `${src}/`],
    o,
  );
  const sha = (await listFilesJson(o, v.ref)).find((f) => f.path === 'models/victim.bin')!.sha256!;
  return { o, bucket, v, src, key: `blobs/sha256/${sha.slice(0, 2)}/${sha}` };
}

/** Rewrites the object with other bytes of the same length, behind Strata's back. */
async function corrupt(bucket: TestBucket, key: string): Promise<void> {
  await bucket.client.send(
    new PutObjectCommand({ Bucket: bucket.name, Key: key, Body: randomBytesFrom(rng(77), VICTIM_SIZE) }),
  );
}

describe.skipIf(!s3).concurrent('integrity against Ceph RGW', () => {
  it('a rewritten object: plain verify passes, verify --deep and files get fail with exit 5 naming the file', async () => {
    const { o, bucket, v, src, key } = await setup('corrupt');
    try {
      await corrupt(bucket, key);
      expect(await strataJson(['datasets', 'versions', 'verify', '--id', v.ref], o)).toMatchObject({
        ref: v.ref,
        deep: false,
        files: 32,
      });
      const { line, error } = await expectFailure(['datasets', 'versions', 'verify', '--id', v.ref, '--deep'], o, 5);
      expect(line).toContain('models/victim.bin');
      expect(error.code).toBe('EINTEGRITY');

      for (const mode of [[], ['--no-cache']]) {
        const out = fresh();
        const r = await strata(['datasets', 'files', 'get', '--id', v.ref, '--target-path', out, ...mode], o);
        expect(expectErrorLine(r, 5), mode.join(' ')).toContain('models/victim.bin');
        const written = statFiles(out).map((f) => f.path);
        expect(written).not.toContain('models/victim.bin');
        expect(written.filter((p) => p.includes('tmp'))).toEqual([]);
      }

      // The right bytes back in the bucket: get and verify --deep pass again.
      await bucket.client.send(
        new PutObjectCommand({ Bucket: bucket.name, Key: key, Body: readFileSync(join(src, 'models/victim.bin')) }),
      );
      await strataJson(['datasets', 'versions', 'verify', '--id', v.ref, '--deep'], o);
      const out = fresh();
      await strataJson(['datasets', 'files', 'get', '--id', v.ref, '--target-path', out], o);
      expect(readTree(out)).toEqual(readTree(src));
    } finally {
      await bucket.destroy();
    }
  });

  it('a deleted object fails plain verify with exit 5, naming the file', async () => {
    const { o, bucket, v, key } = await setup('deleted');
    try {
      await bucket.client.send(new DeleteObjectCommand({ Bucket: bucket.name, Key: key }));
      const { line, error } = await expectFailure(['datasets', 'versions', 'verify', '--id', v.ref], o, 5);
      expect(line).toContain('models/victim.bin');
      expect(line).toContain('missing');
      expect(error.code).toBe('EINTEGRITY');
    } finally {
      await bucket.destroy();
    }
  });
});
