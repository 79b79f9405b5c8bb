import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * The process's worker threads: the one way Strata runs work off the main thread (the warm fast
 * path's placing, src/cache/place-sync.ts; the hashing of large blobs as they are written,
 * hash-thread.ts). A thread starts when first asked for (~35 ms), stays for the next task, and
 * holds the process open only while it has work. Each runs src/thread.ts, built as
 * dist/thread.cjs beside the bundle. Run from src/ (unit tests) there is no such file: callers
 * then do the work on this thread.
 */
const ENTRY = new URL('./thread.cjs', import.meta.url);

/** Threads working at once, this one included: past a few, the disk, not the CPU, is the limit. */
const MAX_THREADS = 4;

/** A task's failure as the thread reports it: the error's message and, for a file call, its details. */
export interface ThreadError {
  message: string;
  code?: string;
  path?: string;
  syscall?: string;
}

/** The thread died or could not start: its task may be partly done, and nothing of it was reported. */
export class ThreadGone extends Error {}

type Reply = { result?: unknown; error?: ThreadError };
type Waiter = { resolve: (result: unknown) => void; reject: (error: Error) => void };

/** One worker thread; replies come back in the order of the tasks. */
class Thread {
  private readonly waiting: Waiter[] = [];

  constructor(
    private readonly worker: Worker,
    forget: () => void,
  ) {
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const waiter = this.waiting.shift();
      if (this.waiting.length === 0) worker.unref();
      if (reply.error) waiter?.reject(Object.assign(new Error(reply.error.message), reply.error));
      else waiter?.resolve(reply.result);
    });
    const fail = (why: string): void => {
      forget();
      for (const waiter of this.waiting.splice(0)) waiter.reject(new ThreadGone(why));
    };
    worker.on('error', (error) => fail(`a worker thread failed: ${error.message}`));
    worker.on('exit', (code) => fail(`a worker thread exited (${code})`));
  }

  run<R>(task: object): Promise<R> {
    if (this.waiting.length === 0) this.worker.ref();
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ resolve: resolve as (result: unknown) => void, reject });
      this.worker.postMessage(task);
    });
  }
}

const pool: (Thread | undefined)[] = [];

let entryBuilt: boolean | undefined;
/** Whether tasks can run on threads (the built thread entry is there). */
export const threadsAvailable = (): boolean => (entryBuilt ??= existsSync(fileURLToPath(ENTRY)));

/** Threads that may work at once besides this one. */
export const otherThreads = (): number => Math.min(MAX_THREADS, availableParallelism()) - 1;

/**
 * Runs a task (a message src/thread.ts understands) on the `index`th thread of the pool, which
 * runs tasks one after the other. Rejects with the task's failure, or ThreadGone.
 */
export function runOnThread<R>(index: number, task: object): Promise<R> {
  let thread = pool[index];
  if (!thread) {
    const made = new Thread(new Worker(ENTRY), () => {
      if (pool[index] === made) pool[index] = undefined;
    });
    thread = pool[index] = made;
  }
  return thread.run<R>(task);
}

/** What a thread reports of a task's failure. */
export function threadError(error: unknown): ThreadError {
  const e = error as NodeJS.ErrnoException;
  return { message: e instanceof Error ? e.message : String(error), code: e.code, path: e.path, syscall: e.syscall };
}
