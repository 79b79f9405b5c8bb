import type { AppContext } from './context.js';
import { parseDuration } from '../core/config.js';
import { readAll } from '../storage/backend.js';
import { BLOBS_PREFIX, DATASETS_PREFIX, shaOfBlobKey } from '../storage/keys.js';
import { parseDraftDoc, parseManifestDoc } from '../storage/records.js';
import { findProvider } from './resolve.js';
import { IntegrityError } from '../core/errors.js';

export interface GcResult {
  providerId: string;
  dryRun: boolean;
  graceSeconds: number;
  manifests: number;
  referenced: number;
  /** unreferenced and older than the grace period: removed (or, dry run, would be) */
  removed: { sha256: string; size: number }[];
  removedBytes: number;
  /** unreferenced but younger than the grace period: perhaps an upload in flight elsewhere */
  keptYoung: number;
}

/**
 * Removes blobs that no committed manifest and no draft (uncommitted version) in the bucket
 * references and that are older than the grace period, so an upload in flight on another machine
 * is never collected. Reads the bucket, not the catalog: other machines' versions count too.
 * A manifest that cannot be read stops the collection: deleting on partial knowledge loses data.
 */
export async function collectGarbage(
  ctx: AppContext,
  input: { storageProviderId: string; dryRun?: boolean; grace?: string },
): Promise<GcResult> {
  const provider = findProvider(ctx, input.storageProviderId);
  const backend = await ctx.backend(provider);
  const graceMs = parseDuration(input.grace ?? '24h');
  const referenced = new Set<string>();
  let manifests = 0;
  for await (const object of backend.list(DATASETS_PREFIX)) {
    const isManifest = /\/versions\/[^/]+\.json$/.test(object.key);
    const isDraft = /\/drafts\/[^/]+\.json$/.test(object.key);
    if (!isManifest && !isDraft) continue;
    const bytes = await readAll(await backend.get(object.key));
    let files;
    try {
      files = (isManifest ? parseManifestDoc(object.key, bytes) : parseDraftDoc(object.key, bytes)).files;
    } catch (error) {
      if (error instanceof IntegrityError) {
        throw new IntegrityError(`${error.message}; garbage collection stopped, nothing was removed`, 'EBADRECORD');
      }
      throw error;
    }
    manifests++;
    for (const f of files) referenced.add(f.sha256);
  }
  const cutoff = Date.now() - graceMs;
  const result: GcResult = {
    providerId: provider.id,
    dryRun: input.dryRun ?? false,
    graceSeconds: graceMs / 1000,
    manifests,
    referenced: referenced.size,
    removed: [],
    removedBytes: 0,
    keptYoung: 0,
  };
  const doomed: string[] = [];
  for await (const object of backend.list(BLOBS_PREFIX)) {
    const sha = shaOfBlobKey(object.key);
    if (!sha || referenced.has(sha)) continue;
    if (object.lastModified.getTime() > cutoff) {
      result.keptYoung++;
      continue;
    }
    result.removed.push({ sha256: sha, size: object.size });
    result.removedBytes += object.size;
    doomed.push(object.key);
  }
  if (!result.dryRun && doomed.length > 0) {
    await backend.delete(doomed);
    ctx.catalog.files.forgetProviderBlobs(provider.id);
  }
  return result;
}
