import type { AppContext } from './context.js';
import type { FileEntry, Version } from '../core/model.js';
import { catalogDamaged } from '../catalog/errors.js';
import { Sealer, sealOfFiles, type Seal } from '../catalog/seal.js';
import { FILES_PER_BATCH, type FileBatches } from '../core/file-batches.js';
import { refuseUnsafePath } from '../core/paths-in-manifest.js';

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

/**
 * A version's files for a get, read from the catalog in batches as they are placed. One pass over
 * the rows first checks them against the seal, refuses an unsafe path and counts them, all before
 * anything is written; the batches then read the rows again, a page at a time.
 */
export function versionBatches(ctx: AppContext, version: Version): FileBatches {
  let [count, bytes] = [0, 0];
  for (const f of sealedFiles(ctx, version)) {
    refuseUnsafePath(f.path);
    count++;
    bytes += f.size;
  }
  return {
    count,
    bytes,
    batches: () => ctx.catalog.files.pages(version.datasetId, version.id, FILES_PER_BATCH),
  };
}

/**
 * versionFiles, streamed in path order: each row is checked against the seal as it passes, and a
 * damaged catalog throws once the last row was read, so a caller that reads to the end (a merge
 * of two versions) never finishes on part of a version, and never reads the rows twice.
 */
export function* sealedFiles(ctx: AppContext, version: Version): Generator<FileEntry> {
  const sealer = version.seal ? new Sealer() : undefined;
  for (const f of ctx.catalog.files.iterate(version.datasetId, version.id)) {
    sealer?.add([f.path, f.size, f.sha256, f.mode, f.mtimeMs]);
    yield f;
  }
  if (sealer) assertSeal(ctx, version, sealer.seal());
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
