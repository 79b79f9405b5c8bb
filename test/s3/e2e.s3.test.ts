// The foundation's end-to-end flows again, with the built CLI against an S3 provider on Ceph RGW,
// and the bucket read with the SDK to check it follows DESIGN.md's layout.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { strata, strataJson, type CliOptions } from '../helpers/cli.js';
import { assertBuilt } from '../helpers/expect-cli.js';
import {
  writeFiles,
  type DatasetJson,
  type FileJson,
  type PutJson,
  type TagJson,
  type VersionJson,
} from '../helpers/fixtures.js';
import { createS3ProviderArgs, TestBucket } from '../helpers/s3-bucket.js';
import { tempDirs } from '../helpers/temp.js';
import { makeTree, readTree } from '../helpers/tree.js';

const s3 = inject('s3');
const fresh = tempDirs('strata-s3-e2e-');
const MiB = 1024 * 1024;
/** Small parts, so a 12 MiB file goes multipart (three parts). */
const CLI_ENV = { STRATA_S3_PART_SIZE: String(5 * MiB) };
/** Room for a loaded 2-core machine (CI runs beside other work); typically a fraction of it. */
const SLOW = 150_000;
const BLOB_KEY = /^blobs\/sha256\/([0-9a-f]{2})\/([0-9a-f]{64})$/;

beforeAll(assertBuilt);

interface ProviderJson {
  id: string;
  name: string;
  type: string;
  config: Record<string, unknown>;
}

interface ManifestDoc {
  format: string;
  datasetId: string;
  versionId: string;
  files: { path: string; size: number; sha256: string; mode: number; mtimeMs: number }[];
}

/** A STRATA_HOME with an S3 provider named `ceph` on a fresh bucket (under prefix, if given). */
async function setup(label: string, prefix?: string): Promise<{ o: CliOptions; bucket: TestBucket; provider: string }> {
  const bucket = await TestBucket.create(s3!, label);
  const o: CliOptions = { home: fresh(), env: CLI_ENV };
  const flags = prefix ? ['--prefix', prefix] : [];
  const p = await strataJson<ProviderJson>(createS3ProviderArgs(s3!, bucket.name, 'ceph', { flags }), o);
  expect(p).toMatchObject({ name: 'ceph', type: 's3', config: { bucket: bucket.name, endpoint: s3!.endpoint } });
  return { o, bucket, provider: p.id };
}

const createDataset = (o: CliOptions, name: string): Promise<DatasetJson> =>
  strataJson<DatasetJson>(['datasets', 'create', '--name', name, '--storageProviderId', 'ceph'], o);

const openVersion = (o: CliOptions, dataset: string): Promise<VersionJson> =>
  strataJson<VersionJson>(['datasets', 'versions', 'create', '--id', dataset], o);

const put = (o: CliOptions, ref: string, source: string): Promise<PutJson> =>
  strataJson<PutJson>(['datasets', 'files', 'put', '--id', ref, '--source-path', source], o);

const commit = (o: CliOptions, ref: string): Promise<VersionJson> =>
  strataJson<VersionJson>(['datasets', 'versions', 'commit', '--id', ref], o);

const tag = (o: CliOptions, ref: string, name: string): Promise<TagJson> =>
  strataJson<TagJson>(['datasets', 'tags', 'set', '--id', ref, '--name', name], o);

/** A committed version holding the files of dir (its contents at the version's root). */
async function committed(o: CliOptions, dataset: string, dir: string): Promise<VersionJson> {
  return strataJson<VersionJson>(['datasets', 'versions', 'create', '--id', dataset, '--source-path', `${dir}/`], o);
}

/**
 * Counts the HTTP requests a CLI process sends: a preloaded hook (NODE_OPTIONS=--require) wraps
 * http.Agent#addRequest, which every request of the SDK goes through, and writes "METHOD path"
 * lines when the process exits.
 */
