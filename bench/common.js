// What every workload's steps share: a scratch directory and bucket, Strata's put and get command
// lines, and the checks (bytes stored, the digest of a get's tree). ctx: see workloads.js.
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { digestTree, referenceDigest } from './digest.js';

export const mb = (bytes) =>
  Math.abs(bytes) < 1e6 ? `${(bytes / 1e3).toFixed(1)} kB` : `${(bytes / 1e6).toFixed(1)} MB`;
export const rssMB = (r) => (r.rssKiB === undefined ? null : (r.rssKiB * 1024) / 1e6);

export function putArgs(ref, src) {
  return ['datasets', 'files', 'put', '--id', ref, '--source-path', `${src}/`];
}

export function getArgs(ref, out, extra = []) {
  return ['datasets', 'files', 'get', '--id', ref, '--target-path', out, ...extra];
}

let discarded = 0;

/**
 * Moves a tree the run is done with out of the way, into the run's directory, which is deleted
 * when the run ends. Deleting it now would slow whichever tool next creates many files: ext4
 * without a journal (as here) skips each recently deleted inode, one by one, on every inode it
 * allocates (recently: a minute, six while the inode's table block is dirty, and creating files
 * dirties it). Measured on W5's get just after a 100,000-file tree was deleted: Strata 8.9 s (13
 * s of system time, most of it in the kernel's recently_deleted()) against 3.6 s undisturbed; a
 * tool whose files land in other block groups pays little (restic 5.1 s, 3.0 s of system time).
 */
export function discard(ctx, path) {
  if (!existsSync(path)) return;
  const into = join(ctx.runDir, '.discarded');
  mkdirSync(into, { recursive: true });
  renameSync(path, join(into, String(++discarded)));
}

/**
 * A scratch directory and a fresh bucket for one step. When it ends the directory is discarded
 * and the bucket removed (the server holds objects in RAM), except with `keepBucket`: rclone's and
 * aws-cli's buckets of W1's 10,000 objects stay until the server stops, since purging them costs
 * ~20 s of server CPU between timed runs.
 */
export async function scratch(ctx, name, fn, { keepBucket = false } = {}) {
  const dir = join(ctx.runDir, name);
  mkdirSync(dir, { recursive: true });
  const bucket = name.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  await ctx.tools.mkBucket(bucket);
  try {
    return await fn(dir, bucket);
  } finally {
    discard(ctx, dir);
    if (!keepBucket) await ctx.tools.rmBucket(bucket);
  }
}

/** "bytes stored = data size": a Strata put into a fresh bucket must take every byte. */
export function checkPut(ctx, what, put, data) {
  const ok = put.bytes === data.bytes && put.bytesUploaded === data.bytes && put.bytesSkipped === 0;
  const detail = `files ${put.files}/${data.files}, bytes ${put.bytes}, uploaded ${put.bytesUploaded}, skipped ${put.bytesSkipped}, data ${data.bytes}`;
  ctx.check(`${what}: bytes stored = data size`, ok && put.files === data.files, detail);
}

/**
 * A bucket's objects summed: `content` Strata's blobs and packs (the files' bytes), `tables` the
 * packs' tables, `other` the rest (manifests, drafts, strata.json; all of a peer's objects); and
 * `packIds`, the packs there.
 */
export async function bucketUsage(ctx, bucket) {
  const objects = await ctx.tools.listBucket(bucket);
  const use = { objects: objects.length, bytes: 0, content: 0, tables: 0, other: 0, packIds: [] };
  for (const { key, size } of objects) {
    const pack = /^packs\/[0-9a-f]{2}\/([0-9a-f]{64})\.pack$/.exec(key);
    if (pack) use.packIds.push(pack[1]);
    const kind = /^packs\/.*\.json$/.test(key) ? 'tables' : /^(packs|blobs)\//.test(key) ? 'content' : 'other';
    use.bytes += size;
    use[kind] += size;
  }
  return use;
}

/** After a put: the bucket holds at least the data's bytes (`bytes`: what the puts stored in all). */
export async function checkStored(ctx, what, bucket, bytes) {
  const use = await bucketUsage(ctx, bucket);
  const parts = use.content ? ` (content ${use.content}, tables ${use.tables}, other ${use.other})` : '';
  const detail = `${use.objects} objects, ${use.bytes} bytes${parts}; data ${bytes}`;
  ctx.check(`${what}: bytes stored in the bucket ≥ data size`, use.bytes >= bytes, detail);
  return use;
}

/**
 * A get must leave exactly the data's tree: the digest of every file's path, mode, size and content
 * equal to the source's. `modes: false` for `--link hardlink` gets (the cache's read-only inodes).
 */
export function checkTree(ctx, what, dir, data, { modes = true } = {}) {
  const want = referenceDigest(data, modes);
  const got = digestTree(dir, { modes });
  ctx.check(
    `${what}: tree digest = ${data.name}'s (${data.files} files, ${mb(data.bytes)}${modes ? '' : ', modes not compared'})`,
    got.digest === want.digest,
    `found ${got.files} files, ${got.bytes} bytes, digest ${got.digest.slice(0, 16)}… (want ${want.digest.slice(0, 16)}…)`,
  );
}

/** A diff must list exactly the rewritten paths as changed, and nothing added, removed or renamed. */
export function checkDiff(ctx, what, diff, changedPaths) {
  const strip = (paths) => (paths ?? []).map((x) => (typeof x === 'string' ? x.replace(/^\/+/, '') : x)).sort();
  const changed = strip(diff.changed);
  const want = [...changedPaths].sort();
  const wanted = new Set(want);
  const ok =
    JSON.stringify(changed) === JSON.stringify(want) &&
    [diff.added, diff.removed, diff.renamed].every((l) => Array.isArray(l) && l.length === 0);
  ctx.check(
    `${what}: changed = exactly the ${want.length} rewritten paths, nothing added/removed/renamed`,
    ok,
    `changed ${changed.length} (${changed.filter((c) => !wanted.has(c)).length} unexpected), added ${diff.added?.length}, removed ${diff.removed?.length}, renamed ${diff.renamed?.length}`,
  );
}
