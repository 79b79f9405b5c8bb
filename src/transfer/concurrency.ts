import pLimit from 'p-limit';

/**
 * Runs fn over items with at most `concurrency` at once, feeding p-limit a little at a time so
 * memory stays flat however many items there are (a promise per item up front costs hundreds of
 * megabytes at a million files). Stops taking new items at the first failure and rethrows it
 * once the ones in flight have settled.
 */
export async function forEachLimited<T>(
  items: Iterable<T>,
  concurrency: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  const limit = pLimit(concurrency);
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  for (const item of items) {
    if (failure) break;
    const task: Promise<void> = limit(() => fn(item)).then(
      () => void inFlight.delete(task),
      (error: unknown) => {
        inFlight.delete(task);
        failure ??= { error };
      },
    );
    inFlight.add(task);
    if (inFlight.size >= concurrency * 2) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  if (failure) throw failure.error;
}
