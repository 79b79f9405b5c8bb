import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { FileQueries } from '../catalog/files.js';
import type { FileEntry } from '../core/model.js';
import { IntegrityError, PreconditionFailedError } from '../core/errors.js';
import { faultPoint } from '../core/faults.js';
import type { StorageBackend } from '../storage/backend.js';
import { blobKey } from '../storage/keys.js';
import { HashingStream, hashFile, sha256Hex } from './hash.js';
import { listBlobs } from './presence.js';
import { forEachLimited } from './concurrency.js';
import type { SourceFile } from './walk.js';
import type { ProgressSink } from './progress.js';

/** Files up to this size are read once into memory, hashed and sent from the buffer. */
const IN_MEMORY_LIMIT = 8 * 1024 * 1024;
/** Stored files enter the version in batches this large (or at least every FLUSH_MS). */
const FLUSH_FILES = 500;
const FLUSH_MS = 250;
/** Above this many files a put lists the provider's blobs instead of asking about each. */
const LIST_THRESHOLD = 256;

export interface PutPlan {
  files: FileQueries;
  providerId: string;
  backend: StorageBackend;
  datasetId: string;
  versionId: string;
  sources: readonly SourceFile[];
  concurrency: number;
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
  const headFirst = await learnWhatProviderHolds(plan);
  const summary: PutSummary = { files: 0, bytes: 0, bytesUploaded: 0, bytesSkipped: 0, seconds: 0 };
  const pending: FileEntry[] = [];
  const stored: { sha256: string; size: number }[] = [];
  const hashed: { path: string; stamp: string; sha256: string }[] = [];
  let lastFlush = Date.now();
  const flush = (): void => {
    if (pending.length === 0 && stored.length === 0) return;
    plan.files.recordProviderBlobs(plan.providerId, stored.splice(0));
    plan.files.rememberHashes(hashed.splice(0));
    plan.files.upsert(plan.datasetId, plan.versionId, pending.splice(0));
    lastFlush = Date.now();
    faultPoint('put:after-batch');
  };

  const knownInRun = new Set<string>();
  const storeOne = async (source: SourceFile): Promise<void> => {
    plan.signal?.throwIfAborted();
    const { entry, uploaded } = await storeFile(plan, source, knownInRun, headFirst);
    if (source.stamp) hashed.push({ path: source.absPath, stamp: source.stamp, sha256: entry.sha256 });
    summary.files += 1;
    summary.bytes += entry.size;
    if (uploaded) summary.bytesUploaded += entry.size;
    else summary.bytesSkipped += entry.size;
    knownInRun.add(entry.sha256);
    pending.push(entry);
    stored.push({ sha256: entry.sha256, size: entry.size });
    plan.progress?.advance(1, entry.size);
    if (pending.length >= FLUSH_FILES || Date.now() - lastFlush >= FLUSH_MS) flush();
  };
  try {
    await forEachLimited(plan.sources, plan.concurrency, storeOne);
  } finally {
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
  const n = plan.sources.length;
  if (n <= LIST_THRESHOLD) return true;
  const resuming = plan.files.summary(plan.datasetId, plan.versionId).fileCount > 0;
  if (resuming || plan.files.providerBlobCount(plan.providerId) < n / 2) {
    const listed = await listBlobs(plan.backend);
    plan.files.recordProviderBlobs(
      plan.providerId,
      [...listed].map(([sha256, size]) => ({ sha256, size })),
    );
  }
  return false;
}

async function storeFile(
  plan: PutPlan,
  source: SourceFile,
  knownInRun: Set<string>,
  headFirst: boolean,
): Promise<{ entry: FileEntry; uploaded: boolean }> {
  const isKnown = (sha: string): boolean => knownInRun.has(sha) || plan.files.providerHasBlob(plan.providerId, sha);
  const held = async (entry: FileEntry): Promise<boolean> =>
    isKnown(entry.sha256) || (headFirst && (await plan.backend.head(blobKey(entry.sha256)))?.size === entry.size);
  // Unchanged since it was last hashed, and its content already stored: nothing to read.
  const cached = source.stamp && plan.files.cachedHash(source.absPath, source.stamp);
  if (cached && isKnown(cached)) return { entry: toEntry(source, cached, source.size), uploaded: false };
  if (source.size <= IN_MEMORY_LIMIT) {
    const bytes = await readFile(source.absPath);
    const entry = toEntry(source, sha256Hex(bytes), bytes.length);
    if (await held(entry)) return { entry, uploaded: false };
    try {
      await plan.backend.put(blobKey(entry.sha256), bytes, {
        ifNoneMatch: true,
        sha256: entry.sha256,
        signal: plan.signal,
      });
      return { entry, uploaded: true };
    } catch (error) {
      if (error instanceof PreconditionFailedError) return { entry, uploaded: false };
      throw error;
    }
  }
  const hashed = await hashFile(source.absPath);
  const entry = toEntry(source, hashed.sha256, hashed.size);
  if (isKnown(entry.sha256) || (await plan.backend.head(blobKey(entry.sha256)))?.size === entry.size) {
    return { entry, uploaded: false };
  }
  // Hash again on the way up: a file that changed since it was hashed must not be stored under
  // the old hash.
  const hashing = new HashingStream();
  const body = createReadStream(source.absPath, { highWaterMark: 1 << 20 });
  const upload = plan.backend.put(blobKey(entry.sha256), hashing, { size: entry.size, signal: plan.signal });
  try {
    await Promise.all([pipeline(body, hashing), upload]);
  } catch (error) {
    body.destroy();
    hashing.destroy();
    throw error;
  }
  if (hashing.digest() !== entry.sha256 || hashing.bytes !== entry.size) {
    await plan.backend.delete([blobKey(entry.sha256)]);
    throw new IntegrityError(`${source.absPath} changed while it was being stored; put it again`, 'ECHANGED');
  }
  return { entry, uploaded: true };
}

function toEntry(source: SourceFile, sha256: string, size: number): FileEntry {
  return { path: source.path, size, sha256, mode: source.mode, mtimeMs: source.mtimeMs };
}
