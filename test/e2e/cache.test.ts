// The team content cache (issue 5, docs/cache.md) end to end: concurrent materializations, a second
// user on a shared cache, corruption found and repaired, eviction under a cap that never takes a
// leased blob, link modes, hit/miss counts, partial materialization, and `strata config`.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, strata, strataJson, type CliOptions, type CliResult } from '../helpers/cli.js';
import { assertBuilt, expectFailure } from '../helpers/expect-cli.js';
import {
  committedVersion,
  createDataset,
  listFilesJson,
  writeFiles,
  type VersionJson,
  OTHER_FS,
  expectTwoFilesystems,
  cacheApartFromStorage,
} from '../helpers/fixtures.js';
import { statFiles } from '../helpers/snapshot.js';
import { tempDirs } from '../helpers/temp.js';
import { makeTree, randomBytesFrom, readTree, rng, type TreeEntry } from '../helpers/tree.js';
import { inCI } from '../helpers/ci.js';

const fresh = tempDirs('strata-cache-');
const otherFs = tempDirs('strata-cache-', OTHER_FS);
const separateCache = (): { o: CliOptions; cache: string } => cacheApartFromStorage(fresh, otherFs);

beforeAll(assertBuilt);

/** Root-only tests run as root, and must not skip silently in CI (where they then fail loudly). */
const needsRoot = process.getuid?.() === 0 || inCI();
/** Debian's unprivileged user and group. */
const NOBODY = 65534;
const NOGROUP = 65534;

interface GetJson {
  ref: string;
  target: string;
  cacheDir: string;
  files: number;
  bytes: number;
  hits: number;
  misses: number;
  link: string;
}

interface StatsJson {
  dir: string;
  blobs: number;
  size: number;
  maxSize: number | null;
  hits: number;
  misses: number;
  inUse: number;
}

const getArgs = (ref: string, target: string, flags: string[]): string[] => [
  'datasets',
  'files',
  'get',
  '--id',
  ref,
  '--target-path',
  target,
  ...flags,
];

const get = (o: CliOptions, ref: string, target: string, ...flags: string[]): Promise<GetJson> =>
  strataJson<GetJson>(getArgs(ref, target, flags), o);

const stats = (o: CliOptions, ...flags: string[]): Promise<StatsJson> =>
  strataJson<StatsJson>(['cache', 'stats', ...flags], o);

const sha256Of = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

const blobPath = (cache: string, sha: string): string => join(cache, 'blobs', 'sha256', sha.slice(0, 2), sha);

/** sha256 of every blob file in a cache, checking each is named by its content and read-only. */
function cachedBlobs(cache: string): string[] {
  return statFiles(join(cache, 'blobs')).map((f) => {
    const [algo, shard, name] = f.path.split('/');
    expect(algo).toBe('sha256');
    expect(name, f.path).toMatch(/^[0-9a-f]{64}$/);
    expect(name!.startsWith(shard!)).toBe(true);
    const path = join(cache, 'blobs', f.path);
    expect(sha256Of(path), `${f.path} holds other bytes`).toBe(name);
    expect(statSync(path).mode & 0o777).toBe(0o444);
    return name!;
  });
}

/** A committed version of `demo` from a tree of count random files (plus two with the same content). */
async function version(
  o: CliOptions,
  count: number,
  seed: number,
  maxSize = 4096,
): Promise<{ v: VersionJson; src: string }> {
  const src = join(fresh(), 'data');
  makeTree(src, { count, seed, maxSize });
  writeFiles(src, { 'same/a.txt': 'twins', 'same/b.txt': 'twins' });
  await createDataset(o).catch(() => undefined);
  return { v: await committedVersion(o, 'demo', `${src}/`), src };
}

const distinctBlobs = (src: string): number => new Set(readTree(src).map((f) => f.sha256)).size;

