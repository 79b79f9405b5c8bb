// Issue 7, acceptance 1: two STRATA_HOMEs on one bucket. What A creates, commits, tags, moves and
// deletes reaches B through the bucket alone (import, catalog sync, or the sync `files get` does
// before it resolves a ref); `--offline` reads B's catalog as it was.
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { strata, strataJson, type CliOptions } from '../helpers/cli.js';
import { assertBuilt } from '../helpers/expect-cli.js';
import type { DatasetJson, TagJson, VersionJson } from '../helpers/fixtures.js';
import type { TestBucket } from '../helpers/s3-bucket.js';
import {
  committed,
  createDataset,
  expectSameView,
  getFiles,
  getOk,
  providerArgs,
  setTag,
  team,
  type ImportJson,
  type SyncJson,
} from '../helpers/team.js';
import { tempDirs } from '../helpers/temp.js';
import { makeTree, readTree, type TreeEntry } from '../helpers/tree.js';

const s3 = inject('s3');
const fresh = tempDirs('strata-team-sync-');
const buckets: TestBucket[] = [];

beforeAll(assertBuilt);
afterEach(async () => {
  for (const b of buckets.splice(0)) await b.destroy();
});

/** A directory of generated files (seeded: the same seed gives the same bytes). */
function source(seed: number, count = 25): { dir: string; tree: TreeEntry[] } {
  const dir = join(fresh(), 'src');
  makeTree(dir, { count, seed, maxSize: 3000 });
  return { dir, tree: readTree(dir) };
}

/** B's `files get` of ref into a fresh directory: the tree it wrote. */
async function bGets(b: CliOptions, ref: string, ...flags: string[]): Promise<TreeEntry[]> {
  const out = fresh();
  await getOk(b, ref, out, ...flags);
  return readTree(out);
}

