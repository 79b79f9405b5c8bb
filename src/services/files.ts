import { mkdir } from 'node:fs/promises';
import type { AppContext } from './context.js';
import { ConflictError, NotFoundError, UsageError } from '../core/errors.js';
import { normalizeVersionPath, parentFolders } from '../core/paths-in-manifest.js';
import { listedSources, planSources, type SourceFile, type Sources } from '../transfer/walk.js';
import { IN_MEMORY_LIMIT, putFiles, type PutCatalog, type PutSummary } from '../transfer/put.js';
import type { ProgressSink } from '../core/progress.js';
import { faultPoint } from '../core/faults.js';
import type { Provider } from '../core/model.js';
import { findProvider, resolveUncommitted, type Resolved } from './resolve.js';
import { createVersion, type VersionView } from './versions.js';
import { commitVersion } from './commit.js';
import { writeDraft } from './drafts.js';
import { transferConcurrency } from './concurrency.js';
import { passGcGate } from './gc-state.js';
import { learnPacks, packBelow } from './packs.js';
import { assertIdle, assertWritable, claimWrite } from './version-claims.js';

// The archive limits' defaults, for the flags that say them.
export { DEFAULT_EXPANSION_FLOOR_MIB, DEFAULT_MAX_EXPANSION } from '../transfer/archive-limits.js';

export interface PutInput {
  id: string;
  sourcePaths: string[];
  /** an http(s) URL to store instead of (or beside) local paths; with extract, an archive's files */
  sourceUrl?: string;
  extract?: boolean;
  maxExpansion?: number;
  targetPath?: string;
  followSymlinks?: boolean;
  concurrency?: number;
  progress?: ProgressSink;
  signal?: AbortSignal;
}

export async function putIntoVersion(ctx: AppContext, input: PutInput): Promise<PutResult> {
  const resolved = resolveUncommitted(ctx, input.id);
  if (input.sourceUrl === undefined) return storeSources(ctx, resolved, plan(ctx, input), input);
  if (input.sourcePaths.length > 0) throw new UsageError('give --source-path or --source-url, not both');
  const spoolDir = ctx.paths.tmp;
  await mkdir(spoolDir, { recursive: true });
  // Loaded only for a URL: its archive readers (tar, yauzl) cost ~45 ms to import.
  const { spoolUrl } = await import('../transfer/fetch-url.js');
  const spooled = await spoolUrl({
    url: input.sourceUrl,
    extract: input.extract ?? false,
    maxExpansion: input.maxExpansion,
    target: normalizeVersionPath(input.targetPath ?? '/'),
    spoolDir,
    signal: input.signal,
    warn: (m) => ctx.reporter.warn(m),
  });
  try {
    return await storeSources(ctx, resolved, listedSources(spooled.files), input);
  } finally {
    await spooled.cleanup();
  }
}

/** Gradient's `versions create --source-path`: a new version holding the sources, committed. */
export async function createVersionFromSources(
  ctx: AppContext,
  input: Omit<PutInput, 'id'> & { id: string; message?: string },
): Promise<VersionView & { put: PutResult }> {
  const sources = plan(ctx, input); // bad sources fail before a version exists
  const created = await createVersion(ctx, { id: input.id, message: input.message });
  const resolved = resolveUncommitted(ctx, created.ref);
  const put = await storeSources(ctx, resolved, sources, input);
  return { ...(await commitVersion(ctx, created.ref)), put };
}

export type PutResult = PutSummary & { ref: string };

/** A file on this machine under a name of its own (or in memory), and the version path it is stored at. */
export type ListedFile = SourceFile;

/** A ListedFile this small may come as its bytes in memory (larger ones are read from absPath). */
export const LISTED_IN_MEMORY_MAX = IN_MEMORY_LIMIT;

/** Stores files already on this machine or in memory (an upload's) at the version paths they name. */
export async function putListed(
  ctx: AppContext,
  input: { id: string; files: readonly ListedFile[]; signal?: AbortSignal },
): Promise<PutResult> {
  const resolved = resolveUncommitted(ctx, input.id);
  assertNoClash(ctx, resolved, input.files);
  return storeSources(ctx, resolved, listedSources(input.files), input);
}

/**
 * A version is a tree: a path cannot be a file and a folder at once (no filesystem could hold
 * it). Files of one batch and the version's files are checked against each other before any is
 * stored. (A put from disk walks a tree and cannot clash within itself.)
 */
function assertNoClash(
  ctx: AppContext,
  { dataset, version }: Resolved,
  files: readonly Pick<ListedFile, 'path'>[],
): void {
  const paths = new Set(files.map((f) => f.path));
  for (const { path } of files) {
    const clash =
      parentFolders(path).find((folder) => paths.has(folder)) ??
      ctx.catalog.files.clashOf(dataset.id, version.id, path);
    if (clash !== undefined)
      throw new ConflictError(
        `"${path}" and "${clash}" cannot both be in ${dataset.id}:${version.id}: one would be a file and a folder at once; nothing was stored`,
        'EPATHCLASH',
      );
  }
}

function plan(ctx: AppContext, input: Omit<PutInput, 'id'>): Sources {
  return planSources(input.sourcePaths, normalizeVersionPath(input.targetPath ?? '/'), {
    followSymlinks: input.followSymlinks,
    warn: (m) => ctx.reporter.warn(m),
    countBytes: input.progress !== undefined,
  });
}

