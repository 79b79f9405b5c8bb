// The packs of a bucket as the SDK sees them (docs/packs.md): for the tests of packs, which check the
// bucket without trusting the code under test.
import type { TestBucket } from './s3-bucket.js';

export interface PackTable {
  key: string;
  packKey: string;
  pack: string;
  size: number;
  /** [sha256, offset, size] */
  blobs: [string, number, number][];
}

/** Every pack table in the bucket, and the size of every pack object. */
export async function packTables(bucket: TestBucket): Promise<{ tables: PackTable[]; packSizes: Map<string, number> }> {
  const objects = await bucket.objects('packs/');
  const packSizes = new Map<string, number>();
  const tables: PackTable[] = [];
  for (const o of objects) {
    const id = /([0-9a-f]{64})\.pack$/.exec(o.Key!)?.[1];
    if (id) packSizes.set(id, o.Size!);
  }
  for (const o of objects.filter((x) => x.Key!.endsWith('.json'))) {
    const doc = await bucket.json<Omit<PackTable, 'key' | 'packKey'>>(o.Key!);
    tables.push({ ...doc, key: o.Key!, packKey: o.Key!.replace(/\.json$/, '.pack') });
  }
  return { tables, packSizes };
}
