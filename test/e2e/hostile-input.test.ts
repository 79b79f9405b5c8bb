// Issue 16: hostile input. A source tree with a FIFO, a socket, a device node and a name that is
// not UTF-8 is put whole but for those (each skipped with a warning); a newline in a name and a
// 255-byte name round-trip; archives that are bombs are refused unless told more; names longer
// than a filesystem takes are refused at put; "." and ".." are no dataset names or tags; an
// unreadable source file is this machine's failure (exit 8).
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttp, type Server } from 'node:http';
import { createServer as createNet, type Server as NetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { strata, strataJson } from '../helpers/cli.js';
import { inCI } from '../helpers/ci.js';
import { assertBuilt, expectErrorLine, expectFailure } from '../helpers/expect-cli.js';
import { createDataset, listFilesJson, openVersion } from '../helpers/fixtures.js';
import { catalogRows, statFiles } from '../helpers/snapshot.js';
import { rawTar } from '../helpers/tar.js';
import { tempDirs } from '../helpers/temp.js';
import { readTree } from '../helpers/tree.js';
import { zip } from '../helpers/zip.js';

const fresh = tempDirs('strata-hostile-');
const asRoot = process.getuid?.() === 0;
const MiB = 1024 * 1024;
const NOBODY = 65534;

const served = new Map<string, Buffer>();
let http: Server;
let base: string;
const sockets: NetServer[] = [];

beforeAll(async () => {
  assertBuilt();
  http = createHttp((req, res) => {
    const body = served.get(req.url ?? '');
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const s of sockets) s.close();
  http.closeAllConnections();
  await new Promise((resolve) => http.close(resolve));
});

function serve(name: string, body: Buffer): string {
  const path = `/${served.size}/${name}`;
  served.set(path, body);
  return `${base}${path}`;
}

describe.concurrent('a source tree with what is not a regular file, or not a UTF-8 name', () => {
  it('puts every regular file, skipping a FIFO, a socket, a device node and a non-UTF-8 name with a warning each; a newline and a 255-byte name round-trip', async () => {
    if (!asRoot && inCI()) throw new Error('this test makes a device node: it needs root under CI');
    const o = { home: fresh() };
    const src = fresh();
    mkdirSync(join(src, 'sub'));
    writeFileSync(join(src, 'plain.txt'), 'plain\n');
    writeFileSync(join(src, 'two\nlines.txt'), 'a newline in the name\n');
    const long = `${'n'.repeat(251)}.txt`;
    writeFileSync(join(src, 'sub', long), 'a 255-byte name\n');
    writeFileSync(Buffer.from(`${src}/latin1-\xe9t\xe9.txt`, 'latin1'), 'not UTF-8\n');
    execFileSync('mkfifo', [join(src, 'pipe')]);
    const socket = createNet();
    sockets.push(socket);
    await new Promise<void>((resolve) => socket.listen(join(src, 'socket'), resolve));
    if (asRoot) execFileSync('mknod', [join(src, 'null-device'), 'c', '1', '3']);

    await createDataset(o);
    const v = await openVersion(o, 'demo');
    const r = await strata(['datasets', 'files', 'put', '--id', v.ref, '--source-path', `${src}/`, '--json'], o);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ files: 3 });
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('Warning: '));
    expect(warnings.some((w) => w.includes(`${src}/pipe: not a regular file`))).toBe(true);
    expect(warnings.some((w) => w.includes(`${src}/socket: not a regular file`))).toBe(true);
    if (asRoot) expect(warnings.some((w) => w.includes(`${src}/null-device: not a regular file`))).toBe(true);
    expect(warnings.some((w) => /latin1-.*its name is not valid UTF-8/.test(w))).toBe(true);

    expect((await listFilesJson(o, v.ref)).map((f) => f.path)).toEqual(['plain.txt', `sub/${long}`, 'two\nlines.txt']);
    await strataJson(['datasets', 'versions', 'commit', '--id', v.ref], o);
    const out = fresh();
    expect((await strata(['datasets', 'files', 'get', '--id', v.ref, '--target-path', out], o)).code).toBe(0);
    expect(readFileSync(join(out, 'two\nlines.txt'), 'utf8')).toBe('a newline in the name\n');
    expect(readFileSync(join(out, 'sub', long), 'utf8')).toBe('a 255-byte name\n');
  });

  it('a source file its user may not read fails the put with exit 8, naming it', async () => {
    // Root reads every file: the put runs as nobody, on a file only root may read.
    if (!asRoot && inCI()) throw new Error('this test runs the put as another user: it needs root under CI');
    const home = fresh();
    // A user's HOME is theirs: oclif reads its data directory there.
    const o = asRoot ? { home, uid: NOBODY, gid: NOBODY, env: { HOME: home } } : { home };
    if (asRoot) chownSync(home, NOBODY, NOBODY);
    const src = fresh();
    chmodSync(src, 0o755);
    writeFileSync(join(src, 'readable.txt'), 'yes');
    writeFileSync(join(src, 'secret.txt'), 'no');
    chmodSync(join(src, 'secret.txt'), 0);
    await createDataset(o);
    const v = await openVersion(o, 'demo');
    const args = ['datasets', 'files', 'put', '--id', v.ref, '--source-path', `${src}/`];
    const line = expectErrorLine(await strata(args, o), 8);
    expect(line).toBe(`Error: permission denied: ${join(src, 'secret.txt')}`);
  });
});

