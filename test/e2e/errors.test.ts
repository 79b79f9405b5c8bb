import { mkdirSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { strata, strataJson, type CliOptions } from '../helpers/cli.js';
import { assertBuilt, expectFailure } from '../helpers/expect-cli.js';
import {
  committedVersion,
  createDataset,
  openVersion,
  writeFiles,
  type DatasetJson,
  type PutJson,
  type VersionJson,
} from '../helpers/fixtures.js';
import { catalogRows, statFiles } from '../helpers/snapshot.js';
import { tempDirs } from '../helpers/temp.js';

const fresh = tempDirs('strata-e2e-');

beforeAll(assertBuilt);

interface Home {
  o: CliOptions;
  ds: DatasetJson;
}

/** A home with dataset `demo`. */
async function withDataset(): Promise<Home> {
  const o = { home: fresh() };
  return { o, ds: await createDataset(o) };
}

/** A home with dataset `demo`, one committed version (holding a.txt) and one open one. */
async function withVersions(): Promise<Home & { committed: VersionJson; open: VersionJson }> {
  const { o, ds } = await withDataset();
  const committed = await committedVersion(o, 'demo', writeFiles(fresh(), { 'a.txt': 'a' }));
  const open = await openVersion(o, 'demo');
  return { o, ds, committed, open };
}

/** Every catalog row and every stored object (size, mtime, inode): what a failed command must leave alone. */
function snapshot(o: CliOptions) {
  return { catalog: catalogRows(join(o.home, 'catalog.db')), storage: statFiles(join(o.home, 'storage')) };
}

describe.concurrent('bad input: one clear line (or a JSON error), the exit code of its class, nothing changed', () => {
  it('unknown command → 2, in the words typed, with the closest command or the topic to read', async () => {
    const o = { home: fresh() };
    const { line, error } = await expectFailure(['datasets', 'versions', 'comit', '--id', 'x'], o, 2);
    expect(line).toBe(
      'Error: "datasets versions comit" is not a strata command; did you mean "datasets versions commit"? (see: strata help datasets versions commit)',
    );
    expect(error.code).toBe('EUSAGE');
    const far = await expectFailure(['datasets', 'frobnicate'], o, 2);
    expect(far.line).toBe('Error: "datasets frobnicate" is not a strata command; see: strata help datasets');
    expect((await expectFailure(['frobnicate'], o, 2)).line).toBe(
      'Error: "frobnicate" is not a strata command; see: strata help',
    );
  });

  it('unknown dataset → 3', async () => {
    const { o } = await withDataset();
    const before = snapshot(o);
    const { error } = await expectFailure(['datasets', 'details', '--id', 'nope'], o, 3);
    expect(error).toMatchObject({ code: 'ENODATASET', message: expect.stringContaining('"nope"') as string });
    await expectFailure(['datasets', 'files', 'list', '--id', 'dst0123456789ab:latest'], o, 3);
    await expectFailure(['datasets', 'versions', 'create', '--id', 'nope'], o, 3);
    expect(snapshot(o)).toEqual(before);
  });

  it('unknown version → 3', async () => {
    const { o } = await withDataset();
    const before = snapshot(o);
    const { error } = await expectFailure(['datasets', 'versions', 'details', '--id', 'demo:zzzzzzz'], o, 3);
    expect(error).toMatchObject({ code: 'ENOVERSION', message: expect.stringContaining('"zzzzzzz"') as string });
    await expectFailure(['datasets', 'versions', 'commit', '--id', 'demo:zzzzzzz'], o, 3);
    // A dataset with no committed version has no `latest`.
    const { line } = await expectFailure(['datasets', 'files', 'list', '--id', 'demo'], o, 3);
    expect(line).toContain('no committed version');
    expect(snapshot(o)).toEqual(before);
  });

  it('unknown tag → 3', async () => {
    const { o } = await withDataset();
    await committedVersion(o, 'demo', writeFiles(fresh(), { 'a.txt': 'a' }));
    const before = snapshot(o);
    const { error } = await expectFailure(['datasets', 'tags', 'delete', '--id', 'demo:nosuch'], o, 3);
    expect(error).toMatchObject({ code: 'ENOTAG', message: expect.stringContaining('"nosuch"') as string });
    const target = join(fresh(), 'target');
    await expectFailure(['datasets', 'files', 'get', '--id', 'demo:nosuch', '--target-path', target], o, 3);
    expect(statFiles(target)).toEqual([]);
    expect(snapshot(o)).toEqual(before);
  });

  it('name taken → 4, on create and on rename', async () => {
    const { o } = await withDataset();
    await createDataset(o, 'other');
    const before = snapshot(o);
    const { error } = await expectFailure(['datasets', 'create', '--name', 'demo'], o, 4);
    expect(error.code).toBe('ENAMETAKEN');
    expect((await expectFailure(['datasets', 'update', '--id', 'other', '--name', 'demo'], o, 4)).error.code).toBe(
      'ENAMETAKEN',
    );
    expect(snapshot(o)).toEqual(before);
  });

  it('malformed ref → 2 (a:b:c, empty parts, forbidden characters, a ref where a dataset is expected and back)', async () => {
    const { o } = await withDataset();
    const before = snapshot(o);
    for (const args of [
      ['datasets', 'files', 'list', '--id', 'a:b:c'],
      ['datasets', 'versions', 'details', '--id', 'demo:'],
      ['datasets', 'files', 'list', '--id', ':abc1234'],
      ['datasets', 'files', 'list', '--id', 'demo:a/b'],
      ['datasets', 'versions', 'create', '--id', 'demo:abc1234'],
      ['datasets', 'versions', 'commit', '--id', 'demo'],
      ['datasets', 'tags', 'delete', '--id', 'demo'],
    ]) {
      const { error } = await expectFailure(args, o, 2);
      expect({ args, code: error.code }).toEqual({ args, code: 'EREF' });
    }
    expect(snapshot(o)).toEqual(before);
  });

  it('a dataset name with a forbidden character → 2', async () => {
    const { o } = await withDataset();
    const before = snapshot(o);
    for (const name of ['bad/name', 'x=y', 'a,b', 'a:b', 'with space']) {
      for (const args of [
        ['datasets', 'create', '--name', name],
        ['datasets', 'update', '--id', 'demo', '--name', name],
      ]) {
        const { error } = await expectFailure(args, o, 2);
        expect({ args, code: error.code }).toEqual({ args, code: 'ENAME' });
        expect(error.message).toContain(`"${name}"`);
      }
    }
    expect(snapshot(o)).toEqual(before);
  });

  it('a tag with a forbidden character → 2', async () => {
    const { o } = await withDataset();
    const committed = await committedVersion(o, 'demo', writeFiles(fresh(), { 'a.txt': 'a' }));
    const before = snapshot(o);
    for (const tag of ['x=y', 'bad/tag', 'a,b', 'a:b']) {
      const { error } = await expectFailure(['datasets', 'tags', 'set', '--id', committed.ref, '--name', tag], o, 2);
      expect({ tag, code: error.code }).toEqual({ tag, code: 'ENAME' });
    }
    expect(snapshot(o)).toEqual(before);
  });

  it('a dataset name that looks like a dataset id → 2', async () => {
    const o = { home: fresh() };
    const { error } = await expectFailure(['datasets', 'create', '--name', 'dst0123456789ab'], o, 2);
    expect(error).toMatchObject({
      code: 'ENAME',
      message: expect.stringContaining('looks like a dataset id') as string,
    });
    expect(await strataJson(['datasets', 'list'], o)).toEqual([]);
  });

  it('a tag named `latest` → 2', async () => {
    const { o } = await withDataset();
    const committed = await committedVersion(o, 'demo', writeFiles(fresh(), { 'a.txt': 'a' }));
    const before = snapshot(o);
    const { error } = await expectFailure(['datasets', 'tags', 'set', '--id', committed.ref, '--name', 'latest'], o, 2);
    expect(error).toMatchObject({ code: 'ENAME', message: expect.stringContaining('reserved') as string });
    expect(snapshot(o)).toEqual(before);
  });

  it('a tag named like an existing version id → 4', async () => {
    const { o, committed, open } = await withVersions();
    const before = snapshot(o);
    const { error } = await expectFailure(['datasets', 'tags', 'set', '--id', committed.ref, '--name', open.id], o, 4);
    expect(error.code).toBe('ENAMETAKEN');
    expect(error.message).toContain(open.id);
    expect(snapshot(o)).toEqual(before);
  });

  it('a tag on an uncommitted version → 4, naming `versions commit`', async () => {
    const { o, open } = await withVersions();
    const before = snapshot(o);
    const { error } = await expectFailure(['datasets', 'tags', 'set', '--id', open.ref, '--name', 'prod'], o, 4);
    expect(error.code).toBe('EUNCOMMITTED');
    expect(error.message).toContain(`strata datasets versions commit --id ${open.ref}`);
    expect(snapshot(o)).toEqual(before);
  });

  it('a missing source path → 3, nothing stored, no version left behind', async () => {
    const { o } = await withDataset();
    const open = await openVersion(o, 'demo');
    const present = writeFiles(fresh(), { 'present.txt': 'p' });
    const missing = join(fresh(), 'missing');
    const before = snapshot(o);
    const { error } = await expectFailure(
      ['datasets', 'files', 'put', '--id', open.ref, '--source-path', present, '--source-path', missing],
      o,
      3,
    );
    expect(error).toMatchObject({ code: 'ENOSOURCE', message: expect.stringContaining(missing) as string });
    await expectFailure(['datasets', 'versions', 'create', '--id', 'demo', '--source-path', missing], o, 3);
    expect(snapshot(o)).toEqual(before);
  });

  it('two sources onto one path → 2, nothing stored: storage unchanged and the version has 0 files', async () => {
    const { o } = await withDataset();
    const open = await openVersion(o, 'demo');
    const one = writeFiles(fresh(), { 'a.txt': 'one', 'only-one.txt': '1' });
    const two = writeFiles(fresh(), { 'a.txt': 'two' });
    const before = snapshot(o);
    const { error } = await expectFailure(
      ['datasets', 'files', 'put', '--id', open.ref, '--source-path', `${one}/`, '--source-path', `${two}/`],
      o,
      2,
    );
    expect(error).toMatchObject({ code: 'EDUPLICATEPATH', message: expect.stringContaining('"a.txt"') as string });
    await expectFailure(
      ['datasets', 'versions', 'create', '--id', 'demo', '--source-path', `${one}/`, '--source-path', `${two}/`],
      o,
      2,
    );
    expect(snapshot(o)).toEqual(before);
    expect(await strataJson<VersionJson>(['datasets', 'versions', 'details', '--id', open.ref], o)).toMatchObject({
      fileCount: 0,
      size: 0,
    });
  });

  it('a path put as a file and, by another put, as a folder → commit refuses with 4, nothing changed; deleting one commits', async () => {
    const { o } = await withDataset();
    const open = await openVersion(o, 'demo');
    await strataJson(
      ['datasets', 'files', 'put', '--id', open.ref, '--source-path', `${writeFiles(fresh(), { f: 'file' })}/`],
      o,
    );
    const under = `${writeFiles(fresh(), { 'y.txt': 'y' })}/`;
    await strataJson(['datasets', 'files', 'put', '--id', open.ref, '--source-path', under, '--target-path', 'f'], o);
    const before = snapshot(o);
    const { error } = await expectFailure(['datasets', 'versions', 'commit', '--id', open.ref], o, 4);
    expect(error).toMatchObject({
      code: 'EPATHCLASH',
      message: expect.stringContaining('"f" is a file and also a folder ("f/y.txt")') as string,
    });
    expect(snapshot(o)).toEqual(before);
    await strataJson(['datasets', 'files', 'delete', '--id', open.ref, '--path', 'f'], o);
    await strataJson(['datasets', 'files', 'put', '--id', open.ref, '--source-path', under, '--target-path', 'f'], o);
    expect(await strataJson<VersionJson>(['datasets', 'versions', 'commit', '--id', open.ref], o)).toMatchObject({
      isCommitted: true,
      fileCount: 1,
    });
  });

  it('delete of a dataset still holding versions, without --force → 4', async () => {
    const { o } = await withDataset();
    await openVersion(o, 'demo');
    const before = snapshot(o);
    const { error } = await expectFailure(['datasets', 'delete', '--id', 'demo'], o, 4);
    expect(error.code).toBe('ENOTEMPTY');
    expect(error.message).toContain('--force');
    expect(snapshot(o)).toEqual(before);
  });

  it('a missing required flag → 2, naming the flag', async () => {
    const o = { home: fresh() };
    const { error } = await expectFailure(['datasets', 'create'], o, 2);
    expect(error.message).toMatch(/\bname\b/);
    const files = await expectFailure(['datasets', 'files', 'delete', '--id', 'demo:abc1234'], o, 2);
    expect(files.error.message).toMatch(/\bpath\b/);
  });

  it('an unknown flag → 2, naming the flag', async () => {
    const o = { home: fresh() };
    const { error } = await expectFailure(['datasets', 'list', '--bogus'], o, 2);
    expect(error.message).toContain('--bogus');
  });
});

describe.concurrent('files, streams and permissions', () => {
  it('$STRATA_HOME/catalog.db is created with mode 0600', async () => {
    const o = { home: fresh() };
    await strataJson(['datasets', 'list'], o);
    expect(statSync(join(o.home, 'catalog.db')).mode & 0o777).toBe(0o600);
  });

  it('stdout carries only the result and stderr only warnings: a put skipping a symlink', async () => {
    const { o } = await withDataset();
    const src = writeFiles(fresh(), { 'data/real.txt': 'real' });
    mkdirSync(join(src, 'elsewhere'));
    symlinkSync(join(src, 'elsewhere'), join(src, 'data/link'));

    const v1 = await openVersion(o, 'demo');
    const json = await strata(
      ['datasets', 'files', 'put', '--id', v1.ref, '--source-path', join(src, 'data'), '--json'],
      o,
    );
    expect(json.code).toBe(0);
    expect(json.stderr).toMatch(/^Warning: skipping symlink .*data\/link.*\n$/);
    expect(JSON.parse(json.stdout) as PutJson).toMatchObject({ ref: v1.ref, files: 1 });

    const v2 = await openVersion(o, 'demo');
    const text = await strata(['datasets', 'files', 'put', '--id', v2.ref, '--source-path', join(src, 'data')], o);
    expect(text.code).toBe(0);
    expect(text.stderr).toMatch(/^Warning: skipping symlink .*data\/link.*\n$/);
    expect(text.stdout).toMatch(new RegExp(`^Put 1 file\\(s\\), .* into ${v2.ref}: [^\\n]*\\n$`));
  });

  it('with --follow-symlinks the link is stored, with no warning', async () => {
    const { o } = await withDataset();
    const src = writeFiles(fresh(), { 'data/real.txt': 'real', 'elsewhere/inner.txt': 'inner' });
    symlinkSync(join(src, 'elsewhere'), join(src, 'data/link'));
    const v = await openVersion(o, 'demo');
    const r = await strata(
      [
        'datasets',
        'files',
        'put',
        '--id',
        v.ref,
        '--source-path',
        `${join(src, 'data')}/`,
        '--follow-symlinks',
        '--json',
      ],
      o,
    );
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect((JSON.parse(r.stdout) as PutJson).files).toBe(2);
    const files = await strataJson<{ path: string }[]>(['datasets', 'files', 'list', '--id', v.ref, '-r'], o);
    expect(files.map((f) => f.path)).toEqual(['link/inner.txt', 'real.txt']);
  });
});
