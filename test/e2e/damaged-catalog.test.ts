// Issue 15: a damaged catalog is said, never served. A committed version carries a seal (its file
// count and a digest of its file list), so a catalog that lost or changed rows fails with the
// environment class (exit 8) naming the file and the rebuild, instead of serving part of the
// version with exit 0; nothing is written into the damaged file; `catalog rebuild` keeps it aside
// and rebuilds from the provider.
import { createHash } from 'node:crypto';
import { cpSync, openSync, readFileSync, readdirSync, statSync, truncateSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { strata, strataJson, type CliOptions } from '../helpers/cli.js';
import { assertBuilt, expectErrorLine, expectJsonError } from '../helpers/expect-cli.js';
import { createDataset, listFilesJson, openVersion, put, type VersionJson } from '../helpers/fixtures.js';
import { statFiles } from '../helpers/snapshot.js';
import { tempDirs } from '../helpers/temp.js';
import { makeTree, readTree } from '../helpers/tree.js';

const fresh = tempDirs('strata-damaged-');
const FILES = 2001;

beforeAll(assertBuilt);

/** One committed version of FILES files, tagged, made once and copied for each test. */
let template: { home: string; src: string; v: VersionJson };
beforeAll(async () => {
  const o = { home: fresh() };
  const src = join(fresh(), 'src');
  makeTree(src, { count: FILES, seed: 11, maxSize: 256 });
  await createDataset(o);
  const v = await openVersion(o, 'demo');
  await put(o, v.ref, `${src}/`);
  await strataJson(['datasets', 'versions', 'commit', '--id', v.ref], o);
  await strataJson(['datasets', 'tags', 'set', '--id', v.ref, '--name', 'prod'], o);
  template = { home: o.home, src, v };
}, 120_000);

/** A copy of the template's home, its local provider pointed at the copy's own storage. */
function copyHome(): CliOptions {
  const home = fresh();
  cpSync(template.home, home, { recursive: true });
  const db = new Database(join(home, 'catalog.db'));
  db.prepare("UPDATE storage_providers SET config = json_set(config, '$.path', ?) WHERE type = 'local'").run(
    join(home, 'storage'),
  );
  db.close();
  return { home };
}

const digest = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/** The reads a user makes of the version; each must fail with exit 8, or give all of it. */
const READS: [string, (ref: string, out: string) => string[]][] = [
  ['versions details', (ref) => ['datasets', 'versions', 'details', '--id', ref]],
  ['files list', (ref) => ['datasets', 'files', 'list', '--id', ref, '--recursive']],
  ['files get', (ref, out) => ['datasets', 'files', 'get', '--id', ref, '--target-path', out]],
  ['versions verify', (ref) => ['datasets', 'versions', 'verify', '--id', ref]],
];

describe.concurrent('a catalog that lost rows of a committed version', () => {
  it.for(READS)(
    '%s fails with exit 8 naming the catalog and the rebuild; the file is not written',
    async ([, args]) => {
      const o = copyHome();
      const catalog = join(o.home, 'catalog.db');
      const db = new Database(catalog);
      // What a damaged b-tree page looks like from above: rows gone, everything else fine.
      const lost = db.prepare("DELETE FROM files WHERE path >= 'd1'").run().changes;
      db.close();
      expect(lost).toBeGreaterThan(0);
      const before = digest(catalog);
      const out = join(fresh(), 'out');
      const line = expectErrorLine(await strata(args('demo:prod', out), o), 8);
      expect(line).toBe(
        `Error: the catalog ${catalog} is damaged (version ${template.v.ref} lists ${FILES - lost} file(s) where ${FILES} were committed); nothing was changed. Rebuild it from the buckets with: strata catalog rebuild`,
      );
      expect(expectJsonError(await strata([...args('demo:prod', out), '--json'], o), 8).code).toBe('ECATALOGDAMAGED');
      expect(digest(catalog)).toBe(before);
    },
  );

  it('rows changed in place (same count) fail a get and a verify, which check the digest too', async () => {
    const o = copyHome();
    const db = new Database(join(o.home, 'catalog.db'));
    db.prepare(
      "UPDATE files SET sha256 = replace(sha256, substr(sha256, 1, 1), 'f') WHERE path = (SELECT min(path) FROM files)",
    ).run();
    db.close();
    for (const [, args] of READS.slice(2)) {
      const line = expectErrorLine(await strata(args('demo:prod', join(fresh(), 'out')), o), 8);
      expect(line).toContain(`the files of version ${template.v.ref} are not those that were committed`);
    }
  });
});

describe.concurrent('versions diff of a damaged version', () => {
  it('fails with exit 8 once the merge has read it, the other side still open', async () => {
    const o = copyHome();
    const db = new Database(join(o.home, 'catalog.db'));
    db.prepare('UPDATE files SET size = size + 1 WHERE path = (SELECT min(path) FROM files)').run();
    db.close();
    const args = ['datasets', 'versions', 'diff', '--id', 'demo:prod', '--to', template.v.ref];
    const line = expectErrorLine(await strata(args, o), 8);
    expect(line).toContain(`the files of version ${template.v.ref} are not those that were committed`);
  });
});

describe.concurrent('a catalog whose file is damaged', () => {
  it('truncated to nothing: every command fails with exit 8 instead of starting an empty catalog', async () => {
    const o = copyHome();
    const catalog = join(o.home, 'catalog.db');
    truncateSync(catalog, 0);
    const line = expectErrorLine(await strata(['datasets', 'list'], o), 8);
    expect(line).toBe(
      `Error: the catalog ${catalog} is damaged (the file is empty); nothing was changed. Rebuild it from the buckets with: strata catalog rebuild`,
    );
    expect(statSync(catalog).size).toBe(0);
  });

  it('20 random 8 KiB overwrites, one at a time: every read gives the whole version or fails with exit 8, never part of it with exit 0', async () => {
    const expected = readTree(template.src).map((f) => f.path);
    const size = statSync(join(template.home, 'catalog.db')).size;
    let seed = 20_251_205;
    const random = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const outcomes = { whole: 0, damaged: 0 };
    for (let trial = 0; trial < 20; trial++) {
      const o = copyHome();
      const fd = openSync(join(o.home, 'catalog.db'), 'r+');
      const page = Math.floor(random() * Math.floor(size / 8192)) * 8192;
      const noise = Buffer.alloc(8192, 0).map(() => Math.floor(random() * 256));
      writeSync(fd, noise, 0, noise.length, page);
      closeSync(fd);
      for (const args of [
        ['datasets', 'files', 'list', '--id', 'demo:prod', '--recursive', '--json'],
        ['datasets', 'versions', 'verify', '--id', 'demo:prod', '--json'],
      ]) {
        const r = await strata(args, o);
        if (r.code === 0) {
          outcomes.whole++;
          if (args[1] === 'files') {
            expect((JSON.parse(r.stdout) as { path: string }[]).map((f) => f.path)).toEqual(expected);
          } else expect(JSON.parse(r.stdout)).toMatchObject({ files: FILES });
        } else {
          expect(expectJsonError(r, 8).code, `trial ${trial}, page at ${page}`).toMatch(/^ECATALOG(DAMAGED)?$/);
          outcomes.damaged++;
        }
      }
    }
    expect(outcomes.whole + outcomes.damaged).toBe(40);
    expect(outcomes.damaged).toBeGreaterThan(0); // the overwrites did hit the catalog's data
  });

  it('a lock held past the busy timeout: exit 8 naming the catalog; nothing changed', async () => {
    const o = copyHome();
    const catalog = join(o.home, 'catalog.db');
    const storage = statFiles(join(o.home, 'storage'));
    const holder = new Database(catalog);
    holder.exec('BEGIN IMMEDIATE');
    try {
      const r = await strata(['datasets', 'create', '--name', 'other'], {
        ...o,
        env: { STRATA_BUSY_TIMEOUT_MS: '300' },
      });
      expect(expectErrorLine(r, 8)).toBe(
        `Error: the catalog ${catalog} is locked by another process (waited 0.3 s); try again when it is done`,
      );
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    expect((await strataJson<{ name: string }[]>(['datasets', 'list'], o)).map((d) => d.name)).toEqual(['demo']);
    // The dataset document written before the catalog refused was taken back.
    expect(statFiles(join(o.home, 'storage'))).toEqual(storage);
  });
});

describe.concurrent('catalog rebuild', () => {
  it('keeps the damaged file aside, untouched, and rebuilds datasets, committed versions and tags from the provider; a drafted open version is reopened', async () => {
    const o = copyHome();
    const open = await openVersion(o, 'demo');
    const extra = join(fresh(), 'extra');
    makeTree(extra, { count: 5, seed: 12, maxSize: 64 });
    await put(o, open.ref, `${extra}/`);
    const catalog = join(o.home, 'catalog.db');
    const db = new Database(catalog);
    db.prepare("DELETE FROM files WHERE path >= 'd1'").run();
    db.close();
    const damagedDigest = digest(catalog);
    expectErrorLine(await strata(['datasets', 'files', 'list', '--id', 'demo:prod'], o), 8);

    const r = await strataJson<{
      keptAside: string;
      reopened: string[];
      notRestored: string[];
      sync: { datasets: { added: number }; versions: { added: number }; tags: { set: number } }[];
    }>(['catalog', 'rebuild'], o);
    expect(digest(r.keptAside)).toBe(damagedDigest);
    expect(readdirSync(o.home).filter((n) => n.startsWith('catalog.db.damaged-') && !/-(wal|shm)$/.test(n))).toEqual([
      r.keptAside.slice(o.home.length + 1),
    ]);
    expect(r.sync[0]).toMatchObject({ datasets: { added: 1 }, versions: { added: 1 }, tags: { set: 1 } });
    expect(r.reopened).toEqual([open.ref]);
    expect(r.notRestored.join('\n')).toContain('job runs');

    const files = await listFilesJson(o, 'demo:prod');
    expect(files.map((f) => f.path)).toEqual(readTree(template.src).map((f) => f.path));
    expect((await strata(['datasets', 'versions', 'verify', '--id', 'demo:prod', '--deep'], o)).code).toBe(0);
    // The reopened version may lack what a put stored after its last draft: the put again, then commit.
    expectErrorLine(await strata(['datasets', 'versions', 'commit', '--id', open.ref], o), 4);
    await put(o, open.ref, `${extra}/`);
    expect((await strataJson<VersionJson>(['datasets', 'versions', 'commit', '--id', open.ref], o)).fileCount).toBe(5);

    // A sound catalog is rebuilt only when asked to.
    expectErrorLine(await strata(['catalog', 'rebuild'], o), 4);
  });
});
