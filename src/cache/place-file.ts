import {
  chmodSync,
  closeSync,
  constants,
  copyFileSync,
  fchmodSync,
  linkSync,
  openSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { failedAt } from '../core/errors.js';
import { faultPoint } from '../core/faults.js';
import { setMtimeMsSync } from '../core/mtime.js';
import { createdWithMode, readVerifiedBlobSync } from './store.js';

/** One file of the warm fast path: its cached blob, and where it goes through which temp file. */
export interface PlaceJob {
  blob: string;
  sha256: string;
  size: number;
  temp: string;
  destination: string;
  /** permission bits */
  mode: number;
  mtimeMs: number;
}

/** What sends a file from the fast path to the general one, which says or repairs it. */
const RETRY_CODES = new Set(['ENOENT', 'EEXIST', 'EISDIR', 'ENOTEMPTY', 'ENOTDIR', 'EPERM', 'EXDEV', 'EOPNOTSUPP']);

/**
 * Places one file synchronously: a verified copy of its cached blob (or, with `clone`, a clone),
 * written to its temp file and renamed into place. false sends it to the general path: a blob
 * missing or failing its check (which that path drops and fetches again), something in the way
 * (which it reports). Other failures throw.
 */
export function placeFileSync(job: PlaceJob, clone: boolean): boolean {
  const bytes = clone ? undefined : readVerifiedBlobSync(job.blob, job.sha256, job.size);
  if (!clone && !bytes) return false;
  return writePlacedSync(job, bytes);
}

/**
 * Writes one file synchronously from its verified content (or, without it, as a clone of its
 * cached blob) into its temp file, gives it mode and mtime, and renames it into place. false as
 * for placeFileSync.
 */
export function writePlacedSync(job: PlaceJob, bytes: Buffer | undefined): boolean {
  let fd: number | undefined;
  try {
    if (!bytes) {
      copyFileSync(job.blob, job.temp, constants.COPYFILE_FICLONE_FORCE);
      chmodSync(job.temp, job.mode);
      fd = openSync(job.temp, 'r');
    } else {
      fd = openSync(job.temp, 'wx', job.mode);
      writeSync(fd, bytes);
      if (!createdWithMode(job.mode)) fchmodSync(fd, job.mode);
    }
    setMtimeMsSync(fd, job.mtimeMs);
    closeSync(fd);
    fd = undefined;
    faultPoint('target:before-rename');
    renameSync(job.temp, job.destination);
    return true;
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(job.temp);
    } catch {
      // not made, or gone
    }
    if (!RETRY_CODES.has((error as NodeJS.ErrnoException).code ?? '')) throw failedAt(error, dirname(job.destination));
    return false;
  }
}

/**
 * Links one file to its cached blob, once the blob's size is checked (a hardlink hands out the
 * blob unread). false sends it to the general path, as for placeFileSync. One thread does these:
 * a worker thread costs more to start than it saves on links.
 */
export function linkFileSync(blob: string, size: number, destination: string): boolean {
  if (statSync(blob, { throwIfNoEntry: false })?.size !== size) return false;
  try {
    linkSync(blob, destination);
    return true;
  } catch (error) {
    if (!RETRY_CODES.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
    return false;
  }
}

/** Status of each job in a share: written by whichever thread placed it. */
export const PENDING = 0;
export const PLACED = 1;
export const RETRY = 2;
/** Jobs a thread takes at a time from the shared counter. */
const CHUNK = 64;

/**
 * One thread's part of placing `jobs`: takes chunks of them from the shared counter `next` until
 * none are left, writing each job's status. On a failure it takes every job left (so the other
 * threads stop too) and throws.
 */
export function placeShare(jobs: readonly PlaceJob[], clone: boolean, next: Int32Array, status: Int8Array): void {
  for (;;) {
    const start = Atomics.add(next, 0, CHUNK);
    if (start >= jobs.length) return;
    const end = Math.min(start + CHUNK, jobs.length);
    for (let i = start; i < end; i++) {
      try {
        status[i] = placeFileSync(jobs[i]!, clone) ? PLACED : RETRY;
      } catch (error) {
        Atomics.store(next, 0, jobs.length);
        throw error;
      }
    }
  }
}
