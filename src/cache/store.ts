import { chmodSync, closeSync, mkdirSync, openSync, readSync, renameSync, statSync, writeFileSync } from 'node:fs';
import {
  appendFile,
  chmod,
  link,
  mkdir,
  open,
  readFile,
  rename,
  stat,
  unlink,
  writeFile,
  type FileHandle,
} from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { ContentMismatch, failedAt } from '../core/errors.js';
import { faultPoint } from '../core/faults.js';
import { hashHandle, sha256Hex } from '../core/hash.js';
import { sweepAbandonedTemps, tempName } from '../core/temp-name.js';
import { createdWithMode } from '../transfer/write-sync.js';
import type { BlobSink } from '../transfer/read-blob.js';
import { rereadGarbled, readHashed, readIntoFile } from '../transfer/read-hashed.js';

const intact = (bytes: Buffer, sha256: string, size: number): boolean =>
  bytes.length === size && sha256Hex(bytes) === sha256;

/** The warm fast path's read buffer (one per thread: each has its own module), grown as needed. */
let readBuffer = Buffer.alloc(0);

/**
 * A cached blob's bytes (from its blob file, or at offset `at` of its pack file), read without a
 * promise (the warm fast path), if they are there and match their sha256 and size; undefined if
 * not (for a pack file: a hole, a torn write), for the general path to fetch it again. The
 * bytes are valid until the next call: they are read into one reused buffer, since fresh memory
 * for every file costs page faults and garbage collection.
 */
export function readVerifiedBlobSync(path: string, sha256: string, size: number, at?: number): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    // A blob file is read one byte past the manifest's size, to see one that is longer; a blob
    // in a pack file (packed.ts) at `at` is the range it has there.
    const want = at === undefined ? size + 1 : size;
    if (readBuffer.length < want) readBuffer = Buffer.allocUnsafeSlow(Math.max(want, 2 * readBuffer.length));
    let [length, n] = [0, 0];
    do {
      n = readSync(fd, readBuffer, length, want - length, (at ?? 0) + length);
      length += n;
    } while (n > 0 && length < want);
    const bytes = readBuffer.subarray(0, length);
    return intact(bytes, sha256, size) ? bytes : undefined;
  } finally {
    closeSync(fd);
  }
}

/** The directories mkdir -p made on the way to `path`: `created` (the first it made) and those below it. */
function* madeDirs(path: string, created: string | undefined): Generator<string> {
  for (let dir = path; created !== undefined && dir.startsWith(created); dir = dirname(dir)) {
    yield dir;
    if (dir === created) return;
  }
}

/** Directories the cache creates: group-writable and setgid, so a team sharing it shares its group. */
const DIR_MODE = 0o2775;
/** Blobs never change once there. */
export const BLOB_MODE = 0o444;

/** Blobs up to this size are received whole in memory (fewer syscalls); many are in flight at once. */
export const WHOLE_LIMIT = 1024 * 1024;
/**
 * Downloads in progress are named so beside their blob's final place (a rename within one
 * directory: no filesystem-wide rename lock, no single directory every download contends for).
 */
export const TEMP_PREFIX = '.tmp-';
/** The hit and miss counters: every user of a shared cache appends to them. */
const STATS_MODE = 0o664;

export interface CacheStats {
  hits: number;
  misses: number;
}

/**
 * A content-addressed cache directory shared by every dataset and every user of a machine or a
 * shared filesystem: blobs/sha256/<2 hex>/<hex>, filled by download → verify → rename (link), so
 * no reader ever sees a torn file, and read-only once there.
 */
export class CacheStore {
  private readonly made = new Set<string>();
  private readonly swept = new Set<string>();
  readonly tag = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;

  private readonly blobs: string;
  private readonly packs: string;

  constructor(readonly dir: string) {
    this.blobs = join(dir, 'blobs', 'sha256');
    this.packs = join(dir, 'packs', 'sha256');
  }

  blobPath(sha256: string): string {
    return `${this.blobs}/${sha256.slice(0, 2)}/${sha256}`;
  }

  /** The cache's file of a pack: the blobs fetched from it, at their offsets (packed.ts). */
  packPath(packId: string): string {
    return `${this.packShard(packId)}/${packId}`;
  }

