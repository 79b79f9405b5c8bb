import { availableParallelism } from 'node:os';
import type { AppContext } from './context.js';
import type { FileEntry } from '../core/model.js';
import { NotFoundError, UsageError } from '../core/errors.js';
import { normalizeVersionPath } from '../core/paths-in-manifest.js';
import { planSources, type SourceFile } from '../transfer/walk.js';
import { putFiles, type PutSummary } from '../transfer/put.js';
import { getFiles, type GetSummary } from '../transfer/get.js';
import type { ProgressSink } from '../transfer/progress.js';
import { findProvider, resolveRef, resolveUncommitted, type Resolved } from './resolve.js';
import { commitVersion, createVersion, type VersionView } from './versions.js';

/** Small files are bound by requests, not bytes: keep many in flight. */
export const DEFAULT_CONCURRENCY = 32;

export interface PutInput {
  id: string;
  sourcePaths: string[];
  targetPath?: string;
  followSymlinks?: boolean;
  concurrency?: number;
  progress?: ProgressSink;
  signal?: AbortSignal;
}

export async function putIntoVersion(ctx: AppContext, input: PutInput): Promise<PutResult> {
  const resolved = resolveUncommitted(ctx, input.id);
  return putSources(ctx, resolved, await plan(ctx, input), input);
}

/** Gradient's `versions create --source-path`: a new version holding the sources, committed. */
export async function createVersionFromSources(
  ctx: AppContext,
  input: Omit<PutInput, 'id'> & { id: string; message?: string },
): Promise<VersionView & { put: PutResult }> {
  const sources = await plan(ctx, input); // bad sources fail before a version exists
  const created = createVersion(ctx, { id: input.id, message: input.message });
  const resolved = resolveUncommitted(ctx, created.ref);
  const put = await putSources(ctx, resolved, sources, input);
  return { ...(await commitVersion(ctx, created.ref)), put };
}

export type PutResult = PutSummary & { ref: string };

function plan(ctx: AppContext, input: Omit<PutInput, 'id'>): Promise<SourceFile[]> {
  return planSources(input.sourcePaths, normalizeVersionPath(input.targetPath ?? '/'), {
    followSymlinks: input.followSymlinks,
    warn: (m) => ctx.reporter.warn(m),
  });
}

async function putSources(
  ctx: AppContext,
  { dataset, version }: Resolved,
  sources: SourceFile[],
  input: Omit<PutInput, 'id'>,
): Promise<PutResult> {
  const provider = findProvider(ctx, dataset.storageProviderId);
  const backend = await ctx.backend(provider);
  input.progress?.start(
    sources.length,
    sources.reduce((n, s) => n + s.size, 0),
  );
  try {
    const summary = await putFiles({
      files: ctx.catalog.files,
      providerId: provider.id,
      backend,
      datasetId: dataset.id,
      versionId: version.id,
      sources,
      concurrency: input.concurrency ?? DEFAULT_CONCURRENCY,
      progress: input.progress,
      signal: input.signal,
    });
    return { ref: `${dataset.id}:${version.id}`, ...summary };
  } finally {
    input.progress?.stop();
  }
}

export interface FileListing {
  path: string;
  type: 'file' | 'dir';
  size: number;
  sha256?: string;
  mode?: number;
  mtime?: string;
}

/** Lists a version's files under a path: its direct children, or everything with recursive. */
export function listFiles(ctx: AppContext, input: { id: string; path?: string; recursive?: boolean }): FileListing[] {
  const { dataset, version } = resolveRef(ctx, input.id);
  const under = normalizeVersionPath(input.path ?? '/');
  const entries = ctx.catalog.files.iterate(dataset.id, version.id, under);
  const out: FileListing[] = [];
  const dirs = new Map<string, FileListing>();
  let any = false;
  for (const f of entries) {
    any = true;
    const rest = under === '' || f.path === under ? f.path : f.path.slice(under.length + 1);
    const slash = rest.indexOf('/');
    if (input.recursive || slash < 0 || f.path === under) {
      out.push({
        path: f.path,
        type: 'file',
        size: f.size,
        sha256: f.sha256,
        mode: f.mode,
        mtime: new Date(f.mtimeMs).toISOString(),
      });
      continue;
    }
    const dirPath = under === '' ? rest.slice(0, slash) : `${under}/${rest.slice(0, slash)}`;
    const dir = dirs.get(dirPath);
    if (dir) dir.size += f.size;
    else {
      const listing: FileListing = { path: dirPath, type: 'dir', size: f.size };
      dirs.set(dirPath, listing);
      out.push(listing);
    }
  }
  if (!any && under !== '')
    throw new NotFoundError(`no file or directory "${under}" in ${dataset.id}:${version.id}`, 'ENOPATH');
  return out;
}

export interface GetInput {
  id: string;
  targetPath: string;
  sourcePaths?: string[];
  concurrency?: number;
  progress?: ProgressSink;
  signal?: AbortSignal;
}

/** Writes a version's files (or those under the given paths) into a directory, verified. */
export async function getFromVersion(
  ctx: AppContext,
  input: GetInput,
): Promise<GetSummary & { ref: string; target: string }> {
  const { dataset, version } = resolveRef(ctx, input.id);
  const files = selectFiles(ctx, dataset.id, version.id, input.sourcePaths);
  const backend = await ctx.backend(findProvider(ctx, dataset.storageProviderId));
  input.progress?.start(
    files.length,
    files.reduce((n, f) => n + f.size, 0),
  );
  try {
    const summary = await getFiles({
      backend,
      files,
      target: input.targetPath,
      concurrency: input.concurrency ?? Math.max(DEFAULT_CONCURRENCY, availableParallelism()),
      progress: input.progress,
      signal: input.signal,
    });
    return { ref: `${dataset.id}:${version.id}`, target: input.targetPath, ...summary };
  } finally {
    input.progress?.stop();
  }
}

export function selectFiles(ctx: AppContext, datasetId: string, versionId: string, paths: string[] = []): FileEntry[] {
  if (paths.length === 0) return ctx.catalog.files.list(datasetId, versionId);
  const chosen = new Map<string, FileEntry>();
  for (const p of paths) {
    const under = normalizeVersionPath(p);
    const found = ctx.catalog.files.list(datasetId, versionId, under);
    if (found.length === 0)
      throw new NotFoundError(`no file or directory "${p}" in ${datasetId}:${versionId}`, 'ENOPATH');
    for (const f of found) chosen.set(f.path, f);
  }
  return [...chosen.values()];
}

/** Removes files or whole directories from an uncommitted version (`/` removes everything). */
export function deleteFiles(ctx: AppContext, input: { id: string; paths: string[] }): { ref: string; deleted: number } {
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
  return { ref: `${dataset.id}:${version.id}`, deleted };
}
