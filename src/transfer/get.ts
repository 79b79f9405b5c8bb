import { chmod, lstat, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FileEntry } from '../core/model.js';
import type { FileBatches } from '../core/file-batches.js';
import { ContentMismatch, IntegrityError, UsageError } from '../core/errors.js';
import { refuseUnsafePath } from '../core/paths-in-manifest.js';
import { faultPoint } from '../core/faults.js';
import { setMtimeMs } from '../core/mtime.js';
import type { BlobReader, BlobSink } from './read-blob.js';
import { rereadGarbled, readIntoFile } from './read-hashed.js';
import { forEachLimited } from './concurrency.js';
import type { ReadMany } from './pack-reads.js';
import { onLocalDisks, writePlacedSync } from './write-sync.js';
import { SafeDirs } from '../core/safe-dirs.js';
import { tempBeside } from '../core/temp-name.js';
import type { ProgressSink } from '../core/progress.js';
import { boundHeapGrowth, GET_BOUND_FROM } from '../core/memory.js';

export interface GetPlan {
  read: BlobReader;
  /** reads many blobs at once (packed ones, by ranges of their packs); the rest come one by one */
  readMany?: ReadMany;
  files: FileBatches;
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
  boundHeapGrowth(plan.files.count, GET_BOUND_FROM);
  const summary: GetSummary = { files: 0, bytes: 0, seconds: 0 };
  const dirs = new SafeDirs(plan.target);
  const done = (file: FileEntry): void => {
    summary.files += 1;
    summary.bytes += file.size;
    plan.progress?.advance(1, file.size);
  };
  for (const batch of plan.files.batches()) await getBatch(plan, batch, dirs, done);
  summary.seconds = (performance.now() - started) / 1000;
  return summary;
}

/** One batch of a get: the files of packed blobs by ranges of their packs, the others one by one. */
async function getBatch(
  plan: GetPlan,
  files: readonly FileEntry[],
  dirs: SafeDirs,
  done: (file: FileEntry) => void,
): Promise<void> {
  for (const file of files) refuseUnsafePath(file.path);
  const destinationOf = (file: FileEntry): string => {
    dirs.parentsOf(file.path);
    return join(plan.target, ...file.path.split('/'));
  };
  let rest = files;
  if (plan.readMany) {
    const bySha = new Map<string, FileEntry[]>();
    for (const file of files) {
      const same = bySha.get(file.sha256);
      if (same) same.push(file);
      else bySha.set(file.sha256, [file]);
    }
    // On a local disk each file is written by synchronous calls (a promise per call costs more).
    const sync = onLocalDisks([plan.target]);
    const left = await plan.readMany(
      [...bySha].map(([sha256, same]) => ({ sha256, size: same[0]!.size })),
      async (sha256, bytes) => {
        for (const file of bySha.get(sha256)!) {
          const destination = destinationOf(file);
          const job = { destination, temp: tempBeside(destination), mode: file.mode & 0o7777, mtimeMs: file.mtimeMs };
          if (!(sync && writePlacedSync(job, { bytes }))) await writeVerified(file, destination, bytes);
          done(file);
        }
      },
      {
        signal: plan.signal,
        bad: (sha256, error) => {
          throw new IntegrityError(`${bySha.get(sha256)![0]!.path}: ${error.message}; nothing was written`);
        },
      },
    );
    const unread = new Set(left.map((b) => b.sha256));
    rest = files.filter((f) => unread.has(f.sha256));
  }
  await forEachLimited(rest, plan.concurrency, async (file) => {
    plan.signal?.throwIfAborted();
    await fetchVerified(plan.read, file, destinationOf(file), plan.signal);
    done(file);
  });
}

/** A file fetched, checked against its sha256 and size (read again while what arrives is garbled), and renamed into place. */
export async function fetchVerified(
  readBlob: BlobReader,
  file: FileEntry,
  destination: string,
  signal?: AbortSignal,
): Promise<void> {
  const temp = tempBeside(destination);
  try {
    const read = (sink: BlobSink): Promise<void> => readBlob(file.sha256, file.size, sink, signal);
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
    await intoPlace(file, temp, destination);
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

/** A file written from its verified content, through a temp file renamed into place. */
async function writeVerified(file: FileEntry, destination: string, bytes: Buffer): Promise<void> {
  const temp = tempBeside(destination);
  let placed = false;
  try {
    await writeFile(temp, bytes, { mode: 0o600, flag: 'wx' });
    await intoPlace(file, temp, destination);
    placed = true;
  } finally {
    if (!placed) await unlink(temp).catch(() => undefined);
  }
}

/** A temp file holding a file's verified content given its mode and mtime, and renamed into place. */
async function intoPlace(file: FileEntry, temp: string, destination: string): Promise<void> {
  await chmod(temp, file.mode & 0o7777);
  await setMtimeMs(temp, file.mtimeMs);
  const existing = await lstat(destination).catch(() => undefined);
  if (existing?.isDirectory()) {
    throw new UsageError(`cannot write ${destination}: a directory is in the way`, 'EPATH');
  }
  faultPoint('target:before-rename');
  await rename(temp, destination);
}
