import { Readable } from 'node:stream';
import { IntegrityError } from '../core/errors.js';
import type { StorageBackend } from '../storage/backend.js';
import { blobKey } from '../storage/keys.js';
import { readAll } from '../storage/backend.js';

const MiB = 1024 * 1024;

export interface RangedReads {
  /** blobs this large are read as parallel ranges: one stream of a large object is slower than S3 serves */
  from: number;
  rangeSize: number;
  /** ranges in flight at once; also the read-ahead held in memory */
  inFlight: number;
}

/** aws-cli reads 10 ranges of 8 MiB at once */
const RANGED_READS: RangedReads = { from: 64 * MiB, rangeSize: 8 * MiB, inFlight: 8 };

/** Opens a blob for a verified read (the caller hashes what it gets and checks size and sha256). */
export async function openBlob(
  backend: StorageBackend,
  sha256: string,
  size: number,
  signal?: AbortSignal,
  tuning: RangedReads = RANGED_READS,
): Promise<Readable> {
  const key = blobKey(sha256);
  if (size < tuning.from) return backend.get(key, undefined, signal);
  const stored = await backend.head(key);
  if (!stored) return backend.get(key, undefined, signal); // fails as any read of a missing blob does
  if (stored.size !== size) {
    throw new IntegrityError(
      `blob ${sha256} in ${backend.location} has ${stored.size} bytes, its manifest says ${size}; nothing was written`,
    );
  }
  return Readable.from(ranges(backend, key, size, tuning, signal), { highWaterMark: 1 });
}

/** `fetch` for a materialization: blobs of the provider the lazy `backend` opens. */
export const blobFetcher =
  (backend: () => Promise<StorageBackend>) =>
  async (sha256: string, size: number, signal?: AbortSignal): Promise<Readable> =>
    openBlob(await backend(), sha256, size, signal);

/** The object's bytes in order, with the next ranges already on their way. */
async function* ranges(
  backend: StorageBackend,
  key: string,
  size: number,
  { rangeSize, inFlight }: RangedReads,
  signal?: AbortSignal,
) {
  const stop = new AbortController();
  const both = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
  const count = Math.ceil(size / rangeSize);
  const pending: Promise<Buffer>[] = [];
  let next = 0;
  const request = (): void => {
    const start = next++ * rangeSize;
    const read = backend.get(key, { start, end: Math.min(size, start + rangeSize) - 1 }, both).then(readAll);
    read.catch(() => undefined); // awaited in its turn; a failure before then is not unhandled
    pending.push(read);
  };
  try {
    while (next < Math.min(count, inFlight)) request();
    while (pending.length > 0) {
      const chunk = await pending.shift()!;
      if (next < count) request();
      yield chunk;
    }
  } finally {
    stop.abort();
  }
}