  packShard(packId: string): string {
    return `${this.packs}/${packId.slice(0, 2)}`;
  }

  /** Makes a directory of the cache (and its parents), group-writable and setgid. */
  async ensureDir(path: string): Promise<void> {
    if (this.made.has(path)) return;
    const created = await mkdir(path, { recursive: true, mode: DIR_MODE });
    // mkdir's mode passes through the umask; a shared cache needs the bits as they are.
    for (const dir of madeDirs(path, created)) await chmod(dir, DIR_MODE).catch(() => undefined);
    this.made.add(path);
  }

  /** ensureDir by synchronous calls. */
  ensureDirSync(path: string): void {
    if (this.made.has(path)) return;
    const created = mkdirSync(path, { recursive: true, mode: DIR_MODE });
    for (const dir of madeDirs(path, created)) {
      try {
        chmodSync(dir, DIR_MODE);
      } catch {
        // another user's directory, made meanwhile: its bits are its maker's to set
      }
    }
    this.made.add(path);
  }

  /** The size of a cached blob, or undefined when it is not (fully) there. */
  async sizeOf(sha256: string): Promise<number | undefined> {
    try {
      return (await stat(this.blobPath(sha256))).size;
    } catch {
      return undefined;
    }
  }

  sizeOfSync(sha256: string): number | undefined {
    return statSync(this.blobPath(sha256), { throwIfNoEntry: false })?.size;
  }

  /**
   * Stores a blob from a reader: into a temp file beside its place, checked against sha256 and
   * size, made read-only, then renamed into place, so no reader ever sees a torn file. Another
   * process filling the same blob at once is fine (the bytes are the same, verified), and so is a
   * damaged blob in the way (why this fill was asked for): the rename replaces it atomically.
   * Small blobs are taken whole and returned, so a caller can place them without reading back;
   * larger ones are written into `tee` too, as they arrive, when it is given (a new file, 0600):
   * the copy the caller reads next, so the cache's copy is written around the page cache where
   * it can be (UncachedFile).
   */
  async fill(
    sha256: string,
    size: number,
    read: (sink: BlobSink) => Promise<void>,
    /** a blob too large to return whole is also written here (a new file), verified by the same hash */
    tee?: string,
  ): Promise<Buffer | undefined> {
    const final = this.blobPath(sha256);
    await this.readyShard(final);
    const temp = join(dirname(final), tempName(TEMP_PREFIX));
    let placed = false;
    try {
      const whole = size <= WHOLE_LIMIT ? Buffer.allocUnsafe(size) : undefined;
      const bytes = await rereadGarbled(async () => {
        await Promise.all([unlink(temp).catch(() => undefined), tee && unlink(tee).catch(() => undefined)]);
        const { sha256: got, bytes: length } = whole
          ? await readHashed(read, size, async (chunk, at) => void chunk.copy(whole, at))
          : await (tee ? readIntoFile(read, tee, size, temp) : readIntoFile(read, temp, size));
        if (got !== sha256 || length !== size) {
          throw new ContentMismatch(
            `blob ${sha256} read from storage does not match its sha256 (got ${got}, ${length} of ${size} bytes); it was not cached`,
            `${got}:${length}`,
          );
        }
        return whole?.subarray(0, length);
      });
      if (bytes) await writeFile(temp, bytes, { mode: BLOB_MODE, flag: 'wx' });
      if (!bytes || !createdWithMode(BLOB_MODE)) await chmod(temp, BLOB_MODE);
      faultPoint('cache:before-rename');
      await rename(temp, final);
      placed = true;
      return bytes;
    } catch (error) {
      throw failedAt(error, dirname(final));
    } finally {
      if (!placed) await unlink(temp).catch(() => undefined);
    }
  }

