import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { PENDING, placeFileSync, placeShare, PLACED, RETRY, type PlaceJob } from './place-file.js';

/**
 * Below this many files one thread places them all: a thread takes ~35 ms to start, about what
 * placing a thousand small files costs.
 */
const PARALLEL_FROM = 1000;
/** Threads placing at once, this one included: past a few, the disk, not the CPU, is the limit. */
const MAX_THREADS = 4;

/** The thread's code: dist/place-worker.cjs beside the bundle (absent when running from src/). */
const WORKER = new URL('./place-worker.cjs', import.meta.url);

/**
 * Places `jobs` (the warm fast path) on this thread and, for many files on a machine with
 * several cores, on worker threads at once: per file it is a read, a hash and a few file calls,
 * and the kernel runs those of different threads in parallel. Threads take chunks of jobs from
 * a shared counter, so none waits while another has work. Says what became of each job.
 */
export async function placeInParallel(jobs: readonly PlaceJob[], clone: boolean): Promise<Int8Array> {
  const next = new Int32Array(new SharedArrayBuffer(4));
  const status = new Int8Array(new SharedArrayBuffer(Math.max(1, jobs.length)));
  const helpers = jobs.length < PARALLEL_FROM || !existsSync(fileURLToPath(WORKER)) ? 0 : threads() - 1;
  const working = Array.from({ length: helpers }, () => helper(jobs, clone, next, status));
  let failure: unknown;
  try {
    placeShare(jobs, clone, next, status);
  } catch (error) {
    failure = error;
  }
  for (const result of await Promise.allSettled(working)) {
    if (result.status === 'rejected') failure ??= result.reason;
  }
  if (failure) throw failure;
  // A thread that died without a word (it could not start) leaves its jobs pending.
  for (let i = 0; i < jobs.length; i++) {
    if (status[i] === PENDING) status[i] = placeFileSync(jobs[i]!, clone) ? PLACED : RETRY;
  }
  return status;
}

const threads = (): number => Math.min(MAX_THREADS, availableParallelism());

/** A worker thread's share; rejects with the failure it reports, resolves when it ends otherwise. */
function helper(jobs: readonly PlaceJob[], clone: boolean, next: Int32Array, status: Int8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { workerData: { jobs, clone, next, status } });
    worker.on('message', (m: { error?: { message: string; code?: string; path?: string; syscall?: string } }) => {
      if (m.error) reject(Object.assign(new Error(m.error.message), m.error));
    });
    worker.on('error', () => resolve()); // its jobs stay pending, for this thread
    worker.on('exit', () => resolve());
  });
}
