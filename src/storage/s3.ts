import { open, readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import {
  isLocalFile,
  readAll,
  type LocalFile,
  type ObjectInfo,
  type PutBody,
  type PutOptions,
  type StorageBackend,
} from './backend.js';
import type { S3ProviderConfig } from '../core/model.js';
import { createHash } from 'node:crypto';
import { s3Failure } from './s3-errors.js';
import { LeanS3 } from './s3-lean.js';
import { digestFile, hashFile, sha256Hex } from '../core/hash.js';
import { attemptsOf, DEFAULT_GIVE_UP_MS, DEFAULT_IDLE_MS, Endpoint, type Verdict } from './endpoint.js';
import { retryableNetworkError } from '../core/errors.js';
import {
  abortStaleUploads,
  fileParts,
  multipartUpload,
  partSizeFor,
  SourceFailed,
  streamParts,
} from './s3-multipart.js';
import type { S3Sdk } from './s3-sdk.js';

const MiB = 1024 * 1024;
/** S3's smallest part (but the last); also the size below which a single PUT is used. */
const MIN_PART_SIZE = 5 * MiB;
const DEFAULT_PART_SIZE = 16 * MiB;
/** parts of one upload in flight at once (aws-cli sends 10 of 8 MiB) */
const PARTS_IN_FLIGHT = 8;
/** verify() (the bucket check of create, import and error messages) gives up sooner */
const VERIFY_GIVE_UP_MS = 12_000;

export interface S3Options {
  /** give up on an endpoint that has not answered successfully for this long (endpoint.ts) */
  giveUpMs?: number;
}

/** An S3-compatible bucket (AWS, Ceph RGW, MinIO, Garage, Exoscale …), under an optional prefix. */
export class S3Backend implements StorageBackend {
  /** GET, HEAD, PUT and multipart parts: the hot path with many small files (see s3-lean.ts) */
  private readonly lean: LeanS3;
  /** listings, deletes, the bucket check, credential chains: loaded on first use */
  private sdkPart?: Promise<S3Sdk>;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly partSize: number;
  private readonly idleTimeoutMs: number;
  /** retries, their bound and throttling, for every request of this backend */
  readonly endpoint: Endpoint;
  /** the same, bounded more tightly, for the bucket check */
  private readonly checking: Endpoint;
  /** a successful check that the bucket exists (see bucketExists) */
  private bucketChecked?: Promise<void>;

  /**
   * STRATA_S3_IDLE_TIMEOUT_MS and STRATA_S3_PART_SIZE change the idle bound and the part size;
   * STRATA_S3_CONNECT_TO where the data path connects (s3-lean.ts). For tests.
   */
  constructor(
    private readonly config: S3ProviderConfig,
    env: NodeJS.ProcessEnv = process.env,
    options: S3Options = {},
  ) {
    this.bucket = config.bucket;
    this.prefix = config.prefix ? `${config.prefix.replace(/^\/+|\/+$/g, '')}/` : '';
    this.partSize = Math.max(MIN_PART_SIZE, Number(env.STRATA_S3_PART_SIZE) || DEFAULT_PART_SIZE);
    this.idleTimeoutMs = Number(env.STRATA_S3_IDLE_TIMEOUT_MS) || DEFAULT_IDLE_MS;
    this.endpoint = new Endpoint({ giveUpMs: options.giveUpMs ?? DEFAULT_GIVE_UP_MS, idleMs: this.idleTimeoutMs });
    this.checking = new Endpoint({
      giveUpMs: Math.min(VERIFY_GIVE_UP_MS, this.endpoint.policy.giveUpMs),
      idleMs: this.idleTimeoutMs,
    });
    const stored = config.credentials === 'stored';
    const keys = { accessKeyId: config.accessKey ?? '', secretAccessKey: config.secretAccessKey ?? '' };
    this.lean = new LeanS3({
      bucket: config.bucket,
      region: config.region,
      endpoint: config.endpoint,
      policy: this.endpoint,
      connectTo: env.STRATA_S3_CONNECT_TO || undefined,
      // Stored keys sign at once; the environment chain and profiles (and their refresh) are the SDK's.
      credentials: stored ? () => Promise.resolve(keys) : async () => (await this.sdk()).credentials(),
    });
  }

  private sdk(): Promise<S3Sdk> {
    this.sdkPart ??= import('./s3-sdk.js').then(
      ({ S3Sdk }) => new S3Sdk(this.config, this.bucket, { idleTimeoutMs: this.idleTimeoutMs }),
    );
    return this.sdkPart;
  }

  /** An SDK call under an endpoint's policy: each attempt bounded by its timeout and the caller's signal. */
  private async viaSdk<T>(
    endpoint: Endpoint,
    call: (sdk: S3Sdk, signal: AbortSignal) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    const sdk = await this.sdk();
    return endpoint.call(
      (timeoutMs) => {
        const timeout = AbortSignal.timeout(timeoutMs);
        return call(sdk, signal ? AbortSignal.any([signal, timeout]) : timeout);
      },
      (error) => judgeSdk(sdk, error),
      signal,
    );
  }

  get location(): string {
    return `s3://${this.bucket}/${this.prefix}${this.config.endpoint ? ` at ${this.config.endpoint}` : ''}`;
  }

  private key(key: string): string {
    return `${this.prefix}${key}`;
  }

  private fail(error: unknown, doing: string): Error {
    return s3Failure(error, doing, this.bucket, this.config.endpoint);
  }

  async put(key: string, body: PutBody, options: PutOptions = {}): Promise<{ etag: string }> {
    const conditional = options.ifNoneMatch === true || options.ifMatch !== undefined;
    try {
      const size = Buffer.isBuffer(body) ? body.length : isLocalFile(body) ? body.size : options.size;
      // A conditional write is always one PUT (S3 takes up to 5 GiB so): a multipart upload
      // would drop the condition and silently overwrite.
      if (size === undefined ? conditional : conditional || size < this.partSize) {
        return await this.putOnce(key, isLocalFile(body) ? body : await wholeBody(body), options);
      }
      return await this.multipart(key, body, options, partSizeFor(size, this.partSize));
    } catch (error) {
      if (error instanceof SourceFailed) throw error.cause;
      throw this.fail(error, `writing ${key}`);
    }
  }

  /** One PUT, of bytes in memory or of a file sent from disk (a draft of a million files is ~150 MB). */
  private async putOnce(key: string, body: Buffer | LocalFile, options: PutOptions): Promise<{ etag: string }> {
    const headers: Record<string, string> = {
      ...(options.contentType ? { 'content-type': options.contentType } : {}),
      ...(options.ifNoneMatch ? { 'if-none-match': '*' } : {}),
      // Ceph RGW 16 matches If-Match only against the ETag without its quotes.
      ...(options.ifMatch !== undefined ? { 'if-match': unquote(options.ifMatch) } : {}),
    };
    // A signed payload hash makes the server check every byte it received.
    try {
      const out = await this.lean.send('PUT', this.key(key), {
        headers,
        body,
        payloadSha256: options.sha256 ?? (Buffer.isBuffer(body) ? sha256Hex(body) : (await hashFile(body.file)).sha256),
        signal: options.signal,
      });
      out.body.resume();
      return { etag: unquote(String(out.headers.etag ?? '')) };
    } catch (error) {
      const lost = (error as LeanError).$metadata?.httpStatusCode === 412 && attemptsOf(error) > 1;
      if (!(options.ifNoneMatch || options.ifMatch) || !lost) throw error;
      // A conditional write retried after a dropped connection can fail on its own earlier
      // attempt, stored but unanswered: the object holding exactly these bytes (ETag = MD5) is it.
      const now = await this.head(key);
      const md5 = Buffer.isBuffer(body)
        ? createHash('md5').update(body).digest('hex')
        : await digestFile(body.file, 'md5');
      if (now?.etag === md5) return { etag: now.etag };
      throw error;
    }
  }

  /** Parallel parts; a failed upload is aborted, and older unfinished uploads of this key too. */
  private async multipart(
    key: string,
    body: PutBody,
    options: PutOptions,
    partSize: number,
  ): Promise<{ etag: string }> {
    const file = isLocalFile(body) ? await open(body.file, 'r') : undefined;
    let createdBy: Date;
    try {
      const parts = file
        ? fileParts(file)
        : streamParts(Buffer.isBuffer(body) ? Readable.from([body]) : (body as Readable));
      ({ createdBy } = await multipartUpload(this.lean, this.key(key), parts, {
        partSize,
        concurrency: PARTS_IN_FLIGHT,
        contentType: options.contentType,
        signal: options.signal,
      }));
    } finally {
      await file?.close();
    }
    await abortStaleUploads(this.lean, this.key(key), createdBy);
    // RGW 16 returns an empty ETag from a completed multipart upload: ask for it.
    return { etag: (await this.head(key))?.etag ?? '' };
  }

  async get(key: string, range?: { start: number; end: number }, signal?: AbortSignal): Promise<Readable> {
    try {
      const issued = performance.now();
      const out = await this.lean.send('GET', this.key(key), {
        headers: range ? { range: `bytes=${range.start}-${range.end}` } : {},
        signal,
        bodyFollows: true,
      });
      // A GET has succeeded when its body has come: bodies that stall are failures of the endpoint.
      out.body.once('end', () => this.endpoint.succeeded());
      out.body.once('error', (error) => this.endpoint.failed(issued, error));
      return out.body;
    } catch (error) {
      throw this.fail(error, `reading ${key}`);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const out = await this.lean.send('HEAD', this.key(key), { accept: [404] });
      if (out.status === 404) {
        // A HEAD answer has no body to say why: a 404 may be a missing bucket rather than a
        // missing key. Ask the bucket once to tell them apart.
        await this.bucketExists();
        return undefined;
      }
      return {
        key,
        size: Number(out.headers['content-length'] ?? 0),
        etag: unquote(String(out.headers.etag ?? '')),
        lastModified: new Date(String(out.headers['last-modified'] ?? 0)),
      };
    } catch (error) {
      // Nor does a 403 say whether the secret is wrong or the key unknown: the listing does.
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 403) await this.verify();
      throw this.fail(error, `reading ${key}`);
    }
  }

  /**
   * Throws the bucket's own error (NoSuchBucket …) once; remembers a success for this backend's
   * life. Asked in the middle of a transfer, it is bounded as every request of one is: a stalled
   * answer is retried, never the end of a put a retry would save.
   */
  private bucketExists(): Promise<void> {
    this.bucketChecked ??= this.verify(this.endpoint).catch((error: unknown) => {
      this.bucketChecked = undefined;
      throw error;
    });
    return this.bucketChecked;
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    let token: string | undefined;
    do {
      let page;
      try {
        const from = token;
        page = await this.viaSdk(this.endpoint, (sdk, signal) =>
          sdk.listPage(this.key(prefix), from, undefined, signal),
        );
      } catch (error) {
        throw this.fail(error, `listing ${prefix}`);
      }
      for (const o of page.objects) {
        yield { ...o, key: o.key.slice(this.prefix.length), etag: unquote(o.etag) };
      }
      token = page.next;
    } while (token);
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      try {
        await this.viaSdk(this.endpoint, (sdk, signal) =>
          sdk.deleteBatch(
            batch.map((k) => this.key(k)),
            signal,
          ),
        );
      } catch (error) {
        throw this.fail(error, `deleting ${batch.length} object(s)`);
      }
    }
  }

  /**
   * ListObjectsV2 rather than HeadBucket: its error bodies say which credential is wrong. Bounded
   * as a whole (retries included) more tightly than other requests (unless given the transfer's
   * endpoint), so an endpoint that accepts
   * connections and never answers fails the check in seconds.
   */
  async verify(endpoint: Endpoint = this.checking): Promise<void> {
    try {
      await this.viaSdk(endpoint, (sdk, signal) => sdk.listPage(this.prefix, undefined, 1, signal));
    } catch (error) {
      throw this.fail(error, 'checking the bucket');
    }
  }

  close(): void {
    this.lean.close();
    void this.sdkPart?.then((sdk) => sdk.destroy()).catch(() => undefined);
  }
}

