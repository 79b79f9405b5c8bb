// The fast path of placing files from the cache: synchronous file calls, on several threads when
// there are many files (a promise per call costs more than the call on local disks).
import { linkSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { otherThreads, runOnThread, ThreadGone, threadsAvailable } from '../transfer/threads.js';
import { leftForAsync, writePlacedSync, type Placement } from '../transfer/write-sync.js';
import { tempBeside } from '../core/temp-name.js';
import type { PackedBlob } from './packed.js';
import { BLOB_MODE, CacheStore, readVerifiedBlobSync, TEMP_PREFIX } from './store.js';

/**
 * One file of the warm fast path: its blob, where it goes, its mode and mtime. Only what cannot be
 * derived (each is copied to every thread, and a batch of them is held at once).
 */
export interface PlaceJob {
  sha256: string;
  size: number;
  destination: string;
  /** permission bits */
  mode: number;
  mtimeMs: number;
  /** where it may be in the cache's file of its pack instead of a blob file (tried first) */
  packId?: string;
  offset?: number;
}

/**
 * Places one file synchronously: a verified copy of its cached blob (or, with `clone`, a clone),
 * written to its temp file and renamed into place. false sends it to the general path: a blob
 * missing or failing its check (which that path drops and fetches again), something in the way
 * (which it reports). Other failures throw.
 */
export function placeFileSync(job: PlaceJob, clone: boolean, cache: CacheStore, tempPrefix?: string): boolean {
  const blob = cache.blobPath(job.sha256);
  const bytes = clone
    ? undefined
    : (job.packId !== undefined &&
        readVerifiedBlobSync(cache.packPath(job.packId), job.sha256, job.size, job.offset)) ||
      readVerifiedBlobSync(blob, job.sha256, job.size);
  if (!clone && !bytes) return false;
  const placement: Placement = { ...job, temp: tempBeside(job.destination, tempPrefix) };
  return writePlacedSync(placement, bytes ? { bytes } : { cloneOf: blob });
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

/** Many files to place by several threads at once: each job's status is written by whichever placed it. */
export interface PlaceShare {
  kind: 'place';
  cacheDir: string;
  jobs: readonly PlaceJob[];
  clone: boolean;
  /** of the temp files: the target's by default, the cache's when its blob files are the destinations */
  tempPrefix?: string;
  /** the next job nobody took yet */
  next: Int32Array;
  status: Int8Array;
}

/**
 * One thread's part of placing the jobs: takes chunks of them from the shared counter until
 * none are left, writing each job's status. On a failure it takes every job left (so the other
 * threads stop too) and throws.
 */
export function placeShare({ cacheDir, jobs, clone, tempPrefix, next, status }: PlaceShare): void {
  const cache = new CacheStore(cacheDir);
  for (;;) {
    const start = Atomics.add(next, 0, CHUNK);
    if (start >= jobs.length) return;
    const end = Math.min(start + CHUNK, jobs.length);
    for (let i = start; i < end; i++) {
      try {
        status[i] = placeFileSync(jobs[i]!, clone, cache, tempPrefix) ? PLACED : RETRY;
      } catch (error) {
        Atomics.store(next, 0, jobs.length);
        throw error;
      }
    }
  }
}

/**
 * Below this many files one thread places them all: a thread takes ~35 ms to start, about what
 * placing a thousand small files costs.
 */
const PARALLEL_FROM = 1000;

/**
 * Places `jobs` (the warm fast path) on this thread and, for many files on a machine with
 * several cores, on worker threads at once: per file it is a read, a hash and a few file calls,
 * and the kernel runs those of different threads in parallel. Threads take chunks of jobs from
 * a shared counter, so none waits while another has work. Says what became of each job.
 */
export async function placeInParallel(
  cache: CacheStore,
  jobs: readonly PlaceJob[],
  clone: boolean,
  tempPrefix?: string,
): Promise<Int8Array> {
  const helpers = jobs.length < PARALLEL_FROM || !threadsAvailable() ? 0 : otherThreads();
  const order = helpers > 0 ? chunksAcrossDirectories(jobs) : undefined;
  const share: PlaceShare = {
    kind: 'place',
    cacheDir: cache.dir,
    jobs: order ? order.map((i) => jobs[i]!) : jobs,
    clone,
    tempPrefix,
    next: new Int32Array(new SharedArrayBuffer(4)),
    status: new Int8Array(new SharedArrayBuffer(Math.max(1, jobs.length))),
  };
  const working = Array.from({ length: helpers }, (_, i) => runOnThread(i, share));
  let failure: unknown;
  try {
    placeShare(share);
  } catch (error) {
    failure = error;
  }
  for (const result of await Promise.allSettled(working)) {
    if (result.status === 'rejected' && !(result.reason instanceof ThreadGone)) failure ??= result.reason;
  }
  if (failure) throw failure;
  // A thread that died or could not start leaves its jobs pending, for this one.
  const { status } = share;
  for (let i = 0; i < jobs.length; i++) {
    if (status[i] === PENDING) status[i] = placeFileSync(share.jobs[i]!, clone, cache, tempPrefix) ? PLACED : RETRY;
  }
  if (!order) return status;
  const inOrder = new Int8Array(jobs.length);
  for (const [k, i] of order.entries()) inOrder[i] = status[k]!;
  return inOrder;
}

/**
 * Makes a blob file of each blob the cache holds only in a pack file, for the modes that link or
 * clone a blob file (a `--link hardlink` get after copying gets cached packed blobs): each read
 * from its pack file, checked against its sha256, written through a temp file of the cache and
 * renamed into place, by synchronous calls on threads as placeInParallel does. Returns the blobs
 * made; the others (a hole, a damaged range) are the general path's to fetch.
 */
export async function blobFilesFromPacks(cache: CacheStore, blobs: readonly PackedBlob[]): Promise<string[]> {
  const now = Date.now();
  const jobs = blobs.map((blob) => ({
    ...blob,
    destination: cache.blobPath(blob.sha256),
    mode: BLOB_MODE,
    mtimeMs: now,
  }));
  for (const shard of new Set(jobs.map((job) => dirname(job.destination)))) cache.readyShardSync(shard);
  const status = await placeInParallel(cache, jobs, false, TEMP_PREFIX);
  return blobs.filter((_, i) => status[i] === PLACED).map((blob) => blob.sha256);
}

/**
 * The jobs' indices so that consecutive chunks are in different directories, where there are
 * several: creating a file locks its directory, and after many files were deleted ext4 spends
 * long on each new inode (it skips recently deleted ones), so threads in one directory would
 * spin on its lock while another creates.
 */
function chunksAcrossDirectories(jobs: readonly PlaceJob[]): number[] {
  const byDir = new Map<string, number[]>();
  for (const [i, job] of jobs.entries()) {
    const dir = job.destination.slice(0, job.destination.lastIndexOf('/'));
    const same = byDir.get(dir);
    if (same) same.push(i);
    else byDir.set(dir, [i]);
  }
  let queues = [...byDir.values()];
  const order: number[] = [];
  for (let at = 0; queues.length > 0; at += CHUNK) {
    for (const queue of queues) for (let i = at; i < Math.min(at + CHUNK, queue.length); i++) order.push(queue[i]!);
    queues = queues.filter((queue) => queue.length > at + CHUNK);
  }
  return order;
}
