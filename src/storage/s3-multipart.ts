import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { faultPoint } from '../core/faults.js';
import { LeanS3Error, type LeanS3 } from './s3-lean.js';
import { attemptsOf } from './endpoint.js';

/** The body being uploaded failed (not S3): its error is the cause, to be reported as itself. */
export class SourceFailed extends Error {
  constructor(cause: unknown) {
    super('the body of a multipart upload failed', { cause });
  }
}

/** Fills `buffer` with the next part's bytes and says how many; 0 when the body is done. */
export type PartSource = (buffer: Buffer) => Promise<number>;

/** Parts cut in order from a stream. */
export function streamParts(body: Readable): PartSource {
  const chunks = (body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  let rest: Buffer | undefined;
  return async (buffer) => {
    let filled = 0;
    while (filled < buffer.length) {
      if (!rest || rest.length === 0) {
        let next: IteratorResult<Buffer>;
        try {
          next = await chunks.next();
        } catch (error) {
          throw new SourceFailed(error);
        }
        if (next.done) break;
        rest = next.value;
      }
      const n = rest.copy(buffer, filled);
      filled += n;
      rest = rest.subarray(n);
    }
    return filled;
  };
}

/** Parts read straight from a file into the part buffers (no stream, no copy). */
export function fileParts(file: FileHandle): PartSource {
  let position = 0;
  return async (buffer) => {
    let filled = 0;
    try {
      while (filled < buffer.length) {
        const { bytesRead } = await file.read(buffer, filled, buffer.length - filled, position + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
    } catch (error) {
      throw new SourceFailed(error);
    }
    position += filled;
    return filled;
  };
}

/** S3 takes at most this many parts in one upload. */
export const MAX_PARTS = 10_000;
const MiB = 1024 * 1024;

/**
 * The part size for an upload of `size` bytes: the configured one, or, for a file too large for
 * 10,000 of those, the least whole number of MiB that fits it in 10,000 parts.
 */
export function partSizeFor(size: number | undefined, configured: number): number {
  if (size === undefined || size <= configured * MAX_PARTS) return configured;
  return Math.ceil(size / MAX_PARTS / MiB) * MiB;
}

export interface MultipartOptions {
  partSize: number;
  /** parts in flight at once; also how many part buffers exist */
  concurrency: number;
  contentType?: string;
  signal?: AbortSignal;
}

/**
 * A multipart upload over the lean client: parts are cut in order into a fixed pool of buffers
 * (memory is concurrency × partSize, and no page is faulted in twice) and sent in parallel.
 * Parts go with an unsigned payload, as the SDK's uploads did: the caller knows the content's
 * sha256 already and checks that its source did not change meanwhile, and signing each part
 * would hash every byte twice more, on the client and on the server. A failed upload is
 * aborted, so it leaves no parts behind (a killed process leaves them: the next put of the same
 * blob removes them).
 */
export async function multipartUpload(
  lean: LeanS3,
  key: string,
  parts: PartSource,
  options: MultipartOptions,
): Promise<{ createdBy: Date }> {
  const { signal } = options;
  // An answer lost on the way makes the retry start a second upload: the first is aborted below
  // with the other stale ones (abortStaleUploads).
  const created = await lean.sendForText('POST', key, {
    query: { uploads: '' },
    headers: options.contentType ? { 'content-type': options.contentType } : {},
    signal,
  });
  // The server's clock when it had started this upload (its Date has whole seconds): an upload
  // of the key initiated before is another's, or one of ours whose answer was lost and retried.
  const createdBy = new Date(Date.parse(String(created.headers.date ?? '')) + 1000 || Date.now());
  const uploadId = xmlField(created.text, 'UploadId');
  if (!uploadId) throw new LeanS3Error('InvalidResponse', 'the server started no multipart upload', 200);
  try {
    const { etags, bytes } = await sendParts(lean, key, uploadId, parts, options);
    const xml = `<CompleteMultipartUpload>${etags
      .map((etag, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${etag}</ETag></Part>`)
      .join('')}</CompleteMultipartUpload>`;
    const done = await lean
      .sendForText('POST', key, {
        query: { uploadId },
        headers: { 'content-type': 'application/xml' },
        body: Buffer.from(xml),
        signal,
      })
      .catch(async (error: unknown) => {
        // Completed by an attempt whose answer was lost: the retry finds the upload gone.
        if (!((error as Error).name === 'NoSuchUpload' && attemptsOf(error) > 1)) throw error;
        const stored = await lean.send('HEAD', key, { accept: [404], signal });
        if (stored.status !== 200 || Number(stored.headers['content-length']) !== bytes) throw error;
        return { text: '' };
      });
    // S3 may answer 200 and still fail the completion in the body.
    const code = xmlField(done.text, 'Code');
    if (code) throw new LeanS3Error(code, xmlField(done.text, 'Message') ?? code, 500);
    return { createdBy };
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
  parts: PartSource,
  options: MultipartOptions,
): Promise<{ etags: string[]; bytes: number }> {
  const etags: string[] = [];
  let bytes = 0;
  const free: Buffer[] = Array.from({ length: options.concurrency }, () => Buffer.allocUnsafeSlow(options.partSize));
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  const throwIfFailed = (): void => {
    if (failure) throw failure.error;
  };
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

  for (let partNumber = 1; ; partNumber++) {
    let buffer = free.pop();
    while (!buffer) {
      await Promise.race(inFlight);
      buffer = free.pop();
    }
    throwIfFailed();
    const length = await parts(buffer);
    // An empty body is one empty part; otherwise the body ends with the last non-empty one.
    if (length === 0 && partNumber > 1) {
      free.push(buffer);
      break;
    }
    send(partNumber, buffer, length);
    bytes += length;
    if (length < buffer.length) break;
  }
  await Promise.all(inFlight);
  throwIfFailed();
  return { etags, bytes };
}

/**
 * Aborts the unfinished multipart uploads of exactly this key begun before `before` (server
 * time): with content addressing, any earlier upload of the key (a killed put's, or one whose
 * create was answered too late and sent again) is redundant once one completed.
 */
export async function abortStaleUploads(lean: LeanS3, key: string, before: Date): Promise<void> {
  // The bucket itself (an empty key) lists its uploads.
  const listed = await lean.sendForText('GET', '', { query: { uploads: '', prefix: key } });
  for (const [, upload] of listed.text.matchAll(/<Upload>([\s\S]*?)<\/Upload>/g)) {
    const id = xmlField(upload!, 'UploadId');
    const initiated = new Date(xmlField(upload!, 'Initiated') ?? 0);
    if (xmlField(upload!, 'Key') === xmlEscape(key) && id && initiated < before) {
      (await lean.send('DELETE', key, { query: { uploadId: unescapeXml(id) }, accept: [404] })).body.resume();
    }
  }
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
const XML_UNESCAPES = Object.fromEntries(Object.entries(XML_ESCAPES).map(([c, e]) => [e, c]));
const xmlEscape = (text: string): string => text.replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!);
const unescapeXml = (text: string): string => text.replace(/&(amp|lt|gt|quot|apos);/g, (e) => XML_UNESCAPES[e]!);

const xmlField = (xml: string, name: string): string | undefined =>
  new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
