import type { AppContext } from './context.js';
import type { FileEntry, Version } from '../core/model.js';
import { assertFileCount, assertSealed, versionBatches } from './sealed.js';
import { inMemory, type FileBatches } from '../core/file-batches.js';
import { NotFoundError } from '../core/errors.js';
import { normalizeVersionPath, refuseUnsafePath } from '../core/paths-in-manifest.js';
import { getFiles, type GetSummary } from '../transfer/get.js';
import type { ProgressSink } from '../core/progress.js';
import { transferConcurrency } from './concurrency.js';
import { findProvider, resolveRef } from './resolve.js';
import { refreshForRead } from './sync.js';
import { providerBlobReader, providerReadMany } from './packs.js';
import { getIntoTarget, type TargetInput } from './target-guard.js';

export interface FileListing {
  path: string;
  type: 'file' | 'dir';
  size: number;
  sha256?: string;
  mode?: number;
  mtime?: string;
}

/** A version's files under a path, read as they are printed; `longestPath` sizes a column up front. */
export interface FileListingStream {
  files: Iterable<FileListing>;
  longestPath: number;
}

/**
 * Lists a version's files under a path: its direct children, or everything with recursive, in
 * path order. The listing is read from the catalog as it is consumed (a million files need not be
 * in memory at once); a committed version's file count is checked against its seal before the
 * first is read and again once the last is, so a damaged catalog fails the listing instead of
 * ending it short.
 */
export function listFiles(
  ctx: AppContext,
  input: { id: string; path?: string; recursive?: boolean },
): FileListingStream {
  const { dataset, version } = resolveRef(ctx, input.id);
  const under = normalizeVersionPath(input.path ?? '/');
  // Before the first line is printed: a catalog that lost rows fails here, not after part of a listing.
  assertFileCount(ctx, version, ctx.catalog.files.summary(dataset.id, version.id).fileCount);
  const longestPath = ctx.catalog.files.longestPath(dataset.id, version.id, under);
  const entries = ctx.catalog.files.iterate(dataset.id, version.id, under);
  const listing = function* (): Generator<FileListing> {
    const dirs = new Map<string, FileListing>();
    /** children of `under`, held back until their directories' sizes are summed */
    const children: FileListing[] = [];
    let count = 0;
    for (const f of entries) {
      count++;
      const rest = under === '' || f.path === under ? f.path : f.path.slice(under.length + 1);
      const slash = rest.indexOf('/');
      if (input.recursive || slash < 0 || f.path === under) {
        const file: FileListing = {
          path: f.path,
          type: 'file',
          size: f.size,
          sha256: f.sha256,
          mode: f.mode,
          mtime: new Date(f.mtimeMs).toISOString(),
        };
        if (input.recursive) yield file;
        else children.push(file);
        continue;
      }
      const dirPath = under === '' ? rest.slice(0, slash) : `${under}/${rest.slice(0, slash)}`;
      const dir = dirs.get(dirPath);
      if (dir) dir.size += f.size;
      else {
        const listing: FileListing = { path: dirPath, type: 'dir', size: f.size };
        dirs.set(dirPath, listing);
        children.push(listing);
      }
    }
    if (count === 0 && under !== '')
      throw new NotFoundError(`no file or directory "${under}" in ${dataset.id}:${version.id}`, 'ENOPATH');
    if (under === '') assertFileCount(ctx, version, count);
    yield* children;
  };
  return { files: listing(), longestPath };
}

export interface GetInput {
  id: string;
  targetPath: string;
  sourcePaths?: string[];
  offline?: boolean;
  /** replace files that differ from the version and from what strata last put there */
  force?: boolean;
  /** also remove files the version (or the selected paths of it) does not have */
  mirror?: boolean;
  concurrency?: number;
  progress?: ProgressSink;
  signal?: AbortSignal;
}

/**
 * Writes a version's files (or those under the given paths) straight from storage into a
 * directory, verified, keeping nothing in the cache (`files get --no-cache`).
 */
export async function getFromVersion(
  ctx: AppContext,
  input: GetInput,
): Promise<GetSummary & { ref: string; target: string; unchanged: number; removed: number }> {
  await refreshForRead(ctx, input.id, input.offline);
  const { dataset, version } = resolveRef(ctx, input.id);
  const target = targetOf(input, dataset.id, version.id, selectFiles(ctx, version, input.sourcePaths), placedMode);
  const provider = findProvider(ctx, dataset.storageProviderId);
  const summary = await getIntoTarget(ctx, target, (files) =>
    withProgress(input.progress, files, () =>
      getFiles({
        read: providerBlobReader(ctx, provider),
        readMany: providerReadMany(ctx, provider),
        files,
        target: input.targetPath,
        concurrency: transferConcurrency(ctx, input.concurrency, 'get'),
        progress: input.progress,
        signal: input.signal,
      }),
    ),
  );
  return { ref: target.ref, target: input.targetPath, ...summary };
}

/** What the target guard needs of a get. */
export function targetOf(
  input: GetInput,
  datasetId: string,
  versionId: string,
  files: FileBatches,
  modeOf: (file: FileEntry) => number,
): TargetInput {
  const selected = (input.sourcePaths ?? []).map(normalizeVersionPath);
  return {
    target: input.targetPath,
    ref: `${datasetId}:${versionId}`,
    datasetId,
    versionId,
    paths: selected.includes('') ? [] : selected,
    files,
    modeOf,
    force: input.force,
    mirror: input.mirror,
  };
}

/** Runs a transfer of `files` with the progress bar started for them and stopped after. */
export async function withProgress<T>(
  progress: ProgressSink | undefined,
  files: FileBatches,
  run: () => Promise<T>,
): Promise<T> {
  progress?.start(files.count, files.bytes);
  try {
    return await run();
  } finally {
    progress?.stop();
  }
}

/** A file straight from storage gets its manifest mode. */
const placedMode = (file: FileEntry): number => file.mode & 0o7777;

/**
 * A version's files, or those under the given paths; a committed version's checked against its
 * seal, and every path checked safe, before any is written. A whole version is read in batches as
 * it is placed; selected paths are held in memory.
 */
export function selectFiles(ctx: AppContext, version: Version, paths: string[] = []): FileBatches {
  if (paths.length === 0) return versionBatches(ctx, version);
  assertSealed(ctx, version);
  const chosen = new Map<string, FileEntry>();
  for (const p of paths) {
    const under = normalizeVersionPath(p);
    const found = ctx.catalog.files.list(version.datasetId, version.id, under);
    if (found.length === 0)
      throw new NotFoundError(`no file or directory "${p}" in ${version.datasetId}:${version.id}`, 'ENOPATH');
    for (const f of found) chosen.set(f.path, f);
  }
  for (const path of chosen.keys()) refuseUnsafePath(path);
  return inMemory([...chosen.values()]);
}
