import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { create } from 'tar';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { IntegrityError, NotFoundError, StorageError, UsageError } from '../../src/core/errors.js';
import { spoolUrl, type SpooledSource } from '../../src/transfer/fetch-url.js';
import { rawTar, type RawTarEntry } from '../helpers/tar.js';
import { zip, type ZipEntry } from '../helpers/zip.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const routes = new Map<string, Handler>();
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const handler = routes.get(new URL(req.url ?? '/', 'http://x').pathname);
    if (handler) return handler(req, res);
    res.writeHead(404).end('not here');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** Serves body at path; returns its URL. */
function serve(path: string, body: Buffer | string, headers: Record<string, string> = {}): string {
  routes.set(path, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', ...headers }).end(body);
  });
  return `${base}${path}`;
}

let tmp: string;
let spoolDir: string;
let warnings: string[];
const spooled: SpooledSource[] = [];

beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'strata-fetch-url-'));
  // two levels below tmp, so "../x" and "../../x" from the spool would still land inside tmp
  spoolDir = join(tmp, 'a', 'b', 'spool');
  warnings = [];
});

afterEach(async () => {
  for (const s of spooled.splice(0)) await s.cleanup();
  routes.clear();
  await rm(tmp, { recursive: true, force: true });
});

async function spool(url: string, extract: boolean, target = ''): Promise<SpooledSource> {
  const result = await spoolUrl({ url, extract, target, spoolDir, warn: (m) => warnings.push(m) });
  spooled.push(result);
  return result;
}

async function failure(url: string, extract: boolean): Promise<Error & { code?: string }> {
  const error: unknown = await spool(url, extract).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof Error)) throw new Error(`expected ${url} to fail`);
  return error;
}

const sha = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** Everything under root, relative, sorted (directories included). */
async function listTree(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true });
  return entries.map((e) => e.split('\\').join('/')).sort();
}

/** path → {sha256 of the spooled bytes, mode, mtimeMs, size} */
async function describeFiles(
  s: SpooledSource,
): Promise<Record<string, { sha: string; mode: number; mtimeMs: number; size: number }>> {
  const out: Record<string, { sha: string; mode: number; mtimeMs: number; size: number }> = {};
  for (const f of s.files) {
    const bytes = await readFile(f.absPath);
    expect(bytes.length).toBe(f.size);
    expect(Number.isInteger(f.mtimeMs)).toBe(true);
    out[f.path] = { sha: sha(bytes), mode: f.mode, mtimeMs: f.mtimeMs, size: f.size };
  }
  return out;
}

// ---- a source tree to pack with node-tar ----

const T0 = Date.UTC(2024, 4, 1, 12, 0, 0); // whole seconds: tar keeps seconds

interface TreeFile {
  path: string;
  content: Buffer;
  mode: number;
  mtimeMs: number;
}

function sampleTree(): TreeFile[] {
  return [
    { path: 'hello.txt', content: Buffer.from('hello, world\n'), mode: 0o644, mtimeMs: T0 },
    { path: 'bin/run.sh', content: Buffer.from('#!/bin/sh\necho run\n'), mode: 0o755, mtimeMs: T0 + 1000 },
    { path: 'data/nested/big.bin', content: randomBytes(3 * 1024 * 1024 + 17), mode: 0o600, mtimeMs: T0 + 2000 },
    { path: 'data/empty', content: Buffer.alloc(0), mode: 0o644, mtimeMs: T0 + 3000 },
  ];
}

async function writeTree(root: string, files: readonly TreeFile[]): Promise<void> {
  for (const f of files) {
    const abs = join(root, f.path);
    await mkdir(dirname(abs), { recursive: true });
    await writeFile(abs, f.content);
    await chmod(abs, f.mode);
    await utimes(abs, new Date(f.mtimeMs), new Date(f.mtimeMs));
  }
}

function expected(
  files: readonly TreeFile[],
  prefix = '',
): Record<string, { sha: string; mode: number; mtimeMs: number; size: number }> {
  const out: Record<string, { sha: string; mode: number; mtimeMs: number; size: number }> = {};
  for (const f of files) {
    out[prefix + f.path] = { sha: sha(f.content), mode: f.mode, mtimeMs: f.mtimeMs, size: f.content.length };
  }
  return out;
}

