import type { Readable } from 'node:stream';
import { NotFoundError, retryableNetworkError } from '../core/errors.js';

export interface ObjectInfo {
  key: string;
  size: number;
  /** entity tag without quotes */
  etag: string;
  lastModified: Date;
}

/** A file on this machine as a body: a backend reads it as it likes (parts in parallel, a kernel copy). */
export interface LocalFile {
  file: string;
  size: number;
}

export type PutBody = Buffer | Readable | LocalFile;

export const isLocalFile = (body: PutBody): body is LocalFile =>
  !Buffer.isBuffer(body) && typeof (body as LocalFile).file === 'string';

export interface PutOptions {
  /** size of a stream body, when known (lets S3 choose single PUT or multipart) */
  size?: number;
  /** write only if no object has this key; a loser gets PreconditionFailedError */
  ifNoneMatch?: boolean;
  /** write only if the object's current etag is this one; a loser gets PreconditionFailedError */
  ifMatch?: string;
  contentType?: string;
  /** the body's sha256 when the caller knows it: S3 then checks the bytes it received against it */
  sha256?: string;
  signal?: AbortSignal;
}

/**
 * Where bytes live: keys and objects, nothing about datasets. Implemented for a local directory
 * and for S3; one contract suite (test/helpers/backend-contract.ts) holds both to it.
 * Failures are StorageError (with the cause kept) or PreconditionFailedError; a missing key on
 * get is NotFoundError.
 */
export interface StorageBackend {
  /** a human description for messages ("s3://bucket/prefix", "/home/me/.strata/storage") */
  readonly location: string;
  put(key: string, body: PutBody, options?: PutOptions): Promise<{ etag: string }>;
  get(key: string, range?: { start: number; end: number }, signal?: AbortSignal): Promise<Readable>;
  /** undefined when no object has this key */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** every object whose key starts with prefix, in key order, paginated underneath */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** deletes keys (missing ones are fine), batched underneath */
  delete(keys: readonly string[]): Promise<void>;
  /** checks the place is reachable with these credentials; throws StorageError otherwise */
  verify(): Promise<void>;
  close(): void;
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Reads of an object whose body breaks off on the way (endpoint.ts bounds each). */
const READ_ATTEMPTS = 10;

/** Runs a read of an object again, from the start, while its body breaks off on the way. */
export async function readAgainWhileBroken<T>(read: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (error) {
      if (attempt >= READ_ATTEMPTS || !retryableNetworkError(error)) throw error;
    }
  }
}

/** A whole (small) object: a body that breaks off on the way is asked for again. */
export const readObject = (backend: StorageBackend, key: string): Promise<Buffer> =>
  readAgainWhileBroken(async () => readAll(await backend.get(key)));

/** An object's bytes, or undefined when no object has the key (or it went between a listing and now). */
export async function readIfPresent(backend: StorageBackend, key: string): Promise<Buffer | undefined> {
  try {
    return await readObject(backend, key);
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
}

/** An object's ETag and bytes, for a rewrite conditional on them; undefined when there is none. */
export async function readWithEtag(
  backend: StorageBackend,
  key: string,
): Promise<{ etag: string; bytes: Buffer } | undefined> {
  const info = await backend.head(key);
  const bytes = info && (await readIfPresent(backend, key));
  return bytes && { etag: info.etag, bytes };
}
