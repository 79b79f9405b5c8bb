// Packed blobs in the cache: one file per pack, holding the blobs a get fetched from it at their
// offsets in the pack (the rest are holes). A cold get of many small blobs then makes one file
// per pack in the cache instead of one per blob, which on ext4 halves the files it creates
// (docs/cache.md, "Packed blobs").
import { closeSync, constants, existsSync, fchmodSync, openSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { failedAt } from '../core/errors.js';
import { sha256Hex } from '../core/hash.js';
import type { PackedAt } from '../transfer/read-blob.js';
import { createdWithMode } from '../transfer/write-sync.js';
import type { CacheStore } from './store.js';

/** Where a blob is in a pack: the pack's id (its sha256) and the blob's offset in it. */
export interface InPack {
  packId: string;
  offset: number;
}

/** A blob the cache's file of its pack may hold, at `offset`. */
export interface PackedBlob {
  sha256: string;
  size: number;
  packId: string;
  offset: number;
}

/**
 * Where a batch's blobs are packed in the provider, and which of those packs the cache has a file
 * of. A pack file an earlier batch of this get created (`writer`) holds only that batch's blobs: it
 * is not looked in, or a cold get would try every file of a batch from the cache first (a blob an
 * earlier batch also had is fetched again).
 */
export class BatchPacks {
  private readonly inPack = new Map<string, PackedAt>();
  private readonly cached = new Set<string>();
  /** the packs that hold the batch's packed blobs */
  readonly ids = new Set<string>();

  constructor(
    private readonly cache: CacheStore,
    blobs: Iterable<string>,
    locate: ((sha256: string) => PackedAt | undefined) | undefined,
    writer: PackWriter,
  ) {
    for (const sha of locate ? blobs : []) {
      const at = locate!(sha);
      if (!at) continue;
      this.inPack.set(sha, at);
      this.ids.add(at.packId);
    }
    for (const id of this.ids) if (!writer.created.has(id) && existsSync(cache.packPath(id))) this.cached.add(id);
  }

  /** Where the provider packs a blob, if it does. */
  at(sha256: string): PackedAt | undefined {
    return this.inPack.get(sha256);
  }

  /** Where the cache's file of its pack may hold a blob. */
  cachedAt(sha256: string): PackedAt | undefined {
    const at = this.inPack.get(sha256);
    return at && this.cached.has(at.packId) ? at : undefined;
  }

  get anyCached(): boolean {
    return this.cached.size > 0;
  }

  /** A blob fetched into its pack's file of the cache just now (PackWriter). */
  written(sha256: string, at: PackedAt): void {
    this.inPack.set(sha256, at);
    this.cached.add(at.packId);
  }

  /** The blob's bytes from the cache's file of its pack, if there and intact. */
  read(sha256: string, size: number): Promise<Buffer | undefined> {
    const at = this.cachedAt(sha256);
    return at ? readPacked(this.cache.packPath(at.packId), at.offset, sha256, size) : Promise.resolve(undefined);
  }

  /** Of `blobs` (sha256 → size), those the cache's pack files may hold and that have no blob file. */
  withoutBlobFile(blobs: ReadonlyMap<string, number>): PackedBlob[] {
    return [...blobs].flatMap(([sha256, size]) => {
      const at = this.cachedAt(sha256);
      return at && this.cache.sizeOfSync(sha256) !== size
        ? [{ sha256, size, packId: at.packId, offset: at.offset }]
        : [];
    });
  }
}

/** Written into by every user of a shared cache (each writes only verified bytes). */
const PACK_FILE_MODE = 0o664;
/** A get keeps at most this many pack files open for writing; more are closed oldest first. */
const OPEN_PACKS = 32;

/** A packed blob's bytes from the cache's file of its pack, if they are there and match (readVerifiedBlobSync). */
export async function readPacked(
  path: string,
  offset: number,
  sha256: string,
  size: number,
): Promise<Buffer | undefined> {
  const file = await open(path, 'r').catch(() => undefined);
  if (!file) return undefined;
  try {
    const bytes = Buffer.allocUnsafe(size);
    let length = 0;
    for (let n = 1; n > 0 && length < size; length += n)
      ({ bytesRead: n } = await file.read(bytes, length, size - length, offset + length));
    return length === size && sha256Hex(bytes) === sha256 ? bytes : undefined;
  } finally {
    await file.close();
  }
}

/**
 * Writes fetched blobs into the cache's pack files, each at its offset, by synchronous calls (a
 * cache on a local disk). No temp file and rename: a reader checks every blob it reads against
 * its sha256, so a torn write or a hole is a miss, and two processes write the same bytes.
 */
export class PackWriter {
  private readonly open = new Map<string, number>();
  /** pack files this writer created */
  readonly created = new Set<string>();

  constructor(private readonly cache: CacheStore) {}

  /**
   * Stores a verified blob; false when its pack file cannot be written (another user's): store it
   * loose. Synchronous throughout, so no other write can close the descriptor in between.
   */
  write(at: InPack, bytes: Buffer): boolean {
    const fd = this.open.get(at.packId) ?? this.openPack(at.packId);
    if (fd === undefined) return false;
    try {
      for (let done = 0; done < bytes.length;)
        done += writeSync(fd, bytes, done, bytes.length - done, at.offset + done);
    } catch (error) {
      throw failedAt(error, this.cache.packPath(at.packId)); // a full disk names the cache
    }
    return true;
  }

  close(): void {
    for (const fd of this.open.values()) closeSync(fd);
    this.open.clear();
  }

  private openPack(packId: string): number | undefined {
    const path = this.cache.packPath(packId);
    this.cache.ensureDirSync(this.cache.packShard(packId));
    let fd: number;
    try {
      fd = createOrOpen(path, () => this.created.add(packId));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM') return undefined;
      throw error;
    }
    if (this.open.size >= OPEN_PACKS) {
      const [oldest, oldestFd] = this.open.entries().next().value!;
      closeSync(oldestFd);
      this.open.delete(oldest);
    }
    this.open.set(packId, fd);
    return fd;
  }
}

/** A pack file made by this process (with the shared mode) or, when there, opened for writing. */
function createOrOpen(path: string, created: () => void): number {
  try {
    const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, PACK_FILE_MODE);
    created();
    if (!createdWithMode(PACK_FILE_MODE)) fchmodSync(fd, PACK_FILE_MODE);
    return fd;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return openSync(path, constants.O_WRONLY);
  }
}

/**
 * Checks the blobs a pack file may hold (the pack's table): each present one against its sha256.
 * A damaged one is overwritten with zeros, a miss for every later read; a range of zeros is one
 * never written, and not counted.
 */
export async function verifyPackFile(
  path: string,
  entries: readonly { sha256: string; offset: number; size: number }[],
): Promise<{ checked: number; dropped: string[] }> {
  const result = { checked: 0, dropped: [] as string[] };
  const file = await open(path, 'r+').catch(() => undefined);
  if (!file) return result;
  try {
    for (const e of entries) {
      const bytes = Buffer.alloc(e.size);
      const { bytesRead } = await file.read(bytes, 0, e.size, e.offset);
      if (bytesRead === e.size && sha256Hex(bytes) === e.sha256) result.checked++;
      else if (bytes.some((b) => b !== 0)) {
        await file.write(Buffer.alloc(e.size), 0, e.size, e.offset);
        result.checked++;
        result.dropped.push(e.sha256);
      }
    }
  } finally {
    await file.close();
  }
  return result;
}
