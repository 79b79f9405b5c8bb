import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { removeTree } from '../core/remove-tree.js';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { NotFoundError, StorageError, UsageError } from '../core/errors.js';
import { assertManifestPath, checkManifestPath } from '../core/paths-in-manifest.js';
import { extractArchive, sniffArchive } from './archive.js';
import type { SourceFile } from './walk.js';
import { displayUrl } from '../core/display-url.js';

export interface SpooledSource {
  /** ready for putFiles, sorted by path */
  files: SourceFile[];
  /** removes the spool directory and everything in it */
  cleanup(): Promise<void>;
}

export interface SpoolUrlInput {
  url: string;
  /** unpack a .tar, .tar.gz/.tgz or .zip (recognized by its bytes) instead of storing it as one file */
  extract: boolean;
  /** with extract: refuse an archive that unpacks to more than this many times its size */
  maxExpansion?: number;
  /** manifest path prefix, '' for the root */
  target: string;
  /** the parent directory of the spool directory this call creates */
  spoolDir: string;
  signal?: AbortSignal;
  warn(message: string): void;
}

/**
 * Streams an http(s) URL to a fresh spool directory (never holding the body in memory) and
 * describes what landed there as put sources: the file itself, or with `extract` the regular files
 * of the archive it holds. On failure the spool directory is already gone.
 */
export async function spoolUrl(input: SpoolUrlInput): Promise<SpooledSource> {
  const url = parseSourceUrl(input.url);
  const shown = displayUrl(url);
  await mkdir(input.spoolDir, { recursive: true });
  const dir = await mkdtemp(join(input.spoolDir, 'strata-url-'));
  const cleanup = (): Promise<void> => removeTree(dir);
  try {
    const download = join(dir, 'download');
    const { lastModified } = await fetchToFile(url, shown, download, input.signal);
    if (!input.extract) {
      const name = fileNameOf(url, input.warn);
      const path = assertManifestPath(input.target === '' ? name : `${input.target}/${name}`);
      const { size } = await stat(download);
      const mtimeMs = Math.floor(lastModified ?? Date.now());
      return { files: [{ absPath: download, path, size, mode: 0o644, mtimeMs }], cleanup };
    }
    const kind = await sniffArchive(download);
    if (!kind) {
      throw new UsageError(
        `cannot extract ${shown}: it is not a .tar, .tar.gz/.tgz or .zip archive; drop --extract to store it as one file`,
        'ENOTARCHIVE',
      );
    }
    const files = await extractArchive({
      file: download,
      kind,
      into: join(dir, 'files'),
      target: input.target,
      source: shown,
      maxExpansion: input.maxExpansion,
      signal: input.signal,
      warn: input.warn,
    });
    await rm(download, { force: true });
    return { files, cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

function parseSourceUrl(input: string): URL {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    const shown = input.replace(/\/\/[^/@]*@/, '//');
    throw new UsageError(`"${shown}" is not a URL; give an http:// or https:// address`, 'EURL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`cannot download ${displayUrl(url)}: only http: and https: URLs are supported`, 'EURL');
  }
  return url;
}

async function fetchToFile(
  url: URL,
  shown: string,
  dest: string,
  signal: AbortSignal | undefined,
): Promise<{ lastModified: number | undefined }> {
  // fetch refuses URLs with credentials: send them as basic auth instead
  const request = new URL(url.href);
  // the bytes as published: a .tar.gz served with Content-Encoding: gzip must not arrive unpacked
  const headers: Record<string, string> = { 'accept-encoding': 'identity' };
  if (request.username !== '' || request.password !== '') {
    const user = `${decode(request.username)}:${decode(request.password)}`;
    headers.authorization = `Basic ${Buffer.from(user).toString('base64')}`;
    request.username = '';
    request.password = '';
  }
  let response: Response;
  try {
    response = await fetch(request, { headers, signal, redirect: 'follow' });
  } catch (error) {
    signal?.throwIfAborted();
    throw new StorageError(`cannot reach ${shown}: ${reason(error)}; check the address and the network`, {
      cause: error,
      code: 'EUNREACHABLE',
    });
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel().catch(() => undefined);
    const status = `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
    // A source that is not there is "not found", like a missing --source-path; other answers are
    // the server's trouble or the credentials', the storage class.
    if (response.status === 404 || response.status === 410) {
      throw new NotFoundError(`${shown} answered ${status}: no such source; nothing was stored`, 'ENOSOURCE');
    }
    throw new StorageError(`${shown} answered ${status}; nothing was stored`, { code: 'EHTTP' });
  }
  try {
    const body = Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>);
    await pipeline(body, createWriteStream(dest, { flags: 'wx', mode: 0o600 }), { signal });
  } catch (error) {
    signal?.throwIfAborted();
    throw new StorageError(`downloading ${shown} failed: ${reason(error)}; try again`, {
      cause: error,
      code: 'EDOWNLOAD',
    });
  }
  const lastModified = Date.parse(response.headers.get('last-modified') ?? '');
  return { lastModified: Number.isNaN(lastModified) ? undefined : lastModified };
}

/** fetch wraps the interesting part ("connect ECONNREFUSED …") in error.cause. */
function reason(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  return cause instanceof Error ? cause.message : String(cause);
}

/** The URL's last path segment, decoded; "download" when there is none or it cannot be a file name. */
function fileNameOf(url: URL, warn: (message: string) => void): string {
  const last = url.pathname.split('/').pop() ?? '';
  const name = decode(last);
  if (name === '') return 'download';
  const problem = name.includes('/') ? 'contains "/"' : checkManifestPath(name);
  if (problem) {
    warn(`cannot use ${JSON.stringify(name)} as a file name (${problem}); storing the download as "download"`);
    return 'download';
  }
  return name;
}

function decode(component: string): string {
  try {
    return decodeURIComponent(component);
  } catch {
    return component;
  }
}
