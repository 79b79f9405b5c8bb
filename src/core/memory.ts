import { setFlagsFromString } from 'node:v8';

/** From this many files on, a put or a get bounds the growth of V8's heap. */
export const LARGE_JOB_FILES = 50_000;

let bounded = false;

/**
 * Lets V8's heap grow only 30 % past what is live before its next full collection, once a put or
 * get is large. V8 otherwise lets it grow to several times the live size; a put or get of a
 * million files makes old garbage at a steady rate (bookkeeping that lives as long as a pack or a
 * batch), and its peak RSS went past 300 MB with a live heap of ~50 MB. Bounded, the W6 get
 * peaked at 273 MB instead of 372, for ~15 % more user CPU; small jobs, which end before the heap
 * has grown, keep V8's default (docs/development.md, "Memory").
 */
export function boundHeapGrowth(files: number): void {
  if (bounded || files < LARGE_JOB_FILES) return;
  setFlagsFromString('--heap-growing-percent=30');
  bounded = true;
}