async function packTar(files: readonly TreeFile[], gzip: boolean, entries: string[] = ['.']): Promise<Buffer> {
  const src = join(tmp, 'src');
  await writeTree(src, files);
  const out = join(tmp, gzip ? 'out.tgz' : 'out.tar');
  await create({ cwd: src, file: out, gzip, portable: true }, entries);
  await rm(src, { recursive: true });
  const bytes = await readFile(out);
  await rm(out);
  return bytes;
}

describe('spoolUrl without --extract', () => {
  it('streams the body to one file named after the URL, with the Last-Modified time', async () => {
    const body = randomBytes(2 * 1024 * 1024 + 5);
    const url = serve('/files/my%20data.csv', body, { 'last-modified': 'Wed, 21 Oct 2015 07:28:00 GMT' });
    const s = await spool(url, false, 'raw/2015');
    expect(s.files).toHaveLength(1);
    const [file] = s.files;
    expect(file).toMatchObject({ path: 'raw/2015/my data.csv', size: body.length, mode: 0o644 });
    expect(file?.mtimeMs).toBe(Date.UTC(2015, 9, 21, 7, 28, 0));
    expect(sha(await readFile(file?.absPath ?? ''))).toBe(sha(body));
    expect(file?.absPath.startsWith(spoolDir)).toBe(true);

    await s.cleanup();
    expect(await readdir(spoolDir)).toEqual([]);
  });

  it('falls back to "download" for a URL without a name, and to now without Last-Modified', async () => {
    routes.set('/', (_req, res) => res.writeHead(200).end('root'));
    const before = Date.now();
    const s = await spool(`${base}/`, false);
    expect(s.files.map((f) => f.path)).toEqual(['download']);
    expect(s.files[0]?.mtimeMs).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 - 1000);
    expect(s.files[0]?.mtimeMs).toBeLessThanOrEqual(Date.now());
  });

  it('stores an archive as it is when extraction is not asked for', async () => {
    const bytes = await packTar(sampleTree(), true);
    const s = await spool(serve('/pack.tar.gz', bytes), false);
    expect(s.files.map((f) => f.path)).toEqual(['pack.tar.gz']);
    expect(sha(await readFile(s.files[0]?.absPath ?? ''))).toBe(sha(bytes));
  });

  it('sends credentials from the URL as basic auth', async () => {
    routes.set('/private/x.txt', (req, res) => {
      const ok = req.headers.authorization === `Basic ${Buffer.from('user:s3cret').toString('base64')}`;
      res.writeHead(ok ? 200 : 401).end(ok ? 'secret data' : 'no');
    });
    const s = await spool(`http://user:s3cret@${base.slice('http://'.length)}/private/x.txt`, false);
    expect(await readFile(s.files[0]?.absPath ?? '', 'utf8')).toBe('secret data');
  });
});

