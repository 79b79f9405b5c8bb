import { setFlagsFromString } from 'node:v8';

/**
 * A put bounds the heap's growth from this many files on: its packs keep the bookkeeping of
 * thousands of files alive at a time, and its peak RSS at W5's 100,000 files fell from 281–299 MB
 * to 211–218 MB bounded.
 */
export const PUT_BOUND_FROM = 50_000;
/**
 * A get from this many: below it, its batches keep the peak near 300 MB (W5's cold get: ~305 MB
 * unbounded, ~283 bounded) and the bound would cost it ~20 % more user CPU, all of its CPU-bound
 * time. At a million files it peaked at 372 MB unbounded, 273–284 MB bounded.
 */
export const GET_BOUND_FROM = 200_000;

let bounded = false;

/**
 * Lets V8's heap grow only 30 % past what is live before its next full collection, for a put or
 * get of at least `from` files. V8 otherwise lets it grow to several times the live size; a put or
 * get of a million files makes old garbage at a steady rate (bookkeeping that lives as long as a
 * pack or a batch), and its peak RSS went past 300 MB with a live heap of ~50 MB
 * (docs/development.md, "Memory"). Small jobs, which end before the heap has grown, keep V8's default.
 */
export function boundHeapGrowth(files: number, from: number): void {
  if (bounded || files < from) return;
  setFlagsFromString('--heap-growing-percent=30');
  bounded = true;
}
