import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { strata, strataJson } from '../helpers/cli.js';
import { assertBuilt } from '../helpers/expect-cli.js';
import {
  committedVersion,
  createDataset,
  detailsTable,
  listFilesJson,
  ok,
  openVersion,
  put,
  tableRows,
  writeFiles,
  type DatasetJson,
  type FileJson,
  type TagJson,
  type VersionJson,
} from '../helpers/fixtures.js';
import { statFiles } from '../helpers/snapshot.js';
import { tempDirs } from '../helpers/temp.js';
import { makeTree, readTree } from '../helpers/tree.js';

const fresh = tempDirs('strata-e2e-');

beforeAll(assertBuilt);

describe.concurrent('the Gradient flow', () => {
  it('create → versions create → files put → commit → tags set → list → details → files list → files get, as tables', async () => {
    const o = { home: fresh() };
    const src = join(fresh(), 'data');
    makeTree(src, { count: 20, seed: 3 });

    const created = /^Created dataset: (dst[a-z0-9]{12})\n$/.exec(
      await ok(['datasets', 'create', '--name', 'demo', '--description', 'a demo'], o),
    );
    const datasetId = created![1]!;
    const opened = /^Created dataset version: (dst[a-z0-9]{12}):([a-z0-9]{7})\n$/.exec(
      await ok(['datasets', 'versions', 'create', '--id', 'demo', '--message', 'first'], o),
    );
    expect(opened![1]).toBe(datasetId);
    const ref = `${datasetId}:${opened![2]!}`;

    expect(await ok(['datasets', 'files', 'put', '--id', ref, '--source-path', src], o)).toMatch(
      new RegExp(`^Put 20 file\\(s\\), .+ into ${ref}: .+ uploaded, .+ already stored, .+ s\\n$`),
    );
    expect(await ok(['datasets', 'versions', 'commit', '--id', ref], o)).toBe(`Committed dataset version: ${ref}\n`);
    expect(await ok(['datasets', 'tags', 'set', '--id', ref, '--name', 'prod'], o)).toContain(ref);

    const list = tableRows(await ok(['datasets', 'list'], o));
    expect(list[0]).toEqual(['Name', 'ID', 'Storage Provider']);
    expect(list).toHaveLength(2);
    expect(list[1]!.slice(0, 2)).toEqual(['demo', datasetId]);
    expect(list[1]![2]).toMatch(/^local\b/);

    const details = detailsTable(await ok(['datasets', 'versions', 'details', '--id', 'demo:prod'], o));
    expect(details).toMatchObject({ ID: ref, Message: 'first', Committed: 'true', Tags: 'prod', Files: '20' });
    expect(details['Committed at']).toMatch(/^\d{4}-\d\d-\d\dT/);

    const top = tableRows(await ok(['datasets', 'files', 'list', '--id', 'demo'], o));
    expect(top).toEqual([
      ['Name', 'Size', 'Mode', 'Modified'],
      ['data/', expect.stringMatching(/B$/), '', ''],
    ]);
    const all = tableRows(await ok(['datasets', 'files', 'list', '--id', 'demo', '--path', '/data', '--recursive'], o));
    expect(all.slice(1).map((r) => r[0])).toEqual(
      readTree(src)
        .map((f) => `data/${f.path}`)
        .sort(),
    );

    const out = join(fresh(), 'out');
    expect(await ok(['datasets', 'files', 'get', '--id', 'demo:prod', '--target-path', out], o)).toMatch(
      new RegExp(
        `^Got 20 file\\(s\\), .+ from ${ref} into ${out} in [\\d.]+ s \\(0 blob\\(s\\) from the cache, 20 fetched; copy\\)\\n$`,
      ),
    );
    expect(readTree(join(out, 'data'))).toEqual(readTree(src));
  });

  it('the same flow with --json: every result is one JSON document on stdout', async () => {
    const o = { home: fresh() };
    const src = join(fresh(), 'data');
    makeTree(src, { count: 12, seed: 4 });
    const totalBytes = readTree(src).reduce((n, f) => n + statSync(join(src, f.path)).size, 0);

    const ds = await strataJson<DatasetJson>(['datasets', 'create', '--name', 'demo', '--description', 'd'], o);
    expect(ds).toMatchObject({ name: 'demo', description: 'd', storageProviderName: 'local' });
    expect(ds.id).toMatch(/^dst[a-z0-9]{12}$/);
    expect(ds.storageProviderId).toMatch(/^spl[a-z0-9]{12}$/);

    const v = await strataJson<VersionJson>(['datasets', 'versions', 'create', '--id', ds.id, '--message', 'm'], o);
    expect(v).toMatchObject({ datasetId: ds.id, ref: `${ds.id}:${v.id}`, message: 'm', isCommitted: false });
    expect(v).toMatchObject({ committedAt: null, tags: [], fileCount: 0, size: 0 });

    const p = await put(o, v.ref, `${src}/`);
    expect(p).toMatchObject({ ref: v.ref, files: 12, bytes: totalBytes, bytesUploaded: totalBytes, bytesSkipped: 0 });

    const { alreadyCommitted, ...c } = await strataJson<VersionJson & { alreadyCommitted: boolean }>(
      ['datasets', 'versions', 'commit', '--id', v.ref],
      o,
    );
    expect(alreadyCommitted).toBe(false);
    expect(c).toMatchObject({ ref: v.ref, isCommitted: true, fileCount: 12, size: totalBytes });
    expect(Date.parse(c.committedAt!)).toBeGreaterThanOrEqual(Date.parse(c.createdAt));

    const t = await strataJson<TagJson>(['datasets', 'tags', 'set', '--id', v.ref, '--name', 'v1.0'], o);
    expect(t).toMatchObject({ datasetId: ds.id, name: 'v1.0', versionId: v.id, ref: v.ref });

    expect(await strataJson<DatasetJson[]>(['datasets', 'list'], o)).toEqual([ds]);
    const d = await strataJson<VersionJson>(['datasets', 'versions', 'details', '--id', 'demo:v1.0'], o);
    expect(d).toMatchObject({ ...c, tags: ['v1.0'] });

    const files = await strataJson<FileJson[]>(['datasets', 'files', 'list', '--id', 'demo', '--recursive'], o);
    const tree = readTree(src);
    expect(files.map((f) => [f.path, f.type, f.sha256, f.mode])).toEqual(
      tree.map((f) => [f.path, 'file', f.sha256, f.mode]),
    );
    expect(files.map((f) => f.mtime)).toEqual(tree.map((f) => new Date(f.mtimeMs).toISOString()));

    const out = fresh();
    const got = await strataJson<{ ref: string; target: string; files: number; bytes: number }>(
      ['datasets', 'files', 'get', '--id', `demo:${v.id}`, '--target-path', out],
      o,
    );
    expect(got).toMatchObject({ ref: v.ref, target: out, files: 12, bytes: totalBytes });
    expect(readTree(out)).toEqual(tree);
  });

  it('refs name a version as DS, DS:latest, DS:VERSION or DS:TAG, by dataset name or id', async () => {
    const o = { home: fresh() };
    const src = writeFiles(fresh(), { 'one.txt': '1' });
    const ds = await createDataset(o);
    const v1 = await committedVersion(o, 'demo', join(src, 'one.txt'));
    await ok(['datasets', 'tags', 'set', '--id', v1.ref, '--name', 'first'], o);
    writeFiles(src, { 'two.txt': '2' });
    const v2 = await committedVersion(o, 'demo', join(src, 'two.txt'));
    const open = await openVersion(o, 'demo');

    const versionOf = async (ref: string): Promise<string> =>
      (await strataJson<VersionJson>(['datasets', 'versions', 'details', '--id', ref], o)).id;
    for (const name of ['demo', ds.id]) {
      expect(await versionOf(name)).toBe(v2.id);
      expect(await versionOf(`${name}:latest`)).toBe(v2.id);
      expect(await versionOf(`${name}:first`)).toBe(v1.id);
      expect(await versionOf(`${name}:${v1.id}`)).toBe(v1.id);
    }
    // An open version is reachable by its id, but is never "latest".
    expect(await versionOf(`demo:${open.id}`)).toBe(open.id);
    expect((await listFilesJson(o, 'demo:first')).map((f) => f.path)).toEqual(['one.txt']);
    expect((await listFilesJson(o, 'demo')).map((f) => f.path)).toEqual(['two.txt']);

    // tags set takes any ref to a committed version, like every command that reads one.
    const tagged = async (ref: string, name: string): Promise<string> =>
      (await strataJson<TagJson>(['datasets', 'tags', 'set', '--id', ref, '--name', name], o)).versionId;
    expect(await tagged('demo:latest', 'prod')).toBe(v2.id);
    expect(await tagged('demo:first', 'stable')).toBe(v1.id);
    expect(await tagged(ds.id, 'newest')).toBe(v2.id);
    expect(await versionOf('demo:stable')).toBe(v1.id);
  });

  it('storageProviders list and details show the built-in local provider', async () => {
    const o = { home: fresh() };
    const rows = tableRows(await ok(['storageProviders', 'list'], o));
    expect(rows[0]).toEqual(['Name', 'ID', 'Type', 'Location']);
    expect(rows.slice(1)).toEqual([
      ['local', expect.stringMatching(/^spl[a-z0-9]{12}$/), 'local', join(o.home, 'storage')],
    ]);

    const listed = await strataJson<{ id: string; name: string; type: string; config: { path: string } }[]>(
      ['storageProviders', 'list'],
      o,
    );
    expect(listed).toEqual([
      expect.objectContaining({
        id: rows[1]![1],
        name: 'local',
        type: 'local',
        config: { path: join(o.home, 'storage') },
      }),
    ]);
    for (const id of ['local', listed[0]!.id]) {
      const details = await strataJson<{ id: string; name: string; type: string }>(
        ['storageProviders', 'details', '--id', id],
        o,
      );
      expect(details).toMatchObject({ id: listed[0]!.id, name: 'local', type: 'local' });
    }
    expect(detailsTable(await ok(['storageProviders', 'details', '--id', 'local'], o))).toMatchObject({
      Name: 'local',
      Type: 'local',
    });
  });

  it('datasets create uses the local provider by default and accepts it by name or id', async () => {
    const o = { home: fresh() };
    const [local] = await strataJson<{ id: string }[]>(['storageProviders', 'list'], o);
    const a = await createDataset(o, 'a');
    const b = await strataJson<DatasetJson>(['datasets', 'create', '--name', 'b', '--storageProviderId', 'local'], o);
    const c = await strataJson<DatasetJson>(['datasets', 'create', '--name', 'c', '--storageProviderId', local!.id], o);
    for (const d of [a, b, c]) expect(d.storageProviderId).toBe(local!.id);
    const dataset = JSON.parse(readFileSync(join(o.home, 'storage/datasets', a.id, 'dataset.json'), 'utf8')) as object;
    expect(dataset).toMatchObject({ id: a.id, name: 'a', format: 'strata.dataset/1' });
  });

  it('datasets update renames and re-describes, in the catalog and in the bucket', async () => {
    const o = { home: fresh() };
    const ds = await createDataset(o, 'old-name');
    expect(await ok(['datasets', 'update', '--id', 'old-name', '--name', 'new-name'], o)).toBe(
      `Updated dataset: ${ds.id}\n`,
    );
    const updated = await strataJson<DatasetJson>(['datasets', 'update', '--id', ds.id, '--description', 'now'], o);
    expect(updated).toMatchObject({ id: ds.id, name: 'new-name', description: 'now' });
    expect(await strataJson<DatasetJson>(['datasets', 'details', '--id', 'new-name'], o)).toMatchObject({
      id: ds.id,
      name: 'new-name',
      description: 'now',
    });
    const doc = JSON.parse(readFileSync(join(o.home, 'storage/datasets', ds.id, 'dataset.json'), 'utf8')) as object;
    expect(doc).toMatchObject({ id: ds.id, name: 'new-name', description: 'now' });
    const details = detailsTable(await ok(['datasets', 'details', '--id', ds.id], o));
    expect(details).toMatchObject({ Name: 'new-name', ID: ds.id, Description: 'now' });
    expect(details['Storage Provider']).toMatch(/^local \(spl[a-z0-9]{12}\)$/);
    expect((await strata(['datasets', 'details', '--id', 'old-name'], o)).code).toBe(3);
  });

  it('datasets delete removes an empty dataset, and with --force one holding versions; blobs stay', async () => {
    const o = { home: fresh() };
    const empty = await createDataset(o, 'empty');
    expect(await ok(['datasets', 'delete', '--id', 'empty'], o)).toBe(`Deleted dataset: ${empty.id}\n`);

    const full = await createDataset(o, 'full');
    const v = await committedVersion(o, 'full', writeFiles(fresh(), { 'a.txt': 'a' }));
    await ok(['datasets', 'tags', 'set', '--id', v.ref, '--name', 'prod'], o);
    const blobs = statFiles(join(o.home, 'storage/blobs'));
    expect(blobs).toHaveLength(1);
    expect(await strataJson<DatasetJson>(['datasets', 'delete', '--id', full.id, '--force'], o)).toMatchObject({
      id: full.id,
      name: 'full',
    });

    expect(await strataJson<DatasetJson[]>(['datasets', 'list'], o)).toEqual([]);
    // No object of the dataset is left (the local provider may keep empty directories: not objects).
    expect(statFiles(join(o.home, 'storage/datasets'))).toEqual([]);
    expect(statFiles(join(o.home, 'storage/blobs'))).toEqual(blobs);
    // The name is free again.
    await createDataset(o, 'full');
  });
});

