// Issue 15: the short profile of `npm run chaos` in `npm test`: every scenario's trials against
// the test server, each proved by the checker. A row with anything lost, corrupt, divergent, left
// over or unfinished fails its test, with the notes of what went wrong.
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateMultipartUploadCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { assertBuilt } from '../helpers/expect-cli.js';
import { tempDirs } from '../helpers/temp.js';
import { clean, runScenario, scenarios, table, type Row } from './run.js';
import { check } from './check.js';
import { committedVersion, makeTrees, treesAt, type Trees } from './scenario.js';
import { Trial } from './trial.js';

const s3 = inject('s3');
const fresh = tempDirs('strata-chaos-');
const rows: Row[] = [];
let scratch = '';
let trees: Trees;

beforeAll(() => {
  assertBuilt();
  scratch = fresh();
  trees = treesAt(join(scratch, 'trees'));
  makeTrees(trees, 'short');
});
afterAll(() => {
  if (rows.length > 0) process.stderr.write(`\n${table(rows)}\n`);
});

// The scenario names, known before the trees are made (in beforeAll).
const names = scenarios(treesAt('')).map((s) => s.name);

describe.skipIf(!s3)('chaos, short profile (Ceph RGW)', () => {
  it('the checker finds what it is there to find: a lost file, a divergent manifest, a temp file, an open upload', async () => {
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

  it.for(names)(
    '%s: 0 lost, 0 corrupt, 0 divergent, 0 temp files left, every trial finished',
    { timeout: 300_000 },
    async (name) => {
      const scenario = scenarios(trees).find((s) => s.name === name)!;
      const row = await runScenario(scenario, { s3: s3!, profile: 'short', seed: 1 }, scratch);
      rows.push(row);
      expect(clean(row), `${table([row])}\n${row.notes.join('\n')}`).toBe(true);
    },
  );
});