  /**
   * Stores a blob from bytes already checked against its sha256 (a pack's range), as fill does,
   * through a temp file. `sync`: by synchronous calls, for a cache on a local disk, where a
   * promise per call costs more than the call.
   */
  async store(sha256: string, bytes: Buffer, sync: boolean): Promise<void> {
    const final = this.blobPath(sha256);
    await this.readyShard(final);
    const temp = join(dirname(final), tempName(TEMP_PREFIX));
    let placed = false;
    try {
      if (sync) {
        writeFileSync(temp, bytes, { mode: BLOB_MODE, flag: 'wx' });
        if (!createdWithMode(BLOB_MODE)) chmodSync(temp, BLOB_MODE);
      } else {
        await writeFile(temp, bytes, { mode: BLOB_MODE, flag: 'wx' });
        if (!createdWithMode(BLOB_MODE)) await chmod(temp, BLOB_MODE);
      }
      faultPoint('cache:before-rename');
      if (sync) renameSync(temp, final);
      else await rename(temp, final);
      placed = true;
    } catch (error) {
      throw failedAt(error, dirname(final));
    } finally {
      if (!placed) await unlink(temp).catch(() => undefined);
    }
  }

  /** Makes the directory of a blob's path, the first time also removing what a killed get left in it. */
  private async readyShard(blob: string): Promise<void> {
    const shard = dirname(blob);
    await this.ensureDir(shard);
    this.sweepOnce(shard);
  }

  /** readyShard by synchronous calls, for a shard directory. */
  readyShardSync(shard: string): void {
    this.ensureDirSync(shard);
    this.sweepOnce(shard);
  }

  private sweepOnce(shard: string): void {
    if (this.swept.has(shard)) return;
    this.swept.add(shard);
    sweepAbandonedTemps(shard, TEMP_PREFIX); // partial downloads or links of a get that was killed
  }

  /**
   * Caches a blob that storage keeps on this machine (the local provider) as a second name of
   * storage's own file instead of a copy, so one machine stores each blob once. The file is read
   * once, through the descriptor that is then checked to be the one linked, and must hold the
   * blob; it is made read-only, as cached blobs are. false when it cannot be (another
   * filesystem, another user's file, missing or wrong): the caller fills by copying, which says
   * what is wrong.
   */
  async linkFrom(sha256: string, size: number, storedFile: string): Promise<boolean> {
    const final = this.blobPath(sha256);
    const temp = join(dirname(final), tempName(TEMP_PREFIX));
    let file: FileHandle | undefined;
    try {
      file = await open(storedFile, 'r');
      const before = await file.stat();
      if (before.size !== size) return false;
      const got = size <= WHOLE_LIMIT ? sha256Hex(await file.readFile()) : (await hashHandle(file)).sha256;
      if (got !== sha256) return false;
      await this.readyShard(final);
      if ((before.mode & 0o777) !== BLOB_MODE) await file.chmod(BLOB_MODE);
      await link(storedFile, temp);
      if ((await stat(temp)).ino !== before.ino) return false; // replaced meanwhile: not what was read
      faultPoint('cache:before-rename');
      await rename(temp, final);
      return true;
    } catch {
      return false;
    } finally {
      await file?.close();
      await unlink(temp).catch(() => undefined);
    }
  }

  /** Reads a cached blob whole and checks it; a bad one is dropped and undefined returned. */
  async readVerified(sha256: string, size: number): Promise<Buffer | undefined> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.blobPath(sha256));
    } catch {
      return undefined;
    }
    if (intact(bytes, sha256, size)) return bytes;
    await this.drop(sha256);
    return undefined;
  }

  async drop(sha256: string): Promise<void> {
    await unlink(this.blobPath(sha256)).catch(() => undefined);
  }

  /**
   * Adds to the hit and miss counters (one appended line: safe with many writers). The file is
   * made group-writable as the cache's directories are (its creation mode passes through the
   * umask), so every user of a shared cache counts; chmod fails harmlessly for a non-owner.
   */
  async count(stats: CacheStats): Promise<void> {
    if (stats.hits === 0 && stats.misses === 0) return;
    const path = join(this.dir, 'stats.log');
    try {
      await appendFile(path, `${stats.hits} ${stats.misses}\n`, { mode: STATS_MODE });
      if (((await stat(path)).mode & 0o777) !== STATS_MODE) await chmod(path, STATS_MODE);
    } catch {
      // counters are best effort: a cache the user may read but not count in still serves
    }
  }

  async readCounts(): Promise<CacheStats> {
    const totals = { hits: 0, misses: 0 };
    const text = await readFile(join(this.dir, 'stats.log'), 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      const [h, m] = line.split(' ').map(Number);
      if (Number.isFinite(h) && Number.isFinite(m)) {
        totals.hits += h!;
        totals.misses += m!;
      }
    }
    return totals;
  }
}