describe.concurrent('versions', () => {
  it('versions create --source-path uploads, commits at once and prints both Gradient lines and what it put', async () => {
    const o = { home: fresh() };
    const ds = await createDataset(o);
    const src = writeFiles(fresh(), { 'x/a.txt': 'a', 'x/b.txt': 'bb' });
    const stdout = await ok(['datasets', 'versions', 'create', '--id', 'demo', '--source-path', join(src, 'x')], o);
    const m =
      /^Created dataset version: (dst[a-z0-9]{12}:[a-z0-9]{7})\nPut 2 file\(s\), 3 B into \1: 3 B uploaded, 0 B already stored, [\d.]+ s\nCommitted dataset version: (\S+)\n$/.exec(
        stdout,
      );
    expect(m?.[2], stdout).toBe(m?.[1]);
    expect(m![1]!.startsWith(`${ds.id}:`)).toBe(true);
    const v = await strataJson<VersionJson>(['datasets', 'versions', 'details', '--id', m![1]!], o);
    expect(v).toMatchObject({ isCommitted: true, fileCount: 2, size: 3 });
    expect((await listFilesJson(o, 'demo')).map((f) => f.path)).toEqual(['x/a.txt', 'x/b.txt']);
    const manifest = JSON.parse(
      readFileSync(join(o.home, 'storage/datasets', ds.id, 'versions', `${v.id}.json`), 'utf8'),
    ) as { files: { path: string }[] };
    expect(manifest.files.map((f) => f.path)).toEqual(['x/a.txt', 'x/b.txt']);

    const json = await committedVersion(o, 'demo', `${join(src, 'x')}/`);
    expect(json).toMatchObject({ isCommitted: true, fileCount: 2, put: { files: 2, bytes: 3, bytesUploaded: 0 } });
  });

  it('versions list shows all versions; --isCommitted only committed ones, --no-isCommitted only open ones', async () => {
    const o = { home: fresh() };
    await createDataset(o);
    const committed = await committedVersion(o, 'demo', writeFiles(fresh(), { 'a.txt': 'a' }));
    const open = await openVersion(o, 'demo');
    const ids = async (...flags: string[]): Promise<string[]> =>
      (await strataJson<VersionJson[]>(['datasets', 'versions', 'list', '--id', 'demo', ...flags], o)).map((v) => v.id);
    expect((await ids()).sort()).toEqual([committed.id, open.id].sort());
    expect(await ids('--isCommitted')).toEqual([committed.id]);
    expect(await ids('--no-isCommitted')).toEqual([open.id]);

    const rows = tableRows(await ok(['datasets', 'versions', 'list', '--id', 'demo', '--isCommitted'], o));
    expect(rows[0]).toEqual(['ID', 'Message', 'Committed', 'Tags', 'Files', 'Size', 'Created']);
    expect(rows.slice(1).map((r) => [r[0], r[2], r[4]])).toEqual([[committed.ref, 'true', '1']]);
  });

  it('versions update changes the message of an open version; a committed one keeps its message', async () => {
    const o = { home: fresh() };
    await createDataset(o);
    const open = await openVersion(o, 'demo');
    expect(await ok(['datasets', 'versions', 'update', '--id', open.ref, '--message', 'better'], o)).toBe(
      `Updated dataset version: ${open.ref}\n`,
    );
    expect(
      await strataJson<VersionJson>(
        ['datasets', 'versions', 'update', '--id', `demo:${open.id}`, '--message', 'best'],
        o,
      ),
    ).toMatchObject({ ref: open.ref, message: 'best' });
    expect(detailsTable(await ok(['datasets', 'versions', 'details', '--id', open.ref], o)).Message).toBe('best');

    const committed = await committedVersion(o, 'demo', writeFiles(fresh(), { 'a.txt': 'a' }));
    const r = await strata(['datasets', 'versions', 'update', '--id', committed.ref, '--message', 'no'], o);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('strata datasets versions create');
  });

  it('versions delete removes an uncommitted version at once', async () => {
    const o = { home: fresh() };
    await createDataset(o);
    const open = await openVersion(o, 'demo');
    await put(o, open.ref, writeFiles(fresh(), { 'a.txt': 'a' }));
    expect(await ok(['datasets', 'versions', 'delete', '--id', open.ref], o)).toBe(
      `Deleted dataset version: ${open.ref}\n`,
    );
    expect(await strataJson<VersionJson[]>(['datasets', 'versions', 'list', '--id', 'demo'], o)).toEqual([]);
    expect((await strata(['datasets', 'versions', 'details', '--id', open.ref], o)).code).toBe(3);
  });

  it('versions delete of a committed version needs --force and takes its tags with it; blobs stay', async () => {
    const o = { home: fresh() };
    const ds = await createDataset(o);
    const keep = await committedVersion(o, 'demo', writeFiles(fresh(), { 'keep.txt': 'keep' }));
    const gone = await committedVersion(o, 'demo', writeFiles(fresh(), { 'gone.txt': 'gone' }));
    await ok(['datasets', 'tags', 'set', '--id', gone.ref, '--name', 'prod'], o);
    await ok(['datasets', 'tags', 'set', '--id', gone.ref, '--name', 'stable'], o);
    await ok(['datasets', 'tags', 'set', '--id', keep.ref, '--name', 'old'], o);
    const storage = join(o.home, 'storage');
    const blobs = statFiles(join(storage, 'blobs'));

    const refused = await strata(['datasets', 'versions', 'delete', '--id', gone.ref], o);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(/^Error: .*--force.*\n$/);
    expect(refused.stderr).toContain('prod, stable');

    const deleted = await strataJson<VersionJson>(['datasets', 'versions', 'delete', '--id', gone.ref, '--force'], o);
    expect(deleted).toMatchObject({ ref: gone.ref, tags: ['prod', 'stable'] });
    expect(
      (await strataJson<VersionJson[]>(['datasets', 'versions', 'list', '--id', 'demo'], o)).map((v) => v.id),
    ).toEqual([keep.id]);
    expect((await strataJson<TagJson[]>(['datasets', 'tags', 'list', '--id', 'demo'], o)).map((t) => t.name)).toEqual([
      'old',
    ]);
    expect(statFiles(join(storage, 'datasets', ds.id)).map((f) => f.path)).toEqual([
      'dataset.json',
      'tags/old.json',
      `versions/${keep.id}.json`,
    ]);
    expect(statFiles(join(storage, 'blobs'))).toEqual(blobs);
    expect((await strata(['datasets', 'files', 'list', '--id', 'demo:prod'], o)).code).toBe(3);
  });
});

