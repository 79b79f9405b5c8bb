// Invariant 3 on the local provider: a put killed with SIGKILL at fixed points (STRATA_FAULT,
// src/core/faults.ts) leaves the catalog consistent, and running it again finishes the version,
// uploading exactly what was not stored before the kill and never touching a blob that was.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { strata, strataJson, type CliOptions } from '../helpers/cli.js';
import { assertBuilt } from '../helpers/expect-cli.js';
import { createDataset, listFilesJson, openVersion, put, type FileJson, type PutJson } from '../helpers/fixtures.js';
import { statFiles, type FileStamp } from '../helpers/snapshot.js';
import { tempDirs } from '../helpers/temp.js';
import { bytesNotStored, manifest, uninterrupted } from '../helpers/resume.js';
import { makeTree, readTree, type TreeEntry } from '../helpers/tree.js';

const fresh = tempDirs('strata-resume-');

beforeAll(assertBuilt);

/**
 * More than two batches of 500 (src/transfer/put.ts): a kill after the first batch, or inside the
 * transaction of the second, always leaves files out of the version, and some of them not yet
 * stored (at most 2 × concurrency files are under way past the last one recorded).
 */
const FILES = 1100;

/** sha256 → stamp of every blob in the local provider's storage (temp files of a killed write left out). */
function storedBlobs(home: string): Map<string, FileStamp> {
  const root = join(home, 'storage', 'blobs', 'sha256');
  const out = new Map<string, FileStamp>();
  for (const f of statFiles(root)) {
    const [shard, name] = f.path.split('/');
    if (name && /^[0-9a-f]{64}$/.test(name)) {
      expect(name.startsWith(shard!)).toBe(true);
      out.set(name, f);
    }
  }
  return out;
}

/** Runs the put with a crash point armed; it must die by SIGKILL (the fault fired) rather than finish. */
async function killedPut(o: CliOptions, ref: string, src: string, fault: string): Promise<void> {
  const r = await strata(['datasets', 'files', 'put', '--id', ref, '--source-path', `${src}/`, '--json'], {
    ...o,
    env: { ...o.env, STRATA_FAULT: fault },
  });
  expect(
    { fault, signal: r.signal, code: r.code, stdout: r.stdout },
    `STRATA_FAULT=${fault} should have killed the put\nstderr: ${r.stderr}`,
  ).toEqual({ fault, signal: 'SIGKILL', code: null, stdout: '' });
}

/** After a kill: the catalog is sound, and what the version holds is a strict subset of the source, each blob stored. */
async function checkConsistentAfterKill(o: CliOptions, ref: string, tree: TreeEntry[]): Promise<FileJson[]> {
  const db = new Database(join(o.home, 'catalog.db'), { readonly: true, fileMustExist: true });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(db.pragma('foreign_key_check')).toEqual([]);
  } finally {
    db.close();
  }
  const listed = await listFilesJson(o, ref);
  const source = new Map(tree.map((f) => [f.path, f]));
  const blobs = storedBlobs(o.home);
  for (const f of listed) {
    expect(f.sha256, f.path).toBe(source.get(f.path)?.sha256);
    expect(blobs.get(f.sha256!)?.size, `blob of ${f.path}`).toBe(f.size);
  }
  return listed;
}

describe.concurrent('an interrupted put resumes (local provider)', () => {
  it.for([
    { label: 'after a batch was recorded', faults: ['put:after-batch:1'] },
    { label: 'inside the catalog transaction of a batch', faults: ['put:in-transaction:2'] },
    {
      label: 'twice: after a batch, then again inside a transaction',
      faults: ['put:after-batch:1', 'put:in-transaction:2'],
    },
  ])(
    'killed $label: the rerun uploads only what was missing and gives the uninterrupted version',
    async ({ faults }, context) => {
      const o = { home: fresh() };
      const src = join(fresh(), 'data');
      makeTree(src, { count: FILES, seed: 42, maxSize: 2048 });
      const tree = readTree(src);
      const total = statFiles(src).reduce((n, f) => n + f.size, 0);
      const reference = uninterrupted(src, fresh(), context);

      await createDataset(o);
      const v = await openVersion(o, 'demo');
      let listed: FileJson[] = [];
      for (const fault of faults) {
        await killedPut(o, v.ref, src, fault);
        listed = await checkConsistentAfterKill(o, v.ref, tree);
      }
      // Killed part way: some files are in the version and some are not.
      expect(listed.length).toBeGreaterThan(0);
      expect(listed.length).toBeLessThan(FILES);

      const before = storedBlobs(o.home);
      const expectedUpload = bytesNotStored(src, tree, before);
      // A second crash late in a resumed put may come after every blob is stored.
      if (faults.length === 1) expect(expectedUpload).toBeGreaterThan(0);

      const resumed = await put(o, v.ref, `${src}/`);
      expect(resumed).toMatchObject<Partial<PutJson>>({
        ref: v.ref,
        files: FILES,
        bytes: total,
        bytesUploaded: expectedUpload,
        bytesSkipped: total - expectedUpload,
      });

      // No blob stored before the kill was written again: same inode, same mtime, same size.
      const after = storedBlobs(o.home);
      expect(after.size).toBe(FILES);
      for (const [sha, stamp] of before) expect(after.get(sha), sha).toEqual(stamp);

      const final = await listFilesJson(o, v.ref);
      expect(final.map((f) => [f.path, f.sha256])).toEqual(tree.map((f) => [f.path, f.sha256]));
      expect(manifest(final)).toEqual(manifest(await reference));

      await strataJson(['datasets', 'versions', 'commit', '--id', v.ref], o);
      expect(await strataJson(['datasets', 'versions', 'verify', '--id', v.ref, '--deep'], o)).toMatchObject({
        ref: v.ref,
        deep: true,
        files: FILES,
        blobs: FILES,
        bytes: total,
      });
    },
  );
});
