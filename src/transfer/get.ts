import { chmod, lstat, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { FileEntry } from '../core/model.js';
import { ContentMismatch, IntegrityError, UsageError } from '../core/errors.js';
import { checkManifestPath } from '../core/paths-in-manifest.js';
import { faultPoint } from '../core/faults.js';
import { setMtimeMs } from '../core/mtime.js';
import type { StorageBackend } from '../storage/backend.js';
import { rereadGarbled, readBlob, readIntoFile, type BlobSink } from './read-blob.js';
import { forEachLimited } from './concurrency.js';
import { SafeDirs } from '../core/safe-dirs.js';
import { tempBeside } from '../core/temp-name.js';
import type { ProgressSink } from '../core/progress.js';

export interface GetPlan {
  backend: StorageBackend;
  files: Iterable<FileEntry>;
  target: string;
  concurrency: number;
  progress?: ProgressSink;
  signal?: AbortSignal;
}

export interface GetSummary {
  files: number;
  bytes: number;
  seconds: number;
}

/**
 * Writes files into target: each through a temp file that is checked against its sha256 and size
 * before the rename, with its mode and mtime restored. A manifest path can never leave target:
 * unsafe paths are refused, and so is any path that passes through a symlink or a non-directory.
 */
export async function getFiles(plan: GetPlan): Promise<GetSummary> {
  const started = performance.now();
  const summary: GetSummary = { files: 0, bytes: 0, seconds: 0 };
  const dirs = new SafeDirs(plan.target);
  const files = [...plan.files];
  for (const file of files) {
    const problem = checkManifestPath(file.path);
    if (problem)
      throw new IntegrityError(`refusing manifest path "${file.path}": ${problem}; nothing was written`, 'EUNSAFEPATH');
  }
  await forEachLimited(files, plan.concurrency, async (file) => {
    plan.signal?.throwIfAborted();
    dirs.parentsOf(file.path);
    await fetchVerified(plan.backend, file, join(plan.target, ...file.path.split('/')), plan.signal);
    summary.files += 1;
    summary.bytes += file.size;
    plan.progress?.advance(1, file.size);
  });
  summary.seconds = (performance.now() - started) / 1000;
  return summary;
}

/** A file fetched, checked against its sha256 and size (read again while what arrives is garbled), and renamed into place. */
export async function fetchVerified(
  backend: StorageBackend,
  file: FileEntry,
  destination: string,
  signal?: AbortSignal,
): Promise<void> {
  const temp = tempBeside(destination);
  try {
    const read = (sink: BlobSink): Promise<void> => readBlob(backend, file.sha256, file.size, sink, signal);
    await rereadGarbled(async () => {
      await unlink(temp).catch(() => undefined);
      const got = await readIntoFile(read, temp, file.size);
      if (got.sha256 !== file.sha256 || got.bytes !== file.size) {
        throw new ContentMismatch(
          `${file.path}: content read back does not match its manifest (expected sha256 ${file.sha256}, ${file.size} bytes; got ${got.sha256}, ${got.bytes} bytes); nothing was written`,
          `${got.sha256}:${got.bytes}`,
        );
      }
    });
    await chmod(temp, file.mode & 0o7777);
    await setMtimeMs(temp, file.mtimeMs);
    const existing = await lstat(destination).catch(() => undefined);
    if (existing?.isDirectory()) {
      throw new UsageError(`cannot write ${destination}: a directory is in the way`, 'EPATH');
    }
    faultPoint('target:before-rename');
    await rename(temp, destination);
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}
