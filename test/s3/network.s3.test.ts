// Issue 16 against Ceph RGW, through a fault-injecting proxy (test/helpers/fault-proxy.ts): 503
// SlowDown lowers the requests in flight; an endpoint gone for 30 s is outlived by a put (and 10 s by a
// get); a command facing an endpoint that never answers gives up within --timeout; a
// clock two hours off is corrected; an IPv6 endpoint works. Against a local server that checks
// them: AWS's virtual-hosted Host header and paths.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readAll } from '../../src/storage/backend.js';
import { partSizeFor } from '../../src/storage/s3-multipart.js';
import { S3Backend } from '../../src/storage/s3.js';
import { inCI } from '../helpers/ci.js';
import { strata, strataJson, type CliOptions } from '../helpers/cli.js';
import { assertBuilt, expectErrorLine } from '../helpers/expect-cli.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { openVersion, type PutJson } from '../helpers/fixtures.js';
import { createS3ProviderArgs, TestBucket } from '../helpers/s3-bucket.js';
import { tempDirs } from '../helpers/temp.js';
import { makeTree, readTree } from '../helpers/tree.js';

const s3 = inject('s3');
const fresh = tempDirs('strata-s3-network-');
const buckets: TestBucket[] = [];
const proxies: FaultProxy[] = [];
const MiB = 1024 * 1024;

beforeAll(assertBuilt);
afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  await Promise.all(buckets.map((b) => b.destroy()));
});

/**
 * A home whose provider `team` reaches a fresh bucket through a fault proxy, with a dataset.
 * `flags` for the provider: --no-packs where a test wants a request per file.
 */
async function throughProxy(
  label: string,
  host?: string,
  flags: string[] = [],
): Promise<{ o: CliOptions; proxy: FaultProxy; bucket: TestBucket }> {
  const bucket = await TestBucket.create(s3!, label);
  buckets.push(bucket);
  const proxy = await FaultProxy.start(s3!.endpoint, { host });
  proxies.push(proxy);
  const o: CliOptions = { home: fresh() };
  await strataJson(createS3ProviderArgs({ ...s3!, endpoint: proxy.endpoint }, bucket.name, 'team', { flags }), o);
  await strataJson(['datasets', 'create', '--name', 'ds', '--storageProviderId', 'team'], o);
  return { o, proxy, bucket };
}

function tree(count: number, maxSize = 4096): string {
  const src = join(fresh(), 'src');
  makeTree(src, { count, seed: 9, maxSize });
  return src;
}

const until = async (check: () => boolean): Promise<void> => {
  while (!check()) await new Promise((r) => setTimeout(r, 20));
};

