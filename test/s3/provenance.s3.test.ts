// Issue 20: provenance travels in the committed manifest. A teammate who imports the bucket sees a
// job's output with the same provenance, named; a malformed provenance planted in a manifest is
// dropped with a warning and the version stays readable.
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { strata, strataJson } from '../helpers/cli.js';
import { assertBuilt } from '../helpers/expect-cli.js';
import { writeFiles } from '../helpers/fixtures.js';
import { parseJson, writeSpec, type SpecRunJson, type VersionDetailsJson } from '../helpers/jobs.js';
import type { TestBucket } from '../helpers/s3-bucket.js';
import { committed, createDataset, getOk, providerArgs, team, type ImportJson } from '../helpers/team.js';
import { tempDirs } from '../helpers/temp.js';

const s3 = inject('s3');
const fresh = tempDirs('strata-provenance-');
const buckets: TestBucket[] = [];

beforeAll(assertBuilt);
afterEach(async () => {
  for (const b of buckets.splice(0)) await b.destroy();
});

const SPEC = [
  'jobs:',
  '  prepare:',
  '    inputs: { raw: { type: dataset, with: { ref: raw } } }',
  '    outputs: { clean: { type: dataset, with: { ref: clean, storageProviderId: team } } }',
  '    run: tr a-z A-Z < "$STRATA_INPUT_RAW/a.txt" > "$STRATA_OUTPUT_CLEAN/clean.txt"',
];

describe.skipIf(!s3)('provenance in the bucket (Ceph RGW)', () => {
  it('an imported job output shows the same provenance, with names', { timeout: 120_000 }, async () => {
    const t = await team(s3!, 'prov', fresh);
    buckets.push(t.bucket);
    await createDataset(t.a, 'raw');
    const raw = await committed(t.a, 'raw', writeFiles(fresh(), { 'a.txt': 'alpha\n' }));
    const r = await strata(['jobs', 'run', '--file', writeSpec(join(fresh(), 'job.yaml'), ...SPEC), '--json'], t.a);
    expect(r.code, r.stderr).toBe(0);
    const runId = (parseJson<SpecRunJson>(r).jobs[0] as { runId: string }).runId;
    const mine = await strataJson<VersionDetailsJson>(['datasets', 'versions', 'details', '--id', 'clean'], t.a);
    expect(mine.provenance).toMatchObject({
      runId,
      job: 'prepare',
      exitCode: 0,
      inputs: [{ name: 'raw', datasetId: raw.datasetId, datasetName: 'raw', versionId: raw.id }],
    });

    const imported = await strataJson<ImportJson>(providerArgs('import', s3!, t.bucket.name), t.b);
    expect(imported.sync.refused).toEqual([]);
    const theirs = await strataJson<VersionDetailsJson>(['datasets', 'versions', 'details', '--id', 'clean'], t.b);
    expect(theirs.provenance).toEqual(mine.provenance);
    const lineage = await strata(['datasets', 'versions', 'lineage', '--id', 'clean', '--upstream'], t.b);
    expect(lineage.stdout).toContain(`raw: ${raw.ref} (raw)`);
  });

  it('a malformed provenance is dropped with a warning; the version stays readable', { timeout: 120_000 }, async () => {
    const t = await team(s3!, 'prov-bad', fresh);
    buckets.push(t.bucket);
    await createDataset(t.a, 'plain');
    const v = await committed(t.a, 'plain', writeFiles(fresh(), { 'x.txt': 'x\n' }));
    const key = `datasets/${v.datasetId}/versions/${v.id}.json`;
    const got = await t.bucket.client.send(new GetObjectCommand({ Bucket: t.bucket.name, Key: key }));
    const manifest = JSON.parse(await got.Body!.transformToString()) as Record<string, unknown>;
    manifest.provenance = {
      runId: 'run000000000000',
      job: 'x\u001b[31m',
      command: 'c',
      exitCode: 0,
      startedAt: '2026-12-05T10:00:00.000Z',
      endedAt: null,
      inputs: [],
    };
    await t.bucket.client.send(
      new PutObjectCommand({ Bucket: t.bucket.name, Key: key, Body: JSON.stringify(manifest) }),
    );

    const r = await strata([...providerArgs('import', s3!, t.bucket.name), '--json'], t.b);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr, r.stderr).toContain(
      `${key}: dropped its provenance (bad "job"); the version is usable without it`,
    );
    expect(parseJson<ImportJson>(r).sync.refused).toEqual([]);
    const details = await strataJson<VersionDetailsJson>(['datasets', 'versions', 'details', '--id', v.ref], t.b);
    expect(details.provenance).toBeNull();
    await getOk(t.b, v.ref, join(fresh(), 'out'));
  });
});
