import type { AppContext } from './context.js';
import type { Dataset, Provenance, Version } from '../core/model.js';
import { ConflictError, UsageError } from '../core/errors.js';
import { newVersionId } from '../core/ids.js';
import { readAll } from '../storage/backend.js';
import { manifestKey, tagKey } from '../storage/keys.js';
import { parseTagDoc } from '../storage/records.js';
import type { NewVersion } from '../catalog/datasets.js';
import { removeDraft, writeDraft } from './drafts.js';
import { provenanceOf } from './runs.js';
import { assertIdle } from './version-claims.js';
import { assertFileCount } from './sealed.js';
import { findDataset, findProvider, resolveRef, resolveUncommitted, resolveVersionId } from './resolve.js';

export interface VersionView {
  datasetId: string;
  id: string;
  ref: string;
  message: string;
  isCommitted: boolean;
  createdAt: string;
  committedAt: string | null;
  tags: string[];
  fileCount: number;
  size: number;
}

export function viewVersion(ctx: AppContext, version: Version): VersionView {
  const { fileCount, size } = ctx.catalog.files.summary(version.datasetId, version.id);
  assertFileCount(ctx, version, fileCount);
  return {
    datasetId: version.datasetId,
    id: version.id,
    ref: `${version.datasetId}:${version.id}`,
    message: version.message,
    isCommitted: version.committedAt !== null,
    createdAt: version.createdAt,
    committedAt: version.committedAt,
    tags: ctx.catalog.datasets.tagsOf(version.datasetId, version.id).map((t) => t.name),
    fileCount,
    size,
  };
}

/**
 * Opens a new uncommitted version, empty or holding the files of `from` (a ref of the same
 * dataset); a version that starts with files publishes its draft, so gc keeps their blobs.
 */
export async function createVersion(
  ctx: AppContext,
  input: { id: string; message?: string; from?: string },
): Promise<VersionView> {
  const dataset = findDataset(ctx, input.id);
  const from = input.from === undefined ? undefined : resolveRef(ctx, input.from);
  if (from && from.dataset.id !== dataset.id) {
    throw new UsageError(`--from must name a version of ${dataset.name} (${dataset.id})`);
  }
  const { datasets, files } = ctx.catalog;
  let version: NewVersion;
  ctx.catalog.transaction(() => {
    let id = newVersionId();
    while (datasets.version(dataset.id, id) || datasets.tag(dataset.id, id)) id = newVersionId();
    version = {
      datasetId: dataset.id,
      id,
      message: input.message ?? '',
      createdAt: new Date().toISOString(),
      committedAt: null,
    };
    datasets.insertVersion(version);
    if (from) files.copyVersion(dataset.id, from.version.id, id);
  });
  if (from) await writeDraft(ctx, dataset, version!.id);
  return viewVersion(ctx, datasets.version(dataset.id, version!.id)!);
}

export function listVersions(ctx: AppContext, input: { id: string; isCommitted?: boolean }): VersionView[] {
  const dataset = findDataset(ctx, input.id);
  return ctx.catalog.datasets.versions(dataset.id, { committed: input.isCommitted }).map((v) => viewVersion(ctx, v));
}

/** The newest committed version of a dataset, or undefined while it has none. */
export function latestVersion(ctx: AppContext, id: string): VersionView | undefined {
  const latest = ctx.catalog.datasets.latestCommitted(findDataset(ctx, id).id);
  return latest && viewVersion(ctx, latest);
}

export function versionDetails(
  ctx: AppContext,
  ref: string,
): VersionView & { datasetName: string; provenance: Provenance | null } {
  const { dataset, version } = resolveRef(ctx, ref);
  return {
    ...viewVersion(ctx, version),
    datasetName: dataset.name,
    provenance: provenanceOf(ctx, dataset.id, version.id) ?? null,
  };
}

/** The message is part of the committed manifest, so only an uncommitted version's can change. */
export function updateVersion(ctx: AppContext, input: { id: string; message: string }): VersionView {
  const resolved = resolveUncommitted(ctx, input.id);
  const { version } = resolved;
  ctx.catalog.transaction(() => {
    assertIdle(ctx, resolved);
    ctx.catalog.datasets.updateMessage(version.datasetId, version.id, input.message);
  });
  return viewVersion(ctx, { ...version, message: input.message });
}

/**
 * Deletes a version. An uncommitted one goes at once; a committed one needs force and takes its
 * tags with it. Blobs stay until garbage collection removes the unreferenced ones.
 */
export async function deleteVersion(ctx: AppContext, input: { id: string; force?: boolean }): Promise<VersionView> {
  const resolved = resolveVersionId(ctx, input.id);
  const { dataset, version } = resolved;
  const view = viewVersion(ctx, version);
  if (!version.committedAt) assertIdle(ctx, resolved);
  if (version.committedAt) {
    if (!input.force) {
      throw new ConflictError(
        `version ${dataset.id}:${version.id} is committed; deleting it (and its tags: ${view.tags.join(', ') || 'none'}) needs --force`,
        'ECOMMITTED',
      );
    }
    await removeFromBucket(ctx, dataset, version, view.tags);
  } else {
    await removeDraft(ctx, dataset, version.id);
  }
  ctx.catalog.datasets.deleteVersion(dataset.id, version.id);
  return view;
}

/**
 * Removes a committed version's manifest and the tags that point at it. A tag this catalog
 * thinks points here may have been moved by someone else since: only tags the bucket still
 * points at this version go.
 */
async function removeFromBucket(ctx: AppContext, dataset: Dataset, version: Version, tags: string[]): Promise<void> {
  const backend = await ctx.backend(findProvider(ctx, dataset.storageProviderId));
  const ours: string[] = [];
  for (const tag of tags) {
    const key = tagKey(dataset.id, tag);
    const doc = await backend
      .get(key)
      .then(readAll)
      .then((bytes) => parseTagDoc(key, bytes))
      .catch(() => undefined);
    if (doc?.versionId === version.id) ours.push(key);
  }
  await backend.delete([...ours, manifestKey(dataset.id, version.id)]);
}
