// Deterministic benchmark data under bench/data/ (gitignored; kept between runs as a cache).
// Every byte and size comes from a seeded sfc32 generator: the same trees on every machine, every run.
//   W1: 10,000 files of 4–32 KiB (~184 MB) in 10 × 10 nested directories
//   W2: one file of 1 GiB (256 MiB with --quick), written as a stream
//   W3: W1 with exactly 100 files (1 %) rewritten in place, each keeping its size
//   W5: 100,000 files of 1–4 KiB (~256 MB) in 100 directories
//   W6: 1,000,000 files of 0.5–2 KiB (~1.28 GB) in 1,000 directories (`--w6-files N`: N files, W6-N/)
// Trees of changed files (W6's 1 %, the GC scenario's versions) are written where a run wants them.
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  statfsSync,
  writeFileSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, join } from 'node:path';

const GEN_VERSION = 1;
const SEED = 0x5742a7a1;
export const DATA_DIR = new URL('./data/', import.meta.url).pathname.replace(/\/$/, '');

/** sfc32 seeded through splitmix32 from (seed, stream): returns a function giving uint32s. */
export function rng(seed, stream) {
  let s = (seed ^ Math.imul(stream + 1, 0x9e3779b9)) >>> 0;
  const mix = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = mix(), b = mix(), c = mix(), d = mix(); // prettier-ignore
  const next = () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}

/** Fill a Uint32Array from a generator (the hot loop for 1 GiB). */
function fillWords(words, next) {
  for (let i = 0; i < words.length; i++) words[i] = next();
}

function fileBytes(size, seed, stream) {
  const words = new Uint32Array(Math.ceil(size / 4));
  fillWords(words, rng(seed, stream));
  return Buffer.from(words.buffer, 0, size);
}

/** The layout of a many-files tree: relative paths and sizes, from the seed alone. */
function layout(count, minSize, maxSize, perDir, seedStream) {
  const next = rng(SEED, seedStream);
  const pad = String(count - 1).length;
  const files = [];
  for (let i = 0; i < count; i++) {
    const dir = Math.floor(i / perDir);
    const path = `a${Math.floor(dir / 10)}/b${dir % 10}/f${String(i).padStart(pad, '0')}.bin`;
    files.push({ path, size: minSize + (next() % (maxSize - minSize + 1)) });
  }
  return files;
}

/**
 * The `howMany` indices of `count` files a changed tree rewrites (W3: 100 of W1's), the same for the
 * same `salt`: a partial Fisher–Yates shuffle.
 */
export function changedIndices(count, howMany, salt = 0) {
  const next = rng(SEED, 3000 + salt);
  const idx = Array.from({ length: count }, (_, i) => i);
  for (let i = 0; i < howMany; i++) {
    const j = i + (next() % (count - i));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx.slice(0, howMany).sort((x, y) => x - y);
}

const W1_FILES = () => layout(10_000, 4096, 32_768, 100, 1000);
const W5_FILES = () => layout(100_000, 1024, 4096, 1000, 5000);
const W6_FILES = (count) => layout(count, 512, 2048, 1000, 6000);
const LAYOUTS = { W1: W1_FILES, W6: W6_FILES };

/** Walk a tree, a directory at a time: number of regular files and their total size. */
export function census(dir) {
  let files = 0;
  let bytes = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      const below = census(path);
      [files, bytes] = [files + below.files, bytes + below.bytes];
    } else if (e.isFile()) [files, bytes] = [files + 1, bytes + statSync(path).size];
  }
  return { files, bytes };
}

