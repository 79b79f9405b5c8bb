import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { FileEntry } from '../core/model.js';
import { IntegrityError, PreconditionFailedError } from '../core/errors.js';
import { faultPoint } from '../core/faults.js';
import type { StorageBackend } from '../storage/backend.js';
import { blobKey } from '../storage/keys.js';
import { hashFile, sha256Hex } from '../core/hash.js';
import { listBlobs } from './presence.js';
import { forEachLimited } from './concurrency.js';
import { stampOf, type SourceFile, type Sources } from './walk.js';
import type { ProgressSink } from '../core/progress.js';
import { Packer, type PackTuning, type StoredPack } from './packer.js';
import { chunks } from '../core/file-batches.js';
import { boundHeapGrowth, PUT_BOUND_FROM } from '../core/memory.js';

/** Files up to this size are read synchronously (they are most of a tree of small files). */
const SYNC_READ_LIMIT = 256 * 1024;
/** Files up to this size are read once into memory, hashed and sent from the buffer. */
export const IN_MEMORY_LIMIT = 8 * 1024 * 1024;
/** Stored files enter the version in batches this large (or at least every FLUSH_MS). */
const FLUSH_FILES = 500;
const FLUSH_MS = 250;
/** Files whose hash-cache entries are looked up in one query. */
const LOOKUP_BATCH = 200;
/** Above this many files a put lists the provider's blobs instead of asking about each. */
const LIST_THRESHOLD = 256;

/** A blob and its size, as the provider holds it. */
export interface BlobInfo {
  sha256: string;
  size: number;
}

/** A local file's sha256 and the stat stamp it had when hashed. */
export interface HashedFile {
  path: string;
  stamp: string;
  sha256: string;
}

/**
 * What a put needs of the catalog, for one version of one provider; a service implements it
 * (the engine knows no catalog). `record` is the put's one durable step: blobs now stored, hashes
 * learned and files entering the version, together.
 */
export interface PutCatalog {
  /** the provider is believed to hold this blob */
  hasBlob(sha256: string): boolean;
  /** how many blobs the provider is believed to hold */
  blobCount(): number;
  /** sha256 and stamp of files hashed before, where the provider holds that content (absolute paths) */
  storedHashes(paths: readonly string[]): Map<string, { stamp: string; sha256: string }>;
  /** files the version already holds (a put resuming after a crash) */
  versionFileCount(): number;
  learnBlobs(blobs: readonly BlobInfo[]): void;
  record(batch: { blobs: BlobInfo[]; packs: StoredPack[]; hashes: HashedFile[]; files: FileEntry[] }): void;
}

export interface PutPlan {
  catalog: PutCatalog;
  backend: StorageBackend;
  sources: Sources;
  concurrency: number;
  /** blobs smaller than this go into packs (docs/packs.md); undefined: every blob its own object */
  packBelow?: number;
  packTuning?: PackTuning;
  progress?: ProgressSink;
  signal?: AbortSignal;
}

export interface PutSummary {
  files: number;
  bytes: number;
  /** bytes of blobs this put stored (new content) */
  bytesUploaded: number;
  /** bytes the provider already held (the same content, under any path of any version) */
  bytesSkipped: number;
  seconds: number;
}

/**
 * Stores each source's content as a blob (only if the provider lacks it) and records the file in
 * the version as soon as its blob is safely stored, so an interrupted put resumes where it stopped.
 */
