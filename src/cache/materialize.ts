import { constants } from 'node:fs';
import { chmod, copyFile, link, lstat, rename, unlink, writeFile } from 'node:fs/promises';
import { setMtimeMs } from '../core/mtime.js';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { linkSync } from 'node:fs';
import { forEachLimited } from '../transfer/concurrency.js';
import type { FileEntry } from '../core/model.js';
import { IntegrityError, UsageError } from '../core/errors.js';
import { checkManifestPath } from '../core/paths-in-manifest.js';
import { SafeDirs } from '../core/safe-dirs.js';
import { hashFile, sha256Hex } from '../transfer/hash.js';
import type { ProgressSink } from '../transfer/progress.js';
import { Lease } from './lease.js';
import { createdWithMode, type CacheStore } from './store.js';

/**
 * How files get from the cache into a directory:
 * - auto: reflink where the filesystem can, else copy — safe for a user who edits the files;
 * - reflink: copy-on-write clone, or fail where the filesystem has none;
 * - hardlink: the cache's own read-only inode — only for consumers that cannot write (the job
 *   runner's read-only input mounts): editing it would change the cache;
 * - copy: a verified byte copy.
 * Never symlinks: eviction would leave them dangling.
 */
export type LinkMode = 'auto' | 'reflink' | 'hardlink' | 'copy';
export const LINK_MODES: readonly LinkMode[] = ['auto', 'reflink', 'hardlink', 'copy'];

