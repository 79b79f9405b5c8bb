#!/usr/bin/env node
// Starts dist/cli.cjs from V8's code cache (dist/cli.cjs.cache): compiling the 1 MB bundle
// afresh costs more than the rest of a quick command's start-up. Node 20 has no compile cache of
// its own (module.enableCompileCache is 22+), so this does what it would: compile with the cached
// data, and when there was none, or it was another bundle's, or V8 refused it (another Node
// version, other V8 flags), write it at exit, once, through a temp file and a rename. A cache that
// cannot be read or written (a read-only install) only costs the compile.
// The cache starts with the sha256 of the bundle it was made from: V8 itself checks only the
// source's length, and running another build's compiled code would run the wrong program.
'use strict';
// libuv's default of 4 threads serializes the file operations of many small files in flight;
// this must be set before the first asynchronous file operation.
process.env.UV_THREADPOOL_SIZE ??= '16';

const { createHash } = require('node:crypto');
const { readFileSync, renameSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const { dirname, join } = require('node:path');
const vm = require('node:vm');

const bundle = join(__dirname, '../dist/cli.cjs');
const cacheFile = `${bundle}.cache`;
const source = readFileSync(bundle);
const digest = createHash('sha256').update(source).digest();
let cachedData;
try {
  const cache = readFileSync(cacheFile);
  if (cache.subarray(0, digest.length).equals(digest)) cachedData = cache.subarray(digest.length);
} catch {
  // none yet
}
const script = new vm.Script(Module.wrap(source.toString('utf8')), {
  filename: bundle,
  // No importModuleDynamically: Node 20 drops it when the cache is accepted, so code in the bundle
  // must never import(); the help command and the hooks are in the bundle for that reason.
  cachedData,
});
if (!cachedData || script.cachedDataRejected) {
  process.once('exit', () => {
    const temp = `${cacheFile}.${process.pid}`;
    try {
      writeFileSync(temp, Buffer.concat([digest, script.createCachedData()]));
      renameSync(temp, cacheFile);
    } catch {
      // a read-only install: the next run compiles again
    }
  });
}

// Loaded as require() would, and registered, so oclif's require() of its command target finds it.
const cli = new Module(bundle, module);
cli.filename = bundle;
cli.paths = Module._nodeModulePaths(dirname(bundle));
script.runInThisContext()(cli.exports, Module.createRequire(bundle), cli, bundle, dirname(bundle));
cli.loaded = true;
Module._cache[bundle] = cli;

cli.exports.execute({ dir: __filename });
