import type { Readable } from 'node:stream';
import { faultPoint } from '../core/faults.js';
import { LeanS3Error, type LeanS3 } from './s3-lean.js';

/** The body being uploaded failed (not S3): its error is the cause, to be reported as itself. */
export class SourceFailed extends Error {
  constructor(cause: unknown) {
    super('the body of a multipart upload failed', { cause });
  }
}

export interface MultipartOptions {
  partSize: number;
  /** parts in flight at once; also how many part buffers exist */
  concurrency: number;
  contentType?: string;
  signal?: AbortSignal;
}

/**
 * A multipart upload of a stream over the lean client: parts are cut from the stream in order
 * into a fixed pool of buffers (memory is concurrency × partSize, and no page is faulted in twice)
 * and sent in parallel. Parts go with an unsigned payload, as the SDK's uploads did: the caller
 * hashes the stream on its way through, so a source that changed under us is caught, and signing
 * each part's sha256 would double the client's and the server's CPU per byte. A failed upload is
 * aborted, so it leaves no parts behind (a killed process leaves them: the next put of the same
 * blob removes them).
 */
export async function multipartUpload(
  lean: LeanS3,
  key: string,
  body: Readable,
  options: MultipartOptions,
): Promise<void> {
  const { signal } = options;
  const created = await lean.send('POST', key, {
    query: { uploads: '' },
    headers: options.contentType ? { 'content-type': options.contentType } : {},
    signal,
  });
  const uploadId = xmlField(await text(created.body), 'UploadId');
  if (!uploadId) throw new LeanS3Error('InvalidResponse', 'the server started no multipart upload', created.status);
  try {
    const etags = await sendParts(lean, key, uploadId, body, options);
    const xml = `<CompleteMultipartUpload>${etags
      .map((etag, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${etag}</ETag></Part>`)
      .join('')}</CompleteMultipartUpload>`;
    const done = await lean.send('POST', key, {
      query: { uploadId },
      headers: { 'content-type': 'application/xml' },
      body: Buffer.from(xml),
      signal,
    });
    // S3 may answer 200 and still fail the completion in the body.
    const answer = await text(done.body);
    const code = xmlField(answer, 'Code');
    if (code) throw new LeanS3Error(code, xmlField(answer, 'Message') ?? code, 500);
  } catch (error) {
    await lean.send('DELETE', key, { query: { uploadId } }).then(
      (r) => r.body.resume(),
      () => undefined, // the first error is the one to report
    );
    throw error;
  }
}

async function sendParts(
  lean: LeanS3,
  key: string,
  uploadId: string,
  body: Readable,
  options: MultipartOptions,
): Promise<string[]> {
  const etags: string[] = [];
  const free: Buffer[] = Array.from({ length: options.concurrency }, () => Buffer.allocUnsafeSlow(options.partSize));
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  const send = (partNumber: number, buffer: Buffer, length: number): void => {
    const task: Promise<void> = lean
      .send('PUT', key, {
        query: { partNumber: String(partNumber), uploadId },
        body: buffer.subarray(0, length),
        signal: options.signal,
      })
      .then((r) => {
        r.body.resume();
        etags[partNumber - 1] = String(r.headers.etag ?? '');
        faultPoint('put:multipart-part');
      })
      .catch((error: unknown) => void (failure ??= { error }))
      .finally(() => {
        inFlight.delete(task);
        free.push(buffer);
      });
    inFlight.add(task);
  };

  let partNumber = 0;
  let buffer: Buffer | undefined;
  let filled = 0;
  for await (const chunk of readable(body)) {
    let offset = 0;
    while (offset < chunk.length) {
      while (!buffer) {
        if (failure) throw failure.error;
        buffer = free.pop();
        if (!buffer) await Promise.race(inFlight);
      }
      const n = chunk.copy(buffer, filled, offset);
      offset += n;
      filled += n;
      if (filled === buffer.length) {
        send(++partNumber, buffer, filled);
        [buffer, filled] = [undefined, 0];
      }
    }
  }
  if (buffer && (filled > 0 || partNumber === 0)) send(++partNumber, buffer, filled);
  await Promise.all(inFlight);
  if (failure) throw failure.error;
  return etags;
}

async function* readable(body: Readable): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) yield chunk;
  } catch (error) {
    throw new SourceFailed(error);
  }
}

async function text(body: Readable): Promise<string> {
  let out = '';
  for await (const chunk of body) out += (chunk as Buffer).toString();
  return out;
}

const xmlField = (xml: string, name: string): string | undefined =>
  new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
