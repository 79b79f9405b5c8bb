import { join, resolve } from 'node:path';
import type { AppContext } from './context.js';
import { readConfig } from '../core/config.js';
import { CacheStore } from '../cache/store.js';
import { cacheBlobs, prune, removeStaleTemps, type PruneResult } from '../cache/evict.js';
import { verifyPackFile } from '../cache/packed.js';
import { heldBlobs } from '../cache/lease.js';
import { materializeAll, type MaterializeResult } from '../cache/materialize.js';
import type { LinkMode } from '../core/model.js';
import { placedMode } from '../cache/placer.js';
import { hashFile } from '../core/hash.js';
import { findProvider, resolveRef } from './resolve.js';
import { transferConcurrency } from './concurrency.js';
import { selectFiles, targetOf, withProgress, type GetInput } from './file-reads.js';
import { getIntoTarget } from './target-guard.js';
import { refreshForRead } from './sync.js';
import { providerReads } from './packs.js';
import { LocalBackend } from '../storage/local.js';
import { blobKey } from '../storage/keys.js';
import type { Provider } from '../core/model.js';

/**
 * The cache directory: --cache-dir, then STRATA_CACHE_DIR, then config cache.dir, then
 * $STRATA_HOME/cache. An empty STRATA_CACHE_DIR counts as unset (not as the working directory).
 */
export function openCache(ctx: AppContext, dir?: string): CacheStore {
  const chosen =
    dir ??
    (ctx.env.STRATA_CACHE_DIR || undefined) ??
    readConfig(ctx.paths.config)['cache.dir'] ??
    join(ctx.paths.home, 'cache');
  return new CacheStore(resolve(chosen));
}

function maxSize(ctx: AppContext): number | undefined {
  const value = readConfig(ctx.paths.config)['cache.maxSize'];
  return value === undefined ? undefined : Number(value);
}

export interface MaterializeInput extends GetInput {
  link?: LinkMode;
  cacheDir?: string;
}

/**
 * Places a version's files in a directory from the team cache, fetching (in parallel, verified)
 * only the blobs the cache lacks. The storage backend is opened only on a miss, so a warm run
 * never loads the S3 SDK. Afterwards the cache is pruned to its cap, if one is set.
 */
export async function materializeVersion(
  ctx: AppContext,
  input: MaterializeInput,
): Promise<MaterializeResult & { ref: string; target: string; cacheDir: string; unchanged: number; removed: number }> {
  await refreshForRead(ctx, input.id, input.offline);
  const { dataset, version } = resolveRef(ctx, input.id);
  const link = input.link ?? 'auto';
  const files = selectFiles(ctx, version, input.sourcePaths);
  const target = targetOf(input, dataset.id, version.id, files, (f) => placedMode(f.mode, link));
  const cache = openCache(ctx, input.cacheDir);
  const provider = findProvider(ctx, dataset.storageProviderId);
  const storedFile = await storedFileOf(ctx, provider);
  const result = await getIntoTarget(ctx, target, (place) =>
    withProgress(input.progress, place, () =>
      materializeAll(
        {
          cache,
          target: input.targetPath,
          link,
          storedFile,
          ...providerReads(ctx, provider),
          concurrency: transferConcurrency(ctx, input.concurrency, 'get'),
          progress: input.progress,
          signal: input.signal,
        },
        place,
      ),
    ),
  );
  const cap = maxSize(ctx);
  if (cap !== undefined) await prune(cache, cap);
  return { ref: target.ref, target: input.targetPath, cacheDir: cache.dir, ...result };
}

/**
 * For the local provider, where it keeps each blob: the cache links those files instead of
 * copying them, so a machine stores each blob once (docs/cache.md).
 */
export async function storedFileOf(
  ctx: AppContext,
  provider: Provider,
): Promise<((sha256: string) => string) | undefined> {
  if (provider.type !== 'local') return undefined;
  const backend = await ctx.backend(provider);
  return backend instanceof LocalBackend ? (sha) => backend.fileOf(blobKey(sha)) : undefined;
}

export interface CacheStatsResult {
  dir: string;
  /** blob files */
  blobs: number;
  /** files of packs, each holding the blobs a get fetched from that pack (docs/cache.md) */
  packFiles: number;
  size: number;
  maxSize: number | null;
  hits: number;
  misses: number;
  inUse: number;
  /** partial downloads of gets that died, removed now */
  removedTemps: number;
}

export async function cacheStats(ctx: AppContext, input: { cacheDir?: string }): Promise<CacheStatsResult> {
  const cache = openCache(ctx, input.cacheDir);
  const removedTemps = await removeStaleTemps(cache);
  let [blobs, packFiles, size] = [0, 0, 0];
  for await (const entry of cacheBlobs(cache)) {
    if (entry.kind === 'blob') blobs++;
    else packFiles++;
    size += entry.size;
  }
  const counts = await cache.readCounts();
  return {
    dir: cache.dir,
    blobs,
    packFiles,
    size,
    maxSize: maxSize(ctx) ?? null,
    ...counts,
    inUse: (await heldBlobs(cache)).size,
    removedTemps,
  };
}

export async function pruneCache(
  ctx: AppContext,
  input: { cacheDir?: string; maxSize?: number },
): Promise<PruneResult & { dir: string; maxSize: number }> {
  const cache = openCache(ctx, input.cacheDir);
  const cap = input.maxSize ?? maxSize(ctx) ?? Number.POSITIVE_INFINITY;
  return { dir: cache.dir, maxSize: cap, ...(await prune(cache, cap)) };
}

export interface CacheVerifyResult {
  dir: string;
  checked: number;
  dropped: string[];
  /** partial downloads of gets that died, removed */
  removedTemps: number;
}

/**
 * Re-hashes every cached blob and drops the ones that no longer match their name. In a pack file,
 * each blob the catalog's pack tables place there is checked; a bad one is overwritten with
 * zeros (a miss, fetched again by the next get that wants it), and a range never written is not
 * counted.
 */
export async function verifyCache(ctx: AppContext, input: { cacheDir?: string }): Promise<CacheVerifyResult> {
  const cache = openCache(ctx, input.cacheDir);
  const result: CacheVerifyResult = {
    dir: cache.dir,
    checked: 0,
    dropped: [],
    removedTemps: await removeStaleTemps(cache),
  };
  for await (const entry of cacheBlobs(cache)) {
    if (entry.kind === 'pack') {
      const { checked, dropped } = await verifyPackFile(entry.path, ctx.catalog.packs.entriesAnywhere(entry.sha256));
      result.checked += checked;
      result.dropped.push(...dropped);
      continue;
    }
    result.checked++;
    const { sha256 } = await hashFile(entry.path);
    if (sha256 !== entry.sha256) {
      await cache.drop(entry.sha256);
      result.dropped.push(entry.sha256);
    }
  }
  return result;
}
