// The bucket's format document refuses a bucket only when two reads of it agree: a byte flipped on
// the way (npm run chaos found it) must not make a bucket look as if a newer Strata wrote it.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { StorageBackend } from '../../src/storage/backend.js';
import { checkFormat } from '../../src/services/packs.js';

/** A backend whose strata.json reads as each of `reads` in turn (the last one from then on). */
function answering(reads: string[]): StorageBackend & { gets: number } {
  const backend = {
    location: 'test://bucket',
    gets: 0,
    get: async () => Readable.from([Buffer.from(reads[Math.min(backend.gets++, reads.length - 1)]!)]),
  };
  return backend as unknown as StorageBackend & { gets: number };
}

const GOOD = JSON.stringify({ format: 'strata.bucket/1', features: ['packs/1'] });
const FLIPPED = GOOD.replace('packs/1', 'packs/3');
const NEWER = JSON.stringify({ format: 'strata.bucket/1', features: ['packs/1', 'chunks/1'] });

describe('checkFormat', () => {
  it('a document as this Strata writes it: one read', async () => {
    const backend = answering([GOOD]);
    expect(await checkFormat(backend)).toBe(true);
    expect(backend.gets).toBe(1);
  });

  it('a flipped byte, or a first read that is not JSON, is read again until two reads agree', async () => {
    for (const garbled of [FLIPPED, GOOD.slice(0, -3)]) {
      const backend = answering([garbled, GOOD]);
      expect(await checkFormat(backend)).toBe(true);
      expect(backend.gets).toBe(3);
    }
  });

  it('a newer document that reads the same twice: upgrade Strata', async () => {
    await expect(checkFormat(answering([NEWER]))).rejects.toThrow(
      'test://bucket was written by a newer Strata (strata.json names chunks/1): upgrade Strata to read or write it',
    );
  });

  it('no two reads alike: a network error, not a verdict on the bucket', async () => {
    await expect(checkFormat(answering(['a', 'b', 'c', 'd', 'e', GOOD]))).rejects.toThrow('read differently 5 times');
  });
});
