// `datasets versions diff`: added, removed, changed (same path, other content or mode) and renamed
// (same content, new path) paths between two versions, as a table and as JSON.
import { chmodSync, cpSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { strata, strataJson, type CliOptions } from '../helpers/cli.js';
import { assertBuilt, expectFailure } from '../helpers/expect-cli.js';
import { committedVersion, createDataset, tableRows, writeFiles, type VersionJson } from '../helpers/fixtures.js';
import { tempDirs } from '../helpers/temp.js';
import { makeTree, randomBytesFrom, readTree, rng } from '../helpers/tree.js';

const fresh = tempDirs('strata-diff-');

beforeAll(assertBuilt);

interface DiffJson {
  from: string;
  to: string;
  added: string[];
  removed: string[];
  changed: string[];
  renamed: { from: string; to: string }[];
}

const diffJson = (o: CliOptions, a: string, b: string): Promise<DiffJson> =>
  strataJson<DiffJson>(['datasets', 'versions', 'diff', '--id', a, '--to', b], o);

async function diffTable(o: CliOptions, a: string, b: string): Promise<string> {
  const r = await strata(['datasets', 'versions', 'diff', '--id', a, '--to', b], o);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  return r.stdout;
}

/** The same diff with every list in path order (the JSON's order is not part of the contract). */
function sorted(d: DiffJson): DiffJson {
  return {
    ...d,
    added: [...d.added].sort(),
    removed: [...d.removed].sort(),
    changed: [...d.changed].sort(),
    renamed: [...d.renamed].sort((x, y) => (x.from < y.from ? -1 : x.from > y.from ? 1 : 0)),
  };
}

/** Rewrites a file with other bytes of the same size, keeping its mode. */
function rewriteInPlace(path: string, seed: number): void {
  writeFileSync(path, randomBytesFrom(rng(seed), statSync(path).size));
}

describe.concurrent('versions diff', () => {
  it('names exactly the added, removed, changed (content or mode) and renamed paths, as JSON and as a table', async () => {
    const o = { home: fresh() };
    const a = join(fresh(), 'a');
    makeTree(a, { count: 60, seed: 5, minSize: 64, maxSize: 1024 });
    writeFiles(a, { 'docs/readme.md': '# data\n', 'labels.csv': 'id,label\n1,cat\n' });
    const b = join(fresh(), 'b');
    cpSync(a, b, { recursive: true, preserveTimestamps: true });

    // removed
    rmSync(join(b, 'd1/s1/file-1.bin'));
    rmSync(join(b, 'd2/s2/file-2.bin'));
    // added (new content)
    writeFiles(b, { 'new/one.txt': 'one', 'new/two.txt': 'two', 'd0/s0/extra.bin': 'extra bytes' });
    // changed: other content, same size; other content and size; same content, other mode
    rewriteInPlace(join(b, 'd3/s0/file-3.bin'), 1);
    writeFileSync(join(b, 'labels.csv'), 'id,label\n1,cat\n2,dog\n');
    chmodSync(join(b, 'd4/s1/file-4.bin'), 0o700);
    // renamed: the same content under a new path (one into a new directory)
    mkdirSync(join(b, 'moved'));
    renameSync(join(b, 'd5/s2/file-5.bin'), join(b, 'moved/file-5.bin'));
    renameSync(join(b, 'docs/readme.md'), join(b, 'README.md'));

    await createDataset(o);
    const v1 = await committedVersion(o, 'demo', `${a}/`);
    const v2 = await committedVersion(o, 'demo', `${b}/`);

    const expected: DiffJson = {
      from: v1.ref,
      to: v2.ref,
      added: ['d0/s0/extra.bin', 'new/one.txt', 'new/two.txt'],
      removed: ['d1/s1/file-1.bin', 'd2/s2/file-2.bin'],
      changed: ['d3/s0/file-3.bin', 'd4/s1/file-4.bin', 'labels.csv'],
      renamed: [
        { from: 'd5/s2/file-5.bin', to: 'moved/file-5.bin' },
        { from: 'docs/readme.md', to: 'README.md' },
      ],
    };
    const d = await diffJson(o, v1.ref, v2.ref);
    expect(Object.keys(d).sort()).toEqual(['added', 'changed', 'from', 'removed', 'renamed', 'to']);
    expect(sorted(d)).toEqual(expected);

    const text = await diffTable(o, v1.ref, v2.ref);
    expect(text.split('\n')[0]).toBe(`${v1.ref} → ${v2.ref}`);
    const [head, ...rows] = tableRows(text);
    expect(head).toEqual(['Change', 'Path']);
    expect(rows.sort()).toEqual(
      [
        ...expected.added.map((p) => ['added', p]),
        ...expected.removed.map((p) => ['removed', p]),
        ...expected.changed.map((p) => ['changed', p]),
        ...expected.renamed.map((r) => ['renamed', `${r.from} → ${r.to}`]),
      ].sort(),
    );

    // The other way round, added and removed swap and renames turn back.
    expect(sorted(await diffJson(o, v2.ref, v1.ref))).toEqual({
      from: v2.ref,
      to: v1.ref,
      added: expected.removed,
      removed: expected.added,
      changed: expected.changed,
      renamed: [
        { from: 'README.md', to: 'docs/readme.md' },
        { from: 'moved/file-5.bin', to: 'd5/s2/file-5.bin' },
      ],
    });
  });

  it('1 % of files changed in place keeping their sizes: `changed` is exactly those, and the put sends only them', async () => {
    const o = { home: fresh() };
    const a = join(fresh(), 'a');
    makeTree(a, { count: 500, seed: 9, minSize: 16, maxSize: 1024 });
    const b = join(fresh(), 'b');
    cpSync(a, b, { recursive: true, preserveTimestamps: true });
    const tree = readTree(a);
    const picked = tree.filter((_, i) => i % 100 === 37).map((f) => f.path);
    expect(picked).toHaveLength(5);
    let changedBytes = 0;
    picked.forEach((p, i) => {
      rewriteInPlace(join(b, p), 1000 + i);
      changedBytes += statSync(join(b, p)).size;
    });

    await createDataset(o);
    const v1 = await committedVersion(o, 'demo', `${a}/`);
    const v2 = await strataJson<VersionJson & { put: { bytesUploaded: number; bytesSkipped: number } }>(
      ['datasets', 'versions', 'create', '--id', 'demo', '--source-path', `${b}/`],
      o,
    );
    expect(v2.put.bytesUploaded).toBe(changedBytes);

    const d = await diffJson(o, v1.ref, v2.ref);
    expect(sorted(d)).toEqual({
      from: v1.ref,
      to: v2.ref,
      added: [],
      removed: [],
      changed: [...picked].sort(),
      renamed: [],
    });
  });

  it('identical versions (and a version with itself) have no differences', async () => {
    const o = { home: fresh() };
    const src = writeFiles(fresh(), { 'a.txt': 'a', 'b/c.txt': 'c' });
    await createDataset(o);
    const v1 = await committedVersion(o, 'demo', `${src}/`);
    const v2 = await committedVersion(o, 'demo', `${src}/`);
    for (const [x, y] of [
      [v1.ref, v2.ref],
      [v2.ref, v2.ref],
    ] as const) {
      expect(await diffJson(o, x, y)).toEqual({ from: x, to: y, added: [], removed: [], changed: [], renamed: [] });
      expect(await diffTable(o, x, y)).toBe(`No differences between ${x} and ${y}\n`);
    }
    // Refs resolve as everywhere else: by name, tag and latest.
    expect(await diffJson(o, `demo:${v1.id}`, 'demo')).toMatchObject({ from: v1.ref, to: v2.ref });
  });

  it('names above U+FFFF beside names in U+E000–U+FFFF: only what changed is listed', async () => {
    // The catalog orders paths by UTF-8 bytes; a merge in JavaScript's UTF-16 order would not meet them.
    const o = { home: fresh() };
    const names = { 'x/\u{1F600}.txt': 'emoji', 'x/\uE000.txt': 'private use', 'x/z.txt': 'z' };
    const src = writeFiles(fresh(), names);
    await createDataset(o);
    const v1 = await committedVersion(o, 'demo', `${src}/`);
    writeFileSync(join(src, 'x/z.txt'), 'changed');
    rmSync(join(src, 'x/\uE000.txt'));
    const v2 = await committedVersion(o, 'demo', `${src}/`);
    const expected = { added: [], removed: ['x/\uE000.txt'], changed: ['x/z.txt'], renamed: [] };
    expect(await diffJson(o, v1.ref, v2.ref)).toEqual({ from: v1.ref, to: v2.ref, ...expected });
    expect(await diffJson(o, v2.ref, v1.ref)).toEqual({
      from: v2.ref,
      to: v1.ref,
      ...expected,
      added: expected.removed,
      removed: [],
    });
  });

  it('an unknown ref is not found (exit 3)', async () => {
    const o = { home: fresh() };
    const src = writeFiles(fresh(), { 'a.txt': 'a' });
    await createDataset(o);
    const v1 = await committedVersion(o, 'demo', `${src}/`);
    await expectFailure(['datasets', 'versions', 'diff', '--id', v1.ref, '--to', 'demo:zzzzzzz'], o, 3);
  });
});
