// `strata ui` against Ceph RGW, with a provider made with the server's real secret key: no
// response of the API (body or header) carries the secret or its masked form (invariant 6),
// downloads are the stored bytes, and a blob damaged in the bucket is a 502 EINTEGRITY, never
// wrong bytes.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { strataJson, type CliOptions } from '../helpers/cli.js';
import { assertBuilt } from '../helpers/expect-cli.js';
import { committedVersion, writeFiles, type VersionJson } from '../helpers/fixtures.js';
import { createS3ProviderArgs, TestBucket } from '../helpers/s3-bucket.js';
import { tempDirs } from '../helpers/temp.js';
import { randomBytesFrom, rng } from '../helpers/tree.js';
import { api, expectError, startUi, uploadBody, type Api, type Reply, type RunningUi } from '../helpers/ui-server.js';

const s3 = inject('s3');
const fresh = tempDirs('strata-s3-ui-');
/** Above the 1 MiB below which a put packs blobs: `big.bin` is an object of its own. */
const BIG_SIZE = 1536 * 1024;
const FILES: Record<string, Buffer> = {
  'data.csv': Buffer.from('id,label\n1,cat\n2,dog\n'),
  'notes.txt': Buffer.from(`notes ${randomBytes(24).toString('hex')}\n`),
  'pic.png': Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), randomBytes(64)]),
  'deep/big.bin': randomBytesFrom(rng(11), BIG_SIZE),
};
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const enc = encodeURIComponent;

