import { setTimeout as sleep } from 'node:timers/promises';
import { IntegrityError, retryableNetworkError, StorageError } from '../core/errors.js';
import type { StorageBackend } from '../storage/backend.js';
import { blobKey } from '../storage/keys.js';
import { pageAlignedMemory } from './file-writes.js';

const MiB = 1024 * 1024;

/**
 * Takes a blob's bytes, called with the chunks in order. It may be called with the next chunk
 * before the promise it returned for this one settles (a large blob's writes overlap the hashing
 * of what follows), so whatever depends on order happens before its first await. A chunk is
 * valid only until its promise settles (its memory is reused after): a sink that keeps bytes
 * copies them.
 */
export type BlobSink = (chunk: Buffer) => void | Promise<void>;

/** Where a blob is packed: the pack (its id and key), and the blob's first byte in it (docs/packs.md). */
export interface PackedAt {
  packId: string;
  key: string;
  offset: number;
}

/** Reads a blob of the provider into a sink, in order; `size` is what its manifest says. */
export type BlobReader = (sha256: string, size: number, sink: BlobSink, signal?: AbortSignal) => Promise<void>;

export interface RangedReads {
  /** blobs this large are read as parallel ranges: one stream of a large object is slower than S3 serves */
  from: number;
  rangeSize: number;
  /** ranges of one blob in flight at once */
  perBlob: number;
  /** range buffers of the whole process: how much read-ahead all large blobs together may hold */
  pool: number;
}

/** Ranges a sink may hold at once: its writes of one overlap the hashing of the next. */
const DELIVERIES_IN_FLIGHT = 4;

/** aws-cli reads 10 ranges of 8 MiB at once */
export const RANGED_READS: RangedReads = { from: 64 * MiB, rangeSize: 8 * MiB, perBlob: 8, pool: 16 };

/**
 * Reads a blob in order into `sink` (the caller hashes what it gets and checks size and sha256).
 * Large blobs are read as parallel ranges into a fixed pool of buffers, after a HEAD that checks
 * their size, so memory stays bounded however many large blobs are read at once.
 */
export async function readBlob(
  backend: StorageBackend,
  sha256: string,
  size: number,
  sink: BlobSink,
  signal?: AbortSignal,
  packed?: PackedAt,
  tuning: RangedReads = RANGED_READS,
): Promise<void> {
  if (packed)
    return readResuming(backend, packed.key, { start: packed.offset, end: packed.offset + size }, sink, signal);
  const key = blobKey(sha256);
  const stored = size < tuning.from ? undefined : await backend.head(key);
  if (stored && stored.size !== size) {
    throw new IntegrityError(
      `blob ${sha256} in ${backend.location} has ${stored.size} bytes, its manifest says ${size}; nothing was written`,
    );
  }
  // One GET: small blobs, and a missing one (which then fails as any read of it does).
  if (!stored) return readResuming(backend, key, { start: 0, end: size, whole: true }, sink, signal);
  await readRanges(backend, key, size, sink, tuning, signal);
}

/**
 * A body that breaks off is asked for again from where it stopped, this many times at most: the
 * backend's own bound (storage/endpoint.ts) ends it sooner when nothing comes through.
 */
const BODY_ATTEMPTS = 100;

/**
 * Reads bytes [start, end) of an object into sink, in order. A body that breaks off on the way (a
 * reset connection, a stall past the idle timeout, a garbled answer) is asked for again from the
 * byte where it stopped, so the sink sees one unbroken run. A body that ends cleanly ends the
 * read, short or not: the caller checks what arrived (and reads again while it is garbled: rereadGarbled).
 */
async function readResuming(
  backend: StorageBackend,
  key: string,
  /** bytes [start, end); `whole`: the object itself, asked for without a range until it breaks off */
  { start, end, whole = false }: { start: number; end: number; whole?: boolean },
  sink: BlobSink,
  signal?: AbortSignal,
): Promise<void> {
  let at = start;
  for (let attempt = 1; ; attempt++) {
    try {
      const range = whole && attempt === 1 ? undefined : { start: at, end: end - 1 };
      if (range && at >= end) return;
      for await (const chunk of await backend.get(key, range, signal)) {
        const bytes = chunk as Buffer;
        at += bytes.length;
        await sink(bytes);
      }
      return;
    } catch (error) {
      if (signal?.aborted || !retryableNetworkError(error)) throw error;
      if (attempt >= BODY_ATTEMPTS) {
        throw new StorageError(
          `reading ${key} from ${backend.location}: the answer broke off ${attempt} times (${(error as Error).message}); check the network`,
          { cause: error, code: 'EUNREACHABLE' },
        );
      }
      await sleep(Math.min(1000, Math.random() * 100 * attempt), undefined, { signal });
    }
  }
}