describe.skipIf(!s3).concurrent('a flaky endpoint (Ceph RGW behind a fault proxy)', () => {
  it(
    '503 SlowDown lowers the requests in flight, which grow back; the put finishes',
    { timeout: 120_000 },
    async () => {
      const { o, proxy } = await throughProxy('slowdown', undefined, ['--no-packs']);
      const v = await openVersion(o, 'ds');
      const src = tree(1500, 2048);
      const putting = strata(['datasets', 'files', 'put', '--id', v.ref, '--source-path', `${src}/`, '--json'], o);
      await until(() => proxy.counts.requests >= 100);
      proxy.peak();
      await until(() => proxy.counts.requests >= 400);
      const before = proxy.peak();
      proxy.faultNext('503', 40);
      await until(() => proxy.counts.faults >= 40);
      proxy.peak();
      const start = proxy.counts.requests;
      await until(() => proxy.counts.requests >= start + 100);
      const after = proxy.peak();
      const done = await putting;
      expect(done.code, done.stderr).toBe(0);
      expect((JSON.parse(done.stdout) as PutJson).files).toBe(1500);
      expect(before).toBeGreaterThanOrEqual(16);
      expect(after).toBeLessThanOrEqual(before / 4);
    },
  );

  it.each(['reset', 'stall'] as const)(
    'a multipart upload whose start and completion answers %s mid-body finishes, leaving no upload open',
    { timeout: 120_000 },
    async (kind) => {
      const { o, proxy, bucket } = await throughProxy(`mp-${kind}`);
      o.env = { STRATA_S3_IDLE_TIMEOUT_MS: '2000' };
      const v = await openVersion(o, 'ds');
      const src = join(fresh(), 'big');
      makeTree(src, { count: 1, seed: 4, minSize: 20 * MiB, maxSize: 20 * MiB });
      // The first answer to the upload's start and the first to its completion (RGW has completed
      // it by then: the retry finds it gone) each break off.
      const hit = new Set<string>();
      proxy.set(kind, 1, (req) => {
        const which = req.method !== 'POST' ? '' : req.url!.includes('uploadId=') ? 'complete' : 'start';
        if (which === '' || hit.has(which)) return false;
        hit.add(which);
        return true;
      });
      const put = await strata(['datasets', 'files', 'put', '--id', v.ref, '--source-path', `${src}/`, '--json'], o);
      expect(put.code, put.stderr).toBe(0);
      expect(hit).toEqual(new Set(['start', 'complete']));
      proxy.set(undefined);
      expect((await strata(['datasets', 'versions', 'commit', '--id', v.ref], o)).code).toBe(0);
      const out = fresh();
      expect((await strata(['datasets', 'files', 'get', '--id', v.ref, '--target-path', out], o)).code).toBe(0);
      expect(readTree(out)).toEqual(readTree(src));
      expect(await bucket.uploads()).toEqual([]);
    },
  );

  it(
    'an endpoint gone for 30 s (connections refused, open ones cut) is outlived by a put in flight, and one gone for 10 s by a get',
    { timeout: 180_000 },
    async () => {
      const { o, proxy } = await throughProxy('outage', undefined, ['--no-packs']);
      const v = await openVersion(o, 'ds');
      const src = tree(600);
      const putting = strata(['datasets', 'files', 'put', '--id', v.ref, '--source-path', `${src}/`], o);
      await until(() => proxy.counts.requests >= 50);
      await proxy.down(30_000);
      const put = await putting;
      expect(put.code, put.stderr).toBe(0);
      expect((await strata(['datasets', 'versions', 'commit', '--id', v.ref], o)).code).toBe(0);

      const out = fresh();
      const before = proxy.counts.requests;
      const getting = strata(['datasets', 'files', 'get', '--id', v.ref, '--target-path', out], o);
      await until(() => proxy.counts.requests >= before + 50);
      await proxy.down(10_000);
      const get = await getting;
      expect(get.code, get.stderr).toBe(0);
      expect(readTree(out)).toEqual(readTree(src));
    },
  );

  it(
    'an endpoint that never answers: put, get and verify --deep give up within --timeout, exit 6',
    { timeout: 120_000 },
    async () => {
      const { o, proxy } = await throughProxy('never');
      const v = await strataJson<{ ref: string }>(
        ['datasets', 'versions', 'create', '--id', 'ds', '--source-path', `${tree(20)}/`],
        o,
      );
      proxy.set('stall', 1);
      for (const args of [
        ['datasets', 'files', 'put', '--id', (await openVersion(o, 'ds')).ref, '--source-path', tree(5)],
        ['datasets', 'files', 'get', '--id', v.ref, '--target-path', fresh(), '--cache-dir', fresh()],
        ['datasets', 'versions', 'verify', '--id', v.ref, '--deep'],
      ]) {
        const started = Date.now();
        const r = await strata([...args, '--timeout', '4s'], { ...o, env: { STRATA_S3_IDLE_TIMEOUT_MS: '1500' } });
        expect(expectErrorLine(r, 6)).toMatch(
          /^Error: gave up after \d+ s with no successful answer from http:\/\/127\.0\.0\.1:\d+ \(last: /,
        );
        expect(Date.now() - started).toBeLessThan(15_000);
      }
    },
  );

  it('an IPv6 endpoint ([::1]) works', async () => {
    const loopback6 = spawnSync('ip', ['-6', 'addr', 'show', 'lo'], { encoding: 'utf8' }).stdout.includes('::1');
    if (!loopback6) {
      if (inCI()) throw new Error('no IPv6 loopback on this machine');
      return;
    }
    const { o } = await throughProxy('ipv6', '::1');
    const src = tree(30);
    const v = await strataJson<{ ref: string }>(
      ['datasets', 'versions', 'create', '--id', 'ds', '--source-path', `${src}/`],
      o,
    );
    const out = fresh();
    expect((await strata(['datasets', 'files', 'get', '--id', v.ref, '--target-path', out], o)).code).toBe(0);
    expect(readTree(out)).toEqual(readTree(src));
  });

  it("a clock two hours off: RequestTimeTooSkewed is corrected from the server's Date and the request retried", async () => {
    const faketime = spawnSync('faketime', ['--version']).status === 0;
    if (!faketime) {
      if (inCI()) throw new Error('faketime (Debian package faketime) is missing');
      return;
    }
    const bucket = await TestBucket.create(s3!, 'skew');
    buckets.push(bucket);
    const o: CliOptions = { home: fresh() };
    await strataJson(createS3ProviderArgs(s3!, bucket.name, 'team'), o);
    await strataJson(['datasets', 'create', '--name', 'ds', '--storageProviderId', 'team'], o);
    const src = tree(10);
    const skewed = (args: string[]) =>
      execFileSync(
        'faketime',
        ['-f', '+2h', process.execPath, join(import.meta.dirname, '../../bin/run.cjs'), ...args],
        {
          env: { ...process.env, STRATA_HOME: o.home, NODE_ENV: '' },
          encoding: 'utf8',
        },
      );
    const v = JSON.parse(
      skewed(['datasets', 'versions', 'create', '--id', 'ds', '--source-path', `${src}/`, '--json']),
    ) as {
      ref: string;
    };
    expect(skewed(['datasets', 'versions', 'verify', '--id', v.ref, '--deep'])).toMatch(/^Verified /);
  });
});

describe('the S3 data path', () => {
  it('AWS virtual-hosted addressing: Host bucket.s3.region.amazonaws.com, paths of the key alone', async () => {
    const seen: { host?: string; url?: string; method?: string }[] = [];
    const objects = new Map<string, Buffer>();
    const server = createServer(async (req: IncomingMessage, res) => {
      seen.push({ host: req.headers.host, url: req.url, method: req.method });
      if (req.headers.host !== 'my-bucket.s3.eu-west-3.amazonaws.com' || !req.headers.authorization) {
        return void res.writeHead(400).end();
      }
      const key = decodeURIComponent(req.url!.split('?')[0]!.slice(1));
      if (req.method === 'PUT') {
        objects.set(key, await readAll(req));
        return void res.writeHead(200, { etag: '"x"' }).end();
      }
      const body = objects.get(key);
      if (!body) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-length': body.length, etag: '"x"' }).end(req.method === 'HEAD' ? undefined : body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const backend = new S3Backend(
      {
        bucket: 'my-bucket',
        region: 'eu-west-3',
        signatureVersion: 'v4',
        credentials: 'stored',
        accessKey: 'AK',
        secretAccessKey: 'SK',
      },
      { STRATA_S3_CONNECT_TO: `http://127.0.0.1:${port}` },
    );
    try {
      const bytes = randomBytes(1000);
      await backend.put('blobs/sha256/ab/abc', bytes);
      expect((await backend.head('blobs/sha256/ab/abc'))?.size).toBe(1000);
      expect(await readAll(await backend.get('blobs/sha256/ab/abc'))).toEqual(bytes);
      expect(seen.map((s) => [s.method, s.host, s.url])).toEqual([
        ['PUT', 'my-bucket.s3.eu-west-3.amazonaws.com', '/blobs/sha256/ab/abc'],
        ['HEAD', 'my-bucket.s3.eu-west-3.amazonaws.com', '/blobs/sha256/ab/abc'],
        ['GET', 'my-bucket.s3.eu-west-3.amazonaws.com', '/blobs/sha256/ab/abc'],
      ]);
    } finally {
      backend.close();
      server.close();
    }
  });

  it('a file larger than 10,000 parts scales the part size instead of failing at part 10,001', () => {
    const part = 16 * MiB;
    expect(partSizeFor(10_000 * part, part)).toBe(part);
    expect(partSizeFor(10_000 * part + 1, part)).toBe(17 * MiB);
    const huge = 5 * 1024 ** 4; // 5 TiB, S3's largest object
    expect(Math.ceil(huge / partSizeFor(huge, part))).toBeLessThanOrEqual(10_000);
    expect(partSizeFor(undefined, part)).toBe(part);
  });
});