/** Reuse bench/data/NAME if its marker and a walk agree with what it should hold; else (re)build it. */
async function ensure(name, expect, build, log) {
  const dir = join(DATA_DIR, name);
  const marker = join(DATA_DIR, `${name}.json`);
  const want = { gen: GEN_VERSION, name, ...expect };
  if (existsSync(marker) && existsSync(dir)) {
    const have = JSON.parse(readFileSync(marker, 'utf8'));
    if (JSON.stringify(have) === JSON.stringify(want)) {
      const c = census(dir);
      if (c.files === expect.files && c.bytes === expect.bytes) return dir;
    }
  }
  log(`generating ${name} (${expect.files} file(s), ${(expect.bytes / 1e6).toFixed(0)} MB) in ${dir}`);
  const started = Date.now();
  rmSync(marker, { force: true });
  rmSync(dir, { recursive: true, force: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  await build(tmp);
  renameSync(tmp, dir);
  writeFileSync(marker, JSON.stringify(want) + '\n');
  log(`generated ${name} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return dir;
}

/** File i's bytes come from stream firstStream + i: distinct streams of one seed never repeat a file. */
function writeTree(root, files, contentSeed, firstStream = 0) {
  let lastDir = '';
  files.forEach((f, i) => {
    const path = join(root, f.path);
    if (dirname(path) !== lastDir) mkdirSync((lastDir = dirname(path)), { recursive: true });
    writeFileSync(path, fileBytes(f.size, contentSeed(i), firstStream + i));
  });
}

const sum = (files) => files.reduce((n, f) => n + f.size, 0);

export async function ensureW1(log) {
  const files = W1_FILES();
  const dir = await ensure(
    'W1',
    { files: files.length, bytes: sum(files) },
    (tmp) => writeTree(tmp, files, () => SEED),
    log,
  );
  return { name: 'W1', dir, files: files.length, bytes: sum(files) };
}

export async function ensureW3(log) {
  const files = W1_FILES();
  const changed = new Set(changedIndices(files.length, 100));
  const expect = { files: files.length, bytes: sum(files), changed: changed.size };
  const dir = await ensure(
    'W3',
    expect,
    (tmp) => writeTree(tmp, files, (i) => (changed.has(i) ? SEED ^ 0x33 : SEED)),
    log,
  );
  const changedFiles = files.filter((_, i) => changed.has(i));
  return {
    name: 'W3',
    dir,
    files: files.length,
    bytes: sum(files),
    changedPaths: changedFiles.map((f) => f.path),
    changedBytes: sum(changedFiles),
  };
}

/**
 * W6, after checking DATA_DIR's filesystem has room for it (unless it is there already) and for two
 * more trees as big, a get's target and the cache it fills (a block and an inode per file each),
 * plus 2 GiB for the catalog and the changed versions.
 */
export async function ensureW6(count, log) {
  const files = W6_FILES(count);
  const name = count === 1_000_000 ? 'W6' : `W6-${count}`;
  const expect = { files: files.length, bytes: sum(files) };
  mkdirSync(DATA_DIR, { recursive: true });
  const room = statfsSync(DATA_DIR);
  const trees = existsSync(join(DATA_DIR, `${name}.json`)) ? 2 : 3;
  const blocks = files.reduce((n, f) => n + Math.ceil(f.size / room.bsize), 0);
  const needBytes = trees * blocks * room.bsize + 2 * 2 ** 30;
  const needInodes = trees * Math.ceil(files.length * 1.01);
  const free = `${((room.bavail * room.bsize) / 1e9).toFixed(1)} GB and ${room.ffree} inodes`;
  const need = `${(needBytes / 1e9).toFixed(1)} GB and ${needInodes} inodes`;
  if (room.bavail * room.bsize < needBytes || room.ffree < needInodes)
    throw new Error(`${name} needs ${need} free in ${DATA_DIR}; there are ${free}`);
  log(`${name}: ${free} free, ${need} needed`);
  const dir = await ensure(name, expect, (tmp) => writeTree(tmp, files, () => SEED), log);
  return { name, dir, ...expect };
}

/**
 * A tree of some of a data set's files (W1's or W6's) at their paths and sizes, with new content,
 * written under DEST: what a user puts into a version made `--from` the last. `indices`: which
 * files, or a number to choose that many at random. `variant` (1, 2, …) picks the new content:
 * streams of 2^24 each past every tree's own, so no file of any variant repeats another's bytes.
 * Returns their paths and bytes.
 */
export function writeChanged(dest, data, indices, variant) {
  const files = LAYOUTS[data.name.replace(/-\d+$/, '')](data.files);
  const chosen = typeof indices === 'number' ? changedIndices(files.length, indices) : indices;
  const changed = chosen.map((i) => files[i]);
  writeTree(dest, changed, () => SEED, variant * 2 ** 24);
  return { paths: changed.map((f) => f.path), bytes: sum(changed) };
}

export async function ensureW5(log) {
  const files = W5_FILES();
  const dir = await ensure(
    'W5',
    { files: files.length, bytes: sum(files) },
    (tmp) => writeTree(tmp, files, () => SEED),
    log,
  );
  return { name: 'W5', dir, files: files.length, bytes: sum(files) };
}

/** One big file, streamed in 8 MiB chunks: never more than one chunk in memory. */
export async function ensureW2(bytes, log) {
  const name = `W2-${bytes / 2 ** 20}M`;
  const dir = await ensure(
    name,
    { files: 1, bytes },
    async (tmp) => {
      mkdirSync(tmp, { recursive: true });
      const fh = await open(join(tmp, 'w2.bin'), 'w');
      const next = rng(SEED, 2000);
      const words = new Uint32Array(2 ** 21);
      try {
        for (let done = 0; done < bytes;) {
          fillWords(words, next);
          const n = Math.min(words.byteLength, bytes - done);
          await fh.write(new Uint8Array(words.buffer, 0, n));
          done += n;
        }
      } finally {
        await fh.close();
      }
    },
    log,
  );
  return { name: 'W2', dir, files: 1, bytes };
}