describe.skipIf(!s3)('team sync: two catalogs on one bucket (Ceph RGW)', () => {
  it(
    'import: B sees A’s dataset, versions and tags; ds:prod and ds:latest follow A’s moves without an explicit sync; deletions reach B at its next sync, --offline keeps the old state',
    { timeout: 150_000 },
    async () => {
      const { bucket, a, b } = await team(s3!, 'team-sync-import', fresh);
      buckets.push(bucket);
      const one = source(1);
      const two = source(2);
      const three = source(3);

      const ds = await createDataset(a, 'cifar');
      const v1 = await committed(a, 'cifar', one.dir);
      await setTag(a, v1.ref, 'prod');

      const imported = await strataJson<ImportJson>(providerArgs('import', s3!, bucket.name), b);
      expect(imported.provider).toMatchObject({ name: 'team', type: 's3' });
      expect(imported.sync).toMatchObject({
        datasets: { added: 1, updated: 0, removed: 0 },
        versions: { added: 1, removed: 0 },
        tags: { set: 1, removed: 0 },
        refused: [],
      });
      const listed = await strataJson<DatasetJson[]>(['datasets', 'list'], b);
      expect(listed).toEqual([
        {
          ...ds,
          storageProviderId: imported.provider.id,
          storageProviderName: 'team',
        },
      ]);
      await expectSameView(a, b);
      expect(await bGets(b, 'cifar:prod')).toEqual(one.tree);

      // A commits a second version, moves prod onto it and tags it staging.
      const v2 = await committed(a, 'cifar', two.dir);
      await Promise.all([setTag(a, v2.ref, 'prod'), setTag(a, v2.ref, 'staging')]);
      // Offline, B reads its catalog as it was: prod is still v1.
      expect(await bGets(b, 'cifar:prod', '--offline')).toEqual(one.tree);
      // B's next get (no explicit sync) gets the new prod.
      expect(await bGets(b, 'cifar:prod')).toEqual(two.tree);

      // latest: A commits v3 (untagged) and tags v1 `old`.
      const [v3] = await Promise.all([committed(a, 'cifar', three.dir), setTag(a, v1.ref, 'old')]);
      expect(await bGets(b, 'cifar:latest', '--offline')).toEqual(two.tree);
      expect(await bGets(b, 'cifar:latest')).toEqual(three.tree);
      expect(await bGets(b, 'cifar', '--offline')).toEqual(three.tree);
      await expectSameView(a, b);
      const bVersions = await strataJson<VersionJson[]>(['datasets', 'versions', 'list', '--id', 'cifar'], b);
      expect(bVersions.map((v) => [v.id, v.isCommitted, v.tags])).toEqual(
        expect.arrayContaining([
          [v1.id, true, ['old']],
          [v2.id, true, ['prod', 'staging']],
          [v3.id, true, []],
        ]),
      );
      expect(bVersions).toHaveLength(3);

      // A deletes v1 (with its tag `old`) and the tag staging.
      await Promise.all([
        strataJson(['datasets', 'versions', 'delete', '--id', v1.ref, '--force'], a),
        strataJson(['datasets', 'tags', 'delete', '--id', 'cifar:staging'], a),
      ]);
      expect(await bucket.exists(`datasets/${ds.id}/versions/${v1.id}.json`)).toBe(false);
      expect(await bucket.exists(`datasets/${ds.id}/tags/old.json`)).toBe(false);
      expect(await bucket.exists(`datasets/${ds.id}/tags/staging.json`)).toBe(false);

      // Offline, B still has them (the blobs stay in the bucket until gc).
      const offline = await Promise.all([
        bGets(b, `cifar:${v1.id}`, '--offline'),
        bGets(b, 'cifar:old', '--offline'),
        bGets(b, 'cifar:staging', '--offline'),
        strataJson<TagJson[]>(['datasets', 'tags', 'list', '--id', 'cifar'], b),
      ]);
      expect(offline.slice(0, 3)).toEqual([one.tree, one.tree, two.tree]);
      expect((offline[3] as TagJson[]).map((t) => t.name)).toEqual(['old', 'prod', 'staging']);

      const [synced] = await strataJson<SyncJson[]>(['catalog', 'sync'], b);
      expect(synced).toMatchObject({
        providerId: imported.provider.id,
        datasets: { added: 0, updated: 0, removed: 0 },
        versions: { added: 0, removed: 1 },
        versionRefs: { added: [], removed: [{ ref: v1.ref, dataset: 'cifar' }] },
        refused: [],
      });

      const view = await expectSameView(a, b);
      expect(view.versions.cifar!.map((v) => v.id).sort()).toEqual([v2.id, v3.id].sort());
      expect(view.tags.cifar!.map((t) => [t.name, t.versionId])).toEqual([['prod', v2.id]]);
      const gone = await Promise.all(
        [`cifar:${v1.id}`, 'cifar:old', 'cifar:staging'].map((ref) => getFiles(b, ref, fresh(), '--offline')),
      );
      expect(gone.map((r) => [r.code, r.stdout])).toEqual([
        [3, ''],
        [3, ''],
        [3, ''],
      ]);
      expect(await bGets(b, 'cifar:prod', '--offline')).toEqual(two.tree);
    },
  );

  it(
    'create s3 + catalog sync: B lists A’s datasets after a sync, gets ds:prod byte for byte, and its next get follows A’s move of prod',
    { timeout: 120_000 },
    async () => {
      const { bucket, a, b } = await team(s3!, 'team-sync-create', fresh);
      buckets.push(bucket);
      const one = source(11);
      const two = source(12);

      const ds = await createDataset(a, 'imagenet');
      const [, v1, other] = await Promise.all([
        strataJson(['datasets', 'update', '--id', 'imagenet', '--description', 'the 1k classes'], a),
        committed(a, 'imagenet', one.dir),
        createDataset(a, 'empty-one'),
      ]);
      await setTag(a, v1.ref, 'prod');

      // Before a sync, a provider made with create knows nothing of the bucket's datasets.
      const provider = await strataJson<{ id: string }>(providerArgs('create', s3!, bucket.name), b);
      const [none, unknown] = await Promise.all([
        strataJson<DatasetJson[]>(['datasets', 'list'], b),
        getFiles(b, 'imagenet:prod', fresh(), '--json'),
      ]);
      expect(none).toEqual([]);
      expect(unknown.code).toBe(3);

      const [synced] = await strataJson<SyncJson[]>(['catalog', 'sync', '--storageProviderId', 'team'], b);
      expect(synced).toEqual({
        providerId: provider.id,
        providerName: 'team',
        datasets: { added: 2, updated: 0, removed: 0 },
        versions: { added: 1, removed: 0 },
        versionRefs: { added: [{ ref: v1.ref, dataset: 'imagenet' }], removed: [] },
        tags: { set: 1, removed: 0 },
        refused: [],
      });
      const view = await expectSameView(a, b);
      expect(view.datasets.map((d) => [d.id, d.name, d.description]).sort()).toEqual(
        [
          [ds.id, 'imagenet', 'the 1k classes'],
          [other.id, 'empty-one', ''],
        ].sort(),
      );
      // B gets prod; a second sync, with nothing new, changes nothing.
      const [tree, again] = await Promise.all([
        bGets(b, 'imagenet:prod'),
        strataJson<SyncJson[]>(['catalog', 'sync'], b),
      ]);
      expect(tree).toEqual(one.tree);
      expect(again[0]).toMatchObject({
        datasets: { added: 0, updated: 0, removed: 0 },
        versions: { added: 0, removed: 0 },
        tags: { set: 0, removed: 0 },
      });

      // A commits v2 and moves prod onto it, and deletes the other dataset.
      const v2 = await committed(a, 'imagenet', two.dir);
      await Promise.all([
        setTag(a, v2.ref, 'prod'),
        strataJson(['datasets', 'delete', '--id', 'empty-one', '--force'], a),
      ]);
      expect(await bucket.keys(`datasets/${other.id}/`)).toEqual([]);
      // B's next sync drops the deleted dataset and names the new version, with its dataset's name.
      const text = await strata(['catalog', 'sync'], b);
      expect(text.stdout).toMatch(new RegExp(`│ team \\(${provider.id}\\) +│ 0/0/1 +│ 1/0 +│ 1/0 +│`));
      expect(text.stdout).toContain(`\n+ ${v2.ref} (imagenet)\n`);
      expect(await bGets(b, 'imagenet:prod')).toEqual(two.tree);
      expect(await bGets(b, 'imagenet:latest', '--offline')).toEqual(two.tree);
      const [settled] = await strataJson<SyncJson[]>(['catalog', 'sync'], b);
      expect(settled?.datasets).toEqual({ added: 0, updated: 0, removed: 0 });
      expect((await expectSameView(a, b)).datasets.map((d) => d.name)).toEqual(['imagenet']);
    },
  );
});
