import { constants } from 'node:fs';
import { chmod, copyFile, link, lstat, rename, unlink, writeFile } from 'node:fs/promises';
import { setMtimeMs } from '../core/mtime.js';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import pLimit from 'p-limit';
import type { FileEntry } from '../core/model.js';
import { IntegrityError, UsageError } from '../core/errors.js';
import { checkManifestPath } from '../core/paths-in-manifest.js';
import { SafeDirs } from '../core/safe-dirs.js';
import { hashFile, sha256Hex } from '../transfer/hash.js';
import type { ProgressSink } from '../transfer/progress.js';
import { Lease } from './lease.js';
import type { CacheStore } from './store.js';

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
  fetch: (sha256: string, signal?: AbortSignal) => Promise<Readable>;
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
    const limit = pLimit(plan.concurrency);
    const missing: string[] = [];
    await Promise.all(
      [...blobs].map(([sha, size]) =>
        limit(async () => {
          if ((await plan.cache.sizeOf(sha)) !== size) missing.push(sha);
        }),
      ),
    );
    const pathOf = new Map(plan.files.map((f) => [f.sha256, f.path]));
    const fill = async (sha: string): Promise<void> => {
      try {
        await plan.cache.fill(sha, blobs.get(sha)!, await plan.fetch(sha, plan.signal), plan.signal);
      } catch (error) {
        if (!(error instanceof IntegrityError)) throw error;
        throw new IntegrityError(`${pathOf.get(sha)}: ${error.message}`, error.code);
      }
    };
    await Promise.all(missing.map((sha) => limit(() => fill(sha))));
    await plan.cache.count({ hits: blobs.size - missing.length, misses: missing.length });

    const placer = new Placer(plan, fill);
    let bytes = 0;
    await Promise.all(
      plan.files.map((file) =>
        limit(async () => {
          plan.signal?.throwIfAborted();
          await placer.place(file);
          bytes += file.size;
          plan.progress?.advance(1, file.size);
        }),
      ),
    );
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
  ) {
    this.dirs = new SafeDirs(plan.target);
    this.reflinkWorks = plan.link === 'auto' || plan.link === 'reflink';
    this.used = plan.link;
  }

  async place(file: FileEntry): Promise<void> {
    await this.dirs.parentsOf(file.path);
    const destination = join(this.plan.target, ...file.path.split('/'));
    const existing = await lstat(destination).catch(() => undefined);
    if (existing?.isDirectory())
      throw new UsageError(`cannot write ${destination}: a directory is in the way`, 'EPATH');
    if (this.plan.link === 'hardlink') {
      if (await this.hardlink(file, destination, existing !== undefined)) return;
      // A blob another user filled cannot be linked where protected_hardlinks is on (Debian's
      // default): that file gets a verified copy instead, and the result says so.
      this.used = 'copy';
    }
    const temp = join(dirname(destination), `.strata-tmp-${randomBytes(6).toString('hex')}`);
    try {
      if (!(this.reflinkWorks && (await this.reflink(file, temp)))) await this.copy(file, temp);
      await chmod(temp, file.mode & 0o7777);
      await setMtimeMs(temp, file.mtimeMs);
      await rename(temp, destination);
    } finally {
      await unlink(temp).catch(() => undefined);
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