describe.concurrent('archives', () => {
  const bombs = (): [string, Buffer][] => {
    const zeros = Buffer.alloc(80 * MiB);
    return [
      ['zip', zip([{ name: 'zeros.bin', content: zeros, deflate: true }])],
      ['tar.gz', gzipSync(rawTar([{ name: 'zeros.bin', content: zeros }]), { level: 9 })],
    ];
  };

  it.for(bombs())(
    'a %s bomb (80 MiB of zeros in well under 1 MiB) is refused with exit 2, nothing stored; --max-expansion lets it in',
    async ([kind, archive]) => {
      expect(archive.length).toBeLessThan(MiB);
      const o = { home: fresh() };
      await createDataset(o);
      const v = await openVersion(o, 'demo');
      const url = serve(`bomb.${kind}`, archive);
      const before = { catalog: catalogRows(join(o.home, 'catalog.db')), storage: statFiles(join(o.home, 'storage')) };
      const { line, error } = await expectFailure(
        ['datasets', 'files', 'put', '--id', v.ref, '--source-url', url, '--extract'],
        o,
        2,
      );
      expect(error.code).toBe('EARCHIVEBOMB');
      expect(line).toMatch(/unpacks to more than 100 times its size.*--max-expansion/);
      expect({ catalog: catalogRows(join(o.home, 'catalog.db')), storage: statFiles(join(o.home, 'storage')) }).toEqual(
        before,
      );
      const ratio = String(Math.ceil((80 * MiB) / archive.length) + 1);
      const ok = await strataJson<{ files: number; bytes: number }>(
        ['datasets', 'files', 'put', '--id', v.ref, '--source-url', url, '--extract', '--max-expansion', ratio],
        o,
      );
      expect(ok).toMatchObject({ files: 1, bytes: 80 * MiB });
    },
  );

  it('an entry whose name is longer than a filesystem takes is refused at put, naming it', async () => {
    const o = { home: fresh() };
    await createDataset(o);
    const v = await openVersion(o, 'demo');
    const name = `dir/${'x'.repeat(300)}.txt`;
    const url = serve('long.zip', zip([{ name, content: 'x' }]));
    const { line } = await expectFailure(
      ['datasets', 'files', 'put', '--id', v.ref, '--source-url', url, '--extract'],
      o,
      5,
    );
    expect(line).toContain('a name longer than 255 bytes');
    expect(await listFilesJson(o, v.ref)).toEqual([]);
  });

  it('20,000 entries unpack and are stored with bounded memory', { timeout: 120_000 }, async () => {
    const o = { home: fresh() };
    await createDataset(o);
    const v = await openVersion(o, 'demo');
    const entries = Array.from({ length: 20_000 }, (_, i) => ({
      name: `d${i % 50}/f${i}.txt`,
      content: `entry ${i}\n`,
    }));
    const url = serve('many.tar.gz', gzipSync(rawTar(entries)));
    const r = await strata(['datasets', 'files', 'put', '--id', v.ref, '--source-url', url, '--extract', '--json'], {
      ...o,
      env: { NODE_OPTIONS: '--max-old-space-size=200' },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ files: 20_000 });
  });
});

describe.concurrent('names', () => {
  it.for(['.', '..'])('"%s" is refused as a dataset name and as a tag (exit 2)', async (name) => {
    const o = { home: fresh() };
    const { error } = await expectFailure(['datasets', 'create', '--name', name], o, 2);
    expect(error.code).toBe('ENAME');
    await createDataset(o);
    const src = fresh();
    writeFileSync(join(src, 'a.txt'), 'a');
    const v = await strataJson<{ ref: string }>(
      ['datasets', 'versions', 'create', '--id', 'demo', '--source-path', src],
      o,
    );
    expect((await expectFailure(['datasets', 'tags', 'set', '--id', v.ref, '--name', name], o, 2)).error.code).toBe(
      'ENAME',
    );
    expect(readTree(join(o.home, 'storage', 'datasets')).filter((f) => f.path.includes('/tags/'))).toEqual([]);
  });
});