describe('spoolUrl with --extract', () => {
  it('unpacks a .tar with contents, modes and mtimes', async () => {
    const files = sampleTree();
    const s = await spool(serve('/pack.tar', await packTar(files, false)), true);
    expect(await describeFiles(s)).toEqual(expected(files));
    expect(s.files.map((f) => f.path)).toEqual(['bin/run.sh', 'data/empty', 'data/nested/big.bin', 'hello.txt']);
  });

  it('unpacks a .tar.gz under a target prefix', async () => {
    const files = sampleTree();
    const s = await spool(serve('/pack.tgz', await packTar(files, true, ['bin', 'data', 'hello.txt'])), true, 'in/v1');
    expect(await describeFiles(s)).toEqual(expected(files, 'in/v1/'));
    expect(s.files.find((f) => f.path === 'in/v1/bin/run.sh')?.mode).toBe(0o755);
  });

  it('unpacks a .zip with contents, modes and mtimes', async () => {
    const files = sampleTree();
    const entries: ZipEntry[] = [
      { name: 'bin/' },
      { name: 'data/nested/' },
      ...files.map((f) => ({ name: f.path, content: f.content, mode: f.mode, mtime: new Date(f.mtimeMs) })),
    ];
    const s = await spool(serve('/pack.zip', zip(entries)), true);
    expect(await describeFiles(s)).toEqual(expected(files));
  });

  it('recognizes the archive by its bytes, not its name', async () => {
    const s = await spool(serve('/misnamed.tar.gz', zip([{ name: 'a.txt', content: 'A' }])), true);
    expect(s.files.map((f) => f.path)).toEqual(['a.txt']);
  });

  it('turns a CIFAR-10 style .tar.gz into exactly its paths', async () => {
    const names = [
      'data_batch_1',
      'data_batch_2',
      'data_batch_3',
      'data_batch_4',
      'data_batch_5',
      'test_batch',
      'batches.meta',
      'readme.html',
    ];
    const files = names.map((n, i) => ({
      path: `cifar-10-batches-py/${n}`,
      content: randomBytes(1000 + i * 313),
      mode: 0o644,
      mtimeMs: T0 + i * 1000,
    }));
    const s = await spool(serve('/cifar-10-python.tar.gz', await packTar(files, true, ['cifar-10-batches-py'])), true);
    expect(s.files.map((f) => f.path)).toEqual(names.map((n) => `cifar-10-batches-py/${n}`).sort());
    expect(await describeFiles(s)).toEqual(expected(files));
    expect(warnings).toEqual([]);
  });

  it('keeps a tar hard link as a second copy of its file; skips symlinks and special files with a warning', async () => {
    const tarball = rawTar([
      { name: 'v1/readme', content: 'docs' },
      { name: 'latest', type: '2', linkname: 'v1/readme' },
      { name: 'v1/again', type: '1', linkname: 'v1/readme' },
      { name: 'dev/null', type: '3' },
      { name: 'fifo', type: '6' },
    ]);
    const s = await spool(serve('/links.tar', tarball), true);
    expect(s.files.map((f) => f.path)).toEqual(['v1/again', 'v1/readme']);
    const [again, readme] = s.files;
    expect(await readFile(again!.absPath, 'utf8')).toBe('docs');
    expect(again!.absPath).toBe(readme!.absPath);
    expect(warnings).toHaveLength(3);
    expect(warnings.join('\n')).toMatch(/symlink latest -> v1\/readme/);
    expect(warnings.join('\n')).not.toMatch(/hard link/);

    warnings = [];
    const zipped = zip([
      { name: 'docs/a.txt', content: 'A' },
      { name: 'docs/link', symlink: '../docs/a.txt' },
    ]);
    const z = await spool(serve('/links.zip', zipped), true);
    expect(z.files.map((f) => f.path)).toEqual(['docs/a.txt']);
    expect(warnings).toEqual([expect.stringMatching(/symlink docs\/link -> \.\.\/docs\/a\.txt/)]);
  });

  it('keeps the later of two entries with one path', async () => {
    const tarball = rawTar([
      { name: 'a.txt', content: 'first' },
      { name: 'x', content: 'a file, then a directory' },
      { name: './a.txt', content: 'second' },
      { name: 'x/y', content: 'y' },
    ]);
    const s = await spool(serve('/dup.tar', tarball), true);
    expect(s.files.map((f) => f.path)).toEqual(['a.txt', 'x/y']);
    expect(await readFile(s.files[0]?.absPath ?? '', 'utf8')).toBe('second');
    expect(warnings).toHaveLength(2);
  });

  it('refuses a download that is no archive', async () => {
    const error = await failure(serve('/notes.txt', 'just text, long enough '.repeat(40)), true);
    expect(error).toBeInstanceOf(UsageError);
    expect(error.code).toBe('ENOTARCHIVE');
    expect(await readdir(spoolDir)).toEqual([]);
  });
});

