import { chmodSync, existsSync, mkdirSync, readdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sealOf, type SealRow } from '../../src/catalog/seal.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { strata, strataJson, type CliOptions } from '../helpers/cli.js';
import { assertBuilt, expectErrorLine, expectJsonError } from '../helpers/expect-cli.js';
import { committedVersion, createDataset, listFilesJson, writeFiles, type VersionJson } from '../helpers/fixtures.js';
import { statFiles } from '../helpers/snapshot.js';
import { tempDirs } from '../helpers/temp.js';
import { makeTree, readTree } from '../helpers/tree.js';
import { FILES_PER_BATCH } from '../../src/core/file-batches.js';

const fresh = tempDirs('strata-e2e-');

beforeAll(assertBuilt);

describe.concurrent('files get reproduces a version exactly', () => {
  it('paths, bytes, executable bits and mtimes (ms) of a few hundred files', async () => {
    const o = { home: fresh() };
    const src = join(fresh(), 'tree');
    makeTree(src, { count: 300, seed: 11, maxSize: 3000 });
    // Mtimes with milliseconds, as files written by programs have, plus odd modes and an empty file.
    readTree(src).forEach((f, i) => {
      if (i % 2 === 0) {
        const when = new Date(Date.UTC(2023, 5, 1) + i * 1237 + ((i * 37) % 1000));
        utimesSync(join(src, f.path), when, when);
      }
    });
    writeFileSync(join(src, 'empty'), '');
    chmodSync(join(src, 'empty'), 0o600);
    writeFileSync(join(src, 'd0/run.sh'), '#!/bin/sh\necho hi\n');
    chmodSync(join(src, 'd0/run.sh'), 0o750);
    const tree = readTree(src);
    expect(tree).toHaveLength(302);
    expect(new Set(tree.map((f) => f.mode))).toEqual(new Set([0o644, 0o755, 0o600, 0o750]));
    expect(tree.some((f) => f.mtimeMs % 1000 !== 0)).toBe(true);

    await createDataset(o);
    const v = await committedVersion(o, 'demo', `${src}/`);
    expect(v.fileCount).toBe(302);

    const out = join(fresh(), 'out');
    const got = await strataJson<{ files: number }>(
      ['datasets', 'files', 'get', '--id', 'demo', '--target-path', out],
      o,
    );
    expect(got.files).toBe(302);
    expect(readTree(out)).toEqual(tree);

    // Only part of it, by --source-path: the paths keep their place under the target.
    const part = fresh();
    await strataJson(
      [
        'datasets',
        'files',
        'get',
        '--id',
        v.ref,
        '--source-path',
        '/d3',
        '--source-path',
        'empty',
        '--target-path',
        part,
      ],
      o,
    );
    expect(readTree(part)).toEqual(tree.filter((f) => f.path.startsWith('d3/') || f.path === 'empty'));
  });

  it('a blob whose bytes changed in storage fails the get (exit 5) and that file does not appear', async () => {
    const o = { home: fresh() };
    await createDataset(o);
    const v = await committedVersion(o, 'demo', `${writeFiles(fresh(), { 'good.txt': 'good', 'bad.txt': 'bad!' })}/`);
    const bad = (await listFilesJson(o, v.ref)).find((f) => f.path === 'bad.txt')!;
    // Same size, other bytes: only the hash can tell.
    writeFileSync(join(o.home, 'storage/blobs/sha256', bad.sha256!.slice(0, 2), bad.sha256!), 'BAD?');

    const out = fresh();
    const line = expectErrorLine(await strata(['datasets', 'files', 'get', '--id', v.ref, '--target-path', out], o), 5);
    expect(line).toContain('bad.txt');
    const written = statFiles(out).map((f) => f.path);
    expect(written).not.toContain('bad.txt');
    expect(written.filter((p) => p.includes('tmp'))).toEqual([]);
  });
});