/** Runs strata as another user (root only), with its own HOME and STRATA_HOME. */
function strataAs(uid: number, gid: number, args: string[], home: string): Promise<CliResult> {
  return new Promise((done, fail) => {
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, STRATA_HOME: home };
    delete env.NODE_ENV;
    for (const key of Object.keys(env)) if (key.startsWith('VITEST') || key.startsWith('STRATA_CACHE')) delete env[key];
    const child = spawn(process.execPath, [BIN, ...args], {
      uid,
      gid,
      env,
      cwd: home,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.on('close', (code, signal) => done({ code, signal, stdout, stderr }));
  });
}

/**
 * A hardlink get: each file of the cache's mode (0444 read-only) is the cache's inode; any other
 * (an executable) is a copy of its own, with its manifest mode made read-only (0555).
 */
function expectHardlinked(target: string, files: TreeEntry[], cache: string): void {
  for (const f of files) {
    const s = statSync(join(target, f.path));
    const blob = statSync(blobPath(cache, f.sha256));
    const readOnly = f.mode & ~0o222;
    expect({ path: f.path, mode: s.mode & 0o777, linked: s.ino === blob.ino }).toEqual({
      path: f.path,
      mode: readOnly,
      linked: readOnly === 0o444,
    });
  }
}

describe.concurrent('materializing through the cache', () => {
  it('two processes materializing the same version at once both succeed, and the cache holds each blob once', async () => {
    const o = { home: fresh() };
    const { v, src } = await version(o, 300, 3, 8192);
    const blobs = distinctBlobs(src);
    const [out1, out2] = [join(fresh(), 'one'), join(fresh(), 'two')];
    const [r1, r2] = await Promise.all([get(o, v.ref, out1), get(o, v.ref, out2)]);
    const tree = readTree(src);
    expect(readTree(out1)).toEqual(tree);
    expect(readTree(out2)).toEqual(tree);
    for (const r of [r1, r2]) expect(r).toMatchObject({ files: 302 });
    for (const r of [r1, r2]) expect(r.hits + r.misses).toBe(blobs);

    const cache = join(o.home, 'cache');
    const cached = cachedBlobs(cache);
    expect(cached).toHaveLength(blobs);
    expect(new Set(cached)).toEqual(new Set(tree.map((f) => f.sha256)));
    // No download left half-done, no lease left behind, nothing of ours in the targets.
    expect(statFiles(cache).filter((f) => f.path.includes('.tmp-'))).toEqual([]);
    expect(readdirSync(join(cache, 'leases'))).toEqual([]);
    expect(statFiles(out1).filter((f) => f.path.includes('.strata-tmp'))).toEqual([]);
  });

  it.runIf(needsRoot)(
    'a second user (nobody) materializes warm from a shared cache the first user filled, with the provider out of reach',
    async () => {
      const base = fresh();
      chmodSync(base, 0o755);
      const o = { home: join(base, 'home1') };
      const { v, src } = await version(o, 120, 4);
      const blobs = distinctBlobs(src);

      // The team's directory, as docs/cache.md says to make it: group nogroup, 2775.
      const shared = join(base, 'team-cache');
      mkdirSync(shared);
      chownSync(shared, 0, NOGROUP);
      chmodSync(shared, 0o2775);
      expect(await get(o, v.ref, join(base, 'out1'), '--cache-dir', shared)).toMatchObject({ misses: blobs, hits: 0 });
      // Every directory Strata made in it stays in the team's group, group-writable, setgid.
      const dirs = readdirSync(shared, { recursive: true, withFileTypes: true }).filter((d) => d.isDirectory());
      expect(dirs.length).toBeGreaterThan(3);
      for (const d of dirs) {
        const s = statSync(join(d.parentPath, d.name));
        expect({ dir: join(d.parentPath, d.name), gid: s.gid, mode: s.mode & 0o7777 }).toEqual({
          dir: join(d.parentPath, d.name),
          gid: NOGROUP,
          mode: 0o2775,
        });
      }
      expect(cachedBlobs(shared)).toHaveLength(blobs);

      // The second user: its own STRATA_HOME holding a copy of the first user's catalog, and no way
      // to the first user's storage (so any miss would fail).
      const home2 = join(base, 'home2');
      mkdirSync(home2, { mode: 0o700 });
      for (const name of ['catalog.db', 'catalog.db-wal']) {
        if (existsSync(join(o.home, name))) copyFileSync(join(o.home, name), join(home2, name));
      }
      const out2 = join(base, 'out2');
      const emptyCache = join(base, 'empty-cache');
      for (const dir of [out2, emptyCache]) mkdirSync(dir);
      for (const path of [home2, out2, emptyCache, ...readdirSync(home2).map((n) => join(home2, n))]) {
        chownSync(path, NOBODY, NOGROUP);
      }
      chmodSync(join(o.home, 'storage'), 0o000);
      const before = await stats(o, '--cache-dir', shared);

      // Control: with an empty cache of its own, the second user cannot get the version at all:
      // the provider's directory is this machine's, and it may not read it (the environment class).
      const cold = await strataAs(
        NOBODY,
        NOGROUP,
        getArgs(v.ref, join(base, 'cold'), ['--cache-dir', emptyCache]),
        home2,
      );
      expect(cold.code, cold.stderr).toBe(8);
      expect(cold.stderr).toMatch(/^Error: permission denied: /);

      const warm = await strataAs(NOBODY, NOGROUP, [...getArgs(v.ref, out2, ['--cache-dir', shared]), '--json'], home2);
      expect({ code: warm.code, stderr: warm.stderr }).toEqual({ code: 0, stderr: '' });
      expect(JSON.parse(warm.stdout)).toMatchObject({ files: 122, hits: blobs, misses: 0, cacheDir: shared });
      expect(readTree(out2)).toEqual(readTree(src));
      expect(statFiles(out2).every((f) => statSync(join(out2, f.path)).uid === NOBODY)).toBe(true);
      // --link hardlink: the kernel (protected_hardlinks) will not link another user's blobs, so
      // the second user gets verified copies, and the result says so.
      const out3 = join(base, 'out3');
      mkdirSync(out3);
      chownSync(out3, NOBODY, NOGROUP);
      const hard = await strataAs(
        NOBODY,
        NOGROUP,
        [...getArgs(v.ref, out3, ['--cache-dir', shared, '--link', 'hardlink']), '--json'],
        home2,
      );
      expect({ code: hard.code, stderr: hard.stderr }).toEqual({ code: 0, stderr: '' });
      expect(JSON.parse(hard.stdout)).toMatchObject({ hits: blobs, misses: 0, link: 'copy' });
      expect(readTree(out3).map((f) => [f.path, f.sha256])).toEqual(readTree(src).map((f) => [f.path, f.sha256]));
      expect(readdirSync(join(shared, 'leases'))).toEqual([]);
      // A target the second user may not create: one line, the environment class, nothing written.
      const forbidden = await strataAs(
        NOBODY,
        NOGROUP,
        getArgs(v.ref, join(base, 'forbidden'), ['--cache-dir', shared]),
        home2,
      );
      expect({ code: forbidden.code, stdout: forbidden.stdout }).toEqual({ code: 8, stdout: '' });
      expect(forbidden.stderr).toBe(`Error: cannot create ${join(base, 'forbidden')}: permission denied\n`);
      expect(existsSync(join(base, 'forbidden'))).toBe(false);
      expect(readdirSync(join(shared, 'leases'))).toEqual([]);
      // The team's counters include the second user's hits.
      expect(await stats(o, '--cache-dir', shared)).toMatchObject({
        blobs,
        hits: before.hits + 2 * blobs,
        misses: before.misses,
      });
    },
  );

  it('a blob corrupted in the cache is dropped and fetched again by a default-mode get; cache verify drops a bad one', async () => {
    const { o, cache } = separateCache();
    const { v, src } = await version(o, 30, 5);
    const files = await listFilesJson(o, v.ref);
    await get(o, v.ref, join(fresh(), 'first'));
    const [victim, other, cut] = [files[3]!, files[7]!, files[11]!];

    // Blobs are 0444; their owner (or root) can make one writable: other bytes, same size.
    const bad = blobPath(cache, victim.sha256!);
    chmodSync(bad, 0o644);
    writeFileSync(bad, randomBytesFrom(rng(17), victim.size));
    chmodSync(bad, 0o444);
    expect(sha256Of(bad)).not.toBe(victim.sha256);

    const out = join(fresh(), 'second');
    await get(o, v.ref, out);
    expect(readTree(out)).toEqual(readTree(src));
    expect(sha256Of(bad)).toBe(victim.sha256);
    expect(cachedBlobs(cache)).toHaveLength(distinctBlobs(src));

    // A blob cut short is a miss: fetched again and put in place of the short one, so that even
    // --link hardlink (which hands out the cache's own inode unread) gives the right bytes.
    const short = blobPath(cache, cut.sha256!);
    chmodSync(short, 0o644);
    truncateSync(short, Math.floor(cut.size / 2));
    const hard = join(fresh(), 'hard');
    expect(await get(o, v.ref, hard, '--link', 'hardlink')).toMatchObject({ misses: 1 });
    expect(readTree(hard).map((f) => [f.path, f.sha256])).toEqual(readTree(src).map((f) => [f.path, f.sha256]));
    expect(sha256Of(short)).toBe(cut.sha256);

    // cache verify re-hashes everything and drops what no longer matches.
    const bad2 = blobPath(cache, other.sha256!);
    chmodSync(bad2, 0o644);
    writeFileSync(bad2, randomBytesFrom(rng(18), other.size));
    expect(await strataJson<{ checked: number; dropped: string[] }>(['cache', 'verify'], o)).toEqual({
      dir: cache,
      checked: distinctBlobs(src),
      dropped: [other.sha256],
      removedTemps: 0,
    });
    expect(existsSync(bad2)).toBe(false);
    expect(cachedBlobs(cache)).toHaveLength(distinctBlobs(src) - 1);
    expect(await get(o, v.ref, join(fresh(), 'third'))).toMatchObject({ misses: 1 });
    expect(sha256Of(bad2)).toBe(other.sha256);
  });

  it('with cache.maxSize set, the cache stays under its cap after each materialization (least recently used go first)', async () => {
    const o = { home: fresh() };
    const KiB = 1024;
    const make = (seed: number): string => {
      const dir = join(fresh(), 'data');
      const random = rng(seed);
      mkdirSync(dir, { recursive: true });
      for (let i = 0; i < 10; i++) writeFileSync(join(dir, `f${i}.bin`), randomBytesFrom(random, 20 * KiB));
      return dir;
    };
    const [a, b] = [make(1), make(2)];
    expect(statFiles(a).every((f) => f.size === 20 * KiB)).toBe(true);
    await createDataset(o);
    const v1 = await committedVersion(o, 'demo', `${a}/`);
    const v2 = await committedVersion(o, 'demo', `${b}/`);
    expect(await strataJson(['config', 'set', 'cache.maxSize', '300KiB'], o)).toMatchObject({
      key: 'cache.maxSize',
      value: String(300 * KiB),
    });

    const out1 = fresh();
    await get(o, v1.ref, out1);
    expect(await stats(o)).toMatchObject({ blobs: 10, size: 200 * KiB, maxSize: 300 * KiB });
    const out2 = fresh();
    await get(o, v2.ref, out2);
    const s = await stats(o);
    expect(s.size).toBeLessThanOrEqual(300 * KiB);
    // Evicted just enough: five of the first version's blobs; all of the second's stay.
    expect(s).toMatchObject({ blobs: 15, size: 300 * KiB });
    const cached = new Set(cachedBlobs(join(o.home, 'cache')));
    for (const f of readTree(b)) expect(cached.has(f.sha256), f.path).toBe(true);
    expect(readTree(out1)).toEqual(readTree(a));
    expect(readTree(out2)).toEqual(readTree(b));
  });

  it('cache prune never evicts a blob a live lease holds (keptInUse); stale leases hold nothing', async () => {
    const o = { home: fresh() };
    const { v, src } = await version(o, 12, 6);
    await get(o, v.ref, fresh());
    const cache = join(o.home, 'cache');
    const all = cachedBlobs(cache).sort();
    expect(all).toHaveLength(distinctBlobs(src));
    const held = all.slice(0, 4);

    // A running materialization's lease, as src/cache/lease.ts writes it: <host>-<pid>-<random>,
    // one sha256 a line. This test's process is alive on this host.
    const leases = join(cache, 'leases');
    const live = join(leases, `${hostname()}-${process.pid}-t3st`);
    writeFileSync(live, held.join('\n'));
    // Leases of holders that are gone: a dead pid here, and one not refreshed for ten minutes elsewhere.
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid;
    writeFileSync(join(leases, `${hostname()}-${deadPid}-dead`), all.join('\n'));
    const old = join(leases, 'another-host-123-old');
    writeFileSync(old, all.join('\n'));
    const tenMinutesAgo = new Date(Date.now() - 10 * 60_000);
    utimesSync(old, tenMinutesAgo, tenMinutesAgo);

    const pruned = await strataJson<{ removedBlobs: number; blobs: number; keptInUse: number }>(
      ['cache', 'prune', '--max-size', '0'],
      o,
    );
    expect(pruned).toMatchObject({ keptInUse: 4, removedBlobs: all.length - 4, blobs: 4 });
    expect(cachedBlobs(cache).sort()).toEqual(held);
    expect(readdirSync(leases)).toEqual([`${hostname()}-${process.pid}-t3st`]);

    // Released, the same blobs go.
    rmSync(live);
    expect(
      await strataJson<{ removedBlobs: number; blobs: number; keptInUse: number }>(
        ['cache', 'prune', '--max-size', '0'],
        o,
      ),
    ).toMatchObject({ keptInUse: 0, removedBlobs: 4, blobs: 0, size: 0 });
  });

  it('link modes: editing a default-mode file leaves the cache untouched; hardlink gives the cache inode', async () => {
    const { o, cache } = separateCache();
    const { v, src } = await version(o, 20, 7);
    const out = fresh();
    expect(await get(o, v.ref, out)).toMatchObject({ link: expect.stringMatching(/^(reflink|copy)$/) as string });
    const [first] = await listFilesJson(o, v.ref);
    const file = join(out, first!.path);
    const blob = blobPath(cache, first!.sha256!);
    expect(statSync(file).ino).not.toBe(statSync(blob).ino);
    appendFileSync(file, 'edited by the user');
    expect(sha256Of(file)).not.toBe(first!.sha256);
    expect(sha256Of(blob)).toBe(first!.sha256);
    expect(statSync(blob).size).toBe(first!.size);

    const hard = fresh();
    expect(await get(o, v.ref, hard, '--link', 'hardlink')).toMatchObject({
      link: 'hardlink',
      hits: distinctBlobs(src),
    });
    expectHardlinked(hard, readTree(src), cache);

    const copied = fresh();
    expect(await get(o, v.ref, copied, '--link', 'copy')).toMatchObject({ link: 'copy' });
    expect(readTree(copied)).toEqual(readTree(src));
    expect(statSync(join(copied, first!.path)).ino).not.toBe(statSync(blob).ino);

    // reflink: clones where the filesystem has them, else a usage error naming the way out.
    const r = await strata([...getArgs(v.ref, fresh(), ['--link', 'reflink']), '--json'], o);
    if (r.code === 0) expect(JSON.parse(r.stdout)).toMatchObject({ link: 'reflink' });
    else
      expect({ code: r.code, error: (JSON.parse(r.stdout) as { error: { code: string } }).error.code }).toEqual({
        code: 2,
        error: 'ENOREFLINK',
      });
  });

  it('a hardlink get links what it can, fetches an evicted blob again, and with --force replaces a file in the way', async () => {
    const { o, cache } = separateCache();
    const { v, src } = await version(o, 30, 8);
    await get(o, v.ref, fresh());
    const files = await listFilesJson(o, v.ref);
    const evicted = files.find((f) => !f.path.startsWith('same/'))!;
    rmSync(blobPath(cache, evicted.sha256!));
    const target = fresh();
    const inTheWay = files.find((f) => f.sha256 !== evicted.sha256)!;
    writeFiles(target, { [inTheWay.path]: 'an older file, not a link' });

    expect(await get(o, v.ref, target, '--link', 'hardlink', '--force')).toMatchObject({
      link: 'hardlink',
      files: files.length,
      hits: distinctBlobs(src) - 1,
      misses: 1,
    });
    // Hardlinks carry the cache's mode and mtime: the bytes are the version's.
    const content = (root: string): string[][] => readTree(root).map((f) => [f.path, f.sha256]);
    expect(content(target)).toEqual(content(src));
    expectHardlinked(target, readTree(src), cache);
  });

  it('a hardlink get with the cache on another filesystem than the target gets verified copies', async () => {
    const o = { home: fresh() };
    const { v, src } = await version(o, 12, 9);
    const cache = otherFs();
    expectTwoFilesystems(cache, o.home);
    const target = fresh();
    expect(await get(o, v.ref, target, '--cache-dir', cache, '--link', 'hardlink')).toMatchObject({
      link: 'copy',
      misses: distinctBlobs(src),
    });
    // Read-only, as the links would have been.
    const readOnly = readTree(src).map((f) => ({ ...f, mode: f.mode & ~0o222 }));
    expect(readTree(target)).toEqual(readOnly);
    const warm = fresh();
    expect(await get(o, v.ref, warm, '--cache-dir', cache, '--link', 'hardlink')).toMatchObject({
      link: 'copy',
      hits: distinctBlobs(src),
    });
    expect(readTree(warm)).toEqual(readOnly);
  });

  it("with the local provider on the cache's filesystem, each blob is stored once, and no got file is the stored copy", async () => {
    const o = { home: fresh() };
    const { v, src } = await version(o, 40, 10, 64 * 1024);
    const storage = join(o.home, 'storage', 'blobs', 'sha256');
    const cache = join(o.home, 'cache');
    const stored = (sha: string): string => join(storage, sha.slice(0, 2), sha);
    const out = fresh();
    expect(await get(o, v.ref, out)).toMatchObject({ misses: distinctBlobs(src) });

    // Every cached blob is storage's own file: storage and cache together hold each blob's bytes once.
    const shas = cachedBlobs(cache);
    expect(shas).toHaveLength(distinctBlobs(src));
    for (const sha of shas) expect(statSync(blobPath(cache, sha)).ino, sha).toBe(statSync(stored(sha)).ino);
    const inodes = new Map<number, number>();
    for (const dir of [storage, join(cache, 'blobs')]) {
      for (const f of statFiles(dir)) inodes.set(statSync(join(dir, f.path)).ino, f.size);
    }
    const datasetBytes = [...new Map(statFiles(src).map((f) => [sha256Of(join(src, f.path)), f.size])).values()].reduce(
      (a, b) => a + b,
    );
    expect([...inodes.values()].reduce((a, b) => a + b)).toBe(datasetBytes);

    // Root ignores modes: editing a got file in place, default mode or hardlink, changes no stored byte.
    const hard = fresh();
    expect(await get(o, v.ref, hard, '--link', 'hardlink')).toMatchObject({ link: 'copy', hits: distinctBlobs(src) });
    expect(readTree(hard)).toEqual(readTree(src).map((f) => ({ ...f, mode: f.mode & ~0o222 })));
    const storedInodes = new Set(shas.map((sha) => statSync(stored(sha)).ino));
    for (const dir of [out, hard]) {
      expect(statFiles(dir).filter((f) => storedInodes.has(statSync(join(dir, f.path)).ino))).toEqual([]);
      const victim = readTree(dir)[0]!;
      chmodSync(join(dir, victim.path), 0o644);
      writeFileSync(join(dir, victim.path), 'edited in place by root');
      expect(sha256Of(stored(victim.sha256))).toBe(victim.sha256);
    }
    const verify = await strata(['datasets', 'versions', 'verify', '--id', v.ref, '--deep'], o);
    expect({ code: verify.code, stderr: verify.stderr }).toEqual({ code: 0, stderr: '' });

    // The one copy is checked like any other: bytes damaged there are found, never served.
    const damaged = shas[0]!;
    chmodSync(stored(damaged), 0o644);
    writeFileSync(stored(damaged), randomBytesFrom(rng(19), statSync(stored(damaged)).size));
    const r = await strata(getArgs(v.ref, fresh(), []), o);
    expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 5, stderr: expect.stringContaining(damaged) });
  });

  it("a get killed while linking storage's files into the cache: the rerun finishes and leaves no temp link", async () => {
    const o = { home: fresh() };
    const { v, src } = await version(o, 30, 12);
    const out = fresh();
    const killed = await strata(getArgs(v.ref, out, []), { ...o, env: { STRATA_FAULT: 'cache:before-rename:5' } });
    expect(killed.signal).toBe('SIGKILL');
    const cache = join(o.home, 'cache');
    expect(statFiles(cache).filter((f) => f.path.includes('.tmp-')).length).toBeGreaterThan(0);
    expect(await get(o, v.ref, out)).toMatchObject({ files: 32 });
    expect(readTree(out)).toEqual(readTree(src));
    expect(statFiles(cache).filter((f) => f.path.includes('.tmp-'))).toEqual([]);
  });

  it('cache stats counts misses on the first get and hits on the second; --source-path materializes part', async () => {
    const o = { home: fresh() };
    const { v, src } = await version(o, 70, 8);
    const tree = readTree(src);
    const blobs = distinctBlobs(src);
    const size = [...new Map(tree.map((f) => [f.sha256, statSync(join(src, f.path)).size])).values()].reduce(
      (n, s) => n + s,
      0,
    );
    expect(await stats(o)).toMatchObject({ blobs: 0, size: 0, hits: 0, misses: 0, maxSize: null });

    // Part of the version first: only its files, and only its blobs fetched.
    const part = fresh();
    const partTree = tree.filter((f) => f.path.startsWith('d3/') || f.path === 'same/a.txt');
    const partBlobs = new Set(partTree.map((f) => f.sha256)).size;
    expect(await get(o, v.ref, part, '--source-path', '/d3', '--source-path', 'same/a.txt')).toMatchObject({
      files: partTree.length,
      misses: partBlobs,
      hits: 0,
    });
    expect(readTree(part)).toEqual(partTree);
    expect(await stats(o)).toMatchObject({ blobs: partBlobs, hits: 0, misses: partBlobs });

    expect(await get(o, v.ref, fresh())).toMatchObject({ files: 72, hits: partBlobs, misses: blobs - partBlobs });
    expect(await stats(o)).toMatchObject({ blobs, size, hits: partBlobs, misses: blobs });
    expect(await get(o, v.ref, fresh())).toMatchObject({ hits: blobs, misses: 0 });
    expect(await stats(o)).toMatchObject({ blobs, size, hits: partBlobs + blobs, misses: blobs, inUse: 0 });
  });
});