describe('spoolUrl refuses hostile archives', () => {
  /** Refused as EUNSAFEPATH, nothing left in the spool, nothing written anywhere around it. */
  async function expectRefused(url: string): Promise<void> {
    const error = await failure(url, true);
    expect(error).toBeInstanceOf(IntegrityError);
    expect(error.code).toBe('EUNSAFEPATH');
    expect(await listTree(tmp)).toEqual(['a', 'a/b', 'a/b/spool']);
    expect(existsSync('/etc/evil')).toBe(false);
  }

  const tars: [string, RawTarEntry[]][] = [
    [
      '"../" in a tar',
      [
        { name: 'ok.txt', content: 'fine' },
        { name: '../evil.txt', content: 'evil' },
      ],
    ],
    [
      'an absolute path in a tar',
      [
        { name: 'ok.txt', content: 'fine' },
        { name: '/etc/evil', content: 'evil' },
      ],
    ],
    ['"../" deep inside a tar name', [{ name: 'a/../../evil.txt', content: 'evil' }]],
    ['a tar symlink to an absolute path', [{ name: 'passwd', type: '2', linkname: '/etc/passwd' }]],
    [
      'a tar symlink escaping the root',
      [
        { name: 'a/link', type: '2', linkname: '../../x' },
        { name: 'a/link/y', content: 'y' },
      ],
    ],
    ['a tar hard link escaping the root', [{ name: 'h', type: '1', linkname: '../x' }]],
  ];
  for (const [what, entries] of tars) {
    it(`refuses ${what}`, async () => {
      await expectRefused(serve('/evil.tar', rawTar(entries)));
    });
  }

  it('refuses "../" in a tar.gz', async () => {
    await expectRefused(serve('/evil.tgz', gzipSync(rawTar([{ name: '../evil.txt', content: 'evil' }]))));
  });

  const zips: [string, ZipEntry[]][] = [
    [
      '"../" in a zip',
      [
        { name: 'ok.txt', content: 'fine' },
        { name: '../evil.txt', content: 'evil' },
      ],
    ],
    ['an absolute path in a zip', [{ name: '/etc/evil', content: 'evil' }]],
    ['a zip symlink escaping the root', [{ name: 'link', symlink: '../../x' }]],
    ['a zip symlink to an absolute path', [{ name: 'passwd', symlink: '/etc/passwd' }]],
  ];
  for (const [what, entries] of zips) {
    it(`refuses ${what}`, async () => {
      await expectRefused(serve('/evil.zip', zip(entries)));
    });
  }
});

describe('spoolUrl errors', () => {
  it('names the HTTP status and never the credentials', async () => {
    const error = await failure(`http://user:hunter2@${base.slice('http://'.length)}/missing.tar?token=abc`, false);
    // A source that is not there is "not found" (3), like a missing --source-path.
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.code).toBe('ENOSOURCE');
    expect(error.message).toMatch(/404/);
    expect(error.message).toContain('/missing.tar');
    expect(error.message).not.toMatch(/hunter2|user|token=abc/);
    expect(await readdir(spoolDir)).toEqual([]);
  });

  it('says a closed port cannot be reached', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const error = await failure(`http://127.0.0.1:${port}/x.tar`, true);
    expect(error).toBeInstanceOf(StorageError);
    expect(error.code).toBe('EUNREACHABLE');
    expect(error.message).toMatch(/cannot reach/);
    expect(await readdir(spoolDir)).toEqual([]);
  });

  it('says a damaged archive is damaged, without hanging', async () => {
    const tgz = await packTar(sampleTree(), true);
    const cut = await failure(serve('/cut.tgz', tgz.subarray(0, Math.floor(tgz.length / 2))), true);
    expect(cut).toBeInstanceOf(IntegrityError);
    expect(cut.code).toBe('EARCHIVE');

    const tarball = rawTar([{ name: 'a.bin', content: randomBytes(200_000) }]);
    const short = await failure(serve('/cut.tar', tarball.subarray(0, 100_000)), true);
    expect(short).toBeInstanceOf(IntegrityError);
    expect(short.code).toBe('EARCHIVE');

    const zipped = zip([{ name: 'a.txt', content: 'A'.repeat(5000) }]);
    const broken = await failure(serve('/cut.zip', zipped.subarray(0, 3000)), true);
    expect(broken).toBeInstanceOf(IntegrityError);
    expect(broken.code).toBe('EARCHIVE');
    expect(await readdir(spoolDir)).toEqual([]);
  });

  it('stops when aborted and leaves no spool behind', async () => {
    routes.set('/slow.bin', (_req, res) => {
      res.writeHead(200);
      res.write(randomBytes(64 * 1024)); // and never ends
    });
    const controller = new AbortController();
    const pending = spoolUrl({
      url: `${base}/slow.bin`,
      extract: false,
      target: '',
      spoolDir,
      signal: controller.signal,
      warn: () => undefined,
    });
    setTimeout(() => controller.abort(), 100);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    expect(await readdir(spoolDir)).toEqual([]);
  });

  it('accepts only http and https URLs', async () => {
    const error = await failure('ftp://example.com/data.tar', true);
    expect(error).toBeInstanceOf(UsageError);
    expect(existsSync(spoolDir)).toBe(false);
  });
});
