import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { readAll, type ObjectInfo, type PutOptions, type StorageBackend } from './backend.js';
import type { S3ProviderConfig } from '../core/model.js';
import { s3Failure } from './s3-errors.js';
import { LeanS3 } from './s3-lean.js';
import { sha256Hex } from '../transfer/hash.js';
import { StorageError } from '../core/errors.js';
import { multipartUpload, SourceFailed } from './s3-multipart.js';

// The SDK warns on every run that its 2027 releases will need Node 22; the lockfile pins it, and
// stderr is for errors (DESIGN.md invariant 7).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const MiB = 1024 * 1024;
/** S3's smallest part (but the last); also the size below which a single PUT is used. */
const MIN_PART_SIZE = 5 * MiB;
const DEFAULT_PART_SIZE = 16 * MiB;
/** parts of one upload in flight at once (aws-cli sends 10 of 8 MiB) */
const PARTS_IN_FLIGHT = 8;
/** verify() as a whole, retries included */
const VERIFY_DEADLINE_MS = 12_000;
/**
 * A connection silent this long (nothing sent, nothing received) fails the attempt, which is then
 * retried: long enough for a loaded server to store a part, short enough that an endpoint that
 * accepts connections and never answers fails in about a minute (3 attempts), not never.
 * STRATA_S3_IDLE_TIMEOUT_MS overrides it (tests).
 */
const IDLE_TIMEOUT_MS = 20_000;
/** the SDK's standard-mode default: retries with backoff for throttling, 5xx and dropped connections */
const MAX_ATTEMPTS = 3;

/** An S3-compatible bucket (AWS, Ceph RGW, MinIO, Garage, Exoscale …), under an optional prefix. */
export class S3Backend implements StorageBackend {
  private readonly client: S3Client;
  /** GET, HEAD and single PUTs: the hot path with many small files (see s3-lean.ts) */
  private readonly lean: LeanS3;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly partSize: number;
  /** a successful check that the bucket exists (see bucketExists) */
  private bucketChecked?: Promise<void>;

