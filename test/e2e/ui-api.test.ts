// `strata ui`'s HTTP API, spawned as a user runs it (local provider): the guard (Host, token,
// x-strata-request), paths that leave a version, uploads refused and accepted, folder pages,
// previews and downloads. docs/ui.md describes the API.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { strata, strataJson, type CliOptions } from '../helpers/cli.js';
import { assertBuilt, expectJsonError } from '../helpers/expect-cli.js';
import { committedVersion, listFilesJson, writeFiles, type VersionJson } from '../helpers/fixtures.js';
import { catalogRows, statFiles } from '../helpers/snapshot.js';
import { tempDirs } from '../helpers/temp.js';
import {
  api,
  expectError,
  expectSecure,
  startUi,
  uploadBody,
  walkFiles,
  type Api,
  type FolderEntry as Entry,
  type FolderPage as Page,
  type Reply,
  type RunningUi,
} from '../helpers/ui-server.js';

const fresh = tempDirs('strata-ui-api-');
const PNG = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), randomBytes(40)]);
const BIN = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const SAMPLE: Record<string, string | Buffer> = {
  'data.csv': 'a,b\n1,"x,y"\n2,z\n',
  'doc.json': '{"b":1,"a":[1,2]}',
  'notes.txt': 'hello\nworld\n',
  'blob.bin': BIN,
  'pic.png': PNG,
  'page.html': '<script>alert(document.cookie)</script>',
  'pic.svg': '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
  'nested/deep/leaf.txt': 'leaf',
};
/** The paging folder: 1,000 files and four folders between and after them. */
const BIG: Record<string, string> = {
  ...Object.fromEntries(
    Array.from({ length: 1000 }, (_, i) => [`f${String(i).padStart(4, '0')}.txt`, 'x'.repeat(i % 7)]),
  ),
  'a-dir/x.txt': 'ax',
  'f0500/inner.txt': 'inner',
  'm/one.txt': 'one',
  'm/two/three.txt': 'three!',
  'zz/end.bin': 'end',
};

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
const enc = encodeURIComponent;
/** An upload body of small text files (path → content). */
const framed = (files: Record<string, string>): Buffer =>
  uploadBody(Object.entries(files).map(([path, content]) => ({ path, content })));
const cursorOf = (e: Entry): string => (e.type === 'dir' ? `${e.name}/` : e.name);

