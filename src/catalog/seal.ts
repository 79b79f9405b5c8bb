import { createHash } from 'node:crypto';
import type { FileEntry } from '../core/model.js';

/** A file row as the catalog stores it: path, size, sha256, mode, mtime. */
export type SealRow = readonly [path: string, size: number, sha256: string, mode: number, mtimeMs: number];

export interface Seal {
  count: number;
  /** sha256 of the rows in path order (the catalog's ORDER BY path: bytes of UTF-8) */
  digest: string;
}

/**
 * The seal of a file list: its length and a digest of every field of every row, in the order the
 * catalog lists them. Stored with a committed version, it makes a damaged catalog that lost or
 * changed rows say so instead of serving part of the version.
 */
export function sealOf(rows: Iterable<SealRow>): Seal {
  const sealer = new Sealer();
  for (const row of rows) sealer.add(row);
  return sealer.seal();
}

/** sealOf, a row at a time: for a caller that streams the rows for its own use and checks them as they pass. */
export class Sealer {
  private readonly hash = createHash('sha256');
  private count = 0;

  add([path, size, sha256, mode, mtimeMs]: SealRow): void {
    this.hash.update(`${path}\0${size}\0${sha256}\0${mode}\0${mtimeMs}\n`);
    this.count++;
  }

  seal(): Seal {
    return { count: this.count, digest: this.hash.digest('hex') };
  }
}

/** The seal of a list of files in the catalog's order (as `files.list` returns them). */
export const sealOfFiles = (files: readonly FileEntry[]): Seal =>
  sealOf(files.map((f) => [f.path, f.size, f.sha256, f.mode, f.mtimeMs] as const));
