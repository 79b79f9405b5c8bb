import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';

export const sha256Hex = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** Read size of hashFile: large enough for few calls, small enough to stay in the CPU's cache. */
const HASH_CHUNK = 2 * 1024 * 1024;

/**
 * A file's sha256 and size. Two buffers, reused: the next chunk is read (off the main thread)
 * while this one is hashed, and a large file allocates nothing per chunk (a stream's fresh
 * buffers would make the garbage collector churn through gigabytes).
 */
export async function hashFile(path: string): Promise<{ sha256: string; size: number }> {
  const file = await open(path, 'r');
  try {
    return await hashHandle(file);
  } finally {
    await file.close();
  }
}

/** A file's digest in hex by another algorithm (md5: an S3 ETag). */
export async function digestFile(path: string, algorithm: string): Promise<string> {
  const file = await open(path, 'r');
  try {
    return (await digestHandle(file, algorithm)).hex;
  } finally {
    await file.close();
  }
}

/** hashFile of a file already open, from its start. */
export async function hashHandle(file: FileHandle): Promise<{ sha256: string; size: number }> {
  const { hex, size } = await digestHandle(file, 'sha256');
  return { sha256: hex, size };
}

async function digestHandle(file: FileHandle, algorithm: string): Promise<{ hex: string; size: number }> {
  const hash = createHash(algorithm);
  let [current, next] = [Buffer.allocUnsafeSlow(HASH_CHUNK), Buffer.allocUnsafeSlow(HASH_CHUNK)];
  let size = 0;
  let reading = file.read(current, 0, HASH_CHUNK, 0);
  for (;;) {
    const { bytesRead } = await reading;
    if (bytesRead === 0) break;
    reading = file.read(next, 0, HASH_CHUNK, size + bytesRead);
    hash.update(current.subarray(0, bytesRead));
    size += bytesRead;
    [current, next] = [next, current];
  }
  return { hex: hash.digest('hex'), size };
}
