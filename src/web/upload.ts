import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import type { AppContext } from '../services/context.js';
import { UsageError } from '../core/errors.js';
import { assertManifestPath, normalizeVersionPath } from '../core/paths-in-manifest.js';
import { tempName } from '../core/temp-name.js';
import { LISTED_IN_MEMORY_MAX, putListed, type ListedFile, type PutResult } from '../services/files.js';
import { resolveUncommitted } from '../services/resolve.js';

/**
 * An upload from the page: one request carries a batch of files, framed as
 *   [uint32 big-endian n][n bytes of JSON: {"files": [{"path", "size", "mtimeMs"}]}][each file's bytes, in order]
 * so the browser sends a Blob of its files and reports progress of the whole batch. Small files
 * are kept in memory (up to MEMORY_BUDGET at once: creating a file costs ~0.3 ms on a plain ext4,
 * more than storing it), others spooled under STRATA_HOME/tmp by number (no name from the page
 * ever becomes a path on this machine); all are stored by the put engine like `files put` (dedup,
 * packs, verification) once the whole batch is in (storing slices as they arrived was slower:
 * each put has a fixed cost, on S3 round trips and a pack of its own); the spool is removed after.
 * Every path is checked before anything is stored.
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

  const spool = join(ctx.paths.tmp, tempName('upload-'));
  await mkdir(spool, { recursive: true, mode: 0o700 });
  let listed: ListedFile[] = [];
  let held = 0;
  try {
    await receive(req, spool, length, {
      header: (files) => {
        listed = files.map((f, i) => ({
          absPath: join(spool, String(i)),
          path: assertManifestPath(target === '' ? f.path : `${target}/${f.path}`),
          size: f.size,
          mode: 0o644,
          mtimeMs: f.mtimeMs ?? Date.now(),
        }));
        const seen = new Set<string>();
        for (const { path } of listed) {
          if (seen.has(path)) throw new UsageError(`the upload names "${path}" twice`, 'EUSAGE');
          seen.add(path);
        }
      },
      canHold: (size) => size <= LISTED_IN_MEMORY_MAX && held + size <= MEMORY_BUDGET,
      file: (i, bytes) => {
        if (bytes) listed[i] = { ...listed[i]!, bytes };
        held += bytes?.length ?? 0;
      },
    });
    return await putListed(ctx, { id: input.id, files: listed, signal: input.signal });
  } finally {
    await rm(spool, { recursive: true, force: true });
  }
}

/** Bytes of an upload's files held in memory, at most; the rest are spooled. */
const MEMORY_BUDGET = 64 * 1024 * 1024;

/**
 * Reads the framed body into spool/0, spool/1, …, saying the file list once it has arrived and
 * each file once it is whole; the sizes must add up to the body exactly. The spool is written
 * with synchronous calls: a batch is thousands of small files, and three thread-pool round trips
 * each (open, write, close) cost more than the writes.
 */
async function receive(
  req: IncomingMessage,
  spool: string,
  length: number,
  on: {
    header: (files: Listed[]) => void;
    /** whether a file of this size may be kept in memory rather than spooled */
    canHold: (size: number) => boolean;
    /** a file is whole: in memory (its bytes), or in spool/<index> */
    file: (index: number, bytes?: Buffer) => void;
  },
): Promise<void> {
  let pending = Buffer.alloc(0);
  let header: Listed[] | undefined;
  let headerLength: number | undefined;
  let index = 0;
  let left = 0;
  let fd: number | undefined;
  /** the file being received, when it is kept in memory */
  let memory: Buffer | undefined;
  let received = 0;
  const bad = (why: string): UsageError => new UsageError(`malformed upload: ${why}`, 'EUSAGE');
  const close = (): void => {
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
  };
  /** Starts the next file (empty ones are whole at once) until one wants bytes. */
  const next = (): void => {
    close();
    while (header && index < header.length) {
      left = header[index]!.size;
      if (on.canHold(left)) {
        memory = Buffer.allocUnsafe(left);
        if (left > 0) return;
        on.file(index++, memory);
        continue;
      }
      memory = undefined;
      fd = openSync(join(spool, String(index)), 'wx', 0o600);
      if (left > 0) return;
      close();
      on.file(index++);
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
        on.header(header);
        data = pending.subarray(4 + headerLength);
        next();
      }
      while (data.length > 0) {
        if (!header || index >= header.length) throw bad('more bytes than its files');
        const take = Math.min(left, data.length);
        if (memory) data.copy(memory, memory.length - left, 0, take);
        else for (let at = 0; at < take;) at += writeSync(fd!, data, at, take - at);
        data = data.subarray(take);
        left -= take;
        if (left === 0) {
          close();
          on.file(index++, memory);
          next();
        }
      }
    }
    if (!header || index < header.length) throw bad('the body ended early');
  } finally {
    close();
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