export async function putFiles(plan: PutPlan): Promise<PutSummary> {
  const started = performance.now();
  boundHeapGrowth(plan.sources.count, PUT_BOUND_FROM);
  const headFirst = await learnWhatProviderHolds(plan);
  const summary: PutSummary = { files: 0, bytes: 0, bytesUploaded: 0, bytesSkipped: 0, seconds: 0 };
  const pending: FileEntry[] = [];
  const stored: BlobInfo[] = [];
  const packs: StoredPack[] = [];
  const hashed: HashedFile[] = [];
  let lastFlush = Date.now();
  // Blobs stored by this run that the catalog does not list yet (it does after each flush).
  const knownInRun = new Set<string>();
  const flush = (): void => {
    if (pending.length === 0 && stored.length === 0 && packs.length === 0) return;
    plan.catalog.record({
      blobs: stored.splice(0),
      packs: packs.splice(0),
      hashes: hashed.splice(0),
      files: pending.splice(0),
    });
    knownInRun.clear();
    lastFlush = Date.now();
    faultPoint('put:after-batch');
  };
  const record = (entry: FileEntry, uploaded: boolean): void => {
    summary.files += 1;
    summary.bytes += entry.size;
    if (uploaded) summary.bytesUploaded += entry.size;
    else summary.bytesSkipped += entry.size;
    pending.push(entry);
    plan.progress?.advance(1, entry.size);
    if (pending.length >= FLUSH_FILES || Date.now() - lastFlush >= FLUSH_MS) flush();
  };

  // Files unchanged since they were last hashed, whose content the provider holds, need no I/O:
  // they are recorded as they come (most of a put of a tree that changed a little), without the
  // promise per file that the others cost.
  function* needingWork(): Generator<SourceFile> {
    for (const batch of chunks(plan.sources.files, LOOKUP_BATCH)) {
      plan.signal?.throwIfAborted();
      const stamped = batch.filter((source) => source.stamp !== undefined).map((source) => source.absPath);
      const known = plan.catalog.storedHashes(stamped);
      for (const source of batch) {
        const hashed = known.get(source.absPath);
        if (hashed && hashed.stamp === source.stamp) record(toEntry(source, hashed.sha256, source.size), false);
        else yield source;
      }
    }
  }
  // Files whose content goes into a pack enter the version once the pack is stored.
  const packer =
    plan.packBelow === undefined
      ? undefined
      : new Packer<() => void>(
          plan.backend,
          (pack, waiters) => {
            packs.push(pack);
            for (const e of pack.entries) knownInRun.add(e.sha256);
            for (const then of waiters) then();
          },
          plan.packTuning,
          plan.signal,
        );
  const storeOne = async (source: SourceFile): Promise<void> => {
    plan.signal?.throwIfAborted();
    // Into a pack, at once: `bytes` may be the reused read buffer (readSmall), which the next
    // read overwrites, and the return of an async function is already an await.
    const pack: PackInto | undefined = packer && {
      ready: () => packer.ready(),
      add: (entry, bytes) => {
        if (!packer.join(entry.sha256, () => record(entry, false)))
          packer.add(entry.sha256, bytes, () => record(entry, true));
      },
    };
    const result = await storeFile(plan, source, knownInRun, headFirst, pack);
    const { entry } = result;
    if (source.stamp) hashed.push({ path: source.absPath, stamp: source.stamp, sha256: entry.sha256 });
    if ('packed' in result) return;
    if (!result.catalogKnew) {
      knownInRun.add(entry.sha256);
      stored.push({ sha256: entry.sha256, size: entry.size });
    }
    record(entry, result.uploaded);
  };
  try {
    await forEachLimited(needingWork(), plan.concurrency, storeOne);
    await packer?.finish();
  } finally {
    await packer?.settle();
    flush();
  }
  summary.seconds = (performance.now() - started) / 1000;
  return summary;
}

/**
 * Makes the catalog's knowledge of the provider's blobs complete enough that no stored blob is
 * sent again: when it may be missing much (a first put to this provider, or a put resuming into
 * a version that already holds files after a crash), one listing of the blob store (a request
 * per thousand blobs) beats a request per file. Small puts instead ask with a HEAD per unknown
 * blob; the answer is whether to do that.
 */
async function learnWhatProviderHolds(plan: PutPlan): Promise<boolean> {
  const n = plan.sources.count;
  if (n <= LIST_THRESHOLD) return true;
  const resuming = plan.catalog.versionFileCount() > 0;
  if (resuming || plan.catalog.blobCount() < n / 2) {
    const listed = await listBlobs(plan.backend);
    plan.catalog.learnBlobs([...listed].map(([sha256, size]) => ({ sha256, size })));
  }
  return false;
}

interface Stored {
  entry: FileEntry;
  /** this put sent the content */
  uploaded: boolean;
  /** the catalog already listed the blob in this provider */
  catalogKnew: boolean;
}

/** With packs on: waits for room in the packer, and adds a blob to a pack (synchronously). */
interface PackInto {
  ready(): Promise<void>;
  add(entry: FileEntry, bytes: Buffer): void;
}

