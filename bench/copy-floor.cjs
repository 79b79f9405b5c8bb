// The least a Node program does for W4 warm default, timed for the report (not a check): Node's
// start-up, the version's file list read from a JSON file, then each file's blob read whole,
// checked against its sha256 (DESIGN invariant 4) and written to a new file, on as many threads
// as there are cores (up to 4, as Strata), and nothing else: no temp file and rename, no mtime,
// no catalog, no path checks, no lease, no CLI framework.
//   node bench/copy-floor.cjs CACHE_DIR FILES_JSON TARGET
'use strict';
const { createHash } = require('node:crypto');
const { closeSync, mkdirSync, openSync, readFileSync, readSync, writeSync } = require('node:fs');
const { availableParallelism } = require('node:os');
const { dirname, join } = require('node:path');
const { Worker, isMainThread, workerData } = require('node:worker_threads');

function copyShare({ cache, files, target, next }) {
  let buffer = Buffer.alloc(0); // one per thread, reused
  for (let i = Atomics.add(next, 0, 1); i < files.length; i = Atomics.add(next, 0, 1)) {
    const f = files[i];
    if (buffer.length < f.size) buffer = Buffer.allocUnsafe(f.size);
    const from = openSync(join(cache, 'blobs', 'sha256', f.sha256.slice(0, 2), f.sha256), 'r');
    const got = readSync(from, buffer, 0, f.size, 0);
    closeSync(from);
    const bytes = buffer.subarray(0, got);
    if (got !== f.size || createHash('sha256').update(bytes).digest('hex') !== f.sha256)
      throw new Error(`${f.path}: blob damaged`);
    const to = openSync(join(target, f.path), 'wx', f.mode);
    writeSync(to, bytes);
    closeSync(to);
  }
}

if (isMainThread) {
  const [cache, list, target] = process.argv.slice(2);
  const files = JSON.parse(readFileSync(list, 'utf8'));
  for (const dir of new Set(files.map((f) => dirname(join(target, f.path))))) mkdirSync(dir, { recursive: true });
  const share = { cache, files, target, next: new Int32Array(new SharedArrayBuffer(4)) };
  const helpers = Math.min(4, availableParallelism()) - 1;
  for (let i = 0; i < helpers; i++) new Worker(__filename, { workerData: share });
  copyShare(share);
} else {
  copyShare(workerData);
}
