import { createHash, type Hash } from 'node:crypto';
import { readSync } from 'node:fs';
import { runOnThread, threadsAvailable } from './threads.js';

/**
 * sha256 on a worker thread of what was just written to a file, for large blobs being read: the
 * main thread keeps receiving the next ranges from the network (and hands them to the disk)
 * while the thread reads back and hashes the last one, instead of the sockets waiting for each
 * hash. Hashing the bytes as the file holds them checks the write too. The file descriptor is
 * the process's, so the thread reads through the caller's open file.
 */

/** One step of a file's hash: its next `length` bytes at `offset`, or (neither given) its digest. */
export interface HashStep {
  kind: 'hash';
  id: number;
  fd: number;
  offset?: number;
  length?: number;
}

/** The hashes in progress on this thread, by id; every step of one hash runs on the same thread. */
const hashes = new Map<number, Hash>();
let buffer: Buffer | undefined;

/** Runs one step where it is called (on the hashing thread): the digest's hex, or nothing. */
export function hashStep(step: HashStep): string | undefined {
  let hash = hashes.get(step.id);
  if (!hash) hashes.set(step.id, (hash = createHash('sha256')));
  try {
    if (step.length === undefined || step.offset === undefined) {
      hashes.delete(step.id);
      return hash.digest('hex');
    }
    buffer ??= Buffer.allocUnsafeSlow(2 * 1024 * 1024);
    for (let done = 0; done < step.length;) {
      const n = readSync(step.fd, buffer, 0, Math.min(buffer.length, step.length - done), step.offset + done);
      if (n === 0) throw new Error('the file ends before the bytes written to it');
      hash.update(buffer.subarray(0, n));
      done += n;
    }
    return undefined;
  } catch (error) {
    hashes.delete(step.id);
    throw error;
  }
}

/** The first thread of the pool hashes: a hash's steps must meet its state, in order. */
const HASHING_THREAD = 0;
let nextId = 0;

/** The sha256 of one file, computed on the hashing thread from its bytes in order. */
export class FileHash {
  private readonly id = ++nextId;

  constructor(private readonly fd: number) {}

  /**
   * Hashes the file's `length` bytes at `offset` (they must be written), after those of the
   * calls before: each call hands on the bytes that follow the previous call's.
   */
  async next(offset: number, length: number): Promise<void> {
    await this.step({ offset, length });
  }

  async digest(): Promise<string> {
    return (await this.step({}))!;
  }

  private async step(part: { offset?: number; length?: number }): Promise<string | undefined> {
    const step: HashStep = { kind: 'hash', id: this.id, fd: this.fd, ...part };
    try {
      return threadsAvailable() ? await runOnThread<string | undefined>(HASHING_THREAD, step) : hashStep(step);
    } catch (error) {
      throw new Error(`hashing failed: ${(error as Error).message}`);
    }
  }
}
