// HTTP import (`files put --source-url URL [--extract]`) end to end: archives generated here and
// served from a local HTTP server become a version's files; hostile archives (zip-slip) are
// refused with the integrity exit code, leaving the version, the storage and the disk untouched.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { create } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { strata, strataJson, type CliOptions } from '../helpers/cli.js';
import { assertBuilt, expectFailure } from '../helpers/expect-cli.js';
import { createDataset, listFilesJson, openVersion, put, writeFiles, type PutJson } from '../helpers/fixtures.js';
import { catalogRows, statFiles } from '../helpers/snapshot.js';
import { rawTar } from '../helpers/tar.js';
import { tempDirs } from '../helpers/temp.js';
import { readTree } from '../helpers/tree.js';
import { zip } from '../helpers/zip.js';

const fresh = tempDirs('strata-import-url-');

const served = new Map<string, Buffer>();
let server: Server;
let base: string;

beforeAll(async () => {
  assertBuilt();
  server = createServer((req, res) => {
    const body = served.get(new URL(req.url ?? '/', 'http://x').pathname);
    if (!body) return void res.writeHead(404).end('not here');
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** Serves body under a unique path ending in name; returns its URL. */
function serve(name: string, body: Buffer): string {
  const path = `/${randomBytes(4).toString('hex')}/${name}`;
  served.set(path, body);
  return `${base}${path}`;
}

const sha = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** The CIFAR-10 python tarball's layout, with small random batches (whole-second mtimes: tar keeps seconds). */
function cifarLike(root: string): string {
  const dir = join(root, 'cifar-10-batches-py');
  mkdirSync(dir, { recursive: true });
  const names = ['batches.meta', 'data_batch_1', 'data_batch_2', 'data_batch_3', 'data_batch_4', 'data_batch_5'];
  names.push('readme.html', 'test_batch');
  names.forEach((name, i) => {
    writeFileSync(join(dir, name), name === 'readme.html' ? '<a href="x">CIFAR</a>\n' : randomBytes(20_000 + i * 1000));
    const when = new Date(Date.UTC(2009, 2, 31, 8, 0, i));
    utimesSync(join(dir, name), when, when);
  });
  return root;
}

/** A .tar.gz of root's contents, packed by node-tar. */
async function tarGz(root: string): Promise<Buffer> {
  const file = join(fresh(), 'data.tar.gz');
  await create({ gzip: true, file, cwd: root, portable: true }, readdirSync(root));
  return readFileSync(file);
}

/** What `files list -r --json` should show for the files under root, under prefix. */
function expectedListing(root: string, prefix = ''): unknown[] {
  return readTree(root).map((f) => ({
    path: `${prefix}${f.path}`,
    sha256: f.sha256,
    mode: f.mode,
    mtime: new Date(f.mtimeMs).toISOString(),
  }));
}

async function listing(o: CliOptions, ref: string): Promise<unknown[]> {
  return (await listFilesJson(o, ref)).map((f) => ({ path: f.path, sha256: f.sha256, mode: f.mode, mtime: f.mtime }));
}

const putUrl = (o: CliOptions, ref: string, url: string, ...flags: string[]): Promise<PutJson> =>
  strataJson<PutJson>(['datasets', 'files', 'put', '--id', ref, '--source-url', url, ...flags], o);

describe.concurrent('files put --source-url', () => {
  it('--extract of a CIFAR-like .tar.gz: the version holds the archive files, with their modes and mtimes', async () => {
    const o = { home: fresh() };
    const root = cifarLike(fresh());
    const archive = await tarGz(root);
    const url = serve('cifar-10-python.tar.gz', archive);
    await createDataset(o);
    const v = await openVersion(o, 'demo');

    const result = await putUrl(o, v.ref, url, '--extract');
    const files = readTree(root);
    const bytes = statFiles(root).reduce((n, f) => n + f.size, 0);
    expect(result).toMatchObject({ ref: v.ref, files: 8, bytes, bytesUploaded: bytes });
    expect(await listing(o, v.ref)).toEqual(expectedListing(root));
    expect(files.map((f) => f.path)).toContain('cifar-10-batches-py/data_batch_5');

    // Under --target-path, and into a committed version that then reads back byte for byte.
    const v2 = await openVersion(o, 'demo');
    expect(await putUrl(o, v2.ref, url, '--extract', '--target-path', '/raw')).toMatchObject({
      files: 8,
      bytesUploaded: 0,
    });
    expect(await listing(o, v2.ref)).toEqual(expectedListing(root, 'raw/'));
    await strataJson(['datasets', 'versions', 'commit', '--id', v2.ref], o);
    const out = fresh();
    await strataJson(['datasets', 'files', 'get', '--id', v2.ref, '--source-path', '/raw', '--target-path', out], o);
    expect(readTree(join(out, 'raw'))).toEqual(readTree(root));
    // The spool is gone.
    expect(readdirSync(join(o.home, 'tmp'))).toEqual([]);
  });

  it('--extract of a .tar.gz of many files prints its summary and nothing else on stderr', async () => {
    const o = { home: fresh() };
    const files = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`part-${i}.txt`, `${i}\n`]));
    const url = serve('many.tar.gz', await tarGz(writeFiles(fresh(), files)));
    await createDataset(o);
    const v = await openVersion(o, 'demo');
    const r = await strata(['datasets', 'files', 'put', '--id', v.ref, '--source-url', url, '--extract'], o);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^Put 40 file\(s\)/);
  });

  it(
    '--extract of 100,000 entries fits in a 96 MB heap: the spool is removed a file at a time',
    // 300,000 file creations and deletions: on a disk busy with other suites this took over 120 s
    { timeout: 240_000 },
    async () => {
      const o = { home: fresh(), env: { NODE_OPTIONS: '--max-old-space-size=96' } };
      const entries = Array.from({ length: 100_000 }, (_, i) => ({ name: `d${i % 100}/f${i}.txt`, content: `${i}\n` }));
      const url = serve('100k.tar.gz', gzipSync(rawTar(entries)));
      await createDataset(o);
      const v = await openVersion(o, 'demo');
      const r = await strata(['datasets', 'files', 'put', '--id', v.ref, '--source-url', url, '--extract'], o);
      expect({ code: r.code, signal: r.signal, stderr: r.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
      expect(r.stdout).toMatch(/^Put 100000 file\(s\)/);
      expect(readdirSync(join(o.home, 'tmp'))).toEqual([]);
    },
  );

  it('without --extract: the archive is one file, named after the URL', async () => {
    const o = { home: fresh() };
    const archive = await tarGz(cifarLike(fresh()));
    await createDataset(o);
    const v = await openVersion(o, 'demo');
    const result = await putUrl(o, v.ref, serve('data.tar.gz', archive));
    expect(result).toMatchObject({ files: 1, bytes: archive.length, bytesUploaded: archive.length });
    const listed = await listFilesJson(o, v.ref);
    expect(listed.map((f) => [f.path, f.size, f.sha256])).toEqual([['data.tar.gz', archive.length, sha(archive)]]);
  });

  it('--extract of a .zip and of a plain .tar', async () => {
    const o = { home: fresh() };
    await createDataset(o);
    const mtime = new Date(Date.UTC(2024, 1, 2, 3, 4, 6));
    const zipped = zip([
      { name: 'train/', mode: 0o755 },
      { name: 'train/a.txt', content: 'alpha\n', mtime },
      { name: 'train/run.sh', content: '#!/bin/sh\n', mode: 0o755, mtime },
      { name: 'labels.csv', content: 'a,1\n', mtime },
    ]);
    const vz = await openVersion(o, 'demo');
    expect(await putUrl(o, vz.ref, serve('set.zip', zipped), '--extract')).toMatchObject({ files: 3 });
    expect(await listing(o, vz.ref)).toEqual([
      { path: 'labels.csv', sha256: sha(Buffer.from('a,1\n')), mode: 0o644, mtime: mtime.toISOString() },
      { path: 'train/a.txt', sha256: sha(Buffer.from('alpha\n')), mode: 0o644, mtime: mtime.toISOString() },
      { path: 'train/run.sh', sha256: sha(Buffer.from('#!/bin/sh\n')), mode: 0o755, mtime: mtime.toISOString() },
    ]);

    const tarred = rawTar([
      { name: 'x/', type: '5', mode: 0o755 },
      { name: 'x/one.bin', content: 'one', mtime: 1_700_000_000 },
      { name: 'two.bin', content: 'two', mode: 0o600, mtime: 1_700_000_001 },
    ]);
    const vt = await openVersion(o, 'demo');
    expect(await putUrl(o, vt.ref, serve('set.tar', tarred), '--extract')).toMatchObject({ files: 2 });
    expect(await listing(o, vt.ref)).toEqual([
      { path: 'two.bin', sha256: sha(Buffer.from('two')), mode: 0o600, mtime: '2023-11-14T22:13:21.000Z' },
      { path: 'x/one.bin', sha256: sha(Buffer.from('one')), mode: 0o644, mtime: '2023-11-14T22:13:20.000Z' },
    ]);
  });
});

describe.concurrent(
  'hostile archives are refused (exit 5): the catalog, the storage and the disk stay as they were',
  () => {
    const hostile: { label: string; name: string; body: () => Buffer }[] = [
      {
        label: 'a zip with ../evil',
        name: 'evil.zip',
        body: () =>
          zip([
            { name: 'ok.txt', content: 'fine' },
            { name: '../evil', content: 'pwned' },
          ]),
      },
      {
        label: 'a zip with a deeper ../../evil',
        name: 'deep.zip',
        body: () => zip([{ name: 'a/b/../../../../evil', content: 'pwned' }]),
      },
      {
        label: 'a zip with an absolute path',
        name: 'abs.zip',
        body: () => zip([{ name: '/tmp/evil', content: 'pwned' }]),
      },
      {
        label: 'a zip with a symlink pointing outside, then a file through it',
        name: 'link.zip',
        body: () =>
          zip([
            { name: 'out', symlink: '../../..' },
            { name: 'out/evil', content: 'pwned' },
          ]),
      },
      {
        label: 'a .tar.gz with ../evil',
        name: 'evil.tar.gz',
        body: () =>
          gzipSync(
            rawTar([
              { name: 'ok.txt', content: 'fine' },
              { name: '../evil', content: 'pwned' },
            ]),
          ),
      },
      {
        label: 'a .tar with a symlink to /etc',
        name: 'link.tar',
        body: () =>
          rawTar([
            { name: 'etc', type: '2', linkname: '/etc' },
            { name: 'etc/evil', content: 'pwned' },
          ]),
      },
    ];

    it('each of them, in turn, into one version', async () => {
      const base = fresh();
      const o = { home: join(base, 'home'), cwd: join(base, 'cwd') };
      mkdirSync(o.cwd);
      await createDataset(o);
      const v = await openVersion(o, 'demo');
      await put(o, v.ref, writeFiles(join(base, 'src'), { 'kept.txt': 'already here' }));
      const catalog = catalogRows(join(o.home, 'catalog.db'));
      const storage = statFiles(join(o.home, 'storage'));
      expect(catalog.files).toHaveLength(1);

      for (const { label, name, body } of hostile) {
        const { line, error } = await expectFailure(
          ['datasets', 'files', 'put', '--id', v.ref, '--source-url', serve(name, body()), '--extract'],
          o,
          5,
        );
        expect(line, label).toMatch(/refusing/);
        expect(error.code, label).toBe('EUNSAFEPATH');
        expect(catalogRows(join(o.home, 'catalog.db')), label).toEqual(catalog);
        expect(statFiles(join(o.home, 'storage')), label).toEqual(storage);
        // Nothing named evil anywhere near, and the spool directory is gone.
        expect(
          statFiles(base).filter((f) => f.path.includes('evil')),
          label,
        ).toEqual([]);
        expect(readdirSync(join(o.home, 'tmp')), label).toEqual([]);
      }
      expect((await listFilesJson(o, v.ref)).map((f) => f.path)).toEqual(['src/kept.txt']);
    });

    it('a URL that answers 404 is a missing source: exit 3, nothing stored', async () => {
      const o = { home: fresh() };
      await createDataset(o);
      const v = await openVersion(o, 'demo');
      const { line } = await expectFailure(
        ['datasets', 'files', 'put', '--id', v.ref, '--source-url', `${base}/nothing/here.tar.gz`, '--extract'],
        o,
        3,
      );
      expect(line).toContain('answered HTTP 404 Not Found: no such source');
      expect(await listFilesJson(o, v.ref)).toEqual([]);
    });
  },
);
