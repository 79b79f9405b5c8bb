import { open, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ConflictError } from '../core/errors.js';
import { SHA256_HEX } from '../core/ids.js';
import { isAbandonedTemp } from '../core/temp-name.js';
import { heldBlobs } from './lease.js';
import { TEMP_PREFIX, type CacheStore } from './store.js';

/** An eviction lock older than this was left by a process that died. */
const LOCK_STALE_MS = 10 * 60_000;
/** Temp files of downloads that died. */
const TEMP_STALE_MS = 24 * 3_600_000;

export interface CacheBlob {
  /** a blob's file, or the file of a pack holding the blobs fetched from it (packed.ts) */
  kind: 'blob' | 'pack';
  /** the blob's sha256, or the pack's id (its sha256) */
  sha256: string;
  path: string;
  /** bytes on disk (a pack file has holes where no blob was fetched) */
  size: number;
  /** the later of atime and mtime: Linux's relatime keeps atime within a day of the last read */
  lastUsedMs: number;
}

/** Every file in the blob (or pack) shards: blobs, and the temp files of downloads in progress (or dead). */
async function* shardFiles(
  cache: CacheStore,
  of: 'blobs' | 'packs' = 'blobs',
): AsyncGenerator<{ name: string; path: string }> {
  const root = join(cache.dir, of, 'sha256');
  for (const shard of (await readdir(root).catch(() => [] as string[])).sort()) {
    for (const name of (await readdir(join(root, shard)).catch(() => [] as string[])).sort()) {
      yield { name, path: join(root, shard, name) };
    }
  }
}

/** The cache's blob files, then its pack files. */
export async function* cacheBlobs(cache: CacheStore): AsyncGenerator<CacheBlob> {
  for (const kind of ['blob', 'pack'] as const) {
    for await (const { name, path } of shardFiles(cache, `${kind}s`)) {
      if (!SHA256_HEX.test(name)) continue;
      const info = await stat(path).catch(() => undefined);
      if (!info?.isFile()) continue;
      const size = kind === 'pack' ? Math.min(info.size, info.blocks * 512) : info.size;
      yield { kind, sha256: name, path, size, lastUsedMs: Math.max(info.atimeMs, info.mtimeMs) };
    }
  }
}

export interface PruneResult {
  removedBlobs: number;
  removedBytes: number;
  blobs: number;
  size: number;
  /** blobs that would have gone but a running materialization holds them */
  keptInUse: number;
  /** partial downloads of gets that died */
  removedTemps: number;
}

/**
 * Evicts least-recently-used blobs until the cache fits maxSize, never one a live lease holds.
 * One evictor at a time (a lock file); materializers need no lock: they lease first, and refetch
 * a blob that vanished between their check and their use.
 */
export async function prune(cache: CacheStore, maxSize: number): Promise<PruneResult> {
  await cache.ensureDir(cache.dir);
  const lock = join(cache.dir, 'evict.lock');
  await takeLock(lock);
  try {
    const removedTemps = await removeStaleTemps(cache);
    const blobs: CacheBlob[] = [];
    for await (const blob of cacheBlobs(cache)) blobs.push(blob);
    let size = blobs.reduce((n, b) => n + b.size, 0);
    const result: PruneResult = {
      removedBlobs: 0,
      removedBytes: 0,
      blobs: blobs.length,
      size,
      keptInUse: 0,
      removedTemps,
    };
    if (size <= maxSize) return result;
    const held = await heldBlobs(cache);
    blobs.sort((a, b) => a.lastUsedMs - b.lastUsedMs);
    for (const blob of blobs) {
      if (size <= maxSize) break;
      if (held.has(blob.sha256)) {
        result.keptInUse++;
        continue;
      }
      await unlink(blob.path).catch(() => undefined);
      size -= blob.size;
      result.removedBlobs++;
      result.removedBytes += blob.size;
    }
    return { ...result, blobs: result.blobs - result.removedBlobs, size };
  } finally {
    await unlink(lock).catch(() => undefined);
  }
}

async function takeLock(lock: string): Promise<void> {
  try {
    await (await open(lock, 'wx', 0o664)).close();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const info = await stat(lock).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs < LOCK_STALE_MS) {
      throw new ConflictError(`another process is pruning the cache (${lock}); try again shortly`, 'ECACHEBUSY');
    }
    await unlink(lock).catch(() => undefined);
    await (await open(lock, 'wx', 0o664)).close();
  }
}

/**
 * Removes downloads that died (beside their blob: their process is gone, or they are a day old)
 * and URL spools that did (in tmp/, a day old). Returns how many went.
 */
export async function removeStaleTemps(cache: CacheStore): Promise<number> {
  let removed = 0;
  const remove = async (path: string): Promise<void> => {
    if (
      await unlink(path).then(
        () => true,
        () => false,
      )
    )
      removed++;
  };
  const old = async (path: string): Promise<boolean> => {
    const info = await stat(path).catch(() => undefined);
    return info !== undefined && Date.now() - info.mtimeMs > TEMP_STALE_MS;
  };
  for await (const { name, path } of shardFiles(cache)) {
    if (!name.startsWith(TEMP_PREFIX)) continue;
    if (isAbandonedTemp(name, TEMP_PREFIX, () => Date.now()) || (await old(path))) await remove(path);
  }
  const spools = join(cache.dir, 'tmp');
  for (const name of await readdir(spools).catch(() => [] as string[])) {
    if (await old(join(spools, name))) await remove(join(spools, name));
  }
  return removed;
}
