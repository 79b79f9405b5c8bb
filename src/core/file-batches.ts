import type { FileEntry } from './model.js';

/**
 * Files a get places, in batches: a version's files are read from the catalog a batch at a time
 * as they are placed, so a million-file version is never in memory at once (docs/cache.md,
 * "Memory"). `count` and `bytes` are known up front, for the progress bar and the result.
 */
export interface FileBatches {
  count: number;
  bytes: number;
  batches(): Iterable<FileEntry[]>;
}

/**
 * Files a get (or a commit's check) holds in memory at once. A cold get's bookkeeping per file
 * (where each blob is packed, which files wait on it) lives as long as its batch, long enough to
 * reach V8's old generation: at 32,768 a million-file get peaked at 357 MB, at 8,192 at 273 MB
 * (with the heap's growth bounded, memory.ts). A batch still spans a few packs' ranges in parallel.
 */
export const FILES_PER_BATCH = 8192;

/** Files already in memory, as batches. */
export function inMemory(files: readonly FileEntry[]): FileBatches {
  return {
    count: files.length,
    bytes: files.reduce((n, f) => n + f.size, 0),
    batches: () => chunks(files, FILES_PER_BATCH),
  };
}

/** Consecutive items in arrays of `size` (the last one shorter). */
export function* chunks<T>(items: Iterable<T>, size: number): Generator<T[]> {
  let chunk: T[] = [];
  for (const item of items) {
    chunk.push(item);
    if (chunk.length === size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}
