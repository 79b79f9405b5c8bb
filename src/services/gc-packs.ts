import type { AppContext } from './context.js';
import type { Provider } from '../core/model.js';
import { sha256Hex } from '../core/hash.js';
import type { StorageBackend } from '../storage/backend.js';
import { PACKS_PREFIX, packKey, packOfKey, packTableKey } from '../storage/keys.js';
import type { PackEntry } from '../storage/pack-docs.js';
import { Packer } from '../transfer/packer.js';
import { readRange } from '../transfer/read-blob.js';
import { readPacked, type Located } from '../transfer/pack-reads.js';
import { NotFoundError } from '../core/errors.js';
import { loadPackTables } from './packs.js';

/** A pack whose live blobs hold less than this part of its bytes is repacked. */
export const REPACK_BELOW = 0.8;

export interface PackGcResult {
  /** packs (with their tables) removed, or that would be: no live blob, or every live blob held by a newer pack */
  removed: number;
  removedBytes: number;
  /** packs whose live blobs were copied into new packs (removed by a gc after the grace period) */
  repacked: number;
  rewrittenBytes: number;
  /** tables refused as untrusted input: their packs are kept */
  refused: { key: string; reason: string }[];
}

interface Listed {
  size: number;
  /** ms: the later of the pack's and its table's last modification */
  modified: number;
  table: boolean;
  pack: boolean;
}

/**
 * The packs' part of a garbage collection (docs/packs.md): removes packs no live blob is in, packs
 * whose every live blob a newer pack holds too (a repack's old packs, once the new ones are older
 * than the grace period), and a pack or table left without the other by a put that died; copies
 * the live blobs of packs mostly dead into new packs. Only objects older than `cutoff` are
 * touched. Memory holds one pack at a time and the bucket's list of packs, never every table.
 * Returns the keys to delete, tables before their packs, so no table ever names a missing pack.
 */
export async function collectPacks(
  ctx: AppContext,
  provider: Provider,
  backend: StorageBackend,
  live: { has(sha256: string): boolean },
  cutoff: number,
  dryRun: boolean,
): Promise<{ result: PackGcResult; doomed: string[] }> {
  const result: PackGcResult = { removed: 0, removedBytes: 0, repacked: 0, rewrittenBytes: 0, refused: [] };
  const doomed: string[] = [];
  const listed = new Map<string, Listed>();
  for await (const object of backend.list(PACKS_PREFIX)) {
    const of = packOfKey(object.key);
    if (!of) continue;
    const seen = listed.get(of.packId) ?? { size: 0, modified: 0, table: false, pack: false };
    seen.modified = Math.max(seen.modified, object.lastModified.getTime());
    if (of.kind === 'pack') [seen.pack, seen.size] = [true, object.size];
    else seen.table = true;
    listed.set(of.packId, seen);
  }
  const refused: PackGcResult['refused'] = [];
  await loadPackTables(ctx, provider, backend, refused);
  // A table whose pack is gone is half of a pack, removed below, not a refusal that keeps anything.
  result.refused = refused.filter((r) => listed.get(packOfKey(r.key)?.packId ?? '')?.pack !== false);
  const { packs } = ctx.catalog;
  /** the blob in a newer pack, older than the cutoff, if one holds it */
  const inNewer = (sha256: string, than: { id: string; modified: number }): Located | undefined => {
    const at = packs.holders(provider.id, sha256).find(({ packId }) => {
      const other = listed.get(packId);
      return (
        packId !== than.id &&
        other?.pack === true &&
        other.modified <= cutoff &&
        (other.modified > than.modified || (other.modified === than.modified && packId > than.id))
      );
    });
    return at && { sha256, size: at.size, at: { packId: at.packId, key: packKey(at.packId), offset: at.offset } };
  };
  const repacker = dryRun
    ? undefined
    : new Packer<undefined>(backend, (pack) => packs.record(provider.id, pack, pack.entries));
  const known = packs.ids(provider.id);
  for (const [id, seen] of listed) {
    if (seen.modified > cutoff) continue;
    if (!seen.table || !seen.pack) {
      // half of a pack: one whose put died between its PUTs, or a table whose pack is gone
      doomed.push(...(seen.table ? [packTableKey(id)] : []), ...(seen.pack ? [packKey(id)] : []));
      if (seen.pack) [result.removed, result.removedBytes] = [result.removed + 1, result.removedBytes + seen.size];
      continue;
    }
    if (!known.has(id)) continue; // its table was refused: what it holds is unknown, so it stays
    const alive = [...packs.entries(provider.id, id)].filter((e) => live.has(e.sha256));
    const liveBytes = alive.reduce((n, e) => n + e.size, 0);
    const copies = alive.map((e) => inNewer(e.sha256, { id, modified: seen.modified }));
    if (copies.every((c) => c !== undefined)) {
      // Tables are untrusted: the copies are read and checked before the only other one goes.
      if (!(await allThere(backend, copies as Located[]))) continue;
      doomed.push(packTableKey(id), packKey(id));
      result.removed++;
      result.removedBytes += seen.size;
      continue;
    }
    if (liveBytes >= REPACK_BELOW * seen.size) continue;
    // Blobs another pack holds too are not copied again: a repack younger than the grace period.
    const only = alive.filter((e) => packs.holders(provider.id, e.sha256).length === 1);
    if (only.length === 0) continue;
    result.repacked++;
    result.rewrittenBytes += only.reduce((n, e) => n + e.size, 0);
    if (repacker) await repack(backend, id, seen.size, only, repacker);
  }
  await repacker?.finish();
  return { result, doomed };
}

/** Whether every blob is where its table says, with the bytes its sha256 says. */
async function allThere(backend: StorageBackend, blobs: readonly Located[]): Promise<boolean> {
  let good = true;
  try {
    await readPacked(backend, blobs, async () => undefined, { bad: () => (good = false) });
  } catch (error) {
    if (error instanceof NotFoundError) return false;
    throw error;
  }
  return good;
}

/**
 * Copies a pack's live blobs into new packs: the pack is read whole (one request; its dead bytes
 * come too, but a request costs more than they do), and each blob is checked against its sha256
 * first, so a damaged blob is never copied (it stays where it is, for verify to report).
 */
async function repack(
  backend: StorageBackend,
  packId: string,
  size: number,
  alive: readonly PackEntry[],
  into: Packer<undefined>,
): Promise<void> {
  const bytes = await readRange(backend, packKey(packId), 0, size);
  for (const e of alive) {
    const blob = bytes.subarray(e.offset, e.offset + e.size);
    if (blob.length !== e.size || sha256Hex(blob) !== e.sha256) continue;
    await into.ready();
    into.add(e.sha256, blob, undefined);
  }
}
