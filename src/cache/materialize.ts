import { copyFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { FileEntry, LinkMode } from '../core/model.js';
import { inMemory, type FileBatches } from '../core/file-batches.js';
import { IntegrityError } from '../core/errors.js';
import { refuseUnsafePath } from '../core/paths-in-manifest.js';
import type { ProgressSink } from '../core/progress.js';
import { SafeDirs } from '../core/safe-dirs.js';
import { forEachLimited } from '../transfer/concurrency.js';
import type { ReadMany } from '../transfer/pack-reads.js';
import type { BlobReader, BlobSink, PackedAt } from '../transfer/read-blob.js';
import { onLocalDisks } from '../transfer/write-sync.js';
import { Lease } from './lease.js';
import { BatchPacks, PackWriter } from './packed.js';
import { ClonePlacer, CopyPlacer } from './place-copy.js';
import { HardlinkPlacer } from './place-link.js';
import { blobFilesFromPacks } from './place-sync.js';
import type { PlaceContext, Placer } from './placer.js';
import { WHOLE_LIMIT as WHOLE_IN_HAND, type CacheStore } from './store.js';
import { boundHeapGrowth, GET_BOUND_FROM } from '../core/memory.js';

/** How to materialize: from which cache, into which directory, reading what it lacks how. */
export interface MaterializeOptions {
  cache: CacheStore;
  target: string;
  link: LinkMode;
  /** reads a blob of the storage provider; called only for blobs the cache lacks */
  read: BlobReader;
  /** reads many blobs the cache lacks at once (packed ones, by ranges of their packs) */
  readMany?: ReadMany;
  /** where storage itself keeps a blob on this machine (the local provider): cached by a link */
  storedFile?: (sha256: string) => string;
  /** where the provider holds a blob in a pack: copies of such blobs are cached in pack files (packed.ts) */
  locate?: (sha256: string) => PackedAt | undefined;
  concurrency: number;
  progress?: ProgressSink;
  signal?: AbortSignal;
}

export interface MaterializePlan extends MaterializeOptions {
  files: readonly FileEntry[];
}

export interface MaterializeResult {
  files: number;
  bytes: number;
  /** distinct blobs found in the cache / fetched into it */
  hits: number;
  misses: number;
  link: LinkMode;
  seconds: number;
}

export function materialize({ files, ...options }: MaterializePlan): Promise<MaterializeResult> {
  return materializeAll(options, inMemory(files));
}

/**
 * Materializes files batch by batch (FileBatches): each batch is fetched and placed before the
 * next is read, so a get's memory is bounded by a batch, not by the version.
 */
export async function materializeAll(options: MaterializeOptions, files: FileBatches): Promise<MaterializeResult> {
  const started = performance.now();
  boundHeapGrowth(files.count, GET_BOUND_FROM);
  const total: MaterializeResult = { files: 0, bytes: 0, hits: 0, misses: 0, link: options.link, seconds: 0 };
  // One writer for the whole get: it knows which pack files this get created (they hold only
  // what its earlier batches wrote), and keeps their descriptors open across batches.
  const packWriter = new PackWriter(options.cache);
  try {
    for (const batch of files.batches()) {
      const done = await materializeBatch({ ...options, files: batch }, packWriter);
      total.files += done.files;
      total.bytes += done.bytes;
      total.hits += done.hits;
      total.misses += done.misses;
      total.link = done.link;
    }
  } finally {
    packWriter.close();
  }
  total.seconds = (performance.now() - started) / 1000;
  return total;
}

async function materializeBatch(
  plan: MaterializePlan,
  packWriter: PackWriter,
): Promise<Omit<MaterializeResult, 'seconds'>> {
  for (const file of plan.files) refuseUnsafePath(file.path);
  const blobs = blobsOf(plan.files);
  const packs = new BatchPacks(plan.cache, blobs.keys(), plan.locate, packWriter);
  const lease = await Lease.take(plan.cache, [...blobs.keys(), ...packs.ids]);
  try {
    // Synchronous stats: promises cost more than the syscalls.
    const missingOf = (needed: Iterable<[string, number]>): string[] =>
      [...needed].filter(([sha, size]) => plan.cache.sizeOfSync(sha) !== size).map(([sha]) => sha);
    const pathOf = new Map(plan.files.map((f) => [f.sha256, f.path]));
    const fresh = new Set<string>();
    let fetched = 0;
    /** A blob the cache's pack files hold, verified, stored as a blob file of its own (for a link, a clone, a refill). */
    const fromPackFile = async (sha: string): Promise<Buffer | undefined> => {
      const bytes = await packs.read(sha, blobs.get(sha)!);
      if (!bytes) return undefined;
      await plan.cache.store(sha, bytes, false);
      fresh.add(sha);
      return bytes;
    };
    /**
     * Fetches a missing blob into the cache (and, when large, into `tee` too); small ones come back
     * whole. One the cache's pack files hold is taken from there.
     */
    const fill = async (sha: string, tee?: string): Promise<Buffer | undefined> => {
      try {
        const size = blobs.get(sha)!;
        const cached = await fromPackFile(sha);
        if (cached) {
          if (tee) await writeFile(tee, cached, { flag: 'wx', mode: 0o600 });
          return cached;
        }
        fetched++;
        if (plan.storedFile && (await plan.cache.linkFrom(sha, size, plan.storedFile(sha)))) {
          fresh.add(sha);
          if (tee) await copyFile(plan.cache.blobPath(sha), tee);
          return undefined;
        }
        const read = (sink: BlobSink): Promise<void> => plan.read(sha, size, sink, plan.signal);
        const bytes = await plan.cache.fill(sha, size, read, tee);
        fresh.add(sha);
        return bytes;
      } catch (error) {
        if (!(error instanceof IntegrityError)) throw error;
        throw new IntegrityError(`${pathOf.get(sha)}: ${error.message}`, error.code);
      }
    };
    const ctx: PlaceContext = {
      plan,
      dirs: new SafeDirs(plan.target),
      root: resolve(plan.target),
      local: onLocalDisks([plan.cache.dir, plan.target]),
      refill: (sha) => fill(sha).then(() => undefined),
      fresh,
      inCachedPack: (sha) => packs.cachedAt(sha),
    };
    let made: Promise<Placer> | undefined;
    /**
     * The placer, made when the first file is to be placed: auto's probe makes the target, which
     * a read that fails first must not leave behind.
     */
    const placer = (): Promise<Placer> => (made ??= placerFor(ctx));
    let bytes = 0;
    const placed = (file: FileEntry): void => {
      bytes += file.size;
      plan.progress?.advance(1, file.size);
    };
    // A fast path first places every file it can from the cache (a warm run is only that); it
    // leaves the files whose blob is missing or damaged, or that something is in the way of.
    // Each missing blob is then fetched once, by the first file that needs it, and that file is
    // written from the bytes in hand (or, for a large blob that is copied anyway, as they
    // arrive); the others come from the cache.
    let general = plan.files;
    /** a cold run: no blob is in the cache, so none is stat'ed again */
    const noneCached = !packs.anyCached && !plan.files.some((f) => plan.cache.sizeOfSync(f.sha256) === f.size);
    if (!noneCached) {
      const into = await placer();
      general = await into.placeCached(plan.files, placed);
      // A link or a clone needs a blob file: those the cache's pack files hold are made, on
      // threads, and their files placed.
      if (!into.copies && ctx.local && general.length > 0) {
        const made = await blobFilesFromPacks(plan.cache, packs.withoutBlobFile(blobsOf(general)));
        for (const sha of made) fresh.add(sha);
        if (made.length > 0) general = await into.placeCached(general, placed);
      }
    }
    const lacking = noneCached ? [...blobs.keys()] : missingOf(blobsOf(general));
    const missingSet = new Set(lacking);
    // Blobs in the cache's pack files that the fast path did not place (a link or clone mode
    // needs a blob file; a network filesystem): a blob file of each, verified, from there.
    await forEachLimited(
      lacking.filter((sha) => packs.cachedAt(sha)),
      plan.concurrency,
      async (sha) => {
        if (await fromPackFile(sha)) missingSet.delete(sha);
      },
    );
    const missing = lacking.filter((sha) => missingSet.has(sha));
    if (plan.readMany && !plan.storedFile && missing.length > 0) {
      // Packed blobs come in ranges of their packs: each into the cache (copies into its pack's
      // file), and its files into place from the same bytes. The loop below does the rest.
      const waiting = new Map<string, FileEntry[]>();
      const fromPacks: FileEntry[] = [];
      for (const file of general) {
        if (!missingSet.has(file.sha256)) continue;
        const same = waiting.get(file.sha256);
        if (same) same.push(file);
        else waiting.set(file.sha256, [file]);
      }
      await plan.readMany(
        missing.map((sha) => ({ sha256: sha, size: blobs.get(sha)!, at: packs.at(sha) })),
        async (sha, bytes, at) => {
          const into = await placer();
          fetched++;
          if (into.copies && ctx.local && packWriter.write(at, bytes)) {
            packs.written(sha, at);
            missingSet.delete(sha);
            fromPacks.push(...(waiting.get(sha) ?? []));
            return;
          }
          await plan.cache.store(sha, bytes, into.copies && ctx.local);
          fresh.add(sha);
          missingSet.delete(sha);
          for (const file of waiting.get(sha) ?? []) {
            await into.place(file, { bytes });
            placed(file);
          }
        },
        {
          signal: plan.signal,
          bad: (sha, error) => {
            throw new IntegrityError(`${pathOf.get(sha)}: ${error.message}`, 'EINTEGRITY');
          },
        },
      );
      general = general.filter((file) => missingSet.has(file.sha256) || !waiting.has(file.sha256));
      // Files of blobs now in the cache's pack files: placed from there by the fast path, on
      // several threads (after deletions, ext4's file creations cost several times more system
      // time, and one thread would wait on all of them).
      if (fromPacks.length > 0) general = [...general, ...(await (await placer()).placeCached(fromPacks, placed))];
    }
    const fetching = new Map<string, Promise<void>>();
    await forEachLimited(general, plan.concurrency, async (file) => {
      plan.signal?.throwIfAborted();
      if (missingSet.has(file.sha256)) {
        const pending = fetching.get(file.sha256);
        if (pending) {
          await pending;
          if (!fresh.has(file.sha256)) return; // its fetch failed: that failure stops the run
        } else {
          const started = fetchAndPlace(placer, file, fill);
          // Later files of this blob wait on it; a failure is the first file's to report.
          fetching.set(
            file.sha256,
            started.then(
              () => undefined,
              () => undefined,
            ),
          );
          await started;
          return placed(file);
        }
      }
      await (await placer()).place(file);
      placed(file);
    });
    await plan.cache.count({ hits: blobs.size - fetched, misses: fetched });
    return {
      files: plan.files.length,
      bytes,
      hits: blobs.size - fetched,
      misses: fetched,
      link: made ? (await made).used : plan.link,
    };
  } finally {
    await lease.release();
  }
}

/** The distinct blobs of some files: sha256 → size. */
const blobsOf = (files: readonly FileEntry[]): Map<string, number> => new Map(files.map((f) => [f.sha256, f.size]));

/** The first file of a missing blob: fetched into the cache, and into place from the same bytes. */
async function fetchAndPlace(
  placer: () => Promise<Placer>,
  file: FileEntry,
  fill: (sha: string, tee?: string) => Promise<Buffer | undefined>,
): Promise<void> {
  const small = file.size <= WHOLE_IN_HAND;
  const into = small ? undefined : await placer(); // a large blob may go straight into its file
  if (!into?.copies) {
    const bytes = await fill(file.sha256);
    return (into ?? (await placer())).place(file, bytes && { bytes });
  }
  return into.place(file, { write: async (temp) => void (await fill(file.sha256, temp)) });
}

/** The placer of the plan's link mode; `auto` clones where the filesystem can clone from the cache. */
async function placerFor(ctx: PlaceContext): Promise<Placer> {
  switch (ctx.plan.link) {
    case 'hardlink':
      return new HardlinkPlacer(ctx);
    case 'reflink':
      return new ClonePlacer(ctx, true);
    case 'copy':
      return new CopyPlacer(ctx);
    case 'auto':
      return (await ClonePlacer.works(ctx)) ? new ClonePlacer(ctx, false) : new CopyPlacer(ctx);
  }
}
