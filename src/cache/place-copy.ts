import { constants } from 'node:fs';
import { copyFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FileEntry, LinkMode } from '../core/model.js';
import { IntegrityError, UsageError } from '../core/errors.js';
import { hashFile } from '../core/hash.js';
import { TARGET_TEMP_PREFIX, tempName } from '../core/temp-name.js';
import { Placer, type Fetched, type PlaceContext } from './placer.js';

/** Larger files are copied with copyFile and hashed separately instead of read whole. */
const READ_WHOLE_LIMIT = 64 * 1024 * 1024;

/** `copy`: each file a byte copy of its blob, checked against its sha256 as it is copied. */
export class CopyPlacer extends Placer {
  used: LinkMode = 'copy';
  readonly copies: boolean = true;

  placeCached(files: readonly FileEntry[], placed: (file: FileEntry) => void): Promise<FileEntry[]> {
    // On a network filesystem every call waits on the network: there `place` runs them in parallel.
    if (!this.ctx.local) return Promise.resolve([...files]);
    return this.placeOnThreads(files, placed, false);
  }

  place(file: FileEntry, fetched?: Fetched): Promise<void> {
    if (fetched) return this.placeFetched(file, fetched);
    return this.throughTemp(file, this.destinationOf(file), async (temp) => {
      await this.copy(file, temp);
      return false;
    });
  }

  /** A verified copy: a cached blob that no longer matches its sha256 is dropped and fetched again. */
  protected async copy(file: FileEntry, temp: string): Promise<void> {
    const { plan, fresh, refill } = this.ctx;
    const cache = plan.cache;
    if (fresh.has(file.sha256)) {
      // verified on its way into the cache moments ago: a kernel copy, no second hash
      await copyFile(cache.blobPath(file.sha256), temp);
      return;
    }
    if (file.size <= READ_WHOLE_LIMIT) {
      let bytes = await cache.readVerified(file.sha256, file.size);
      if (!bytes) {
        await refill(file.sha256);
        bytes = await cache.readVerified(file.sha256, file.size);
        if (!bytes) throw new IntegrityError(`blob ${file.sha256} for ${file.path} failed verification twice`);
      }
      await writeFile(temp, bytes, { mode: 0o600 });
      return;
    }
    for (let attempt = 0; ; attempt++) {
      await copyFile(cache.blobPath(file.sha256), temp).catch(async (error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
        await refill(file.sha256);
        await copyFile(cache.blobPath(file.sha256), temp);
      });
      const copied = await hashFile(temp);
      if (copied.sha256 === file.sha256 && copied.size === file.size) return;
      if (attempt > 0) throw new IntegrityError(`blob ${file.sha256} for ${file.path} failed verification twice`);
      await cache.drop(file.sha256);
      await refill(file.sha256);
    }
  }
}

/**
 * `reflink`, and `auto` where the filesystem can clone: each file a clone of its blob (sharing
 * its disk blocks until either is written). A clone that fails is an error for `reflink`
 * (`strict`); otherwise this and every later file is a verified copy instead.
 */
export class ClonePlacer extends CopyPlacer {
  override used: LinkMode = 'reflink';
  override readonly copies = false;
  private clones = true;

  constructor(
    ctx: PlaceContext,
    private readonly strict: boolean,
  ) {
    super(ctx);
  }

  /**
   * Whether files can be clones of the cache's: a one-byte file of the cache's filesystem cloned
   * into the target (made here if it is not there yet).
   */
  static async works(ctx: PlaceContext): Promise<boolean> {
    ctx.dirs.parentsOf('probe');
    const probe = join(ctx.plan.cache.dir, tempName('.probe-'));
    const clone = join(ctx.root, tempName(TARGET_TEMP_PREFIX));
    try {
      await writeFile(probe, 'x');
      await copyFile(probe, clone, constants.COPYFILE_FICLONE_FORCE);
      return true;
    } catch {
      return false;
    } finally {
      await Promise.all([unlink(probe).catch(() => undefined), unlink(clone).catch(() => undefined)]);
    }
  }

  override placeCached(files: readonly FileEntry[], placed: (file: FileEntry) => void): Promise<FileEntry[]> {
    // reflink's failures are reported by `place`, which names the filesystem
    if (this.strict || !this.ctx.local) return Promise.resolve([...files]);
    return this.placeOnThreads(files, placed, true);
  }

  override place(file: FileEntry, fetched?: Fetched): Promise<void> {
    if (fetched || !this.clones) return super.place(file, fetched);
    return this.throughTemp(file, this.destinationOf(file), async (temp) => {
      if (!(await this.clone(file, temp))) await this.copy(file, temp);
      return false;
    });
  }

  /** true when cloned; false when this filesystem cannot clone (then files are copies). */
  private async clone(file: FileEntry, temp: string): Promise<boolean> {
    const { plan, refill } = this.ctx;
    try {
      await copyFile(plan.cache.blobPath(file.sha256), temp, constants.COPYFILE_FICLONE_FORCE);
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        await refill(file.sha256);
        return this.clone(file, temp);
      }
      if (this.strict) {
        throw new UsageError(
          `the filesystem of ${plan.target} cannot reflink from the cache (${code}); use --link auto or copy`,
          'ENOREFLINK',
        );
      }
      this.clones = false;
      this.used = 'copy';
      return false;
    }
  }
}
