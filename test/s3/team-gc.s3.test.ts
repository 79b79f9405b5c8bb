// Issue 7, acceptance 4: after a version is deleted, gc removes exactly the blobs no manifest and
// no draft in the bucket references (counted from the manifests), nothing with --dry-run or within
// the grace period, and never the blobs of an uncommitted version; the other versions stay intact
// (verify --deep).
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { strata, strataJson } from '../helpers/cli.js';
import { assertBuilt } from '../helpers/expect-cli.js';
import { writeFiles, type PutJson, type VersionJson } from '../helpers/fixtures.js';
import type { TestBucket } from '../helpers/s3-bucket.js';
import { committed, createDataset, providerArgs, team } from '../helpers/team.js';
import { tempDirs } from '../helpers/temp.js';

const s3 = inject('s3');
const fresh = tempDirs('strata-team-gc-');
let bucket: TestBucket | undefined;

beforeAll(assertBuilt);
afterAll(async () => {
  await bucket?.destroy();
});

interface GcJson {
  providerId: string;
  dryRun: boolean;
  graceSeconds: number;
  manifests: number;
  drafts: number;
  staleDrafts: string[];
  referenced: number;
  removed: { sha256: string; size: number }[];
  removedBytes: number;
  keptYoung: number;
}

interface FilesDocJson {
  files: { path: string; size: number; sha256: string }[];
}

const sha = (text: string): string => createHash('sha256').update(text).digest('hex');
const blobKey = (hex: string): string => `blobs/sha256/${hex.slice(0, 2)}/${hex}`;

/** Contents by role: shared by v1 and v2, only in v1, only in v2, only in the uncommitted v3. */
const SHARED = { 'shared/a.txt': 'shared a\n', 'shared/b.txt': 'shared b\n', 'shared/c.txt': 'shared c\n' };
const ONLY_V1 = { 'one/1.txt': 'only v1 #1\n', 'one/2.txt': 'only v1 #2\n', 'one/3.txt': 'only v1 #3 xx\n' };
const ONLY_V1_KEPT_BY_DRAFT = { 'one/4.txt': 'only v1, also in the draft\n' };
const ONLY_V2 = { 'two/1.txt': 'only v2 #1\n', 'two/2.txt': 'only v2 #2\n' };
const ONLY_DRAFT = { 'draft/1.txt': 'uncommitted #1\n', 'draft/2.txt': 'uncommitted #2\n' };

