import type { AppContext } from './context.js';
import type { FileEntry, Version } from '../core/model.js';
import { catalogDamaged } from '../catalog/errors.js';
import { sealOfFiles, type Seal } from '../catalog/seal.js';

/**
 * A committed version's files as the catalog holds them, checked against the seal stored when it
 * was committed: a damaged catalog that lost or changed rows says so, instead of serving part of
 * the version as if it were whole. Uncommitted versions have no seal.
 */
export function versionFiles(ctx: AppContext, version: Version): FileEntry[] {
  const files = ctx.catalog.files.list(version.datasetId, version.id);
  if (version.seal) assertSeal(ctx, version, sealOfFiles(files));
  return files;
}

/** The whole check, streamed over the rows (for a read of part of a version). */
export function assertSealed(ctx: AppContext, version: Version): void {
  if (version.seal) assertSeal(ctx, version, ctx.catalog.files.seal(version.datasetId, version.id));
}

/** The cheap check, for listings: as many files as were committed. */
export function assertFileCount(ctx: AppContext, version: Version, count: number): void {
  if (version.seal && version.seal.count !== count) throw damaged(ctx, version, count);
}

function assertSeal(ctx: AppContext, version: Version, found: Seal): void {
  if (found.count !== version.seal!.count) throw damaged(ctx, version, found.count);
  if (found.digest !== version.seal!.digest) {
    throw catalogDamaged(
      ctx.paths.catalog,
      `the files of version ${version.datasetId}:${version.id} are not those that were committed`,
    );
  }
}

const damaged = (ctx: AppContext, version: Version, count: number): Error =>
  catalogDamaged(
    ctx.paths.catalog,
    `version ${version.datasetId}:${version.id} lists ${count} file(s) where ${version.seal!.count} were committed`,
  );