  constructor(
    private readonly config: S3ProviderConfig,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.bucket = config.bucket;
    this.prefix = config.prefix ? `${config.prefix.replace(/^\/+|\/+$/g, '')}/` : '';
    this.partSize = Math.max(MIN_PART_SIZE, Number(env.STRATA_S3_PART_SIZE) || DEFAULT_PART_SIZE);
    this.client = new S3Client({
      region: config.region,
      ...(config.endpoint ? { endpoint: config.endpoint, forcePathStyle: true } : {}),
      ...(config.credentials === 'stored'
        ? { credentials: { accessKeyId: config.accessKey ?? '', secretAccessKey: config.secretAccessKey ?? '' } }
        : config.credentials === 'profile'
          ? { profile: config.profile }
          : {}),
      // We verify every byte with our own sha256; the SDK's default aws-chunked checksums break
      // uploads on servers such as Ceph RGW 16.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      retryMode: 'standard',
      maxAttempts: MAX_ATTEMPTS,
      requestHandler: new NodeHttpHandler({
        connectionTimeout: 4000,
        // socketTimeout is the idle timeout that fails a request. (requestTimeout, in this
        // @smithy/node-http-handler, only prints a warning to the console unless told to throw,
        // and would also cut off a slow but healthy upload of a large part.)
        socketTimeout: Number(env.STRATA_S3_IDLE_TIMEOUT_MS) || IDLE_TIMEOUT_MS,
        httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 256 }),
        httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 256 }),
      }),
    });
    this.lean = new LeanS3({
      bucket: config.bucket,
      region: config.region,
      endpoint: config.endpoint,
      idleTimeoutMs: Number(env.STRATA_S3_IDLE_TIMEOUT_MS) || IDLE_TIMEOUT_MS,
      maxAttempts: MAX_ATTEMPTS,
      // The SDK resolves (and refreshes) credentials from keys, the environment chain or a profile.
      credentials: () => this.client.config.credentials(),
    });
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

  async put(key: string, body: Buffer | Readable, options: PutOptions = {}): Promise<{ etag: string }> {
    const size = Buffer.isBuffer(body) ? body.length : options.size;
    const conditional = options.ifNoneMatch === true || options.ifMatch !== undefined;
    try {
      // A conditional write is always one PUT (S3 takes up to 5 GiB so): a multipart upload
      // would drop the condition and silently overwrite.
      if (conditional && size === undefined) body = await readAll(body as Readable);
      const length = Buffer.isBuffer(body) ? body.length : size;
      if (length !== undefined && (conditional || length < this.partSize)) {
        const bytes = Buffer.isBuffer(body) ? body : await readAll(body);
        const headers: Record<string, string> = {
          ...(options.contentType ? { 'content-type': options.contentType } : {}),
          ...(options.ifNoneMatch ? { 'if-none-match': '*' } : {}),
          // Ceph RGW 16 matches If-Match only against the ETag without its quotes.
          ...(options.ifMatch !== undefined ? { 'if-match': unquote(options.ifMatch) } : {}),
        };
        // A signed payload hash makes the server check every byte it received.
        const out = await this.lean.send('PUT', this.key(key), {
          headers,
          body: bytes,
          payloadSha256: options.sha256 ?? sha256Hex(bytes),
          signal: options.signal,
        });
        out.body.resume();
        return { etag: unquote(String(out.headers.etag ?? '')) };
      }
      return await this.multipart(key, body, options);
    } catch (error) {
      if (error instanceof SourceFailed) throw error.cause;
      throw this.fail(error, `writing ${key}`);
    }
  }

  /** Parallel parts; a failed upload is aborted, and older unfinished uploads of this key too. */
  private async multipart(key: string, body: Buffer | Readable, options: PutOptions): Promise<{ etag: string }> {
    const started = new Date();
    const stream = Buffer.isBuffer(body) ? Readable.from([body]) : body;
    await multipartUpload(this.lean, this.key(key), stream, {
      partSize: this.partSize,
      concurrency: PARTS_IN_FLIGHT,
      contentType: options.contentType,
      signal: options.signal,
    });
    // Content addressing makes any earlier unfinished upload of this key (a killed put) redundant.
    await this.abortUploads(key, started);
    // RGW 16 returns an empty ETag from a completed multipart upload: ask for it.
    return { etag: (await this.head(key))?.etag ?? '' };
  }

  private async abortUploads(key: string, before: Date): Promise<void> {
    const full = this.key(key);
    const listed = await this.client.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: full }));
    for (const u of listed.Uploads ?? []) {
      if (u.Key === full && u.UploadId && (!u.Initiated || u.Initiated < before)) {
        await this.client.send(
          new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: full, UploadId: u.UploadId }),
        );
      }
    }
  }

  async get(key: string, range?: { start: number; end: number }, signal?: AbortSignal): Promise<Readable> {
    try {
      const out = await this.lean.send('GET', this.key(key), {
        headers: range ? { range: `bytes=${range.start}-${range.end}` } : {},
        signal,
      });
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

  /** Throws the bucket's own error (NoSuchBucket …) once; remembers a success for this backend's life. */
  private bucketExists(): Promise<void> {
    this.bucketChecked ??= this.verify().catch((error: unknown) => {
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
        page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.key(prefix), ContinuationToken: token }),
        );
      } catch (error) {
        throw this.fail(error, `listing ${prefix}`);
      }
      for (const o of page.Contents ?? []) {
        if (!o.Key) continue;
        yield {
          key: o.Key.slice(this.prefix.length),
          size: o.Size ?? 0,
          etag: unquote(o.ETag),
          lastModified: o.LastModified ?? new Date(0),
        };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      try {
        const out = await this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((k) => ({ Key: this.key(k) })), Quiet: true },
          }),
        );
        const failed = out.Errors?.[0];
        if (failed) throw Object.assign(new Error(failed.Message ?? 'delete failed'), { name: failed.Code });
      } catch (error) {
        throw this.fail(error, `deleting ${batch.length} object(s)`);
      }
    }
  }

  /**
   * ListObjectsV2 rather than HeadBucket: its error bodies say which credential is wrong. Bounded
   * as a whole (retries included), so an endpoint that accepts connections and never answers fails
   * in seconds too.
   */
  async verify(): Promise<void> {
    const deadline = AbortSignal.timeout(VERIFY_DEADLINE_MS);
    try {
      await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix, MaxKeys: 1 }), {
        abortSignal: deadline,
      });
    } catch (error) {
      if (deadline.aborted) {
        throw new StorageError(
          `cannot reach ${this.config.endpoint ?? 'AWS S3'} while checking the bucket: no answer within ${VERIFY_DEADLINE_MS / 1000} s; check the endpoint and the network`,
          { cause: error, code: 'EUNREACHABLE' },
        );
      }
      throw this.fail(error, 'checking the bucket');
    }
  }

  close(): void {
    this.lean.close();
    this.client.destroy();
  }
}

const unquote = (etag: string | undefined): string => (etag ?? '').replace(/^"|"$/g, '');