/** A small blob the provider lacks, handed to a pack: its file enters the version with the pack. */
interface Packed {
  entry: FileEntry;
  packed: true;
}

async function storeFile(
  plan: PutPlan,
  source: SourceFile,
  knownInRun: Set<string>,
  headFirst: boolean,
  pack: PackInto | undefined,
): Promise<Stored | Packed> {
  const inCatalog = (sha: string): boolean => plan.catalog.hasBlob(sha);
  const done = (entry: FileEntry, uploaded: boolean, catalogKnew = false): Stored => ({ entry, uploaded, catalogKnew });
  if (source.size <= IN_MEMORY_LIMIT) {
    // A small file for a pack is read into one reused buffer, hashed and copied into the pack
    // with no await in between (a buffer per file made ~250 MB of garbage at 100,000 files, and
    // the put's peak RSS with it); one read from here on waits for room in the packer first.
    const intoPack = pack !== undefined && !headFirst && source.size < plan.packBelow!;
    if (intoPack) await pack.ready();
    // A small file is read by synchronous calls: the promise of an asynchronous read (open,
    // fstat, read, close, each through the thread pool) cost more than the read, ~50 µs a file.
    const bytes =
      source.bytes ??
      (intoPack
        ? readSmall(source.absPath)
        : source.size > SYNC_READ_LIMIT
          ? await readFile(source.absPath)
          : readFileSync(source.absPath));
    const entry = toEntry(source, sha256Hex(bytes), bytes.length);
    if (knownInRun.has(entry.sha256)) return done(entry, false);
    if (inCatalog(entry.sha256)) return done(entry, false, true);
    if (headFirst && (await plan.backend.head(blobKey(entry.sha256)))?.size === entry.size) return done(entry, false);
    if (pack && bytes.length < plan.packBelow!) {
      pack.add(entry, bytes);
      return { entry, packed: true };
    }
    try {
      // (a file that grew past the pack limit since it was listed: out of the reused buffer first)
      await plan.backend.put(blobKey(entry.sha256), intoPack ? Buffer.from(bytes) : bytes, {
        ifNoneMatch: true,
        sha256: entry.sha256,
        signal: plan.signal,
      });
      return done(entry, true);
    } catch (error) {
      if (error instanceof PreconditionFailedError) return done(entry, false);
      throw error;
    }
  }
  // Large files are read twice: once to learn the key (content addressing), once to send. A file
  // that changes in between must not be stored under the old hash; its stat stamp (ctime moves
  // with every write) taken before the hash and after the upload says whether it did.
  const before = source.stamp ?? stampOf(await stat(source.absPath));
  const hashed = await hashFile(source.absPath);
  const entry = toEntry(source, hashed.sha256, hashed.size);
  if (knownInRun.has(entry.sha256)) return done(entry, false);
  if (inCatalog(entry.sha256)) return done(entry, false, true);
  if ((await plan.backend.head(blobKey(entry.sha256)))?.size === entry.size) return done(entry, false);
  await plan.backend.put(blobKey(entry.sha256), { file: source.absPath, size: entry.size }, { signal: plan.signal });
  if (stampOf(await stat(source.absPath)) !== before) {
    await plan.backend.delete([blobKey(entry.sha256)]);
    throw new IntegrityError(`${source.absPath} changed while it was being stored; put it again`, 'ECHANGED');
  }
  return done(entry, true);
}

/** The read buffer of readSmall: one for the process, grown as needed. */
let scratch = Buffer.allocUnsafeSlow(SYNC_READ_LIMIT);

/**
 * A small file's bytes in a buffer that the next call reuses: valid until then (until the caller's
 * next await). A file that grew since it was listed is read whole all the same.
 */
function readSmall(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    let length = 0;
    for (;;) {
      if (length === scratch.length) scratch = Buffer.concat([scratch, Buffer.allocUnsafeSlow(scratch.length)]);
      const n = readSync(fd, scratch, length, scratch.length - length, null);
      if (n === 0) return scratch.subarray(0, length);
      length += n;
    }
  } finally {
    closeSync(fd);
  }
}

function toEntry(source: SourceFile, sha256: string, size: number): FileEntry {
  return { path: source.path, size, sha256, mode: source.mode, mtimeMs: source.mtimeMs };
}
