import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ContentMismatch, failedAt, IntegrityError } from '../core/errors.js';
import { FileHash } from './hash-thread.js';
import { UncachedFile, writeInPieces } from './file-writes.js';
import { RANGED_READS, type BlobSink } from './read-blob.js';

// What arrives from a read, hashed and checked: the caller compares size and sha256 with the
// manifest, and reads again while what arrived is garbled.

/** Reads of one blob at most while what arrives is wrong. */
const GARBLED_READS = 5;
/** The same wrong content this many times is what storage holds: no more reads. */
const SAME_WRONG = 3;

/**
 * Runs a read that ends with a check of what arrived (IntegrityError when it is wrong), and runs it
 * again while it fails the check: a byte flipped or a body cut short on the way is read again.
 * Wrong content on GARBLED_READS reads is an integrity failure, and so, sooner, is the same wrong
 * content SAME_WRONG times (storage holds it; a path that garbles the same byte of the same body
 * on so many reads in a row is not a path worth trusting either).
 */
export async function rereadGarbled<T>(read: () => Promise<T>): Promise<T> {
  const seen = new Map<string, number>();
  for (let reads = 1; ; reads++) {
    try {
      return await read();
    } catch (error) {
      if (!(error instanceof IntegrityError)) throw error;
      const got = error instanceof ContentMismatch ? error.got : 'unknown';
      const times = (seen.get(got) ?? 0) + 1;
      if (times >= SAME_WRONG || reads >= GARBLED_READS) throw error;
      seen.set(got, times);
    }
  }
}

/**
 * Hashes what a reader delivers, refusing more than `size` bytes as they arrive, and hands each
 * chunk on to `then` (with its offset). Says what arrived, for the caller to check against the
 * manifest.
 */
export async function readHashed(
  read: (sink: BlobSink) => Promise<void>,
  size: number,
  then?: (chunk: Buffer, at: number) => Promise<unknown>,
): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  await read((chunk) => {
    if (bytes + chunk.length > size) throw tooLong(size);
    hash.update(chunk);
    const at = bytes;
    bytes += chunk.length;
    return then?.(chunk, at) as Promise<void> | undefined;
  });
  return { sha256: hash.digest('hex'), bytes };
}

/**
 * readHashed into a new file (mode 0600, which must not exist); a large blob is hashed as the
 * file holds it (readHashedBack).
 * `later` is one more such file, for a copy nobody reads soon (the cache's, beside a target),
 * written from the same bytes at once, around the page cache where it can be (UncachedFile).
 */
export async function readIntoFile(
  read: (sink: BlobSink) => Promise<void>,
  path: string,
  size: number,
  later?: string,
): Promise<{ sha256: string; bytes: number }> {
  const file = await open(path, 'wx+', 0o600); // read back to be hashed
  let uncached: UncachedFile | undefined;
  try {
    if (later !== undefined) uncached = await UncachedFile.create(later, size);
    const write = (chunk: Buffer, at: number): Promise<unknown> =>
      Promise.all([
        writeInPieces(file, chunk, at).catch((error: unknown) => {
          throw failedAt(error, dirname(path));
        }),
        uncached?.write(chunk, at).catch((error: unknown) => {
          throw failedAt(error, dirname(later!));
        }),
      ]);
    if (size < RANGED_READS.from) return await readHashed(read, size, write);
    return await readHashedBack(read, size, write, file.fd);
  } finally {
    await Promise.all([file.close(), uncached?.close()]);
  }
}

/**
 * readHashed for large blobs, hashed on the hashing thread: each chunk, once written, is read
 * back from `fd` there, while this thread receives the next ones.
 */
async function readHashedBack(
  read: (sink: BlobSink) => Promise<void>,
  size: number,
  write: (chunk: Buffer, at: number) => Promise<unknown>,
  fd: number,
): Promise<{ sha256: string; bytes: number }> {
  const hash = new FileHash(fd);
  const hashed: Promise<void>[] = [];
  /** settles once the previous chunk was handed to the thread: chunks are hashed in order */
  let handedOn: Promise<void> = Promise.resolve();
  let bytes = 0;
  try {
    await read((chunk) => {
      if (bytes + chunk.length > size) throw tooLong(size);
      const at = bytes;
      bytes += chunk.length;
      const written = write(chunk, at);
      handedOn = Promise.all([handedOn, written]).then(() => {
        const done = hash.next(at, chunk.length);
        done.catch(() => undefined); // awaited below
        hashed.push(done);
      });
      handedOn.catch(() => undefined); // a failed write fails the read; the chain after it is moot
      return written.then(() => undefined);
    });
  } catch (error) {
    // The thread is done with the file before the caller closes it, and forgets this hash.
    await handedOn.catch(() => undefined);
    await Promise.allSettled(hashed);
    await hash.digest().catch(() => undefined);
    throw error;
  }
  await handedOn;
  await Promise.all(hashed);
  return { sha256: await hash.digest(), bytes };
}

export const tooLong = (size: number): IntegrityError =>
  new IntegrityError(`storage sent more than the ${size} bytes the manifest says; nothing was written`);

/** A reader of a stream's bytes (a local file, a spool). */
export const streamReader =
  (stream: AsyncIterable<unknown>) =>
  async (sink: BlobSink): Promise<void> => {
    for await (const chunk of stream) await sink(chunk as Buffer);
  };
