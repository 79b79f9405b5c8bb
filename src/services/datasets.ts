import type { AppContext } from './context.js';
import type { Dataset } from '../core/model.js';
import { ConflictError, UsageError } from '../core/errors.js';
import { newDatasetId } from '../core/ids.js';
import { validateDatasetName } from '../core/refs.js';
import { datasetKey, datasetPrefix } from '../storage/keys.js';
import { datasetDoc, encodeDoc } from '../storage/records.js';
import { LOCAL_PROVIDER_NAME } from './context.js';
import { findDataset, findProvider } from './resolve.js';

export interface DatasetView extends Dataset {
  storageProviderName: string;
}

function view(ctx: AppContext, dataset: Dataset): DatasetView {
  const provider = ctx.catalog.providers.get(dataset.storageProviderId);
  return { ...dataset, storageProviderName: provider?.name ?? '' };
}

function assertNameFree(ctx: AppContext, name: string, except?: string): void {
  const other = ctx.catalog.datasets.byName(name);
  if (other && other.id !== except) {
    throw new ConflictError(`a dataset named "${name}" already exists (${other.id})`, 'ENAMETAKEN');
  }
}

async function publish(ctx: AppContext, dataset: Dataset): Promise<void> {
  const provider = findProvider(ctx, dataset.storageProviderId);
  const backend = await ctx.backend(provider);
  await backend.put(datasetKey(dataset.id), encodeDoc(datasetDoc(dataset)), { contentType: 'application/json' });
}

export async function createDataset(
  ctx: AppContext,
  input: { name: string; description?: string; storageProviderId?: string },
): Promise<DatasetView> {
  validateDatasetName(input.name);
  assertNameFree(ctx, input.name);
  const provider = findProvider(ctx, input.storageProviderId ?? LOCAL_PROVIDER_NAME);
  const now = new Date().toISOString();
  const dataset: Dataset = {
    id: newDatasetId(),
    name: input.name,
    description: input.description ?? '',
    storageProviderId: provider.id,
    createdAt: now,
    updatedAt: now,
  };
  // The bucket first: if it refuses, the catalog never hears of the dataset; if the catalog then
  // refuses (locked, full), the bucket forgets it again.
  await publish(ctx, dataset);
  try {
    ctx.catalog.datasets.insert(dataset);
  } catch (error) {
    await (await ctx.backend(provider)).delete([datasetKey(dataset.id)]).catch(() => undefined);
    throw error;
  }
  return view(ctx, dataset);
}

export function listDatasets(ctx: AppContext): DatasetView[] {
  return ctx.catalog.datasets.list().map((d) => view(ctx, d));
}

export function datasetDetails(
  ctx: AppContext,
  idOrName: string,
): DatasetView & { versionCount: number; committedVersionCount: number; tags: string[] } {
  const dataset = findDataset(ctx, idOrName);
  const { datasets } = ctx.catalog;
  return {
    ...view(ctx, dataset),
    versionCount: datasets.versionCount(dataset.id),
    committedVersionCount: datasets.versions(dataset.id, { committed: true }).length,
    tags: datasets.tags(dataset.id).map((t) => t.name),
  };
}

export async function updateDataset(
  ctx: AppContext,
  input: { id: string; name?: string; description?: string },
): Promise<DatasetView> {
  const dataset = findDataset(ctx, input.id);
  if (input.name === undefined && input.description === undefined) {
    throw new UsageError('nothing to update: give --name and/or --description');
  }
  if (input.name !== undefined) {
    validateDatasetName(input.name);
    assertNameFree(ctx, input.name, dataset.id);
  }
  const updated: Dataset = {
    ...dataset,
    name: input.name ?? dataset.name,
    description: input.description ?? dataset.description,
    updatedAt: new Date().toISOString(),
  };
  await publish(ctx, updated);
  try {
    ctx.catalog.datasets.update(updated);
  } catch (error) {
    await publish(ctx, dataset).catch(() => undefined);
    throw error;
  }
  return view(ctx, updated);
}

/**
 * Deletes a dataset and its versions, tags and manifests from the catalog and the bucket.
 * Blobs stay: other datasets may share them, and garbage collection removes unreferenced ones.
 */
export async function deleteDataset(ctx: AppContext, input: { id: string; force?: boolean }): Promise<DatasetView> {
  const dataset = findDataset(ctx, input.id);
  const versions = ctx.catalog.datasets.versionCount(dataset.id);
  if (versions > 0 && !input.force) {
    throw new ConflictError(
      `dataset ${dataset.name} (${dataset.id}) still holds ${versions} version(s); delete them first or add --force`,
      'ENOTEMPTY',
    );
  }
  const backend = await ctx.backend(findProvider(ctx, dataset.storageProviderId));
  const keys: string[] = [];
  for await (const object of backend.list(datasetPrefix(dataset.id))) keys.push(object.key);
  // dataset.json last, so an interrupted delete still leaves a dataset a sync can see and finish.
  const docKey = datasetKey(dataset.id);
  await backend.delete(keys.filter((k) => k !== docKey));
  ctx.catalog.datasets.delete(dataset.id);
  await backend.delete([docKey]);
  return view(ctx, dataset);
}
