import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DIRECT_ALIGN, pageAlignedMemory, UncachedFile } from '../../src/transfer/file-writes.js';
import { tempDirs } from '../helpers/temp.js';

const fresh = tempDirs('strata-file-writes-');
const KiB = 1024;
const CHUNK = 64 * KiB;
// Linux has O_DIRECT, and the temp directories of the tests are on a filesystem that takes it.
const directHere = process.platform === 'linux';

/** Writes `bytes` into a new UncachedFile, each chunk from its own slot of `memory` (at `skew` into it). */
async function writeAll(path: string, bytes: Buffer, skewOf: (index: number) => number, together = false) {
  const file = await UncachedFile.create(path, bytes.length);
  const slots = Math.ceil(bytes.length / CHUNK);
  const memory = pageAlignedMemory(slots * (CHUNK + DIRECT_ALIGN));
  const writes: Promise<void>[] = [];
  try {
    for (let i = 0; i < slots; i++) {
      const start = i * (CHUNK + DIRECT_ALIGN) + skewOf(i);
      const n = bytes.copy(memory, start, i * CHUNK, Math.min(bytes.length, (i + 1) * CHUNK));
      const written = file.write(memory.subarray(start, start + n), i * CHUNK);
      if (together) writes.push(written);
      else await written;
    }
    await Promise.all(writes);
    return file.direct;
  } finally {
    await file.close();
  }
}

describe('UncachedFile', () => {
  it('writes aligned chunks around the page cache, and pads and truncates the last one', async () => {
    const bytes = randomBytes(5 * CHUNK + 1234);
    const path = join(fresh(), 'blob');
    const direct = await writeAll(path, bytes, () => 0);
    expect(direct).toBe(directHere);
    expect(statSync(path).size).toBe(bytes.length);
    expect(readFileSync(path).equals(bytes)).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('goes buffered for good at the first chunk it cannot write direct, and keeps every byte', async () => {
    const bytes = randomBytes(8 * CHUNK + 99);
    const path = join(fresh(), 'blob');
    // Chunks 0–2 are aligned, chunk 3's memory is not; the later ones are aligned again.
    const direct = await writeAll(path, bytes, (i) => (i === 3 ? 512 : 0));
    expect(direct).toBe(false);
    expect(readFileSync(path).equals(bytes)).toBe(true);
  });

  it('keeps every byte when the switch comes with direct writes still in flight', async () => {
    const bytes = randomBytes(16 * CHUNK + 7);
    const path = join(fresh(), 'blob');
    await writeAll(path, bytes, (i) => (i % 5 === 4 ? 8 : 0), true);
    expect(readFileSync(path).equals(bytes)).toBe(true);
  });

  it('writes chunks in ordinary memory too (refused direct, written buffered)', async () => {
    const bytes = randomBytes(3 * CHUNK);
    const path = join(fresh(), 'blob');
    const file = await UncachedFile.create(path, bytes.length);
    for (let at = 0; at < bytes.length; at += CHUNK) await file.write(Buffer.from(bytes.subarray(at, at + CHUNK)), at);
    await file.close();
    expect(readFileSync(path).equals(bytes)).toBe(true);
  });

  it('refuses a file that is already there', async () => {
    const path = join(fresh(), 'blob');
    writeFileSync(path, 'x');
    await expect(UncachedFile.create(path, 1)).rejects.toMatchObject({ code: 'EEXIST' });
  });
});