describe.concurrent('tags', () => {
  it('tags set creates and moves a tag, tags list shows it, tags delete removes it (the version stays)', async () => {
    const o = { home: fresh() };
    const ds = await createDataset(o);
    const v1 = await committedVersion(o, 'demo', writeFiles(fresh(), { 'a.txt': '1' }));
    const v2 = await committedVersion(o, 'demo', writeFiles(fresh(), { 'a.txt': '2' }));
    const tagFile = join(o.home, 'storage/datasets', ds.id, 'tags/prod.json');

    await ok(['datasets', 'tags', 'set', '--id', v1.ref, '--name', 'prod'], o);
    expect(JSON.parse(readFileSync(tagFile, 'utf8'))).toMatchObject({ name: 'prod', versionId: v1.id });
    expect(
      await strataJson<TagJson>(['datasets', 'tags', 'set', '--id', `demo:${v2.id}`, '--name', 'prod'], o),
    ).toMatchObject({ name: 'prod', versionId: v2.id });
    expect(JSON.parse(readFileSync(tagFile, 'utf8'))).toMatchObject({ name: 'prod', versionId: v2.id });
    await ok(['datasets', 'tags', 'set', '--id', v1.ref, '--name', 'v1'], o);

    const listed = await strataJson<TagJson[]>(['datasets', 'tags', 'list', '--id', 'demo'], o);
    expect(listed.map((t) => [t.name, t.ref])).toEqual([
      ['prod', v2.ref],
      ['v1', v1.ref],
    ]);
    const rows = tableRows(await ok(['datasets', 'tags', 'list', '--id', ds.id], o));
    expect(rows.map((r) => r.slice(0, 2))).toEqual([
      ['Name', 'Version'],
      ['prod', v2.ref],
      ['v1', v1.ref],
    ]);

    expect(await ok(['datasets', 'tags', 'delete', '--id', 'demo:prod'], o)).toBe('Deleted tag: prod\n');
    expect(existsSync(tagFile)).toBe(false);
    expect((await strataJson<TagJson[]>(['datasets', 'tags', 'list', '--id', 'demo'], o)).map((t) => t.name)).toEqual([
      'v1',
    ]);
    expect(await strataJson<VersionJson>(['datasets', 'versions', 'details', '--id', v2.ref], o)).toMatchObject({
      isCommitted: true,
      tags: [],
    });
  });
});