interface LeanError {
  $metadata?: { httpStatusCode?: number };
}

/** What to do after an SDK call failed: the same classes as the lean client's (s3-lean.ts). */
function judgeSdk(sdk: S3Sdk, error: unknown): Verdict {
  const e = error as {
    name?: string;
    $metadata?: { httpStatusCode?: number };
    $response?: { headers?: Record<string, string> };
  };
  const status = e.$metadata?.httpStatusCode;
  if (e.name === 'RequestTimeTooSkewed') {
    const date = Date.parse(e.$response?.headers?.date ?? '');
    if (!Number.isNaN(date)) sdk.learnClock(date);
    return 'retry';
  }
  if (status === 429 || e.name === 'SlowDown' || e.name === 'ThrottlingException') return 'throttled';
  if (status !== undefined && status >= 500) return 'retry';
  // A success the SDK could not read (a body garbled or cut on the way): ask again.
  if (status !== undefined && status >= 200 && status < 300) return 'retry';
  // An attempt that ran out of time is aborted: our timeout (the caller's abort is final in call()).
  if (e.name === 'AbortError' || e.name === 'TimeoutError' || e.name === 'RequestTimeout') return 'retry';
  return retryableNetworkError(error) ? 'retry' : 'fail';
}

/** A body in memory, for a single PUT; a source that fails to read is its own error, not S3's. */
async function wholeBody(body: PutBody): Promise<Buffer> {
  if (Buffer.isBuffer(body)) return body;
  try {
    return await (isLocalFile(body) ? readFile(body.file) : readAll(body));
  } catch (error) {
    throw new SourceFailed(error);
  }
}

const unquote = (etag: string | undefined): string => (etag ?? '').replace(/^"|"$/g, '');
