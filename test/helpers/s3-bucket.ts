// Buckets for the S3 suites: a fresh one per test file (or per test), made with the SDK directly so
// that tests read the bucket without trusting the code under test.
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  AbortMultipartUploadCommand,
  S3Client,
  type MultipartUpload,
  type _Object,
} from '@aws-sdk/client-s3';
import type { S3ServerInfo } from './s3-server.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export function s3Client(s3: S3ServerInfo): S3Client {
  return new S3Client({
    endpoint: s3.endpoint,
    region: s3.region || 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKey, secretAccessKey: s3.secretKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** A bucket name no other test uses: lowercase, 3–63 characters. */
export function bucketName(label: string): string {
  const clean = label
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 40);
  return `${clean}-${randomBytes(5).toString('hex')}`;
}

export class TestBucket {
  private constructor(
    readonly client: S3Client,
    readonly name: string,
  ) {}

  static async create(s3: S3ServerInfo, label: string): Promise<TestBucket> {
    const client = s3Client(s3);
    const name = bucketName(label);
    await client.send(new CreateBucketCommand({ Bucket: name }));
    return new TestBucket(client, name);
  }

  /** Every object under prefix, in key order (all pages). */
  async objects(prefix = ''): Promise<_Object[]> {
    const out: _Object[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.name, Prefix: prefix, ContinuationToken: token }),
      );
      out.push(...(page.Contents ?? []));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async keys(prefix = ''): Promise<string[]> {
    return (await this.objects(prefix)).map((o) => o.Key!);
  }

  async text(key: string): Promise<string> {
    const out = await this.client.send(new GetObjectCommand({ Bucket: this.name, Key: key }));
    return out.Body!.transformToString();
  }

  async bytes(key: string): Promise<Uint8Array> {
    const out = await this.client.send(new GetObjectCommand({ Bucket: this.name, Key: key }));
    return out.Body!.transformToByteArray();
  }

  async json<T = unknown>(key: string): Promise<T> {
    return JSON.parse(await this.text(key)) as T;
  }

  async uploads(prefix = ''): Promise<MultipartUpload[]> {
    const out = await this.client.send(new ListMultipartUploadsCommand({ Bucket: this.name, Prefix: prefix }));
    return out.Uploads ?? [];
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.name, Key: key }));
      return true;
    } catch (error) {
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
      throw error;
    }
  }

  /** Empties the bucket (objects and unfinished uploads), removes it and closes the client. */
  async destroy(): Promise<void> {
    try {
      for (const u of await this.uploads()) {
        await this.client.send(
          new AbortMultipartUploadCommand({ Bucket: this.name, Key: u.Key, UploadId: u.UploadId }),
        );
      }
      const keys = await this.keys();
      for (let i = 0; i < keys.length; i += 1000) {
        await this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.name,
            Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true },
          }),
        );
      }
      await this.client.send(new DeleteBucketCommand({ Bucket: this.name }));
    } finally {
      this.client.destroy();
    }
  }
}

/** `storageProviders create s3` arguments for this server and bucket (the secret on the command line). */
export function createS3ProviderArgs(
  s3: S3ServerInfo,
  bucket: string,
  name: string,
  extra: { accessKey?: string; secretKey?: string; endpoint?: string; flags?: string[] } = {},
): string[] {
  return [
    'storageProviders',
    'create',
    's3',
    '--name',
    name,
    '--bucket',
    bucket,
    '--endpoint',
    extra.endpoint ?? s3.endpoint,
    '--accessKey',
    extra.accessKey ?? s3.accessKey,
    '--secretAccessKey',
    extra.secretKey ?? s3.secretKey,
    ...(extra.flags ?? []),
  ];
}

/** A loopback TCP port that accepts connections and never answers: a hung endpoint. */
export async function silentServer(): Promise<{ endpoint: string; close(): void }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}