export interface MaterializePlan {
  cache: CacheStore;
  files: readonly FileEntry[];
  target: string;
  link: LinkMode;
  /** opens a blob in the storage provider; called only for blobs the cache lacks */
  fetch: (sha256: string, size: number, signal?: AbortSignal) => Promise<Readable>;
  concurrency: number;
  progress?: ProgressSink;
  signal?: AbortSignal;
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

/** Larger files are copied with copyFile and hashed separately instead of read whole. */
const READ_WHOLE_LIMIT = 64 * 1024 * 1024;

export async function materialize(plan: MaterializePlan): Promise<MaterializeResult> {
  const started = performance.now();
  for (const file of plan.files) {
    const problem = checkManifestPath(file.path);
    if (problem)
      throw new IntegrityError(`refusing manifest path "${file.path}": ${problem}; nothing was written`, 'EUNSAFEPATH');
  }
  const blobs = new Map<string, number>();
  for (const f of plan.files) blobs.set(f.sha256, f.size);
  const lease = await Lease.take(plan.cache, blobs.keys());
  try {
    // Synchronous stats: on a warm run this loop is most of the work, and promises cost more
    // than the syscalls.
    const missing = [...blobs].filter(([sha, size]) => plan.cache.sizeOfSync(sha) !== size).map(([sha]) => sha);
    const pathOf = new Map(plan.files.map((f) => [f.sha256, f.path]));
    const fresh = new Set<string>();
    const fill = async (sha: string): Promise<Buffer | undefined> => {
      try {
        const size = blobs.get(sha)!;
        const bytes = await plan.cache.fill(sha, size, await plan.fetch(sha, size, plan.signal), plan.signal);
        fresh.add(sha);
        return bytes;
      } catch (error) {
        if (!(error instanceof IntegrityError)) throw error;
        throw new IntegrityError(`${pathOf.get(sha)}: ${error.message}`, error.code);
      }
    };
    const placer = new Placer(plan, (sha) => fill(sha).then(() => undefined), fresh);
    let bytes = 0;
    const placed = (file: FileEntry): void => {
      bytes += file.size;
      plan.progress?.advance(1, file.size);
    };
    if (plan.link === 'hardlink') {
      await forEachLimited(missing, plan.concurrency, async (sha) => void (await fill(sha)));
      await forEachLimited(placer.hardlinkAll(placed), plan.concurrency, async (file) => {
        await placer.place(file);
        placed(file);
      });
    } else {
      // Each missing blob is fetched once, by the first file that needs it, and that file is
      // written from the bytes in hand; the others copy it from the cache.
      const fetching = new Map<string, Promise<Buffer | undefined>>();
      const missingSet = new Set(missing);
      await forEachLimited(plan.files, plan.concurrency, async (file) => {
        plan.signal?.throwIfAborted();
        let inHand: Buffer | undefined;
        if (missingSet.has(file.sha256)) {
          const pending = fetching.get(file.sha256);
          if (pending) {
            await pending;
            if (!fresh.has(file.sha256)) return; // its fetch failed: that failure stops the run
          } else {
            const started = fill(file.sha256);
            // Later files of this blob wait on it; a failure is the first file's to report.
            const settled = started.then(
              () => undefined,
              () => undefined,
            );
            fetching.set(file.sha256, settled);
            inHand = await started;
          }
        }
        await placer.place(file, inHand);
        placed(file);
      });
    }
    await plan.cache.count({ hits: blobs.size - missing.length, misses: missing.length });
    return {
      files: plan.files.length,
      bytes,
      hits: blobs.size - missing.length,
      misses: missing.length,
      link: placer.used,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await lease.release();
  }
}

class Placer {
  private readonly dirs: SafeDirs;
  private reflinkWorks: boolean;
  used: LinkMode;

  constructor(
    private readonly plan: MaterializePlan,
    private readonly refill: (sha: string) => Promise<void>,
    /** blobs fetched and verified by this run: copied without hashing them again */
    private readonly fresh: ReadonlySet<string>,
  ) {
    this.dirs = new SafeDirs(plan.target);
    this.reflinkWorks = plan.link === 'auto' || plan.link === 'reflink';
    this.used = plan.link;
  }

  /**
   * The read-only fast path: links every file it can synchronously (a warm hardlink run is
   * mostly this loop) and returns the files that need the general path (an existing file in
   * the way, a blob evicted meanwhile, another user's blob the kernel will not let us link).
   */
  hardlinkAll(placed: (file: FileEntry) => void): FileEntry[] {
    const rest: FileEntry[] = [];
    for (const file of this.plan.files) {
      this.plan.signal?.throwIfAborted();
      this.dirs.parentsOf(file.path);
      try {
        linkSync(this.plan.cache.blobPath(file.sha256), join(this.plan.target, ...file.path.split('/')));
        placed(file);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'EEXIST' && code !== 'ENOENT' && code !== 'EPERM') throw error;
        rest.push(file);
      }
    }
    return rest;
  }

  /** Places one file; `bytes`, when given, are its verified content, just fetched. */
  async place(file: FileEntry, bytes?: Buffer): Promise<void> {
    this.dirs.parentsOf(file.path);
    const destination = join(this.plan.target, ...file.path.split('/'));
    if (this.plan.link === 'hardlink') {
      const existing = await lstat(destination).catch(() => undefined);
      if (existing?.isDirectory())
        throw new UsageError(`cannot write ${destination}: a directory is in the way`, 'EPATH');
      if (await this.hardlink(file, destination, existing !== undefined)) return;
      // A blob another user filled cannot be linked where protected_hardlinks is on (Debian's
      // default): that file gets a verified copy instead, and the result says so.
      this.used = 'copy';
    }
    const temp = join(dirname(destination), `.strata-tmp-${randomBytes(6).toString('hex')}`);
    let renamed = false;
    try {
      const mode = file.mode & 0o7777;
      if (bytes) {
        if (this.used === 'auto') this.used = 'copy';
        await writeFile(temp, bytes, { mode });
        if (!createdWithMode(mode)) await chmod(temp, mode);
      } else {
        if (!(this.reflinkWorks && (await this.reflink(file, temp)))) await this.copy(file, temp);
        await chmod(temp, mode);
      }
      await setMtimeMs(temp, file.mtimeMs);
      await rename(temp, destination).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'EISDIR' || error.code === 'ENOTEMPTY' || error.code === 'EEXIST') {
          throw new UsageError(`cannot write ${destination}: a directory is in the way`, 'EPATH');
        }
        throw error;
      });
      renamed = true;
    } finally {
      if (!renamed) await unlink(temp).catch(() => undefined);
    }
  }

  /** true when linked; false when the kernel refuses to link another user's file (EPERM). */
  private async hardlink(file: FileEntry, destination: string, replace: boolean): Promise<boolean> {
    if (replace) await unlink(destination);
    const blob = this.plan.cache.blobPath(file.sha256);
    const linked = async (): Promise<boolean> =>
      link(blob, destination).then(
        () => true,
        (error: NodeJS.ErrnoException) => {
          if (error.code === 'EPERM') return false;
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
      this.used = 'reflink';
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
      let bytes = await cache.readVerified(file.sha256, file.size, sha256Hex);
      if (!bytes) {
        await this.refill(file.sha256);
        bytes = await cache.readVerified(file.sha256, file.size, sha256Hex);
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
