// Issue 18 against Ceph RGW: small files travel in packs (docs/packs.md). Each test reads the bucket
// with the SDK, not through Strata: packs and their tables, the format document, what a put killed
// inside pack assembly or upload leaves, and what a damaged pack or a hostile table does.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { strata, strataJson, type CliOptions } from '../helpers/cli.js';
import { assertBuilt, expectFailure } from '../helpers/expect-cli.js';
import { listFilesJson, type PutJson, type VersionJson } from '../helpers/fixtures.js';
import type { TestBucket } from '../helpers/s3-bucket.js';
import { committed, getOk, onTeamBucket, providerArgs, type ImportJson } from '../helpers/team.js';
import { tempDirs } from '../helpers/temp.js';
import { readTree } from '../helpers/tree.js';
import { packTables, type PackTable } from '../helpers/packs.js';

const s3 = inject('s3');
const fresh = tempDirs('strata-s3-packs-');

beforeAll(assertBuilt);

/** `count` files of `size` random bytes each under dir (plus any `extra` files), returned. */
function tree(dir: string, count: number, size: number, extra: Record<string, Buffer> = {}, name = 'f'): string {
  for (let i = 0; i < count; i++) {
    const path = join(dir, `d${i % 4}`, `${name}${i}.bin`);
    mkdirSync(join(dir, `d${i % 4}`), { recursive: true });
    writeFileSync(path, randomBytes(size));
  }
  for (const [name, bytes] of Object.entries(extra)) writeFileSync(join(dir, name), bytes);
  return dir;
}

const withTeam = onTeamBucket(s3!, fresh);

const putInto = async (o: CliOptions, ref: string, src: string, env: NodeJS.ProcessEnv = {}) =>
  strata(['datasets', 'files', 'put', '--id', ref, '--source-path', `${src}/`, '--json'], { ...o, env });

const openVersion = (o: CliOptions): Promise<VersionJson> =>
  strataJson<VersionJson>(['datasets', 'versions', 'create', '--id', 'ds'], o);

/** Every table's pack is in the bucket, as large as the table says; no blob is in two packs. */
function expectSoundPacks(tables: PackTable[], packSizes: Map<string, number>): void {
  const seen = new Set<string>();
  for (const t of tables) {
    expect(packSizes.get(t.pack), `pack of ${t.key}`).toBe(t.size);
    for (const [sha] of t.blobs) {
      expect(seen.has(sha), `${sha} in two packs`).toBe(false);
      seen.add(sha);
    }
  }
}