describe.concurrent('strata config', () => {
  it('set, get and list round-trip; the cache directory follows --cache-dir, then STRATA_CACHE_DIR, then cache.dir', async () => {
    const o = { home: fresh() };
    const list = () => strataJson<{ key: string; value: string | null }[]>(['config', 'list'], o);
    expect((await list()).map((e) => [e.key, e.value])).toEqual([
      ['cache.dir', null],
      ['cache.maxSize', null],
      ['concurrency', null],
      ['timeout', null],
    ]);
    const team = join(fresh(), 'team');
    expect(await strataJson(['config', 'set', 'cache.dir', team], o)).toMatchObject({ key: 'cache.dir', value: team });
    expect(await strataJson(['config', 'set', 'cache.maxSize', '1.5GiB'], o)).toMatchObject({
      value: String(1.5 * 1024 ** 3),
    });
    expect(await strataJson(['config', 'set', 'concurrency', '8'], o)).toMatchObject({ value: '8' });
    expect(await strataJson(['config', 'set', 'timeout', '2m'], o)).toMatchObject({ value: '120000' });
    expect(await strataJson(['config', 'get', 'cache.dir'], o)).toMatchObject({ key: 'cache.dir', value: team });
    expect((await strata(['config', 'get', 'cache.maxSize'], o)).stdout).toBe(`${1.5 * 1024 ** 3}\n`);
    expect((await list()).map((e) => [e.key, e.value])).toEqual([
      ['cache.dir', team],
      ['cache.maxSize', String(1.5 * 1024 ** 3)],
      ['concurrency', '8'],
      ['timeout', '120000'],
    ]);
    expect(JSON.parse(readFileSync(join(o.home, 'config.json'), 'utf8'))).toEqual({
      'cache.dir': team,
      'cache.maxSize': String(1.5 * 1024 ** 3),
      concurrency: '8',
      timeout: '120000',
    });
    expect(await strataJson(['config', 'set', 'concurrency', '--unset'], o)).toMatchObject({ value: null });
    await expectFailure(['config', 'get', 'concurrency'], o, 3);

    // Where materialization caches: config, then the environment, then the flag.
    const src = writeFiles(fresh(), { 'a.txt': 'a' });
    await createDataset(o);
    const v = await committedVersion(o, 'demo', `${src}/`);
    expect(await get(o, v.ref, fresh())).toMatchObject({ cacheDir: team, misses: 1 });
    // An empty STRATA_CACHE_DIR is no setting (not the working directory).
    const cwd = fresh();
    expect(await get({ ...o, cwd, env: { STRATA_CACHE_DIR: '' } }, v.ref, join(cwd, 'out'))).toMatchObject({
      cacheDir: team,
      hits: 1,
    });
    expect(readdirSync(cwd)).toEqual(['out']);
    const fromEnv = join(fresh(), 'env-cache');
    expect(await get({ ...o, env: { STRATA_CACHE_DIR: fromEnv } }, v.ref, fresh())).toMatchObject({
      cacheDir: fromEnv,
      misses: 1,
    });
    const fromFlag = join(fresh(), 'flag-cache');
    expect(
      await get({ ...o, env: { STRATA_CACHE_DIR: fromEnv } }, v.ref, fresh(), '--cache-dir', fromFlag),
    ).toMatchObject({ cacheDir: fromFlag, misses: 1 });
    expect([team, fromEnv, fromFlag].map((dir) => cachedBlobs(dir).length)).toEqual([1, 1, 1]);
  });

  it('refuses unknown keys and bad values with the usage exit code (2), changing nothing', async () => {
    const o = { home: fresh() };
    await strataJson(['config', 'set', 'cache.maxSize', '10MiB'], o);
    const before = readFileSync(join(o.home, 'config.json'), 'utf8');
    for (const args of [
      ['config', 'set', 'cache.maxSize', 'lots'],
      ['config', 'set', 'cache.maxSize', '-5GiB'],
      ['config', 'set', 'concurrency', '0'],
      ['config', 'set', 'concurrency', 'many'],
      ['config', 'set', 'timeout', '0s'],
      ['config', 'set', 'timeout', 'soon'],
      ['config', 'set', 'cache.dir', ''],
      ['config', 'set', 'cache.dir'],
      ['config', 'set', 'no.such.key', '1'],
      ['config', 'get', 'no.such.key'],
    ]) {
      const r = await strata([...args, '--json'], o);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
    }
    const { line } = await expectFailure(['config', 'set', 'nope', '1'], o, 2);
    expect(line).toContain('cache.dir');
    expect(readFileSync(join(o.home, 'config.json'), 'utf8')).toBe(before);
  });
});
