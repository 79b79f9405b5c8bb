// Issue 15 against Ceph RGW: a garbage collection on another machine during a put, even with no
// grace, never costs the put a blob (the put sees the gc in gc/state.json and checks its blobs in
// the bucket again); a blob removed behind the catalog's back is found by commit, which corrects
// what the catalog believes, so putting the files again stores it; a damaged catalog is rebuilt
// from the bucket, credentials and drafted versions included.
import { truncateSync } from 'node:fs';
import { join } from 'node:path';
import { DeleteObjectsCommand } from '@aws-sdk/client-s3';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startStrata, stopped, strata, strataJson, type CliOptions } from '../helpers/cli.js';
import { assertBuilt, expectErrorLine } from '../helpers/expect-cli.js';
import { listFilesJson, openVersion, put, type PutJson, type VersionJson } from '../helpers/fixtures.js';
import type { TestBucket } from '../helpers/s3-bucket.js';
import { committed, createDataset, getOk, providerArgs, team, type Team } from '../helpers/team.js';
import { tempDirs } from '../helpers/temp.js';
import { makeTree, readTree } from '../helpers/tree.js';

const s3 = inject('s3');
const fresh = tempDirs('strata-s3-consistency-');
const buckets: TestBucket[] = [];
/** More than two batches of 500: a put held after its first batch has stored blobs it has not named yet. */
const FILES = 1100;

beforeAll(assertBuilt);
afterAll(async () => {
  await Promise.all(buckets.map((b) => b.destroy()));
});

/**
 * A and B on one bucket, each blob its own object so the tests can count and delete them; what
 * gc does to packs while others put and read: npm run chaos and packs-gc.s3.test.ts.
 */
async function twoHomes(label: string): Promise<Team> {
  const t = await team(s3!, label, fresh, ['--no-packs']);
  buckets.push(t.bucket);
  await createDataset(t.a, 'ds');
  await strataJson(providerArgs('import', s3!, t.bucket.name, 'team', ['--no-packs']), t.b);
  return t;
}

function tree(count = FILES, seed = 5): string {
  const src = join(fresh(), 'src');
  makeTree(src, { count, seed, maxSize: 2048 });
  return src;
}

/** A's put of src into ref, held (SIGSTOP) once its first batch is recorded. */
async function heldPut(o: CliOptions, ref: string, src: string) {
  const run = startStrata(['datasets', 'files', 'put', '--id', ref, '--source-path', `${src}/`, '--json'], {
    ...o,
    env: { STRATA_FAULT: 'put:after-batch', STRATA_FAULT_SIGNAL: 'SIGSTOP' },
  });
  await stopped(run);
  return run;
}

const gc = (o: CliOptions, grace: string) =>
  strataJson<{ removed: unknown[] }>(['gc', '--storageProviderId', 'team', '--grace', grace], o);

/** Committed, verified deep, and byte for byte the source for the other home. */
async function expectWhole(t: Team, ref: string, src: string): Promise<void> {
  const c = await strataJson<VersionJson>(['datasets', 'versions', 'commit', '--id', ref], t.a);
  expect(c.fileCount).toBe(readTree(src).length);
  const deep = await strata(['datasets', 'versions', 'verify', '--id', ref, '--deep', '--json'], t.b);
  expect(deep.code, deep.stdout).toBe(0);
  const out = join(fresh(), 'out');
  await getOk(t.b, ref, out);
  expect(readTree(out)).toEqual(readTree(src));
}