describe('strata ui: the HTTP API', () => {
  const parent = fresh();
  const home = join(parent, 'home');
  const cwd = join(parent, 'cwd');
  const o: CliOptions = { home };
  let ui: RunningUi;
  let call: Api;
  let demo: VersionJson;
  let big: VersionJson;
  const catalog = (): Record<string, unknown[]> => catalogRows(join(home, 'catalog.db'));
  const state = async (ref: string): Promise<unknown> => ({
    version: (await call(`/api/versions/${enc(ref)}`)).json(),
    files: (await call(`/api/versions/${enc(ref)}/files`)).json(),
  });
  const openVersion = async (): Promise<VersionJson> =>
    (await call('/api/datasets/up/versions', { body: { message: 'from the page' } })).json<VersionJson>();

  beforeAll(async () => {
    assertBuilt();
    mkdirSync(home);
    mkdirSync(cwd);
    await strataJson(['datasets', 'create', '--name', 'demo'], o);
    await Promise.all(['big', 'up'].map((name) => strataJson(['datasets', 'create', '--name', name], o)));
    [demo, big] = await Promise.all([
      committedVersion(o, 'demo', `${writeFiles(fresh(), SAMPLE as Record<string, string>)}/`),
      committedVersion(o, 'big', `${writeFiles(fresh(), BIG)}/`),
    ]);
    ui = await startUi(home, ['--max-upload', '16KiB'], {}, cwd);
    call = api(ui.base, ui.token);
  });
  afterAll(async () => {
    const ended = await ui?.stop();
    expect({ code: ended?.code, stderr: ended?.stderr }).toEqual({ code: 0, stderr: '' });
  });

  it('says its URL and needs the token: none or a wrong one is 401, bearer, ?token= and the landing cookie pass', async () => {
    expect(ui.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{20,}$/);
    for (const r of [
      await call('/api/datasets', { token: null }),
      await call('/', { token: null }),
      await call('/api/datasets', { token: 'wrong' }),
      await call('/api/datasets', { token: `${ui.token}x` }),
      await call('/api/datasets', { token: ui.token.slice(0, -1) }),
      await call(`/api/datasets?token=${ui.token.slice(1)}`, { token: null }),
      await call('/api/datasets', { token: null, headers: { cookie: 'strata_ui=nope' } }),
      await call(`/?token=wrong`, { token: null }),
    ]) {
      expectError(r, 401, 'ETOKEN');
      expect(r.headers['set-cookie']).toBeUndefined();
    }
    expect((await call('/api/datasets')).status).toBe(200);
    expect((await call(`/api/datasets?token=${ui.token}`, { token: null })).status).toBe(200);

    const landing = await call(`/?token=${ui.token}`, { token: null });
    expectSecure(landing);
    expect({ status: landing.status, location: landing.headers.location }).toEqual({ status: 303, location: '/' });
    const [cookie] = landing.headers['set-cookie'] ?? [];
    const [pair, ...attributes] = cookie!.split(';').map((s) => s.trim());
    expect(pair).toBe(`strata_ui=${ui.token}`);
    expect(attributes).toEqual(expect.arrayContaining(['HttpOnly', 'SameSite=Strict']));
    const byCookie = { token: null, headers: { cookie: `other=1; ${pair}` } };
    const datasets = await call('/api/datasets', byCookie);
    expect(new Set(datasets.json<{ name: string }[]>().map((d) => d.name))).toEqual(new Set(['demo', 'big', 'up']));
    const page = await call('/', byCookie);
    expectSecure(page);
    expect(`${page.status} ${page.headers['content-type']}`).toMatch(/^200 text\/html/);
  });

  it('refuses a Host it does not answer to with 421 EHOST, token or not (DNS rebinding)', async () => {
    const p = ui.port;
    for (const host of [`127.0.0.1:${p}`, `localhost:${p}`, `[::1]:${p}`, `LOCALHOST:${p}`])
      expect((await call('/api/datasets', { host })).status, host).toBe(200);
    const hostile = [`attacker.example:${p}`, `127.0.0.1.attacker.example:${p}`, `localhost:${p + 1}`, '127.0.0.1'];
    for (const host of [...hostile, `evil.localhost:${p}`, `127.0.0.2:${p}`]) {
      expectError(await call('/api/datasets', { host }), 421, 'EHOST');
      expectError(await call('/api/datasets', { host, token: null }), 421, 'EHOST');
      const landing = await call(`/?token=${ui.token}`, { host, token: null });
      expectError(landing, 421, 'EHOST');
      expect(landing.headers['set-cookie'], host).toBeUndefined();
    }
  });

  it("on --host 0.0.0.0 answers to this machine's name, still to no other, and warns", async () => {
    const wide = await startUi(home, ['--host', '0.0.0.0']);
    try {
      const p = wide.port;
      const local = api(wide.base, wide.token);
      expect((await local('/api/datasets', { host: `${hostname()}:${p}` })).status).toBe(200);
      expectError(await local('/api/datasets', { host: `attacker.example:${p}` }), 421, 'EHOST');
    } finally {
      const r = await wide.stop();
      expect(r.stderr).toMatch(/listening on 0\.0\.0\.0: other machines that reach it can use this app/);
    }
  });

  it('refuses a change without x-strata-request (403 ECSRF) and changes nothing', async () => {
    const v = await openVersion();
    const before = catalog();
    const cookieOnly = { token: null, headers: { cookie: `strata_ui=${ui.token}` } };
    const one = framed({ 'x.txt': 'x' });
    for (const options of [
      { state: false },
      { state: false, headers: { 'x-strata-request': '0' } },
      { ...cookieOnly, state: false },
    ]) {
      const refused = [
        await call('/api/datasets/up/versions', { ...options, body: { message: 'csrf' } }),
        await call(`/api/versions/${enc(v.ref)}/files`, { ...options, body: one }),
        await call(`/api/versions/${enc(v.ref)}/commit`, { ...options, body: {} }),
        await call(`/api/versions/${enc(demo.ref)}/tags`, { ...options, body: { name: 'csrf' } }),
        await call('/api/datasets', { ...options, method: 'DELETE' }),
      ];
      for (const r of refused) expectError(r, 403, 'ECSRF');
    }
    expect(catalog()).toEqual(before);
    expect(await state(v.ref)).toMatchObject({ version: { isCommitted: false, fileCount: 0 }, files: { entries: [] } });
  });

  it('refuses paths that leave the version in preview, content and folder listings', async () => {
    const hostile = '../x|/../../etc/passwd|a/../../b|nested/../../..|..|\0|notes.txt\0.png|..\\..\\x|C:\\x'.split('|');
    const routes = ['preview', 'content', 'files'];
    for (const route of routes)
      for (const path of hostile) {
        const r = await call(`/api/versions/${enc(demo.ref)}/${route}?path=${enc(path)}`);
        expect(expectError(r, 400).code, `${route} ${JSON.stringify(path)}`).toBe('EPATH');
      }
    // Absolute-looking paths are paths in the version: not there, and nothing of this machine's.
    for (const route of routes)
      for (const path of ['/etc/passwd', '//etc//passwd', `${home}/catalog.db`]) {
        const r = await call(`/api/versions/${enc(demo.ref)}/${route}?path=${enc(path)}`);
        expect(r.status, `${route} ${path}`).toBeGreaterThanOrEqual(400);
        expect(r.text).not.toMatch(/root:|SQLite/);
      }
    const leaf = await call(`/api/versions/${enc(demo.ref)}/content?path=${enc('/nested/deep/leaf.txt')}`);
    expect({ status: leaf.status, text: leaf.text }).toEqual({ status: 200, text: 'leaf' });
  });

  it('refuses hostile upload paths with 400 and writes nothing anywhere', async () => {
    const v = await openVersion();
    const marker = `MARKER-${randomBytes(8).toString('hex')}`;
    const before = catalog();
    const storage = statFiles(join(home, 'storage'));
    const files = (path: string): Buffer => framed({ 'ok.txt': 'fine', [path]: marker });
    const refused = [
      ...'../evil|/abs|/../evil|a//b|a/./b|a/../../evil|a\\..\\evil|x\0y||.'
        .split('|')
        .map((p) => call(`/api/versions/${enc(v.ref)}/files`, { body: files(p) })),
      call(`/api/versions/${enc(v.ref)}/files?target=${enc('../up')}`, { body: files('evil') }),
      call(`/api/versions/${enc(v.ref)}/files?target=${enc('a/../../b')}`, { body: files('evil') }),
    ];
    for (const r of await Promise.all(refused)) expect(expectError(r, 400).code, r.text).toBe('EPATH');
    expect(await state(v.ref)).toMatchObject({ version: { fileCount: 0 }, files: { entries: [] } });
    expect(catalog()).toEqual(before);
    expect(statFiles(join(home, 'storage'))).toEqual(storage);
    expect(readdirSync(parent).sort()).toEqual(['cwd', 'home']);
    expect(readdirSync(cwd)).toEqual([]);
    expect(statFiles(join(home, 'tmp'))).toEqual([]);
    for (const f of statFiles(parent)) expect(readFileSync(join(parent, f.path)).includes(marker), f.path).toBe(false);
  });

  it('refuses an upload that makes a file and a folder of one name (the version could never be got)', async () => {
    const v = await openVersion();
    const url = `/api/versions/${enc(v.ref)}/files`;
    const both = await call(url, { body: framed({ x: 'x', 'x/y': 'y' }) });
    expect(expectError(both, 409, 'EPATHCLASH')).toMatchObject({ message: expect.stringContaining('"x/y" and "x"') });
    expect((await call(url, { body: framed({ f: 'f' }) })).status).toBe(200);
    const below = await call(`${url}?target=f`, { body: framed({ g: 'g' }) });
    expectError(below, 409, 'EPATHCLASH');
    const names = (await call(url)).json<Page>().entries.map(cursorOf);
    expect(names).toEqual(['f']);
  });

  it('a committed version refuses an upload with the CLI message (409 ECOMMITTED) and the catalog is unchanged', async () => {
    const before = catalog();
    const r = await call(`/api/versions/${enc(demo.ref)}/files`, { body: framed({ 'late.txt': 'late' }) });
    const error = expectError(r, 409, 'ECOMMITTED');
    const src = writeFiles(fresh(), { 'late.txt': 'late' });
    const cli = await strata(['datasets', 'files', 'put', '--id', demo.ref, '--source-path', src, '--json'], o);
    expect(error).toEqual(expectJsonError(cli, 4));
    expect(catalog()).toEqual(before);
  });

  it('refuses an upload over --max-upload (413), without a Content-Length or with sizes that do not add up (400)', async () => {
    const v = await openVersion();
    const url = `/api/versions/${enc(v.ref)}/files`;
    const before = catalog();
    const tooBig = uploadBody([{ path: 'big.bin', content: randomBytes(17 * 1024) }]);
    expectError(await call(url, { body: tooBig }), 413, 'ETOOLARGE');
    expectError(await call(url, { body: framed({ 'a.txt': 'abc' }), chunked: true }), 400);
    const good = framed({ 'a.txt': 'abcde', 'b.txt': 'xyz' });
    const bad = [
      uploadBody([{ path: 'a.txt', content: 'abcde', size: 10 }]),
      uploadBody([{ path: 'a.txt', content: 'abcde', size: 2 }]),
      uploadBody([{ path: 'a.txt', content: 'abcde', size: -5 }]),
      good.subarray(0, good.length - 1),
      Buffer.concat([good, Buffer.from('!')]),
      Buffer.from([0, 0, 1, 0, 1, 2]),
      Buffer.concat([Buffer.from([0, 0, 0, 5]), Buffer.from('nope!abc')]),
      uploadBody([]),
      Buffer.alloc(0),
    ];
    for (const body of bad) expect(expectError(await call(url, { body }), 400).code).toMatch(/^E(USAGE|PATH)$/);
    expect(catalog()).toEqual(before);
    expect(statFiles(join(home, 'tmp'))).toEqual([]);
  });

  it('uploads nested files, commits and tags them; the API and `datasets files list` agree', async () => {
    const v = await openVersion();
    const files = [
      { path: 'a.txt', content: 'alpha', mtimeMs: Date.UTC(2024, 1, 2, 3, 4, 5) },
      { path: 'deep/er/b.csv', content: 'k,v\n1,2\n' },
      { path: 'deep/c.json', content: '{"c":true}' },
      { path: 'deep/er/empty.txt', content: '' },
    ];
    const put = await call(`/api/versions/${enc(v.ref)}/files?target=${enc('/in/')}`, { body: uploadBody(files) });
    expect({ status: put.status, body: put.json() }).toMatchObject({ status: 200, body: { files: 4, bytes: 23 } });
    const commit = await call(`/api/versions/${enc(v.ref)}/commit`, { body: {} });
    expect(commit.json()).toMatchObject({ ref: v.ref, isCommitted: true, fileCount: 4, size: 23 });
    expect((await call(`/api/versions/${enc(v.ref)}/tags`, { body: { name: 'ui-v1' } })).status).toBe(200);
    expect((await call(`/api/versions/${enc('up:ui-v1')}`)).json()).toMatchObject({ ref: v.ref, tags: ['ui-v1'] });

    const viaApi = await walkFiles(call, 'up:ui-v1');
    const viaCli = (await listFilesJson(o, v.ref)).filter((f) => f.type === 'file');
    expect(viaApi.map(({ path, size, sha256, mode, mtime }) => ({ path, size, sha256, mode, mtime }))).toEqual(
      viaCli.map(({ path, size, sha256, mode, mtime }) => ({ path, size, sha256, mode, mtime })),
    );
    expect(viaApi.map((f) => [f.path, f.sha256])).toEqual(
      [...files].sort((a, b) => (a.path < b.path ? -1 : 1)).map((f) => [`in/${f.path}`, sha(f.content)]),
    );
    expect(viaApi[0]!.mtime).toBe('2024-02-02T03:04:05.000Z');
    const again = await call(`/api/versions/${enc(v.ref)}/files`, { body: framed({ z: 'z' }) });
    expectError(again, 409, 'ECOMMITTED');
  });

  it('stores a file too large to hold in memory from its spool, byte for byte, and leaves no spool behind', async () => {
    const v = await openVersion();
    const large = randomBytes(9 * 1024 * 1024); // over the put engine's in-memory size: spooled to disk
    const files = [
      { path: 'small-1.bin', content: randomBytes(3000) },
      { path: 'large.bin', content: large },
      { path: 'small-2.bin', content: randomBytes(10) },
    ];
    const roomy = await startUi(home, ['--max-upload', '32MiB']); // this file's server takes 16 KiB
    try {
      const post = api(roomy.base, roomy.token);
      const put = await post(`/api/versions/${enc(v.ref)}/files`, { body: uploadBody(files) });
      expect({ status: put.status, body: put.json() }).toMatchObject({ status: 200, body: { files: 3 } });
    } finally {
      await roomy.stop();
    }
    expect(statFiles(join(home, 'tmp'))).toEqual([]); // (before downloads, which spool there a moment)
    for (const f of files) {
      const got = await call(`/api/versions/${enc(v.ref)}/content?path=${enc(f.path)}`);
      expect(sha(got.body), f.path).toBe(sha(f.content));
    }
  });

  it('pages a folder of 1,000 files and 4 folders: forwards, backwards and last, each entry once in path order', async () => {
    const url = (q: string): string => `/api/versions/${enc(big.ref)}/files?limit=100${q}`;
    const pages: Page[] = [];
    for (let after: string | null = null, i = 0; i === 0 || after !== null; i++) {
      const page: Page = (await call(url(after === null ? '' : `&after=${enc(after)}`))).json<Page>();
      expect(page.entries.length).toBe(page.after === null ? 4 : 100);
      expect(page.before).toBe(i === 0 ? null : cursorOf(page.entries[0]!));
      pages.push(page);
      after = page.after;
    }
    const all = pages.flatMap((p) => p.entries);
    const cursors = all.map(cursorOf);
    expect(cursors).toHaveLength(1004);
    expect(new Set(cursors).size).toBe(1004);
    expect(cursors).toEqual([...cursors].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    expect(cursors.slice(0, 2)).toEqual(['a-dir/', 'f0000.txt']);
    expect(cursors.slice(501, 504)).toEqual(['f0500.txt', 'f0500/', 'f0501.txt']);
    expect(cursors.slice(-3)).toEqual(['f0999.txt', 'm/', 'zz/']);
    expect(pages[0]).toMatchObject({ ref: big.ref, path: '', fileCount: 1005, before: null });
    expect(all.find((e) => e.name === 'm')).toEqual({ name: 'm', path: 'm', type: 'dir', fileCount: 2, size: 9 });
    expect(all.find((e) => e.name === 'f0500')).toMatchObject({ type: 'dir', fileCount: 1, size: 5 });
    expect(all.find((e) => e.name === 'f0013.txt')).toMatchObject({ type: 'file', size: 6, sha256: sha('xxxxxx') });

    const last = (await call(url('&last=1'))).json<Page>();
    expect(last).toEqual({ ...pages[0], entries: all.slice(-100), before: cursorOf(all.at(-100)!), after: null });
    const back: Entry[] = [];
    for (let before: string | null = cursorOf(pages.at(-1)!.entries[0]!); before !== null;) {
      const page: Page = (await call(url(`&before=${enc(before)}`))).json<Page>();
      expect(page.after).toBe(cursorOf(page.entries.at(-1)!));
      back.unshift(...page.entries);
      before = page.before;
    }
    expect(back).toEqual(all.slice(0, -4));
    const inM = (await call(`/api/versions/${enc(big.ref)}/files?path=m&limit=1`)).json<Page>();
    expect(inM).toMatchObject({ path: 'm', fileCount: 2, size: 9, entries: [{ name: 'one.txt' }], after: 'one.txt' });
  });

  it('previews CSV, JSON, text, binary (hex) and images', async () => {
    const preview = async (path: string): Promise<unknown> => {
      const r = await call(`/api/versions/${enc(demo.ref)}/preview?path=${enc(path)}`);
      expect(r.status, r.text).toBe(200);
      const doc = r.json<{ path: string; size: number; sha256: string; preview: unknown }>();
      const size = Buffer.from(SAMPLE[path]!).length;
      expect(doc).toMatchObject({ ref: demo.ref, path, size, sha256: sha(SAMPLE[path]!) });
      return doc.preview;
    };
    const csv = '{"kind":"csv","rows":[["a","b"],["1","x,y"],["2","z"]],"truncated":false}';
    expect(JSON.stringify(await preview('data.csv'))).toBe(csv);
    const json = JSON.stringify({ b: 1, a: [1, 2] }, null, 2);
    expect(await preview('doc.json')).toEqual({ kind: 'json', text: json, truncated: false });
    expect(await preview('notes.txt')).toEqual({ kind: 'text', text: 'hello\nworld\n', truncated: false });
    expect(await preview('page.html')).toMatchObject({ kind: 'text', text: SAMPLE['page.html'] });
    const hex = (await preview('blob.bin')) as { kind: string; lines: string[] };
    expect(hex.kind).toBe('hex');
    expect(hex.lines).toHaveLength(16);
    expect(hex.lines[0]).toMatch(/^00000000 {2}00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f {2}\.{16}$/);
    expect(await preview('pic.png')).toEqual({ kind: 'image' });
  });

  it('serves content as an attachment under a sandbox CSP; inline only for raster images', async () => {
    const content = (path: string, inline = false): Promise<Reply> =>
      call(`/api/versions/${enc(demo.ref)}/content?path=${enc(path)}${inline ? '&inline=1' : ''}`);
    const [file, image] = ['application/octet-stream attachment', 'image/png inline'];
    const wanted = { 'page.html': file, 'page.html inline': file, 'pic.svg inline': file, 'blob.bin inline': file };
    for (const [asked, want] of Object.entries({ ...wanted, 'pic.png': file, 'pic.png inline': image })) {
      const [path, inline] = asked.split(' ') as [string, string?];
      const r = await content(path, inline !== undefined);
      const disposition = String(r.headers['content-disposition']).split(';')[0];
      expect(`${r.status} ${r.headers['content-type']} ${disposition}`, asked).toBe(`200 ${want}`);
      expect(r.headers['content-security-policy']).toMatch(/\bsandbox\b/);
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(Buffer.compare(r.body, Buffer.from(SAMPLE[path]!))).toBe(0);
    }
  });

  it('answers a malformed request with 400, not 500', async () => {
    const asked = ['/api/versions/%E0%A4%A/files', '/api/versions/%/preview?path=a', '/api/datasets/%E0'];
    for (const q of ['limit=abc', 'limit=1.5', `after=${enc('a/b')}`])
      asked.push(`/api/versions/${enc(big.ref)}/files?${q}`);
    const got = await Promise.all(asked.map(async (path) => `${path} ${(await call(path)).status}`));
    expect(got).toEqual(asked.map((path) => `${path} 400`));
  });
});