function requestLog(): { env: NodeJS.ProcessEnv; read(): string[] } {
  const dir = fresh();
  const hook = join(dir, 'count-requests.cjs');
  const log = join(dir, 'requests.json');
  writeFileSync(
    hook,
    `const http = require('node:http');
const fs = require('node:fs');
const seen = [];
const addRequest = http.Agent.prototype.addRequest;
http.Agent.prototype.addRequest = function (req, ...rest) {
  seen.push(req.method + ' ' + req.path);
  return addRequest.call(this, req, ...rest);
};
process.on('exit', () => fs.writeFileSync(${JSON.stringify(log)}, JSON.stringify(seen)));
`,
  );
  return {
    env: { ...CLI_ENV, NODE_OPTIONS: `--require ${hook}` },
    read: () => JSON.parse(readFileSync(log, 'utf8')) as string[],
  };
}

/** sha256 → [ETag, LastModified] of every blob in the bucket: of its own object, or of the pack holding it. */
async function blobStamps(bucket: TestBucket, prefix = ''): Promise<Map<string, [string, number]>> {
  const out = new Map<string, [string, number]>();
  for (const o of await bucket.objects(`${prefix}blobs/`)) {
    const m = BLOB_KEY.exec(o.Key!.slice(prefix.length));
    expect(m, o.Key).not.toBeNull();
    expect(m![2]!.startsWith(m![1]!)).toBe(true);
    out.set(m![2]!, [o.ETag!, o.LastModified!.getTime()]);
  }
  const packs = new Map((await bucket.objects(`${prefix}packs/`)).map((o) => [o.Key!, o]));
  for (const [key, o] of packs) {
    if (!key.endsWith('.json')) continue;
    const pack = packs.get(key.replace(/\.json$/, '.pack'));
    expect(pack, `pack of ${key}`).toBeDefined();
    for (const [sha] of (await bucket.json<{ blobs: [string][] }>(key)).blobs) {
      out.set(sha, [`${pack!.ETag!} ${o.ETag!}`, pack!.LastModified!.getTime()]);
    }
  }
  return out;
}

