import { createHash, createHmac } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { retryableNetworkError } from '../core/errors.js';
import type { Endpoint, Verdict } from './endpoint.js';
import type { LocalFile } from './backend.js';

export interface LeanCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface LeanTarget {
  bucket: string;
  region: string;
  /** custom endpoint (path-style addressing); undefined: AWS, virtual-hosted */
  endpoint?: string;
  credentials: () => Promise<LeanCredentials>;
  /** retries, timeouts and throttling, shared with the backend's other requests */
  policy: Endpoint;
  /**
   * Connect here (http://host:port) instead of to the address the endpoint names, keeping its
   * Host header and paths, as curl's --connect-to does: for a test of AWS's virtual-hosted
   * addressing against a local server (STRATA_S3_CONNECT_TO).
   */
  connectTo?: string;
}

export interface LeanResponse {
  status: number;
  headers: IncomingMessage['headers'];
  body: IncomingMessage;
}

/** An S3 error as the SDK shapes one, so one mapper (s3-errors.ts) serves both clients. */
export class LeanS3Error extends Error {
  readonly $metadata: { httpStatusCode: number };
  constructor(
    name: string,
    message: string,
    status: number,
    /** the server's clock (its Date header), to correct a skewed one */
    readonly serverTime?: number,
  ) {
    super(message);
    this.name = name;
    this.$metadata = { httpStatusCode: status };
  }
}

/** A clock this far from the server's is corrected (S3 refuses requests 15 min off). */
const SKEW_MS = 5 * 60_000;
/** Reads of a file body (a large document sent in one PUT). */
const FILE_CHUNK = 1024 * 1024;

/** Failures that may pass: the server or the network, not the request. */
const RETRYABLE_STATUS = new Set([500, 502, 503, 504]);
const THROTTLING = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TooManyRequests',
  'RequestLimitExceeded',
]);
/**
 * The object data path (GET, HEAD, single PUT) without the SDK's middleware stack: SigV4 over a
 * keep-alive agent. With many small files the client's CPU per request is the wall on a small
 * machine, and this path spends a fraction of the SDK's. Everything else stays on the SDK.
 */
interface SendOptions {
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** a Buffer, or a file read again for each attempt */
  body?: Buffer | LocalFile;
  payloadSha256?: string;
  accept?: number[];
  signal?: AbortSignal;
  /** the caller reads the body and tells the endpoint how that went (endpoint.ts) */
  bodyFollows?: boolean;
}

export class LeanS3 {
  private readonly secure: boolean;
  /** the Host header: name and port, an IPv6 address in brackets */
  private readonly host: string;
  /** what to connect to: the name or address without brackets, and the port */
  private readonly hostname: string;
  private readonly port: string;
  private readonly basePath: string;
  private readonly agent: HttpAgent | HttpsAgent;
  private signingKey?: { date: string; secret: string; key: Buffer };
  /** the server's clock minus ours, learned from a RequestTimeTooSkewed answer */
  private clockOffsetMs = 0;

  constructor(private readonly target: LeanTarget) {
    const url = new URL(target.endpoint ?? `https://${target.bucket}.s3.${target.region}.amazonaws.com`);
    const to = target.connectTo ? new URL(target.connectTo) : url;
    this.secure = to.protocol === 'https:';
    this.host = url.host;
    this.hostname = to.hostname.replace(/^\[|\]$/g, '');
    this.port = to.port;
    const path = url.pathname.replace(/\/+$/, '');
    this.basePath = target.endpoint ? `${path}/${encodePath(target.bucket)}` : path;
    const options = { keepAlive: true, maxSockets: 256 };
    this.agent = this.secure ? new HttpsAgent(options) : new HttpAgent(options);
  }

  close(): void {
    this.agent.destroy();
  }

