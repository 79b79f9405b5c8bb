import { setTimeout as sleep } from 'node:timers/promises';
import type { AppContext } from './context.js';
import type { Dataset } from '../core/model.js';
import { PreconditionFailedError } from '../core/errors.js';
import { faultPoint } from '../core/faults.js';
import { draftKey } from '../storage/keys.js';
import { draftDoc } from '../storage/records.js';
import { withDocFile } from '../storage/doc-file.js';
import { findProvider } from './resolve.js';

/** Writers of one draft that keep losing the race to each other give up after this many tries. */
const ATTEMPTS = 20;

/**
 * Publishes the file list of an uncommitted version to the bucket, so garbage collection on any
 * machine keeps its blobs (and this catalog, rebuilt, can open the version again). Several
 * processes may write one version's draft at once (puts into it side by side): each write is
 * conditional on the draft it read the ETag of before reading the catalog, so the last one to
 * land was made from a catalog that had every earlier writer's files.
 */
export async function writeDraft(ctx: AppContext, dataset: Dataset, versionId: string): Promise<void> {
  const backend = await ctx.backend(findProvider(ctx, dataset.storageProviderId));
  const key = draftKey(dataset.id, versionId);
  for (let attempt = 1; ; attempt++) {
    const current = await backend.head(key);
    const version = ctx.catalog.datasets.version(dataset.id, versionId);
    if (!version || version.committedAt) return;
    const doc = draftDoc(version, ctx.owner, ctx.catalog.files.iterate(dataset.id, versionId));
    try {
      await withDocFile(ctx.paths.tmp, doc, (body) =>
        backend.put(key, body, {
          ...(current ? { ifMatch: current.etag } : { ifNoneMatch: true }),
          contentType: 'application/json',
        }),
      );
      faultPoint('draft:after-put');
      return;
    } catch (error) {
      if (!(error instanceof PreconditionFailedError) || attempt >= ATTEMPTS) throw error;
      await sleep(Math.random() * 20 * attempt);
    }
  }
}

export async function removeDraft(ctx: AppContext, dataset: Dataset, versionId: string): Promise<void> {
  const backend = await ctx.backend(findProvider(ctx, dataset.storageProviderId));
  await backend.delete([draftKey(dataset.id, versionId)]);
}
