import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PackWriter } from '../../src/cache/packed.js';
import { blobFilesFromPacks } from '../../src/cache/place-sync.js';
import { CacheStore, TEMP_PREFIX } from '../../src/cache/store.js';
import { tempDirs } from '../helpers/temp.js';

const fresh = tempDirs('strata-blob-files-');
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

describe('blobFilesFromPacks (a link or clone after copying gets cached packed blobs)', () => {
  it('makes a read-only blob file of each intact blob in a pack file, and none of a hole or a damaged one', async () => {
    const cache = new CacheStore(fresh());
    const packId = sha256(Buffer.from('the pack'));
    const contents = Array.from({ length: 40 }, (_, i) => randomBytes(100 + i * 37));
    let offset = 0;
    const blobs = contents.map((bytes) => {
      const blob = { sha256: sha256(bytes), size: bytes.length, packId, offset };
      offset += bytes.length;
      return blob;
    });
    const writer = new PackWriter(cache);
    const [hole, damaged] = [blobs[7]!, blobs[23]!];
    for (const [i, blob] of blobs.entries()) {
      if (blob === hole) continue;
      const bytes = Buffer.from(contents[i]!);
      if (blob === damaged) bytes.writeUInt8(bytes.readUInt8(3) ^ 0xff, 3);
      writer.write(blob, bytes);
    }
    writer.close();
    // What a killed extraction left in a shard: swept, as a killed download's is.
    const abandoned = join(
      dirname(cache.blobPath(blobs[0]!.sha256)),
      `${TEMP_PREFIX}${hostname()}-999999999-deadbeef-1`,
    );
    mkdirSync(dirname(abandoned), { recursive: true });
    writeFileSync(abandoned, 'torn');

    const made = await blobFilesFromPacks(cache, blobs);

    expect(made.sort()).toEqual(
      blobs
        .filter((b) => b !== hole && b !== damaged)
        .map((b) => b.sha256)
        .sort(),
    );
    for (const [i, blob] of blobs.entries()) {
      const path = cache.blobPath(blob.sha256);
      if (blob === hole || blob === damaged) expect(cache.sizeOfSync(blob.sha256)).toBeUndefined();
      else {
        expect(readFileSync(path).equals(contents[i]!)).toBe(true);
        expect(statSync(path).mode & 0o777).toBe(0o444);
      }
    }
    const shards = join(cache.dir, 'blobs', 'sha256');
    const leftovers = readdirSync(shards).flatMap((shard) =>
      readdirSync(join(shards, shard)).filter((name) => name.startsWith('.')),
    );
    expect(leftovers).toEqual([]);
  });
});
