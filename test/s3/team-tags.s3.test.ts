// Issue 7, acceptance 2: A and B move the same tag at the same moment, 20 rounds of two parallel
// processes. Every round exactly one wins and the other gets a conflict (exit 4, ETAGMOVED) naming
// the winner's version; the tag object in the bucket always points at a version whose manifest
// exists: the winner's.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { strata, strataJson, type CliResult } from '../helpers/cli.js';
import { assertBuilt } from '../helpers/expect-cli.js';
import { writeFiles, type TagJson } from '../helpers/fixtures.js';
import type { TestBucket } from '../helpers/s3-bucket.js';
import { committed, createDataset, providerArgs, team, type ImportJson } from '../helpers/team.js';
import { tempDirs } from '../helpers/temp.js';

const s3 = inject('s3');
const fresh = tempDirs('strata-team-tags-');
const ROUNDS = 20;
let bucket: TestBucket | undefined;

beforeAll(assertBuilt);
afterAll(async () => {
  await bucket?.destroy();
});

interface TagDocJson {
  format: string;
  datasetId: string;
  name: string;
  versionId: string;
  updatedAt: string;
}

describe.skipIf(!s3)('team tags: two people move one tag at the same moment (Ceph RGW)', () => {
  it(
    `${ROUNDS} rounds: exactly one wins each round, the other gets ETAGMOVED naming the winner; the bucket's tag is always the winner's, on a version with a manifest`,
    { timeout: 150_000 },
    async () => {
      const t = await team(s3!, 'team-tags', fresh);
      bucket = t.bucket;
      const { a, b } = t;
      const ds = await createDataset(a, 'race');
      const x = await committed(a, 'race', writeFiles(join(fresh(), 'x'), { 'x.txt': 'version x\n' }));
      const y = await committed(a, 'race', writeFiles(join(fresh(), 'y'), { 'y.txt': 'version y\n' }));
      // Both versions are committed and in both catalogs before the first round.
      const imported = await strataJson<ImportJson>(providerArgs('import', s3!, bucket.name), b);
      expect(imported.sync.versions.added).toBe(2);

      const tagKey = `datasets/${ds.id}/tags/prod.json`;
      const wants = { A: x.id, B: y.id };
      const wins = { A: 0, B: 0 };
      for (let round = 1; round <= ROUNDS; round++) {
        const [ra, rb] = await Promise.all([
          strata(['datasets', 'tags', 'set', '--id', x.ref, '--name', 'prod', '--json'], a),
          strata(['datasets', 'tags', 'set', '--id', y.ref, '--name', 'prod', '--json'], b),
        ]);
        const why = `round ${round}\nA: ${ra.code} ${ra.stdout}${ra.stderr}\nB: ${rb.code} ${rb.stdout}${rb.stderr}`;
        expect([ra.code, rb.code].sort(), why).toEqual([0, 4]);
        const [winner, loser]: ['A' | 'B', 'A' | 'B'] = ra.code === 0 ? ['A', 'B'] : ['B', 'A'];
        const out: Record<'A' | 'B', CliResult> = { A: ra, B: rb };
        wins[winner]++;

        const won = JSON.parse(out[winner].stdout) as TagJson;
        expect(won, why).toMatchObject({ datasetId: ds.id, name: 'prod', versionId: wants[winner] });
        expect(out[loser].stderr, why).toBe('');
        const lost = JSON.parse(out[loser].stdout) as { error: { code: string; message: string } };
        expect(lost.error.code, why).toBe('ETAGMOVED');
        expect(lost.error.message, why).toContain(`${ds.id}:${wants[winner]}`);

        const doc = await bucket.json<TagDocJson>(tagKey);
        expect(doc, why).toMatchObject({ datasetId: ds.id, name: 'prod', versionId: wants[winner] });
        expect(doc.updatedAt, why).toBe(won.updatedAt);
        expect(await bucket.exists(`datasets/${ds.id}/versions/${doc.versionId}.json`), why).toBe(true);
      }
      expect(wins.A + wins.B).toBe(ROUNDS);

      // Each loser's catalog learned where the tag went: both say what the bucket says.
      const final = await bucket.json<TagDocJson>(tagKey);
      const [ta, tb] = await Promise.all([
        strataJson<TagJson[]>(['datasets', 'tags', 'list', '--id', 'race'], a),
        strataJson<TagJson[]>(['datasets', 'tags', 'list', '--id', 'race'], b),
      ]);
      expect(ta).toEqual([expect.objectContaining({ name: 'prod', versionId: final.versionId })]);
      expect(tb).toEqual(ta);
    },
  );
});
