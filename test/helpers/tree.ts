import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/** A deterministic pseudo-random generator (mulberry32), so generated trees repeat exactly. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomBytesFrom(random: () => number, size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) out[i] = Math.floor(random() * 256);
  return out;
}

/** Writes files of random content under root: {count} files in nested directories. */
export function makeTree(
  root: string,
  options: { count: number; minSize?: number; maxSize?: number; seed?: number },
): void {
  const random = rng(options.seed ?? 1);
  const min = options.minSize ?? 1;
  const max = options.maxSize ?? 2048;
  for (let i = 0; i < options.count; i++) {
    const path = join(root, `d${i % 7}`, `s${i % 3}`, `file-${i}.bin`);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, randomBytesFrom(random, min + Math.floor(random() * (max - min + 1))));
    if (i % 5 === 0) chmodSync(path, 0o755);
    const mtime = new Date(Date.UTC(2024, 0, 1) + i * 1000);
    utimesSync(path, mtime, mtime);
  }
}

export interface TreeEntry {
  path: string;
  sha256: string;
  mode: number;
  mtimeMs: number;
}

/** Every regular file under root, with content hash, permission bits and mtime (ms). */
export function readTree(root: string): TreeEntry[] {
  const out: TreeEntry[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) {
        const s = statSync(path);
        out.push({
          path: relative(root, path),
          sha256: createHash('sha256').update(readFileSync(path)).digest('hex'),
          mode: s.mode & 0o777,
          mtimeMs: Math.floor(s.mtimeMs),
        });
      }
    }
  };
  walk(root);
  return out.sort((a, b) => a.path.localeCompare(b.path));
}
