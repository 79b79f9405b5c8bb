import { chmod, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { FileEntry, LinkMode } from '../core/model.js';
import { failedAt, UsageError } from '../core/errors.js';
import { faultPoint } from '../core/faults.js';
import { setMtimeMs } from '../core/mtime.js';
import type { SafeDirs } from '../core/safe-dirs.js';
import { tempBeside } from '../core/temp-name.js';
import { createdWithMode, writePlacedSync } from '../transfer/write-sync.js';
import type { CacheStore } from './store.js';
import { PLACED, placeInParallel, type PlaceJob } from './place-sync.js';

/**
 * The mode a file placed from the cache gets: its manifest mode; for the read-only consumers of
 * hardlink, without the write bits (an executable is 0555), as the blob it may be a link of is.
 */
export function placedMode(manifestMode: number, link: LinkMode): number {
  const mode = manifestMode & 0o7777;
  return link === 'hardlink' ? mode & ~0o222 : mode;
}

/** Cached files up to this size are placed by the synchronous fast path on local disks. */
const SYNC_PLACE_LIMIT = 8 * 1024 * 1024;
/**
 * The fast path takes files this many at a time: their jobs (and each thread's copy of them) are
 * all in memory at once, which for a million files would be most of a gigabyte.
 */
const PLACE_BATCH = 8192;

export interface PlaceOptions {
  cache: CacheStore;
  files: readonly FileEntry[];
  target: string;
  link: LinkMode;
  /** where storage itself keeps a blob on this machine (the local provider): see CacheStore.linkFrom */
  storedFile?: (sha256: string) => string;
  signal?: AbortSignal;
}

/** What the placers of one materialization share. */
export interface PlaceContext {
  plan: PlaceOptions;
  /** the target's directories, made and checked once */
  dirs: SafeDirs;
  /** the target, absolute: manifest paths are checked, so `${root}/${path}` is the destination */
  root: string;
  /** the cache and the target are both on local disks: synchronous file calls are cheaper there */
  local: boolean;
  /** fetches a blob into the cache again (evicted, or found damaged) */
  refill: (sha256: string) => Promise<void>;
  /** blobs fetched and verified by this run: copied without hashing them again */
  fresh: ReadonlySet<string>;
  /** where a blob is in the cache's file of its pack, if it may be there (packed.ts) */
  inCachedPack: (sha256: string) => { packId: string; offset: number } | undefined;
}

/** A file's content fetched just now (verified), when it is not taken from its cached blob. */
export type Fetched =
  | { bytes: Buffer }
  /** fills the temp file it is given (a large blob, as it arrives) */
  | { write: (temp: string) => Promise<void> };

/**
 * Puts files into the target directory, each through a temp file renamed into place. One
 * placer per link mode (place-link.ts, place-copy.ts); `auto` is a clone placer where the
 * filesystem can clone from the cache, else a copy placer.
 */
export abstract class Placer {
  /** the link mode the files got: auto's choice, or copy where a link could not be made */
  abstract used: LinkMode;
  /**
   * whether files are byte copies of their blobs: then a blob being fetched is best written
   * straight into its first file
   */
  abstract readonly copies: boolean;

  constructor(protected readonly ctx: PlaceContext) {}

  /**
   * The fast path (a warm run is mostly this): places every file it can straight from its cached
   * blob by synchronous calls. Returns the files left for `place`: a blob missing or damaged,
   * something in the way.
   */
  abstract placeCached(files: readonly FileEntry[], placed: (file: FileEntry) => void): Promise<FileEntry[]>;

  /** Places one file from its cached blob, or from its content just fetched; says what is in the way. */
  abstract place(file: FileEntry, fetched?: Fetched): Promise<void>;

  protected modeOf(file: FileEntry): number {
    return placedMode(file.mode, this.ctx.plan.link);
  }

  protected destinationOf(file: FileEntry): string {
    this.ctx.dirs.parentsOf(file.path);
    return `${this.ctx.root}/${file.path}`;
  }

  /** Writes a file from its fetched content: bytes in hand by synchronous calls on local disks. */
  protected placeFetched(file: FileEntry, fetched: Fetched): Promise<void> {
    const destination = this.destinationOf(file);
    if ('write' in fetched) {
      return this.throughTemp(file, destination, async (temp) => {
        await fetched.write(temp);
        return false;
      });
    }
    const mode = this.modeOf(file);
    const placement = { destination, temp: tempBeside(destination), mode, mtimeMs: file.mtimeMs };
    // false: something in the way, which the asynchronous path below reports
    if (this.ctx.local && writePlacedSync(placement, fetched)) return Promise.resolve();
    return this.throughTemp(file, destination, async (temp) => {
      await writeFile(temp, fetched.bytes, { mode });
      return createdWithMode(mode);
    });
  }

  /**
   * The fast path of byte copies (or, with `clone`, clones) on local disks, on several threads
   * when there are many files: a verified copy of each cached blob.
   */
  protected async placeOnThreads(
    files: readonly FileEntry[],
    placed: (file: FileEntry) => void,
    clone: boolean,
  ): Promise<FileEntry[]> {
    const rest: FileEntry[] = [];
    for (let at = 0; at < files.length; at += PLACE_BATCH) {
      rest.push(...(await this.placeBatch(files.slice(at, at + PLACE_BATCH), placed, clone)));
    }
    return rest;
  }

  private async placeBatch(
    files: readonly FileEntry[],
    placed: (file: FileEntry) => void,
    clone: boolean,
  ): Promise<FileEntry[]> {
    const rest: FileEntry[] = [];
    const jobs: PlaceJob[] = [];
    const jobFiles: FileEntry[] = [];
    for (const file of files) {
      if (file.size > SYNC_PLACE_LIMIT) {
        rest.push(file);
        continue;
      }
      const destination = this.destinationOf(file);
      const packed = clone ? undefined : this.ctx.inCachedPack(file.sha256);
      jobs.push({
        sha256: file.sha256,
        size: file.size,
        destination,
        mode: this.modeOf(file),
        mtimeMs: file.mtimeMs,
        ...(packed && { packId: packed.packId, offset: packed.offset }),
      });
      jobFiles.push(file);
    }
    this.ctx.plan.signal?.throwIfAborted();
    const status = await placeInParallel(this.ctx.plan.cache, jobs, clone);
    for (const [i, file] of jobFiles.entries()) {
      if (status[i] === PLACED) placed(file);
      else rest.push(file);
    }
    return rest;
  }

  /** `write` fills the temp file and says whether it set the file's mode; then mode, mtime, rename. */
  protected async throughTemp(
    file: FileEntry,
    destination: string,
    write: (temp: string) => Promise<boolean>,
  ): Promise<void> {
    const temp = tempBeside(destination);
    let renamed = false;
    try {
      if (!(await write(temp))) await chmod(temp, this.modeOf(file));
      await setMtimeMs(temp, file.mtimeMs);
      faultPoint('target:before-rename');
      await rename(temp, destination).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'EISDIR' || error.code === 'ENOTEMPTY' || error.code === 'EEXIST') {
          throw new UsageError(`cannot write ${destination}: a directory is in the way`, 'EPATH');
        }
        throw error;
      });
      renamed = true;
    } catch (error) {
      throw failedAt(error, dirname(destination));
    } finally {
      if (!renamed) await unlink(temp).catch(() => undefined);
    }
  }
}