describe.skipIf(!s3).concurrent('packs against Ceph RGW', () => {
  it(
    'small files go into packs and large ones stay loose; get, get --no-cache and verify --deep read them; a second version stores nothing',
    withTeam('packs-basic', async ({ bucket, a }) => {
      const src = tree(fresh(), 300, 3000, { 'big.bin': randomBytes(3 * 1024 * 1024), 'empty.txt': Buffer.alloc(0) });
      const v1 = await committed(a, 'ds', src);

      const keys = await bucket.keys();
      const { tables } = await packTables(bucket);
      expect(tables.length).toBeGreaterThan(0);
      const packed = new Set(tables.flatMap((t) => t.blobs.map(([sha]) => sha)));
      const files = await listFilesJson(a, v1.ref);
      const big = files.find((f) => f.path === 'big.bin')!;
      expect(keys).toContain(`blobs/sha256/${big.sha256!.slice(0, 2)}/${big.sha256}`);
      for (const f of files.filter((f) => f.path !== 'big.bin')) expect(packed.has(f.sha256!), f.path).toBe(true);
      expect(keys.filter((k) => k.startsWith('blobs/'))).toHaveLength(1);
      expect(await bucket.json('strata.json')).toEqual({ format: 'strata.bucket/1', features: ['packs/1'] });

      for (const flags of [[], ['--no-cache']]) {
        const out = fresh();
        await getOk(a, v1.ref, out, ...flags);
        expect(readTree(out), flags.join(' ')).toEqual(readTree(src));
      }
      await strataJson(['datasets', 'versions', 'verify', '--id', v1.ref, '--deep'], a);

      const v2 = await openVersion(a);
      const again = await putInto(a, v2.ref, src);
      expect(again.code, again.stderr).toBe(0);
      expect((JSON.parse(again.stdout) as PutJson).bytesUploaded).toBe(0);
      expect((await packTables(bucket)).tables).toHaveLength(tables.length);
    }),
  );

  for (const fault of ['pack:sealed', 'pack:after-pack', 'pack:after-table']) {
    it(
      `a put killed at ${fault} and run again stores the rest: every file verifies, no pack is stored twice, no table names a missing pack`,
      withTeam(`packs-${fault.replace(':', '-')}`, async ({ bucket, a }) => {
        const src = tree(fresh(), 44, 512 * 1024); // 22 MiB: two packs
        const v = await openVersion(a);
        const killed = await putInto(a, v.ref, src, { STRATA_FAULT: fault });
        expect(killed.signal).toBe('SIGKILL');
        const before = await packTables(bucket);
        const rerun = await putInto(a, v.ref, src);
        expect(rerun.code, rerun.stderr).toBe(0);
        const after = await packTables(bucket);
        expectSoundPacks(after.tables, after.packSizes);
        // What the killed put completed (a pack with its table) is not stored again.
        for (const t of before.tables) expect(after.tables.map((x) => x.key)).toContain(t.key);
        const sent = (JSON.parse(rerun.stdout) as PutJson).bytesUploaded;
        const kept = before.tables.reduce((n, t) => n + t.size, 0);
        expect(sent).toBe(44 * 512 * 1024 - kept);

        await strataJson(['datasets', 'versions', 'commit', '--id', v.ref], a);
        await strataJson(['datasets', 'versions', 'verify', '--id', v.ref, '--deep'], a);
        const out = fresh();
        await getOk(a, v.ref, out);
        expect(readTree(out)).toEqual(readTree(src));
      }),
    );
  }

  it(
    'a byte flipped inside a pack: get, get --no-cache and verify --deep fail with exit 5 naming the file',
    withTeam('packs-flip', async ({ bucket, a }) => {
      const src = tree(fresh(), 20, 4000);
      const v = await committed(a, 'ds', src);
      const victim = (await listFilesJson(a, v.ref)).find((f) => f.path === 'd1/f5.bin')!;
      const { tables } = await packTables(bucket);
      const table = tables.find((t) => t.blobs.some(([sha]) => sha === victim.sha256))!;
      const [, offset] = table.blobs.find(([sha]) => sha === victim.sha256)!;
      const pack = Buffer.from(await bucket.bytes(table.packKey));
      pack[offset + 100]! ^= 0xff;
      await bucket.client.send(new PutObjectCommand({ Bucket: bucket.name, Key: table.packKey, Body: pack }));

      const { line, error } = await expectFailure(['datasets', 'versions', 'verify', '--id', v.ref, '--deep'], a, 5);
      expect(line).toContain('d1/f5.bin');
      expect(error.code).toBe('EINTEGRITY');
      for (const flags of [[], ['--no-cache']]) {
        const failed = await expectFailure(
          ['datasets', 'files', 'get', '--id', v.ref, '--target-path', fresh(), ...flags],
          a,
          5,
        );
        expect(failed.line, flags.join(' ')).toContain('d1/f5.bin');
      }
    }),
  );

  it(
    'hostile pack tables are refused by import, each named, and the rest of the bucket is imported',
    withTeam('packs-hostile', async ({ bucket, a, b }) => {
      const src = tree(fresh(), 30, 2000);
      const v = await committed(a, 'ds', src);
      const plant = async (key: string, body: string | Buffer): Promise<void> => {
        await bucket.client.send(new PutObjectCommand({ Bucket: bucket.name, Key: key, Body: body }));
      };
      const table = (id: string, size: number, blobs: [string, number, number][]): string =>
        JSON.stringify({ format: 'strata.pack/1', pack: id, size, blobs });
      const sha = (n: number): string => n.toString(16).padStart(64, 'c');
      const id = (c: string): string => c.repeat(64);
      const keyOf = (packId: string, ext: string): string => `packs/${packId.slice(0, 2)}/${packId}.${ext}`;
      await plant(keyOf(id('a'), 'pack'), Buffer.alloc(100));
      await plant(keyOf(id('a'), 'json'), table(id('a'), 100, [[sha(1), 90, 20]]));
      await plant(keyOf(id('b'), 'pack'), Buffer.alloc(100));
      await plant(
        keyOf(id('b'), 'json'),
        table(id('b'), 100, [
          [sha(2), 0, 50],
          [sha(3), 40, 10],
        ]),
      );
      await plant(keyOf(id('d'), 'json'), table(id('d'), 10, [[sha(4), 0, 10]]));
      await plant(keyOf(id('e'), 'pack'), Buffer.alloc(10));
      await plant(keyOf(id('e'), 'json'), table(id('f'), 10, [[sha(5), 0, 10]]));

      const r = await strata([...providerArgs('import', s3!, bucket.name), '--json'], b);
      expect(r.code, r.stderr).toBe(5);
      const message = (JSON.parse(r.stdout) as { error: { message: string } }).error.message;
      expect(message).toContain(`${keyOf(id('a'), 'json')} (entry #0 ends past the end of its pack)`);
      expect(message).toContain(`${keyOf(id('b'), 'json')} (entry #1 overlaps the one before it)`);
      expect(message).toContain(`${keyOf(id('d'), 'json')} (its pack is missing)`);
      expect(message).toContain(`${keyOf(id('e'), 'json')} (names another pack than its key)`);
      // The rest applied: B reads A's version, byte for byte.
      const out = fresh();
      await getOk(b, v.ref, out);
      expect(readTree(out)).toEqual(readTree(src));
    }),
  );

  it(
    'two homes put overlapping content into one bucket at once: both commit, both verify, and every table names a whole pack',
    withTeam('packs-two-homes', async ({ bucket, a, b }) => {
      await strataJson<ImportJson>(providerArgs('import', s3!, bucket.name), b);
      const shared = tree(fresh(), 200, 3000);
      const srcA = tree(fresh(), 50, 3000, {}, 'a');
      const srcB = tree(fresh(), 50, 3000, {}, 'b');
      const [va, vb] = await Promise.all([openVersion(a), openVersion(b)]);
      const [ra, rb] = await Promise.all([
        strata(['datasets', 'files', 'put', '--id', va.ref, '--source-path', `${shared}/`, `${srcA}/`], a),
        strata(['datasets', 'files', 'put', '--id', vb.ref, '--source-path', `${shared}/`, `${srcB}/`], b),
      ]);
      expect(ra.code, ra.stderr).toBe(0);
      expect(rb.code, rb.stderr).toBe(0);
      for (const [o, v] of [
        [a, va],
        [b, vb],
      ] as const) {
        await strataJson(['datasets', 'versions', 'commit', '--id', v.ref], o);
        await strataJson(['datasets', 'versions', 'verify', '--id', v.ref, '--deep'], o);
      }
      const other = fresh();
      await getOk(a, vb.ref, other);
      const { tables, packSizes } = await packTables(bucket);
      for (const t of tables) expect(packSizes.get(t.pack)).toBe(t.size);
    }),
  );

  it(
    'a bucket of loose blobs from before packs still reads, and a new version on it packs',
    withTeam('packs-old-bucket', async ({ bucket, a, b }) => {
      // What a Strata before packs left: loose blobs, a dataset and a committed manifest, no strata.json.
      const src = tree(fresh(), 12, 1500);
      const tables = await plantLooseVersion(bucket, a, src);
      expect(tables).toBe(0);
      const imported = await strataJson<ImportJson>(providerArgs('import', s3!, bucket.name), b);
      expect(imported.sync.versions.added).toBe(1);
      const ref = imported.sync.versionRefs.added[0]!.ref;
      const out = fresh();
      await getOk(b, ref, out, '--no-cache');
      expect(readTree(out)).toEqual(readTree(src));

      const more = tree(fresh(), 40, 1500);
      const v2 = await committed(b, 'ds', more);
      expect((await packTables(bucket)).tables.length).toBeGreaterThan(0);
      await strataJson(['datasets', 'versions', 'verify', '--id', v2.ref, '--deep'], b);
      await strataJson(['datasets', 'versions', 'verify', '--id', ref, '--deep'], b);
    }),
  );

  it(
    'a bucket whose format document names a feature this Strata does not know: import and put say to upgrade Strata',
    withTeam('packs-newer', async ({ bucket, a, b }) => {
      const v = await committed(a, 'ds', tree(fresh(), 5, 1000));
      await bucket.client.send(
        new PutObjectCommand({
          Bucket: bucket.name,
          Key: 'strata.json',
          Body: JSON.stringify({ format: 'strata.bucket/1', features: ['packs/1', 'chunks/1'] }),
        }),
      );
      const imported = await expectFailure([...providerArgs('import', s3!, bucket.name)], b, 8);
      expect(imported.line).toMatch(/names chunks\/1\): upgrade Strata/);
      expect(await strataJson(['storageProviders', 'list'], b)).toHaveLength(1); // only the local one
      const v2 = await openVersion(a);
      const put = await expectFailure(
        ['datasets', 'files', 'put', '--id', v2.ref, '--source-path', tree(fresh(), 2, 10)],
        a,
        8,
      );
      expect(put.line).toContain('upgrade Strata');
      expect(put.error.code).toBe('EUPGRADE');
      expect(v.ref).toBeTruthy();
    }),
  );
});