  /**
   * Sends one request and returns the response once its status is 2xx (or one listed in
   * `accept`); other statuses become LeanS3Error. Failures that may pass are retried as the
   * endpoint's policy says (endpoint.ts); a body is a Buffer or a file, so it can be sent again.
   */
  send(method: LeanMethod, key: string, options: SendOptions = {}): Promise<LeanResponse> {
    return this.target.policy.call(
      (timeoutMs) => this.attempt(method, key, options, timeoutMs),
      (error) => this.judge(error),
      options.signal,
      options.bodyFollows,
    );
  }

  /**
   * send() for a small answer (XML) read whole within each attempt: an answer whose body breaks
   * off or stalls is a failed attempt, retried as any other, never a failure after the fact.
   */
  sendForText(
    method: LeanMethod,
    key: string,
    options: Pick<SendOptions, 'query' | 'headers' | 'body' | 'signal'> = {},
  ): Promise<{ headers: IncomingMessage['headers']; text: string }> {
    return this.target.policy.call(
      async (timeoutMs) => {
        const response = await this.attempt(method, key, options, timeoutMs);
        return { headers: response.headers, text: await readText(response.body) };
      },
      (error) => this.judge(error),
      options.signal,
    );
  }

  /** One request: the response when its status is 2xx or accepted, else its error. */
  private async attempt(
    method: LeanMethod,
    key: string,
    options: SendOptions,
    timeoutMs: number,
  ): Promise<LeanResponse> {
    const signedWith = this.clockOffsetMs;
    const response = await this.once(method, key, options, timeoutMs);
    if (response.status >= 200 && response.status < 300) return response;
    if (options.accept?.includes(response.status)) {
      response.body.resume();
      return response;
    }
    throw Object.assign(await errorOf(response, method), { signedOffsetMs: signedWith });
  }

  private judge(error: unknown): Verdict {
    if (error instanceof LeanS3Error) {
      const status = error.$metadata.httpStatusCode;
      if (status === 429 || THROTTLING.has(error.name) || (status === 503 && error.name !== 'ServiceUnavailable')) {
        return 'throttled';
      }
      if (RETRYABLE_STATUS.has(status)) return 'retry';
      // A clock off by more than S3 allows (15 min): the answer's Date corrects it. A HEAD's
      // 403 has no body to say RequestTimeTooSkewed: its Date alone tells.
      const signed = (error as LeanS3Error & { signedOffsetMs?: number }).signedOffsetMs ?? this.clockOffsetMs;
      const skew = error.serverTime === undefined ? 0 : error.serverTime - (Date.now() + signed);
      if ((error.name === 'RequestTimeTooSkewed' || status === 403) && Math.abs(skew) > SKEW_MS) {
        this.clockOffsetMs = error.serverTime! - Date.now();
        return 'retry';
      }
      return 'fail';
    }
    return retryableNetworkError(error) ? 'retry' : 'fail';
  }