describe.skipIf(!s3)('team gc: garbage collection of a shared bucket (Ceph RGW)', () => {
  it(
    'gc after a version is deleted removes exactly the blobs nothing references, nothing on a dry run or within the grace period, never a draft’s blobs; the other versions verify --deep',
    { timeout: 150_000 },
    async () => {
      // Each blob its own object, to name exactly those gc removes; gc of packs: packs-gc.s3.test.ts.
      const t = await team(s3!, 'team-gc', fresh, ['--no-packs']);
      bucket = t.bucket;
      const { a, b } = t;
      const ds = await createDataset(a, 'gcds');
      const v1 = await committed(
        a,
        'gcds',
        writeFiles(join(fresh(), 'v1'), { ...SHARED, ...ONLY_V1, ...ONLY_V1_KEPT_BY_DRAFT }),
      );
      const v2 = await committed(a, 'gcds', writeFiles(join(fresh(), 'v2'), { ...SHARED, ...ONLY_V2 }));
      // v3: files put, not committed; it has a draft in the bucket.
      const v3 = await strataJson<VersionJson>(['datasets', 'versions', 'create', '--id', 'gcds'], a);
      const draftDir = writeFiles(join(fresh(), 'v3'), {
        ...ONLY_DRAFT,
        'kept/copy.txt': ONLY_V1_KEPT_BY_DRAFT['one/4.txt'],
      });
      await strataJson<PutJson>(['datasets', 'files', 'put', '--id', v3.ref, '--source-path', `${draftDir}/`], a);
      const draftKey = `datasets/${ds.id}/drafts/${v3.id}.json`;
      expect(await bucket.exists(draftKey)).toBe(true);

      const v1Manifest = await bucket.json<FilesDocJson>(`datasets/${ds.id}/versions/${v1.id}.json`);
      await strataJson(['datasets', 'versions', 'delete', '--id', v1.ref, '--force'], a);

      // What gc must remove, from the bucket's documents: v1's blobs that no remaining manifest or
      // draft names.
      const referenced = new Set<string>();
      const docs = (await bucket.keys('datasets/')).filter((k) => /\/(versions|drafts)\/[^/]+\.json$/.test(k));
      expect(docs.sort()).toEqual([`datasets/${ds.id}/versions/${v2.id}.json`, draftKey].sort());
      for (const key of docs) for (const f of (await bucket.json<FilesDocJson>(key)).files) referenced.add(f.sha256);
      const doomed = new Map(
        v1Manifest.files.filter((f) => !referenced.has(f.sha256)).map((f) => [f.sha256, f.size] as const),
      );
      // ... which are the three files only v1 held (the fourth is kept by the draft).
      expect([...doomed.keys()].sort()).toEqual(Object.values(ONLY_V1).map(sha).sort());
      const doomedBytes = [...doomed.values()].reduce((x, y) => x + y, 0);
      const expectedRemoved = [...doomed].map(([sha256, size]) => ({ sha256, size }));
      const byHash = (x: { sha256: string }, y: { sha256: string }): number => x.sha256.localeCompare(y.sha256);
      expectedRemoved.sort(byHash);

      const before = await bucket.keys();
      const blobsBefore = before.filter((k) => k.startsWith('blobs/'));
      expect(blobsBefore).toHaveLength(
        new Set([SHARED, ONLY_V1, ONLY_V1_KEPT_BY_DRAFT, ONLY_V2, ONLY_DRAFT].flatMap((f) => Object.values(f))).size,
      );

      // Dry run, no grace: lists exactly those, removes nothing.
      const dry = await strataJson<GcJson>(['gc', '--storageProviderId', 'team', '--dry-run', '--grace', '0s'], a);
      expect({ ...dry, removed: [...dry.removed].sort(byHash) }).toEqual({
        providerId: expect.any(String),
        dryRun: true,
        graceSeconds: 0,
        manifests: 1,
        drafts: 1,
        staleDrafts: [],
        referenced: referenced.size,
        removed: expectedRemoved,
        removedBytes: doomedBytes,
        keptYoung: 0,
        packs: { removed: 0, removedBytes: 0, repacked: 0, rewrittenBytes: 0, refused: [] },
      });
      const text = await strata(['gc', '--storageProviderId', 'team', '--dry-run', '--grace', '0s'], a);
      expect(text.code).toBe(0);
      expect(text.stdout.split('\n')[0]).toMatch(/^Would remove 3 blob\(s\), /);
      for (const hex of doomed.keys()) expect(text.stdout).toContain(hex);
      expect(await bucket.keys()).toEqual(before);

      // The default grace (24 h): every unreferenced blob is young, nothing goes. The collection
      // announced itself in gc/state.json (generation 1, done).
      const young = await strataJson<GcJson>(['gc', '--storageProviderId', 'team'], a);
      expect(young).toMatchObject({ dryRun: false, graceSeconds: 86_400, removed: [], removedBytes: 0, keptYoung: 3 });
      expect(await bucket.keys()).toEqual([...before, 'gc/state.json'].sort());
      expect(await bucket.json('gc/state.json')).toEqual({
        format: 'strata.gc/1',
        generation: 1,
        removedIn: 0,
        active: null,
      });
      before.push('gc/state.json');
      before.sort();

      // B, who has never seen the uncommitted v3, collects with no grace: exactly those blobs go.
      await strataJson(providerArgs('import', s3!, bucket.name), b);
      const done = await strataJson<GcJson>(['gc', '--storageProviderId', 'team', '--grace', '0s'], b);
      expect([...done.removed].sort(byHash)).toEqual(expectedRemoved);
      expect(done).toMatchObject({ dryRun: false, removedBytes: doomedBytes, keptYoung: 0, manifests: 1, drafts: 1 });
      expect(await bucket.json('gc/state.json')).toEqual({
        format: 'strata.gc/1',
        generation: 2,
        removedIn: 2,
        active: null,
      });
      const after = await bucket.keys();
      expect(after).toEqual(before.filter((k) => !doomed.has(k.slice(k.lastIndexOf('/') + 1))));
      expect(before.length - after.length).toBe(3);
      for (const hex of doomed.keys()) expect(after).not.toContain(blobKey(hex));

      // Nothing more to collect.
      const again = await strataJson<GcJson>(['gc', '--storageProviderId', 'team', '--grace', '0s'], b);
      expect(again.removed).toEqual([]);

      // v2 is intact, for A and for B; the draft's blobs are all there, and v3 commits and verifies.
      const [verifyA, verifyB] = await Promise.all([
        strata(['datasets', 'versions', 'verify', '--id', v2.ref, '--deep', '--json'], a),
        strata(['datasets', 'versions', 'verify', '--id', v2.ref, '--deep', '--json'], b),
      ]);
      expect([verifyA.code, verifyB.code], verifyA.stdout + verifyB.stdout).toEqual([0, 0]);
      const draft = await bucket.json<FilesDocJson>(draftKey);
      expect(draft.files.map((f) => f.path).sort()).toEqual(['draft/1.txt', 'draft/2.txt', 'kept/copy.txt']);
      for (const f of draft.files) expect(after).toContain(blobKey(f.sha256));
      await strataJson(['datasets', 'versions', 'commit', '--id', v3.ref], a);
      expect(await bucket.exists(draftKey)).toBe(false);
      const verify3 = await strata(['datasets', 'versions', 'verify', '--id', v3.ref, '--deep', '--json'], a);
      expect(verify3.code, verify3.stdout).toBe(0);
    },
  );
});
