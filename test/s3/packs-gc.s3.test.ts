// Issue 18 against Ceph RGW: garbage collection of packs (docs/packs.md). gc removes packs no live
// blob is in, copies the live blobs of mostly-dead packs into new ones, and removes the old packs
// in a gc after the grace period; a reader meanwhile gets the right bytes or a clear error that a
// rerun fixes. The clock is moved with STRATA_TEST_NOW, as the bench does.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { strata, strataJson, type CliOptions } from '../helpers/cli.js';
import { assertBuilt } from '../helpers/expect-cli.js';
import type { VersionJson } from '../helpers/fixtures.js';
import { packTables } from '../helpers/packs.js';
import type { TestBucket } from '../helpers/s3-bucket.js';
import { committed, createDataset, getFiles, getOk, providerArgs, team } from '../helpers/team.js';
import { tempDirs } from '../helpers/temp.js';
import { readTree } from '../helpers/tree.js';

const s3 = inject('s3');
const fresh = tempDirs('strata-s3-packs-gc-');
const KiB = 1024;
const HOUR = 3600_000;

beforeAll(assertBuilt);

interface PackGcJson {
  packs: { removed: number; removedBytes: number; repacked: number; rewrittenBytes: number; refused: unknown[] };
}

/** `count` files of `size` random bytes under a new directory, named with `name`. */
function tree(count: number, size: number, name: string): string {
  const dir = fresh();
  for (let i = 0; i < count; i++) writeFileSync(join(dir, `${name}${i}.bin`), randomBytes(size));
  return dir;
}

/** gc as if `hours` had passed: the default grace (24 h) is over for what is older than `hours - 24`. */
const gcLater = (o: CliOptions, hours: number): Promise<PackGcJson> =>
  strataJson<PackGcJson>(['gc', '--storageProviderId', 'team'], {
    ...o,
    env: { STRATA_TEST_NOW: new Date(Date.now() + hours * HOUR).toISOString() },
  });

/**
 * v1: 30 files of 500 KiB (one pack); v2: 5 of v1's files and 20 new ones (a second pack); v3: 10
 * small files (a third). v1 and v3 deleted: the third pack is dead, the first is 5/30 alive.
 */
async function mostlyDead(
  label: string,
): Promise<{ bucket: TestBucket; a: CliOptions; b: CliOptions; v2: VersionJson; src2: string }> {
  const t = await team(s3!, label, fresh);
  await createDataset(t.a, 'ds');
  const src1 = tree(30, 500 * KiB, 'one');
  const v1 = await committed(t.a, 'ds', src1);
  const src2 = tree(20, 500 * KiB, 'two');
  mkdirSync(join(src2, 'kept'));
  for (let i = 0; i < 5; i++) copyFileSync(join(src1, `one${i}.bin`), join(src2, 'kept', `one${i}.bin`));
  const v2 = await committed(t.a, 'ds', src2);
  const v3 = await committed(t.a, 'ds', tree(10, 3 * KiB, 'three'));
  for (const v of [v1, v3]) await strataJson(['datasets', 'versions', 'delete', '--id', v.ref, '--force'], t.a);
  return { ...t, v2, src2 };
}

describe.skipIf(!s3).concurrent('garbage collection of packs (Ceph RGW)', () => {
  it('removes the dead pack, repacks the mostly-dead one, and removes the old pack after the grace; v2 verifies throughout', async () => {
    const { bucket, a, b, v2, src2 } = await mostlyDead('packs-gc');
    try {
      const before = await packTables(bucket);
      expect(before.tables).toHaveLength(3);

      // Within the grace period nothing is touched.
      expect((await strataJson<PackGcJson>(['gc', '--storageProviderId', 'team'], a)).packs).toMatchObject({
        removed: 0,
        repacked: 0,
      });
      const first = await gcLater(a, 25);
      expect(first.packs).toMatchObject({ removed: 1, repacked: 1, rewrittenBytes: 5 * 500 * KiB, refused: [] });
      const middle = await packTables(bucket);
      expect(middle.tables).toHaveLength(3); // the dead one gone, the copy of the live five new
      await strataJson(['datasets', 'versions', 'verify', '--id', v2.ref, '--deep'], a);

      // A gc after the copy is older than the grace removes the old pack; nothing is rewritten.
      const second = await gcLater(a, 50);
      expect(second.packs).toMatchObject({ removed: 1, repacked: 0, rewrittenBytes: 0 });
      const after = await packTables(bucket);
      expect(after.tables).toHaveLength(2);
      const stored = [...after.packSizes.values()].reduce((n, size) => n + size, 0);
      expect(stored).toBe(25 * 500 * KiB);
      expect((await gcLater(a, 75)).packs).toMatchObject({ removed: 0, repacked: 0 });

      await strataJson(['datasets', 'versions', 'verify', '--id', v2.ref, '--deep'], a);
      await strataJson(providerArgs('import', s3!, bucket.name), b);
      const out = fresh();
      await getOk(b, v2.ref, out, '--no-cache');
      expect(readTree(out)).toEqual(readTree(src2));
    } finally {
      await bucket.destroy();
    }
  });

  it('a copy that does not hold what its table says: gc keeps the old pack', async () => {
    const { bucket, a } = await mostlyDead('packs-gc-bad-copy');
    try {
      const before = await packTables(bucket);
      await gcLater(a, 25); // the copy of the five live blobs
      const copy = (await packTables(bucket)).tables.find((t) => !before.tables.some((b) => b.key === t.key))!;
      const bytes = Buffer.from(await bucket.bytes(copy.packKey));
      bytes[copy.blobs[2]![1] + 7]! ^= 0xff;
      await bucket.client.send(new PutObjectCommand({ Bucket: bucket.name, Key: copy.packKey, Body: bytes }));
      const second = await gcLater(a, 50);
      expect(second.packs).toMatchObject({ removed: 0 });
      const kept = await packTables(bucket);
      for (const t of before.tables.filter((t) => t.blobs.length === 30)) {
        expect(kept.packSizes.get(t.pack), 'the old pack').toBe(t.size);
      }
    } finally {
      await bucket.destroy();
    }
  });

  it('a get that knew the old pack while gc removes it: the right bytes, or a clear error that a rerun fixes', async () => {
    const { bucket, a, b, v2, src2 } = await mostlyDead('packs-gc-reader');
    try {
      await gcLater(a, 25); // the copy
      await strataJson(providerArgs('import', s3!, bucket.name), b); // B's catalog knows both packs
      const outs = [fresh(), fresh()];
      const [removed, ...gets] = await Promise.all([
        gcLater(a, 50),
        getFiles(b, v2.ref, outs[0]!, '--no-cache'),
        getFiles(b, v2.ref, outs[1]!),
      ]);
      expect(removed.packs.removed).toBe(1);
      for (const [i, got] of gets.entries()) {
        if (got.code !== 0) {
          expect(got.stderr.trim().split('\n').at(-1)).toMatch(/^Error: /);
          const again = await strata(['datasets', 'files', 'get', '--id', v2.ref, '--target-path', outs[i]!], b);
          expect(again.code, again.stderr).toBe(0);
        }
        expect(readTree(outs[i]!)).toEqual(readTree(src2));
      }
      // Once it is gone: a read that does not sync first (--offline) may look where B's catalog
      // still believes, and finds the blobs in the new pack; so does one that syncs.
      for (const flags of [['--offline', '--no-cache'], ['--no-cache']]) {
        const later = fresh();
        await getOk(b, v2.ref, later, ...flags);
        expect(readTree(later), flags.join(' ')).toEqual(readTree(src2));
      }
    } finally {
      await bucket.destroy();
    }
  });
});
