import type { AppContext } from './context.js';
import type { Dataset } from '../core/model.js';
import { draftKey } from '../storage/keys.js';
import { draftDoc, encodeDoc } from '../storage/records.js';
import { findProvider } from './resolve.js';

/**
 * Publishes the file list of an uncommitted version to the bucket, so garbage collection on any
 * machine keeps its blobs and a teammate can read a running job's outputs. Removed at commit.
 */
export async function writeDraft(ctx: AppContext, dataset: Dataset, versionId: string): Promise<void> {
  const backend = await ctx.backend(findProvider(ctx, dataset.storageProviderId));
  const files = ctx.catalog.files.list(dataset.id, versionId);
  await backend.put(draftKey(dataset.id, versionId), encodeDoc(draftDoc(dataset.id, versionId, files)), {
    contentType: 'application/json',
  });
}

export async function removeDraft(ctx: AppContext, dataset: Dataset, versionId: string): Promise<void> {
  const backend = await ctx.backend(findProvider(ctx, dataset.storageProviderId));
  await backend.delete([draftKey(dataset.id, versionId)]);
}
