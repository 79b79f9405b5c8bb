// The least any Node program does for W4 warm hardlink, timed for the report (not a check):
// Node's start-up, the version's file list read from a JSON file, then per file what Strata does
// too (the blob's size checked, the link made, parents made once), and nothing else: no catalog,
// no path checks, no lease, no CLI framework.
//   node bench/link-floor.cjs CACHE_DIR FILES_JSON TARGET
'use strict';
const { linkSync, mkdirSync, readFileSync, statSync } = require('node:fs');
const { dirname, join } = require('node:path');

const [cache, list, target] = process.argv.slice(2);
const made = new Set();
for (const f of JSON.parse(readFileSync(list, 'utf8'))) {
  const destination = join(target, f.path);
  const dir = dirname(destination);
  if (!made.has(dir)) mkdirSync(dir, { recursive: true });
  made.add(dir);
  const blob = join(cache, 'blobs', 'sha256', f.sha256.slice(0, 2), f.sha256);
  if (statSync(blob).size !== f.size) throw new Error(`${blob}: not ${f.size} bytes`);
  linkSync(blob, destination);
}
