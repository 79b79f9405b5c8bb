import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { IntegrityError } from '../../src/core/errors.js';
import { pageAlignedMemory } from '../../src/transfer/file-writes.js';
import type { BlobSink } from '../../src/transfer/read-blob.js';
import { readIntoFile } from '../../src/transfer/read-hashed.js';
import { tempDirs } from '../helpers/temp.js';

const fresh = tempDirs('strata-read-into-');
const MiB = 1024 * 1024;

/**
 * A reader handing `bytes` on in chunks of `chunk` bytes, as readBlob does: each copied into one
 * reused buffer, page-aligned as readBlob's are when `aligned`.
 */
function chunked(bytes: Buffer, chunk: number, failAt = Infinity, aligned = false): (sink: BlobSink) => Promise<void> {
  return async (sink) => {
    const reused = aligned ? pageAlignedMemory(chunk) : Buffer.alloc(chunk);
    for (let at = 0; at < bytes.length; at += chunk) {
      if (at >= failAt) throw new Error('connection reset');
      const n = bytes.copy(reused, 0, at, Math.min(bytes.length, at + chunk));
      await sink(reused.subarray(0, n));
      await sleep(0);
    }
  };
}

// 64 MiB and more: the size from which a blob is hashed on the hashing thread, read back from the file.
describe.each([
  ['a small blob, hashed as it arrives', 3 * MiB + 17],
  ['a large blob, hashed on the hashing thread', 70 * MiB + 5],
])('readIntoFile: %s', (_, size) => {
  const bytes = randomBytes(size);
  const sha256 = createHash('sha256').update(bytes).digest('hex');

  it('writes the bytes into the file and says their sha256 and size', async () => {
    const path = join(fresh(), 'target');
    const got = await readIntoFile(chunked(bytes, 8 * MiB), path, size);
    expect(got).toEqual({ sha256, bytes: size });
    expect(readFileSync(path).equals(bytes)).toBe(true);
  });

  it.each([
    ['page-aligned', true],
    ['ordinary', false],
  ])('writes the copy for later too, from %s memory', async (_, aligned) => {
    const dir = fresh();
    const [target, later] = [join(dir, 'target'), join(dir, 'cache')];
    const got = await readIntoFile(chunked(bytes, 8 * MiB, Infinity, aligned), target, size, later);
    expect(got).toEqual({ sha256, bytes: size });
    for (const path of [target, later]) expect(readFileSync(path).equals(bytes)).toBe(true);
  });

  it('hashes what arrived, so bytes that differ from the manifest are caught', async () => {
    const damaged = Buffer.from(bytes);
    damaged.writeUInt8(damaged.readUInt8(size - 1) ^ 1, size - 1);
    const got = await readIntoFile(chunked(damaged, 8 * MiB), join(fresh(), 'blob'), size);
    expect(got.bytes).toBe(size);
    expect(got.sha256).not.toBe(sha256);
  });

  it('refuses more bytes than the manifest says', async () => {
    const path = join(fresh(), 'blob');
    await expect(readIntoFile(chunked(bytes, 8 * MiB), path, size - 1)).rejects.toBeInstanceOf(IntegrityError);
  });

  it('fails with the reader when it fails midway', async () => {
    const path = join(fresh(), 'blob');
    await expect(readIntoFile(chunked(bytes, MiB, 2 * MiB), path, size)).rejects.toThrow('connection reset');
    expect(existsSync(path)).toBe(true); // the caller removes its temp file
  });
});
