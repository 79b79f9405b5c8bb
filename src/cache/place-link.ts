import { statSync } from 'node:fs';
import { link, lstat, unlink } from 'node:fs/promises';
import type { FileEntry, LinkMode } from '../core/model.js';
import { UsageError } from '../core/errors.js';
import { ClonePlacer } from './place-copy.js';
import { linkFileSync } from './place-sync.js';
import { Placer, type Fetched, type PlaceContext } from './placer.js';
import { BLOB_MODE } from './store.js';

/**
 * `hardlink` (behind a read-only mount): each file the cache's own inode where it can be. The
 * files it cannot link are clones where the filesystem can clone, else verified copies: an
 * executable or any file whose mode is not the blob's, another user's blob (the kernel refuses),
 * a cache on another filesystem, storage's own file.
 */
export class HardlinkPlacer extends Placer {
  used: LinkMode = 'hardlink';
  readonly copies = false;
  /** false once a link failed because the cache and the target are on different filesystems */
  private linksWork = true;
  private readonly others: ClonePlacer;

  constructor(ctx: PlaceContext) {
    super(ctx);
    this.others = new ClonePlacer(ctx, false);
  }

  /** One thread: a worker thread costs more to start than it saves on links. */
  placeCached(files: readonly FileEntry[], placed: (file: FileEntry) => void): Promise<FileEntry[]> {
    const rest: FileEntry[] = [];
    for (const file of files) {
      this.ctx.plan.signal?.throwIfAborted();
      const blob = this.ctx.plan.cache.blobPath(file.sha256);
      if (this.linkable(file) && linkFileSync(blob, file.size, this.destinationOf(file))) placed(file);
      else rest.push(file);
    }
    return Promise.resolve(rest);
  }

  async place(file: FileEntry, fetched?: Fetched): Promise<void> {
    if (this.linksWork && this.modeOf(file) === BLOB_MODE) {
      if (!this.storedHere(file.sha256)) {
        const destination = this.destinationOf(file);
        const existing = await lstat(destination).catch(() => undefined);
        if (existing?.isDirectory())
          throw new UsageError(`cannot write ${destination}: a directory is in the way`, 'EPATH');
        if (await this.link(file, destination, existing !== undefined)) return;
      }
      // A blob another user filled cannot be linked where protected_hardlinks is on (Debian's
      // default), nor any blob where the cache is on another filesystem, and storage's own file
      // is never handed out: such a file gets a verified copy instead, and the result says so.
      this.used = 'copy';
    }
    return this.others.place(file, fetched);
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
    const { plan } = this.ctx;
    if (!plan.storedFile) return false;
    const cached = statSync(plan.cache.blobPath(sha256), { throwIfNoEntry: false });
    if (!cached || cached.nlink < 2) return false;
    try {
      const stored = statSync(plan.storedFile(sha256), { throwIfNoEntry: false });
      return stored !== undefined && cached.ino === stored.ino && cached.dev === stored.dev;
    } catch {
      return true; // storage out of reach (another user's directory): it may be, so never a link
    }
  }

  /**
   * true when linked; false when the kernel refuses to link another user's file (EPERM) or
   * across filesystems (EXDEV: then no later file tries).
   */
  private async link(file: FileEntry, destination: string, replace: boolean): Promise<boolean> {
    if (replace) await unlink(destination);
    const blob = this.ctx.plan.cache.blobPath(file.sha256);
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
      await this.ctx.refill(file.sha256); // evicted between our check and now
      return linked();
    }
  }
}
