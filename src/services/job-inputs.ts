import { createReadStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { AppContext } from './context.js';
import type { FileEntry } from '../core/model.js';
import type { CacheStore } from '../cache/store.js';
import { materialize } from '../cache/materialize.js';
import { storedFileOf } from './cache.js';
import type { LinkMode } from '../core/model.js';
import { hashFile } from '../core/hash.js';
import type { InputSpec } from '../jobs/spec.js';
import { transferConcurrency } from './concurrency.js';
import { findProvider, resolveRef } from './resolve.js';
import { refreshForRead } from './sync.js';
import { versionFiles } from './sealed.js';
import { blobReader, streamReader } from '../transfer/read-blob.js';

export interface ResolvedInput {
  name: string;
  /** DATASET_ID:VERSION for dataset inputs */
  ref?: string;
  url?: string;
  datasetId?: string;
  versionId?: string;
}

/** Materializes one dataset ref into dir from the team cache. */
export async function placeDatasetInput(
  ctx: AppContext,
  cache: CacheStore,
  name: string,
  ref: string,
  dir: string,
  options: { link: LinkMode; offline?: boolean; signal?: AbortSignal },
): Promise<ResolvedInput> {
  await refreshForRead(ctx, ref, options.offline);
  const { dataset, version } = resolveRef(ctx, ref);
  const provider = findProvider(ctx, dataset.storageProviderId);
  await materialize({
    cache,
    files: versionFiles(ctx, version),
    target: dir,
    link: options.link,
    storedFile: await storedFileOf(ctx, provider),
    read: blobReader(() => ctx.backend(provider)),
    concurrency: transferConcurrency(ctx, undefined, 'get'),
    signal: options.signal,
  });
  return { name, ref: `${dataset.id}:${version.id}`, datasetId: dataset.id, versionId: version.id };
}

/**
 * DeepSquare-style URL inputs, fetched once per cache: the files a URL gave are remembered in
 * the cache (urls/<sha256 of url>.json) and their blobs kept there like any other.
 */
export async function placeUrlInput(
  ctx: AppContext,
  cache: CacheStore,
  input: Extract<InputSpec, { kind: 'http' }>,
  dir: string,
  options: { link: LinkMode; signal?: AbortSignal },
): Promise<ResolvedInput> {
  const indexDir = join(cache.dir, 'urls');
  const index = join(indexDir, `${createHash('sha256').update(`${input.extract}:${input.url}`).digest('hex')}.json`);
  let files = await readIndex(index);
  if (files && (await Promise.all(files.map(async (f) => (await cache.sizeOf(f.sha256)) === f.size))).every(Boolean)) {
    ctx.reporter.info(`input ${input.name}: ${input.url} is in the cache`);
  } else {
    await cache.ensureDir(join(cache.dir, 'tmp'));
    const { spoolUrl } = await import('../transfer/fetch-url.js'); // with its archive readers: only for URLs
    const spooled = await spoolUrl({
      url: input.url,
      extract: input.extract,
      target: '',
      spoolDir: join(cache.dir, 'tmp'),
      signal: options.signal,
      warn: (m) => ctx.reporter.warn(m),
    });
    try {
      files = [];
      for (const source of spooled.files) {
        const { sha256, size } = await hashFile(source.absPath);
        await cache.fill(sha256, size, streamReader(createReadStream(source.absPath)));
        files.push({ path: source.path, size, sha256, mode: source.mode, mtimeMs: source.mtimeMs });
      }
    } finally {
      await spooled.cleanup();
    }
    await cache.ensureDir(indexDir);
    await writeFile(index, JSON.stringify(files), { mode: 0o664 });
  }
  await materialize({
    cache,
    files,
    target: dir,
    link: options.link,
    read: () => Promise.reject(new Error(`blob of ${input.url} vanished from the cache; run again`)),
    concurrency: transferConcurrency(ctx, undefined, 'get'),
    signal: options.signal,
  });
  return { name: input.name, url: input.url };
}

async function readIndex(path: string): Promise<FileEntry[] | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as FileEntry[];
  } catch {
    return undefined;
  }
}
