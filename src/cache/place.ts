import { constants, statSync } from 'node:fs';
import { chmod, copyFile, link, lstat, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { FileEntry, LinkMode } from '../core/model.js';
import { failedAt, IntegrityError, UsageError } from '../core/errors.js';
import { faultPoint } from '../core/faults.js';
import { setMtimeMs } from '../core/mtime.js';
import { SafeDirs } from '../core/safe-dirs.js';
import { TARGET_TEMP_PREFIX, tempBeside, tempName } from '../core/temp-name.js';
import { hashFile } from '../core/hash.js';
import { BLOB_MODE, type CacheStore } from './store.js';
import { createdWithMode, onLocalDisks, writePlacedSync } from '../transfer/write-sync.js';
import { linkFileSync, PLACED, type PlaceJob } from './place-file.js';
import { placeInParallel } from './place-parallel.js';

/**
 * The mode a file placed from the cache gets: its manifest mode; for the read-only consumers of
 * hardlink, without the write bits (an executable is 0555), as the blob it may be a link of is.
 */
export function placedMode(manifestMode: number, link: LinkMode): number {
  const mode = manifestMode & 0o7777;
  return link === 'hardlink' ? mode & ~0o222 : mode;
}

/** Larger files are copied with copyFile and hashed separately instead of read whole. */
const READ_WHOLE_LIMIT = 64 * 1024 * 1024;
/** Cached files up to this size are placed by the synchronous fast path on local disks. */
const SYNC_PLACE_LIMIT = 8 * 1024 * 1024;

export interface PlaceOptions {
  cache: CacheStore;
  files: readonly FileEntry[];
  target: string;
  link: LinkMode;
  /** where storage itself keeps a blob on this machine (the local provider): see CacheStore.linkFrom */
  storedFile?: (sha256: string) => string;
  signal?: AbortSignal;
}

/** Puts files into the target directory, each through a temp file renamed into place. */
export class Placer {
  private readonly dirs: SafeDirs;
  /** the target, absolute: manifest paths are checked, so `${root}/${path}` is the destination */
  private readonly root: string;
  private reflinkWorks: boolean;
  /** false once a link failed because the cache and the target are on different filesystems */
  private linksWork = true;
  /** whether files are byte copies (known once a reflink was tried) */
  private copying?: Promise<boolean>;
  used: LinkMode;

  constructor(
    private readonly plan: PlaceOptions,
    /** fetches a blob into the cache again (evicted, or found damaged) */
    private readonly refill: (sha: string) => Promise<void>,
    /** blobs fetched and verified by this run: copied without hashing them again */
    private readonly fresh: ReadonlySet<string>,
  ) {
    this.dirs = new SafeDirs(plan.target);
    this.root = resolve(plan.target);
    // hardlink clones what it cannot link (a file whose mode is not the blob's), where it can
    this.reflinkWorks = plan.link !== 'copy';
    this.used = plan.link;
  }

  private modeOf(file: FileEntry): number {
    return placedMode(file.mode, this.plan.link);
  }

  /**
   * Whether a file may be the cache's inode: only when that inode's mode (0444, one per content)
   * is the file's own. An executable, or a file of any other mode, is a clone or a copy with its
   * mode: two files of the same bytes and different modes cannot share one inode.
   */
  private linkable(file: FileEntry): boolean {
    return this.modeOf(file) === BLOB_MODE && !this.storedHere(file.sha256);
  }

  /**
   * Whether the cached blob is storage's own file (CacheStore.linkFrom): never handed out as a
   * link, so that no file a user can write (root ignores modes) is the only stored copy.
   */
  private storedHere(sha256: string): boolean {
    if (!this.plan.storedFile) return false;
    const cached = statSync(this.plan.cache.blobPath(sha256), { throwIfNoEntry: false });
    if (!cached || cached.nlink < 2) return false;
    try {
      const stored = statSync(this.plan.storedFile(sha256), { throwIfNoEntry: false });
      return stored !== undefined && cached.ino === stored.ino && cached.dev === stored.dev;
    } catch {
      return true; // storage out of reach (another user's directory): it may be, so never a link
    }
  }

  /**
   * The read-only fast path: links every file it can to its cached blob, synchronously (a warm
   * hardlink run is mostly this loop). Returns the files that need the general path: a blob
   * missing or of the wrong size, something in the way, another user's blob the kernel will not
   * let us link.
   */
  linkCached(files: readonly FileEntry[], placed: (file: FileEntry) => void): FileEntry[] {
    const rest: FileEntry[] = [];
    for (const file of files) {
      this.plan.signal?.throwIfAborted();
      const blob = this.plan.cache.blobPath(file.sha256);
      if (this.linkable(file) && linkFileSync(blob, file.size, this.destinationOf(file))) placed(file);
      else rest.push(file);
    }
    return rest;
  }

  /**
   * Whether files end up as byte copies of the cache's (copy, or auto where the filesystem
   * cannot clone): then a blob being fetched is best written into its first file as it arrives.
   * Auto finds out once, by cloning a one-byte file from the cache's filesystem to the target's.
   */
  copies(): Promise<boolean> {
    if (this.plan.link === 'copy') return Promise.resolve(true);
    if (this.plan.link !== 'auto') return Promise.resolve(false);
    this.copying ??= (async () => {
      this.dirs.parentsOf('probe');
      const probe = join(this.plan.cache.dir, tempName('.probe-'));
      const clone = join(this.plan.target, tempName(TARGET_TEMP_PREFIX));
      try {
        await writeFile(probe, 'x');
        await copyFile(probe, clone, constants.COPYFILE_FICLONE_FORCE);
        return false;
      } catch {
        this.reflinkWorks = false;
        return true;
      } finally {
        await Promise.all([unlink(probe).catch(() => undefined), unlink(clone).catch(() => undefined)]);
      }
    })();
    return this.copying;
  }

  /** Whether the cache and the target (or where it will be made) are both on local disks. */
  onLocalDisks(): boolean {
    return onLocalDisks([this.plan.cache.dir, this.root]);
  }

  /**
   * The warm fast path on local disks: each file a verified copy (or, with `clone`, a clone) of
   * its cached blob, made by synchronous calls, on several threads when there are many. Returns
   * the files that need the general path: large ones, a blob evicted or found damaged meanwhile
   * (which that path drops and fetches again), something in the way (which it reports).
   */
  async placeCached(
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
      jobs.push({
        blob: this.plan.cache.blobPath(file.sha256),
        sha256: file.sha256,
        size: file.size,
        temp: tempBeside(destination),
        destination,
        mode: file.mode & 0o7777,
        mtimeMs: file.mtimeMs,
      });
      jobFiles.push(file);
    }
    this.plan.signal?.throwIfAborted();
    const status = await placeInParallel(jobs, clone);
    for (const [i, file] of jobFiles.entries()) {
      if (status[i] !== PLACED) {
        rest.push(file);
        continue;
      }
      if (this.used === 'auto') this.used = clone ? 'reflink' : 'copy';
      placed(file);
    }
    return rest;
  }

  /** Places one file from the cache; `bytes`, when given, are its verified content, just fetched. */
  async place(file: FileEntry, bytes?: Buffer): Promise<void> {
    const destination = this.destinationOf(file);
    if (this.plan.link === 'hardlink' && this.linksWork && this.modeOf(file) === BLOB_MODE) {
      if (!this.storedHere(file.sha256)) {
        const existing = await lstat(destination).catch(() => undefined);
        if (existing?.isDirectory())
          throw new UsageError(`cannot write ${destination}: a directory is in the way`, 'EPATH');
        if (await this.hardlink(file, destination, existing !== undefined)) return;
      }
      // A blob another user filled cannot be linked where protected_hardlinks is on (Debian's
      // default), nor any blob where the cache is on another filesystem, and storage's own file
      // is never handed out: such a file gets a verified copy instead, and the result says so.
      this.used = 'copy';
    }
    const mode = this.modeOf(file);
    if (bytes) {
      if (this.used === 'auto') this.used = 'copy';
      return this.throughTemp(file, destination, async (temp) => {
        await writeFile(temp, bytes, { mode });
        return createdWithMode(mode);
      });
    }
    return this.throughTemp(file, destination, async (temp) => {
      if (!(this.reflinkWorks && (await this.reflink(file, temp)))) await this.copy(file, temp);
      return false;
    });
  }

  /**
   * Places a file from its verified content by synchronous calls (on local disks a promise per
   * call costs more than the call), where it is to be a byte copy. false when it is not, or when
   * something is in the way: then `place` does it and says what.
   */
  placeBytesSync(file: FileEntry, bytes: Buffer): boolean {
    if (!(this.plan.link === 'copy' || (this.plan.link === 'auto' && !this.reflinkWorks))) return false;
    const destination = this.destinationOf(file);
    const job = { destination, temp: tempBeside(destination), mode: this.modeOf(file), mtimeMs: file.mtimeMs };
    if (!writePlacedSync(job, { bytes })) return false;
    if (this.used === 'auto') this.used = 'copy';
    return true;
  }

  /** Places one file whose content `write` puts into the temp file it is given (a fetch, as it arrives). */
  placeFetched(file: FileEntry, write: (temp: string) => Promise<void>): Promise<void> {
    if (this.used === 'auto') this.used = 'copy';
    return this.throughTemp(file, this.destinationOf(file), async (temp) => {
      await write(temp);
      return false;
    });
  }

  private destinationOf(file: FileEntry): string {
    this.dirs.parentsOf(file.path);
    return `${this.root}/${file.path}`;
  }

  /** `write` fills the temp file and says whether it set the file's mode; then mode, mtime, rename. */
  private async throughTemp(
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

  /**
   * true when linked; false when the kernel refuses to link another user's file (EPERM) or
   * across filesystems (EXDEV: then no later file tries).
   */
  private async hardlink(file: FileEntry, destination: string, replace: boolean): Promise<boolean> {
    if (replace) await unlink(destination);
    const blob = this.plan.cache.blobPath(file.sha256);
    const linked = async (): Promise<boolean> =>
      link(blob, destination).then(
        () => true,
        (error: NodeJS.ErrnoException) => {
          if (error.code === 'EXDEV') this.linksWork = false;
          if (error.code === 'EPERM' || error.code === 'EXDEV') return false;
          throw error;
        },
      );
    try {
      return await linked();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      await this.refill(file.sha256); // evicted between our check and now
      return linked();
    }
  }

  /** true when cloned; false when this filesystem cannot clone (auto then copies). */
  private async reflink(file: FileEntry, temp: string): Promise<boolean> {
    try {
      await copyFile(this.plan.cache.blobPath(file.sha256), temp, constants.COPYFILE_FICLONE_FORCE);
      if (this.used === 'auto') this.used = 'reflink';
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        await this.refill(file.sha256);
        return this.reflink(file, temp);
      }
      if (this.plan.link === 'reflink') {
        throw new UsageError(
          `the filesystem of ${this.plan.target} cannot reflink from the cache (${code}); use --link auto or copy`,
          'ENOREFLINK',
        );
      }
      this.reflinkWorks = false;
      return false;
    }
  }

  /** A verified copy: a cached blob that no longer matches its sha256 is dropped and fetched again. */
  private async copy(file: FileEntry, temp: string): Promise<void> {
    if (this.used === 'auto') this.used = 'copy';
    const cache = this.plan.cache;
    if (this.fresh.has(file.sha256)) {
      // verified on its way into the cache moments ago: a kernel copy, no second hash
      await copyFile(cache.blobPath(file.sha256), temp);
      return;
    }
    if (file.size <= READ_WHOLE_LIMIT) {
      let bytes = await cache.readVerified(file.sha256, file.size);
      if (!bytes) {
        await this.refill(file.sha256);
        bytes = await cache.readVerified(file.sha256, file.size);
        if (!bytes) throw new IntegrityError(`blob ${file.sha256} for ${file.path} failed verification twice`);
      }
      await writeFile(temp, bytes, { mode: 0o600 });
      return;
    }
    for (let attempt = 0; ; attempt++) {
      await copyFile(cache.blobPath(file.sha256), temp).catch(async (error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
        await this.refill(file.sha256);
        await copyFile(cache.blobPath(file.sha256), temp);
      });
      const copied = await hashFile(temp);
      if (copied.sha256 === file.sha256 && copied.size === file.size) return;
      if (attempt > 0) throw new IntegrityError(`blob ${file.sha256} for ${file.path} failed verification twice`);
      await cache.drop(file.sha256);
      await this.refill(file.sha256);
    }
  }
}