/** Bytes [start, end) of an object, whole: a body that breaks off is asked for again from where it stopped. */
export async function readRange(
  backend: StorageBackend,
  key: string,
  start: number,
  end: number,
  signal?: AbortSignal,
  /** a buffer to read into, when large enough (the caller's, reused: the result is part of it) */
  into?: Buffer,
): Promise<Buffer> {
  const buffer = into && into.length >= end - start ? into.subarray(0, end - start) : Buffer.allocUnsafe(end - start);
  const length = await readRangeInto(backend, key, start, end, buffer, signal);
  if (length !== buffer.length) {
    throw new IntegrityError(`reading ${key}: the server sent ${length} of the ${end - start} bytes asked for`);
  }
  return buffer;
}

/** Reads bytes [start, end) of an object into `buffer`; says how many arrived (a body may end short). */
async function readRangeInto(
  backend: StorageBackend,
  key: string,
  start: number,
  end: number,
  buffer: Buffer,
  signal?: AbortSignal,
): Promise<number> {
  let length = 0;
  await readResuming(
    backend,
    key,
    { start, end },
    (bytes) => {
      if (length + bytes.length > end - start) {
        throw new IntegrityError(`reading ${key}: the server sent more than the ${end - start} bytes asked for`);
      }
      bytes.copy(buffer, length);
      length += bytes.length;
    },
    signal,
  );
  return length;
}

/**
 * Range buffers shared by every ranged read of this process, made as first needed. They are cut
 * from one page-aligned memory, so UncachedFile can write them with O_DIRECT.
 */
class BufferPool {
  private readonly free: Buffer[] = [];
  private made = 0;
  private readonly waiting: ((buffer: Buffer) => void)[] = [];
  private memory?: Buffer;

  constructor(
    private readonly size: number,
    private readonly max: number,
  ) {}

  take(): Promise<Buffer> {
    const buffer = this.free.pop() ?? (this.made < this.max ? this.make() : undefined);
    return buffer ? Promise.resolve(buffer) : new Promise((resolve) => this.waiting.push(resolve));
  }

  private make(): Buffer {
    const memory = (this.memory ??= pageAlignedMemory(this.size * this.max));
    const start = this.made++ * this.size;
    return memory.subarray(start, start + this.size);
  }

  give(buffer: Buffer): void {
    const next = this.waiting.shift();
    if (next) next(buffer);
    else this.free.push(buffer);
  }
}

const pools = new Map<string, BufferPool>();
const poolFor = ({ rangeSize, pool }: RangedReads): BufferPool => {
  const name = `${rangeSize}x${pool}`;
  let found = pools.get(name);
  if (!found) pools.set(name, (found = new BufferPool(rangeSize, pool)));
  return found;
};

/**
 * The object's bytes in order, with the next ranges already on their way. Each blob asks for its
 * ranges in order and holds the buffer of its earliest undelivered one, so blobs sharing the
 * pool always make progress.
 */
async function readRanges(
  backend: StorageBackend,
  key: string,
  size: number,
  sink: BlobSink,
  tuning: RangedReads,
  signal?: AbortSignal,
): Promise<void> {
  const pool = poolFor(tuning);
  const stop = new AbortController();
  const both = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
  const count = Math.ceil(size / tuning.rangeSize);
  const pending: Promise<{ buffer: Buffer; length: number }>[] = [];
  /** ranges handed to the sink whose promise has not settled */
  const delivering = new Set<Promise<void>>();
  let next = 0;
  const request = (): void => {
    const start = next++ * tuning.rangeSize;
    const end = Math.min(size, start + tuning.rangeSize);
    const read = pool.take().then(async (buffer) => {
      try {
        return { buffer, length: await readRangeInto(backend, key, start, end, buffer, both) };
      } catch (error) {
        pool.give(buffer);
        throw error;
      }
    });
    read.catch(() => undefined); // awaited in its turn; a failure before then is not unhandled
    pending.push(read);
  };
  try {
    while (next < Math.min(count, tuning.perBlob)) request();
    while (pending.length > 0) {
      const { buffer, length } = await pending.shift()!;
      if (next < count) request();
      const delivered: Promise<void> = (async () => sink(buffer.subarray(0, length)))().finally(() => {
        delivering.delete(delivered);
        pool.give(buffer);
      });
      delivered.catch(() => undefined); // awaited below; failing before then is not unhandled
      delivering.add(delivered);
      if (delivering.size >= DELIVERIES_IN_FLIGHT) await Promise.race(delivering);
    }
    await Promise.all(delivering);
  } finally {
    stop.abort();
    await Promise.allSettled(delivering);
    // Ranges still in flight fail on the abort and hand their buffers back; ranges that arrived
    // but were not delivered are handed back here.
    for (const r of await Promise.allSettled(pending)) if (r.status === 'fulfilled') pool.give(r.value.buffer);
  }
}
