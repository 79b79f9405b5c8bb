import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readVerifiedBlobSync } from '../../src/cache/store.js';
import { tempDirs } from '../helpers/temp.js';

const fresh = tempDirs('strata-read-verified-');
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

describe('readVerifiedBlobSync (the warm fast path)', () => {
  it('gives the bytes of a blob that matches, large ones too (past its first read buffer)', () => {
    for (const size of [0, 1, 4096, 3 * 1024 * 1024 + 7]) {
      const bytes = randomBytes(size);
      const path = join(fresh(), 'blob');
      writeFileSync(path, bytes);
      expect(readVerifiedBlobSync(path, sha256(bytes), size)?.equals(bytes)).toBe(true);
    }
  });

  it('says undefined for a blob that is missing, shorter, longer or changed', () => {
    const bytes = randomBytes(10_000);
    const dir = fresh();
    const write = (name: string, content: Buffer): string => {
      writeFileSync(join(dir, name), content);
      return join(dir, name);
    };
    const changed = Buffer.from(bytes);
    changed.writeUInt8(changed.readUInt8(5000) ^ 1, 5000);
    expect(readVerifiedBlobSync(join(dir, 'missing'), sha256(bytes), bytes.length)).toBeUndefined();
    expect(readVerifiedBlobSync(write('short', bytes.subarray(0, 9_999)), sha256(bytes), bytes.length)).toBeUndefined();
    expect(
      readVerifiedBlobSync(write('long', Buffer.concat([bytes, Buffer.from('x')])), sha256(bytes), bytes.length),
    ).toBeUndefined();
    expect(readVerifiedBlobSync(write('changed', changed), sha256(bytes), bytes.length)).toBeUndefined();
  });
});