describe.concurrent('files get refuses a manifest path that would leave the target', () => {
  /** A committed version whose catalog rows are then edited as an attacker would, with the CLI stopped. */
  async function planted(o: CliOptions, newPath: (outside: string) => string) {
    await createDataset(o);
    const src = writeFiles(fresh(), { 'a.txt': 'a', 'victim.txt': 'planted content', 'z/z.txt': 'z' });
    const v = await committedVersion(o, 'demo', `${src}/`);
    const base = fresh();
    const outside = join(base, 'outside');
    mkdirSync(outside);
    const db = new Database(join(o.home, 'catalog.db'));
    try {
      const changed = db
        .prepare("UPDATE files SET path = ? WHERE dataset_id = ? AND version_id = ? AND path = 'victim.txt'")
        .run(newPath(outside), v.datasetId, v.id).changes;
      expect(changed).toBe(1);
      // A thorough attacker seals the edited list too, or the get would stop at the seal (exit 8).
      const rows = db
        .prepare(
          'SELECT path, size, sha256, mode, mtime_ms FROM files WHERE dataset_id = ? AND version_id = ? ORDER BY path',
        )
        .raw()
        .all(v.datasetId, v.id) as SealRow[];
      db.prepare('UPDATE versions SET files_digest = ? WHERE dataset_id = ? AND id = ?').run(
        sealOf(rows).digest,
        v.datasetId,
        v.id,
      );
    } finally {
      db.close();
    }
    return { v, base, outside, target: join(base, 'target') };
  }

  /** Exit 5 with one line (or the JSON error), and nothing written anywhere but inside the target. */
  async function expectRefused(o: CliOptions, v: VersionJson, base: string, outside: string, target: string) {
    const args = ['datasets', 'files', 'get', '--id', v.ref, '--target-path', target];
    const line = expectErrorLine(await strata(args, o), 5);
    expect(line).toMatch(/refusing/);
    expect(expectJsonError(await strata([...args, '--json'], o), 5).code).toBe('EUNSAFEPATH');
    expect(readdirSync(outside)).toEqual([]);
    expect(readdirSync(base).sort()).toEqual(existsSync(target) ? ['outside', 'target'] : ['outside']);
    expect(statFiles(base).filter((f) => !f.path.startsWith('target/'))).toEqual([]);
    return line;
  }

  it('with ".." (exit 5, nothing written at all)', async () => {
    const o = { home: fresh() };
    const { v, base, outside, target } = await planted(o, () => '../escape.txt');
    const line = await expectRefused(o, v, base, outside, target);
    expect(line).toContain('../escape.txt');
    expect(statFiles(target)).toEqual([]);
  });

  it('with ".." deeper in the path, aimed at a sibling directory', async () => {
    const o = { home: fresh() };
    const { v, base, outside, target } = await planted(o, () => 'z/../../outside/escape.txt');
    await expectRefused(o, v, base, outside, target);
    expect(statFiles(target)).toEqual([]);
  });

  it('with an absolute path (exit 5, nothing written at all)', async () => {
    const o = { home: fresh() };
    const { v, base, outside, target } = await planted(o, (out) => join(out, 'abs.txt'));
    const line = await expectRefused(o, v, base, outside, target);
    expect(line).toContain('absolute');
    expect(statFiles(target)).toEqual([]);
  });

  it('through a symlink in the target that points outside it (exit 5, the outside stays empty)', async () => {
    const o = { home: fresh() };
    await createDataset(o);
    const src = join(fresh(), 'tree');
    makeTree(src, { count: 40, seed: 5 });
    const v = await committedVersion(o, 'demo', `${src}/`);
    const base = fresh();
    const outside = join(base, 'outside');
    const target = join(base, 'target');
    mkdirSync(outside);
    mkdirSync(target);
    symlinkSync(outside, join(target, 'd0'));
    await expectRefused(o, v, base, outside, target);
    expect(statFiles(target).some((f) => f.path.startsWith('d0/'))).toBe(false);
  });
});

describe('files get of a version larger than one batch', () => {
  it('places every file, and refuses a hostile path in its last batch before writing the first', async () => {
    const o = { home: fresh() };
    const src = join(fresh(), 'tree');
    // More files than a get holds at once (FILES_PER_BATCH): the files come in several batches.
    const count = FILES_PER_BATCH + 500;
    makeTree(src, { count, maxSize: 64 });
    writeFileSync(join(src, 'zzz.txt'), 'sorts last');
    await createDataset(o);
    const v = await committedVersion(o, 'demo', `${src}/`);
    expect(v.fileCount).toBe(count + 1);

    const out = join(fresh(), 'out');
    const got = await strataJson<{ files: number; misses: number }>(
      ['datasets', 'files', 'get', '--id', v.ref, '--target-path', out],
      o,
    );
    expect(got.files).toBe(count + 1);
    expect(readTree(out)).toEqual(readTree(src));

    // The last row in path order now leaves the target; the attacker reseals the list.
    const db = new Database(join(o.home, 'catalog.db'));
    try {
      db.prepare("UPDATE files SET path = 'zzz/../../escape.txt' WHERE version_id = ? AND path = 'zzz.txt'").run(v.id);
      const rows = db
        .prepare('SELECT path, size, sha256, mode, mtime_ms FROM files WHERE version_id = ? ORDER BY path')
        .raw()
        .all(v.id) as SealRow[];
      expect(rows.at(-1)![0]).toBe('zzz/../../escape.txt');
      db.prepare('UPDATE versions SET files_digest = ? WHERE id = ?').run(sealOf(rows).digest, v.id);
    } finally {
      db.close();
    }
    const target = join(fresh(), 'target');
    const args = ['datasets', 'files', 'get', '--id', v.ref, '--target-path', target, '--json'];
    expect(expectJsonError(await strata(args, o), 5).code).toBe('EUNSAFEPATH');
    expect(existsSync(target) ? statFiles(target) : []).toEqual([]);
  });
});
