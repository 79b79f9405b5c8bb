// A thread of the warm fast path (src/cache/place-parallel.ts): places its share of the jobs and
// says how it ended. Built as its own entry beside dist/cli.cjs.
import { parentPort, workerData } from 'node:worker_threads';
import { placeShare, type PlaceJob } from './place-file.js';

const { jobs, clone, next, status } = workerData as {
  jobs: PlaceJob[];
  clone: boolean;
  next: Int32Array;
  status: Int8Array;
};
try {
  placeShare(jobs, clone, next, status);
  parentPort!.postMessage({});
} catch (error) {
  const e = error as NodeJS.ErrnoException;
  parentPort!.postMessage({ error: { message: e.message, code: e.code, path: e.path, syscall: e.syscall } });
}