/**
 * Uploads src as a committed version the way Strata did before packs: each file a loose blob, and
 * the manifest; into A's dataset `ds`. Returns how many pack tables the bucket holds after (0).
 */
async function plantLooseVersion(bucket: TestBucket, a: CliOptions, src: string): Promise<number> {
  const { createHash } = await import('node:crypto');
  const { readFileSync } = await import('node:fs');
  const datasetId = (await strataJson<{ id: string }>(['datasets', 'details', '--id', 'ds'], a)).id;
  const files = readTree(src).map((f) => {
    const bytes = readFileSync(join(src, f.path));
    return { path: f.path, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), bytes, f };
  });
  for (const file of files) {
    const key = `blobs/sha256/${file.sha256.slice(0, 2)}/${file.sha256}`;
    await bucket.client.send(new PutObjectCommand({ Bucket: bucket.name, Key: key, Body: file.bytes }));
  }
  const now = new Date().toISOString();
  const manifest = {
    format: 'strata.manifest/1',
    datasetId,
    versionId: 'old0001',
    message: 'before packs',
    createdAt: now,
    committedAt: now,
    files: files.map((x) => ({ path: x.path, size: x.size, sha256: x.sha256, mode: x.f.mode, mtimeMs: x.f.mtimeMs })),
  };
  await bucket.client.send(
    new PutObjectCommand({
      Bucket: bucket.name,
      Key: `datasets/${datasetId}/versions/old0001.json`,
      Body: JSON.stringify(manifest),
    }),
  );
  return (await packTables(bucket)).tables.length;
}