describe.concurrent('files', () => {
  it('files put into an open version replaces a path that is already there', async () => {
    const o = { home: fresh() };
    await createDataset(o);
    const v = await openVersion(o, 'demo');
    const src = writeFiles(fresh(), { 'a.txt': 'old', 'b.txt': 'b' });
    await put(o, v.ref, `${src}/`);
    writeFiles(src, { 'a.txt': 'new content' });
    await put(o, v.ref, join(src, 'a.txt'));
    const files = await listFilesJson(o, v.ref);
    expect(files.map((f) => [f.path, f.size])).toEqual([
      ['a.txt', 'new content'.length],
      ['b.txt', 1],
    ]);
  });

  it('files put honours --target-path', async () => {
    const o = { home: fresh() };
    await createDataset(o);
    const v = await openVersion(o, 'demo');
    const src = writeFiles(fresh(), { 'imgs/a.png': 'a', 'labels.csv': 'l' });
    await ok(
      [
        'datasets',
        'files',
        'put',
        '--id',
        v.ref,
        '--source-path',
        join(src, 'imgs'),
        '--source-path',
        join(src, 'labels.csv'),
        '--target-path',
        '/train/',
      ],
      o,
    );
    expect((await listFilesJson(o, v.ref)).map((f) => f.path)).toEqual(['train/imgs/a.png', 'train/labels.csv']);
  });

  it('files delete removes a file, a directory, or with --path / everything; --path is required', async () => {
    const o = { home: fresh() };
    await createDataset(o);
    const v = await openVersion(o, 'demo');
    await put(
      o,
      v.ref,
      `${writeFiles(fresh(), { 'a.txt': 'a', 'b.txt': 'b', 'dir/c.txt': 'c', 'dir/d/e.txt': 'e' })}/`,
    );
    const paths = async (): Promise<string[]> => (await listFilesJson(o, v.ref)).map((f) => f.path);

    const missing = await strata(['datasets', 'files', 'delete', '--id', v.ref], o);
    expect(missing.code).toBe(2);
    expect(await paths()).toHaveLength(4);

    expect(await ok(['datasets', 'files', 'delete', '--id', v.ref, '--path', '/a.txt'], o)).toBe(
      `Deleted 1 file(s) from ${v.ref}\n`,
    );
    expect(await paths()).toEqual(['b.txt', 'dir/c.txt', 'dir/d/e.txt']);
    expect(await strataJson(['datasets', 'files', 'delete', '--id', v.ref, '--path', 'dir'], o)).toEqual({
      ref: v.ref,
      deleted: 2,
    });
    expect(await paths()).toEqual(['b.txt']);
    expect((await strata(['datasets', 'files', 'delete', '--id', v.ref, '--path', '/nope'], o)).code).toBe(3);
    expect(await strataJson(['datasets', 'files', 'delete', '--id', v.ref, '--path', '/'], o)).toEqual({
      ref: v.ref,
      deleted: 1,
    });
    expect(await paths()).toEqual([]);
  });

  it('files list shows the direct children of a path, directories summed, or everything with --recursive', async () => {
    const o = { home: fresh() };
    await createDataset(o);
    await committedVersion(o, 'demo', `${writeFiles(fresh(), { 'a.txt': 'a', 'd/b.txt': 'bb', 'd/e/c.txt': 'ccc' })}/`);
    const list = (...flags: string[]): Promise<FileJson[]> =>
      strataJson<FileJson[]>(['datasets', 'files', 'list', '--id', 'demo', ...flags], o);
    expect((await list()).map((f) => [f.path, f.type, f.size])).toEqual([
      ['a.txt', 'file', 1],
      ['d', 'dir', 5],
    ]);
    expect((await list('--path', '/d')).map((f) => [f.path, f.type, f.size])).toEqual([
      ['d/b.txt', 'file', 2],
      ['d/e', 'dir', 3],
    ]);
    expect((await list('--path', '/d/', '-r')).map((f) => f.path)).toEqual(['d/b.txt', 'd/e/c.txt']);
    expect((await strata(['datasets', 'files', 'list', '--id', 'demo', '--path', '/nope'], o)).code).toBe(3);
  });
});

