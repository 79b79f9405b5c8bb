import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import pLimit from 'p-limit';
import type { FileQueries } from '../catalog/files.js';
import type { FileEntry } from '../core/model.js';
import { IntegrityError, PreconditionFailedError } from '../core/errors.js';
import type { StorageBackend } from '../storage/backend.js';
import { blobKey } from '../storage/keys.js';
import { HashingStream, hashFile, sha256Hex } from './hash.js';
import type { SourceFile } from './walk.js';
import type { ProgressSink } from './progress.js';

/** Files up to this size are read once into memory, hashed and sent from the buffer. */
const IN_MEMORY_LIMIT = 8 * 1024 * 1024;
/** Stored files enter the version in batches this large (or at least every FLUSH_MS). */
const FLUSH_FILES = 500;
const FLUSH_MS = 250;

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
  const summary: PutSummary = { files: 0, bytes: 0, bytesUploaded: 0, bytesSkipped: 0, seconds: 0 };
  const pending: FileEntry[] = [];
  const stored: { sha256: string; size: number }[] = [];
  let lastFlush = Date.now();
  const flush = (): void => {
    if (pending.length === 0 && stored.length === 0) return;
    plan.files.recordProviderBlobs(plan.providerId, stored.splice(0));
    plan.files.upsert(plan.datasetId, plan.versionId, pending.splice(0));
    lastFlush = Date.now();
  };

  const limit = pLimit(plan.concurrency);
  const knownInRun = new Set<string>();
  const storeOne = async (source: SourceFile): Promise<void> => {
    plan.signal?.throwIfAborted();
    const { entry, uploaded } = await storeFile(plan, source, knownInRun);
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
    await Promise.all(plan.sources.map((s) => limit(() => storeOne(s))));
  } finally {
    limit.clearQueue();
    flush();
  }
  summary.seconds = (performance.now() - started) / 1000;
  return summary;
}

async function storeFile(
  plan: PutPlan,
  source: SourceFile,
  knownInRun: Set<string>,
): Promise<{ entry: FileEntry; uploaded: boolean }> {
  const isKnown = (sha: string): boolean => knownInRun.has(sha) || plan.files.providerHasBlob(plan.providerId, sha);
  if (source.size <= IN_MEMORY_LIMIT) {
    const bytes = await readFile(source.absPath);
    const entry = toEntry(source, sha256Hex(bytes), bytes.length);
    if (isKnown(entry.sha256)) return { entry, uploaded: false };
    try {
      await plan.backend.put(blobKey(entry.sha256), bytes, { ifNoneMatch: true, signal: plan.signal });
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
