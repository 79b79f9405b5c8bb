import { createReadStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { AppContext } from './context.js';
import type { FileEntry } from '../core/model.js';
import type { CacheStore } from '../cache/store.js';
import { materialize, materializeAll } from '../cache/materialize.js';
import { storedFileOf } from './cache.js';
import type { LinkMode } from '../core/model.js';
import { hashFile } from '../core/hash.js';
import type { InputSpec } from '../jobs/spec.js';
import { transferConcurrency } from './concurrency.js';
import { findProvider, resolveRef } from './resolve.js';
import { refreshForRead } from './sync.js';
import { versionBatches } from './sealed.js';
import { streamReader } from '../transfer/read-hashed.js';
import { providerReads } from './packs.js';
import { displayUrl, shownGitUrl } from '../core/display-url.js';
import { checkOut, remoteCommit } from '../transfer/git-clone.js';
import type { SourceFile } from '../transfer/walk.js';

export interface ResolvedInput {
  name: string;
  /** DATASET_ID:VERSION for dataset inputs */
  ref?: string;
  /** a URL or git input's source, with no credentials */
  url?: string;
  /** the commit a git input was */
  commit?: string;
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
  await materializeAll(
    {
      cache,
      target: dir,
      link: options.link,
      storedFile: await storedFileOf(ctx, provider),
      ...providerReads(ctx, provider),
      concurrency: transferConcurrency(ctx, undefined, 'get'),
      signal: options.signal,
    },
    versionBatches(ctx, version),
  );
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
  const shown = displayUrl(new URL(input.url));
  await placeRemembered(ctx, cache, { key: `${input.extract}:${input.url}`, shown }, dir, options, async () => {
    ctx.reporter.info(`input ${input.name}: fetching ${shown}`);
    const { spoolUrl } = await import('../transfer/fetch-url.js'); // with its archive readers: only for URLs
    return spoolUrl({
      url: input.url,
      extract: input.extract,
      target: '',
      spoolDir: join(cache.dir, 'tmp'),
      signal: options.signal,
      warn: (m) => ctx.reporter.warn(m),
    });
  });
  return { name: input.name, url: shown };
}

/**
 * Git inputs: the remote's branch, tag or commit (docs/jobs.md), its files kept in the cache by
 * commit, so a second run of the same commit clones nothing. The run records the commit.
 */
export async function placeGitInput(
  ctx: AppContext,
  cache: CacheStore,
  input: Extract<InputSpec, { kind: 'git' }>,
  dir: string,
  options: { link: LinkMode; signal?: AbortSignal },
): Promise<ResolvedInput> {
  const shown = shownGitUrl(input.url);
  const known = await remoteCommit(input.url, input.ref, options.signal);
  let commit = known;
  const remembered = async (): Promise<FileEntry[]> => {
    ctx.reporter.info(`input ${input.name}: cloning ${shown}${input.ref ? ` at ${input.ref}` : ''}`);
    await cache.ensureDir(join(cache.dir, 'tmp'));
    const out = await checkOut(input.url, known ?? input.ref, join(cache.dir, 'tmp'), {
      warn: (m) => ctx.reporter.warn(m),
      signal: options.signal,
    });
    commit = out.commit;
    return fillCache(cache, out);
  };
  // Only a commit found before cloning names the files: a branch moves.
  if (known) await placeRemembered(ctx, cache, { key: `git:${input.url}:${known}`, shown }, dir, options, remembered);
  else await placeFiles(ctx, cache, await remembered(), dir, options, shown);
  return { name: input.name, url: shown, commit };
}

/**
 * Places the files `source.key` gave before (remembered in the cache's urls/ directory while their
 * blobs are all there), else what `spool` brings now, filled into the cache and remembered.
 * `source.shown` is how messages name it (no credentials).
 */
async function placeRemembered(
  ctx: AppContext,
  cache: CacheStore,
  source: { key: string; shown: string },
  dir: string,
  options: { link: LinkMode; signal?: AbortSignal },
  spool: () => Promise<Spooled | FileEntry[]>,
): Promise<void> {
  const indexDir = join(cache.dir, 'urls');
  const index = join(indexDir, `${createHash('sha256').update(source.key).digest('hex')}.json`);
  let files = await readIndex(index);
  const cached = files && (await Promise.all(files.map(async (f) => (await cache.sizeOf(f.sha256)) === f.size)));
  if (!cached?.every(Boolean)) {
    await cache.ensureDir(join(cache.dir, 'tmp'));
    const spooled = await spool();
    files = Array.isArray(spooled) ? spooled : await fillCache(cache, spooled);
    await cache.ensureDir(indexDir);
    await writeFile(index, JSON.stringify(files), { mode: 0o664 });
  }
  await placeFiles(ctx, cache, files!, dir, options, source.shown);
}

interface Spooled {
  files: readonly SourceFile[];
  cleanup(): Promise<void>;
}

/** Hashes spooled files into the cache, then removes the spool. */
async function fillCache(cache: CacheStore, spooled: Spooled): Promise<FileEntry[]> {
  try {
    const files: FileEntry[] = [];
    for (const source of spooled.files) {
      const { sha256, size } = await hashFile(source.absPath);
      await cache.fill(sha256, size, streamReader(createReadStream(source.absPath)));
      files.push({ path: source.path, size, sha256, mode: source.mode, mtimeMs: source.mtimeMs });
    }
    return files;
  } finally {
    await spooled.cleanup();
  }
}

function placeFiles(
  ctx: AppContext,
  cache: CacheStore,
  files: FileEntry[],
  dir: string,
  options: { link: LinkMode; signal?: AbortSignal },
  source: string,
): Promise<unknown> {
  return materialize({
    cache,
    files,
    target: dir,
    link: options.link,
    read: () => Promise.reject(new Error(`blob of ${source} vanished from the cache; run again`)),
    concurrency: transferConcurrency(ctx, undefined, 'get'),
    signal: options.signal,
  });
}

async function readIndex(path: string): Promise<FileEntry[] | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as FileEntry[];
  } catch {
    return undefined;
  }
}