describe.concurrent('singular aliases', () => {
  it('every command of the versions, tags and files topics answers to its singular spelling', async () => {
    const o = { home: fresh() };
    await createDataset(o);
    const src = writeFiles(fresh(), { 'a.txt': 'a', 'b.txt': 'b' });
    const v = await strataJson<VersionJson>(['datasets', 'version', 'create', '--id', 'demo'], o);
    await strataJson(['datasets', 'version', 'update', '--id', v.ref, '--message', 'via alias'], o);
    await strataJson(['datasets', 'file', 'put', '--id', v.ref, '--source-path', `${src}/`], o);
    await strataJson(['datasets', 'file', 'delete', '--id', v.ref, '--path', 'b.txt'], o);
    expect((await strataJson<FileJson[]>(['datasets', 'file', 'list', '--id', v.ref], o)).map((f) => f.path)).toEqual([
      'a.txt',
    ]);
    expect(await ok(['datasets', 'version', 'commit', '--id', v.ref], o)).toBe(`Committed dataset version: ${v.ref}\n`);
    await strataJson(['datasets', 'tag', 'set', '--id', v.ref, '--name', 'prod'], o);
    expect((await strataJson<TagJson[]>(['datasets', 'tag', 'list', '--id', 'demo'], o)).map((t) => t.name)).toEqual([
      'prod',
    ]);
    expect(await strataJson<VersionJson>(['datasets', 'version', 'details', '--id', 'demo:prod'], o)).toMatchObject({
      id: v.id,
      message: 'via alias',
      fileCount: 1,
    });
    expect(
      (await strataJson<VersionJson[]>(['datasets', 'version', 'list', '--id', 'demo'], o)).map((x) => x.id),
    ).toEqual([v.id]);
    const out = fresh();
    await strataJson(['datasets', 'file', 'get', '--id', 'demo:prod', '--target-path', out], o);
    expect(readFileSync(join(out, 'a.txt'), 'utf8')).toBe('a');
    await strataJson(['datasets', 'tag', 'delete', '--id', 'demo:prod'], o);
    await strataJson(['datasets', 'version', 'delete', '--id', v.ref, '--force'], o);
    expect(await strataJson<VersionJson[]>(['datasets', 'versions', 'list', '--id', 'demo'], o)).toEqual([]);
  });
});
