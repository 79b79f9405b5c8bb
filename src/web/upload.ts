import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import type { AppContext } from '../services/context.js';
import { UsageError } from '../core/errors.js';
import { assertManifestPath, normalizeVersionPath } from '../core/paths-in-manifest.js';
import { tempName } from '../core/temp-name.js';
import { putListed, type ListedFile, type PutResult } from '../services/files.js';
import { resolveUncommitted } from '../services/resolve.js';

/**
 * An upload from the page: one request carries a batch of files, framed as
 *   [uint32 big-endian n][n bytes of JSON: {"files": [{"path", "size", "mtimeMs"}]}][each file's bytes, in order]
 * so the browser sends a Blob of its File objects as they are (no copy in memory) and reports
 * progress of the whole batch. The files are spooled under STRATA_HOME/tmp by number (no name
 * from the page ever becomes a path on this machine) and stored by the put engine, like
 * `files put` (dedup, packs, verification); the spool is removed after.
 */
export class PayloadTooLarge extends UsageError {
  constructor(limit: number) {
    super(`the upload is larger than the ${limit} bytes this server takes (strata ui --max-upload)`, 'ETOOLARGE');
  }
}

interface Listed {
  path: string;
  size: number;
  mtimeMs?: number;
}

const HEADER_MAX = 16 * 1024 * 1024;

export async function uploadInto(
  ctx: AppContext,
  req: IncomingMessage,
  input: { id: string; target: string; maxBytes: number; signal?: AbortSignal },
): Promise<PutResult> {
  // Before a byte is read: a committed version, a bad ref or an oversized body fail at once.
  resolveUncommitted(ctx, input.id);
  const target = normalizeVersionPath(input.target);
  const length = Number(req.headers['content-length']);
  if (!Number.isSafeInteger(length)) throw new UsageError('an upload needs a Content-Length', 'EUSAGE');
  if (length > input.maxBytes) throw new PayloadTooLarge(input.maxBytes);

  const spool = join(ctx.paths.home, 'tmp', tempName('upload-'));
  await mkdir(spool, { recursive: true, mode: 0o700 });
  try {
    const files = await receive(req, spool, length);
    const seen = new Set<string>();
    const listed: ListedFile[] = files.map((f, i) => {
      const path = assertManifestPath(target === '' ? f.path : `${target}/${f.path}`);
      if (seen.has(path)) throw new UsageError(`the upload names "${path}" twice`, 'EUSAGE');
      seen.add(path);
      return { absPath: join(spool, String(i)), path, size: f.size, mode: 0o644, mtimeMs: f.mtimeMs ?? Date.now() };
    });
    return await putListed(ctx, { id: input.id, files: listed, signal: input.signal });
  } finally {
    await rm(spool, { recursive: true, force: true });
  }
}

/** Reads the framed body into spool/0, spool/1, …; the sizes must add up to the body exactly. */
async function receive(req: IncomingMessage, spool: string, length: number): Promise<Listed[]> {
  let pending = Buffer.alloc(0);
  let header: Listed[] | undefined;
  let headerLength: number | undefined;
  let index = 0;
  let left = 0;
  let file: FileHandle | undefined;
  let received = 0;
  const bad = (why: string): UsageError => new UsageError(`malformed upload: ${why}`, 'EUSAGE');
  const startFiles = async (): Promise<void> => {
    while (header && index < header.length && left === 0) {
      await file?.close();
      file = await open(join(spool, String(index)), 'wx', 0o600);
      left = header[index]!.size;
      if (left === 0) {
        await file.close();
        file = undefined;
        index++;
      }
    }
  };
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      received += chunk.length;
      if (received > length) throw bad('more bytes than its Content-Length');
      let data = chunk;
      if (!header) {
        pending = Buffer.concat([pending, data]);
        if (headerLength === undefined && pending.length >= 4) {
          headerLength = pending.readUInt32BE(0);
          if (headerLength > HEADER_MAX) throw bad('file list too long');
        }
        if (headerLength === undefined || pending.length < 4 + headerLength) continue;
        header = parseHeader(pending.subarray(4, 4 + headerLength), length - 4 - headerLength, bad);
        data = pending.subarray(4 + headerLength);
        await startFiles();
      }
      while (data.length > 0) {
        if (!file) throw bad('more bytes than its files');
        const take = Math.min(left, data.length);
        await file.write(data.subarray(0, take));
        data = data.subarray(take);
        left -= take;
        if (left === 0) {
          await file.close();
          file = undefined;
          index++;
          await startFiles();
        }
      }
    }
    if (!header || index < header.length) throw bad('the body ended early');
    return header;
  } finally {
    await file?.close();
  }
}

function parseHeader(bytes: Buffer, bodyBytes: number, bad: (why: string) => UsageError): Listed[] {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw bad('the file list is not JSON');
  }
  const files = (doc as { files?: unknown }).files;
  if (!Array.isArray(files) || files.length === 0) throw bad('no files');
  let total = 0;
  const listed = files.map((f: unknown): Listed => {
    const { path, size, mtimeMs } = (f ?? {}) as Record<string, unknown>;
    if (typeof path !== 'string' || !Number.isSafeInteger(size) || (size as number) < 0)
      throw bad('each file needs a path and a size');
    if (mtimeMs !== undefined && (typeof mtimeMs !== 'number' || !Number.isFinite(mtimeMs)))
      throw bad('mtimeMs is not a number');
    total += size as number;
    return { path: assertManifestPath(path), size: size as number, mtimeMs: mtimeMs as number | undefined };
  });
  if (total !== bodyBytes) throw bad(`its files add up to ${total} bytes, the body holds ${bodyBytes}`);
  return listed;
}
