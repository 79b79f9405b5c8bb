import { linkSync, statSync } from 'node:fs';
import { leftForAsync, writePlacedSync, type Placement } from '../transfer/write-sync.js';
import { readVerifiedBlobSync } from './store.js';

/** One file of the warm fast path: its cached blob, and where it goes through which temp file. */
export interface PlaceJob extends Placement {
  blob: string;
  sha256: string;
  size: number;
}

/**
 * Places one file synchronously: a verified copy of its cached blob (or, with `clone`, a clone),
 * written to its temp file and renamed into place. false sends it to the general path: a blob
 * missing or failing its check (which that path drops and fetches again), something in the way
 * (which it reports). Other failures throw.
 */
export function placeFileSync(job: PlaceJob, clone: boolean): boolean {
  const bytes = clone ? undefined : readVerifiedBlobSync(job.blob, job.sha256, job.size);
  if (!clone && !bytes) return false;
  return writePlacedSync(job, bytes ? { bytes } : { cloneOf: job.blob });
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
    if (!leftForAsync(error)) throw error;
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
