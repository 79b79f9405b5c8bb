import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { DeleteObjectsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { S3ProviderConfig } from '../core/model.js';
import type { LeanCredentials } from './s3-lean.js';

// The SDK warns on every run that its 2027 releases will need Node 22; the lockfile pins it, and
// stderr is for errors (DESIGN.md invariant 7).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export interface SdkSettings {
  idleTimeoutMs: number;
}

export interface ListedPage {
  objects: { key: string; size: number; etag: string; lastModified: Date }[];
  next?: string;
}

/**
 * The S3 operations that go through the AWS SDK: listings, batch deletes, the bucket check, and credential resolution (environment chain, profiles, refresh). Loaded
 * only when one is needed (the SDK costs ~100 ms to import): the data path (GET, HEAD, PUT,
 * multipart parts) is the lean client's.
 */
export class S3Sdk {
  private readonly client: S3Client;

  constructor(
    config: S3ProviderConfig,
    private readonly bucket: string,
    settings: SdkSettings,
  ) {
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
      // One attempt: retries, their bound and throttling are the backend's (endpoint.ts), as for
      // the lean client's requests.
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler({
        connectionTimeout: 4000,
        // socketTimeout is the idle timeout that fails a request. (requestTimeout, in this
        // @smithy/node-http-handler, only prints a warning to the console unless told to throw.)
        socketTimeout: settings.idleTimeoutMs,
        httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 256 }),
        httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 256 }),
      }),
    });
  }

  credentials(): Promise<LeanCredentials> {
    return this.client.config.credentials();
  }

  /** Corrects the signing clock by the server's, from an error that says it is skewed. */
  learnClock(serverTime: number): void {
    this.client.config.systemClockOffset = serverTime - Date.now();
  }

  async listPage(prefix: string, token?: string, maxKeys?: number, signal?: AbortSignal): Promise<ListedPage> {
    const page = await this.client.send(
      new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token, MaxKeys: maxKeys }),
      { abortSignal: signal },
    );
    return {
      objects: (page.Contents ?? []).flatMap((o) =>
        o.Key
          ? [{ key: o.Key, size: o.Size ?? 0, etag: o.ETag ?? '', lastModified: o.LastModified ?? new Date(0) }]
          : [],
      ),
      next: page.IsTruncated ? page.NextContinuationToken : undefined,
    };
  }

  /** Deletes up to 1,000 keys; a key the server could not delete is an error. */
  async deleteBatch(keys: readonly string[], signal?: AbortSignal): Promise<void> {
    const out = await this.client.send(
      new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }),
      { abortSignal: signal },
    );
    const failed = out.Errors?.[0];
    if (failed) throw Object.assign(new Error(failed.Message ?? 'delete failed'), { name: failed.Code });
  }

  destroy(): void {
    this.client.destroy();
  }
}
