import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AppContext } from './context.js';
import { NotFoundError, UsageError } from '../core/errors.js';
import { normalizeVersionPath } from '../core/paths-in-manifest.js';
import { listedSources, planSources, type Sources } from '../transfer/walk.js';
import { putFiles, type PutSummary } from '../transfer/put.js';
import type { ProgressSink } from '../transfer/progress.js';
import { findProvider, resolveUncommitted, type Resolved } from './resolve.js';
import { commitVersion, createVersion, type VersionView } from './versions.js';
import { writeDraft } from './drafts.js';
import { transferConcurrency } from './concurrency.js';

export interface PutInput {
  id: string;
  sourcePaths: string[];
  /** an http(s) URL to store instead of (or beside) local paths; with extract, an archive's files */
  sourceUrl?: string;
  extract?: boolean;
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
  const spoolDir = join(ctx.paths.home, 'tmp');
  await mkdir(spoolDir, { recursive: true });
  // Loaded only for a URL: its archive readers (tar, yauzl) cost ~45 ms to import.
  const { spoolUrl } = await import('../transfer/fetch-url.js');
  const spooled = await spoolUrl({
    url: input.sourceUrl,
    extract: input.extract ?? false,
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

function plan(ctx: AppContext, input: Omit<PutInput, 'id'>): Sources {
  return planSources(input.sourcePaths, normalizeVersionPath(input.targetPath ?? '/'), {
    followSymlinks: input.followSymlinks,
    warn: (m) => ctx.reporter.warn(m),
    countBytes: input.progress !== undefined,
  });
}

/**
 * Stores sources into an uncommitted version, then publishes its draft (its file list) to the
 * bucket so garbage collection anywhere keeps what it holds — also after a failed put.
 */
export async function storeSources(
  ctx: AppContext,
  { dataset, version }: Resolved,
  sources: Sources,
  input: Pick<PutInput, 'concurrency' | 'progress' | 'signal'>,
): Promise<PutResult> {
  const provider = findProvider(ctx, dataset.storageProviderId);
  const backend = await ctx.backend(provider);
  input.progress?.start(sources.count, sources.bytes ?? 0);
  try {
    const summary = await putFiles({
      files: ctx.catalog.files,
      providerId: provider.id,
      backend,
      datasetId: dataset.id,
      versionId: version.id,
      sources,
      concurrency: transferConcurrency(ctx, input.concurrency, 'put'),
      progress: input.progress,
      signal: input.signal,
    });
    await writeDraft(ctx, dataset, version.id);
    return { ref: `${dataset.id}:${version.id}`, ...summary };
  } catch (error) {
    await writeDraft(ctx, dataset, version.id).catch(() => undefined);
    throw error;
  } finally {
    input.progress?.stop();
  }
}

/** Removes files or whole directories from an uncommitted version (`/` removes everything). */
export async function deleteFiles(
  ctx: AppContext,
  input: { id: string; paths: string[] },
): Promise<{ ref: string; deleted: number }> {
  const { dataset, version } = resolveUncommitted(ctx, input.id);
  if (input.paths.length === 0) throw new UsageError('give at least one --path (use --path / to delete everything)');
  const unders = input.paths.map(normalizeVersionPath);
  let deleted = 0;
  ctx.catalog.transaction(() => {
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
