// The shared StorageBackend contract, held against S3Backend on a real Ceph RGW, plus what only S3
// has: multipart uploads, conditional writes as the server does them, pagination and batch deletes.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import pLimit from 'p-limit';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PreconditionFailedError, StorageError } from '../../src/core/errors.js';
import type { S3ProviderConfig } from '../../src/core/model.js';
import { readAll } from '../../src/storage/backend.js';
import { supportsConditionalWrites } from '../../src/storage/probe.js';
import { S3Backend } from '../../src/storage/s3.js';
import { backendContract } from '../helpers/backend-contract.js';
import { silentServer, TestBucket } from '../helpers/s3-bucket.js';
import { tempDirs } from '../helpers/temp.js';

const s3 = inject('s3');
const MiB = 1024 * 1024;
const SMALL_PARTS = { STRATA_S3_PART_SIZE: String(5 * MiB) };
const fresh = tempDirs('strata-s3-contract-');

function config(bucket: string, extra: Partial<S3ProviderConfig> = {}): S3ProviderConfig {
  return {
    bucket,
    endpoint: s3!.endpoint,
    region: s3!.region,
    signatureVersion: 'v4',
    credentials: 'stored',
    accessKey: s3!.accessKey,
    secretAccessKey: s3!.secretKey,
    ...extra,
  };
}

/** A body that arrives in uneven chunks, as a file stream would. */
function streamOf(body: Buffer): Readable {
  const chunks: Buffer[] = [];
  for (let at = 0, step = 1; at < body.length; at += step, step = (step * 7 + 65_537) % (3 * MiB)) {
    chunks.push(body.subarray(at, at + step));
  }
  return Readable.from(chunks);
}

