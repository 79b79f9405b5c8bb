// The entry of Strata's worker threads (src/transfer/threads.ts), built as dist/thread.cjs beside
// the bundle: runs the tasks it is sent, one after the other, and replies to each.
import { parentPort } from 'node:worker_threads';
import { placeShare, type PlaceShare } from './cache/place-sync.js';
import { hashStep, type HashStep } from './transfer/hash-thread.js';
import { threadError } from './transfer/threads.js';

parentPort!.on('message', (task: PlaceShare | HashStep) => {
  try {
    const result = task.kind === 'place' ? placeShare(task) : hashStep(task);
    parentPort!.postMessage({ result });
  } catch (error) {
    parentPort!.postMessage({ error: threadError(error) });
  }
});