  private async once(
    method: string,
    key: string,
    options: {
      query?: Record<string, string>;
      headers?: Record<string, string>;
      body?: Buffer | LocalFile;
      payloadSha256?: string;
      signal?: AbortSignal;
    },
    timeoutMs: number,
  ): Promise<LeanResponse> {
    const path = `${this.basePath}/${encodePath(key)}`;
    const query = canonicalQuery(options.query ?? {});
    const { body } = options;
    const headers = await this.sign(
      method,
      path,
      query,
      options.headers ?? {},
      options.payloadSha256 ?? 'UNSIGNED-PAYLOAD',
      body === undefined ? undefined : Buffer.isBuffer(body) ? body.length : body.size,
    );
    return new Promise((resolve, reject) => {
      const req = (this.secure ? httpsRequest : httpRequest)(
        {
          host: this.hostname,
          port: this.port,
          method,
          path: query ? `${path}?${query}` : path,
          headers,
          agent: this.agent,
          signal: options.signal,
        },
        (res) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res }),
      );
      // Also while the caller reads the body: a body that stalls fails as ETIMEDOUT.
      req.setTimeout(timeoutMs, () =>
        req.destroy(Object.assign(new Error('no answer in time'), { code: 'ETIMEDOUT' })),
      );
      req.once('error', reject);
      if (body === undefined || Buffer.isBuffer(body)) req.end(body);
      else {
        const source = createReadStream(body.file, { highWaterMark: FILE_CHUNK });
        source.once('error', (error) => req.destroy(error));
        req.once('close', () => source.destroy()); // an attempt that failed closes its file too
        source.pipe(req);
      }
    });
  }

  /**
   * SigV4, our own: signing with @smithy/signature-v4 (the SDK's signer, tried on a branch) cost
   * W1 put 3 % wall (pairs 1.7–4.7 %) and 8 % CPU, 5 alternating pairs each (issue 16, whole-process timing,
   * 2026-12-05); the SDK path (listings, deletes) keeps the SDK's signer.
   */
  private async sign(
    method: string,
    path: string,
    query: string,
    extra: Record<string, string>,
    payloadHash: string,
    length: number | undefined,
  ): Promise<Record<string, string>> {
    const creds = await this.target.credentials();
    const amzDate = new Date(Date.now() + this.clockOffsetMs).toISOString().replace(/[-:]|\.\d{3}/g, '');
    const date = amzDate.slice(0, 8);
    const headers: Record<string, string> = {
      host: this.host,
      'x-amz-content-sha256': payloadHash,
      'x-amz-date': amzDate,
      ...(creds.sessionToken ? { 'x-amz-security-token': creds.sessionToken } : {}),
      ...(length !== undefined ? { 'content-length': String(length) } : {}),
    };
    for (const [k, v] of Object.entries(extra)) headers[k.toLowerCase()] = v;
    const names = Object.keys(headers).sort();
    const canonical = [
      method,
      path,
      query,
      ...names.map((n) => `${n}:${headers[n]!.trim()}`),
      '',
      names.join(';'),
      payloadHash,
    ].join('\n');
    const scope = `${date}/${this.target.region}/s3/aws4_request`;
    const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
    const signature = createHmac('sha256', this.key(date, creds.secretAccessKey)).update(toSign).digest('hex');
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
    return headers;
  }

  private key(date: string, secret: string): Buffer {
    if (this.signingKey?.date !== date || this.signingKey.secret !== secret) {
      const hmac = (k: string | Buffer, v: string) => createHmac('sha256', k).update(v).digest();
      const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), this.target.region), 's3'), 'aws4_request');
      this.signingKey = { date, secret, key };
    }
    return this.signingKey.key;
  }
}

export type LeanMethod = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE';

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** S3's URI encoding: every byte but unreserved characters. */
const uriEncode = (s: string): string =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** A key's path, keeping its slashes. */
const encodePath = (key: string): string => key.split('/').map(uriEncode).join('/');

/** SigV4's canonical query string, which is also the one sent: sorted, every name with its `=`. */
const canonicalQuery = (query: Record<string, string>): string =>
  Object.keys(query)
    .sort()
    .map((k) => `${uriEncode(k)}=${uriEncode(query[k]!)}`)
    .join('&');

/** A small body (XML), whole. */
export async function readText(body: Readable): Promise<string> {
  let text = '';
  for await (const chunk of body) text += (chunk as Buffer).toString();
  return text;
}

async function errorOf(response: LeanResponse, method: string): Promise<LeanS3Error> {
  let text = '';
  if (method !== 'HEAD') text = await readText(response.body);
  else response.body.resume();
  const code =
    /<Code>([^<]+)<\/Code>/.exec(text)?.[1] ??
    (response.status === 404 ? 'NotFound' : response.status === 412 ? 'PreconditionFailed' : `HTTP${response.status}`);
  const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? `HTTP ${response.status}`;
  const date = Date.parse(String(response.headers.date ?? ''));
  return new LeanS3Error(code, message, response.status, Number.isNaN(date) ? undefined : date);
}
