import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { strata, strataJson, type CliOptions } from '../helpers/cli.js';
import { assertBuilt, expectErrorLine, expectJsonError } from '../helpers/expect-cli.js';
import {
  committedVersion,
  createDataset,
  listFilesJson,
  openVersion,
  put,
  writeFiles,
  type VersionJson,
} from '../helpers/fixtures.js';
import { catalogRows, statFiles } from '../helpers/snapshot.js';
import { tempDirs } from '../helpers/temp.js';
import { makeTree, readTree } from '../helpers/tree.js';

const fresh = tempDirs('strata-e2e-');

beforeAll(assertBuilt);

/**
 * What the CLI says about a version (--json of versions details and files list), every catalog row,
 * and every file in the storage provider with size, mtime and inode.
 */
async function state(o: CliOptions, ref: string) {
  return {
    details: await strataJson<VersionJson>(['datasets', 'versions', 'details', '--id', ref], o),
    files: await listFilesJson(o, ref),
    catalog: catalogRows(join(o.home, 'catalog.db')),
    storage: statFiles(join(o.home, 'storage')),
  };
}

describe.concurrent('a committed version never changes', () => {
  it.each([
    ['files put', (ref: string, src: string) => ['datasets', 'files', 'put', '--id', ref, '--source-path', src]],
    ['files delete --path /', (ref: string) => ['datasets', 'files', 'delete', '--id', ref, '--path', '/']],
    ['files delete of one file', (ref: string) => ['datasets', 'files', 'delete', '--id', ref, '--path', 'a.txt']],
  ])('refuses %s with exit 4 naming `versions create`; catalog and storage unchanged', async (_what, command) => {
    const o = { home: fresh() };
    const ds = await createDataset(o);
    const src = writeFiles(fresh(), { 'a.txt': 'a', 'dir/b.txt': 'b' });
    const v = await committedVersion(o, 'demo', `${src}/`);
    await strataJson(['datasets', 'tags', 'set', '--id', v.ref, '--name', 'prod'], o);
    const newSrc = writeFiles(fresh(), { 'a.txt': 'replaced', 'new.txt': 'new' });
    const before = await state(o, v.ref);
    expect(before.details.fileCount).toBe(2);

    const line = expectErrorLine(await strata(command(v.ref, `${newSrc}/`), o), 4);
    expect(line).toContain(`${v.ref} is committed`);
    expect(line).toContain(`strata datasets versions create --id ${ds.id}`);
    const error = expectJsonError(await strata([...command(v.ref, `${newSrc}/`), '--json'], o), 4);
    expect(error.code).toBe('ECOMMITTED');
    expect(error.message).toContain('strata datasets versions create');

    expect(await state(o, v.ref)).toEqual(before);
  });

  it('a second commit says the version was already committed (exit 0); catalog and storage unchanged', async () => {
    const o = { home: fresh() };
    await createDataset(o);
    const v = await committedVersion(o, 'demo', `${writeFiles(fresh(), { 'a.txt': 'a', 'dir/b.txt': 'b' })}/`);
    const before = await state(o, v.ref);
    const text = await strata(['datasets', 'versions', 'commit', '--id', v.ref], o);
    expect({ code: text.code, stderr: text.stderr }).toEqual({ code: 0, stderr: '' });
    expect(text.stdout).toBe(`Dataset version ${v.ref} was already committed (at ${v.committedAt})\n`);
    const json = await strataJson<VersionJson & { alreadyCommitted: boolean }>(
      ['datasets', 'versions', 'commit', '--id', v.ref],
      o,
    );
    expect(json).toMatchObject({ alreadyCommitted: true, committedAt: v.committedAt, fileCount: 2 });
    expect(await state(o, v.ref)).toEqual(before);
  });

  it('refuses the same through a tag or `latest` (those never name an open version)', async () => {
    const o = { home: fresh() };
    await createDataset(o);
    const v = await committedVersion(o, 'demo', writeFiles(fresh(), { 'a.txt': 'a' }));
    await strataJson(['datasets', 'tags', 'set', '--id', v.ref, '--name', 'prod'], o);
    const before = await state(o, v.ref);
    const src = writeFiles(fresh(), { 'b.txt': 'b' });
    for (const ref of ['demo:prod', 'demo:latest']) {
      const r = await strata(['datasets', 'files', 'put', '--id', ref, '--source-path', src], o);
      expect(r.code).not.toBe(0);
      expectErrorLine(r, r.code!);
    }
    expect(await state(o, v.ref)).toEqual(before);
  });
});

describe.concurrent('content addressing', () => {
  it('a second version holding the same 100 files stores no blob: 0 bytes uploaded, every blob keeps inode and mtime', async () => {
    const o = { home: fresh() };
    await createDataset(o);
    const src = join(fresh(), 'data');
    makeTree(src, { count: 100, seed: 7, maxSize: 4096 });
    const first = await committedVersion(o, 'demo', src);
    const blobsDir = join(o.home, 'storage/blobs');
    const blobs = statFiles(blobsDir);
    expect(blobs).toHaveLength(new Set(readTree(src).map((f) => f.sha256)).size);
    expect(blobs.reduce((n, b) => n + b.size, 0)).toBeGreaterThan(0);

    const second = await openVersion(o, 'demo');
    const p = await put(o, second.ref, src);
    expect(p.files).toBe(100);
    expect(p.bytes).toBe(first.size);
    expect(p.bytesUploaded).toBe(0);
    expect(p.bytesSkipped).toBe(p.bytes);
    expect(statFiles(blobsDir)).toEqual(blobs);

    // The same content under other paths, in another dataset on the same provider: still nothing stored.
    await createDataset(o, 'other');
    const third = await committedVersion(o, 'other', `${src}/`);
    expect(third).toMatchObject({ fileCount: 100, put: { bytesUploaded: 0 } });
    expect(statFiles(blobsDir)).toEqual(blobs);
  });

  it('identical files within one put are stored once', async () => {
    const o = { home: fresh() };
    await createDataset(o);
    const same = 'the same bytes'.repeat(100);
    const src = writeFiles(fresh(), { 'a.txt': same, 'b/a.txt': same, 'c/d/e.txt': same, 'other.txt': 'x' });
    const v = await committedVersion(o, 'demo', `${src}/`);
    expect(v).toMatchObject({ fileCount: 4, put: { bytes: 3 * same.length + 1, bytesUploaded: same.length + 1 } });
    expect(statFiles(join(o.home, 'storage/blobs'))).toHaveLength(2);
  });
});
