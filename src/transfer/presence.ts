import pLimit from 'p-limit';
import type { FileEntry } from '../core/model.js';
import type { StorageBackend } from '../storage/backend.js';
import { BLOBS_PREFIX, blobKey, shaOfBlobKey } from '../storage/keys.js';

/** Below this many blobs a HEAD each is cheaper than listing the whole blob store. */
const HEAD_LIMIT = 256;

/**
 * Every blob a provider holds, listed shard by shard (blobs/sha256/00/ … ff/) in parallel: one
 * request per thousand blobs instead of one per blob.
 */
export async function listBlobs(backend: StorageBackend, concurrency = 32): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  const limit = pLimit(concurrency);
  const shards = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
  await Promise.all(
    shards.map((shard) =>
      limit(async () => {
        for await (const object of backend.list(`${BLOBS_PREFIX}${shard}/`)) {
          const sha = shaOfBlobKey(object.key);
          if (sha) found.set(sha, object.size);
        }
      }),
    ),
  );
  return found;
}

/**
 * The files whose blob the provider does not hold (checked with the provider itself, not the
 * catalog: a garbage collector on another machine may have removed a blob). `learn` is told what
 * is there and what is not, for the catalog's belief about the provider.
 */
export async function missingBlobs(
  backend: StorageBackend,
  entries: readonly FileEntry[],
  learn: (present: { sha256: string; size: number }[], absent: string[]) => void,
): Promise<FileEntry[]> {
  const wanted = new Map<string, number>();
  for (const e of entries) wanted.set(e.sha256, e.size);
  const present = await presentBlobs(backend, wanted.keys());
  const [here, gone]: [{ sha256: string; size: number }[], string[]] = [[], []];
  for (const [sha, size] of wanted) {
    if (present.get(sha) === size) here.push({ sha256: sha, size });
    else gone.push(sha);
  }
  learn(here, gone);
  return entries.filter((e) => present.get(e.sha256) !== e.size);
}

/** Which of these blobs the provider holds, with their sizes: a HEAD each when few, else one listing. */
export async function presentBlobs(backend: StorageBackend, shas: Iterable<string>): Promise<Map<string, number>> {
  const wanted = [...new Set(shas)];
  if (wanted.length > HEAD_LIMIT) return listBlobs(backend);
  const present = new Map<string, number>();
  const limit = pLimit(32);
  await Promise.all(
    wanted.map((sha) =>
      limit(async () => {
        const info = await backend.head(blobKey(sha));
        if (info) present.set(sha, info.size);
      }),
    ),
  );
  return present;
}
