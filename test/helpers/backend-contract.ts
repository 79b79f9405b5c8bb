import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NotFoundError, PreconditionFailedError } from '../../src/core/errors.js';
import { randomBytes } from 'node:crypto';
import { IntegrityError } from '../../src/core/errors.js';
import { readAll, type StorageBackend } from '../../src/storage/backend.js';
import { blobKey } from '../../src/storage/keys.js';
import { readBlob, type RangedReads } from '../../src/transfer/read-blob.js';
import { sha256Hex } from '../../src/core/hash.js';

export interface BackendUnderTest {
  backend: StorageBackend;
  cleanup(): Promise<void>;
}

const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');

async function getText(backend: StorageBackend, key: string, range?: { start: number; end: number }): Promise<string> {
  return (await readAll(await backend.get(key, range))).toString('utf8');
}

async function keysUnder(backend: StorageBackend, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of backend.list(prefix)) keys.push(object.key);
  return keys;
}

/**
 * The StorageBackend contract: what every implementation (local directory, S3) must do. Registers
 * its describe/it blocks; `make` gives a fresh, empty backend for each test and a way to remove it.
 */
export function backendContract(name: string, make: () => Promise<BackendUnderTest>): void {
  describe(`StorageBackend contract: ${name}`, () => {
    let backend: StorageBackend;
    let cleanup: (() => Promise<void>) | undefined;

    beforeEach(async () => {
      const made = await make();
      backend = made.backend;
      cleanup = made.cleanup;
    });

    afterEach(async () => {
      backend.close();
      await cleanup?.();
      cleanup = undefined;
    });

    /** The blob's bytes as readBlob delivers them (chunks copied: their memory is reused). */
    const readWhole = async (sha: string, size: number, tuning: RangedReads): Promise<Buffer> => {
      const chunks: Buffer[] = [];
      await readBlob(backend, sha, size, (chunk) => void chunks.push(Buffer.from(chunk)), undefined, undefined, tuning);
      return Buffer.concat(chunks);
    };

    it('a large blob is read as parallel ranges, in order, byte for byte; a stored size that disagrees is IntegrityError', async () => {
      const tuning = { from: 64 * 1024, rangeSize: 10_000, perBlob: 3, pool: 4 };
      const body = randomBytes(200_003);
      const sha = sha256Hex(body);
      await backend.put(blobKey(sha), body);
      const got = await readWhole(sha, body.length, tuning);
      expect(got.length).toBe(body.length);
      expect(Buffer.compare(got, body)).toBe(0);
      await expect(readWhole(sha, body.length + 1, tuning)).rejects.toBeInstanceOf(IntegrityError);
      await expect(readWhole(sha256Hex(bytes('absent')), 100_000, tuning)).rejects.toBeInstanceOf(NotFoundError);
    });

    it('large blobs read at once share a range pool smaller than their read-ahead, and all arrive whole', async () => {
      const tuning = { from: 64 * 1024, rangeSize: 7_000, perBlob: 4, pool: 3 };
      const bodies = [randomBytes(150_001), randomBytes(99_999), randomBytes(70_000)];
      for (const body of bodies) await backend.put(blobKey(sha256Hex(body)), body);
      const got = await Promise.all(bodies.map((body) => readWhole(sha256Hex(body), body.length, tuning)));
      got.forEach((g, i) => expect(Buffer.compare(g, bodies[i]!), `blob ${i}`).toBe(0));
    });

    it('put takes a local file as its body', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'strata-contract-'));
      try {
        const body = randomBytes(123_457);
        await writeFile(join(dir, 'f.bin'), body);
        await backend.put('blobs/from-file', { file: join(dir, 'f.bin'), size: body.length });
        expect(Buffer.compare(await readAll(await backend.get('blobs/from-file')), body)).toBe(0);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('verify() succeeds on a usable place', async () => {
      await expect(backend.verify()).resolves.toBeUndefined();
    });

    it('put then get returns the same bytes, and head reports size and etag', async () => {
      const body = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 251));
      const { etag } = await backend.put('blobs/sha256/ab/one', body);
      expect(etag).toMatch(/\S/);
      expect(Buffer.compare(await readAll(await backend.get('blobs/sha256/ab/one')), body)).toBe(0);
      const info = await backend.head('blobs/sha256/ab/one');
      expect(info).toMatchObject({ key: 'blobs/sha256/ab/one', size: 3000, etag });
      expect(info?.lastModified).toBeInstanceOf(Date);
    });

    it('put accepts a stream body with its size', async () => {
      const chunks = ['stream ', 'of ', 'several ', 'chunks'];
      await backend.put('a/streamed.txt', Readable.from(chunks.map(bytes)), { size: chunks.join('').length });
      expect(await getText(backend, 'a/streamed.txt')).toBe(chunks.join(''));
      expect((await backend.head('a/streamed.txt'))?.size).toBe(chunks.join('').length);
    });

    it('stores an empty object', async () => {
      await backend.put('a/empty', Buffer.alloc(0));
      expect((await backend.head('a/empty'))?.size).toBe(0);
      expect(await getText(backend, 'a/empty')).toBe('');
    });

    it('get with a range returns bytes start..end inclusive', async () => {
      await backend.put('a/range.txt', bytes('0123456789abcdef'));
      expect(await getText(backend, 'a/range.txt', { start: 0, end: 0 })).toBe('0');
      expect(await getText(backend, 'a/range.txt', { start: 3, end: 7 })).toBe('34567');
      expect(await getText(backend, 'a/range.txt', { start: 10, end: 15 })).toBe('abcdef');
    });

    it('head of a missing key is undefined and get of one is NotFoundError', async () => {
      expect(await backend.head('a/missing')).toBeUndefined();
      await expect(backend.get('a/missing')).rejects.toBeInstanceOf(NotFoundError);
    });

    it('a plain put replaces an object and changes its etag', async () => {
      const first = await backend.put('a/k', bytes('first'));
      const second = await backend.put('a/k', bytes('second, longer'));
      expect(second.etag).not.toBe(first.etag);
      expect(await getText(backend, 'a/k')).toBe('second, longer');
      expect((await backend.head('a/k'))?.etag).toBe(second.etag);
    });

    it('list returns exactly the keys under a prefix, in key order, with sizes', async () => {
      const keys = ['d/x/2', 'd/x/1', 'd/x/sub/3', 'd/xy/4', 'd/y/5', 'e/6'];
      for (const key of keys) await backend.put(key, bytes(key));
      expect(await keysUnder(backend, 'd/x/')).toEqual(['d/x/1', 'd/x/2', 'd/x/sub/3']);
      // A prefix need not end at a "/": it is a string prefix of the key.
      expect(await keysUnder(backend, 'd/x')).toEqual(['d/x/1', 'd/x/2', 'd/x/sub/3', 'd/xy/4']);
      expect(await keysUnder(backend, '')).toEqual([...keys].sort());
      expect(await keysUnder(backend, 'nothing/')).toEqual([]);
      const listed = [];
      for await (const object of backend.list('d/y/')) listed.push(object);
      expect(listed).toHaveLength(1);
      expect(listed[0]).toMatchObject({ key: 'd/y/5', size: 5 });
    });

    it('delete removes the given keys, leaves the others and ignores missing ones', async () => {
      for (const key of ['del/a', 'del/b', 'del/c']) await backend.put(key, bytes(key));
      await backend.delete(['del/a', 'del/c', 'del/never-existed']);
      expect(await keysUnder(backend, 'del/')).toEqual(['del/b']);
      expect(await backend.head('del/a')).toBeUndefined();
      await backend.delete([]);
      expect(await keysUnder(backend, 'del/')).toEqual(['del/b']);
    });

    it('ifNoneMatch writes a new key once; the second writer gets PreconditionFailedError and changes nothing', async () => {
      const { etag } = await backend.put('tags/prod.json', bytes('winner'), { ifNoneMatch: true });
      const loser = backend.put('tags/prod.json', bytes('loser'), { ifNoneMatch: true });
      await expect(loser).rejects.toBeInstanceOf(PreconditionFailedError);
      await expect(loser).rejects.toMatchObject({ key: 'tags/prod.json', exitCode: 4 });
      expect(await getText(backend, 'tags/prod.json')).toBe('winner');
      expect((await backend.head('tags/prod.json'))?.etag).toBe(etag);
    });

    it('ifMatch with the current etag replaces; with a stale etag it is PreconditionFailedError and changes nothing', async () => {
      const first = await backend.put('tags/dev.json', bytes('v1'));
      const second = await backend.put('tags/dev.json', bytes('v2 moved'), { ifMatch: first.etag });
      expect(await getText(backend, 'tags/dev.json')).toBe('v2 moved');
      const stale = backend.put('tags/dev.json', bytes('v3 from a stale reader'), { ifMatch: first.etag });
      await expect(stale).rejects.toBeInstanceOf(PreconditionFailedError);
      expect(await getText(backend, 'tags/dev.json')).toBe('v2 moved');
      expect((await backend.head('tags/dev.json'))?.etag).toBe(second.etag);
    });

    it('a rejected conditional write leaves no extra object behind', async () => {
      await backend.put('c/only', bytes('x'), { ifNoneMatch: true });
      await expect(backend.put('c/only', bytes('y'), { ifNoneMatch: true })).rejects.toBeInstanceOf(
        PreconditionFailedError,
      );
      await expect(backend.put('c/only', bytes('z'), { ifMatch: 'not-the-etag' })).rejects.toBeInstanceOf(
        PreconditionFailedError,
      );
      expect(await keysUnder(backend, '')).toEqual(['c/only']);
    });
  });
}