// Each test holds a put while a gc on another home runs (polls of a second, a heartbeat): ~25 s
// alone, and over 60 s on a machine busy with the chaos run besides.
describe
  .skipIf(!s3)
  .concurrent('garbage collection on another machine during a put (Ceph RGW)', { timeout: 150_000 }, () => {
    it('with no grace: gc removes the blobs the held put stored and had not named; the put notices and stores them again; the version commits whole', async () => {
      const t = await twoHomes('gc-during-put');
      const v = await openVersion(t.a, 'ds');
      const src = tree();
      const putting = await heldPut(t.a, v.ref, src);
      const collected = await gc(t.b, '0s');
      expect(collected.removed.length).toBeGreaterThan(0);
      process.kill(putting.pid, 'SIGCONT');
      const done = await putting.result;
      expect(done.code, done.stderr).toBe(0);
      expect(done.stderr).toContain('a garbage collection ran during this put: checking its blobs in the bucket again');
      expect((JSON.parse(done.stdout) as PutJson).files).toBe(FILES);
      await expectWhole(t, v.ref, src);
    });

    it('with no grace, a put that dedups onto orphaned blobs (their version deleted) stores them again once gc removed them', async () => {
      const t = await twoHomes('gc-orphans');
      const src = tree();
      const v1 = await committed(t.a, 'ds', src);
      await strataJson(['datasets', 'versions', 'delete', '--id', v1.ref, '--force'], t.a);
      const v2 = await openVersion(t.a, 'ds');
      const putting = await heldPut(t.a, v2.ref, src);
      expect((await gc(t.b, '0s')).removed.length).toBe(readTree(src).length);
      process.kill(putting.pid, 'SIGCONT');
      const done = await putting.result;
      expect(done.code, done.stderr).toBe(0);
      expect((JSON.parse(done.stdout) as PutJson).bytesUploaded).toBeGreaterThan(0);
      await expectWhole(t, v2.ref, src);
    });

    it('with the default grace nothing the put stored is young enough to go, and the put takes one pass', async () => {
      const t = await twoHomes('gc-default-grace');
      const v = await openVersion(t.a, 'ds');
      const src = tree(600);
      const putting = await heldPut(t.a, v.ref, src);
      expect((await gc(t.b, '24h')).removed).toEqual([]);
      process.kill(putting.pid, 'SIGCONT');
      const done = await putting.result;
      expect(done.code, done.stderr).toBe(0);
      expect(done.stderr).not.toContain('a garbage collection ran during this put');
      await expectWhole(t, v.ref, src);
    });

    it('blobs deleted behind the catalog’s back: commit refuses naming them, and the put it suggests stores them again', async () => {
      const t = await twoHomes('gc-behind-back');
      const v = await openVersion(t.a, 'ds');
      const src = tree(50);
      await put(t.a, v.ref, `${src}/`);
      const blobs = await t.bucket.keys('blobs/');
      await t.bucket.client.send(
        new DeleteObjectsCommand({ Bucket: t.bucket.name, Delete: { Objects: blobs.map((Key) => ({ Key })) } }),
      );
      const line = expectErrorLine(await strata(['datasets', 'versions', 'commit', '--id', v.ref], t.a), 5);
      expect(line).toContain(`put them again with: strata datasets files put --id ${v.ref}`);
      const again = await put(t.a, v.ref, `${src}/`);
      expect(again.bytesUploaded).toBe(again.bytes);
      await expectWhole(t, v.ref, src);
    });
  });

describe.skipIf(!s3).concurrent('catalog rebuild from a bucket (Ceph RGW)', () => {
  it('a catalog that lost rows: the S3 provider is carried over with its credentials; versions, tags and a drafted open version come back', async () => {
    const t = await twoHomes('rebuild');
    const src = tree(30);
    const v1 = await committed(t.a, 'ds', src);
    await strataJson(['datasets', 'tags', 'set', '--id', v1.ref, '--name', 'prod'], t.a);
    const open = await openVersion(t.a, 'ds');
    await put(t.a, open.ref, `${tree(7, 6)}/`);
    const db = new Database(join(t.a.home, 'catalog.db'));
    db.prepare('DELETE FROM files WHERE version_id = ?').run(v1.id);
    db.close();
    expectErrorLine(await strata(['datasets', 'files', 'get', '--id', 'ds:prod', '--target-path', fresh()], t.a), 8);

    const r = await strataJson<{ providers: { name: string }[]; reopened: string[] }>(['catalog', 'rebuild'], t.a);
    expect(r.providers.map((p) => p.name).sort()).toEqual(['local', 'team']);
    expect(r.reopened).toEqual([open.ref]);
    const out = join(fresh(), 'out');
    await getOk(t.a, 'ds:prod', out);
    expect(readTree(out)).toEqual(readTree(src));
    expect(await listFilesJson(t.a, open.ref)).toHaveLength(7);
  });

  it('a catalog truncated to nothing: no provider can be read back; rebuild says so, and import brings the bucket back', async () => {
    const t = await twoHomes('rebuild-empty');
    const src = tree(10);
    const v1 = await committed(t.a, 'ds', src);
    truncateSync(join(t.a.home, 'catalog.db'), 0);
    const text = await strata(['catalog', 'rebuild'], t.a);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('storage providers: none could be read from the old catalog');
    await strataJson(providerArgs('import', s3!, t.bucket.name), t.a);
    expect((await strataJson<VersionJson>(['datasets', 'versions', 'details', '--id', 'ds'], t.a)).id).toBe(v1.id);
  });
});