describe.skipIf(!s3)('strata ui on Ceph RGW', () => {
  const o: CliOptions = { home: fresh() };
  let bucket: TestBucket;
  let ui: RunningUi;
  let call: Api;
  let v1: VersionJson;
  let v2: VersionJson;
  const secret = s3?.secretKey ?? '';
  const masked = `${secret.slice(0, 2)}****${secret.slice(-2)}`;
  /** A reply with neither the secret nor its masked form anywhere in it. */
  const expectNoSecret = (r: Reply, what: string): void => {
    for (const sentinel of [secret, masked]) {
      expect(r.body.includes(sentinel), `${what}: body`).toBe(false);
      expect(JSON.stringify(r.headers).includes(sentinel), `${what}: headers`).toBe(false);
    }
  };

  beforeAll(async () => {
    assertBuilt();
    bucket = await TestBucket.create(s3!, 'ui-api');
    await strataJson(createS3ProviderArgs(s3!, bucket.name, 'ceph'), o);
    await strataJson(['datasets', 'create', '--name', 'demo', '--storageProviderId', 'ceph'], o);
    v1 = await committedVersion(o, 'demo', `${writeFiles(fresh(), FILES as unknown as Record<string, string>)}/`);
    ui = await startUi(o.home);
    call = api(ui.base, ui.token);
    // A second version from the page: an upload into the bucket, then a commit.
    const open = (await call('/api/datasets/demo/versions', { body: { message: 'second' } })).json<VersionJson>();
    const put = await call(`/api/versions/${enc(open.ref)}/files`, {
      body: uploadBody([{ path: 'added.txt', content: 'added from the page\n' }]),
    });
    expect(put.status, put.text).toBe(200);
    v2 = (await call(`/api/versions/${enc(open.ref)}/commit`, { body: {} })).json<VersionJson>();
    expect(v2).toMatchObject({ isCommitted: true, fileCount: 1 });
  });
  afterAll(async () => {
    await ui?.stop();
    await bucket?.destroy();
  });

  it('no response of any GET route carries the secret, not even masked; content is the stored bytes', async () => {
    const ref = enc(v1.ref);
    const routes = [
      '/api/providers',
      '/api/datasets',
      '/api/datasets/demo',
      `/api/versions/${ref}`,
      `/api/versions/${enc('demo:latest')}`,
      `/api/versions/${ref}/files`,
      `/api/versions/${ref}/files?path=deep`,
      ...Object.keys(FILES).flatMap((p) => [
        `/api/versions/${ref}/preview?path=${enc(p)}`,
        `/api/versions/${ref}/content?path=${enc(p)}`,
        `/api/versions/${ref}/content?path=${enc(p)}&inline=1`,
      ]),
      `/api/diff?from=${ref}&to=${enc(v2.ref)}`,
      `/api/lineage/${enc(v2.ref)}`,
      '/api/runs',
      '/',
      '/app.js',
    ];
    const replies = await Promise.all(routes.map((route) => call(route)));
    replies.forEach((r, i) => {
      expect(r.status, `${routes[i]}: ${r.text.slice(0, 300)}`).toBe(200);
      expectNoSecret(r, routes[i]!);
    });
    // Failures too: an unknown run, version, file, and a wrong token.
    for (const route of ['/api/runs/nope', '/api/runs/nope/log', `/api/versions/${ref}/preview?path=nope`]) {
      const r = await call(route);
      expectError(r, 404);
      expectNoSecret(r, route);
    }
    expectNoSecret(await call('/api/providers', { token: 'wrong' }), 'wrong token');

    const providers = replies[0]!.json<Record<string, unknown>[]>();
    const ceph = { name: 'ceph', type: 's3', bucket: bucket.name, endpoint: s3!.endpoint };
    expect(providers.find((p) => p.name === 'ceph')).toMatchObject(ceph);
    const keys = providers.flatMap((p) => Object.keys(p));
    expect(keys.filter((k) => /secret|access|key|password|credential/i.test(k))).toEqual([]);
    for (const [path, bytes] of Object.entries(FILES)) {
      const r = replies[routes.indexOf(`/api/versions/${ref}/content?path=${enc(path)}`)]!;
      expect(r.headers['content-type']).toBe('application/octet-stream');
      expect({ path, length: r.body.length, sha: sha(r.body) }).toEqual({
        path,
        length: bytes.length,
        sha: sha(bytes),
      });
    }
    const diff = replies[routes.indexOf(`/api/diff?from=${ref}&to=${enc(v2.ref)}`)]!.json<Record<string, unknown>>();
    expect(diff).toMatchObject({ from: v1.ref, to: v2.ref, added: { count: 1 }, removed: { count: 4 } });
  });

  it('a byte flipped in a stored blob (own object or packed): preview and content are 502 EINTEGRITY, never wrong bytes', async () => {
    // The large file's blob, by its key; the small one inside whichever object holds its bytes (a pack).
    const bigKey = `blobs/sha256/${sha(FILES['deep/big.bin']!).slice(0, 2)}/${sha(FILES['deep/big.bin']!)}`;
    const damaged: string[] = [];
    for (const key of await bucket.keys()) {
      const bytes = Buffer.from(await bucket.bytes(key));
      const at = key === bigKey ? 123_457 : bytes.indexOf(FILES['notes.txt']!);
      if (at < 0) continue;
      bytes[at + 7] = bytes[at + 7]! ^ 0x01;
      await bucket.client.send(new PutObjectCommand({ Bucket: bucket.name, Key: key, Body: bytes }));
      damaged.push(key);
    }
    expect(damaged).toContain(bigKey);
    expect(damaged.length, `damaged: ${damaged.join(', ')}`).toBe(2);

    for (const path of ['deep/big.bin', 'notes.txt']) {
      for (const route of ['preview', 'content', 'content?inline=1']) {
        const [name, extra] = route.split('?');
        const url = `/api/versions/${enc(v1.ref)}/${name}?path=${enc(path)}${extra ? `&${extra}` : ''}`;
        const r = await call(url);
        const error = expectError(r, 502, 'EINTEGRITY');
        expect(error.message, url).toContain(path);
        expect(r.body.length).toBeLessThan(2000);
        expectNoSecret(r, url);
      }
    }
    // What was not damaged is still served.
    const csv = await call(`/api/versions/${enc(v1.ref)}/content?path=data.csv`);
    expect(Buffer.compare(csv.body, FILES['data.csv']!)).toBe(0);
  });
});