describe.skipIf(!s3)('S3Backend on Ceph RGW', () => {
  // A fresh bucket for each test of the contract.
  backendContract('s3', async () => {
    const bucket = await TestBucket.create(s3!, 'contract');
    return { backend: new S3Backend(config(bucket.name)), cleanup: () => bucket.destroy() };
  });

  // Once more under a prefix, beside objects that are not the backend's: it sees only its own.
  describe('with a prefix', () => {
    let shared: TestBucket;
    beforeAll(async () => {
      shared = await TestBucket.create(s3!, 'contract-prefix');
      await shared.client.send(
        new (await import('@aws-sdk/client-s3')).PutObjectCommand({
          Bucket: shared.name,
          Key: 'team/outside-the-prefix',
          Body: 'not mine',
        }),
      );
    });
    afterAll(() => shared?.destroy());

    backendContract('s3 under a prefix', async () => {
      const prefix = `team/run-${randomBytes(4).toString('hex')}`;
      // Slashes on either side are trimmed, as the CLI trims --prefix.
      const backend = new S3Backend(config(shared.name, { prefix: `/${prefix}/` }));
      return {
        backend,
        cleanup: async () => {
          // Everything the backend wrote is under its prefix in the bucket, nothing escaped it.
          const keys = await shared.keys('');
          const mine = keys.filter((k) => !k.startsWith('team/run-') && k !== 'team/outside-the-prefix');
          expect(mine).toEqual([]);
          await backend.delete([]);
          const under = (await shared.keys(`${prefix}/`)).map((k) => k.slice(prefix.length + 1));
          await backend.delete(under);
          expect(await shared.keys(`${prefix}/`)).toEqual([]);
        },
      };
    });

    it('keys land under the prefix and list strips it', async () => {
      const backend = new S3Backend(config(shared.name, { prefix: 'team/layout' }));
      try {
        await backend.put('blobs/sha256/ab/x', Buffer.from('x'));
        expect(await shared.keys('team/layout/')).toEqual(['team/layout/blobs/sha256/ab/x']);
        const listed = [];
        for await (const o of backend.list('')) listed.push(o.key);
        expect(listed).toEqual(['blobs/sha256/ab/x']);
        expect(backend.location).toContain(`s3://${shared.name}/team/layout/`);
      } finally {
        backend.close();
      }
    });
  });

  describe('S3 specifics', () => {
    let bucket: TestBucket;
    beforeAll(async () => {
      bucket = await TestBucket.create(s3!, 'specifics');
    });
    afterAll(() => bucket?.destroy());

    it('a stream larger than the part size goes multipart, round-trips byte for byte and leaves no upload behind', async () => {
      const backend = new S3Backend(config(bucket.name), SMALL_PARTS);
      try {
        const body = randomBytes(12 * MiB + 12_345);
        const { etag } = await backend.put('blobs/big', streamOf(body), { size: body.length });
        // A multipart ETag is "<md5 of the part md5s>-<part count>": three 5 MiB parts.
        expect(etag).toMatch(/^[0-9a-f]{32}-3$/);
        expect(await bucket.uploads()).toEqual([]);
        const got = await readAll(await backend.get('blobs/big'));
        expect(got.length).toBe(body.length);
        expect(Buffer.compare(got, body)).toBe(0);
        expect(await backend.head('blobs/big')).toMatchObject({ size: body.length, etag });
        const tail = await readAll(await backend.get('blobs/big', { start: body.length - 10, end: body.length - 1 }));
        expect(Buffer.compare(tail, body.subarray(body.length - 10))).toBe(0);
      } finally {
        backend.close();
      }
    });

    it('a local file larger than the part size goes multipart from the file, also at an exact multiple of the part size', async () => {
      const backend = new S3Backend(config(bucket.name), SMALL_PARTS);
      const dir = fresh();
      try {
        for (const [name, size, parts] of [
          ['odd', 11 * MiB + 3, 3],
          ['even', 10 * MiB, 2],
        ] as const) {
          const body = randomBytes(size);
          writeFileSync(join(dir, name), body);
          const { etag } = await backend.put(`blobs/${name}`, { file: join(dir, name), size });
          expect(etag).toMatch(new RegExp(`^[0-9a-f]{32}-${parts}$`));
          expect(Buffer.compare(await readAll(await backend.get(`blobs/${name}`)), body)).toBe(0);
        }
        expect(await bucket.uploads()).toEqual([]);
      } finally {
        backend.close();
      }
    });

    it('a multipart upload whose source fails midway is aborted: no object, no upload left behind', async () => {
      const backend = new S3Backend(config(bucket.name), SMALL_PARTS);
      try {
        async function* failing() {
          yield randomBytes(6 * MiB); // one whole part is sent before the source fails
          yield randomBytes(2 * MiB);
          throw new Error('disk went away');
        }
        await expect(backend.put('blobs/failed', Readable.from(failing()), { size: 20 * MiB })).rejects.toThrow(
          /disk went away/,
        );
        expect(await bucket.uploads()).toEqual([]);
        expect(await backend.head('blobs/failed')).toBeUndefined();
      } finally {
        backend.close();
      }
    });

    it('a stream below the part size is one PUT (a plain ETag)', async () => {
      const backend = new S3Backend(config(bucket.name), SMALL_PARTS);
      try {
        const body = randomBytes(MiB);
        const { etag } = await backend.put('blobs/one-put', streamOf(body), { size: body.length });
        expect(etag).toMatch(/^[0-9a-f]{32}$/);
        expect(Buffer.compare(await readAll(await backend.get('blobs/one-put')), body)).toBe(0);
      } finally {
        backend.close();
      }
    });

    it('IfNoneMatch twice: the second put is PreconditionFailedError and the first content stays', async () => {
      const backend = new S3Backend(config(bucket.name));
      try {
        await backend.put('cond/manifest.json', Buffer.from('first'), { ifNoneMatch: true });
        const second = backend.put('cond/manifest.json', Buffer.from('second'), { ifNoneMatch: true });
        await expect(second).rejects.toBeInstanceOf(PreconditionFailedError);
        await expect(second).rejects.toMatchObject({ code: 'EPRECONDITION', exitCode: 4 });
        expect((await readAll(await backend.get('cond/manifest.json'))).toString()).toBe('first');
      } finally {
        backend.close();
      }
    });

    it('IfNoneMatch with the same bytes twice: the second is PreconditionFailedError too, and the probe finds RGW honours conditions', async () => {
      const backend = new S3Backend(config(bucket.name));
      try {
        await backend.put('cond/same.json', Buffer.from('same'), { ifNoneMatch: true });
        await expect(backend.put('cond/same.json', Buffer.from('same'), { ifNoneMatch: true })).rejects.toBeInstanceOf(
          PreconditionFailedError,
        );
        expect(await supportsConditionalWrites(backend)).toBe(true);
      } finally {
        backend.close();
      }
    });

    it('IfNoneMatch holds for a body above the part size too (no silent multipart overwrite)', async () => {
      const backend = new S3Backend(config(bucket.name), SMALL_PARTS);
      try {
        const first = randomBytes(6 * MiB);
        await backend.put('cond/large.json', first, { ifNoneMatch: true });
        const again = backend.put('cond/large.json', randomBytes(6 * MiB), { ifNoneMatch: true });
        await expect(again).rejects.toBeInstanceOf(PreconditionFailedError);
        const stream = backend.put('cond/large.json', streamOf(randomBytes(6 * MiB)), {
          ifNoneMatch: true,
          size: 6 * MiB,
        });
        await expect(stream).rejects.toBeInstanceOf(PreconditionFailedError);
        expect(Buffer.compare(await readAll(await backend.get('cond/large.json')), first)).toBe(0);
        expect(await bucket.uploads('cond/')).toEqual([]);
      } finally {
        backend.close();
      }
    });

    it('ifMatch: a stale etag is PreconditionFailedError, the current one moves the object', async () => {
      const backend = new S3Backend(config(bucket.name));
      try {
        const v1 = await backend.put('cond/tag.json', Buffer.from('v1'), { ifNoneMatch: true });
        const v2 = await backend.put('cond/tag.json', Buffer.from('v2'), { ifMatch: v1.etag });
        await expect(backend.put('cond/tag.json', Buffer.from('v3'), { ifMatch: v1.etag })).rejects.toBeInstanceOf(
          PreconditionFailedError,
        );
        expect((await readAll(await backend.get('cond/tag.json'))).toString()).toBe('v2');
        const current = await backend.head('cond/tag.json');
        expect(current?.etag).toBe(v2.etag);
        await backend.put('cond/tag.json', Buffer.from('v3'), { ifMatch: current!.etag });
        expect((await readAll(await backend.get('cond/tag.json'))).toString()).toBe('v3');
        // An etag as S3 spells it in headers, with its quotes, matches too.
        const v3 = await backend.head('cond/tag.json');
        await backend.put('cond/tag.json', Buffer.from('v4'), { ifMatch: `"${v3!.etag}"` });
        expect((await readAll(await backend.get('cond/tag.json'))).toString()).toBe('v4');
      } finally {
        backend.close();
      }
    });

    it('ifMatch on a missing key is PreconditionFailedError and creates nothing', async () => {
      const backend = new S3Backend(config(bucket.name));
      try {
        await expect(
          backend.put('cond/never.json', Buffer.from('x'), { ifMatch: '0123456789abcdef0123456789abcdef' }),
        ).rejects.toBeInstanceOf(PreconditionFailedError);
        expect(await backend.head('cond/never.json')).toBeUndefined();
      } finally {
        backend.close();
      }
    });

    it('list paginates past 1000 keys and delete removes 1100 keys in batches', async () => {
      const backend = new S3Backend(config(bucket.name));
      try {
        const keys = Array.from({ length: 1100 }, (_, i) => `many/${String(i).padStart(5, '0')}`);
        const limit = pLimit(64);
        await Promise.all(keys.map((k) => limit(() => backend.put(k, Buffer.from(k)))));

        const listed: string[] = [];
        for await (const o of backend.list('many/')) {
          listed.push(o.key);
          expect(o.size).toBe(o.key.length);
        }
        expect(listed).toEqual(keys);
        expect(await bucket.keys('many/')).toHaveLength(1100);

        await backend.delete([...keys, 'many/never-existed']);
        expect(await bucket.keys('many/')).toEqual([]);
        const after = [];
        for await (const o of backend.list('many/')) after.push(o);
        expect(after).toEqual([]);
      } finally {
        backend.close();
      }
    });

    it('an aborted multipart put leaves no upload behind', async () => {
      const backend = new S3Backend(config(bucket.name), SMALL_PARTS);
      try {
        const controller = new AbortController();
        let sent = 0;
        const body = Readable.from(
          (function* () {
            for (let i = 0; i < 8; i++) {
              sent += MiB * 2;
              if (sent > 7 * MiB) controller.abort();
              yield randomBytes(2 * MiB);
            }
          })(),
        );
        await expect(
          backend.put('aborted/big', body, { size: 16 * MiB, signal: controller.signal }),
        ).rejects.toBeDefined();
        await expect.poll(() => bucket.uploads('aborted/'), { timeout: 10_000 }).toEqual([]);
        expect(await backend.head('aborted/big')).toBeUndefined();
      } finally {
        backend.close();
      }
    });

    it('an endpoint that accepts connections and never answers: each attempt ends at the idle timeout, and the calls give up at the bound', async () => {
      const silent = await silentServer();
      const backend = new S3Backend(
        config(bucket.name, { endpoint: silent.endpoint }),
        { STRATA_S3_IDLE_TIMEOUT_MS: '300' },
        { giveUpMs: 3_000 },
      );
      try {
        for (const attempt of [() => backend.head('x'), () => backend.put('x', Buffer.from('x'))]) {
          const started = Date.now();
          await expect(attempt()).rejects.toMatchObject({
            code: 'EUNREACHABLE',
            exitCode: 6,
            message: expect.stringMatching(/^gave up after \d+ s with no successful answer from .*no answer in time/),
          });
          // Attempts of 0.3 s (at least 1 s: the floor), with backoff, until 3 s without a success.
          expect(Date.now() - started).toBeLessThan(8_000);
        }
        const started = Date.now();
        await expect(backend.verify()).rejects.toMatchObject({ code: 'EUNREACHABLE' });
        expect(Date.now() - started).toBeLessThan(15_000);
      } finally {
        backend.close();
        silent.close();
      }
    });

    it('a missing bucket, a wrong secret and a closed port are StorageErrors that say so', async () => {
      const cases: [Partial<S3ProviderConfig>, string, RegExp][] = [
        [{ bucket: `missing-${randomBytes(4).toString('hex')}` }, 'ENOBUCKET', /does not exist/],
        [{ secretAccessKey: 'wrong-secret-0123456789' }, 'ECREDENTIALS', /secret access key is wrong/],
        [{ accessKey: 'NOSUCHACCESSKEY00000' }, 'ECREDENTIALS', /does not know this access key/],
        [{ endpoint: 'http://127.0.0.1:1' }, 'EUNREACHABLE', /cannot reach/],
      ];
      for (const [extra, code, message] of cases) {
        const backend = new S3Backend(config(bucket.name, extra), {}, { giveUpMs: 3_000 });
        try {
          const started = Date.now();
          const attempts = [() => backend.verify(), () => backend.head('x'), () => backend.put('x', Buffer.from('x'))];
          for (const attempt of attempts) {
            const error: unknown = await attempt().then(
              () => undefined,
              (e: unknown) => e,
            );
            expect(error).toBeInstanceOf(StorageError);
            expect(error).toMatchObject({ code, exitCode: 6, message: expect.stringMatching(message) });
            expect((error as Error).message).not.toContain(s3!.secretKey);
          }
          expect(Date.now() - started).toBeLessThan(30_000);
        } finally {
          backend.close();
        }
      }
    });
  });
});