/** A put gives up after this many passes, each undone by a garbage collection of the bucket. */
const MAX_PASSES = 3;

/**
 * Stores sources into an uncommitted version, as a registered writer of it (a commit waits for it;
 * it fails if the version is being committed), then publishes the version's draft (its file list)
 * to the bucket, so garbage collection anywhere keeps what it holds — also after a failed put. A
 * gc that ran meanwhile may have missed the draft: the put then checks the bucket again, storing
 * what it removed (gc-state.ts). A put that does not finish leaves the version marked incomplete.
 */
export async function storeSources(
  ctx: AppContext,
  resolved: Resolved,
  sources: Sources,
  input: Pick<PutInput, 'concurrency' | 'progress' | 'signal'>,
): Promise<PutResult> {
  const { dataset, version } = resolved;
  const provider = findProvider(ctx, dataset.storageProviderId);
  const backend = await ctx.backend(provider);
  const claim = await claimWrite(ctx, resolved, `put of ${sources.count} file(s)`);
  let finished = false;
  try {
    const total = { files: 0, bytes: 0, bytesUploaded: 0, bytesSkipped: 0, seconds: 0 };
    for (let pass = 1; ; pass++) {
      const gate = await passGcGate(ctx, provider, backend, input.signal);
      const packing = packBelow(provider);
      if (packing !== undefined) await learnPacks(ctx, provider, backend);
      input.progress?.start(sources.count, sources.bytes ?? 0);
      const summary = await putFiles({
        catalog: putCatalog(ctx, provider, resolved),
        backend,
        sources,
        concurrency: transferConcurrency(ctx, input.concurrency, 'put'),
        packBelow: packing,
        progress: input.progress,
        signal: input.signal,
      }).finally(() => input.progress?.stop());
      await writeDraft(ctx, dataset, version.id);
      total.bytesUploaded += summary.bytesUploaded;
      total.seconds += summary.seconds;
      if (await gate.unchanged()) {
        finished = true;
        return { ref: `${dataset.id}:${version.id}`, ...summary, ...pick(total, summary) };
      }
      if (pass === MAX_PASSES) {
        throw new ConflictError(
          `garbage collections of ${backend.location} kept running during this put (${pass} passes); run it again`,
          'EGCBUSY',
        );
      }
      ctx.reporter.warn('a garbage collection ran during this put: checking its blobs in the bucket again');
    }
  } catch (error) {
    await writeDraft(ctx, dataset, version.id).catch(() => undefined);
    throw error;
  } finally {
    claim.release(finished);
  }
}

/** A put's totals over its passes: the files of the last, the bytes uploaded by all. */
const pick = (
  total: { bytesUploaded: number; seconds: number },
  last: PutSummary,
): Pick<PutSummary, 'bytesUploaded' | 'bytesSkipped' | 'seconds'> => ({
  bytesUploaded: total.bytesUploaded,
  bytesSkipped: last.bytes - Math.min(last.bytes, total.bytesUploaded),
  seconds: total.seconds,
});

/**
 * The catalog as the put engine sees it: one version of one provider. A batch enters the version
 * in one transaction, and only while the version is open (the put's claim keeps it so; this says
 * it loudly if anything ever breaks that).
 */
function putCatalog(ctx: AppContext, provider: Provider, resolved: Resolved): PutCatalog {
  const { files, datasets } = ctx.catalog;
  const { dataset, version } = resolved;
  return {
    hasBlob: (sha256) => files.providerHasBlob(provider.id, sha256),
    blobCount: () => files.providerBlobCount(provider.id),
    storedHashes: (paths) => files.storedHashes(provider.id, paths),
    versionFileCount: () => files.summary(dataset.id, version.id).fileCount,
    learnBlobs: (blobs) => files.recordProviderBlobs(provider.id, blobs),
    record: (batch) =>
      ctx.catalog.transaction(() => {
        assertWritable(resolved, datasets.version(dataset.id, version.id));
        files.recordProviderBlobs(provider.id, batch.blobs);
        for (const pack of batch.packs) ctx.catalog.packs.record(provider.id, pack, pack.entries);
        files.rememberHashes(batch.hashes);
        files.upsert(dataset.id, version.id, batch.files);
        if (batch.files.length > 0) faultPoint('put:in-transaction');
      }),
  };
}

/** Removes files or whole directories from an uncommitted version (`/` removes everything). */
export async function deleteFiles(
  ctx: AppContext,
  input: { id: string; paths: string[] },
): Promise<{ ref: string; deleted: number }> {
  const resolved = resolveUncommitted(ctx, input.id);
  const { dataset, version } = resolved;
  if (input.paths.length === 0) throw new UsageError('give at least one --path (use --path / to delete everything)');
  const unders = input.paths.map(normalizeVersionPath);
  let deleted = 0;
  ctx.catalog.transaction(() => {
    assertIdle(ctx, resolved);
    for (const [i, under] of unders.entries()) {
      const n = ctx.catalog.files.deleteUnder(dataset.id, version.id, under);
      if (n === 0 && under !== '') {
        throw new NotFoundError(
          `no file or directory "${input.paths[i]}" in ${dataset.id}:${version.id}; nothing was deleted`,
          'ENOPATH',
        );
      }
      deleted += n;
    }
  });
  await writeDraft(ctx, dataset, version.id);
  return { ref: `${dataset.id}:${version.id}`, deleted };
}