describe.skipIf(!s3).concurrent('end-to-end against Ceph RGW', () => {
  it(
    'provider → dataset → version → put (300 files + a multipart file) → commit → tag → list → get, byte for byte; the bucket follows the layout; a second version uploads nothing',
    async () => {
      const { o, bucket, provider } = await setup('flow');
      const src = join(fresh(), 'data');
      makeTree(src, { count: 300, seed: 11, maxSize: 4096 });
      const big = join(src, 'big', 'weights.bin');
      mkdirSync(join(src, 'big'));
      writeFileSync(big, randomBytes(12 * MiB + 4321), { mode: 0o640 });
      utimesSync(big, new Date('2023-05-06T07:08:09.123Z'), new Date('2023-05-06T07:08:09.123Z'));
      const tree = readTree(src);
      expect(tree).toHaveLength(301);

      const ds = await createDataset(o, 'flow');
      expect(ds).toMatchObject({ name: 'flow', storageProviderId: provider, storageProviderName: 'ceph' });
      const v1 = await openVersion(o, 'flow');
      const firstLog = requestLog();
      const p1 = await put({ ...o, env: firstLog.env }, v1.ref, `${src}/`);
      // Every blob went up: the 300 small ones in one pack and its table, the big one in parts
      // (path-style: /bucket/key).
      const blobWrites = (log: string[]): string[] => log.filter((r) => /^(PUT|POST) \/[^/]+\/(blobs|packs)\//.test(r));
      const written = blobWrites(firstLog.read());
      expect(written.filter((r) => r.includes('/packs/'))).toHaveLength(2);
      expect(written.filter((r) => r.includes('/blobs/')).length).toBeGreaterThanOrEqual(3);
      expect(p1).toMatchObject({ ref: v1.ref, files: 301, bytesSkipped: 0 });
      expect(p1.bytesUploaded).toBe(p1.bytes);
      // The put left no unfinished multipart upload behind.
      expect(await bucket.uploads()).toEqual([]);
      expect(await commit(o, v1.ref)).toMatchObject({ ref: v1.ref, isCommitted: true, fileCount: 301, size: p1.bytes });
      expect(await tag(o, v1.ref, 'prod')).toMatchObject({ name: 'prod', versionId: v1.id, ref: v1.ref });

      expect(await strataJson<DatasetJson[]>(['datasets', 'list'], o)).toEqual([
        expect.objectContaining({ id: ds.id, name: 'flow', storageProviderName: 'ceph' }),
      ]);
      const listed = await strataJson<FileJson[]>(['datasets', 'files', 'list', '--id', 'flow:prod', '--recursive'], o);
      expect(listed.map((f) => [f.path, f.sha256, f.mode])).toEqual(tree.map((f) => [f.path, f.sha256, f.mode]));

      const out = fresh();
      const getLog = requestLog();
      const got = await strataJson<{ files: number; bytes: number }>(
        ['datasets', 'files', 'get', '--id', 'flow:prod', '--target-path', out],
        { ...o, env: getLog.env },
      );
      expect(got).toMatchObject({ files: 301, bytes: p1.bytes });
      expect(readTree(out)).toEqual(tree);
      // The bytes came from the bucket: the big blob, and the 300 small ones in one ranged read of their pack.
      expect(getLog.read().filter((r) => /^GET \/[^/]+\/blobs\//.test(r))).toHaveLength(1);
      expect(getLog.read().filter((r) => /^GET \/[^/]+\/packs\/.*\.pack/.test(r))).toHaveLength(1);

      // The bucket describes itself: blobs by content, the dataset, the manifest and the tag.
      const blobs = await blobStamps(bucket);
      expect([...blobs.keys()].sort()).toEqual([...new Set(tree.map((f) => f.sha256))].sort());
      const bigSha = tree.find((f) => f.path === 'big/weights.bin')!.sha256;
      // The large file went up in three parts (a multipart ETag ends in -<parts>).
      expect(blobs.get(bigSha)![0]).toMatch(/-3"?$/);
      const keys = await bucket.keys();
      expect(keys.filter((k) => !k.startsWith('blobs/') && !k.startsWith('packs/'))).toEqual([
        `datasets/${ds.id}/dataset.json`,
        `datasets/${ds.id}/tags/prod.json`,
        `datasets/${ds.id}/versions/${v1.id}.json`,
        'strata.json',
      ]);
      expect(await bucket.json(`datasets/${ds.id}/dataset.json`)).toMatchObject({ id: ds.id, name: 'flow' });
      expect(await bucket.json(`datasets/${ds.id}/tags/prod.json`)).toMatchObject({ name: 'prod', versionId: v1.id });
      const manifest = await bucket.json<ManifestDoc>(`datasets/${ds.id}/versions/${v1.id}.json`);
      expect(manifest).toMatchObject({ format: 'strata.manifest/1', datasetId: ds.id, versionId: v1.id });
      expect(manifest.files.map((f) => [f.path, f.sha256, f.mode, f.mtimeMs])).toEqual(
        tree.map((f) => [f.path, f.sha256, f.mode, f.mtimeMs]),
      );

      // A second version of the same files stores nothing: 0 bytes uploaded, every blob untouched.
      const v2 = await openVersion(o, 'flow');
      const secondLog = requestLog();
      const p2 = await put({ ...o, env: secondLog.env }, v2.ref, `${src}/`);
      expect(p2).toMatchObject({ ref: v2.ref, files: 301, bytes: p1.bytes, bytesUploaded: 0, bytesSkipped: p1.bytes });
      expect(blobWrites(secondLog.read())).toEqual([]);
      await commit(o, v2.ref);
      expect(await blobStamps(bucket)).toEqual(blobs);
      expect(await bucket.keys(`datasets/${ds.id}/versions/`)).toEqual(
        [v1.id, v2.id].sort().map((id) => `datasets/${ds.id}/versions/${id}.json`),
      );
      expect(await bucket.uploads()).toEqual([]);
    },
    SLOW,
  );

  it(
    'a large file (read as parallel ranges) comes down into the target and into the cache, both byte for byte; a warm get copies it from the cache',
    async () => {
      const { o } = await setup('large');
      const src = join(fresh(), 'data');
      mkdirSync(src);
      // Past 64 MiB a blob is read as 8 MiB ranges; the last one is short (and its cache copy padded, then cut).
      const bytes = randomBytes(70 * MiB + 4321);
      writeFileSync(join(src, 'weights.bin'), bytes);
      await createDataset(o, 'large');
      const v = await committed(o, 'large', src);
      const cache = fresh();
      const get = (target: string) =>
        strataJson<{ files: number; hits: number; misses: number }>(
          ['datasets', 'files', 'get', '--id', v.ref, '--target-path', target, '--cache-dir', cache],
          o,
        );
      const [cold, warm] = [fresh(), fresh()];
      expect(await get(cold)).toMatchObject({ files: 1, hits: 0, misses: 1 });
      expect(readFileSync(join(cold, 'weights.bin')).equals(bytes)).toBe(true);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const blob = join(cache, 'blobs', 'sha256', sha256.slice(0, 2), sha256);
      expect(readFileSync(blob).equals(bytes)).toBe(true);
      expect(statSync(blob).mode & 0o777).toBe(0o444);
      expect(readdirSync(dirname(blob))).toEqual([sha256]); // no temp file left beside it
      expect(await get(warm)).toMatchObject({ files: 1, hits: 1, misses: 0 });
      expect(readFileSync(join(warm, 'weights.bin')).equals(bytes)).toBe(true);
    },
    SLOW,
  );

  describe('the other foundation flows', () => {
    it(
      'tags set writes the tag object, moves it (If-Match) and tags delete removes it; datasets update rewrites dataset.json',
      async () => {
        const { o, bucket } = await setup('tags');
        const ds = await createDataset(o, 'demo');
        const v1 = await committed(o, 'demo', writeFiles(fresh(), { 'a.txt': '1' }));
        const v2 = await committed(o, 'demo', writeFiles(fresh(), { 'a.txt': '2' }));
        const key = `datasets/${ds.id}/tags/prod.json`;

        await tag(o, v1.ref, 'prod');
        expect(await bucket.json(key)).toMatchObject({ name: 'prod', versionId: v1.id });
        const first = (await bucket.objects(key))[0]!.ETag;
        expect(await tag(o, `demo:${v2.id}`, 'prod')).toMatchObject({ versionId: v2.id });
        expect(await bucket.json(key)).toMatchObject({ name: 'prod', versionId: v2.id });
        expect((await bucket.objects(key))[0]!.ETag).not.toBe(first);
        const details = await strataJson<VersionJson>(['datasets', 'versions', 'details', '--id', 'demo:prod'], o);
        expect(details).toMatchObject({ id: v2.id, tags: ['prod'] });

        expect((await strata(['datasets', 'tags', 'delete', '--id', 'demo:prod'], o)).stdout).toBe(
          'Deleted tag: prod\n',
        );
        expect(await bucket.exists(key)).toBe(false);
        expect(await strataJson<TagJson[]>(['datasets', 'tags', 'list', '--id', 'demo'], o)).toEqual([]);

        await strataJson(['datasets', 'update', '--id', 'demo', '--name', 'renamed', '--description', 'now'], o);
        expect(await bucket.json(`datasets/${ds.id}/dataset.json`)).toMatchObject({
          id: ds.id,
          name: 'renamed',
          description: 'now',
        });
        await bucket.destroy();
      },
      SLOW,
    );

    it(
      'versions delete --force removes the manifest and its tag objects; the other version, its tag and the blobs stay',
      async () => {
        const { o, bucket } = await setup('vdelete');
        const ds = await createDataset(o, 'demo');
        const keep = await committed(o, 'demo', writeFiles(fresh(), { 'keep.txt': 'keep' }));
        const gone = await committed(o, 'demo', writeFiles(fresh(), { 'gone.txt': 'gone', 'more.txt': 'more' }));
        await tag(o, gone.ref, 'prod');
        await tag(o, gone.ref, 'stable');
        await tag(o, keep.ref, 'old');
        const blobs = await blobStamps(bucket);
        expect(blobs.size).toBe(3);
        const at = `datasets/${ds.id}/`;
        expect(await bucket.keys(at)).toEqual([
          `${at}dataset.json`,
          `${at}tags/old.json`,
          `${at}tags/prod.json`,
          `${at}tags/stable.json`,
          ...[keep.id, gone.id].sort().map((id) => `${at}versions/${id}.json`),
        ]);

        const refused = await strata(['datasets', 'versions', 'delete', '--id', gone.ref], o);
        expect(refused.code).toBe(4);
        expect(await bucket.exists(`${at}versions/${gone.id}.json`)).toBe(true);

        const deleted = await strataJson<VersionJson>(
          ['datasets', 'versions', 'delete', '--id', gone.ref, '--force'],
          o,
        );
        expect(deleted).toMatchObject({ ref: gone.ref, tags: ['prod', 'stable'] });
        expect(await bucket.keys(at)).toEqual([
          `${at}dataset.json`,
          `${at}tags/old.json`,
          `${at}versions/${keep.id}.json`,
        ]);
        expect(await blobStamps(bucket)).toEqual(blobs);
        expect((await strata(['datasets', 'files', 'list', '--id', 'demo:prod'], o)).code).toBe(3);
        await bucket.destroy();
      },
      SLOW,
    );

    it(
      'datasets delete --force removes every object of the dataset (manifests, tags, drafts) but no blob',
      async () => {
        const { o, bucket } = await setup('dsdelete');
        const ds = await createDataset(o, 'doomed');
        const other = await createDataset(o, 'other');
        const v = await committed(o, 'doomed', writeFiles(fresh(), { 'a.txt': 'a', 'b/c.txt': 'c' }));
        await tag(o, v.ref, 'prod');
        // An open version with files has a draft in the bucket.
        const open = await openVersion(o, 'doomed');
        await put(o, open.ref, writeFiles(fresh(), { 'draft.txt': 'draft' }));
        expect(await bucket.keys(`datasets/${ds.id}/drafts/`)).toEqual([`datasets/${ds.id}/drafts/${open.id}.json`]);
        const blobs = await blobStamps(bucket);
        expect(blobs.size).toBe(3);

        expect((await strata(['datasets', 'delete', '--id', 'doomed'], o)).code).toBe(4);
        expect(await strataJson<DatasetJson>(['datasets', 'delete', '--id', ds.id, '--force'], o)).toMatchObject({
          id: ds.id,
        });
        expect(await bucket.keys(`datasets/${ds.id}/`)).toEqual([]);
        expect(await bucket.keys('datasets/')).toEqual([`datasets/${other.id}/dataset.json`]);
        expect(await blobStamps(bucket)).toEqual(blobs);
        expect((await strataJson<DatasetJson[]>(['datasets', 'list'], o)).map((d) => d.name)).toEqual(['other']);
        await bucket.destroy();
      },
      SLOW,
    );

    it(
      'files delete removes paths from an open version, its draft in the bucket and then its manifest',
      async () => {
        const { o, bucket } = await setup('fdelete');
        const ds = await createDataset(o, 'demo');
        const v = await openVersion(o, 'demo');
        const src = writeFiles(fresh(), { 'a.txt': 'a', 'dir/b.txt': 'b', 'dir/c.txt': 'c', 'd.txt': 'd' });
        await put(o, v.ref, `${src}/`);
        const draftKey = `datasets/${ds.id}/drafts/${v.id}.json`;
        const draftPaths = async (): Promise<string[]> =>
          (await bucket.json<{ files: { path: string }[] }>(draftKey)).files.map((f) => f.path);
        expect(await draftPaths()).toEqual(['a.txt', 'd.txt', 'dir/b.txt', 'dir/c.txt']);

        expect(
          await strataJson<{ deleted: number }>(
            ['datasets', 'files', 'delete', '--id', v.ref, '--path', '/dir', '--path', 'a.txt'],
            o,
          ),
        ).toMatchObject({ ref: v.ref, deleted: 3 });
        expect(await draftPaths()).toEqual(['d.txt']);
        const missing = await strata(['datasets', 'files', 'delete', '--id', v.ref, '--path', 'nope.txt'], o);
        expect(missing.code).toBe(3);

        await commit(o, v.ref);
        expect(await bucket.exists(draftKey)).toBe(false);
        const manifest = await bucket.json<ManifestDoc>(`datasets/${ds.id}/versions/${v.id}.json`);
        expect(manifest.files.map((f) => f.path)).toEqual(['d.txt']);
        // A committed version refuses files delete, and the bucket does not change.
        expect((await strata(['datasets', 'files', 'delete', '--id', v.ref, '--path', 'd.txt'], o)).code).toBe(4);
        expect((await bucket.json<ManifestDoc>(`datasets/${ds.id}/versions/${v.id}.json`)).files).toHaveLength(1);
        await bucket.destroy();
      },
      SLOW,
    );

    it(
      'versions create --source-path uploads and commits in one step, under a provider prefix',
      async () => {
        const { o, bucket } = await setup('srcpath', 'teams/ml/');
        const ds = await createDataset(o, 'demo');
        const src = join(fresh(), 'x');
        makeTree(src, { count: 25, seed: 5 });
        const stdout = (await strata(['datasets', 'versions', 'create', '--id', 'demo', '--source-path', src], o))
          .stdout;
        const m =
          /^Created dataset version: (dst[a-z0-9]{12}:([a-z0-9]{7}))\nPut 25 file\(s\), .* into \1: .*\nCommitted dataset version: \1\n$/.exec(
            stdout,
          );
        expect(m, stdout).not.toBeNull();
        const versionId = m![2]!;
        const details = await strataJson<VersionJson>(['datasets', 'versions', 'details', '--id', m![1]!], o);
        expect(details).toMatchObject({ isCommitted: true, fileCount: 25 });

        // Everything is under the prefix (trimmed of its slashes), nothing outside it.
        const keys = await bucket.keys();
        expect(keys.every((k) => k.startsWith('teams/ml/'))).toBe(true);
        expect(keys.filter((k) => k.startsWith('teams/ml/datasets/'))).toEqual([
          `teams/ml/datasets/${ds.id}/dataset.json`,
          `teams/ml/datasets/${ds.id}/versions/${versionId}.json`,
        ]);
        const tree = readTree(src);
        expect([...(await blobStamps(bucket, 'teams/ml/')).keys()].sort()).toEqual(
          [...new Set(tree.map((f) => f.sha256))].sort(),
        );

        // The same sources again: a second committed version that uploads nothing.
        const again = await committed(o, 'demo', src);
        expect(again).toMatchObject({ isCommitted: true, fileCount: 25, put: { files: 25, bytesUploaded: 0 } });

        const out = fresh();
        await strataJson(['datasets', 'files', 'get', '--id', `demo:${versionId}`, '--target-path', out], o);
        expect(readTree(join(out, 'x'))).toEqual(tree);
        await bucket.destroy();
      },
      SLOW,
    );
  });
});
